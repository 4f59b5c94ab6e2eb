package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"logship/config"
	"logship/internal/fixtures"
)

// FuzzParse checks that the parser never panics and that every error it
// returns carries a position in the parsed file.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"<source>\n  @type tail\n  tag kubernetes.*\n</source>\n",
		"k \"a\\\nb\" # c\nk2 'x\\'y'\nk3 [1, # c\n 2]\nk4 {\"a\": \"#\"}\n",
		"k \"#{ENV['A'] || (h = ENV.fetch('B', 'x'); h = (IPAddr.new(h).ipv6? ? '[' + h + ']' : h rescue h); h)}\"\n",
		"k \"#{File.join('/a/', ENV.fetch('B') { 'c' }, 'd')}-#{use_default}\"\n",
		"<match a.** {b,c}.*>\n  <buffer tag,time>\n    flush_interval 1s\n  </buffer>\n</match>\n<label @X>\n</label>\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	root, ok := fixtures.Root() // extra seeds when the real-world fixtures are beside the clone
	for _, dir := range []string{"fluentd-kubernetes-daemonset-v1.19-cloudwatch/conf", "seed-workshop-2017/fluentd-etc"} {
		if !ok {
			break
		}
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.conf"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if bytes.Contains(src, []byte("include")) {
			return // includes read the file system; they have their own tests
		}
		c, err := config.Parse("fuzz.conf", src, config.Options{
			Env:      config.MapEnv(map[string]string{"A": "a", "B": "fd00::1"}),
			Hostname: func() (string, error) { return "h", nil },
		})
		if err != nil {
			var e *config.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *config.Error", err, err)
			}
			if e.File != "fuzz.conf" || e.Line < 1 || e.Col < 1 {
				t.Fatalf("error without a position: %v", err)
			}
			if lines := bytes.Count(src, []byte("\n")) + 1; e.Line > lines {
				t.Fatalf("error line %d beyond the %d lines of the input: %v", e.Line, lines, err)
			}
			return
		}
		var b strings.Builder
		if err := c.Dump(&b, config.DumpOptions{}); err != nil {
			t.Fatalf("Dump: %v", err)
		}
		if r, err := config.NewRouter(c); err == nil {
			r.Route("", "a.b.c")
		}
	})
}

// FuzzPattern checks that compiling and matching any pattern never panics.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{"a.**", "**.b", "{a,{b,c}}.*", `a\.*`, "/a+/", "a.{**,b}", "{a,"} {
		f.Add(s, "a.b.c")
	}
	f.Fuzz(func(t *testing.T, pattern, tag string) {
		if len(pattern) > 64 || len(tag) > 64 {
			return
		}
		p, err := config.CompilePattern(pattern)
		if err != nil {
			return
		}
		p.Match(tag)
	})
}
