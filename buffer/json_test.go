package buffer_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"logship/buffer"
)

func TestFields_AppendJSON(t *testing.T) {
	tests := []struct {
		name string
		f    buffer.Fields
		want string
	}{
		{"empty", buffer.Fields{}, `{}`},
		{"order kept", buffer.Fields{
			{Key: "z", Value: buffer.Str([]byte("1"))},
			{Key: "a", Value: buffer.RawJSON([]byte("1.0"))},
		}, `{"z":"1","a":1.0}`},
		{"escapes", buffer.Fields{
			{Key: "log", Value: buffer.Str([]byte("a\"b\\c\n\t\x01/<>&é"))},
		}, `{"log":"a\"b\\c\n\t\u0001/<>&é"}`},
		{"invalid utf8", buffer.Fields{
			{Key: "k\xff", Value: buffer.Str([]byte("x\xffy\xe2\x82"))},
		}, "{\"k\uFFFD\":\"x\uFFFDy\uFFFD\"}"},
		{"nested", buffer.Fields{
			{Key: "m", Value: buffer.Value{Kind: buffer.Map, Kids: buffer.Fields{
				{Key: "a", Value: buffer.Value{Kind: buffer.Array, Kids: buffer.Fields{
					{Value: buffer.RawJSON([]byte("true"))}, {Value: buffer.Str([]byte("s"))},
				}}},
			}}},
		}, `{"m":{"a":[true,"s"]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.f.AppendJSON(nil)); got != tt.want {
				t.Fatalf("AppendJSON()=%s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseJSON_RoundTrip(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1,"b":[1,2.50,-3e5],"c":{"d":null,"e":false}}`, `{"a":1,"b":[1,2.50,-3e5],"c":{"d":null,"e":false}}`},
		{` { "x" : "y\u00e9\ud83d\ude00\/" } `, `{"x":"yé😀/"}`},
		{`{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{`{"big":123456789012345678901234567890}`, `{"big":123456789012345678901234567890}`},
		{`{"lone":"\ud800x"}`, `{"lone":"` + "\uFFFD" + `x"}`},
	}
	for _, tt := range tests {
		v, err := buffer.ParseJSON([]byte(tt.in))
		if err != nil {
			t.Fatalf("ParseJSON(%s): %v", tt.in, err)
		}
		if got := string(v.AppendJSON(nil)); got != tt.want {
			t.Fatalf("ParseJSON(%s) round trip=%s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestParseJSON_Errors(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a"}`, `{"a":}`, `[1,]`, `"abc`, `01`, `1.`, `{"a":1}x`, "\"a\x01\"", `tru`, `"\x"`} {
		if _, err := buffer.ParseJSON([]byte(in)); !errors.Is(err, buffer.ErrSyntax) {
			t.Errorf("ParseJSON(%q) error=%v, want ErrSyntax", in, err)
		}
	}
}

// FuzzParseJSON checks that ParseJSON accepts exactly what encoding/json
// accepts and that its output re-encodes to valid JSON.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"c"}]}`, `"\u00e9"`, `[]`, `{"a":1,"a":2}`, `-0.5e-3`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := buffer.ParseJSON(data)
		if valid := json.Valid(data); (err == nil) != valid {
			t.Fatalf("ParseJSON err=%v, json.Valid=%v for %q", err, valid, data)
		}
		if err != nil {
			return
		}
		out := v.AppendJSON(nil)
		if !json.Valid(out) {
			t.Fatalf("re-encoded %q is not valid JSON", out)
		}
	})
}

func BenchmarkFields_AppendJSON(b *testing.B) {
	f := buffer.Fields{
		{Key: "stream", Value: buffer.Str([]byte("stdout"))},
		{Key: "logtag", Value: buffer.Str([]byte("F"))},
		{Key: "message", Value: buffer.Str([]byte(`{"level":"info","logger":"http","msg":"request served","seq":1500,"path":"/api/v1/items/503","status":200,"user_agent":"curl/8.5 \"quoted\"","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`))},
		{Key: "time", Value: buffer.Str([]byte("2026-11-27T00:26:03.084492022Z"))},
		{Key: "kubernetes", Value: buffer.RawJSON([]byte(`{"container_name":"app","namespace_name":"default","pod_name":"web-0-7d9f","host":"node-1"}`))},
	}
	dst := f.AppendJSON(nil)
	b.SetBytes(int64(len(dst)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dst = f.AppendJSON(dst[:0])
	}
}

// TestAppendValidUTF8_MaximalSubparts checks the replacement of invalid UTF-8:
// one U+FFFD per maximal subpart, with the examples of the Unicode Standard
// §3.9 (Tables 3-8 to 3-11) and the bytes seen in the Fluentd comparison.
func TestAppendValidUTF8_MaximalSubparts(t *testing.T) {
	const R = "\uFFFD"
	tests := []struct{ in, want string }{
		{"\xff\xfe\xc3\x28 \xe2\x82", R + R + R + "( " + R},
		{"a\xF1\x80\x80\xE1\x80\xC2b\x80c\x80\xBFd", "a" + R + R + R + "b" + R + "c" + R + R + "d"},
		{"\xC0\xAF\xE0\x80\xBF\xF0\x81\x82A", R + R + R + R + R + R + R + R + "A"},
		{"\xED\xA0\x80\xED\xBF\xBF\xED\xAFA", R + R + R + R + R + R + R + R + "A"},
		{"\xF4\x91\x92\x93\xFFA\x80\xBFB", R + R + R + R + R + "A" + R + R + "B"},
		{"\xE1\x80\xE2\xF0\x91\x92\xF1\xBFA", R + R + R + R + "A"},
		{"\xf0\x9f", R},
		{"\xf0\x9f\x98", R},
		{"\xf0\x9f\x98\x80", "😀"},
		{"é\xe9t\xe9", "é" + R + "t" + R},
		{"valid é世😀", "valid é世😀"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := string(buffer.AppendValidUTF8(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("AppendValidUTF8(%+q)=%+q, want %+q", tt.in, got, tt.want)
		}
		want, _ := json.Marshal(tt.want)
		if got := string(buffer.AppendJSONString(nil, tt.in)); got != string(want) {
			t.Errorf("AppendJSONString(%+q)=%s, want %s", tt.in, got, want)
		}
	}
}

// TestAppendValidUTF8_Ruby compares the replacement with Ruby's String#scrub
// on random byte strings (testdata/scrub-ruby.txt, written by Ruby 3.1.2 with
// testdata/scrub-ruby.rb).
func TestAppendValidUTF8_Ruby(t *testing.T) {
	data, err := os.ReadFile("testdata/scrub-ruby.txt")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		in, err1 := hex.DecodeString(f[0])
		want, err2 := hex.DecodeString(f[1])
		if len(f) != 2 || err1 != nil || err2 != nil {
			t.Fatalf("bad line %q", line)
		}
		if got := buffer.AppendValidUTF8(nil, in); string(got) != string(want) {
			t.Errorf("AppendValidUTF8(%x)=%x, Ruby's scrub %x", in, got, want)
		}
		if got := buffer.AppendJSONBytes(nil, in); string(got) != `"`+string(want)+`"` {
			t.Errorf("AppendJSONBytes(%x)=%x, want Ruby's scrub %x quoted", in, got, want)
		}
		n++
	}
	if n < 1000 {
		t.Fatalf("%d cases read, want the whole file", n)
	}
}

// BenchmarkAppendJSONBytes measures the string escaper on log lines: plain
// text (one escape, the newline), a JSON application line (a quote every
// few bytes) and non-ASCII text.
func BenchmarkAppendJSONBytes(b *testing.B) {
	lines := []struct{ name, s string }{
		{"plain", `10.0.1.7 - - [01/Jun/2026:12:00:00 +0000] GET /api/v1/items?id=42 HTTP/1.1 200 512 - curl/8.0 ` + strings.Repeat("x", 100) + "\n"},
		{"json", `{"level":"info","logger":"http","msg":"request served","seq":1234,"container":"app","path":"/api/v1/items/237","status":200,"pad":"` + strings.Repeat("x", 70) + `"}`},
		{"unicode", strings.Repeat("héllo wörld 世界 ", 12)},
	}
	for _, l := range lines {
		b.Run(l.name, func(b *testing.B) {
			src := []byte(l.s)
			dst := make([]byte, 0, 2*len(src)+2)
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				dst = buffer.AppendJSONBytes(dst[:0], src)
			}
		})
	}
}

// FuzzAppendJSONBytes checks the escaper and the U+FFFD replacement against
// the standard library: valid UTF-8 is kept byte for byte, the output is
// valid UTF-8 and valid JSON decoding to the replaced text, and the
// replacement never makes more U+FFFD than invalid bytes (nor fewer than
// utf8's runs of invalid bytes).
func FuzzAppendJSONBytes(f *testing.F) {
	for _, s := range []string{"", "plain", "\xff\xfe\xc3\x28 \xe2\x82", "é世😀\"\\\n\x01\x7f", "12345678\xf0\x9f\x98\x80abcdefgh\xed\xa0\x80"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v := buffer.AppendValidUTF8(nil, in)
		if !utf8.Valid(v) {
			t.Fatalf("AppendValidUTF8(%q)=%q: invalid UTF-8", in, v)
		}
		if utf8.Valid(in) && string(v) != string(in) {
			t.Fatalf("AppendValidUTF8(%q)=%q: valid input changed", in, v)
		}
		js := buffer.AppendJSONBytes(nil, in)
		var dec string
		if err := json.Unmarshal(js, &dec); err != nil || dec != string(v) {
			t.Fatalf("AppendJSONBytes(%q)=%s decodes to %q (%v), want %q", in, js, dec, err, v)
		}
		bad := 0
		for b := in; len(b) > 0; {
			r, n := utf8.DecodeRune(b)
			if r == utf8.RuneError && n == 1 {
				bad++
			}
			b = b[n:]
		}
		added := strings.Count(string(v), "\uFFFD") - strings.Count(string(in), "\uFFFD")
		if added > bad || (bad > 0) != (added > 0) {
			t.Fatalf("AppendValidUTF8(%q): %d U+FFFD added for %d invalid bytes", in, added, bad)
		}
	})
}
