package tail

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestParseDocker(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		content string
		stream  Stream
		partial bool
		bad     bool
	}{
		{"complete", `{"log":"hello\n","stream":"stdout","time":"2017-09-25T18:00:00.123456789Z"}`, "hello", StreamStdout, false, false},
		{"partial 16k piece", `{"log":"hel","stream":"stderr","time":"2017-09-25T18:00:00Z"}`, "hel", StreamStderr, true, false},
		{"html escapes", `{"log":"\u003cb\u003e \u0026\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, "<b> &", StreamStdout, false, false},
		{"replacement char", `{"log":"\ufffd\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, "\uFFFD", StreamStdout, false, false},
		{"line separator", `{"log":"a\u2028b\u2029\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, "a\u2028b\u2029", StreamStdout, false, false},
		{"surrogate pair", `{"log":"\ud83d\ude00\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, "😀", StreamStdout, false, false},
		{"lone surrogate", `{"log":"\ud83dx\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, "\uFFFDx", StreamStdout, false, false},
		{"escapes", `{"log":"\"q\" \\ \/ \t\r\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, "\"q\" \\ / \t\r", StreamStdout, false, false},
		{"key order and attrs", `{"time":"2017-09-25T18:00:00Z","attrs":{"tag":"x","n":[1,2,{"a":null}]},"stream":"stdout","log":"x\n"}`, "x", StreamStdout, false, false},
		{"json payload", `{"log":"{\"level\":\"info\"}\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, `{"level":"info"}`, StreamStdout, false, false},
		{"not json", `hello`, `hello`, StreamNone, false, true},
		{"truncated", `{"log":"abc`, `{"log":"abc`, StreamNone, false, true},
		{"bad escape", `{"log":"a\qb\n","stream":"stdout"}`, `{"log":"a\qb\n","stream":"stdout"}`, StreamNone, false, true},
		{"no log", `{"stream":"stdout"}`, `{"stream":"stdout"}`, StreamNone, false, true},
		{"trailing junk", `{"log":"a\n"} x`, `{"log":"a\n"} x`, StreamNone, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := parseDocker([]byte(tt.in))
			if string(r.content) != tt.content || r.stream != tt.stream || r.partial != tt.partial || r.bad != tt.bad {
				t.Fatalf("parseDocker(%s) = {%q %v partial %v bad %v}, want {%q %v %v %v}",
					tt.in, r.content, r.stream, r.partial, r.bad, tt.content, tt.stream, tt.partial, tt.bad)
			}
		})
	}
}

func TestParseDocker_Time(t *testing.T) {
	r := parseDocker([]byte(`{"log":"x\n","stream":"stdout","time":"2017-09-25T18:00:00.123456789Z"}`))
	if r.badTime || r.time != 1506362400123456789 || string(r.timeText) != "2017-09-25T18:00:00.123456789Z" {
		t.Fatalf("time = %d %q badTime %v", r.time, r.timeText, r.badTime)
	}
}

func FuzzParseDocker(f *testing.F) {
	f.Add([]byte(`{"log":"hello\n","stream":"stdout","time":"2017-09-25T18:00:00.123456789Z"}`))
	f.Add([]byte(`{"log":"\ud83d\ude00\u003c","stream":"stderr","time":"x","attrs":{"a":[1,{"b":"c"}]}}`))
	f.Add([]byte(`{"log":"\ud83d"}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		orig := bytes.Clone(b)
		r := parseDocker(b)
		if r.bad {
			if !bytes.Equal(r.content, orig) || !bytes.Equal(b, orig) {
				t.Fatalf("malformed line modified: %q -> %q", orig, r.content)
			}
			return
		}
		// Whatever decoded must agree with encoding/json when the input is
		// valid UTF-8 JSON (encoding/json replaces invalid UTF-8).
		var v struct {
			Log *string `json:"log"`
		}
		if !utf8.Valid(orig) || json.Unmarshal(orig, &v) != nil || v.Log == nil {
			return
		}
		want := *v.Log
		if !r.partial {
			want = want[:len(want)-1]
		}
		if string(r.content) != want {
			t.Fatalf("log %q, encoding/json says %q (input %q)", r.content, want, orig)
		}
	})
}
