package config_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"logship/config"
	"logship/enrich"
	"logship/sink/rewritetag"
)

func firstFilter(t *testing.T, p *config.Pipeline) enrich.FilterConfig {
	t.Helper()
	for _, s := range p.Order {
		if f := p.Filters[s]; f != nil {
			return f.Plugin
		}
	}
	t.Fatal("no filter")
	return nil
}

func TestPluginFilter(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want enrich.FilterConfig
	}{
		{"record_transformer (seed)", `<filter **>
  @type record_transformer
  enable_ruby true
  <record>
    kubernetes_namespace_container_name ${record["kubernetes"]["namespace_name"]}.${record["kubernetes"]["container_name"]}
    cluster "c1"
  </record>
</filter>`, &enrich.RecordTransformerConfig{EnableRuby: true, Location: time.UTC, Record: []enrich.TemplateField{
			{Key: "kubernetes_namespace_container_name", Template: `${record["kubernetes"]["namespace_name"]}.${record["kubernetes"]["container_name"]}`},
			{Key: "cluster", Template: "c1"}}}},
		{"record_transformer keys", `<filter **>
  @type record_transformer
  remove_keys a,b
  keep_keys ["c"]
  renew_record true
  auto_typecast true
  renew_time_key t
</filter>`, &enrich.RecordTransformerConfig{Location: time.UTC, RemoveKeys: []string{"a", "b"}, KeepKeys: []string{"c"},
			RenewRecord: true, AutoTypecast: true, RenewTimeKey: "t"}},
		{"grep v0.12 excludeN (seed systemd)", `<filter systemd.**>
  @type grep
  exclude1 SYSTEMD_UNIT (sshd@.*\.service)
  regexp2 a  b c
  regexp1 k v
</filter>`, &enrich.GrepConfig{Regexps: []enrich.GrepCondition{{Key: "k", Pattern: "v"}, {Key: "a", Pattern: " b c"}},
			Excludes: []enrich.GrepCondition{{Key: "SYSTEMD_UNIT", Pattern: `(sshd@.*\.service)`}}}},
		{"grep v1 sections", `<filter **>
  @type grep
  <regexp>
    key level
    pattern /^(info|warn)$/i
  </regexp>
  <exclude>
    key $.k.ns
    pattern kube-system
  </exclude>
  <or>
    <regexp>
      key a
      pattern /1/
    </regexp>
  </or>
  <and>
    <exclude>
      key b
      pattern /2/
    </exclude>
  </and>
</filter>`, &enrich.GrepConfig{Regexps: []enrich.GrepCondition{{Key: "level", Pattern: "^(info|warn)$", Flags: "i"}},
			Excludes: []enrich.GrepCondition{{Key: "$.k.ns", Pattern: "kube-system"}},
			Or:       []enrich.GrepGroup{{Regexps: []enrich.GrepCondition{{Key: "a", Pattern: "1"}}}},
			And:      []enrich.GrepGroup{{Excludes: []enrich.GrepCondition{{Key: "b", Pattern: "2"}}}}}},
		{"concat (AWS Container Insights)", `<label @NORMAL>
  <match **>
    @type null
  </match>
</label>
<filter **>
  @type concat
  key log
  multiline_start_regexp /^\S/
  separator ""
  flush_interval 5
  timeout_label @NORMAL
  stream_identity_key stream
  use_first_timestamp true
</filter>`, &enrich.ConcatConfig{Key: "log", MultilineStart: `^\S`, Separator: "", FlushInterval: 5 * time.Second,
			TimeoutLabel: "@NORMAL", StreamIdentityKey: "stream", UseFirstTimestamp: true}},
		{"concat defaults and partial", `<filter **>
  @type concat
  key message
  partial_key logtag
  partial_value P
  keep_partial_key true
</filter>`, &enrich.ConcatConfig{Key: "message", Separator: "\n", FlushInterval: 60 * time.Second, PartialKey: "logtag", PartialValue: "P", KeepPartialKey: true}},
		{"concat partial metadata only", `<filter **>
  @type concat
  key log
  use_partial_metadata true
</filter>`, &enrich.ConcatConfig{Key: "log", Separator: "\n", FlushInterval: 60 * time.Second, PassThrough: true}},
		{"concat cri logtag", `<filter **>
  @type concat
  key message
  use_partial_cri_logtag true
  partial_cri_logtag_key logtag
  partial_cri_stream_key stream
</filter>`, &enrich.ConcatConfig{Key: "message", Separator: "\n", FlushInterval: 60 * time.Second, PassThrough: true, PassThroughDelete: []string{"logtag", "stream"}}},
		{"concat flush_interval 0", `<filter **>
  @type concat
  key log
  n_lines 2
  flush_interval 0
</filter>`, &enrich.ConcatConfig{Key: "log", Separator: "\n", NLines: 2}},
		{"concat n_lines and end", `<filter **>
  @type concat
  key log
  n_lines 3
  continuous_line_regexp /^\s/
</filter>`, &enrich.ConcatConfig{Key: "log", Separator: "\n", FlushInterval: 60 * time.Second, NLines: 3, ContinuousLine: `^\s`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, warns, errText := buildPipeline(t, tt.conf+"\n<match **>\n  @type null\n</match>\n")
			wantOutcome(t, warns, errText, "")
			if got := firstFilter(t, p); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPluginFilter_Parser(t *testing.T) {
	for _, v012 := range []bool{true, false} {
		t.Run(fmt.Sprint("v0.12=", v012), func(t *testing.T) {
			conf := `<filter kube.kube-system.**>
  @type parser
  format kubernetes
  reserve_data true
  key_name log
  suppress_parse_error_log true
  emit_invalid_record_to_error false
  inject_key_prefix p_
  hash_value_field h
  remove_key_name_field true
  reserve_time true
</filter>
<match **>
  @type null
</match>`
			if v012 {
				conf = strings.Replace(conf, "@type parser", "type parser", 1)
			}
			p, warns, errText := buildPipeline(t, conf)
			if errText != "" {
				t.Fatal(errText)
			}
			if len(warns) != 0 {
				t.Errorf("warnings: %q", warns)
			}
			got := firstFilter(t, p).(*enrich.ParserFilterConfig)
			if got.KeyName != "log" || !got.ReserveData || !got.SuppressParseErrorLog || got.InjectKeyPrefix != "p_" ||
				got.HashValueField != "h" || !got.RemoveKeyNameField || !got.ReserveTime || got.Parse.Type != "kubernetes" {
				t.Errorf("got %+v", got)
			}
			if got.KeepTimeWhenMissing != v012 {
				t.Errorf("KeepTimeWhenMissing = %v, want %v", got.KeepTimeWhenMissing, v012)
			}
			if got.Parse.SecondPrecision != v012 {
				t.Errorf("SecondPrecision = %v, want %v", got.Parse.SecondPrecision, v012)
			}
			if first := got.Parse.Lines != nil && got.Parse.Lines.FirstLine == enrich.GlogFirstLine; first != v012 {
				t.Errorf("v0.12 kubernetes parser groups: %v, want %v", first, v012)
			}
		})
	}
	// A nested <parse>.
	p, _, errText := buildPipeline(t, "<filter **>\n  @type parser\n  key_name m\n  <parse>\n    @type regexp\n    expression /^(?<a>\\d+)/\n  </parse>\n</filter>\n<match **>\n  @type null\n</match>")
	if errText != "" {
		t.Fatal(errText)
	}
	if got := firstFilter(t, p).(*enrich.ParserFilterConfig); got.Parse.Type != "regexp" || got.Parse.Expression != `^(?<a>\d+)` {
		t.Errorf("nested parse: %+v", got.Parse)
	}
}

func TestPluginFilter_Errors(t *testing.T) {
	runTextCases(t, []textCase{
		{"ruby expression", "<filter **>\n  @type record_transformer\n  enable_ruby true\n  <record>\n    a ${record['x'].upcase}\n  </record>\n</filter>", "not supported"},
		{"grep bad regexp", "<filter **>\n  @type grep\n  <regexp>\n    key a\n    pattern /(x/\n  </regexp>\n</filter>", "grep"},
		{"grep without pattern", "<filter **>\n  @type grep\n  <regexp>\n    key a\n  </regexp>\n</filter>", "key and pattern are required"},
		{"grep regexpN without pattern", "<filter **>\n  @type grep\n  regexp1 onlykey\n</filter>", `must be "key pattern"`},
		{"parser without key_name", "<filter **>\n  @type parser\n  format json\n</filter>", "key_name is required"},
		{"parser without format", "<filter **>\n  @type parser\n  key_name log\n</filter>", "no <parse> section and no format"},
		{"concat without key", "<filter **>\n  @type concat\n  n_lines 2\n</filter>", "key is required"},
		{"concat two modes", "<filter **>\n  @type concat\n  key log\n  n_lines 2\n  multiline_start_regexp /x/\n</filter>", "exactly one of"},
		{"concat unknown label", "<filter **>\n  @type concat\n  key log\n  n_lines 2\n  timeout_label @NOPE\n</filter>", "timeout_label @NOPE is not defined"},
		{"rewrite v0.12 bad rule", "<match **>\n  @type rewrite_tag_filter\n  rewriterule1 onlykey\n</match>", `must be "key regexp new_tag"`},
		{"rewrite without rules", "<match **>\n  @type rewrite_tag_filter\n</match>", "no rewriteruleN or <rule>"},
		{"rewrite rule without tag", "<match **>\n  @type rewrite_tag_filter\n  <rule>\n    key a\n    pattern /x/\n  </rule>\n</match>", "<rule> needs key, pattern and tag"},
		{"rewrite bad regexp", "<match **>\n  @type rewrite_tag_filter\n  rewriterule1 a (x b\n</match>", "rule for a"},
		{"rewrite unknown label", "<match **>\n  @type rewrite_tag_filter\n  @label @NOPE\n  <rule>\n    key a\n    pattern /x/\n    tag b\n  </rule>\n</match>", "@NOPE"},
	}, "error", func(t *testing.T, conf string) string {
		_, _, text := buildPipeline(t, conf)
		if strings.Contains(text, "not supported by logship") {
			t.Errorf("a known type was reported unsupported: %s", text)
		}
		return text
	})
}

func TestPluginOutput_RewriteTagFilter(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want *rewritetag.Config
	}{
		{"v0.12 rules (seed systemd-filter)", `<match systemd>
  @type rewrite_tag_filter
  rewriterule2 SYSTEMD_UNIT   !^(.+).service$ systemd.unmatched
  rewriterule1 SYSTEMD_UNIT   ^(.+).service$  systemd.$1
  rewriterule3 level "!^info$" not.info
</match>`, &rewritetag.Config{Rules: []rewritetag.Rule{
			{Key: "SYSTEMD_UNIT", Pattern: "^(.+).service$", Tag: "systemd.$1"},
			{Key: "SYSTEMD_UNIT", Pattern: "^(.+).service$", Tag: "systemd.unmatched", Invert: true},
			{Key: "level", Pattern: "^info$", Tag: "not.info", Invert: true}}}},
		{"v1 rules with label", `<label @OUT>
  <match **>
    @type null
  </match>
</label>
<match app.**>
  @type rewrite_tag_filter
  @label @OUT
  remove_tag_prefix app
  capitalize_regex_backreference yes
  hostname_command hostname -s
  <rule>
    key $.kubernetes.namespace_name
    pattern /^(kube-.+)$/
    tag system.$1
  </rule>
  <rule>
    key level
    pattern /debug/i
    tag noise
    invert true
  </rule>
</match>`, &rewritetag.Config{Label: "@OUT", RemoveTagPrefix: "app", CapitalizeBackrefs: true, Rules: []rewritetag.Rule{
			{Key: "$.kubernetes.namespace_name", Pattern: "^(kube-.+)$", Tag: "system.$1"},
			{Key: "level", Pattern: "debug", Flags: "i", Tag: "noise", Invert: true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, warns, errText := buildPipeline(t, tt.conf+"\n<match **>\n  @type null\n</match>\n")
			wantOutcome(t, warns, errText, "")
			var got any
			for _, s := range p.Order {
				if o := p.Outputs[s]; o != nil && o.Type == "rewrite_tag_filter" {
					got = o.Plugin
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParse_LineParsers(t *testing.T) {
	tests := []struct {
		name, conf string
		typ        string
		want       enrich.MultilineConfig
	}{
		{"v0.12 multiline (seed audit)", `<source>
  type tail
  format multiline
  multiline_flush_interval 5s
  format_firstline /^\S+\s+AUDIT:/
  format1 /^(?<time>\S+) AUDIT:/
  format2 /(?<rest>.*)/
  time_format %FT%T.%L%Z
  path /var/log/a.log
  tag a
</source>`, "multiline", enrich.MultilineConfig{FirstLine: `^\S+\s+AUDIT:`, Formats: []string{`^(?<time>\S+) AUDIT:`, `(?<rest>.*)`}, FlushInterval: 5 * time.Second}},
		{"v1 multiline in <parse>", `<source>
  @type tail
  multiline_flush_interval 5s
  path /var/log/a.log
  tag a
  <parse>
    @type multiline
    format_firstline /^\S+\s+AUDIT:/
    format1 /^(?<time>\S+) AUDIT:/
    time_format %Y-%m-%dT%T.%L%Z
  </parse>
</source>`, "multiline", enrich.MultilineConfig{FirstLine: `^\S+\s+AUDIT:`, Formats: []string{`^(?<time>\S+) AUDIT:`}, FlushInterval: 5 * time.Second}},
		{"v0.12 kubernetes groups at the glog first line", "<source>\n  type tail\n  format kubernetes\n  multiline_flush_interval 5s\n  path /var/log/kubelet.log\n  tag kubelet\n</source>",
			"kubernetes", enrich.MultilineConfig{FirstLine: enrich.GlogFirstLine, FlushInterval: 5 * time.Second}},
		{"v1 kubernetes is line by line", "<source>\n  @type tail\n  multiline_flush_interval 5s\n  path /var/log/kubelet.log\n  tag kubelet\n  <parse>\n    @type kubernetes\n  </parse>\n</source>",
			"kubernetes", enrich.MultilineConfig{FlushInterval: 5 * time.Second}},
		{"multiline_kubernetes", "<source>\n  @type tail\n  path /var/log/kubelet.log\n  tag kubelet\n  <parse>\n    @type multiline_kubernetes\n  </parse>\n</source>",
			"multiline_kubernetes", enrich.MultilineConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse("fluent.conf", []byte(tt.conf+"\n<match **>\n  @type null\n</match>\n"), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			p, err := config.Build(c, config.BuildOptions{StateDir: "/state"})
			if err != nil {
				t.Fatal(err)
			}
			if w := c.Diag.Warnings(); len(w) != 0 {
				t.Errorf("warnings: %v", w)
			}
			pc := p.Sources[0].Tail.Line.Parse
			if pc.Type != tt.typ || pc.Lines == nil || !reflect.DeepEqual(*pc.Lines, tt.want) {
				t.Errorf("got %s %+v, want %s %+v", pc.Type, pc.Lines, tt.typ, tt.want)
			}
			if _, err := enrich.NewConverter(p.Sources[0].Tail.Line); err != nil {
				t.Errorf("NewConverter: %v", err)
			}
		})
	}
	// multiline without format1 is an error naming the source.
	c, _ := config.Parse("fluent.conf", []byte("<source>\n  @type tail\n  path /a\n  tag a\n  <parse>\n    @type multiline\n  </parse>\n</source>\n"), config.Options{})
	if _, err := config.Build(c, config.BuildOptions{StateDir: "/state"}); err == nil || !strings.Contains(err.Error(), "format1") {
		t.Errorf("multiline without format1: %v", err)
	}
}
