package agent

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"logship/buffer"
	"logship/config"
	"logship/plugin"
)

// pluginSource builds the runtime of a source whose configuration is in
// config.Source.Plugin: a plugin.SourceConfig (http, systemd), or one of the
// sources that report the agent itself (monitor_agent, prometheus,
// prometheus_*_monitor), which live here because they read the agent's
// state. Its records enter the router with a.router.Emit(ctx, sc.Label,
// recs), Source 0.
func (a *Agent) pluginSource(sc *config.Source) (sourceRunner, error) {
	sh := a.sourceShared()
	name := sourceName(sc)
	log := a.log.With(zap.String("source", name), zap.String("type", sc.Type))
	emit := func(ctx context.Context, recs []buffer.Record) error { return a.router.Emit(ctx, sc.Label, recs) }
	switch cfg := sc.Plugin.(type) {
	case plugin.SourceConfig:
		src, err := cfg.NewSource(plugin.SourceDeps{Name: name, Log: log, Emit: emit})
		if err != nil {
			return nil, err
		}
		if c, ok := src.(plugin.Collector); ok {
			sh.addCollector(name, c)
		}
		return &sharedRunner{sh: sh, sourceRunner: pluginRunner{src}}, nil
	case *config.MonitorAgentSource:
		m := newMonitorAgent(*cfg, sh, emit, log)
		return &sharedRunner{sh: sh, sourceRunner: m}, nil
	case *config.PrometheusSource:
		p, err := a.newPrometheusSource(*cfg, log)
		if err != nil {
			return nil, err
		}
		return &sharedRunner{sh: sh, sourceRunner: p}, nil
	case *config.PrometheusMonitorSource:
		if err := sh.registerMonitor(a.opts.Registry, *cfg); err != nil {
			return nil, err
		}
		return &sharedRunner{sh: sh, sourceRunner: idleRunner{}}, nil
	}
	return nil, fmt.Errorf("source %q has no runtime", sc.Type)
}

// pluginRunner runs a plugin.Source.
type pluginRunner struct{ src plugin.Source }

func (r pluginRunner) run(ctx context.Context) error { return r.src.Run(ctx) }

// sourceName identifies a source in logs and metrics: its @id, else its
// position.
func sourceName(sc *config.Source) string {
	if id := sc.Section.ID(); id != "" {
		return id
	}
	return sc.Section.Pos.String()
}

// idleRunner runs until ctx is done (the prometheus monitors have no loop:
// their values are computed at scrape time).
type idleRunner struct{}

func (idleRunner) run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// sharedRunner carries the state the plugin sources share (found again in
// a.extra by the next pluginSource call).
type sharedRunner struct {
	sh *sourceShared
	sourceRunner
}

// sourceShared is what the plugin sources of one agent share: the Fluentd
// plugin inventory (monitor_agent, prometheus_*), per-output emit counters,
// and the sources' own metrics.
type sourceShared struct {
	a *Agent

	once    sync.Once
	plugins []*fluentdPlugin

	mu         sync.Mutex
	collectors []namedCollector // the plugin sources' own metrics
	monitors   map[string]bool  // prometheus monitor kinds registered
	// countersMap wraps each output to count its emits (see countEmits).
	countersMap map[*output]*countedOutput
}

// sourceShared returns the agent's shared plugin-source state, creating it
// (and registering the sources' collector) on first use.
func (a *Agent) sourceShared() *sourceShared {
	for _, r := range a.extra {
		if s, ok := r.(*sharedRunner); ok {
			return s.sh
		}
	}
	sh := &sourceShared{a: a, monitors: map[string]bool{}}
	// The registry is the agent's own (Options.Registry, defaulted in New):
	// a failure here is a duplicate registration by the caller.
	if err := a.opts.Registry.Register(sourceCollector{sh}); err != nil {
		a.log.Warn("plugin source metrics not registered", zap.Error(err))
	}
	sh.countEmits()
	return sh
}

// namedCollector is a source's metrics with the source's name.
type namedCollector struct {
	name string
	c    plugin.Collector
}

func (sh *sourceShared) addCollector(name string, c plugin.Collector) {
	sh.mu.Lock()
	sh.collectors = append(sh.collectors, namedCollector{name, c})
	sh.mu.Unlock()
}

// fluentdPlugin is one plugin as Fluentd's monitor_agent lists it.
type fluentdPlugin struct {
	ID       string // @id, else "object:<hex>" (stable: derived from the position)
	Category string // input, output, filter
	Type     string
	Config   [][2]string // parameters as written, secrets masked
	out      *output     // outputs only
	counter  *countedOutput
	tail     *tailSource // tail inputs only
}

// secretParams are masked in include_config answers, as Fluentd v1 masks
// parameters declared secret.
var secretParams = []string{"aws_key_id", "aws_sec_key", "password", "secret", "token", "client_key", "bearer_token"}

func pluginConfig(s *config.Section) [][2]string {
	out := make([][2]string, 0, len(s.Params))
	for _, p := range s.Params {
		v := p.Value
		for _, sec := range secretParams {
			if strings.Contains(p.Key, sec) {
				v = "xxxxxx"
				break
			}
		}
		key := p.Key
		if p.From != "" {
			key = p.From
		}
		out = append(out, [2]string{key, v})
	}
	return out
}

// pluginID is Fluentd's plugin_id: @id, or an "object:<12 hex>" name, here
// derived from the directive's position so it is stable across restarts.
func pluginID(s *config.Section) string {
	for _, p := range s.Params {
		if p.Key == "@id" && p.Value != "" {
			return p.Value
		}
	}
	h := fnv.New64a()
	h.Write([]byte(s.Pos.String()))
	return "object:" + strconv.FormatUint(h.Sum64()&(1<<48-1), 16)
}

// inventory lists the plugins once: inputs, then outputs, then filters (as
// Fluentd's root agent lists them). It reads configuration sections, so the
// first call must come from build (single goroutine).
func (sh *sourceShared) inventory() []*fluentdPlugin {
	sh.once.Do(func() {
		a := sh.a
		tails := map[*config.Source]*tailSource{}
		for _, t := range a.sources {
			tails[t.cfg] = t
		}
		for _, sc := range a.p.Sources {
			sh.plugins = append(sh.plugins, &fluentdPlugin{ID: pluginID(sc.Section), Category: "input", Type: sc.Type,
				Config: pluginConfig(sc.Section), tail: tails[sc]})
		}
		outs := map[*config.Section]*output{}
		for _, o := range a.outputs {
			outs[o.cfg.Section] = o
		}
		var filters []*fluentdPlugin
		for _, sec := range a.p.Order {
			if o := outs[sec]; o != nil {
				sh.plugins = append(sh.plugins, &fluentdPlugin{ID: pluginID(sec), Category: "output", Type: o.cfg.Type,
					Config: pluginConfig(sec), out: o, counter: sh.counterOf(o)})
				continue
			}
			if f := a.p.Filters[sec]; f != nil {
				filters = append(filters, &fluentdPlugin{ID: pluginID(sec), Category: "filter", Type: f.Type, Config: pluginConfig(sec)})
			}
		}
		sh.plugins = append(sh.plugins, filters...)
	})
	return sh.plugins
}

// countedOutput counts an output's Emit calls and records (Fluentd's
// emit_count and emit_records).
type countedOutput struct {
	Output
	o       *output
	emits   atomic.Uint64
	records atomic.Uint64
}

// Emit counts and forwards.
func (c *countedOutput) Emit(ctx context.Context, recs []buffer.Record) error {
	c.emits.Add(1)
	c.records.Add(uint64(len(recs)))
	return c.Output.Emit(ctx, recs)
}

func (sh *sourceShared) counterOf(o *output) *countedOutput {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.counters()[o]
}

// counters is built by countEmits; guarded by mu.
func (sh *sourceShared) counters() map[*output]*countedOutput {
	if sh.countersMap == nil {
		sh.countersMap = map[*output]*countedOutput{}
	}
	return sh.countersMap
}

// countEmits wraps the router's resolver so that every output it returns
// counts its emits. It runs during build, before any record is routed.
func (sh *sourceShared) countEmits() {
	a := sh.a
	if a.router == nil {
		return
	}
	sh.mu.Lock()
	m := sh.counters()
	for _, o := range a.outputs {
		if o.emit != nil {
			m[o] = &countedOutput{Output: o.emit, o: o}
		}
	}
	sh.mu.Unlock()
	inner := a.router.resolve
	a.router.resolve = func(label, tag string) ([]Filter, Output) {
		fs, out := inner(label, tag)
		if out == nil {
			return fs, nil
		}
		t := reflect.TypeOf(out)
		if !t.Comparable() {
			return fs, out
		}
		sh.mu.Lock()
		defer sh.mu.Unlock()
		for o, c := range m {
			if reflect.TypeOf(o.emit) == t && o.emit == out {
				return fs, c
			}
		}
		return fs, out
	}
}

// listenAddr joins Fluentd's bind and port ("0.0.0.0" stays IPv4-only, as
// Fluentd binds it).
func listenAddr(bind string, port int) string {
	return net.JoinHostPort(strings.Trim(bind, "[]"), strconv.Itoa(port))
}

// sourceCollector exports the plugin sources' own metrics. The sources are
// built after it is registered, so it is unchecked (Describe sends
// nothing): each source's descriptors are its own (plugin.Collector).
type sourceCollector struct{ sh *sourceShared }

func (c sourceCollector) Describe(chan<- *prometheus.Desc) {}

func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	c.sh.mu.Lock()
	cs := c.sh.collectors
	c.sh.mu.Unlock()
	for _, nc := range cs {
		nc.c.Collect(nc.name, ch)
	}
}

// errAlreadyRegistered reports whether err says the collector is there.
func errAlreadyRegistered(err error) bool {
	var are prometheus.AlreadyRegisteredError
	return errors.As(err, &are)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
