package prometheus

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	prom "github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"logship/buffer"
	"logship/plugin"
	"logship/plugin/plugintest"
)

// agentPlugins is an agent's inventory: a tail input with two files, the
// monitor, an unbuffered and a buffered output.
func agentPlugins() *plugintest.Inventory {
	cw := plugin.PluginStatus{ID: "out_cw", Category: "output", Type: "cloudwatch_logs", Emits: 1, EmitRecords: 3,
		Buffered: true, Buffer: buffer.Stats{QueuedChunks: 2, TotalBytes: 300, ChunksFlushed: 3, SendErrors: 1}}
	files := []plugin.TailFile{{Path: "/logs/a.log", Position: 14, Inode: 7}, {Path: "/logs/b.log", Position: 0, Inode: 8}}
	return &plugintest.Inventory{Files: map[int][]plugin.TailFile{0: files}, List: []plugin.PluginStatus{
		{ID: "app", Category: "input", Type: "tail"},
		{ID: "pm", Category: "input", Type: "prometheus_monitor"},
		{ID: "out_null", Category: "output", Type: "null", Emits: 2, EmitRecords: 5},
		cw,
	}}
}

func deps(t *testing.T, m *plugintest.Metrics) plugin.SourceDeps {
	return plugin.SourceDeps{Name: "p", Log: zaptest.NewLogger(t), Inventory: agentPlugins(), Metrics: m}
}

// scrape returns the registry's text exposition.
func scrape(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// TestMonitors_Names registers the three monitors and checks Fluentd's
// metric names, labels and values, computed from the inventory.
func TestMonitors_Names(t *testing.T) {
	m := &plugintest.Metrics{Registry: prom.NewRegistry()}
	for _, c := range []MonitorConfig{
		{Kind: "prometheus_monitor"},
		{Kind: "prometheus_output_monitor", Labels: []Label{{Name: "host", Value: "${hostname}"}, {Name: "worker", Value: "w${worker_id}"}}},
		{Kind: "prometheus_tail_monitor"},
	} {
		if _, err := c.NewSource(deps(t, m)); err != nil {
			t.Fatal(err)
		}
	}
	_, body := scrape(t, m.Handler(), "/metrics")
	host, _ := os.Hostname()
	out := func(id, typ string) string {
		return `{host="` + host + `",plugin_id="` + id + `",type="` + typ + `",worker="w0"}`
	}
	cw, null := out("out_cw", "cloudwatch_logs"), out("out_null", "null")
	want := []string{
		`fluentd_status_buffer_queue_length{plugin_category="output",plugin_id="out_cw",type="cloudwatch_logs"} 2`,
		`fluentd_status_buffer_total_bytes{plugin_category="output",plugin_id="out_cw",type="cloudwatch_logs"} 300`,
		`fluentd_status_retry_count{plugin_category="output",plugin_id="out_cw",type="cloudwatch_logs"} 1`,
		"fluentd_output_status_buffer_queue_length" + cw + " 2",
		"fluentd_output_status_buffer_total_bytes" + cw + " 300",
		"fluentd_output_status_retry_count" + cw + " 1",
		"fluentd_output_status_num_errors" + cw + " 1",
		"fluentd_output_status_emit_count" + cw + " 1",
		"fluentd_output_status_emit_records" + cw + " 3",
		"fluentd_output_status_write_count" + cw + " 4",
		"fluentd_output_status_rollback_count" + cw + " 1",
		"fluentd_output_status_emit_count" + null + " 2",
		"fluentd_output_status_emit_records" + null + " 5",
		"fluentd_output_status_num_errors" + null + " 0",
		"fluentd_output_status_write_count" + null + " 0",
		"fluentd_output_status_rollback_count" + null + " 0",
		`fluentd_tail_file_position{path="/logs/a.log",plugin_id="app",type="tail"} 14`,
		`fluentd_tail_file_inode{path="/logs/a.log",plugin_id="app",type="tail"} 7`,
		`fluentd_tail_file_position{path="/logs/b.log",plugin_id="app",type="tail"} 0`,
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(body, "\n") {
		lines[l] = true
	}
	for _, w := range want {
		if !lines[w] {
			t.Errorf("missing %s", w)
		}
	}
	for l := range lines {
		if strings.HasPrefix(l, "fluentd_status_") && strings.Contains(l, "out_null") {
			t.Errorf("%s: prometheus_monitor reports buffered plugins only", l)
		}
		if strings.HasPrefix(l, "fluentd_output_status_buffer_") && strings.Contains(l, "out_null") {
			t.Errorf("%s: an output without a buffer has no buffer gauges", l)
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", body)
	}
}

// TestMonitor_SecondOfAKind: a second source of the same kind adds no
// metrics (and is no error); an unknown kind is refused.
func TestMonitor_SecondOfAKind(t *testing.T) {
	reg := prom.NewRegistry()
	m := &plugintest.Metrics{Registry: reg}
	first := MonitorConfig{Kind: "prometheus_output_monitor"}
	second := MonitorConfig{Kind: "prometheus_output_monitor", Labels: []Label{{Name: "x", Value: "1"}}}
	for _, c := range []MonitorConfig{first, second} {
		if _, err := c.NewSource(deps(t, m)); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
	}
	if _, body := scrape(t, m.Handler(), "/metrics"); strings.Contains(body, `x="1"`) {
		t.Errorf("the second monitor added metrics:\n%s", body)
	}
	if _, err := (&MonitorConfig{Kind: "prometheus_other"}).NewSource(deps(t, m)); err == nil {
		t.Error("unknown monitor kind: no error")
	}
}

// TestServer_OwnListener serves the registry on its own port at both paths.
func TestServer_OwnListener(t *testing.T) {
	m := &plugintest.Metrics{Registry: prom.NewRegistry()}
	if _, err := (&MonitorConfig{Kind: "prometheus_output_monitor"}).NewSource(deps(t, m)); err != nil {
		t.Fatal(err)
	}
	src, err := (&Config{Bind: "127.0.0.1", Port: 0, MetricsPath: "/m", AggregatedMetricsPath: "/aggregated_metrics"}).NewSource(deps(t, m))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := src.(*Server)
	if !ok {
		t.Fatalf("source %T, want its own *Server", src)
	}
	ln, err := s.lis.Listen(s.addr, "prometheus source") // before Run, to learn the port
	if err != nil {
		t.Fatal(err)
	}
	stop := plugintest.Run(s.Run)
	get := func(path string) (int, string) { return plugintest.Get(t, "http://"+ln.Addr().String()+path) }
	if code, body := get("/m"); code != 200 || !strings.Contains(body, `fluentd_output_status_emit_records{plugin_id="out_null",type="null"} 5`) {
		t.Errorf("/m = %d\n%s", code, body)
	}
	if code, _ := get("/aggregated_metrics"); code != 200 {
		t.Errorf("/aggregated_metrics = %d", code)
	}
	if code, _ := get("/metrics"); code != 404 {
		t.Errorf("/metrics = %d, want 404 (metrics_path is /m)", code)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestServer_SharesOps: on the ops port the paths go to the ops listener and
// the source has no listener of its own.
func TestServer_SharesOps(t *testing.T) {
	m := &plugintest.Metrics{Registry: prom.NewRegistry(), Shares: true}
	src, err := (&Config{Bind: "0.0.0.0", Port: 2021, MetricsPath: "/metrics", AggregatedMetricsPath: "/fluentd/metrics"}).NewSource(deps(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.(*Server); ok {
		t.Fatal("a source on the ops port has its own listener")
	}
	if m.Ops("/fluentd/metrics") == nil || m.Ops("/metrics") == nil {
		t.Errorf("ops handlers: /fluentd/metrics %v, /metrics %v; want both", m.Ops("/fluentd/metrics"), m.Ops("/metrics"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := src.Run(ctx); err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, err := (&Config{}).NewSource(plugin.SourceDeps{Log: zaptest.NewLogger(t)}); err == nil {
		t.Error("NewSource without metrics: no error")
	}
}
