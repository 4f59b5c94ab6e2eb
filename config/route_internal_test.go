package config

import (
	"strconv"
	"testing"
)

func TestLabel_CacheBounded(t *testing.T) {
	c, err := Parse("t.conf", []byte("<match a.**>\n</match>\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRouter(c)
	if err != nil {
		t.Fatal(err)
	}
	l := r.Label("")
	l.cacheSize = 10
	for i := 0; i < 95; i++ {
		tag := "a." + strconv.Itoa(i)
		if rt := l.Route(tag); rt.Match == nil {
			t.Fatalf("Route(%q) has no match", tag)
		}
		if n := len(*l.cache.Load()); n > 10 {
			t.Fatalf("cache holds %d routes, want at most 10", n)
		}
	}
}
