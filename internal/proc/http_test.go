package proc

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFreePortsDistinct(t *testing.T) {
	ps, err := FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 || ps[0] == ps[1] || ps[1] == ps[2] || ps[0] == ps[2] || ps[0] <= 0 {
		t.Fatalf("ports %v", ps)
	}
}

func TestMetrics(t *testing.T) {
	var enc string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc = r.Header.Get("Accept-Encoding")
		w.Write([]byte("# HELP a_total x\n# TYPE a_total counter\na_total{x=\"1\"} 2\na_total{x=\"2\"} 3.5\na_total_more 7\nb 1e3\n"))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	m, err := Metrics(addr, func(n string) bool { return strings.HasPrefix(n, "a_") })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m["a_total"] != 5.5 || m["a_total_more"] != 7 {
		t.Fatalf("metrics %v", m)
	}
	if enc != "identity" {
		t.Fatalf("Accept-Encoding %q, want identity", enc)
	}
	if v, err := Metric(addr, "b"); err != nil || v != 1000 {
		t.Fatalf("Metric b = %v, %v", v, err)
	}
	if _, err := Metric(addr, "a"); err == nil {
		t.Fatal("Metric of an absent name: no error")
	}
}

func TestWaitHTTP(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	p := start(t, "sleep", "60")
	if err := WaitHTTP(nil, ok.URL, 10*time.Second, p); err != nil {
		t.Fatal(err)
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer bad.Close()
	if err := WaitHTTP(nil, bad.URL, 300*time.Millisecond, p); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("WaitHTTP of a 503: %v", err)
	}
	p.Kill()
	if err := WaitHTTP(nil, ok.URL, 10*time.Second, p); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("WaitHTTP of an exited process: %v", err)
	}
}
