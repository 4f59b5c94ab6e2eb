package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"logship/config"
	"logship/internal/fixtures"
)

func TestParse_Values(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		key   string
		want  string
		quote byte
	}{
		{"bare", "k v\n", "k", "v", 0},
		{"bare trailing spaces", "k v   \t\n", "k", "v", 0},
		{"bare inner spaces", "k a b  c\n", "k", "a b  c", 0},
		{"bare no newline at EOF", "k v", "k", "v", 0},
		{"comment after space", "k a #comment\n", "k", "a", 0},
		{"comment after tab", "k a\t# c\n", "k", "a", 0},
		{"hash without space is literal", "k a#b\n", "k", "a#b", 0},
		{"hash right after key is the value", "k #c\n", "k", "#c", 0},
		{"bare flag", "disable_retry_limit\nnext 1\n", "disable_retry_limit", "", 0},
		{"bare flag with trailing spaces", "flag   \n", "flag", "", 0},
		{"bare flag at EOF", "flag", "flag", "", 0},
		{"key indented with tabs", "\t\tk v\n", "k", "v", 0},
		{"regexp value", "format /^(?<a>[^ ]*) \\d+$/\n", "format", `/^(?<a>[^ ]*) \d+$/`, 0},
		{"double quoted", `k "a b"` + "\n", "k", "a b", '"'},
		{"double quoted comment after", `k "a" # c` + "\n", "k", "a", '"'},
		{"double quoted escapes", `k "q\"b\\s\n\t\r\f\b\0"` + "\n", "k", "q\"b\\s\n\t\r\f\b\x00", '"'},
		{"double quoted symbol escapes", `k "\$\/\#\{\'"` + "\n", "k", `$/#{'`, '"'},
		{"double quoted hash is literal", `k "a #b"` + "\n", "k", "a #b", '"'},
		{"double quoted multi-line", "k \"a\nb\"\n", "k", "a\nb", '"'},
		{"double quoted line continuation", "k \"ab\\\ncd\"\n", "k", "abcd", '"'},
		{"double quoted empty", `k ""` + "\n", "k", "", '"'},
		{"single quoted", `k 'a b'` + "\n", "k", "a b", '\''},
		{"single quoted escapes", `k 'a\'b\\c\n'` + "\n", "k", `a'b\c\n`, '\''},
		{"single quoted no interpolation", `k '#{ENV["X"]}'` + "\n", "k", `#{ENV["X"]}`, '\''},
		{"quoted key", `"my key" v` + "\n", "my key", "v", 0},
		{"json array", `k [1, 2, "a"]` + "\n", "k", `[1,2,"a"]`, '['},
		{"json array multi-line with comments", "k [\n  \"a\", # first\n  \"b\"  # second\n]\n", "k", `["a","b"]`, '['},
		{"json hash nested", `k {"a": {"b": 1}, "c": [true, null]}` + "\n", "k", `{"a":{"b":1},"c":[true,null]}`, '{'},
		{"json hash multi-line", "k {\n  \"x\": \"y\"\n}\n", "k", `{"x":"y"}`, '{'},
		{"json hash in string", `k ["a#b", "]"]` + "\n", "k", `["a#b","]"]`, '['},
		{"json unicode escape", `k ["\u0041\n"]` + "\n", "k", `["A\n"]`, '['},
		{"json then comment", `k [{ "_SYSTEMD_UNIT": "kubelet.service" }] # c` + "\n", "k", `[{"_SYSTEMD_UNIT":"kubelet.service"}]`, '['},
		{"embedded env", `k "#{ENV['X']}"` + "\n", "k", "x-value", '"'},
		{"embedded mixed with text", `k "a-#{ENV['X']}-#{hostname}.log"` + "\n", "k", "a-x-value-node-1.log", '"'},
		{"embedded unset is empty", `k "#{ENV['UNSET']}"` + "\n", "k", "", '"'},
		{"repeated key keeps the last value", "k 1\nk 2\n", "k", "2", 0},
		{"value of @type", "@type tail\n", "@type", "tail", 0},
		{"CRLF line ends", "<a>\r\n</a>\r\nk v \r\nj w\r\n", "k", "v", 0},
		{"CRLF bare flag", "k\r\nj w\r\n", "k", "", 0},
		{"UTF-8 BOM", "\xEF\xBB\xBFk v\n", "k", "v", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.src, map[string]string{"X": "x-value"})
			p := c.Root.Param(tc.key)
			if p == nil {
				t.Fatalf("Parse(%q): no parameter %q in %+v", tc.src, tc.key, c.Root.Params)
			}
			if p.Value != tc.want || p.Kind != config.KindString || p.Quote != tc.quote {
				t.Fatalf("Parse(%q) %s = %q kind %d quote %q, want %q kind 0 quote %q", tc.src, tc.key, p.Value, p.Kind, p.Quote, tc.want, tc.quote)
			}
		})
	}
}

func TestParse_Warnings(t *testing.T) {
	runTextCases(t, []textCase{
		{"hash value", "k #c\n", "test.conf:1:3: value of \"k\" is \"#c\""},
		{"repeated key", "k 1\nk 2\n", "test.conf:2:1: parameter \"k\" repeated"},
		{"legacy include", "include nothing-here.conf\n", "test.conf:1:1: 'include' is deprecated"},
		{"reserved prefix in a nested section", "<match **>\n  <buffer>\n    @foo bar\n  </buffer>\n</match>\n", "test.conf:3:5: '@' is Fluentd's reserved prefix; Fluentd accepts @foo"},
	}, "warnings", func(t *testing.T, src string) string {
		var all []string
		for _, w := range mustParse(t, src, nil).Diag.Warnings() {
			all = append(all, w.Error())
		}
		return strings.Join(all, "\n")
	})
}

func TestParse_Sections(t *testing.T) {
	src := `# leading comment

<source>
  @type tail
  @id in_tail
  path /var/log/containers/*.log
  <parse>
    @type json
  </parse>
</source>

<match  a.**  b.*  >   # trailing comment
  @type null
  <buffer tag,time>
    flush_interval 5s
  </buffer>
</match>
<filter a #b c>
</filter>
<label @OUT>
  <match **>
    @type stdout
  </match>
</label>
<match>
</match>
`
	c := mustParse(t, src, nil)
	top := c.Root.Nested
	if len(top) != 5 {
		t.Fatalf("got %d top-level sections, want 5", len(top))
	}
	if f := top[2]; f.Arg != "a #b c" {
		t.Fatalf("<filter> arg = %q, want %q ('#' in a section argument is literal)", f.Arg, "a #b c")
	}
	top = append(top[:2], top[3:]...)
	src0 := top[0]
	if typ, _ := src0.Type(); src0.Name != "source" || typ != "tail" || src0.ID() != "in_tail" {
		t.Fatalf("first section = %s type %q id %q", src0.Header(), typ, src0.ID())
	}
	if got := src0.Pos.String(); got != "test.conf:3:1" {
		t.Fatalf("source position = %s, want test.conf:3:1", got)
	}
	parse := src0.Section("parse")
	if parse == nil || parse.Pos.String() != "test.conf:7:3" {
		t.Fatalf("<parse> = %+v", parse)
	}
	if typ, p := parse.Type(); typ != "json" || p.Pos.String() != "test.conf:8:5" || p.ValuePos.String() != "test.conf:8:11" {
		t.Fatalf("<parse> @type = %q at %v/%v", typ, p.Pos, p.ValuePos)
	}
	m := top[1]
	if m.Arg != "a.**  b.*" {
		t.Fatalf("match arg = %q, want %q", m.Arg, "a.**  b.*")
	}
	if got := strings.Join(m.Patterns(), "|"); got != "a.**|b.*" {
		t.Fatalf("patterns = %q", got)
	}
	b := m.Section("buffer")
	if b == nil || b.Arg != "tag,time" || b.String("flush_interval", "") != "5s" {
		t.Fatalf("<buffer> = %+v", b)
	}
	if l := top[2]; l.Name != "label" || l.Arg != "@OUT" || len(l.Nested) != 1 {
		t.Fatalf("label = %s with %d sections", l.Header(), len(l.Nested))
	}
	if got := strings.Join(top[3].Patterns(), "|"); got != "**" {
		t.Fatalf("empty <match> patterns = %q, want **", got)
	}
}

func TestParse_SectionArgEmbedded(t *testing.T) {
	c := mustParse(t, "<match \"app.#{ENV['TAG']} x.*\" >\n</match>\n<match 'a b'>\n</match>\n", map[string]string{"TAG": "dev"})
	if got := c.Root.Nested[0].Arg; got != "app.dev x.*" {
		t.Fatalf("arg = %q, want %q", got, "app.dev x.*")
	}
	if got := c.Root.Nested[1].Arg; got != "a b" {
		t.Fatalf("single-quoted arg = %q, want %q", got, "a b")
	}
}

func TestParse_LegacyType(t *testing.T) {
	c := mustParse(t, "<match **>\n  type null\n</match>\n<source>\n  @type tail\n  type other\n</source>\n", nil)
	if typ, p := c.Root.Nested[0].Type(); typ != "null" || p.Key != "type" {
		t.Fatalf("v0.12 type = %q (%v)", typ, p)
	}
	if typ, _ := c.Root.Nested[1].Type(); typ != "tail" {
		t.Fatalf("@type must win over type: got %q", typ)
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		name, src, pos, msg string
		unsupported         bool
	}{
		{"unclosed section", "<source>\n  k v\n", "test.conf:3:1", "expected end tag '</source>'", false},
		{"end tag at top", "</source>\n", "test.conf:1:1", "unmatched end tag", false},
		{"wrong end tag", "<source>\n</match>\n", "test.conf:2:1", "unmatched end tag </match>", false},
		{"missing >", "<source\nk v\n", "test.conf:1:1", "expected '>'", false},
		{"text after tag", "<match a> b\n</match>\n", "test.conf:1:11", "expected end of line after <match>", false},
		{"text after end tag", "<match a>\n</match> x\n", "test.conf:2:10", "expected end of line after end tag", false},
		{"no section name", "< source>\n", "test.conf:1:2", "expected a section name", false},
		{"unterminated double", "k \"abc\n", "test.conf:1:3", "unterminated double-quoted string", false},
		{"unterminated single", "k 'abc\n'\n", "test.conf:1:3", "unterminated single-quoted string", false},
		{"text after quote", "k \"a\" b\n", "test.conf:1:7", "expected end of line", false},
		{"bad escape", "k \"\\q\"\n", "test.conf:1:4", "unexpected back-slash escape character 'q'", false},
		{"line break after opening quote", "k \"\nabc\"\n", "test.conf:1:4", "line break in a double-quoted string", false},
		{"incomplete json", "k [1, 2\n", "test.conf:1:3", "incomplete JSON array", false},
		{"invalid json", "k [1,]\n", "test.conf:1:3", "invalid JSON array", false},
		{"invalid json hash", "<a>\n  k {\"a\" 1}\n</a>\n", "test.conf:2:5", "invalid JSON hash", false},
		{"unsupported constant", "k \"#{Foo.bar}\"\n", "test.conf:1:6", "unsupported Ruby", true},
		{"unsupported method", "k \"#{ENV['A'].upcase}\"\n", "test.conf:1:15", "method upcase", true},
		{"backtick", "k \"#{`ls`}\"\n", "test.conf:1:6", "unsupported Ruby", true},
		{"key error", "\n  k \"#{ENV.fetch('NOPE')}\"\n", "test.conf:2:6", "raised KeyError: key not found: \"NOPE\"", false},
		{"unterminated embed", "k \"#{ENV['A']\n", "test.conf:1:4", "unterminated", false},
		{"url include", "@include https://example.com/x.conf\n", "test.conf:1:10", "including from a URL", true},
		{"reserved prefix in match", "<match **>\n  @foo bar\n</match>\n", "test.conf:2:3", "'@' is Fluentd's reserved prefix; @foo", false},
		{"reserved prefix at top level", "@foo bar\n", "test.conf:1:1", "reserved prefix", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.src, nil)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error %q", tc.src, tc.msg)
			}
			var e *config.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error %T %v, want *config.Error", tc.src, err, err)
			}
			if got := e.Pos().String(); got != tc.pos || !strings.Contains(e.Msg, tc.msg) {
				t.Fatalf("Parse(%q) = %v, want %s: …%s…", tc.src, err, tc.pos, tc.msg)
			}
			if got := errors.Is(err, config.ErrUnsupported); got != tc.unsupported {
				t.Fatalf("errors.Is(%v, ErrUnsupported) = %v, want %v", err, got, tc.unsupported)
			}
		})
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sourceTags lists the tag parameter of every top-level <source>.
func sourceTags(c *config.Config) string {
	var tags []string
	for _, s := range c.Directives("source") {
		tags = append(tags, s.String("tag", "?"))
	}
	return strings.Join(tags, ",")
}

func TestParse_Include(t *testing.T) {
	src := func(tag string) string { return "<source>\n  tag " + tag + "\n</source>\n" }
	tests := []struct {
		name     string
		files    map[string]string
		env      map[string]string
		strict   bool
		want     string // source tags in order
		warning  string
		errPos   string
		errMsg   string
		errIsNot bool
	}{
		{name: "glob sorted", files: map[string]string{
			"main.conf": "@include conf.d/*.conf\n", "conf.d/b.conf": src("b"), "conf.d/a.conf": src("a"), "conf.d/c.txt": src("c"),
		}, want: "a,b"},
		{name: "empty glob is fine", files: map[string]string{"main.conf": "@include conf.d/*.conf\n" + src("x")}, want: "x"},
		{name: "missing file is ignored with a warning", files: map[string]string{"main.conf": "@include systemd.conf\n" + src("x")},
			want: "x", warning: "test-dir/systemd.conf does not exist"},
		{name: "missing file strict", strict: true, files: map[string]string{"main.conf": "\n@include systemd.conf\n"},
			errPos: "main.conf:2:10", errMsg: "@include \"systemd.conf\""},
		{name: "relative to the including file", files: map[string]string{
			"main.conf": "@include sub/x.conf\n", "sub/x.conf": "@include ../y.conf\n" + src("x"), "y.conf": src("y"),
		}, want: "y,x"},
		{name: "inside a section", files: map[string]string{
			"main.conf":  "<source>\n  @type tail\n  @include parse.conf\n</source>\n",
			"parse.conf": "tag from-include\n<parse>\n  @type json\n</parse>\n",
		}, want: "from-include"},
		{name: "legacy include", files: map[string]string{"main.conf": "include a.conf\n", "a.conf": src("a")}, want: "a", warning: "'include' is deprecated"},
		{name: "env interpolated", env: map[string]string{"CONF": "b"}, files: map[string]string{
			"main.conf": "@include \"#{ENV['CONF'] || 'a'}.conf\"\n", "a.conf": src("a"), "b.conf": src("b"),
		}, want: "b"},
		{name: "env default", files: map[string]string{
			"main.conf": "@include \"#{ENV['CONF'] || 'a'}.conf\"\n", "a.conf": src("a"), "b.conf": src("b"),
		}, want: "a"},
		{name: "braces", files: map[string]string{
			"main.conf": "@include {b,a}.conf\n", "a.conf": src("a"), "b.conf": src("b"), "c.conf": src("c"),
		}, want: "a,b"},
		{name: "recursive glob", files: map[string]string{
			"main.conf": "@include d/**/*.conf\n", "d/a.conf": src("a"), "d/x/b.conf": src("b"), "d/x/y/c.conf": src("c"),
		}, want: "a,b,c"},
		{name: "hidden files are not globbed", files: map[string]string{
			"main.conf": "@include d/*.conf\n", "d/.a.conf": src("hidden"), "d/b.conf": src("b"),
		}, want: "b"},
		{name: "include in a section is a parameter when spelled include", files: map[string]string{
			"main.conf": "<source>\n  include x\n  tag t\n</source>\n",
		}, want: "t"},
		{name: "cycle", files: map[string]string{"main.conf": "@include a.conf\n", "a.conf": "\n@include main.conf\n"},
			errPos: "a.conf:2:10", errMsg: "include cycle"},
		{name: "directory", files: map[string]string{"main.conf": "@include *\n", "d/x.conf": ""},
			errPos: "main.conf:1:10", errMsg: "is a directory"},
		{name: "error position in the included file", files: map[string]string{"main.conf": "@include a.conf\n", "a.conf": "\n\n<source>\n"},
			errPos: "a.conf:4:1", errMsg: "expected end tag"},
		{name: "include chain in the error", files: map[string]string{"main.conf": "@include a.conf\n", "a.conf": "\n@include b.conf\n", "b.conf": "k \"\\q\"\n"},
			errPos: "b.conf:1:4", errMsg: "a.conf:2:10, test-dir/main.conf:1:10)"},
		{name: "end tag in included file", files: map[string]string{"main.conf": "<source>\n@include a.conf\n</source>\n", "a.conf": "</source>\n"},
			errPos: "a.conf:1:1", errMsg: "unmatched end tag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			c, err := config.ParseFile(filepath.Join(dir, "main.conf"), config.Options{Env: config.MapEnv(tc.env), StrictIncludes: tc.strict})
			if tc.errMsg != "" {
				var e *config.Error
				if !errors.As(err, &e) {
					t.Fatalf("ParseFile = %v, want *config.Error %q", err, tc.errMsg)
				}
				rel, _ := filepath.Rel(dir, e.File)
				p := e.Pos()
				p.File = rel
				if p.String() != tc.errPos || !strings.Contains(strings.ReplaceAll(err.Error(), dir, "test-dir"), tc.errMsg) {
					t.Fatalf("ParseFile = %v (at %s), want %s: …%s…", err, p, tc.errPos, tc.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if got := sourceTags(c); got != tc.want {
				t.Fatalf("source tags = %q, want %q", got, tc.want)
			}
			if tc.warning != "" {
				var all []string
				for _, w := range c.Diag.Warnings() {
					all = append(all, strings.ReplaceAll(w.Error(), dir, "test-dir"))
				}
				if got := strings.Join(all, "\n"); !strings.Contains(got, tc.warning) {
					t.Fatalf("warnings = %q, want %q", got, tc.warning)
				}
			}
		})
	}
}

func TestParse_IncludeAbsolute(t *testing.T) {
	other := writeFiles(t, map[string]string{
		"a.conf":     "<source>\n  tag a\n</source>\n",
		"b.conf":     "<source>\n  tag b\n</source>\n",
		"sub/c.conf": "<source>\n  tag c\n</source>\n",
	})
	main := "@include " + filepath.Join(other, "a.conf") + "\n" +
		"@include file://" + filepath.Join(other, "b.conf") + "\n" +
		"@include \"" + other + "/s*/*.conf\"\n"
	dir := writeFiles(t, map[string]string{"main.conf": main})
	c, err := config.ParseFile(filepath.Join(dir, "main.conf"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := sourceTags(c); got != "a,b,c" {
		t.Fatalf("source tags = %q, want a,b,c", got)
	}
	if got := len(c.Files); got != 4 {
		t.Fatalf("Files = %q, want 4 files", c.Files)
	}
}

// TestParse_IncludeConfigMapMount follows the layout Kubernetes gives a
// mounted ConfigMap: the keys are symlinks into a hidden, timestamped
// directory, which a glob must not match a second time.
func TestParse_IncludeConfigMapMount(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"fluent.conf":                      "@include etc/*.conf\n",
		"etc/..2024_01_02_03_04_05/a.conf": "<source>\n  tag a\n</source>\n",
		"etc/..2024_01_02_03_04_05/b.conf": "<source>\n  tag b\n</source>\n@include c.inc\n",
		"etc/..2024_01_02_03_04_05/c.txt":  "",
	})
	etc := filepath.Join(dir, "etc")
	links := map[string]string{"..data": "..2024_01_02_03_04_05", "a.conf": "..data/a.conf", "b.conf": "..data/b.conf", "c.inc": "..data/c.txt"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(etc, name)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := config.ParseFile(filepath.Join(dir, "fluent.conf"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := sourceTags(c); got != "a,b" {
		t.Fatalf("source tags = %q, want a,b", got)
	}
	// Paths stay as the glob produced them (the symlinks), and includes
	// resolve next to them.
	want := []string{filepath.Join(dir, "fluent.conf"), filepath.Join(etc, "a.conf"), filepath.Join(etc, "b.conf"), filepath.Join(etc, "c.inc")}
	if strings.Join(c.Files, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Files = %q, want %q", c.Files, want)
	}
}

// FuzzParse checks that the parser never panics and that every error it
// returns carries a position in the parsed file.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"<source>\n  @type tail\n  tag kubernetes.*\n</source>\n",
		"k \"a\\\nb\" # c\nk2 'x\\'y'\nk3 [1, # c\n 2]\nk4 {\"a\": \"#\"}\n",
		"k \"#{ENV['A'] || (h = ENV.fetch('B', 'x'); h = (IPAddr.new(h).ipv6? ? '[' + h + ']' : h rescue h); h)}\"\n",
		"k \"#{File.join('/a/', ENV.fetch('B') { 'c' }, 'd')}-#{use_default}\"\n",
		"<match a.** {b,c}.*>\n  <buffer tag,time>\n    flush_interval 1s\n  </buffer>\n</match>\n<label @X>\n</label>\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	root, ok := fixtures.Root() // extra seeds when the real-world fixtures are beside the clone
	for _, dir := range []string{"fluentd-kubernetes-daemonset-v1.19-cloudwatch/conf", "seed-workshop-2017/fluentd-etc"} {
		if !ok {
			break
		}
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.conf"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if bytes.Contains(src, []byte("include")) {
			return // includes read the file system; they have their own tests
		}
		c, err := config.Parse("fuzz.conf", src, config.Options{
			Env:      config.MapEnv(map[string]string{"A": "a", "B": "fd00::1"}),
			Hostname: func() (string, error) { return "h", nil },
		})
		if err != nil {
			var e *config.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *config.Error", err, err)
			}
			if e.File != "fuzz.conf" || e.Line < 1 || e.Col < 1 {
				t.Fatalf("error without a position: %v", err)
			}
			if lines := bytes.Count(src, []byte("\n")) + 1; e.Line > lines {
				t.Fatalf("error line %d beyond the %d lines of the input: %v", e.Line, lines, err)
			}
			return
		}
		var b strings.Builder
		if err := c.Dump(&b, config.DumpOptions{}); err != nil {
			t.Fatalf("Dump: %v", err)
		}
		if r, err := config.NewRouter(c); err == nil {
			r.Route("", "a.b.c")
		}
	})
}

// FuzzPattern checks that compiling and matching any pattern never panics.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{"a.**", "**.b", "{a,{b,c}}.*", `a\.*`, "/a+/", "a.{**,b}", "{a,"} {
		f.Add(s, "a.b.c")
	}
	f.Fuzz(func(t *testing.T, pattern, tag string) {
		if len(pattern) > 64 || len(tag) > 64 {
			return
		}
		p, err := config.CompilePattern(pattern)
		if err != nil {
			return
		}
		p.Match(tag)
	})
}
