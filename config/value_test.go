package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"logship/config"
)

// param parses "k <value>" and returns the parameter and its config.
func param(t *testing.T, value string) (*config.Param, *config.Config) {
	t.Helper()
	c := mustParse(t, "k "+value+"\n", nil)
	p := c.Root.Param("k")
	if p == nil {
		t.Fatalf("no parameter k in %q", value)
	}
	return p, c
}

func warned(c *config.Config) bool { return len(c.Diag.Warnings()) > 0 }

// literal is one case of a Param decoder's table test: the value written
// after the key, the decoded value (also on error), whether decoding warns
// and whether it fails.
type literal[T any] struct {
	in      string
	want    T
	warn    bool
	wantErr bool
}

// testDecoder decodes each case's "k <in>" with decode (named name in
// failures) and checks the value, the error (which must carry the value's
// position) and the warning.
func testDecoder[T any](t *testing.T, name string, decode func(*config.Param) (T, error), tests []literal[T]) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			p, c := param(t, tc.in)
			got, err := decode(p)
			if (err != nil) != tc.wantErr || !reflect.DeepEqual(got, tc.want) || warned(c) != tc.warn {
				t.Fatalf("%s(%s) = %v, %v (warned %v), want %v error %v warned %v", name, tc.in, got, err, warned(c), tc.want, tc.wantErr, tc.warn)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "test.conf:1:3: k: ") {
				t.Fatalf("%s(%s) error %q lacks the value position", name, tc.in, err)
			}
		})
	}
}

func TestParam_Size(t *testing.T) {
	testDecoder(t, "Size", (*config.Param).Size, []literal[int64]{
		{"1024", 1024, false, false},
		{"256k", 256 << 10, false, false},
		{"256K", 256 << 10, false, false},
		{"2M", 2 << 20, false, false},
		{"8m", 8 << 20, false, false},
		{"1g", 1 << 30, false, false},
		{"1G", 1 << 30, false, false},
		{"2t", 2 << 40, false, false},
		{"0", 0, false, false},
		{"1.5m", 5 << 20, true, false}, // Fluentd's unanchored /([0-9]+)m/i
		{"10kb", 10 << 10, true, false},
		{"abc", 0, true, false},
		{"99999999999999999999", 0, false, true},
		{"9999999999999g", 0, false, true},
	})
}

func TestParam_Duration(t *testing.T) {
	testDecoder(t, "Duration", (*config.Param).Duration, []literal[time.Duration]{
		{"10s", 10 * time.Second, false, false},
		{"1m", time.Minute, false, false},
		{"1h", time.Hour, false, false},
		{"1d", 24 * time.Hour, false, false},
		{"0.5", 500 * time.Millisecond, false, false},
		{"30", 30 * time.Second, false, false},
		{"0", 0, false, false},
		{"1.5s", 5 * time.Second, true, false}, // /([0-9]+)s/ matches "5s"
		{"10S", 10 * time.Second, true, false}, // suffixes are case-sensitive: to_f
		{"1h30m", 30 * time.Minute, true, false},
		{"abc", 0, true, false},
	})
}

func TestParam_Bool(t *testing.T) {
	tests := []struct {
		src  string
		want bool
		warn bool
	}{
		{"k true\n", true, false},
		{"k yes\n", true, false},
		{"k false\n", false, false},
		{"k no\n", false, false},
		{"k\n", true, false},                     // bare flag: disable_retry_limit
		{"k \"\"\n", true, false},                // empty, e.g. "#{ENV['LOG_REJECTED_REQUEST']}" unset
		{"k \"#{ENV['UNSET']}\"\n", true, false}, // the v1.19 log_rejected_request
		{"k True\n", false, true},
		{"k 1\n", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			c := mustParse(t, tc.src, nil)
			got, err := c.Root.Param("k").Bool()
			if err != nil || got != tc.want || warned(c) != tc.warn {
				t.Fatalf("Bool(%q) = %v, %v (warned %v), want %v warned %v", tc.src, got, err, warned(c), tc.want, tc.warn)
			}
		})
	}
	// A '#' right after the key is Fluentd's value, and reads as true.
	c := mustParse(t, "k #comment\n", nil)
	if got, _ := c.Root.Param("k").Bool(); !got {
		t.Fatalf("Bool(k #comment) = false, want true")
	}
}

func TestParam_Int(t *testing.T) {
	testDecoder(t, "Int", (*config.Param).Int, []literal[int64]{
		{"10", 10, false, false},
		{"-3", -3, false, false},
		{"+7", 7, false, false},
		{"1_000", 1000, false, false},
		{"nil", 0, true, false}, // retention_in_days "#{ENV['RETENTION_IN_DAYS'] || 'nil'}"
		{"10x", 10, true, false},
		{"1.9", 1, true, false},
		{"\" 5\"", 5, true, false},
	})
}

func TestParam_Float(t *testing.T) {
	testDecoder(t, "Float", (*config.Param).Float, []literal[float64]{
		{"1.5", 1.5, false, false},
		{"2", 2, false, false},
		{"1e3", 1000, false, false},
		{"-0.25", -0.25, false, false},
		{"abc", 0, true, false},
		{"1.5x", 1.5, true, false},
	})
}

func TestParam_Strings(t *testing.T) {
	testDecoder(t, "Strings", (*config.Param).Strings, []literal[[]string]{
		{"a,b", []string{"a", "b"}, false, false},
		{" a , b ,", []string{"a", "b"}, false, false},
		{"/var/log/containers/fluentd*.log", []string{"/var/log/containers/fluentd*.log"}, false, false},
		{`""`, []string{}, false, false},
		{`["a", 1, {"x": true}]`, []string{"a", "1", `{"x":true}`}, false, false},
		{`"[\"/var/log/a*\"]"`, []string{"/var/log/a*"}, false, false},
		{`"[1,"`, nil, false, true},
	})
}

func TestParam_Hash(t *testing.T) {
	testDecoder(t, "Hash", (*config.Param).Hash, []literal[map[string]string]{
		{"k1:v1,k2:v2", map[string]string{"k1": "v1", "k2": "v2"}, false, false},
		{"team:a:b", map[string]string{"team": "a:b"}, false, false},
		{`{"Team": "logs", "n": 1}`, map[string]string{"Team": "logs", "n": "1"}, false, false},
		{"novalue", nil, false, true},
		{`"{bad"`, nil, false, true},
	})
}

func TestParam_Regexp(t *testing.T) {
	tests := []struct {
		in, pat, flags string
		wantErr        bool
	}{
		{`/^\S+\s+AUDIT:/`, `^\S+\s+AUDIT:`, "", false},
		{`/a.b/im`, "a.b", "im", false},
		{`^a$`, "^a$", "", false},
		{`/abc`, "", "", true},
		{`/abc/q`, "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			p, _ := param(t, tc.in)
			pat, flags, err := p.Regexp()
			if (err != nil) != tc.wantErr || pat != tc.pat || flags != tc.flags {
				t.Fatalf("Regexp(%s) = %q %q %v, want %q %q error %v", tc.in, pat, flags, err, tc.pat, tc.flags, tc.wantErr)
			}
		})
	}
}

func TestParam_Enum(t *testing.T) {
	p, _ := param(t, "cri")
	if got, err := p.Enum("json", "cri"); err != nil || got != "cri" {
		t.Fatalf("Enum = %q, %v", got, err)
	}
	if _, err := p.Enum("json", "none"); err == nil || !strings.Contains(err.Error(), "test.conf:1:3") {
		t.Fatalf("Enum error = %v, want one at test.conf:1:3", err)
	}
}

func TestSection_Getters(t *testing.T) {
	src := `<match **>
  flush_interval 5s
  chunk_limit_size 8m
  retry_forever
  exclude_path "#{ENV['UNSET'] || use_default}"
  nil_param "#{use_nil}"
  tags k:v
  count 3
  ratio 0.5
  unknown_param x
  <buffer>
    @type memory
  </buffer>
  <secondary>
  </secondary>
</match>
<system>
</system>
`
	c := mustParse(t, src, nil)
	m := c.Directives("match")[0]
	if d, err := m.Duration("flush_interval", time.Minute); err != nil || d != 5*time.Second {
		t.Fatalf("Duration = %v, %v", d, err)
	}
	if d, _ := m.Duration("absent", time.Minute); d != time.Minute {
		t.Fatalf("absent Duration = %v, want the default", d)
	}
	if n, _ := m.Size("chunk_limit_size", 0); n != 8<<20 {
		t.Fatalf("Size = %d", n)
	}
	if b, _ := m.Bool("retry_forever", false); !b {
		t.Fatalf("bare flag Bool = false")
	}
	if got, _ := m.Strings("exclude_path", []string{"def"}); !reflect.DeepEqual(got, []string{"def"}) {
		t.Fatalf("use_default Strings = %q, want the default", got)
	}
	if got := m.String("nil_param", "def"); got != "def" {
		t.Fatalf("use_nil String = %q, want the default", got)
	}
	if got, _ := m.Hash("tags", nil); got["k"] != "v" {
		t.Fatalf("Hash = %v", got)
	}
	if got, _ := m.Int("count", 0); got != 3 {
		t.Fatalf("Int = %d", got)
	}
	if got, _ := m.Float("ratio", 0); got != 0.5 {
		t.Fatalf("Float = %v", got)
	}
	if typ, _ := m.Section("buffer").Type(); typ != "memory" {
		t.Fatalf("buffer type = %q", typ)
	}
	c.ReportUnused()
	var got []string
	for _, w := range c.Diag.Warnings() {
		got = append(got, w.Error())
	}
	want := []string{
		`test.conf:10:3: parameter "unknown_param" in <match **> is not used`,
		`test.conf:14:3: section <secondary> in <match **> is not used`,
		`test.conf:17:1: <system> is not used`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ReportUnused warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDiagnostics_Unsupported(t *testing.T) {
	src := "<source>\n  @type systemd\n</source>\n"
	for _, ignore := range []bool{false, true} {
		c, err := config.Parse("t.conf", []byte(src), config.Options{IgnoreUnsupported: ignore})
		if err != nil {
			t.Fatal(err)
		}
		s := c.Directives("source")[0]
		if !c.Diag.UnsupportedType(s) {
			t.Fatalf("UnsupportedType = false, want skip")
		}
		err = c.Diag.Err()
		if ignore {
			if err != nil || len(c.Diag.Warnings()) != 1 || !strings.Contains(c.Diag.Warnings()[0].Error(), "t.conf:2:9: <source> @type systemd is not supported by logship; skipped") {
				t.Fatalf("ignore: Err = %v, warnings = %v", err, c.Diag.Warnings())
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "t.conf:2:9: <source> @type systemd is not supported") {
			t.Fatalf("Err = %v, want the position of the @type value", err)
		}
		if !errorsIs(err, config.ErrUnsupported) {
			t.Fatalf("Err = %v, want errors.Is ErrUnsupported", err)
		}
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func TestParam_UnsetValue(t *testing.T) {
	c := mustParse(t, "k \"#{use_default}\"\n", nil)
	p := c.Root.Param("k")
	if p.Set() {
		t.Fatalf("Set() = true for use_default")
	}
	if _, err := p.Bool(); err == nil || !strings.Contains(err.Error(), "test.conf:1:3: k: the value is <default>") {
		t.Fatalf("Bool() error = %v, want an error naming <default>", err)
	}
}

// TestParam_IntSizeTexts: the warning and the error of Int and of Size's
// plain-integer case name the value as what it was read as.
func TestParam_IntSizeTexts(t *testing.T) {
	for _, tc := range []struct {
		name, in, warn, err string
		decode              func(*config.Param) (int64, error)
	}{
		{"Int", "10x", `test.conf:1:3: k: "10x" is not an integer; Fluentd reads it as 10`, "", (*config.Param).Int},
		{"Int", "99999999999999999999", "", `test.conf:1:3: k: integer "99999999999999999999" out of range`, (*config.Param).Int},
		{"Size", "10x", `test.conf:1:3: k: "10x" is not a size; Fluentd reads it as 10 bytes`, "", (*config.Param).Size},
		{"Size", "99999999999999999999", "", `test.conf:1:3: k: size "99999999999999999999" out of range`, (*config.Param).Size},
	} {
		t.Run(tc.name+" "+tc.in, func(t *testing.T) {
			p, c := param(t, tc.in)
			_, err := tc.decode(p)
			if got := errText(err); got != tc.err {
				t.Errorf("error %q, want %q", got, tc.err)
			}
			var warns []string
			for _, w := range c.Diag.Warnings() {
				warns = append(warns, w.Error())
			}
			if got := strings.Join(warns, "\n"); got != tc.warn {
				t.Errorf("warnings %q, want %q", got, tc.warn)
			}
		})
	}
}
