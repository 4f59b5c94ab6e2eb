package buffer

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestAppendRubyFloat checks the rendering against Ruby's own output
// (testdata/ruby_float.tsv: Ruby 3.1.2's Float#to_s of each input).
func TestAppendRubyFloat(t *testing.T) {
	fd, err := os.Open("testdata/ruby_float.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	sc := bufio.NewScanner(fd)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		in, want, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		f, err := strconv.ParseFloat(in, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(AppendRubyFloat(nil, f)); got != want {
			t.Errorf("%s: got %s, Ruby writes %s", in, got, want)
		}
		n++
	}
	if n < 500 {
		t.Fatalf("only %d values in testdata", n)
	}
}

// Numbers in a record parsed as Ruby would: floats re-rendered at any
// depth, integers (even beyond 64 bits) kept, -0 as 0, an overflowing float
// kept as written; ParseJSON keeps every number's text.
func TestParseJSONAsRuby(t *testing.T) {
	in := `{"f":1.5e3,"lat_ms":165.780,"n":42,"big":123456789012345678901234567890,"neg0":-0,"z":-0.0,` +
		`"deep":{"a":[1E2,0.00001,7]},"inf":1e400,"s":"1.50"}`
	want := `{"f":1500.0,"lat_ms":165.78,"n":42,"big":123456789012345678901234567890,"neg0":0,"z":-0.0,` +
		`"deep":{"a":[100.0,1.0e-05,7]},"inf":1e400,"s":"1.50"}`
	v, err := ParseJSONAsRuby([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(v.AppendJSON(nil)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	v, err = ParseJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(v.AppendJSON(nil)); got != in {
		t.Fatalf("ParseJSON: got %s, want the input", got)
	}
}

// A float already written as Ruby writes it costs no allocation beyond what
// ParseJSON itself makes.
func TestParseJSONAsRuby_NoCopyWhenSame(t *testing.T) {
	data := []byte(`{"a":165.78,"b":0.5,"c":12}`)
	allocs := func(parse func([]byte) (Value, error)) float64 {
		return testing.AllocsPerRun(50, func() {
			if _, err := parse(data); err != nil {
				t.Fatal(err)
			}
		})
	}
	if ruby, plain := allocs(ParseJSONAsRuby), allocs(ParseJSON); ruby > plain {
		t.Fatalf("ParseJSONAsRuby %v allocations, ParseJSON %v", ruby, plain)
	}
}
