package buffer_test

import (
	"encoding/json"
	"strings"
	"testing"

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
