package main

import (
	"errors"
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	env := func(v string) func(string) string { return func(string) string { return v } }
	file := func(s string, err error) func(string) ([]byte, error) {
		return func(string) ([]byte, error) { return []byte(s), err }
	}
	tests := []struct {
		name string
		env  string
		file string
		err  error
		want int64
	}{
		{"limit", "", "268435456\n", nil, 268435456 / 10 * 9},
		{"GOMEMLIMIT wins", "100MiB", "268435456\n", nil, 0},
		{"no limit", "", "max\n", nil, 0},
		{"no cgroup", "", "", errors.New("no file"), 0},
		{"garbage", "", "lots\n", nil, 0},
	}
	for _, tt := range tests {
		if got := setMemoryLimit(env(tt.env), file(tt.file, tt.err)); got != tt.want {
			t.Errorf("%s: setMemoryLimit=%d, want %d", tt.name, got, tt.want)
		}
	}
	if got := debug.SetMemoryLimit(-1); got != 268435456/10*9 {
		t.Errorf("runtime limit=%d after the first case, want it set", got)
	}
}
