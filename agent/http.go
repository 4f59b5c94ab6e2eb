package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health tracks liveness and readiness. Liveness fails only when a loop that
// must keep turning has stopped (the process is wedged) — never because the
// destination is down or the pipeline is back-pressured, so a CloudWatch
// outage does not restart-loop every node's agent.
type Health struct {
	mu     sync.Mutex
	beats  map[string]time.Time
	ready  atomic.Bool
	now    func() time.Time
	stuck  time.Duration
	reason atomic.Value // string: why not ready
}

// DefaultStuckAfter is how long a heartbeat may be silent before liveness fails.
const DefaultStuckAfter = 5 * time.Minute

// NewHealth returns a Health; now nil means time.Now, stuckAfter 0 means
// DefaultStuckAfter.
func NewHealth(now func() time.Time, stuckAfter time.Duration) *Health {
	if now == nil {
		now = time.Now
	}
	if stuckAfter <= 0 {
		stuckAfter = DefaultStuckAfter
	}
	h := &Health{beats: make(map[string]time.Time), now: now, stuck: stuckAfter}
	h.reason.Store("starting")
	return h
}

// Beat records that the named loop is turning.
func (h *Health) Beat(name string) {
	t := h.now()
	h.mu.Lock()
	h.beats[name] = t
	h.mu.Unlock()
}

// Forget stops watching the named loop (it ended normally).
func (h *Health) Forget(name string) {
	h.mu.Lock()
	delete(h.beats, name)
	h.mu.Unlock()
}

// SetReady marks the agent ready (or not, with a reason).
func (h *Health) SetReady(ok bool, reason string) {
	h.ready.Store(ok)
	h.reason.Store(reason)
}

// Live returns nil, or which loops are stuck.
func (h *Health) Live() error {
	now := h.now()
	h.mu.Lock()
	var stuck []string
	for name, t := range h.beats {
		if now.Sub(t) > h.stuck {
			stuck = append(stuck, fmt.Sprintf("%s (silent %s)", name, now.Sub(t).Round(time.Second)))
		}
	}
	h.mu.Unlock()
	if len(stuck) > 0 {
		sort.Strings(stuck)
		return fmt.Errorf("stuck: %v", stuck)
	}
	return nil
}

// Ready returns nil when ready.
func (h *Health) Ready() error {
	if h.ready.Load() {
		return nil
	}
	return errors.New(h.reason.Load().(string))
}

// OpsServer serves /metrics, /healthz and /readyz.
type OpsServer struct {
	addr   string
	reg    *prometheus.Registry
	health *Health
	extra  map[string]http.Handler
}

// NewOpsServer returns the server; extra adds handlers by path.
func NewOpsServer(addr string, reg *prometheus.Registry, h *Health, extra map[string]http.Handler) *OpsServer {
	return &OpsServer{addr: addr, reg: reg, health: h, extra: extra}
}

// Handler returns the mux.
func (s *OpsServer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := s.health.Live(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := s.health.Ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	for p, h := range s.extra {
		mux.Handle(p, h)
	}
	return mux
}

// Listen binds the address (so a port conflict fails at start).
func (s *OpsServer) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("ops listener: %w", err)
	}
	return ln, nil
}

// Serve serves on ln until ctx is done.
func (s *OpsServer) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("ops server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("ops server shutdown: %w", err)
	}
	return nil
}
