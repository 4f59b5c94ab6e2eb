package config_test

import (
	"strings"
	"testing"
	"time"

	"logship/config"
)

// parse parses src as test.conf with env for "#{ENV[...]}" and node-1 as
// the hostname.
func parse(t testing.TB, src string, env map[string]string) (*config.Config, error) {
	t.Helper()
	return config.Parse("test.conf", []byte(src), config.Options{
		Env:      config.MapEnv(env),
		Hostname: func() (string, error) { return "node-1", nil },
	})
}

// textCase is a table case: src gives a text (an error, the warnings)
// containing want.
type textCase struct{ name, src, want string }

// runTextCases runs each case as a subtest: text(t, src) must contain want.
// what names the text in a failure.
func runTextCases(t *testing.T, cases []textCase, what string, text func(t *testing.T, src string) string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				t.Fatal("a case needs a want: every text contains \"\"")
			}
			if got := text(t, tc.src); !strings.Contains(got, tc.want) {
				t.Fatalf("%s = %q, want one containing %q", what, got, tc.want)
			}
		})
	}
}

// errText is err's text, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// mustParse is parse that fails the test on an error.
func mustParse(tb testing.TB, src string, env map[string]string) *config.Config {
	tb.Helper()
	c, err := parse(tb, src, env)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", src, err)
	}
	return c
}

// mapConfig parses and builds src (state under /state) and returns the
// pipeline, the warnings and the error text.
func mapConfig(t *testing.T, src string, opts config.BuildOptions) (*config.Pipeline, []string, string) {
	t.Helper()
	c, err := config.Parse("fluent.conf", []byte(src), config.Options{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	opts.StateDir = "/state"
	p, err := config.Build(c, opts)
	var warns []string
	for _, w := range c.Diag.Warnings() {
		warns = append(warns, w.Error())
	}
	if err != nil {
		return nil, warns, err.Error()
	}
	return p, warns, ""
}

// buildPipeline maps a configuration with one tail source and body.
func buildPipeline(t *testing.T, body string) (*config.Pipeline, []string, string) {
	t.Helper()
	src := "<source>\n  @type tail\n  path /var/log/x.log\n  tag x\n  <parse>\n    @type none\n  </parse>\n</source>\n" + body
	return mapConfig(t, src, config.BuildOptions{Location: time.UTC})
}

// buildSource maps one <source> (plus a null match) and returns its plugin
// config, the warnings and the error text.
func buildSource(t *testing.T, src string) (any, []string, string) {
	t.Helper()
	p, warns, errText := mapConfig(t, src+"\n<match **>\n  @type null\n</match>\n", config.BuildOptions{})
	if errText != "" {
		return nil, warns, errText
	}
	if len(p.Sources) != 1 {
		t.Fatalf("got %d sources, want 1", len(p.Sources))
	}
	return p.Sources[0].Plugin, warns, ""
}

// wantOutcome checks a mapping's outcome: with wantErr, that the error
// mentions it; without, that there was neither an error nor (unless warn) a
// warning. It reports whether the caller goes on to check the mapped value.
func wantOutcome(t *testing.T, warns []string, errText, wantErr string) bool {
	t.Helper()
	if wantErr != "" {
		if !strings.Contains(errText, wantErr) {
			t.Fatalf("error = %q, want it to contain %q", errText, wantErr)
		}
		return false
	}
	if errText != "" {
		t.Fatalf("error: %s", errText)
	}
	if len(warns) > 0 {
		t.Errorf("warnings: %q", warns)
	}
	return true
}

// newRouter parses src and builds its router.
func newRouter(tb testing.TB, src string) (*config.Config, *config.Router) {
	tb.Helper()
	c := mustParse(tb, src, nil)
	r, err := config.NewRouter(c)
	if err != nil {
		tb.Fatal(err)
	}
	return c, r
}
