package tail

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseDocker(t *testing.T) {
	testParser(t, "parseDocker", parseDocker, []parseCase{
		{"complete", `{"log":"hello\n","stream":"stdout","time":"2017-09-25T18:00:00.123456789Z"}`, "hello", StreamStdout, false, false, false},
		{"partial 16k piece", `{"log":"hel","stream":"stderr","time":"2017-09-25T18:00:00Z"}`, "hel", StreamStderr, true, false, false},
		{"html escapes", `{"log":"\u003cb\u003e \u0026\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, "<b> &", StreamStdout, false, false, false},
		{"replacement char", `{"log":"\ufffd\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, "\uFFFD", StreamStdout, false, false, false},
		{"line separator", `{"log":"a\u2028b\u2029\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, "a\u2028b\u2029", StreamStdout, false, false, false},
		{"surrogate pair", `{"log":"\ud83d\ude00\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, "😀", StreamStdout, false, false, false},
		{"lone surrogate", `{"log":"\ud83dx\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, "\uFFFDx", StreamStdout, false, false, false},
		{"escapes", `{"log":"\"q\" \\ \/ \t\r\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, "\"q\" \\ / \t\r", StreamStdout, false, false, false},
		{"key order and attrs", `{"time":"2017-09-25T18:00:00Z","attrs":{"tag":"x","n":[1,2,{"a":null}]},"stream":"stdout","log":"x\n"}`, "x", StreamStdout, false, false, false},
		{"json payload", `{"log":"{\"level\":\"info\"}\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}`, `{"level":"info"}`, StreamStdout, false, false, false},
		{"not json", `hello`, `hello`, StreamNone, false, true, false},
		{"truncated", `{"log":"abc`, `{"log":"abc`, StreamNone, false, true, false},
		{"bad escape", `{"log":"a\qb\n","stream":"stdout"}`, `{"log":"a\qb\n","stream":"stdout"}`, StreamNone, false, true, false},
		{"no log", `{"stream":"stdout"}`, `{"stream":"stdout"}`, StreamNone, false, true, false},
		{"trailing junk", `{"log":"a\n"} x`, `{"log":"a\n"} x`, StreamNone, false, true, false},
	})
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

// TestFollower_DockerPiecesBounded: docker json-file pieces (no trailing
// "\n" in "log") are joined into one line, bounded by MaxLineSize like CRI
// joins: a longer logical line is emitted as FlagSplit pieces, the last one
// unflagged, nothing lost.
func TestFollower_DockerPiecesBounded(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "docker", Config{Paths: []string{"0.log"}, ReadFromHead: true, MaxLineSize: 20000})
	text := strings.Repeat("0123456789", 4500) // 45,000 bytes
	wr.raw("stdout", "F", "before")
	for off := 0; off < len(text); off += 16 << 10 {
		end := min(off+16<<10, len(text))
		tag := "P"
		if end == len(text) {
			tag = "F"
		}
		wr.raw("stdout", tag, text[off:end])
	}
	wr.raw("stdout", "F", "after")
	h.cycle()
	lines := h.col.take()
	if len(lines) != 5 {
		t.Fatalf("got %d lines %v, want before, 3 pieces, after", len(lines), lines)
	}
	if lines[0].Text != "before" || lines[4].Text != "after" || lines[0].Flags != FlagDocker || lines[4].Flags != FlagDocker {
		t.Fatalf("neighbours %v %v", lines[0], lines[4])
	}
	joined := lines[1].Text + lines[2].Text + lines[3].Text
	if joined != text || len(lines[1].Text) != 20000 || len(lines[2].Text) != 20000 {
		t.Fatalf("pieces %d+%d+%d bytes, want 20000+20000+5000 of the text", len(lines[1].Text), len(lines[2].Text), len(lines[3].Text))
	}
	if lines[1].Flags != FlagSplit|FlagDocker || lines[2].Flags != FlagSplit|FlagSplitCont|FlagDocker || lines[3].Flags != FlagSplitCont|FlagDocker {
		t.Fatalf("flags %b %b %b, want first, middle, last", lines[1].Flags, lines[2].Flags, lines[3].Flags)
	}
}

// TestFollower_AutoPlainJSON: with FormatAuto, a file of JSON lines that are
// not docker json-file records is plain: lines as written, FlagPlain.
func TestFollower_AutoPlainJSON(t *testing.T) {
	dir := t.TempDir()
	appendFile(t, dir+"/app.log", `{"log":"not docker","level":"info"}`+"\n"+`{"msg":"x"}`+"\n")
	h := newHarness(t, dir, Config{Paths: []string{"app.log"}, ReadFromHead: true})
	h.cycle()
	lines := h.col.take()
	if len(lines) != 2 || lines[0].Text != `{"log":"not docker","level":"info"}` || lines[1].Text != `{"msg":"x"}` {
		t.Fatalf("got %v", lines)
	}
	for _, l := range lines {
		if l.Flags != FlagPlain {
			t.Fatalf("flags %b, want FlagPlain", l.Flags)
		}
	}
}
