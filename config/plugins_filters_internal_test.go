package config

import (
	"strings"
	"testing"
)

func TestPluginDifferences(t *testing.T) {
	src := `<source>
  type tail
  format kubernetes
  path /var/log/kubelet.log
  tag kubelet
</source>
<filter **>
  @type record_transformer
  remove_keys a
</filter>
<filter **>
  @type parser
  key_name log
  format json
</filter>
<filter **>
  @type concat
  key log
  n_lines 2
</filter>
<match **>
  @type null
</match>
`
	p := buildPipeline(t, src)
	got := strings.Join(p.pluginDifferences(), "\n")
	for _, want := range []string{"record_transformer's enable_ruby", "parser filter", "concat:", "multi-line record"} {
		if !strings.Contains(got, want) {
			t.Errorf("differences lack %q:\n%s", want, got)
		}
	}
	p = buildPipeline(t, "<source>\n  @type tail\n  path /a\n  tag a\n  <parse>\n    @type none\n  </parse>\n</source>\n<match **>\n  @type null\n</match>\n")
	if d := p.pluginDifferences(); len(d) != 0 {
		t.Errorf("a pipeline without these plugins lists %q", d)
	}
}

// A concat joining CRI partial lines announces that the tailer joins them
// without its separator — unless the separator is empty.
func TestPluginDifferences_ConcatPartialSeparator(t *testing.T) {
	for _, tc := range []struct {
		sep  string
		want bool
	}{{"", true}, {`  separator ""` + "\n", false}, {"  separator \" \"\n", true}} {
		src := "<source>\n  @type tail\n  path /a\n  tag a\n  <parse>\n    @type cri\n  </parse>\n</source>\n" +
			"<filter **>\n  @type concat\n  key message\n  use_partial_cri_logtag true\n  partial_cri_logtag_key logtag\n" + tc.sep +
			"</filter>\n<match **>\n  @type null\n</match>\n"
		p := buildPipeline(t, src)
		got := strings.Contains(strings.Join(p.Differences(), "\n"), ConcatPartialSeparator)
		if got != tc.want {
			t.Errorf("separator line %q: announced %v, want %v", tc.sep, got, tc.want)
		}
	}
}

// A v0.12 configuration announces that it runs as its v0.12-era image did.
func TestDifferences_V012Image(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{"<source>\n  type tail\n  format none\n  path /a\n  tag a\n</source>\n<match **>\n  type null\n</match>\n", true},
		{"<source>\n  @type tail\n  path /a\n  tag a\n  <parse>\n    @type none\n  </parse>\n</source>\n<match **>\n  @type null\n</match>\n", false},
	} {
		p := buildPipeline(t, tc.src)
		if got := strings.Contains(strings.Join(p.Differences(), "\n"), V012Image); got != tc.want || p.V012 != tc.want {
			t.Errorf("V012 %v, announced %v; want %v\n%s", p.V012, got, tc.want, tc.src)
		}
	}
}

// buildPipeline parses and builds the configuration src.
func buildPipeline(t *testing.T, src string) *Pipeline {
	t.Helper()
	c, err := Parse("fluent.conf", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(c, BuildOptions{StateDir: "/state"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
