package config_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"logship/config"
	"logship/source/httpsource"
)

// sourceCase is one <source> and the plugin config it maps to (a pointer,
// as Source.Plugin holds it), or the error it is refused with.
type sourceCase struct {
	name, src string
	want      any
	wantErr   string
}

// runSourceCases maps every case's source and checks its outcome.
func runSourceCases(t *testing.T, tests []sourceCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warns, errText := buildSource(t, tt.src)
			if wantOutcome(t, warns, errText, tt.wantErr) && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPluginSource_HTTP(t *testing.T) {
	def := config.HTTPSource{Bind: "0.0.0.0", Port: 9880, BodySizeLimit: 32 << 20, KeepaliveTimeout: 10 * time.Second,
		Queue: httpsource.DefaultQueue, TimeFromRecord: true}
	tests := []struct {
		name, src string
		want      func(h *config.HTTPSource)
		wantErr   string
	}{
		{name: "seed v0.12", src: "<source>\n  type http\n  port 9880\n  bind 0.0.0.0\n</source>",
			want: func(h *config.HTTPSource) { h.GetEmits, h.SecondPrecision, h.TimeFromRecord = true, true, false }},
		{name: "v1 defaults", src: "<source>\n  @type http\n</source>", want: func(*config.HTTPSource) {}},
		{name: "port and bind", src: "<source>\n  @type http\n  port 19880\n  bind 127.0.0.1\n</source>",
			want: func(h *config.HTTPSource) { h.Port, h.Bind = 19880, "127.0.0.1" }},
		{name: "body_size_limit", src: "<source>\n  @type http\n  body_size_limit 1m\n</source>",
			want: func(h *config.HTTPSource) { h.BodySizeLimit = 1 << 20 }},
		{name: "keepalive_timeout", src: "<source>\n  @type http\n  keepalive_timeout 30s\n</source>",
			want: func(h *config.HTTPSource) { h.KeepaliveTimeout = 30 * time.Second }},
		{name: "headers, remote addr, query", src: "<source>\n  @type http\n  add_http_headers true\n  add_remote_addr true\n  add_query_params true\n</source>",
			want: func(h *config.HTTPSource) { h.AddHTTPHeaders, h.AddRemoteAddr, h.AddQueryParams = true, true, true }},
		{name: "cors", src: "<source>\n  @type http\n  cors_allow_origins [\"https://a.example\", \"https://*.b.example\"]\n  cors_allow_credentials true\n</source>",
			want: func(h *config.HTTPSource) {
				h.CORSAllowOrigins = []string{"https://a.example", "https://*.b.example"}
				h.CORSAllowCredentials = true
			}},
		{name: "responses", src: "<source>\n  @type http\n  respond_with_empty_img true\n  use_204_response true\n</source>",
			want: func(h *config.HTTPSource) { h.RespondWithEmptyImg, h.Use204Response = true, true }},
		{name: "accepted tuning", src: "<source>\n  @type http\n  backlog 10\n  blocking_timeout 1\n  dump_error_log false\n</source>",
			want: func(*config.HTTPSource) {}},
		{name: "default parse section", src: "<source>\n  @type http\n  <parse>\n    @type in_http\n  </parse>\n</source>",
			want: func(*config.HTTPSource) {}},
		{name: "bad port", src: "<source>\n  @type http\n  port 70000\n</source>", wantErr: "port 70000 out of range"},
		{name: "credentials without origins", src: "<source>\n  @type http\n  cors_allow_credentials true\n</source>",
			wantErr: "cors_allow_credentials needs specific cors_allow_origins"},
		{name: "custom format", src: "<source>\n  @type http\n  format json\n</source>", wantErr: "not supported"},
		{name: "custom parser", src: "<source>\n  @type http\n  <parse>\n    @type regexp\n  </parse>\n</source>", wantErr: "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warns, errText := buildSource(t, tt.src)
			if !wantOutcome(t, warns, errText, tt.wantErr) {
				return
			}
			want := def
			tt.want(&want)
			if h, ok := got.(*config.HTTPSource); !ok || !reflect.DeepEqual(*h, want) {
				t.Errorf("got %+v\nwant %+v", got, &want)
			}
		})
	}
}

func TestPluginSource_MonitorAgent(t *testing.T) {
	runSourceCases(t, []sourceCase{
		{name: "seed", src: "<source>\n  @type monitor_agent\n  bind 0.0.0.0\n  port 24220\n  tag fluentd.monitor.metrics\n</source>\n<match x>\n  type null\n</match>",
			want: &config.MonitorAgentSource{Bind: "0.0.0.0", Port: 24220, Tag: "fluentd.monitor.metrics", EmitInterval: time.Minute,
				IncludeConfig: true, IncludeRetry: true}},
		{name: "v1 defaults", src: "<source>\n  @type monitor_agent\n</source>",
			want: &config.MonitorAgentSource{Bind: "0.0.0.0", Port: 24220, EmitInterval: time.Minute, IncludeConfig: true, IncludeRetry: true, V1: true}},
		{name: "every parameter", src: "<source>\n  @type monitor_agent\n  bind 127.0.0.1\n  port 0\n  tag m\n  emit_interval 5s\n  include_config false\n  emit_config true\n  include_retry false\n</source>",
			want: &config.MonitorAgentSource{Bind: "127.0.0.1", Port: 0, Tag: "m", EmitInterval: 5 * time.Second, EmitConfig: true, V1: true}},
		{name: "bad interval", src: "<source>\n  @type monitor_agent\n  emit_interval 0\n</source>", wantErr: "emit_interval must be positive"},
	})
	// Fluentd reads "abc" as 0 with a warning; so does logship.
	_, warns, errText := buildSource(t, "<source>\n  @type monitor_agent\n  port abc\n</source>")
	if len(warns) == 0 || errText != "" {
		t.Fatalf("bad port: warnings %q error %q, want a warning", warns, errText)
	}
}

func TestPluginSource_Prometheus(t *testing.T) {
	runSourceCases(t, []sourceCase{
		{name: "seed", src: "<source>\n  @type prometheus\n  bind 0.0.0.0\n  port 24231\n  metrics_path /metrics\n</source>",
			want: &config.PrometheusSource{Bind: "0.0.0.0", Port: 24231, MetricsPath: "/metrics", AggregatedMetricsPath: "/aggregated_metrics"}},
		{name: "paths", src: "<source>\n  @type prometheus\n  port 9100\n  metrics_path /m\n  aggregated_metrics_path /am\n  content_encoding gzip\n</source>",
			want: &config.PrometheusSource{Bind: "0.0.0.0", Port: 9100, MetricsPath: "/m", AggregatedMetricsPath: "/am"}},
		{name: "bad path", src: "<source>\n  @type prometheus\n  metrics_path metrics\n</source>", wantErr: "must start with '/'"},
		{name: "tls refused", src: "<source>\n  @type prometheus\n  <transport tls>\n    cert_path /x\n  </transport>\n</source>", wantErr: "not supported"},
		{name: "ssl disabled accepted", src: "<source>\n  @type prometheus\n  <ssl>\n    enable false\n  </ssl>\n</source>",
			want: &config.PrometheusSource{Bind: "0.0.0.0", Port: 24231, MetricsPath: "/metrics", AggregatedMetricsPath: "/aggregated_metrics"}},
		{name: "monitor interval", src: "<source>\n  @type prometheus_monitor\n  interval 5\n</source>",
			want: &config.PrometheusMonitorSource{Kind: "prometheus_monitor", Interval: 5 * time.Second}},
		{name: "output monitor defaults", src: "<source>\n  @type prometheus_output_monitor\n  @id in_prometheus_output_monitor\n</source>",
			want: &config.PrometheusMonitorSource{Kind: "prometheus_output_monitor", Interval: 5 * time.Second}},
		{name: "tail monitor labels", src: "<source>\n  @type prometheus_tail_monitor\n  <labels>\n    host ${hostname}\n    node n1\n  </labels>\n</source>",
			want: &config.PrometheusMonitorSource{Kind: "prometheus_tail_monitor", Interval: 5 * time.Second,
				Labels: []config.MetricLabel{{Name: "host", Value: "${hostname}"}, {Name: "node", Value: "n1"}}}},
		{name: "record accessor label", src: "<source>\n  @type prometheus_monitor\n  <labels>\n    c $.kubernetes.container_name\n  </labels>\n</source>",
			wantErr: "record accessor syntax is not available"},
	})
}

func TestPluginSource_Systemd(t *testing.T) {
	state := func(name string) string { return filepath.Join("/state", "journal", name) }
	runSourceCases(t, []sourceCase{
		{name: "v1.19 kubelet", src: `<source>
  @type systemd
  @id in_systemd_kubelet
  matches [{ "_SYSTEMD_UNIT": "kubelet.service" }]
  <storage>
    @type local
    persistent true
    path /var/log/fluentd-journald-kubelet-cursor.json
  </storage>
  read_from_head true
  tag kubelet
</source>`, want: &config.SystemdSource{Path: "/var/log/journal", Tag: "kubelet", ReadFromHead: true,
			Matches:           [][]config.JournalMatch{{{Field: "_SYSTEMD_UNIT", Value: "kubelet.service"}}},
			FluentdCursorFile: "/var/log/fluentd-journald-kubelet-cursor.json",
			CursorFile:        state("var_log_fluentd-journald-kubelet-cursor.json.json")}},
		{name: "seed v0.12 spelling", src: `<source>
  type systemd
  pos_file /var/log/fluentd-journald-systemd.pos
  read_from_head true
  strip_underscores true
  tag systemd
</source>`, want: &config.SystemdSource{Path: "/var/log/journal", Tag: "systemd", ReadFromHead: true, FieldsStripUnderscores: true,
			SecondPrecision: true, FluentdCursorFile: "/var/log/fluentd-journald-systemd.pos",
			CursorFile: state("var_log_fluentd-journald-systemd.pos.json")}},
		{name: "filters spelling, OR and AND", src: `<source>
  @type systemd
  @id j
  path /run/log/journal
  filters [{"_SYSTEMD_UNIT": ["a.service", "b.service"], "PRIORITY": 3}, {"_TRANSPORT": "kernel"}]
  tag j
</source>`, want: &config.SystemdSource{Path: "/run/log/journal", Tag: "j", CursorFile: state("j.json"),
			Matches: [][]config.JournalMatch{
				{{Field: "_SYSTEMD_UNIT", Value: "a.service"}, {Field: "_SYSTEMD_UNIT", Value: "b.service"}, {Field: "PRIORITY", Value: "3"}},
				{{Field: "_TRANSPORT", Value: "kernel"}}}}},
		{name: "entry section", src: `<source>
  @type systemd
  @id e
  tag e
  <entry>
    field_map {"MESSAGE": "log", "_PID": ["process", "pid"], "_CMDLINE": "process"}
    field_map_strict true
    fields_strip_underscores true
    fields_lowercase true
  </entry>
</source>`, want: &config.SystemdSource{Path: "/var/log/journal", Tag: "e", CursorFile: state("e.json"),
			FieldMap: []config.FieldMapping{{From: "MESSAGE", To: []string{"log"}}, {From: "_PID", To: []string{"process", "pid"}},
				{From: "_CMDLINE", To: []string{"process"}}},
			FieldMapStrict: true, FieldsStripUnderscores: true, FieldsLowercase: true}},
		{name: "no tag", src: "<source>\n  @type systemd\n</source>", wantErr: "tag is required"},
		{name: "bad matches", src: "<source>\n  @type systemd\n  tag x\n  matches {\"a\": 1}\n</source>", wantErr: "JSON array of objects"},
		{name: "nested match value", src: "<source>\n  @type systemd\n  tag x\n  matches [{\"a\": {\"b\": 1}}]\n</source>", wantErr: "is not a string"},
		{name: "bad field_map", src: "<source>\n  @type systemd\n  tag x\n  <entry>\n    field_map [1]\n  </entry>\n</source>", wantErr: "field_map"},
		{name: "other storage", src: "<source>\n  @type systemd\n  tag x\n  <storage>\n    @type redis\n  </storage>\n</source>", wantErr: "not supported"},
	})
}

func TestPluginSource_ForwardRefused(t *testing.T) {
	_, _, errText := buildSource(t, "<source>\n  @type forward\n  port 24224\n</source>")
	if !strings.Contains(errText, "<source> @type forward (receiving events from other Fluentd or Fluent Bit agents") || !strings.Contains(errText, "is not supported by logship") {
		t.Errorf("error = %q, want forward refused as unsupported", errText)
	}
}
