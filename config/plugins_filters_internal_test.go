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
	c, err := Parse("fluent.conf", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(c, BuildOptions{StateDir: "/state"})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(p.pluginDifferences(), "\n")
	for _, want := range []string{"record_transformer's enable_ruby", "parser filter", "concat:", "multi-line record"} {
		if !strings.Contains(got, want) {
			t.Errorf("differences lack %q:\n%s", want, got)
		}
	}
	c, _ = Parse("fluent.conf", []byte("<source>\n  @type tail\n  path /a\n  tag a\n  <parse>\n    @type none\n  </parse>\n</source>\n<match **>\n  @type null\n</match>\n"), Options{})
	p, err = Build(c, BuildOptions{StateDir: "/state"})
	if err != nil {
		t.Fatal(err)
	}
	if d := p.pluginDifferences(); len(d) != 0 {
		t.Errorf("a pipeline without these plugins lists %q", d)
	}
}
