package enrich_test

import (
	"testing"

	"logship/enrich"
)

func TestGrep(t *testing.T) {
	c := func(key, pat string) enrich.GrepCondition { return enrich.GrepCondition{Key: key, Pattern: pat} }
	tests := []struct {
		name string
		cfg  enrich.GrepConfig
		in   string
		keep bool
	}{
		{"regexp matches", enrich.GrepConfig{Regexps: []enrich.GrepCondition{c("level", "^(info|warn)$")}}, `{"level":"info"}`, true},
		{"regexp fails", enrich.GrepConfig{Regexps: []enrich.GrepCondition{c("level", "^(info|warn)$")}}, `{"level":"debug"}`, false},
		{"regexps are ANDed", enrich.GrepConfig{Regexps: []enrich.GrepCondition{c("a", "x"), c("b", "y")}}, `{"a":"x","b":"z"}`, false},
		{"missing key is empty", enrich.GrepConfig{Regexps: []enrich.GrepCondition{c("nope", "^$")}}, `{"a":"x"}`, true},
		{"exclude (seed sshd)", enrich.GrepConfig{Excludes: []enrich.GrepCondition{c("SYSTEMD_UNIT", `(sshd@.*\.service)`)}},
			`{"SYSTEMD_UNIT":"sshd@1-10.0.0.1:22.service"}`, false},
		{"exclude no match", enrich.GrepConfig{Excludes: []enrich.GrepCondition{c("SYSTEMD_UNIT", `(sshd@.*\.service)`)}},
			`{"SYSTEMD_UNIT":"kubelet.service"}`, true},
		{"excludes are ORed", enrich.GrepConfig{Excludes: []enrich.GrepCondition{c("a", "1"), c("b", "2")}}, `{"a":"0","b":"2"}`, false},
		{"number value as text", enrich.GrepConfig{Regexps: []enrich.GrepCondition{c("code", `^5\d\d$`)}}, `{"code":503}`, true},
		{"nested accessor", enrich.GrepConfig{Regexps: []enrich.GrepCondition{c("$.kubernetes.namespace_name", `^kube-`)}},
			`{"kubernetes":{"namespace_name":"kube-system"}}`, true},
		{"ignore case flag", enrich.GrepConfig{Regexps: []enrich.GrepCondition{{Key: "m", Pattern: "error", Flags: "i"}}}, `{"m":"ERROR x"}`, true},
		{"or regexps: one suffices", enrich.GrepConfig{Or: []enrich.GrepGroup{{Regexps: []enrich.GrepCondition{c("a", "1"), c("b", "2")}}}}, `{"a":"0","b":"2"}`, true},
		{"or regexps: none", enrich.GrepConfig{Or: []enrich.GrepGroup{{Regexps: []enrich.GrepCondition{c("a", "1"), c("b", "2")}}}}, `{"a":"0","b":"0"}`, false},
		{"and excludes: all needed", enrich.GrepConfig{And: []enrich.GrepGroup{{Excludes: []enrich.GrepCondition{c("a", "1"), c("b", "2")}}}}, `{"a":"1","b":"0"}`, true},
		{"and excludes: all match", enrich.GrepConfig{And: []enrich.GrepGroup{{Excludes: []enrich.GrepCondition{c("a", "1"), c("b", "2")}}}}, `{"a":"1","b":"2"}`, false},
		{"and regexps", enrich.GrepConfig{And: []enrich.GrepGroup{{Regexps: []enrich.GrepCondition{c("a", "1"), c("b", "2")}}}}, `{"a":"1","b":"0"}`, false},
		{"or excludes: any", enrich.GrepConfig{Or: []enrich.GrepGroup{{Excludes: []enrich.GrepCondition{c("a", "1"), c("b", "2")}}}}, `{"a":"0","b":"2"}`, false},
		{"several <or> sections form one list", enrich.GrepConfig{Or: []enrich.GrepGroup{{Regexps: []enrich.GrepCondition{c("a", "1")}}, {Regexps: []enrich.GrepCondition{c("b", "2")}}}}, `{"a":"1","b":"0"}`, true},
		{"several <and> excludes form one list", enrich.GrepConfig{And: []enrich.GrepGroup{{Excludes: []enrich.GrepCondition{c("a", "1")}}, {Excludes: []enrich.GrepCondition{c("b", "2")}}}}, `{"a":"1","b":"0"}`, true},
		{"line anchors as Ruby", enrich.GrepConfig{Regexps: []enrich.GrepCondition{c("m", "^second$")}}, `{"m":"first\nsecond\n"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := tt.cfg.NewFilter(enrich.FilterDeps{})
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Filter(rec(t, "t", tt.in)); got != tt.keep {
				t.Errorf("keep = %v, want %v", got, tt.keep)
			}
		})
	}
}

func TestGrep_BadConfig(t *testing.T) {
	for name, cfg := range map[string]enrich.GrepConfig{
		"no key":     {Regexps: []enrich.GrepCondition{{Pattern: "x"}}},
		"bad regexp": {Excludes: []enrich.GrepCondition{{Key: "a", Pattern: "(x"}}},
		"x flag":     {Excludes: []enrich.GrepCondition{{Key: "a", Pattern: "x", Flags: "x"}}},
	} {
		if _, err := cfg.NewFilter(enrich.FilterDeps{}); err == nil {
			t.Errorf("%s: NewFilter succeeded", name)
		}
	}
}
