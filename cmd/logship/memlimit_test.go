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
	const bound = 8 << 20
	tests := []struct {
		name  string
		env   string
		file  string
		err   error
		bound int64
		want  int64
		from  string
	}{
		{"cgroup limit: less what resident memory runs above", "", "268435456\n", nil, bound, 256<<20 - 16<<20, "cgroup"},
		// The chart's limits, bound + 48 MiB: the buffers' own limit fits below.
		{"cgroup bound+48, 1m×8", "", "58720256\n", nil, 8 << 20, 44<<20 + 256<<10, "cgroup"},
		{"cgroup bound+48, 1m×256", "", "318767104\n", nil, 256 << 20, 300 << 20, "cgroup"},
		// A limit too small for the buffers' own: 4 MiB below it.
		{"cgroup below the buffers' limit", "", "293601280\n", nil, 256 << 20, 276 << 20, "cgroup"},
		{"cgroup, no buffers", "", "1073741824\n", nil, 0, 1008 << 20, "cgroup"},
		{"tiny cgroup: half", "", "16777216\n", nil, 0, 8 << 20, "cgroup"},
		{"GOMEMLIMIT wins", "100MiB", "268435456\n", nil, bound, 0, ""},
		{"no cgroup limit: the buffers' bound", "", "max\n", nil, bound, bound + memoryBudget(bound), "buffers"},
		{"no cgroup: the buffers' bound", "", "", errors.New("no file"), bound, bound + memoryBudget(bound), "buffers"},
		{"garbage: the buffers' bound", "", "lots\n", nil, bound, bound + memoryBudget(bound), "buffers"},
		{"no cgroup, no buffers", "", "max\n", nil, 0, 0, ""},
		// The rule's figures (bound + 36 MiB + bound/32 up to 8 MiB), as measured in memlimit.go.
		{"1m×8", "", "max\n", nil, 8 << 20, 44<<20 + 256<<10, "buffers"},
		{"1m×256", "", "max\n", nil, 256 << 20, 300 << 20, "buffers"},
		{"4 GiB", "", "max\n", nil, 4 << 30, 4<<30 + 44<<20, "buffers"},
	}
	for _, tt := range tests {
		debug.SetMemoryLimit(1 << 62)
		got, from := setMemoryLimit(env(tt.env), file(tt.file, tt.err), tt.bound)
		if got != tt.want || from != tt.from {
			t.Errorf("%s: setMemoryLimit=%d, %q; want %d, %q", tt.name, got, from, tt.want, tt.from)
		}
		if rt := debug.SetMemoryLimit(-1); tt.want > 0 && rt != tt.want {
			t.Errorf("%s: runtime limit=%d, want %d", tt.name, rt, tt.want)
		}
	}
}
