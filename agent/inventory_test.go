package agent

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

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

// TestInventory_Plugins checks what the agent gives monitor_agent and the
// prometheus monitors (plugin.Inventory): Fluentd's plugin list in its
// order, the parameters with secrets masked, the buffer statistics and the
// emit counts of the real outputs, and the route of a tag to its output.
func TestInventory_Plugins(t *testing.T) {
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
	inv := a.shared
	if inv == nil {
		t.Fatal("no shared source state")
	}
	ps := inv.Plugins()
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.Category+":"+p.Type+":"+p.ID)
	}
	if got := strings.Join(ids, " "); !strings.HasPrefix(got, "input:monitor_agent:mon input:prometheus_monitor:pm input:prometheus_output_monitor:object:") ||
		!strings.HasSuffix(got, "output:stdout:out_stdout output:cloudwatch_logs:out_cw filter:kubernetes_metadata:f_k8s") || len(ps) != 6 {
		t.Fatalf("plugins = %s", got)
	}
	cw := ps[4]
	if !cw.Buffered || !reflect.DeepEqual(cw.Buffer, st) || cw.Emits != 1 || cw.EmitRecords != 3 {
		t.Errorf("out_cw = buffered %v %+v, emits %d records %d; want buffered %+v, 1 emit of 3 records", cw.Buffered, cw.Buffer, cw.Emits, cw.EmitRecords, st)
	}
	if st.StagedChunks != 1 || st.QueuedChunks != 0 || st.ChunksFlushed != 0 || st.SendErrors != 0 || st.StagedBytes == 0 {
		t.Errorf("out_cw buffer %+v, want one staged chunk, nothing queued, flushed or failed", st)
	}
	wantCW := [][2]string{{"@type", "cloudwatch_logs"}, {"@id", "out_cw"}, {"log_group_name", "g"}, {"log_stream_name", "s"},
		{"region", "us-east-1"}, {"endpoint", "http://127.0.0.1:1"}, {"aws_key_id", "xxxxxx"}, {"aws_sec_key", "xxxxxx"}}
	if !reflect.DeepEqual(cw.Config, wantCW) {
		t.Errorf("out_cw config = %v, want %v (secrets masked)", cw.Config, wantCW)
	}
	wantMon := [][2]string{{"@type", "monitor_agent"}, {"@id", "mon"}, {"bind", "127.0.0.1"}, {"port", "0"}, {"tag", "fluentd.monitor.metrics"}}
	if !reflect.DeepEqual(ps[0].Config, wantMon) {
		t.Errorf("mon config = %v, want %v", ps[0].Config, wantMon)
	}
	for _, i := range []int{0, 1, 2, 3, 5} {
		if p := ps[i]; p.Buffered || p.Emits != 0 || p.EmitRecords != 0 {
			t.Errorf("%s: buffered %v, emits %d records %d; want no buffer and nothing emitted", p.ID, p.Buffered, p.Emits, p.EmitRecords)
		}
	}
	// The next call sees the counters move.
	if err := a.router.Emit(context.Background(), RootLabel, recs[:1]); err != nil {
		t.Fatal(err)
	}
	if cw := inv.Plugins()[4]; cw.Emits != 2 || cw.EmitRecords != 4 {
		t.Errorf("after a second emit: out_cw emits %d records %d, want 2 and 4", cw.Emits, cw.EmitRecords)
	}

	for _, tc := range []struct {
		tag  string
		want int
		ok   bool
	}{{"app.x", 4, true}, {"fluentd.monitor.metrics", 3, true}, {"nomatch", 0, false}} {
		if i, ok := inv.RouteOutput(tc.tag); i != tc.want || ok != tc.ok {
			t.Errorf("RouteOutput(%q) = %d %v, want %d %v", tc.tag, i, ok, tc.want, tc.ok)
		}
	}
	for i := range ps {
		if fs := inv.TailFiles(i); fs != nil {
			t.Errorf("TailFiles(%d) = %v for a %s", i, fs, ps[i].Type)
		}
	}
	if fs := inv.TailFiles(len(ps)); fs != nil {
		t.Errorf("TailFiles past the list = %v", fs)
	}
}

// TestInventory_Metrics checks the agent's plugin.Metrics: a key registers
// once, and ServeOps joins the ops listener only on its port.
func TestInventory_Metrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := buildAgent(t, monitorConfig, Options{Registry: reg, Stdout: io.Discard, OpsAddr: "127.0.0.1:2021"})
	m := a.shared
	c := prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_gauge", Help: "h"})
	if ok, err := m.RegisterOnce("k", c); !ok || err != nil {
		t.Errorf("first RegisterOnce = %v %v, want added", ok, err)
	}
	if ok, err := m.RegisterOnce("k", prometheus.NewGauge(prometheus.GaugeOpts{Name: "other_gauge", Help: "h"})); ok || err != nil {
		t.Errorf("second RegisterOnce = %v %v, want not added", ok, err)
	}
	if ok, err := m.RegisterOnce("k2", c); !ok || err != nil {
		t.Errorf("RegisterOnce of a registered collector = %v %v, want added (already there)", ok, err)
	}
	got := gather(t, reg)
	if _, ok := got["test_gauge"]; !ok {
		t.Error("test_gauge not registered")
	}
	if _, ok := got["other_gauge"]; ok {
		t.Error("other_gauge registered under a used key")
	}
	h := m.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "\ntest_gauge 0\n") || !strings.Contains(rec.Body.String(), "fluentd_output_status_emit_count") {
		t.Errorf("Handler does not serve the agent's registry:\n%s", rec.Body.String())
	}

	if m.ServeOps("127.0.0.1", 24231, h, "/m") {
		t.Error("ServeOps on another port: shared")
	}
	if !m.ServeOps("0.0.0.0", 2021, h, "/metrics", "/fluentd/metrics") {
		t.Fatal("ServeOps on the ops port: not shared")
	}
	if oh := a.opts.OpsHandlers["/fluentd/metrics"]; oh == nil {
		t.Error("/fluentd/metrics not added to the ops handlers")
	} else {
		rec := httptest.NewRecorder()
		oh.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fluentd/metrics", nil))
		if !strings.Contains(rec.Body.String(), "\ntest_gauge 0\n") {
			t.Errorf("/fluentd/metrics on the ops listener does not serve the registry:\n%s", rec.Body.String())
		}
	}
	if _, ok := a.opts.OpsHandlers["/metrics"]; ok {
		t.Error("/metrics added to the ops handlers (the ops server serves it)")
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
