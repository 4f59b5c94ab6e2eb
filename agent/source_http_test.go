package agent

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"logship/buffer"
	"logship/config"
	"logship/internal/e2etest"
	"logship/source/httpsource"
)

// blockedOutput accepts nothing until released (a CloudWatch outage with a
// full buffer): Emit waits, holding the router.
type blockedOutput struct{ release chan struct{} }

func (b blockedOutput) Emit(ctx context.Context, _ []buffer.Record) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-b.release:
		return nil
	}
}

// TestAgent_LivenessUnderBackPressure runs a whole agent whose only output is
// blocked: the seed's liveness probe keeps getting 200 within the kubelet's
// 1 s timeout, and the records beyond the queue are counted as dropped.
func TestAgent_LivenessUnderBackPressure(t *testing.T) {
	port := e2etest.FreePort(t)
	cfgText := fmt.Sprintf("<source>\n  type http\n  port %d\n  bind 127.0.0.1\n</source>\n<match **>\n  type stdout\n</match>\n", port)
	p := e2etest.Pipeline(t, cfgText, t.TempDir(), config.BuildOptions{StateDir: t.TempDir()})
	reg := prometheus.NewRegistry()
	release := make(chan struct{})
	a, err := New(p, Options{Log: zaptest.NewLogger(t), Registry: reg,
		OutputOverride: func(*config.Output, buffer.Acker) Output { return blockedOutput{release} }})
	if err != nil {
		t.Fatal(err)
	}
	stop := StartForTest(t, a)
	client := &http.Client{Timeout: 2 * time.Second}
	probe := fmt.Sprintf("http://127.0.0.1:%d/fluentd.pod.healthcheck?json=%%7B%%22log%%22%%3A+%%22health+check%%22%%7D", port)
	const probes = httpsource.DefaultQueue + 20
	ok := 0
	for i := 0; i < probes; i++ {
		start := time.Now()
		resp, err := client.Get(probe)
		if err != nil {
			if i == 0 || ok == 0 {
				time.Sleep(20 * time.Millisecond) // the listener is not up yet
				i--
				if time.Since(start) > 10*time.Second {
					t.Fatal(err)
				}
				continue
			}
			t.Fatalf("probe %d: %v", i, err)
		}
		resp.Body.Close()
		ok++
		if resp.StatusCode != 200 {
			t.Fatalf("probe %d: status %d", i, resp.StatusCode)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("probe %d took %v", i, d)
		}
	}
	// Read through the registry (its collector synchronises with build),
	// once the output is released: the agent's own collector takes the
	// router's lock, which the blocked output holds.
	close(release)
	var d float64
	for k, v := range gather(t, reg) {
		if strings.HasPrefix(k, "logship_http_dropped_records_total{") {
			f, _ := strconv.ParseFloat(v, 64)
			d += f
		}
	}
	if d < 19 {
		t.Errorf("dropped = %v, want at least %d (queue %d, one record in the blocked emit)", d, 19, httpsource.DefaultQueue)
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
}
