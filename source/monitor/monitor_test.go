package monitor

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"logship/buffer"
	"logship/plugin"
	"logship/plugin/plugintest"
)

// agentPlugins is an agent's inventory: two inputs, an unbuffered and a
// buffered output, a filter.
func agentPlugins() *plugintest.Inventory {
	return &plugintest.Inventory{
		List: []plugin.PluginStatus{
			{ID: "mon", Category: "input", Type: "monitor_agent", Config: [][2]string{{"@type", "monitor_agent"}, {"@id", "mon"},
				{"bind", "127.0.0.1"}, {"port", "0"}, {"tag", "fluentd.monitor.metrics"}}},
			{ID: "pm", Category: "input", Type: "prometheus_monitor", Config: [][2]string{{"@type", "prometheus_monitor"}, {"@id", "pm"}}},
			{ID: "out_stdout", Category: "output", Type: "stdout", Config: [][2]string{{"@type", "stdout"}, {"@id", "out_stdout"}},
				Emits: 2, EmitRecords: 5},
			{ID: "out_cw", Category: "output", Type: "cloudwatch_logs", Config: [][2]string{{"@type", "cloudwatch_logs"}, {"@id", "out_cw"},
				{"log_group_name", "g"}, {"aws_sec_key", "xxxxxx"}},
				Buffered: true, Buffer: buffer.Stats{StagedChunks: 1, StagedBytes: 100, QueuedChunks: 2, QueuedBytes: 200, TotalBytes: 300,
					ChunksFlushed: 3, SendErrors: 1, SlowFlushes: 1},
				Emits: 1, EmitRecords: 3},
			{ID: "f_k8s", Category: "filter", Type: "kubernetes_metadata", Config: [][2]string{{"@type", "kubernetes_metadata"}, {"@id", "f_k8s"}}},
		},
		Routes: map[string]int{"app.x": 3, "fluentd.monitor.metrics": 2},
	}
}

// v1 is monitor_agent's configuration in a Fluentd v1 file, as config maps
// its defaults.
var v1 = Config{Bind: "127.0.0.1", Tag: "fluentd.monitor.metrics", EmitInterval: time.Minute, IncludeConfig: true, IncludeRetry: true, V1: true}

func newTest(t *testing.T, cfg Config, emit func(context.Context, []buffer.Record) error) *Source {
	t.Helper()
	if emit == nil {
		emit = func(context.Context, []buffer.Record) error { return nil }
	}
	src, err := cfg.NewSource(plugin.SourceDeps{Name: "mon", Log: zaptest.NewLogger(t), Emit: emit, Inventory: agentPlugins()})
	if err != nil {
		t.Fatal(err)
	}
	return src.(*Source)
}

// TestSource_PluginsJSON checks the v1 answer byte for byte: Fluentd's
// field names, in its order, from the inventory's values.
func TestSource_PluginsJSON(t *testing.T) {
	srv := httptest.NewServer(newTest(t, v1, nil).handler())
	defer srv.Close()
	code, body := plugintest.Get(t, srv.URL+"/api/plugins.json")
	want := `{"plugins":[` + strings.Join([]string{
		`{"plugin_id":"mon","plugin_category":"input","type":"monitor_agent","config":{"@type":"monitor_agent","@id":"mon","bind":"127.0.0.1","port":"0","tag":"fluentd.monitor.metrics"},"output_plugin":false,"retry_count":null}`,
		`{"plugin_id":"pm","plugin_category":"input","type":"prometheus_monitor","config":{"@type":"prometheus_monitor","@id":"pm"},"output_plugin":false,"retry_count":null}`,
		`{"plugin_id":"out_stdout","plugin_category":"output","type":"stdout","config":{"@type":"stdout","@id":"out_stdout"},"output_plugin":true,"retry_count":0,"emit_records":5,"emit_count":2,"write_count":0,"rollback_count":0,"slow_flush_count":0}`,
		`{"plugin_id":"out_cw","plugin_category":"output","type":"cloudwatch_logs","config":{"@type":"cloudwatch_logs","@id":"out_cw","log_group_name":"g","aws_sec_key":"xxxxxx"},"output_plugin":true,"buffer_queue_length":2,"buffer_total_queued_size":300,"retry_count":1,"emit_records":3,"emit_count":1,"write_count":4,"rollback_count":1,"slow_flush_count":1,"buffer_stage_length":1,"buffer_stage_byte_size":100,"buffer_queue_byte_size":200,"retry":{}}`,
		`{"plugin_id":"f_k8s","plugin_category":"filter","type":"kubernetes_metadata","config":{"@type":"kubernetes_metadata","@id":"f_k8s"},"output_plugin":false,"retry_count":null}`,
	}, ",") + `]}`
	if code != 200 || body != want {
		t.Errorf("/api/plugins.json = %d\n%s\nwant\n%s", code, body, want)
	}

	// include_retry false drops the retry object.
	cfg := v1
	cfg.IncludeRetry = false
	srv2 := httptest.NewServer(newTest(t, cfg, nil).handler())
	defer srv2.Close()
	if _, body := plugintest.Get(t, srv2.URL+"/api/plugins.json?@id=out_cw"); strings.Contains(body, `"retry":`) || !strings.Contains(body, `"buffer_queue_byte_size":200}`) {
		t.Errorf("include_retry false: %s", body)
	}
}

// TestSource_Queries checks the query filters and the other endpoints.
func TestSource_Queries(t *testing.T) {
	srv := httptest.NewServer(newTest(t, v1, nil).handler())
	defer srv.Close()
	for _, tc := range []struct{ q, want string }{
		{"?tag=app.x", "out_cw"}, {"?tag=fluentd.monitor.metrics", "out_stdout"}, {"?@id=pm", "pm"}, {"?id=out_stdout", "out_stdout"},
		{"?@type=stdout", "out_stdout"}, {"?type=kubernetes_metadata", "f_k8s"}, {"?tag=nomatch", ""}, {"?@id=nope", ""}, {"", "mon,pm,out_stdout,out_cw,f_k8s"},
	} {
		_, body := plugintest.Get(t, srv.URL+"/api/plugins.json"+tc.q)
		var got []string
		for _, part := range strings.Split(body, `"plugin_id":"`)[1:] {
			got = append(got, part[:strings.IndexByte(part, '"')])
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%s: plugins %v, want %s", tc.q, got, tc.want)
		}
	}
	if _, body := plugintest.Get(t, srv.URL+"/api/plugins.json?@id=mon&with_config=false"); strings.Contains(body, `"config"`) {
		t.Errorf("with_config=false still has config: %s", body)
	}
	cfg := v1
	cfg.IncludeConfig = false
	srv2 := httptest.NewServer(newTest(t, cfg, nil).handler())
	defer srv2.Close()
	if _, body := plugintest.Get(t, srv2.URL+"/api/plugins.json?@id=mon"); strings.Contains(body, `"config"`) {
		t.Errorf("include_config false still has config: %s", body)
	}
	if _, body := plugintest.Get(t, srv2.URL+"/api/plugins.json?@id=mon&with_config=true"); !strings.Contains(body, `"config":{"@type":"monitor_agent"`) {
		t.Errorf("with_config=true has no config: %s", body)
	}
	_, ltsv := plugintest.Get(t, srv.URL+"/api/plugins?@id=mon")
	if want := "plugin_id:mon\tplugin_category:input\ttype:monitor_agent\toutput_plugin:false\tretry_count:\n"; ltsv != want {
		t.Errorf("LTSV = %q, want %q", ltsv, want)
	}
	if code, body := plugintest.Get(t, srv.URL+"/api/config.json"); code != 200 || !strings.Contains(body, `"pid":`) || !strings.Contains(body, `"ppid":`) {
		t.Errorf("/api/config.json = %d %s", code, body)
	}
	if code, body := plugintest.Get(t, srv.URL+"/api/config"); code != 200 || !strings.HasPrefix(body, "pid:") || !strings.Contains(body, "\tppid:") {
		t.Errorf("/api/config = %d %s", code, body)
	}
}

// testNow is the monitor's injected clock.
var testNow = time.Date(2026, 11, 27, 1, 2, 3, 456789000, time.UTC)

// emitted runs one emission and returns each record's tag, time and JSON.
func emitted(t *testing.T, cfg Config) []string {
	t.Helper()
	var got []string
	m := newTest(t, cfg, func(_ context.Context, recs []buffer.Record) error {
		for _, r := range recs {
			got = append(got, r.Tag+" "+time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano)+" "+string(r.Fields.AppendJSON(nil)))
		}
		return nil
	})
	m.now = func() time.Time { return testNow }
	if err := m.emitOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestSource_Records checks the v0.12 record shape byte for byte, one
// record per plugin, at the current whole second.
func TestSource_Records(t *testing.T) {
	cfg := v1
	cfg.V1 = false
	got := emitted(t, cfg)
	pre := "fluentd.monitor.metrics 2026-11-27T01:02:03Z "
	want := []string{
		pre + `{"plugin_id":"mon","plugin_category":"input","type":"monitor_agent","output_plugin":false,"retry_count":null}`,
		pre + `{"plugin_id":"pm","plugin_category":"input","type":"prometheus_monitor","output_plugin":false,"retry_count":null}`,
		pre + `{"plugin_id":"out_stdout","plugin_category":"output","type":"stdout","output_plugin":true,"retry_count":null}`,
		pre + `{"plugin_id":"out_cw","plugin_category":"output","type":"cloudwatch_logs","output_plugin":true,"buffer_queue_length":2,"buffer_total_queued_size":300,"retry_count":1}`,
		pre + `{"plugin_id":"f_k8s","plugin_category":"filter","type":"kubernetes_metadata","output_plugin":false,"retry_count":null}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// v1 keeps the nanoseconds.
	if got := emitted(t, v1); len(got) != 5 || !strings.HasPrefix(got[0], "fluentd.monitor.metrics 2026-11-27T01:02:03.456789Z ") {
		t.Errorf("v1 records: %q", got)
	}
}

// TestSource_EmitConfig: emit_config adds the plugin's parameters (as the
// inventory gives them, secrets masked) to the emitted records.
func TestSource_EmitConfig(t *testing.T) {
	cfg := v1
	cfg.V1, cfg.EmitConfig = false, true
	got := strings.Join(emitted(t, cfg), "\n")
	for _, want := range []string{
		`{"plugin_id":"mon","plugin_category":"input","type":"monitor_agent","config":{"@type":"monitor_agent","@id":"mon","bind":"127.0.0.1","port":"0","tag":"fluentd.monitor.metrics"},"output_plugin":false,"retry_count":null}`,
		`"config":{"@type":"cloudwatch_logs","@id":"out_cw","log_group_name":"g","aws_sec_key":"xxxxxx"}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in:\n%s", want, got)
		}
	}
	if cfg.EmitConfig = false; strings.Contains(strings.Join(emitted(t, cfg), "\n"), `"config"`) {
		t.Error("records without emit_config carry the config")
	}
}

// TestSource_Run serves the API on a real listener and emits on the
// interval until canceled.
func TestSource_Run(t *testing.T) {
	batches := make(chan []buffer.Record, 16)
	cfg := v1
	cfg.EmitInterval = 20 * time.Millisecond
	m := newTest(t, cfg, func(_ context.Context, recs []buffer.Record) error {
		select {
		case batches <- recs:
		default:
		}
		return nil
	})
	ln, err := m.listen()
	if err != nil {
		t.Fatal(err)
	}
	stop := plugintest.Run(m.Run)
	if code, body := plugintest.Get(t, "http://"+ln.Addr().String()+"/api/plugins.json"); code != 200 || !strings.Contains(body, `"plugin_id":"out_cw"`) {
		t.Errorf("/api/plugins.json = %d %s", code, body)
	}
	select {
	case recs := <-batches:
		if len(recs) != 5 || recs[0].Tag != "fluentd.monitor.metrics" {
			t.Errorf("emitted %d records, first tag %q; want 5 tagged fluentd.monitor.metrics", len(recs), recs[0].Tag)
		}
	case <-time.After(10 * time.Second):
		t.Error("no records emitted within 10s")
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestSource_NoTag: without a tag nothing is emitted; Run only serves.
func TestSource_NoTag(t *testing.T) {
	cfg := v1
	cfg.Tag, cfg.EmitInterval = "", time.Millisecond
	m := newTest(t, cfg, func(context.Context, []buffer.Record) error {
		t.Error("emitted without a tag")
		return nil
	})
	if _, err := m.listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Run(ctx); err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestConfig_NewSource(t *testing.T) {
	if _, err := (&Config{}).NewSource(plugin.SourceDeps{Log: zaptest.NewLogger(t)}); err == nil {
		t.Error("NewSource without an inventory: no error")
	}
	src := New(Config{}, agentPlugins(), nil, zaptest.NewLogger(t))
	if src.cfg.EmitInterval != DefaultEmitInterval {
		t.Errorf("EmitInterval = %v, want the default %v", src.cfg.EmitInterval, DefaultEmitInterval)
	}
}
