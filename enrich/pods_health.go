package enrich

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// RequestKey names a kind of API request: Verb is "list", "watch", "get",
// "create", "update", "patch", "delete" or "other"; Resource is the API
// resource ("pods", "namespaces"), "" when the path names none.
type RequestKey struct{ Verb, Resource string }

type podMetrics struct {
	reachable prometheus.Gauge
	failures  prometheus.Counter
	requests  *prometheus.CounterVec
	pods      *prometheus.GaugeVec
}

func newPodMetrics(reg *prometheus.Registry) (podMetrics, error) {
	m := podMetrics{
		reachable: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logship_kubernetes_api_reachable",
			Help: "1 while the Kubernetes API server answers the metadata informers, 0 while it does not (records then carry path metadata only).",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logship_kubernetes_api_failures_total",
			Help: "Kubernetes API requests of the metadata informers that failed (transport error, 401, 403, 429 or 5xx).",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logship_kubernetes_api_requests_total",
			Help: "Kubernetes API requests of the metadata informers, by verb and resource.",
		}, []string{"verb", "resource"}),
		pods: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logship_kubernetes_pods",
			Help: "Pods in the metadata cache: live, or deleted and kept for the grace period.",
		}, []string{"state"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.reachable, m.failures, m.requests, m.pods} {
		if err := reg.Register(c); err != nil {
			return podMetrics{}, fmt.Errorf("register kubernetes metrics: %w", err)
		}
	}
	return m, nil
}

// apiHealth tracks whether the API server is reachable. It logs one line
// when it becomes unreachable and one when it is back, not one per retry.
type apiHealth struct {
	log     *zap.Logger
	metrics podMetrics

	mu     sync.Mutex
	down   bool
	since  time.Time
	counts map[RequestKey]int64
}

// failed records a failed request.
func (h *apiHealth) failed(err error) {
	h.metrics.failures.Inc()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down {
		return
	}
	h.down, h.since = true, time.Now()
	h.metrics.reachable.Set(0)
	h.log.Warn("kubernetes API server unreachable: new pods get metadata from their log path only until it is back; retrying with backoff", zap.Error(err))
}

// ok records a successful request.
func (h *apiHealth) ok() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.metrics.reachable.Set(1)
	if !h.down {
		return
	}
	h.down = false
	h.log.Info("kubernetes API server reachable again", zap.Duration("after", time.Since(h.since).Round(time.Millisecond)))
}

// reachable tells whether the last request succeeded (true before any).
func (h *apiHealth) reachable() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.down
}

func (h *apiHealth) count(k RequestKey) {
	h.metrics.requests.WithLabelValues(k.Verb, k.Resource).Inc()
	h.mu.Lock()
	if h.counts == nil {
		h.counts = make(map[RequestKey]int64)
	}
	h.counts[k]++
	h.mu.Unlock()
}

func (h *apiHealth) requests() map[RequestKey]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.counts)
}

// Reachable tells whether the API server answered the last request (true
// before the first).
func (c *PodCache) Reachable() bool { return c.health.reachable() }

func (c *PodCache) wrapTransport(next http.RoundTripper) http.RoundTripper {
	return &countingTransport{next: next, health: c.health}
}

// countingTransport counts API requests by verb and resource and feeds their
// outcome to apiHealth.
type countingTransport struct {
	next   http.RoundTripper
	health *apiHealth
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.health.count(classifyRequest(req))
	resp, err := t.next.RoundTrip(req)
	switch {
	case err != nil:
		if req.Context().Err() == nil { // not our own cancellation
			t.health.failed(err)
		}
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		t.health.ok()
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden,
		resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		t.health.failed(errors.New(resp.Status))
	}
	return resp, err
}

// classifyRequest derives verb and resource from a request to a core or
// group API path: /api/v1/[namespaces/<ns>/]<resource>[/<name>[/<sub>]].
func classifyRequest(req *http.Request) RequestKey {
	p := strings.Trim(req.URL.Path, "/")
	var segs []string
	switch {
	case strings.HasPrefix(p, "api/"):
		segs = strings.Split(p, "/")[2:] // drop api, v1
	case strings.HasPrefix(p, "apis/"):
		segs = strings.Split(p, "/")
		if len(segs) < 3 {
			return RequestKey{Verb: "other"}
		}
		segs = segs[3:] // drop apis, group, version
	default:
		return RequestKey{Verb: "other"}
	}
	if len(segs) >= 3 && segs[0] == "namespaces" {
		segs = segs[2:] // namespaced resource
	}
	if len(segs) == 0 {
		return RequestKey{Verb: "other"}
	}
	resource, named := segs[0], len(segs) > 1
	verb := "other"
	switch req.Method {
	case http.MethodGet:
		switch {
		case req.URL.Query().Get("watch") == "true" || req.URL.Query().Get("watch") == "1":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
	}
	return RequestKey{Verb: verb, Resource: resource}
}
