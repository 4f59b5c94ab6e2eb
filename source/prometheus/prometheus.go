// Package prometheus is the fluent-plugin-prometheus family of sources:
// `prometheus` serves the agent's registry — logship's own logship_*
// metrics plus the Fluentd-named families the monitor sources register — on
// its bind:port and metrics_path, so dashboards and alerts written for
// Fluentd keep working. It reads the agent through plugin.Metrics and
// plugin.Inventory.
//
// The monitors compute their values at scrape time (Fluentd refreshes them
// every `interval`): prometheus_monitor registers fluentd_status_* for each
// buffered output (labels plugin_id, plugin_category, type),
// prometheus_output_monitor fluentd_output_status_* for each output (labels
// plugin_id, type), prometheus_tail_monitor fluentd_tail_file_{position,inode}
// for each file a tail source follows (labels plugin_id, type, path), each
// with the <labels> of the section. Values: buffer_queue_length is the chunks
// queued, buffer_total_bytes the bytes staged and queued, retry_count and
// num_errors the failed sends, write_count the send attempts, rollback_count
// the failed sends (a failed chunk goes back to the queue), emit_count and
// emit_records what the router handed the output; the tail position is the
// committed (acknowledged) offset, not the read offset.
// fluentd_output_status_retry_wait is not exported: the buffer does not expose
// its retry schedule.
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"logship/plugin"
)

// Defaults of the prometheus sources, as fluent-plugin-prometheus defines
// them.
const (
	DefaultPort           = 24231
	DefaultMetricsPath    = "/metrics"
	DefaultAggregatedPath = "/aggregated_metrics"
	DefaultInterval       = 5 * time.Second
)

// Config is in_prometheus's configuration: the metrics endpoint.
type Config struct {
	Bind string
	// Port is the TCP port (DefaultPort).
	Port int
	// MetricsPath (DefaultMetricsPath) and AggregatedMetricsPath
	// (DefaultAggregatedPath) both serve the same metrics: logship runs one
	// process, so the per-worker aggregation is the identity.
	MetricsPath           string
	AggregatedMetricsPath string
}

// NewSource implements plugin.SourceConfig: the registry on its own
// listener, or its paths added to the ops listener when the source would
// listen on the ops port (one listener, no conflict).
func (c *Config) NewSource(deps plugin.SourceDeps) (plugin.Source, error) {
	if deps.Metrics == nil {
		return nil, errors.New("prometheus: no metrics registry")
	}
	h := deps.Metrics.Handler()
	if deps.Metrics.ServeOps(c.Bind, c.Port, h, c.MetricsPath, c.AggregatedMetricsPath) {
		deps.Log.Info("prometheus source shares the ops listener (same port)", zap.Int("port", c.Port),
			zap.String("metrics_path", c.MetricsPath))
		return idle{}, nil
	}
	mux := http.NewServeMux()
	mux.Handle(c.MetricsPath, h)
	if c.AggregatedMetricsPath != c.MetricsPath {
		mux.Handle(c.AggregatedMetricsPath, h)
	}
	return &Server{addr: plugin.ListenAddr(c.Bind, c.Port), h: mux, log: deps.Log}, nil
}

// Server serves the metrics endpoint on its own listener.
type Server struct {
	addr string
	h    http.Handler
	log  *zap.Logger
	lis  plugin.Listener
}

// Run serves until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	ln, err := s.lis.Listen(s.addr, "prometheus source")
	if err != nil {
		return err
	}
	return plugin.ServeHTTP(ctx, ln, s.h, "prometheus", s.log)
}

// idle runs until ctx is done: a source with no loop of its own (the
// endpoint on the ops listener; the monitors, whose values are computed at
// scrape time).
type idle struct{}

func (idle) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// MonitorConfig is one of prometheus_monitor, prometheus_output_monitor and
// prometheus_tail_monitor: Fluentd's metric families about its plugins,
// computed by logship at scrape time.
type MonitorConfig struct {
	// Kind is the @type.
	Kind string
	// Interval is Fluentd's refresh period (DefaultInterval); logship
	// computes the values at scrape time, so it has no effect.
	Interval time.Duration
	// Labels are the <labels> section: extra constant labels; "${hostname}"
	// and "${worker_id}" are expanded at run time.
	Labels []Label
}

// Label is one constant metric label.
type Label struct{ Name, Value string }

// NewSource implements plugin.SourceConfig: it registers the monitor's
// families with the agent's registry. A second source of the same kind adds
// nothing (Fluentd would set the same gauges twice).
func (c *MonitorConfig) NewSource(deps plugin.SourceDeps) (plugin.Source, error) {
	if deps.Metrics == nil || deps.Inventory == nil {
		return nil, fmt.Errorf("%s: no metrics registry or plugin inventory", c.Kind)
	}
	col, err := newCollector(*c, deps.Inventory)
	if err != nil {
		return nil, err
	}
	added, err := deps.Metrics.RegisterOnce(c.Kind, col)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Kind, err)
	}
	if !added {
		deps.Log.Warn("a second " + c.Kind + " source adds no metrics")
	}
	return idle{}, nil
}

// collector computes one monitor's families at scrape time.
type collector struct {
	inv   plugin.Inventory
	kind  string
	descs []*prom.Desc

	statusQueue, statusBytes, statusRetry                                    *prom.Desc
	outQueue, outBytes, outRetry, outErrors, outEmits, outRecords, outWrites *prom.Desc
	outRollbacks                                                             *prom.Desc
	tailPos, tailInode                                                       *prom.Desc
}

func newCollector(cfg MonitorConfig, inv plugin.Inventory) (*collector, error) {
	base := prom.Labels{}
	host, _ := os.Hostname()
	for _, l := range cfg.Labels {
		v := strings.ReplaceAll(l.Value, "${hostname}", host)
		base[l.Name] = strings.ReplaceAll(v, "${worker_id}", "0")
	}
	c := &collector{inv: inv, kind: cfg.Kind}
	desc := func(name, help string, labels ...string) *prom.Desc {
		d := prom.NewDesc(name, help, labels, base)
		c.descs = append(c.descs, d)
		return d
	}
	switch cfg.Kind {
	case "prometheus_monitor":
		l := []string{"plugin_id", "plugin_category", "type"}
		c.statusQueue = desc("fluentd_status_buffer_queue_length", "Current buffer queue length.", l...)
		c.statusBytes = desc("fluentd_status_buffer_total_bytes", "Current total size of queued buffers.", l...)
		c.statusRetry = desc("fluentd_status_retry_count", "Current retry counts.", l...)
	case "prometheus_output_monitor":
		l := []string{"plugin_id", "type"}
		c.outQueue = desc("fluentd_output_status_buffer_queue_length", "Current buffer queue length.", l...)
		c.outBytes = desc("fluentd_output_status_buffer_total_bytes", "Current total size of queued buffers.", l...)
		c.outRetry = desc("fluentd_output_status_retry_count", "Current retry counts.", l...)
		c.outErrors = desc("fluentd_output_status_num_errors", "Current number of errors.", l...)
		c.outEmits = desc("fluentd_output_status_emit_count", "Current emit counts.", l...)
		c.outRecords = desc("fluentd_output_status_emit_records", "Current emit records.", l...)
		c.outWrites = desc("fluentd_output_status_write_count", "Current write counts.", l...)
		c.outRollbacks = desc("fluentd_output_status_rollback_count", "Current rollback counts.", l...)
	case "prometheus_tail_monitor":
		l := []string{"plugin_id", "type", "path"}
		c.tailPos = desc("fluentd_tail_file_position", "Current position of file.", l...)
		c.tailInode = desc("fluentd_tail_file_inode", "Current inode of file.", l...)
	default:
		return nil, fmt.Errorf("unknown prometheus monitor %q", cfg.Kind)
	}
	return c, nil
}

func (c *collector) Describe(ch chan<- *prom.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prom.Metric) {
	gauge := func(d *prom.Desc, v float64, labels ...string) {
		ch <- prom.MustNewConstMetric(d, prom.GaugeValue, v, labels...)
	}
	for i, p := range c.inv.Plugins() {
		switch c.kind {
		case "prometheus_monitor":
			if !p.Buffered {
				continue
			}
			st := p.Buffer
			gauge(c.statusQueue, float64(st.QueuedChunks), p.ID, p.Category, p.Type)
			gauge(c.statusBytes, float64(st.TotalBytes), p.ID, p.Category, p.Type)
			gauge(c.statusRetry, float64(st.SendErrors), p.ID, p.Category, p.Type)
		case "prometheus_output_monitor":
			if p.Category != "output" {
				continue
			}
			gauge(c.outEmits, float64(p.Emits), p.ID, p.Type)
			gauge(c.outRecords, float64(p.EmitRecords), p.ID, p.Type)
			if !p.Buffered {
				gauge(c.outErrors, 0, p.ID, p.Type)
				gauge(c.outWrites, 0, p.ID, p.Type)
				gauge(c.outRollbacks, 0, p.ID, p.Type)
				continue
			}
			st := p.Buffer
			gauge(c.outQueue, float64(st.QueuedChunks), p.ID, p.Type)
			gauge(c.outBytes, float64(st.TotalBytes), p.ID, p.Type)
			gauge(c.outRetry, float64(st.SendErrors), p.ID, p.Type)
			gauge(c.outErrors, float64(st.SendErrors), p.ID, p.Type)
			gauge(c.outWrites, float64(st.ChunksFlushed+st.SendErrors), p.ID, p.Type)
			gauge(c.outRollbacks, float64(st.SendErrors), p.ID, p.Type)
		case "prometheus_tail_monitor":
			for _, f := range c.inv.TailFiles(i) {
				gauge(c.tailPos, float64(f.Position), p.ID, p.Type, f.Path)
				gauge(c.tailInode, float64(f.Inode), p.ID, p.Type, f.Path)
			}
		}
	}
}
