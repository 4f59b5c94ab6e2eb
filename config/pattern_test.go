package config_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"logship/config"
)

func TestPattern_Match(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		// Fluentd's documented examples (docs.fluentd.org config-file, "How match patterns work").
		{"a.*", []string{"a.b", "a."}, []string{"a", "a.b.c", "b.a"}},
		{"a.**", []string{"a", "a.b", "a.b.c", "a."}, []string{"ab", "b.a", "xa.b"}},
		{"{a,b}", []string{"a", "b"}, []string{"c", "ab", "a.b"}},
		{"a.{b,c}.*", []string{"a.b.x", "a.c.y"}, []string{"a.d.x", "a.b", "a.b.x.y"}},
		{"a.{b,c.**}", []string{"a.b", "a.c", "a.c.d", "a.c.d.e"}, []string{"a.cd", "a.b.c", "a"}},
		{"a b", []string{"a", "b"}, []string{"a b", "c"}},
		{"a.** b.*", []string{"a", "a.x.y", "b.x"}, []string{"b", "b.x.y"}},
		// Globs.
		{"**", []string{"", "a", "a.b.c"}, nil},
		{"*", []string{"a", "abc", ""}, []string{"a.b"}},
		{"a*", []string{"a", "abc"}, []string{"a.b", "ba"}},
		{"*.b", []string{"a.b", ".b"}, []string{"b", "a.c.b"}},
		{"**.b", []string{"b", "a.b", "x.y.b"}, []string{"ab", "a.b.c"}},
		{"a.**.b", []string{"a.b", "a.x.b", "a.x.y.b"}, []string{"ab", "a.b.c", "b"}},
		{"fluent.**", []string{"fluent", "fluent.info", "fluent.warn"}, []string{"fluentd", "fluentd.monitor.metrics"}},
		{"kubernetes.**", []string{"kubernetes.var.log.containers.web-7d9f_default_nginx-0123abcd.log"}, []string{"kube.default.nginx"}},
		{"kube.kube-system.**", []string{"kube.kube-system.kube-proxy"}, []string{"kube.default.nginx"}},
		{"systemd.kubelet", []string{"systemd.kubelet"}, []string{"systemd.kubelet2", "systemd_kubelet", "systemdxkubelet"}},
		// Fluentd quirks kept on purpose.
		{"a.", []string{"a"}, []string{"a."}},                        // a trailing dot is dropped
		{"a.{**,b}", []string{"a.", "a.x", "a.b"}, []string{"a"}},    // the dot is emitted before the group
		{"{a.**,b}", []string{"a", "a.x", "b"}, []string{"ab", "c"}}, // inside the group it is optional
		{"{a,b", []string{"a", "b"}, []string{"{a"}},                 // an unclosed group is closed at the end
		{"a,b", []string{"a,b"}, []string{"a", "b"}},                 // a comma outside a group is literal
		{"a}", []string{"a}"}, []string{"a"}},
		{"{a,{b,c}}.x", []string{"a.x", "b.x", "c.x"}, []string{"d.x", "b"}},
		{`a.\*`, []string{"a.*"}, []string{"a.b"}},
		{`a\.b`, []string{"a.b"}, []string{"axb"}},
		{"a+b(c)", []string{"a+b(c)"}, []string{"aab(c)", "a+bc"}},
		// Regular expressions.
		{`/app\.(foo|bar)/`, []string{"app.foo", "app.bar"}, []string{"app.baz", "xapp.foo", "app.foox"}},
	}
	for _, tc := range tests {
		t.Run(tc.pattern, func(t *testing.T) {
			p, err := config.CompilePattern(tc.pattern)
			if err != nil {
				t.Fatalf("CompilePattern(%q): %v", tc.pattern, err)
			}
			for _, tag := range tc.match {
				if !p.Match(tag) {
					t.Errorf("%q.Match(%q) = false, want true", tc.pattern, tag)
				}
			}
			for _, tag := range tc.noMatch {
				if p.Match(tag) {
					t.Errorf("%q.Match(%q) = true, want false", tc.pattern, tag)
				}
			}
		})
	}
}

func TestPattern_Errors(t *testing.T) {
	for _, pat := range []string{"/abc", "/a(/", "{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}{s,t}{u,v}{w,x}{y,z}"} {
		if _, err := config.CompilePattern(pat); err == nil {
			t.Errorf("CompilePattern(%q) succeeded, want an error", pat)
		}
	}
}

func TestPattern_MatchDoesNotAllocate(t *testing.T) {
	p := config.MustCompilePattern("kube.{default,kube-system}.*.*.b *.**.b.*.c kube.**.kube-proxy.*")
	tag := "kube.kube-system.kube-proxy.x"
	if !p.Match(tag) {
		t.Fatalf("Match(%q) = false", tag)
	}
	if n := testing.AllocsPerRun(100, func() { p.Match(tag) }); n != 0 {
		t.Fatalf("Match allocates %v times per call, want 0", n)
	}
}

func BenchmarkPattern_Match(b *testing.B) {
	for _, bc := range []struct{ pattern, tag string }{
		{"**", "kubernetes.var.log.containers.web-7d9f_default_nginx-0123abcd.log"},
		{"kubernetes.**", "kubernetes.var.log.containers.web-7d9f_default_nginx-0123abcd.log"},
		{"kube.kube-system.**", "kube.default.nginx"},
		{"a.**.b.*.{c,d,e}", "a.x.y.z.b.q.e"},
	} {
		p := config.MustCompilePattern(bc.pattern)
		b.Run(fmt.Sprintf("%s/len=%d", bc.pattern, len(bc.tag)), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.tag)))
			for i := 0; i < b.N; i++ {
				p.Match(bc.tag)
			}
		})
	}
}

// TestPattern_Pathological guards against exponential backtracking.
func TestPattern_Pathological(t *testing.T) {
	for _, pc := range []struct {
		pat, tag string
		want     bool
	}{
		{strings.Repeat("*", 41), "a.b.c", true},
		{strings.Repeat("*.", 20) + "*", strings.Repeat("a.", 30), false},
		{strings.Repeat("*a", 20) + "b", strings.Repeat("a", 60), false},
		{strings.Repeat("**a", 20) + "b", strings.Repeat("a.", 30), false},
		{strings.Repeat("**.", 20) + "b", strings.Repeat("a.", 30), false},
		{strings.Repeat("{a,*}", 10) + "b", strings.Repeat("a", 40), false},
	} {
		p := config.MustCompilePattern(pc.pat)
		start := time.Now()
		if got := p.Match(pc.tag); got != pc.want {
			t.Errorf("Match(%q) on %q = %v, want %v", pc.pat, pc.tag, got, pc.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Match(%q) on %q took %v", pc.pat, pc.tag, d)
		}
	}
}

// TestPattern_Differential compares Match with the regular expressions
// Fluentd builds for the same globs, evaluated by a backtracking engine with
// lookahead (testdata/gen_pattern_cases.py generated the cases).
func TestPattern_Differential(t *testing.T) {
	data, err := os.ReadFile("testdata/pattern-cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("line %d: %q has %d fields", i+1, line, len(f))
		}
		p, err := config.CompilePattern(f[0])
		if err != nil {
			t.Errorf("line %d: CompilePattern(%q): %v", i+1, f[0], err)
			continue
		}
		if got, want := p.Match(f[1]), f[2] == "true"; got != want {
			t.Errorf("line %d: %q.Match(%q) = %v, want %v", i+1, f[0], f[1], got, want)
		}
		n++
	}
	if n < 1000 {
		t.Fatalf("only %d cases", n)
	}
}
