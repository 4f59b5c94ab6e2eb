package agent_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"logship/agent"
	"logship/config"
	"logship/internal/e2etest"
	"logship/internal/kubelog"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

var metricsConfig = e2etest.CRISource("@id cri") + e2etest.Output("metrics", "node-1", "flush_interval 0.2s", "retry_wait 0.1s")

// scrape fetches /metrics from addr and returns the value of the first
// sample whose name (and labels) start with prefix, and whether it was found.
func scrape(t *testing.T, addr, prefix string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		return v, true
	}
	return 0, false
}

// TestMetrics_CorruptPositions starts an agent whose positions file under
// the state dir holds random bytes: the agent must keep running, move the
// file aside to .bad, re-read the container file from its head, and count
// the corruption in /metrics, scraped over 127.0.0.1 as Prometheus would.
func TestMetrics_CorruptPositions(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	root, state := t.TempDir(), t.TempDir()
	node := &kubelog.Node{Root: filepath.Join(root, "var", "log"), Start: time.Now().Add(-time.Hour)}
	ctr := addContainer(t, node, "default", "web-1", "app", false)
	const lines = 50
	if _, err := node.Write(ctr, lines, 100); err != nil {
		t.Fatal(err)
	}
	p := e2etest.Pipeline(t, e2etest.Config(metricsConfig, root, env), state,
		config.BuildOptions{StateDir: state, NodeName: "node-1"})
	if len(p.Sources) != 1 || p.Sources[0].Tail == nil {
		t.Fatalf("pipeline sources = %d, want one tail source", len(p.Sources))
	}
	pos := p.Sources[0].Tail.Tail.PositionsFile
	if pos == "" {
		t.Fatal("the tail source has no positions file")
	}
	if err := os.MkdirAll(filepath.Dir(pos), 0o755); err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, 333)
	for i := range garbage {
		garbage[i] = byte(i*131 + 7)
	}
	if err := os.WriteFile(pos, garbage, 0o644); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	a, err := agent.New(p, agent.Options{Log: zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)),
		Registry: prometheus.NewRegistry(), OpsListener: ln, OpsAddr: addr})
	if err != nil {
		t.Fatal(err)
	}
	// The agent must keep running: StartForTest fails the test if it stops by
	// itself.
	stop := agent.StartForTest(t, a)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("agent Run: %v", err)
		}
	}()

	waitTotal(t, env, lines)
	var got float64
	var found bool
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, found = scrape(t, addr, `logship_tail_positions_corrupt_total{source="cri"}`)
		if found || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // the ops server may not listen yet
	}
	if !found || got != 1 {
		t.Errorf("logship_tail_positions_corrupt_total = %v (found %v), want 1", got, found)
	}
	if _, err := os.Stat(pos + ".bad"); err != nil {
		t.Errorf("the corrupt file was not kept aside: %v", err)
	}
	for _, name := range []string{
		`logship_tail_lost_files_total{source="cri"}`, `logship_tail_lost_bytes_total{source="cri"}`,
		`logship_tail_lost_lines_total{source="cri"}`, `logship_tail_files_pinned_total{source="cri"}`,
	} {
		if v, ok := scrape(t, addr, name); !ok || v != 0 {
			t.Errorf("%s = %v (found %v), want 0 in a run that lost nothing", name, v, ok)
		}
	}
	if v, ok := scrape(t, addr, `logship_tail_lines_read_total{source="cri"}`); !ok || v != lines {
		t.Errorf("lines read = %v (found %v), want %d: the file must be re-read from its head", v, ok, lines)
	}
	if n := env.Server.Stats().EventsAccepted; n != lines {
		t.Errorf("%d events accepted, want %d", n, lines)
	}
}

func TestOpsServer(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := agent.NewHealth(func() time.Time { return now }, time.Minute)
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "logship_test_total", Help: "t"})
	reg.MustRegister(c)
	c.Add(3)
	srv := httptest.NewServer(agent.NewOpsServer("", reg, h, nil).Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/readyz"); code != 503 {
		t.Errorf("/readyz before ready = %d, want 503", code)
	}
	h.SetReady(true, "")
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz = %d, want 200", code)
	}
	h.Beat("flush")
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d, want 200", code)
	}
	now = now.Add(2 * time.Minute)
	if code, body := get("/healthz"); code != 503 || !strings.Contains(body, "flush") {
		t.Errorf("/healthz with a silent loop = %d %q, want 503 naming it", code, body)
	}
	h.Forget("flush")
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz after Forget = %d, want 200", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "logship_test_total 3") {
		t.Errorf("/metrics = %d, missing the counter:\n%s", code, body)
	}
}
