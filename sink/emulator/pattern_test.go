package emulator

import "testing"

func TestFilterPattern_Match(t *testing.T) {
	tests := []struct {
		pattern string
		msg     string
		want    bool
	}{
		{"", "anything", true},
		{"   ", "anything", true},
		{"ERROR", "an ERROR here", true},
		{"ERROR", "an error here", false}, // case-sensitive
		{"ERROR timeout", "ERROR: db timeout", true},
		{"ERROR timeout", "ERROR: db refused", false},
		{`"db timeout"`, "ERROR: db timeout", true},
		{`"db timeout"`, "timeout db", false},
		{`"say \"hi\""`, `they say "hi"`, true},
		{"?ERROR ?WARN", "WARN disk", true},
		{"?ERROR ?WARN", "INFO disk", false},
		{"ERROR -healthz", "ERROR in /healthz", false},
		{"ERROR -healthz", "ERROR in /api", true},
		{"-DEBUG", "INFO x", true},
		{"-DEBUG", "DEBUG x", false},
		{`{ $.level = "error" }`, `{"level":"error","msg":"x"}`, true},
		{`{ $.level = "error" }`, `{"level":"info"}`, false},
		{`{ $.level = "error" }`, `level=error`, false},
		{`{ $.level = "err*" }`, `{"level":"error"}`, true},
		{`{ $.level = err* }`, `{"level":"warn"}`, false},
		{`{ $.level != "error" }`, `{"level":"info"}`, true},
		{`{ $.latency > 500 }`, `{"latency":501.5}`, true},
		{`{ $.latency > 500 }`, `{"latency":500}`, false},
		{`{ $.latency <= 500 }`, `{"latency":500}`, true},
		{`{ $.code = 200 }`, `{"code":200}`, true},
		{`{ $.code = 200 }`, `{"code":"200"}`, true},
		{`{ $.kubernetes.labels.app = "web" }`, `{"kubernetes":{"labels":{"app":"web"}}}`, true},
		{`{ $.items[1].id = "b" }`, `{"items":[{"id":"a"},{"id":"b"}]}`, true},
		{`{ $.items[5].id = "b" }`, `{"items":[{"id":"a"}]}`, false},
		{`{ $.level = "error" && $.latency > 100 }`, `{"level":"error","latency":50}`, false},
		{`{ $.level = "error" || $.latency > 100 }`, `{"level":"info","latency":150}`, true},
		{`{ ($.a = 1 || $.b = 1) && $.c = 1 }`, `{"b":1,"c":1}`, true},
		{`{ ($.a = 1 || $.b = 1) && $.c = 1 }`, `{"b":1,"c":2}`, false},
		{`{ $.gone NOT EXISTS }`, `{"here":1}`, true},
		{`{ $.here NOT EXISTS }`, `{"here":1}`, false},
		{`{ $.v IS NULL }`, `{"v":null}`, true},
		{`{ $.v IS TRUE }`, `{"v":true}`, true},
		{`{ $.v IS FALSE }`, `{"v":true}`, false},
	}
	for _, tc := range tests {
		m, ok := parseFilterPattern(tc.pattern)
		if !ok {
			t.Errorf("parseFilterPattern(%q) unsupported, want supported", tc.pattern)
			continue
		}
		if got := m.match(tc.msg); got != tc.want {
			t.Errorf("pattern %q match(%q) = %v, want %v", tc.pattern, tc.msg, got, tc.want)
		}
	}
}

func TestFilterPattern_Unsupported(t *testing.T) {
	for _, p := range []string{`[ip, user, ...]`, `"unterminated`, `? lonely`, `{ level = "x" }`, `{ $.a > "x" }`, `{ $.a = }`, `{ ($.a = 1 }`, `{ $.a IS MAYBE }`, `{ $.a = 1 } extra`} {
		if _, ok := parseFilterPattern(p); ok {
			t.Errorf("parseFilterPattern(%q) supported, want unsupported", p)
		}
	}
}

func TestEventID_SortsByTimestampThenSeq(t *testing.T) {
	ids := []string{eventID(1, 9), eventID(2, 1), eventID(2, 2), eventID(1767225600000, 1), eventID(1767225600001, 0)}
	for i, id := range ids {
		if len(id) != 56 {
			t.Errorf("eventID %q has %d digits, want 56", id, len(id))
		}
		if i > 0 && ids[i-1] >= id {
			t.Errorf("eventID order: %q >= %q", ids[i-1], id)
		}
	}
}

// FuzzFilterPattern: any pattern either parses or is refused, and matching
// never panics.
func FuzzFilterPattern(f *testing.F) {
	for _, p := range []string{"", "ERROR", `"a b" ?c -d`, `{ $.a = "x*" && ($.b > 1 || $.c NOT EXISTS) }`, `{ $.a[0].b IS NULL }`, `[a, b]`} {
		f.Add(p, `{"a":"xyz","b":2,"c":null}`)
	}
	f.Fuzz(func(t *testing.T, pattern, msg string) {
		m, ok := parseFilterPattern(pattern)
		if !ok {
			return
		}
		m.match(msg)
		m.match(`{"a":[{"b":null}],"level":"error"}`)
	})
}
