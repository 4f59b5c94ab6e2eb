package agent_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"logship/internal/e2etest"
	"logship/plugin/plugintest"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

// seedSideStreams is the seed's general.conf (http and monitor_agent sources
// on test ports, a 1 s emit interval) with its output.conf pointed at the
// emulator.
const seedSideStreams = `
<match fluent.**>
  type null
</match>
<source>
  @type http
  port {{HTTP}}
  bind 127.0.0.1
</source>
<source>
  @type monitor_agent
  bind 127.0.0.1
  port {{MON}}
  tag fluentd.monitor.metrics
  emit_interval 1s
</source>
<match **>
  type cloudwatch_logs
  log_group_name kubernetes-cluster
  log_stream_name fluentd-cloudwatch-demo
  auto_create_stream true
  {{EMULATOR}}
  flush_interval 1s
</match>
`

// TestAgent_SeedSideStreams: the seed's liveness record and monitor_agent
// records reach CloudWatch in the shared stream with the message bytes
// Fluentd v0.12 sends (R1.1, R1.2), and /api/plugins.json answers on the
// monitor port.
func TestAgent_SeedSideStreams(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	httpPort, monPort := fmt.Sprint(e2etest.FreePort(t)), fmt.Sprint(e2etest.FreePort(t))
	cfg := e2etest.Config(seedSideStreams, "", env, "{{HTTP}}", httpPort, "{{MON}}", monPort)
	stop := runAgent(t, cfg, t.TempDir(), zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))

	probe := "http://127.0.0.1:" + httpPort + "/fluentd.pod.healthcheck?json=%7B%22log%22%3A+%22health+check%22%7D"
	plugintest.Answered(t, func() (*http.Response, error) { return http.Get(probe) })

	resp, err := http.Get("http://127.0.0.1:" + monPort + "/api/plugins.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var doc struct {
		Plugins []map[string]any `json:"plugins"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Plugins) != 4 {
		t.Errorf("/api/plugins.json: %v, %d plugins, want 4 (2 inputs, 2 outputs): %s", err, len(doc.Plugins), body)
	}

	wantHealth := `{"log":"health check"}`
	wantMonitor := `{"plugin_id":"object:`
	wantCW := `","plugin_category":"output","type":"cloudwatch_logs","output_plugin":true,"buffer_queue_length":`
	var msgs []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		msgs = env.Messages("kubernetes-cluster", "fluentd-cloudwatch-demo")
		all := strings.Join(msgs, "\n")
		if strings.Contains(all, wantHealth) && strings.Contains(all, wantCW) {
			break
		}
	}
	if err := stop(); err != nil {
		t.Errorf("agent: %v", err)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{wantHealth, wantMonitor, wantCW,
		`","plugin_category":"input","type":"http","output_plugin":false,"retry_count":null}`} {
		if !strings.Contains(all, want) {
			t.Errorf("CloudWatch lacks %s; messages:\n%s", want, all)
		}
	}
}

// monitorSources has the agent-reporting sources on their own ports beside
// an http source feeding a buffered cloudwatch_logs output that does not
// flush before the agent stops.
const monitorSources = `
<source>
  @type http
  bind 127.0.0.1
  port {{HTTP}}
</source>
<source>
  @id mon
  @type monitor_agent
  bind 127.0.0.1
  port {{MON}}
</source>
<source>
  @type prometheus
  bind 127.0.0.1
  port {{PROM}}
  metrics_path /m
</source>
<source>
  @type prometheus_monitor
</source>
<source>
  @type prometheus_output_monitor
</source>
<match app.**>
  @type cloudwatch_logs
  @id out_cw
  log_group_name g
  log_stream_name s
  auto_create_stream true
  {{EMULATOR}}
  <buffer>
    flush_interval 1h
  </buffer>
</match>
<match **>
  @type null
  @id out_null
</match>
`

// TestAgent_MonitorSources runs an agent and reads it as Fluentd's
// tooling does: records posted to the http source show in the running
// agent's /api/plugins.json (emit counts, buffer sizes, masked secrets, the
// output of a tag) and in the prometheus source's own listener, whose
// Fluentd families agree with logship's own buffer metrics.
func TestAgent_MonitorSources(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	httpPort, monPort, promPort := fmt.Sprint(e2etest.FreePort(t)), fmt.Sprint(e2etest.FreePort(t)), fmt.Sprint(e2etest.FreePort(t))
	cfg := e2etest.Config(monitorSources, "", env, "{{HTTP}}", httpPort, "{{MON}}", monPort, "{{PROM}}", promPort)
	stop := runAgent(t, cfg, t.TempDir(), zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("agent: %v", err)
		}
	}()
	get := func(url string) (int, string, error) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	post := "http://127.0.0.1:" + httpPort + "/app.x?json=" + url.QueryEscape(`[{"log":"a"},{"log":"b"},{"log":"c"}]`)
	plugintest.Answered(t, func() (*http.Response, error) { return http.Post(post, "", nil) })

	type plugins struct {
		Plugins []map[string]any `json:"plugins"`
	}
	plugin := func(query string) []map[string]any {
		t.Helper()
		code, body, err := get("http://127.0.0.1:" + monPort + "/api/plugins.json" + query)
		var doc plugins
		if err == nil {
			err = json.Unmarshal([]byte(body), &doc)
		}
		if err != nil || code != 200 {
			t.Fatalf("/api/plugins.json%s: %d %v: %s", query, code, err, body)
		}
		return doc.Plugins
	}
	var cw map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ps := plugin("?@id=out_cw"); len(ps) == 1 && ps[0]["emit_records"] == float64(3) {
			cw = ps[0]
			break
		}
	}
	if cw == nil {
		t.Fatalf("out_cw never reported 3 records emitted: %v", plugin("?@id=out_cw"))
	}
	if n, ok := cw["emit_count"].(float64); !ok || n < 1 || n > 3 {
		t.Errorf("out_cw emit_count = %v, want 1 to 3 (the http source may hand the records over in pieces)", cw["emit_count"])
	}
	total, _ := cw["buffer_total_queued_size"].(float64)
	for k, v := range map[string]any{"plugin_category": "output", "type": "cloudwatch_logs", "output_plugin": true,
		"buffer_queue_length": float64(0), "retry_count": float64(0), "write_count": float64(0), "rollback_count": float64(0),
		"buffer_stage_length": float64(1), "buffer_stage_byte_size": total} {
		if cw[k] != v {
			t.Errorf("out_cw %s = %v, want %v", k, cw[k], v)
		}
	}
	if total == 0 {
		t.Error("out_cw buffer_total_queued_size = 0, want the three records' bytes")
	}
	if c, _ := cw["config"].(map[string]any); c["aws_sec_key"] != "xxxxxx" || c["aws_key_id"] != "xxxxxx" || c["log_group_name"] != "g" {
		t.Errorf("out_cw config = %v, want secrets masked", c)
	}
	if ps := plugin("?tag=app.y"); len(ps) != 1 || ps[0]["plugin_id"] != "out_cw" {
		t.Errorf("?tag=app.y: %v, want out_cw", ps)
	}
	if ps := plugin("?tag=other"); len(ps) != 1 || ps[0]["plugin_id"] != "out_null" {
		t.Errorf("?tag=other: %v, want out_null", ps)
	}
	if ps := plugin(""); len(ps) != 7 || ps[0]["type"] != "http" || ps[1]["plugin_id"] != "mon" {
		t.Errorf("plugins: %d, want 7 (5 inputs, 2 outputs) from the http source: %v", len(ps), ps)
	}

	code, body, err := get("http://127.0.0.1:" + promPort + "/m")
	if err != nil || code != 200 {
		t.Fatalf("/m: %d %v", code, err)
	}
	sizes := fmt.Sprint(total)
	for _, want := range []string{
		`fluentd_output_status_emit_records{plugin_id="out_cw",type="cloudwatch_logs"} 3`,
		`fluentd_output_status_emit_records{plugin_id="out_null",type="null"} 0`,
		`fluentd_output_status_buffer_total_bytes{plugin_id="out_cw",type="cloudwatch_logs"} ` + sizes,
		`fluentd_status_buffer_total_bytes{plugin_category="output",plugin_id="out_cw",type="cloudwatch_logs"} ` + sizes,
		`logship_buffer_total_bytes{output="out_cw"} ` + sizes,
	} {
		if !strings.Contains(body, "\n"+want+"\n") {
			t.Errorf("/m lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/m:\n%s", body)
	}
	if code, _, err := get("http://127.0.0.1:" + promPort + "/aggregated_metrics"); err != nil || code != 200 {
		t.Errorf("/aggregated_metrics = %d %v", code, err)
	}
}
