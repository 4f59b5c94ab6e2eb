package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap/zaptest"

	"logship/buffer"
	"logship/config"
	"logship/internal/e2etest"
)

// monitorConfig has every monitor source, a buffered CloudWatch output that
// never flushes (its endpoint is not contacted: the buffer is not run) and a
// stdout output receiving the monitor records.
const monitorConfig = `
<source>
  @type monitor_agent
  @id mon
  bind 127.0.0.1
  port 0
  tag fluentd.monitor.metrics
</source>
<source>
  @type prometheus_monitor
  @id pm
</source>
<source>
  @type prometheus_output_monitor
  <labels>
    host ${hostname}
    worker w${worker_id}
  </labels>
</source>
<match fluentd.monitor.**>
  @type stdout
  @id out_stdout
</match>
<filter app.**>
  @type kubernetes_metadata
  @id f_k8s
</filter>
<match app.**>
  @type cloudwatch_logs
  @id out_cw
  log_group_name g
  log_stream_name s
  region us-east-1
  endpoint http://127.0.0.1:1
  aws_key_id AKIDTEST
  aws_sec_key SECRETTEST
  <buffer>
    flush_interval 1h
  </buffer>
</match>
`

// buildAgent maps cfgText and builds (without running) an agent.
func buildAgent(t *testing.T, cfgText string, opts Options) *Agent {
	t.Helper()
	p := e2etest.Pipeline(t, cfgText, t.TempDir(), config.BuildOptions{StateDir: t.TempDir()})
	if opts.Log == nil {
		opts.Log = zaptest.NewLogger(t)
	}
	a, err := New(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.build(context.Background()); err != nil {
		t.Fatalf("agent build: %v", err)
	}
	if err := a.register(); err != nil {
		t.Fatal(err)
	}
	return a
}

func runnerOf[T any](t *testing.T, a *Agent) T {
	t.Helper()
	for _, r := range a.extra {
		if sr, ok := r.(*sharedRunner); ok {
			if v, ok := sr.sourceRunner.(T); ok {
				return v
			}
		}
	}
	var zero T
	t.Fatalf("no %T runner", zero)
	return zero
}

func outputByID(t *testing.T, a *Agent, id string) *output {
	t.Helper()
	for _, o := range a.outputs {
		if o.cfg.ID == id {
			return o
		}
	}
	t.Fatalf("no output %s", id)
	return nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMonitorAgent_PluginsJSON(t *testing.T) {
	a := buildAgent(t, monitorConfig, Options{Stdout: io.Discard})
	recs := []buffer.Record{{Tag: "app.x", Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("a"))}}},
		{Tag: "app.x", Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("b"))}}},
		{Tag: "app.x", Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("c"))}}}}
	if err := a.router.Emit(context.Background(), RootLabel, recs); err != nil {
		t.Fatal(err)
	}
	st := outputByID(t, a, "out_cw").buf.Stats()
	if st.TotalBytes == 0 {
		t.Fatal("the records did not reach the buffer")
	}
	m := runnerOf[*monitorAgent](t, a)
	srv := httptest.NewServer(m.handler())
	defer srv.Close()

	code, body := get(t, srv.URL+"/api/plugins.json")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var doc struct {
		Plugins []map[string]any `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var ids []string
	for _, p := range doc.Plugins {
		ids = append(ids, p["plugin_category"].(string)+":"+p["type"].(string)+":"+p["plugin_id"].(string))
	}
	if got := strings.Join(ids, " "); !strings.HasPrefix(got, "input:monitor_agent:mon input:prometheus_monitor:pm input:prometheus_output_monitor:object:") ||
		!strings.HasSuffix(got, "output:stdout:out_stdout output:cloudwatch_logs:out_cw filter:kubernetes_metadata:f_k8s") {
		t.Errorf("plugins = %s", got)
	}
	cw := doc.Plugins[4]
	want := map[string]any{"plugin_id": "out_cw", "plugin_category": "output", "type": "cloudwatch_logs", "output_plugin": true,
		"buffer_queue_length": float64(st.QueuedChunks), "buffer_total_queued_size": float64(st.TotalBytes), "retry_count": float64(0),
		"emit_records": float64(3), "emit_count": float64(1), "write_count": float64(0), "rollback_count": float64(0),
		"buffer_stage_length": float64(1), "buffer_stage_byte_size": float64(st.StagedBytes)}
	for k, v := range want {
		if cw[k] != v {
			t.Errorf("out_cw %s = %v, want %v", k, cw[k], v)
		}
	}
	cfg, _ := cw["config"].(map[string]any)
	if cfg["aws_sec_key"] != "xxxxxx" || cfg["aws_key_id"] != "xxxxxx" || cfg["log_group_name"] != "g" || cfg["@type"] != "cloudwatch_logs" {
		t.Errorf("out_cw config = %v, want secrets masked", cfg)
	}
	if doc.Plugins[0]["retry_count"] != nil {
		t.Errorf("input retry_count = %v, want null", doc.Plugins[0]["retry_count"])
	}

	// Query filters.
	for _, tc := range []struct{ q, want string }{
		{"?tag=app.x", "out_cw"}, {"?@id=pm", "pm"}, {"?id=out_stdout", "out_stdout"}, {"?@type=stdout", "out_stdout"},
		{"?type=kubernetes_metadata", "f_k8s"}, {"?tag=nomatch", ""},
	} {
		_, body := get(t, srv.URL+"/api/plugins.json"+tc.q)
		var d struct {
			Plugins []map[string]any `json:"plugins"`
		}
		json.Unmarshal([]byte(body), &d)
		var got []string
		for _, p := range d.Plugins {
			got = append(got, p["plugin_id"].(string))
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%s: plugins %v, want %s", tc.q, got, tc.want)
		}
	}
	if _, body := get(t, srv.URL+"/api/plugins.json?@id=mon&with_config=false"); strings.Contains(body, `"config"`) {
		t.Errorf("with_config=false still has config: %s", body)
	}
	_, ltsv := get(t, srv.URL+"/api/plugins?@id=mon")
	if want := "plugin_id:mon\tplugin_category:input\ttype:monitor_agent\toutput_plugin:false\tretry_count:\n"; ltsv != want {
		t.Errorf("LTSV = %q, want %q", ltsv, want)
	}
	if code, body := get(t, srv.URL+"/api/config.json"); code != 200 || !strings.Contains(body, `"pid":`) {
		t.Errorf("/api/config.json = %d %s", code, body)
	}
}

// TestMonitorAgent_Records checks the v0.12 record shape, byte for byte, and
// that the records are emitted into the pipeline.
func TestMonitorAgent_Records(t *testing.T) {
	var stdout bytes.Buffer
	a := buildAgent(t, monitorConfig, Options{Stdout: &stdout})
	m := runnerOf[*monitorAgent](t, a)
	m.cfg.V1 = false
	m.now = func() time.Time { return testNow }
	if err := m.emitOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("got %d records, want 6 (one per plugin):\n%s", len(lines), stdout.String())
	}
	for _, want := range []string{
		`fluentd.monitor.metrics: {"plugin_id":"mon","plugin_category":"input","type":"monitor_agent","output_plugin":false,"retry_count":null}`,
		`fluentd.monitor.metrics: {"plugin_id":"out_stdout","plugin_category":"output","type":"stdout","output_plugin":true,"retry_count":null}`,
		`fluentd.monitor.metrics: {"plugin_id":"out_cw","plugin_category":"output","type":"cloudwatch_logs","output_plugin":true,"buffer_queue_length":0,"buffer_total_queued_size":0,"retry_count":0}`,
		`fluentd.monitor.metrics: {"plugin_id":"f_k8s","plugin_category":"filter","type":"kubernetes_metadata","output_plugin":false,"retry_count":null}`,
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("missing record %s\nin:\n%s", want, stdout.String())
		}
	}
	// v0.12 times are whole seconds.
	if !strings.HasPrefix(lines[0], testNow.Truncate(time.Second).Local().Format("2006-01-02 15:04:05.000000000")) {
		t.Errorf("record time: %s", lines[0])
	}
}

// TestMonitorAgent_Run serves the API on a real listener and emits on the
// interval.
func TestMonitorAgent_Run(t *testing.T) {
	var stdout e2etest.SyncBuffer
	a := buildAgent(t, monitorConfig, Options{Stdout: &stdout})
	m := runnerOf[*monitorAgent](t, a)
	m.cfg.EmitInterval = 20 * time.Millisecond
	ln, err := m.listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.run(ctx) }()
	if code, body := get(t, "http://"+ln.Addr().String()+"/api/plugins.json"); code != 200 || !strings.Contains(body, `"plugin_id":"out_cw"`) {
		t.Errorf("/api/plugins.json = %d %s", code, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stdout.String(), "fluentd.monitor.metrics: ") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if !strings.Contains(stdout.String(), `fluentd.monitor.metrics: {"plugin_id":"mon"`) {
		t.Errorf("no monitor record emitted: %q", stdout.String())
	}
}

// TestPrometheusMonitors_Names gathers the registry and checks Fluentd's
// metric names with their labels.
func TestPrometheusMonitors_Names(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := buildAgent(t, monitorConfig, Options{Registry: reg, Stdout: io.Discard})
	recs := []buffer.Record{{Tag: "app.x", Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("a"))}}}}
	if err := a.router.Emit(context.Background(), RootLabel, recs); err != nil {
		t.Fatal(err)
	}
	st := outputByID(t, a, "out_cw").buf.Stats()
	host, _ := os.Hostname()
	got := gather(t, reg)
	outLabels := `{host="` + host + `",plugin_id="out_cw",type="cloudwatch_logs",worker="w0"}`
	stdoutLabels := `{host="` + host + `",plugin_id="out_stdout",type="stdout",worker="w0"}`
	want := map[string]string{
		`fluentd_status_buffer_queue_length{plugin_category="output",plugin_id="out_cw",type="cloudwatch_logs"}`: "0",
		`fluentd_status_buffer_total_bytes{plugin_category="output",plugin_id="out_cw",type="cloudwatch_logs"}`:  itoa(st.TotalBytes),
		`fluentd_status_retry_count{plugin_category="output",plugin_id="out_cw",type="cloudwatch_logs"}`:         "0",
		"fluentd_output_status_buffer_queue_length" + outLabels:                                                  "0",
		"fluentd_output_status_buffer_total_bytes" + outLabels:                                                   itoa(st.TotalBytes),
		"fluentd_output_status_retry_count" + outLabels:                                                          "0",
		"fluentd_output_status_num_errors" + outLabels:                                                           "0",
		"fluentd_output_status_emit_count" + outLabels:                                                           "1",
		"fluentd_output_status_emit_records" + outLabels:                                                         "1",
		"fluentd_output_status_write_count" + outLabels:                                                          "0",
		"fluentd_output_status_rollback_count" + outLabels:                                                       "0",
		"fluentd_output_status_emit_count" + stdoutLabels:                                                        "0",
		"fluentd_output_status_num_errors" + stdoutLabels:                                                        "0",
		`logship_buffer_total_bytes{output="out_cw"}`:                                                            itoa(st.TotalBytes),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "fluentd_status_") && strings.Contains(k, "out_stdout") {
			t.Errorf("%s: prometheus_monitor reports buffered plugins only", k)
		}
	}
}

// testNow is the monitor's injected clock.
var testNow = time.Date(2026, 11, 27, 1, 2, 3, 456789000, time.UTC)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func labelString(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+`="`+l.GetValue()+`"`)
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func valueString(mf *dto.MetricFamily, m *dto.Metric) string {
	var v float64
	switch mf.GetType() {
	case dto.MetricType_GAUGE:
		v = m.GetGauge().GetValue()
	case dto.MetricType_COUNTER:
		v = m.GetCounter().GetValue()
	default:
		return "?"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// TestMonitorAgent_EmitConfig: emit_config adds the plugin's parameters
// (secrets masked) to the emitted records.
func TestMonitorAgent_EmitConfig(t *testing.T) {
	var stdout bytes.Buffer
	a := buildAgent(t, monitorConfig, Options{Stdout: &stdout})
	m := runnerOf[*monitorAgent](t, a)
	m.cfg.V1, m.cfg.EmitConfig = false, true
	if err := m.emitOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{"plugin_id":"mon","plugin_category":"input","type":"monitor_agent","config":{"@type":"monitor_agent","@id":"mon","bind":"127.0.0.1","port":"0","tag":"fluentd.monitor.metrics"},"output_plugin":false,"retry_count":null}`,
		`"config":{"@type":"cloudwatch_logs","@id":"out_cw","log_group_name":"g","log_stream_name":"s","region":"us-east-1","endpoint":"http://127.0.0.1:1","aws_key_id":"xxxxxx","aws_sec_key":"xxxxxx"}`,
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("missing %s in:\n%s", want, stdout.String())
		}
	}
}
