package agent_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"logship/internal/e2etest"
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
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(probe)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("probe status %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}

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
