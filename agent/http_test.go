package agent_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"logship/agent"
)

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
