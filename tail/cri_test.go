package tail

import (
	"bytes"
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	ns := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixNano()
	}
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"2024-01-01T00:00:09Z", ns("2024-01-01T00:00:09Z"), true},
		{"2024-01-01T00:00:09.5Z", ns("2024-01-01T00:00:09.5Z"), true},
		{"2024-01-01T00:00:09.123456789+09:00", ns("2024-01-01T00:00:09.123456789+09:00"), true},
		{"2024-01-01T00:00:09.123-05:30", ns("2024-01-01T00:00:09.123-05:30"), true},
		{"2024-02-29T23:59:59.000000001+00:00", ns("2024-02-29T23:59:59.000000001Z"), true},
		{"1969-12-31T23:59:59Z", -1e9, true},
		{"2026-11-27T00:10:37.1Z", ns("2026-11-27T00:10:37.1Z"), true},
		{"2024-01-01T00:00:09", 0, false},
		{"2024-01-01T00:00:09.Z", 0, false},
		{"2024-01-01T00:00:09.1234567890Z", 0, false},
		{"2024-13-01T00:00:09Z", 0, false},
		{"2023-02-29T00:00:09Z", 0, false},
		{"2024-01-01T00:00:09+0900", 0, false},
		{"2024-01-01T00:00:09Zjunk", 0, false},
		{"garbage", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseTimestamp([]byte(tt.in))
			if ok != tt.ok || got != tt.want {
				t.Fatalf("parseTimestamp(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// parseCase is one physical record and what a record parser must make of it.
type parseCase struct {
	name    string
	in      string
	content string
	stream  Stream
	partial bool
	bad     bool
	badTime bool
}

// testParser runs parse (named fn in failures) over tests.
func testParser(t *testing.T, fn string, parse func([]byte) record, tests []parseCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := parse([]byte(tt.in))
			if string(r.content) != tt.content || r.stream != tt.stream || r.partial != tt.partial || r.bad != tt.bad || r.badTime != tt.badTime {
				t.Fatalf("%s(%q) = {content %q stream %v partial %v bad %v badTime %v}, want {%q %v %v %v %v}",
					fn, tt.in, r.content, r.stream, r.partial, r.bad, r.badTime, tt.content, tt.stream, tt.partial, tt.bad, tt.badTime)
			}
		})
	}
}

func TestParseCRI(t *testing.T) {
	testParser(t, "parseCRI", parseCRI, []parseCase{
		{"containerd full", "2024-01-01T00:00:00.5Z stdout F hello world", "hello world", StreamStdout, false, false, false},
		{"conmon partial", "2024-01-01T00:00:00.000000000+00:00 stderr P abc", "abc", StreamStderr, true, false, false},
		{"extra tags", "2024-01-01T00:00:00Z stdout F:x hi", "hi", StreamStdout, false, false, false},
		{"partial extra tags", "2024-01-01T00:00:00Z stdout P:x hi", "hi", StreamStdout, true, false, false},
		{"empty content", "2024-01-01T00:00:00Z stdout F ", "", StreamStdout, false, false, false},
		{"no content separator", "2024-01-01T00:00:00Z stdout F", "", StreamStdout, false, false, false},
		{"content with spaces", "2024-01-01T00:00:00Z stdout F  a  b ", " a  b ", StreamStdout, false, false, false},
		{"invalid utf8 kept", "2024-01-01T00:00:00Z stdout F \xff\xfe", "\xff\xfe", StreamStdout, false, false, false},
		{"bad stream", "2024-01-01T00:00:00Z stdin F x", "2024-01-01T00:00:00Z stdin F x", StreamNone, false, true, false},
		{"no spaces", "garbage", "garbage", StreamNone, false, true, false},
		{"bad time", "yesterday stdout F x", "x", StreamStdout, false, false, true},
		{"unknown tag is full", "2024-01-01T00:00:00Z stdout X x", "x", StreamStdout, false, false, false},
	})
}

func FuzzParseCRI(f *testing.F) {
	f.Add([]byte("2024-01-01T00:00:00.5Z stdout F hello"))
	f.Add([]byte("2024-01-01T00:00:00.000000000+09:00 stderr P:x abc"))
	f.Add([]byte("2024-01-01T00:00:00Z stdout F"))
	f.Add([]byte("x y z"))
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		r := parseCRI(b)
		if !bytes.Equal(in, b) {
			t.Fatalf("parseCRI modified its input")
		}
		if r.bad {
			if !bytes.Equal(r.content, b) {
				t.Fatalf("bad record content %q, want the whole line", r.content)
			}
			return
		}
		if r.stream != StreamStdout && r.stream != StreamStderr {
			t.Fatalf("stream %v", r.stream)
		}
		if !bytes.HasSuffix(b, r.content) {
			t.Fatalf("content %q is not the line's tail", r.content)
		}
		if !r.badTime {
			// A parsed timestamp must agree with the standard library.
			tm, err := time.Parse(time.RFC3339Nano, string(r.timeText))
			if err == nil && tm.UnixNano() != r.time && tm.Year() >= 1678 && tm.Year() <= 2261 {
				t.Fatalf("time %q = %d, time.Parse says %d", r.timeText, r.time, tm.UnixNano())
			}
		}
	})
}
