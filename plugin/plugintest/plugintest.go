// Package plugintest holds test doubles of what the agent gives the sources
// that report it: a fixed plugin.Inventory and a plugin.Metrics over a
// registry of the test's.
package plugintest

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"logship/buffer"
	"logship/plugin"
)

// Inventory is a fixed plugin list.
type Inventory struct {
	// List is what Plugins returns (a copy).
	List []plugin.PluginStatus
	// Routes maps a tag to the index in List of its output.
	Routes map[string]int
	// Files are the tail files by index in List.
	Files map[int][]plugin.TailFile
}

var _ plugin.Inventory = (*Inventory)(nil)

// Plugins implements plugin.Inventory.
func (inv *Inventory) Plugins() []plugin.PluginStatus { return slices.Clone(inv.List) }

// RouteOutput implements plugin.Inventory.
func (inv *Inventory) RouteOutput(tag string) (int, bool) {
	i, ok := inv.Routes[tag]
	return i, ok
}

// TailFiles implements plugin.Inventory.
func (inv *Inventory) TailFiles(i int) []plugin.TailFile { return inv.Files[i] }

// Metrics is a plugin.Metrics over Registry. With Shares set, ServeOps
// takes every address as the ops listener's and records the handlers in
// Ops.
type Metrics struct {
	Registry *prometheus.Registry
	Shares   bool

	mu   sync.Mutex
	ops  map[string]http.Handler
	keys map[string]bool
}

var _ plugin.Metrics = (*Metrics)(nil)

// Handler implements plugin.Metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// RegisterOnce implements plugin.Metrics.
func (m *Metrics) RegisterOnce(key string, c prometheus.Collector) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys[key] {
		return false, nil
	}
	if err := m.Registry.Register(c); err != nil {
		return false, err
	}
	if m.keys == nil {
		m.keys = map[string]bool{}
	}
	m.keys[key] = true
	return true, nil
}

// ServeOps implements plugin.Metrics.
func (m *Metrics) ServeOps(_ string, _ int, h http.Handler, paths ...string) bool {
	if !m.Shares {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ops == nil {
		m.ops = map[string]http.Handler{}
	}
	for _, p := range paths {
		m.ops[p] = h
	}
	return true
}

// Ops returns the handler ServeOps recorded for path, or nil.
func (m *Metrics) Ops(path string) http.Handler {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ops[path]
}

// Get fetches url and returns the status and body; it fails the test when
// the request does.
func Get(tb testing.TB, url string) (int, string) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// Run runs a source's Run in a goroutine until stop, which cancels it and
// returns Run's error.
func Run(run func(ctx context.Context) error) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// Answered retries req until a server answers it (for 10 s: the server is
// starting) and fails the test unless the answer is 200.
func Answered(tb testing.TB, req func() (*http.Response, error)) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := req()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				tb.Fatalf("status %d, want 200", resp.StatusCode)
			}
			return
		}
		if time.Now().After(deadline) {
			tb.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Rec is a record of tag with one string field m, from source 1 at offset
// off.
func Rec(tag, msg string, off int64) buffer.Record {
	return buffer.Record{Tag: tag, Source: 1, Offset: off, Fields: buffer.Fields{{Key: "m", Value: buffer.Str([]byte(msg))}}}
}

// AckFunc adapts a function to buffer.Acker.
type AckFunc func(recs []buffer.Record)

// Ack implements buffer.Acker.
func (f AckFunc) Ack(recs []buffer.Record) { f(recs) }
