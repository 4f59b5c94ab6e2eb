package buffer_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	smithyjson "github.com/aws/smithy-go/encoding/json"

	"logship/buffer"
)

// escapeInputs returns every ASCII byte alone and at each offset of a word
// (the escaper reads eight bytes at a time), a JSON-in-JSON line, and
// non-ASCII text.
func escapeInputs() []string {
	var in []string
	for c := 0; c < 0x80; c++ {
		for off := 0; off < 10; off++ {
			in = append(in, strings.Repeat("a", off)+string(rune(c))+"bcdefghijk")
		}
	}
	return append(in, "", `{"log":"say \"hi\"\n","x":"\\"}`+"\t\b\f\x00\x1f\x7f", "é世😀\"\\\n\x01", `\\\"`)
}

// TestAppendJSONEscaped_SDK checks SDKEscapes byte for byte against
// smithy-go's encoder, the serialiser the AWS SDK writes request bodies with.
func TestAppendJSONEscaped_SDK(t *testing.T) {
	for _, s := range escapeInputs() {
		enc := smithyjson.NewEncoder()
		enc.Value.String(s)
		want := string(enc.Bytes())
		got := `"` + string(buffer.AppendJSONEscaped(nil, s, buffer.SDKEscapes)) + `"`
		if got != want {
			t.Errorf("AppendJSONEscaped(%q, SDKEscapes) = %s, smithy-go writes %s", s, got, want)
		}
	}
}

// TestAppendJSONEscaped_Yajl checks that YajlEscapes is AppendJSONString's
// escaping for valid UTF-8, and every set decodes back to its input.
func TestAppendJSONEscaped_Yajl(t *testing.T) {
	for _, s := range escapeInputs() {
		want := string(buffer.AppendJSONString(nil, s))
		got := `"` + string(buffer.AppendJSONEscaped(nil, s, buffer.YajlEscapes)) + `"`
		if got != want {
			t.Errorf("AppendJSONEscaped(%q, YajlEscapes) = %s, AppendJSONString writes %s", s, got, want)
		}
		for _, e := range []buffer.JSONEscapes{buffer.YajlEscapes, buffer.SDKEscapes, buffer.RubyEscapes} {
			js := `"` + string(buffer.AppendJSONEscaped(nil, s, e)) + `"`
			var dec string
			if err := json.Unmarshal([]byte(js), &dec); err != nil || dec != s {
				t.Errorf("AppendJSONEscaped(%q, %d) = %s decodes to %q (%v)", s, e, js, dec, err)
			}
		}
	}
}

// TestAppendJSONEscaped_Ruby checks RubyEscapes: the short escapes Ruby's
// JSON.generate writes and lower-case \u00xx for the rest.
func TestAppendJSONEscaped_Ruby(t *testing.T) {
	for s, want := range map[string]string{
		"\b\f\n\r\t": `\b\f\n\r\t`,
		"\x00\x1f":   `\u0000\u001f`,
		`a"b\c/d`:    `a\"b\\c/d`,
		"é\xff":      "é\xff",
	} {
		if got := string(buffer.AppendJSONEscaped(nil, s, buffer.RubyEscapes)); got != want {
			t.Errorf("AppendJSONEscaped(%q, RubyEscapes) = %s, want %s", s, got, want)
		}
	}
}

// BenchmarkAppendJSONEscaped measures the body escaper on the inside of a
// request body's message: plain text, a JSON application line (a quote every
// few bytes) and a formatted record holding one (escaped quotes, \" pairs).
func BenchmarkAppendJSONEscaped(b *testing.B) {
	app := `{"level":"info","logger":"http","msg":"request served","seq":1234,"container":"app","path":"/api/v1/items/237","status":200,"pad":"` + strings.Repeat("x", 70) + `"}`
	lines := []struct{ name, s string }{
		{"plain", `10.0.1.7 - - [01/Jun/2026:12:00:00 +0000] GET /api/v1/items?id=42 HTTP/1.1 200 512 - curl/8.0 ` + strings.Repeat("x", 100) + "\n"},
		{"json", app},
		{"record", string(buffer.AppendJSONString([]byte(`{"log":`), app)) + `,"stream":"stdout"}`},
	}
	for _, l := range lines {
		b.Run(l.name, func(b *testing.B) {
			dst := make([]byte, 0, 2*len(l.s))
			b.SetBytes(int64(len(l.s)))
			b.ReportAllocs()
			for b.Loop() {
				dst = buffer.AppendJSONEscaped(dst[:0], l.s, buffer.SDKEscapes)
			}
		})
	}
}

// FuzzAppendJSONEscaped checks every escape set on arbitrary text: valid
// UTF-8 decodes back to itself and SDKEscapes matches smithy-go byte for
// byte; any input keeps dst's contents and its 0xFF bytes, and never shrinks.
func FuzzAppendJSONEscaped(f *testing.F) {
	for _, s := range escapeInputs() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range []buffer.JSONEscapes{buffer.YajlEscapes, buffer.SDKEscapes, buffer.RubyEscapes} {
			got := string(buffer.AppendJSONEscaped([]byte("prefix"), s, e))
			if !strings.HasPrefix(got, "prefix") {
				t.Fatalf("AppendJSONEscaped(%q, %d) lost dst's contents: %q", s, e, got)
			}
			got = got[len("prefix"):]
			if strings.Count(got, "\xff") != strings.Count(s, "\xff") || len(got) < len(s) {
				t.Fatalf("AppendJSONEscaped(%q, %d) = %q", s, e, got)
			}
			if !utf8.ValidString(s) {
				continue
			}
			var dec string
			if err := json.Unmarshal([]byte(`"`+got+`"`), &dec); err != nil || dec != s {
				t.Fatalf("AppendJSONEscaped(%q, %d) = %q decodes to %q (%v)", s, e, got, dec, err)
			}
			if e == buffer.SDKEscapes {
				enc := smithyjson.NewEncoder()
				enc.Value.String(s)
				if want := string(enc.Bytes()); `"`+got+`"` != want {
					t.Fatalf("AppendJSONEscaped(%q, SDKEscapes) = %q, smithy-go writes %s", s, got, want)
				}
			}
		}
	})
}
