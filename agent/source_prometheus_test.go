package agent

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"logship/config"
	"logship/internal/e2etest"
	"logship/plugin/plugintest"
)

// TestAgent_SeedSources runs an agent with the seed's source set (http,
// prometheus on the ops port, prometheus_tail_monitor) ahead of a tail
// source: the probe answers 200, the prometheus source shares the ops
// listener, and the tail monitor reports the file's committed position and
// inode under its glob path.
func TestAgent_SeedSources(t *testing.T) {
	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	os.MkdirAll(logDir, 0o755)
	logFile := filepath.Join(logDir, "app.log")
	content := "one\ntwo\nthree\n"
	if err := os.WriteFile(logFile, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	ops, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opsPort := ops.Addr().(*net.TCPAddr).Port
	httpPort := e2etest.FreePort(t)
	// The tail source comes after the plugin sources, as in the seed: its
	// acknowledgements must still reach it (a regression test: Agent.Ack once
	// indexed tail sources by their position among all sources).
	cfgText := fmt.Sprintf(`
<source>
  type http
  port %[1]d
  bind 127.0.0.1
</source>
<source>
  @type prometheus
  bind 127.0.0.1
  port %[2]d
  metrics_path /metrics
  aggregated_metrics_path /fluentd/metrics
</source>
<source>
  @type prometheus_tail_monitor
  @id tailmon
</source>
<source>
  @type tail
  @id app
  path %[3]s/*.log
  pos_file %[4]s/app.pos
  tag app.*
  read_from_head true
  format none
</source>
<match **>
  @type null
</match>
`, httpPort, opsPort, logDir, dir)
	p := e2etest.Pipeline(t, cfgText, dir, config.BuildOptions{StateDir: filepath.Join(dir, "state")})
	reg := prometheus.NewRegistry()
	a, err := New(p, Options{Log: zaptest.NewLogger(t), Registry: reg, OpsListener: ops, OpsAddr: ops.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	stop := StartForTest(t, a)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	// The liveness probe.
	probe := fmt.Sprintf("http://127.0.0.1:%d/fluentd.pod.healthcheck?json=%%7B%%22log%%22%%3A+%%22health+check%%22%%7D", httpPort)
	var resp *http.Response
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err = http.Get(probe)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("probe status %d", resp.StatusCode)
	}

	// The tail monitor on the shared ops listener: the position reaches the
	// file's size once the null output has acknowledged the lines.
	// Fluentd labels the files with the tail plugin's id and type.
	fi, _ := os.Stat(logFile)
	ino := fi.Sys().(*syscall.Stat_t).Ino
	labels := fmt.Sprintf(`{path="%s",plugin_id="app",type="tail"}`, logFile)
	want := map[string]string{
		"fluentd_tail_file_position" + labels:                                                strconv.Itoa(len(content)),
		"fluentd_tail_file_inode" + labels:                                                   strconv.FormatUint(ino, 10),
		`logship_tail_lines_read_total{source="app"}`:                                        "3",
		`logship_http_records_total{source="` + filepath.Join(dir, "fluent.conf") + `:2:1"}`: "1",
	}
	var got map[string]string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = gather(t, reg)
		if mapsSubset(got, want) {
			break
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	_, body := plugintest.Get(t, "http://"+ops.Addr().String()+"/metrics")
	if !strings.Contains(body, "fluentd_tail_file_position"+labels+" 14") {
		t.Errorf("the ops listener's /metrics lacks the tail position:\n%s", grepLines(body, "fluentd_"))
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grepLines(body, "fluentd_|logship_tail|logship_http"))
	}
	// The aggregated path is added to the ops server.
	if code, body := plugintest.Get(t, "http://"+ops.Addr().String()+"/fluentd/metrics"); code != 200 || !strings.Contains(body, "fluentd_tail_file_inode") {
		t.Errorf("/fluentd/metrics = %d", code)
	}
}

// gather returns the registry's samples as "name{labels}" → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[mf.GetName()+labelString(m)] = valueString(mf, m)
		}
	}
	return got
}

func mapsSubset(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func grepLines(s, alts string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, a := range strings.Split(alts, "|") {
			if strings.HasPrefix(l, a) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

func TestAgent_SharesOpsPort(t *testing.T) {
	tests := []struct {
		ops, bind string
		port      int
		want      bool
	}{
		{":24231", "0.0.0.0", 24231, true},
		{"0.0.0.0:24231", "127.0.0.1", 24231, true},
		{"127.0.0.1:24231", "127.0.0.1", 24231, true},
		{"127.0.0.1:24231", "10.0.0.1", 24231, false},
		{":2021", "0.0.0.0", 24231, false},
		{"", "0.0.0.0", 24231, false},
		{":0", "0.0.0.0", 0, false},
	}
	for _, tt := range tests {
		a := &Agent{opts: Options{OpsAddr: tt.ops}}
		if got := a.sharesOpsPort(tt.bind, tt.port); got != tt.want {
			t.Errorf("ops %q, source %s:%d: shares = %v, want %v", tt.ops, tt.bind, tt.port, got, tt.want)
		}
	}
}
