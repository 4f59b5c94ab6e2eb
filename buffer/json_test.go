package buffer_test

import (
	"encoding/json"
	"errors"
	"testing"

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
		}, "{\"k\uFFFD\":\"x\uFFFDy\uFFFD\uFFFD\"}"},
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
