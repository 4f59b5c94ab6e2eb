package config_test

import (
	"testing"

	"logship/plugin"
	"logship/sink/cwlogs"
	"logship/sink/file"
	"logship/sink/null"
	"logship/sink/stdout"
)

// TestOutputTypes: every registered <match> type maps onto its plugin's
// typed configuration; the parameters a plugin accepts without using them
// raise no warning; a bad section is an error at the section.
func TestOutputTypes(t *testing.T) {
	tests := []struct {
		name, body string
		check      func(t *testing.T, c plugin.OutputConfig)
		wantErr    string
	}{
		{"null", "<match **>\n  @type null\n  <buffer>\n  </buffer>\n</match>", func(t *testing.T, c plugin.OutputConfig) {
			if _, ok := c.(*null.Config); !ok {
				t.Errorf("config %T, want *null.Config", c)
			}
		}, ""},
		{"stdout", "<match **>\n  @type stdout\n  output_type json\n  <format>\n    @type json\n  </format>\n</match>", func(t *testing.T, c plugin.OutputConfig) {
			if _, ok := c.(*stdout.Config); !ok {
				t.Errorf("config %T, want *stdout.Config", c)
			}
		}, ""},
		{"file", "<match **>\n  @type file\n  path /tmp/out.log\n  compress gzip\n  buffer_type memory\n  <buffer>\n    flush_interval 1s\n  </buffer>\n</match>", func(t *testing.T, c plugin.OutputConfig) {
			if fc, ok := c.(*file.Config); !ok || fc.Path != "/tmp/out.log" {
				t.Errorf("config %#v, want *file.Config with the path", c)
			}
		}, ""},
		{"file without path", "<match **>\n  @type file\n</match>", nil, "path is required"},
		{"cloudwatch_logs", "<match **>\n  @type cloudwatch_logs\n  log_group_name g\n  log_stream_name s\n  region us-east-1\n</match>", func(t *testing.T, c plugin.OutputConfig) {
			cc, ok := c.(*cwlogs.Config)
			if !ok || cc.CloudWatch.LogGroupName != "g" {
				t.Fatalf("config %#v, want *cwlogs.Config with the group", c)
			}
			if cc.BufferConfig() != &cc.Buffer {
				t.Error("BufferConfig does not point into the config")
			}
		}, ""},
		{"cloudwatch_logs bad hash", "<match **>\n  @type cloudwatch_logs\n  log_group_name g\n  log_stream_name s\n  log_group_aws_tags team\n</match>", nil, "has no ':'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, warns, errText := buildPipeline(t, tt.body)
			if !wantOutcome(t, warns, errText, tt.wantErr) {
				return
			}
			var got *plugin.OutputConfig
			for _, o := range p.Outputs {
				got = &o.Plugin
			}
			if got == nil || *got == nil {
				t.Fatal("no output configuration")
			}
			tt.check(t, *got)
			if cw, ok := (*got).(*cwlogs.Config); ok {
				for _, o := range p.Outputs {
					if o.CloudWatch != &cw.CloudWatch || o.Buffer != &cw.Buffer {
						t.Error("Output.CloudWatch and Output.Buffer do not point into Plugin")
					}
				}
			}
		})
	}
}

// TestOutputTypes_Diagnostics pins the text, position and order of the
// errors of the outputs whose mappers live in their packages (sink/cwlogs,
// sink/rewritetag), and the warning for what a failed <rule> left unread.
func TestOutputTypes_Diagnostics(t *testing.T) {
	_, warns, errText := buildPipeline(t, `<match app.**>
  @type rewrite_tag_filter
  rewriterule1 onlykey
  <rule>
    key a
    tag t
    invert true
  </rule>
  <rule>
    key k
    pattern /x/q
    tag t
  </rule>
</match>
<match **>
  @type cloudwatch_logs
  region us-east-1
</match>
`)
	wantErr := `fluent.conf:11:3: <match app.**>: rewriterule1 must be "key regexp new_tag"
fluent.conf:12:3: <match app.**>: <rule> needs key, pattern and tag
fluent.conf:19:13: pattern: invalid regexp "/x/q": missing closing '/' or unknown flags
fluent.conf:23:1: <match **>: exactly one of log_group_name, use_tag_as_group and log_group_name_key must be set`
	if errText != wantErr {
		t.Errorf("errors:\n%s\nwant:\n%s", errText, wantErr)
	}
	wantWarn := `fluent.conf:15:5: parameter "invert" in <match app.**> <rule> is not used`
	if len(warns) != 1 || warns[0] != wantWarn {
		t.Errorf("warnings %q, want [%q]", warns, wantWarn)
	}
}
