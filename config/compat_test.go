package config_test

import (
	"strings"
	"testing"

	"logship/config"
)

// params renders a section's parameters as "key=value" lines.
func params(s *config.Section) string {
	var out []string
	for _, p := range s.Params {
		out = append(out, p.Key+"="+config.FormatValue(p))
	}
	return strings.Join(out, " ")
}

func TestSection_CompatBuffer(t *testing.T) {
	tests := []struct {
		name, src, chunkKey string
		wantArg, want       string
		wantNil             bool
		wantErr             string
	}{
		{name: "seed output", src: `<match **>
  type cloudwatch_logs
  log_group_name kubernetes-cluster
  buffer_chunk_limit 2M
  buffer_queue_limit 32
  flush_interval 10s
  max_retry_wait 30
  disable_retry_limit
  num_threads 8
</match>`, want: `flush_thread_count="8" flush_interval="10s" retry_forever="" retry_max_interval="30" chunk_limit_size="2M" queue_limit_length="32"`},
		{name: "file buffer, queue full action", src: `<match **>
  buffer_type file
  buffer_path /var/log/buf/*.log
  buffer_queue_full_action exception
  retry_limit 5
</match>`, chunkKey: "tag", wantArg: "tag", want: `@type="file" path="/var/log/buf/*.log" retry_max_times="5" overflow_action="throw_exception"`},
		{name: "time sliced", src: `<match **>
  time_slice_format %Y%m%d%H
  time_slice_wait 10m
  utc
</match>`, wantArg: "time", want: `timekey_wait="10m" timekey="3600" timekey_use_utc="true"`},
		{name: "time slice too long", src: "<match **>\n  time_slice_format %Y%m\n</match>", wantErr: "test.conf:2:21: time_slice_format \"%Y%m\""},
		{name: "existing buffer section wins", src: "<match **>\n  flush_interval 1s\n  <buffer>\n  </buffer>\n</match>", wantNil: true},
		{name: "no v0.12 parameters", src: "<match **>\n  @type null\n</match>", wantNil: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.src+"\n", nil)
			m := c.Directives("match")[0]
			b, err := m.CompatBuffer(tc.chunkKey)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("CompatBuffer error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantNil {
				if b != nil {
					t.Fatalf("CompatBuffer = %s, want nil", params(b))
				}
				return
			}
			if b == nil || b != m.Section("buffer") || !b.Compat {
				t.Fatalf("CompatBuffer = %v, want the added <buffer>", b)
			}
			if b.Arg != tc.wantArg || params(b) != tc.want {
				t.Fatalf("<buffer %s> %s\nwant <buffer %s> %s", b.Arg, params(b), tc.wantArg, tc.want)
			}
		})
	}
}

func TestSection_CompatBufferValues(t *testing.T) {
	c := mustParse(t, "<match **>\n  buffer_chunk_limit 2M\n  disable_retry_limit\n  max_retry_wait 30x\n  colour red\n</match>\n", nil)
	m := c.Directives("match")[0]
	if _, err := m.CompatBuffer(""); err != nil {
		t.Fatal(err)
	}
	b := m.Section("buffer")
	if n, _ := b.Size("chunk_limit_size", 0); n != 2<<20 {
		t.Fatalf("chunk_limit_size = %d", n)
	}
	if f, _ := b.Bool("retry_forever", false); !f {
		t.Fatalf("retry_forever = false, want true (bare disable_retry_limit)")
	}
	if d, _ := b.Duration("retry_max_interval", 0); d.Seconds() != 30 {
		t.Fatalf("retry_max_interval = %v", d)
	}
	// A converted parameter is reported under the name the user wrote.
	w := c.Diag.Warnings()
	if len(w) != 1 || !strings.Contains(w[0].Error(), "test.conf:4:18: max_retry_wait: \"30x\"") {
		t.Fatalf("warnings = %v, want one naming max_retry_wait at test.conf:4:18", w)
	}
	c.ReportUnused()
	w = c.Diag.Warnings()
	if len(w) != 2 || !strings.Contains(w[1].Error(), `parameter "colour"`) {
		t.Fatalf("unused = %v, want only colour", w)
	}
}

func TestSection_CompatParse(t *testing.T) {
	tests := []struct {
		name, src string
		formatN   bool
		want      string
		wantNil   bool
	}{
		{name: "seed container tail", formatN: true, src: `<source>
  type tail
  path /var/log/containers/*.log
  time_format %Y-%m-%dT%H:%M:%S.%NZ
  tag kubernetes.*
  format json
  read_from_head true
</source>`, want: `@type="json" time_format="%Y-%m-%dT%H:%M:%S.%NZ"`},
		{name: "regexp format", src: `<source>
  format /^(?<time>[^ ]*) (?<message>.*)$/
  time_format %Y-%m-%d %H:%M:%S
</source>`, want: `@type="regexp" expression="^(?<time>[^ ]*) (?<message>.*)$" time_format="%Y-%m-%d %H:%M:%S"`},
		{name: "multiline", formatN: true, src: `<source>
  format multiline
  multiline_flush_interval 5s
  format_firstline /^\S+\s+AUDIT:/
  format1 /^(?<time>\S+) AUDIT:/
  time_format %FT%T.%L%Z
</source>`, want: `@type="multiline" time_format="%FT%T.%L%Z" format_firstline="/^\\S+\\s+AUDIT:/" format1="/^(?<time>\\S+) AUDIT:/"`},
		{name: "utc", src: "<filter x>\n  format kubernetes\n  utc\n</filter>", want: `@type="kubernetes" localtime="false"`},
		{name: "existing parse section", formatN: true, src: "<source>\n  format1 /a/\n  <parse>\n    @type multiline\n  </parse>\n</source>", wantNil: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.src+"\n", nil)
			s := c.Root.Nested[0]
			ps, err := s.CompatParse(tc.formatN)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantNil {
				if ps != nil {
					t.Fatalf("CompatParse = %s, want nil", params(ps))
				}
				if got := params(s.Section("parse")); got != `@type="multiline" format1="/a/"` {
					t.Fatalf("formatN not copied into the written <parse>: %s", got)
				}
				return
			}
			if ps == nil || params(ps) != tc.want {
				t.Fatalf("CompatParse = %v\nwant %s", ps, tc.want)
			}
			if typ, p := ps.Type(); typ == "" || p.From != "format" {
				t.Fatalf("@type = %q from %q", typ, p.From)
			}
		})
	}
}

func TestSection_CompatInject(t *testing.T) {
	c := mustParse(t, "<match **>\n  include_time_key true\n  include_tag_key\n  localtime false\n</match>\n", nil)
	in, err := c.Directives("match")[0].CompatInject()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := params(in), `time_key="time" time_type="string" localtime="false" tag_key="tag"`; got != want {
		t.Fatalf("<inject> %s\nwant %s", got, want)
	}
	c = mustParse(t, "<match **>\n  localtime\n  utc\n</match>\n", nil)
	if _, err := c.Directives("match")[0].CompatInject(); err == nil || !strings.Contains(err.Error(), "test.conf:3:3: both utc and localtime") {
		t.Fatalf("CompatInject = %v, want a conflict error", err)
	}
}

func TestDump_Compat(t *testing.T) {
	c := mustParse(t, "<match **>\n  buffer_chunk_limit 2M\n  aws_sec_key SECRET\n</match>\n", nil)
	if _, err := c.Directives("match")[0].CompatBuffer(""); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := c.Dump(&b, config.DumpOptions{Redact: config.RedactSecrets}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		`  <buffer> (converted from v0.12 parameters)`,
		`    chunk_limit_size "2M" (from buffer_chunk_limit)`,
		`  aws_sec_key <redacted>`,
		"# test.conf:2:3\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Dump lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "SECRET") {
		t.Errorf("Dump shows a secret:\n%s", got)
	}
}
