package agent

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"logship/buffer"
	"logship/config"
	"logship/plugin"
)

// pluginSource builds the runtime of a source whose configuration is in
// config.Source.Plugin, through plugin.SourceConfig: the agent never names
// the source's type. The sources that report the agent itself
// (monitor_agent, prometheus, prometheus_*_monitor) read it through the
// Inventory and Metrics of SourceDeps (inventory.go). Its records enter the
// router with a.router.Emit(ctx, sc.Label, recs), Source 0.
func (a *Agent) pluginSource(sc *config.Source) (plugin.Source, error) {
	cfg := sc.Plugin
	if cfg == nil {
		return nil, fmt.Errorf("source %q has no runtime", sc.Type)
	}
	sh := a.sourceShared()
	name := sourceName(sc)
	src, err := cfg.NewSource(plugin.SourceDeps{
		Name: name,
		Log:  a.log.With(zap.String("source", name), zap.String("type", sc.Type)),
		Emit: func(ctx context.Context, recs []buffer.Record) error {
			return a.router.Emit(ctx, sc.Label, recs)
		},
		Inventory: sh,
		Metrics:   sh,
	})
	if err != nil {
		return nil, err
	}
	if c, ok := src.(plugin.Collector); ok {
		sh.addCollector(name, c)
	}
	return src, nil
}

// sourceName identifies a source in logs and metrics: its @id, else its
// position.
func sourceName(sc *config.Source) string {
	if id := sc.Section.ID(); id != "" {
		return id
	}
	return sc.Section.Pos.String()
}

// sourceShared is what the sources other than tail share: the Fluentd
// plugin inventory and per-output emit counters (plugin.Inventory), the
// registry and ops listener (plugin.Metrics), and the sources' own metrics.
type sourceShared struct {
	a *Agent

	once    sync.Once
	plugins []*fluentdPlugin

	mu         sync.Mutex
	collectors []namedCollector // the plugin sources' own metrics
	registered map[string]bool  // RegisterOnce keys
	// countersMap wraps each output to count its emits (see countEmits).
	countersMap map[*output]*countedOutput
}

var (
	_ plugin.Inventory = (*sourceShared)(nil)
	_ plugin.Metrics   = (*sourceShared)(nil)
)

// sourceShared returns the agent's shared plugin-source state, creating it
// (and registering the sources' collector) on first use.
func (a *Agent) sourceShared() *sourceShared {
	if a.shared != nil {
		return a.shared
	}
	sh := &sourceShared{a: a, registered: map[string]bool{}}
	// The registry is the agent's own (Options.Registry, defaulted in New):
	// a failure here is a duplicate registration by the caller.
	if err := a.opts.Registry.Register(sourceCollector{sh}); err != nil {
		a.log.Warn("plugin source metrics not registered", zap.Error(err))
	}
	sh.countEmits()
	a.shared = sh
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
