package agent

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"logship/config"
)

// The prometheus family of sources (fluent-plugin-prometheus): `prometheus`
// serves the agent's registry — logship's own logship_* metrics plus the
// Fluentd-named families the monitor sources register — on its bind:port and
// metrics_path, so dashboards and alerts written for Fluentd keep working.
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

// newPrometheusSource serves the registry, or adds its paths to the ops
// server when it would listen on the ops port (one listener, no conflict).
func (a *Agent) newPrometheusSource(cfg config.PrometheusSource, log *zap.Logger) (sourceRunner, error) {
	h := promhttp.HandlerFor(a.opts.Registry, promhttp.HandlerOpts{Registry: a.opts.Registry})
	if a.sharesOpsPort(cfg.Bind, cfg.Port) {
		extra := maps.Clone(a.opts.OpsHandlers)
		if extra == nil {
			extra = map[string]http.Handler{}
		}
		for _, p := range []string{cfg.MetricsPath, cfg.AggregatedMetricsPath} {
			if p != "/metrics" {
				extra[p] = h
			}
		}
		a.opts.OpsHandlers = extra
		log.Info("prometheus source shares the ops listener (same port)", zap.Int("port", cfg.Port),
			zap.String("metrics_path", cfg.MetricsPath))
		return idleRunner{}, nil
	}
	mux := http.NewServeMux()
	mux.Handle(cfg.MetricsPath, h)
	if cfg.AggregatedMetricsPath != cfg.MetricsPath {
		mux.Handle(cfg.AggregatedMetricsPath, h)
	}
	return &prometheusServer{addr: listenAddr(cfg.Bind, cfg.Port), h: mux, log: log}, nil
}

// sharesOpsPort reports whether bind:port is the ops server's address (same
// port, and the same host or either one a wildcard).
func (a *Agent) sharesOpsPort(bind string, port int) bool {
	if port == 0 {
		return false
	}
	addr := a.opts.OpsAddr
	if a.opts.OpsListener != nil {
		addr = a.opts.OpsListener.Addr().String()
	}
	if addr == "" {
		return false
	}
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	opsPort, err := net.LookupPort("tcp", ps)
	if err != nil || opsPort != port {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" || h == "[::]" }
	return wild(host) || wild(bind) || strings.Trim(bind, "[]") == host
}

// prometheusServer serves the metrics endpoint.
type prometheusServer struct {
	addr string
	h    http.Handler
	log  *zap.Logger
	ln   net.Listener
}

func (p *prometheusServer) run(ctx context.Context) error {
	if p.ln == nil {
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			return fmt.Errorf("prometheus source: %w", err)
		}
		p.ln = ln
	}
	return serveHTTP(ctx, p.ln, p.h, "prometheus", p.log)
}

// registerMonitor registers the Fluentd metric families of one monitor
// source. A second source of the same kind adds nothing (Fluentd would set
// the same gauges twice).
func (sh *sourceShared) registerMonitor(reg *prometheus.Registry, cfg config.PrometheusMonitorSource) error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.monitors[cfg.Kind] {
		sh.a.log.Warn("a second " + cfg.Kind + " source adds no metrics")
		return nil
	}
	base := prometheus.Labels{}
	host, _ := os.Hostname()
	for _, l := range cfg.Labels {
		v := strings.ReplaceAll(l.Value, "${hostname}", host)
		base[l.Name] = strings.ReplaceAll(v, "${worker_id}", "0")
	}
	c := &fluentdCollector{sh: sh, kind: cfg.Kind}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		d := prometheus.NewDesc(name, help, labels, base)
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
		return fmt.Errorf("unknown prometheus monitor %q", cfg.Kind)
	}
	if err := reg.Register(c); err != nil && !errAlreadyRegistered(err) {
		return fmt.Errorf("%s: %w", cfg.Kind, err)
	}
	sh.monitors[cfg.Kind] = true
	return nil
}

// fluentdCollector computes one monitor's families at scrape time.
type fluentdCollector struct {
	sh    *sourceShared
	kind  string
	descs []*prometheus.Desc

	statusQueue, statusBytes, statusRetry                                    *prometheus.Desc
	outQueue, outBytes, outRetry, outErrors, outEmits, outRecords, outWrites *prometheus.Desc
	outRollbacks                                                             *prometheus.Desc
	tailPos, tailInode                                                       *prometheus.Desc
}

func (c *fluentdCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *fluentdCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, p := range c.sh.inventory() {
		switch c.kind {
		case "prometheus_monitor":
			if p.out == nil || p.out.buf == nil {
				continue
			}
			st := p.out.buf.Stats()
			gauge(c.statusQueue, float64(st.QueuedChunks), p.ID, p.Category, p.Type)
			gauge(c.statusBytes, float64(st.TotalBytes), p.ID, p.Category, p.Type)
			gauge(c.statusRetry, float64(st.SendErrors), p.ID, p.Category, p.Type)
		case "prometheus_output_monitor":
			if p.out == nil {
				continue
			}
			var emits, records float64
			if p.counter != nil {
				emits, records = float64(p.counter.emits.Load()), float64(p.counter.records.Load())
			}
			gauge(c.outEmits, emits, p.ID, p.Type)
			gauge(c.outRecords, records, p.ID, p.Type)
			if p.out.buf == nil {
				gauge(c.outErrors, 0, p.ID, p.Type)
				gauge(c.outWrites, 0, p.ID, p.Type)
				gauge(c.outRollbacks, 0, p.ID, p.Type)
				continue
			}
			st := p.out.buf.Stats()
			gauge(c.outQueue, float64(st.QueuedChunks), p.ID, p.Type)
			gauge(c.outBytes, float64(st.TotalBytes), p.ID, p.Type)
			gauge(c.outRetry, float64(st.SendErrors), p.ID, p.Type)
			gauge(c.outErrors, float64(st.SendErrors), p.ID, p.Type)
			gauge(c.outWrites, float64(st.ChunksFlushed+st.SendErrors), p.ID, p.Type)
			gauge(c.outRollbacks, float64(st.SendErrors), p.ID, p.Type)
		case "prometheus_tail_monitor":
			if p.tail == nil {
				continue
			}
			for _, f := range c.sh.a.tailFiles(p.tail) {
				gauge(c.tailPos, float64(f.pos), p.ID, p.Type, f.path)
				gauge(c.tailInode, float64(f.ino), p.ID, p.Type, f.path)
			}
		}
	}
}

// tailFile is one followed file as prometheus_tail_monitor reports it.
type tailFile struct {
	path string // as the glob names it (the /var/log/containers symlink)
	pos  int64  // committed offset
	ino  uint64
}

// tailFiles lists the files of a tail source the agent has seen lines from,
// with their committed positions. The path label is the glob's name for the
// file (Fluentd's watcher path) when a glob still names it, else the real
// path (a rotated file). Files no line has been read from yet are not listed
// (the tailer has no per-file accessor; see the report).
func (a *Agent) tailFiles(t *tailSource) []tailFile {
	names := map[string]string{}
	for _, pat := range t.cfg.Tail.Tail.Paths {
		matches, _ := filepath.Glob(pat)
		for _, m := range matches {
			if real, err := filepath.EvalSymlinks(m); err == nil {
				if _, ok := names[real]; !ok {
					names[real] = m
				}
			}
		}
	}
	latest := map[string]uint64{} // real path → newest source id
	a.paths.mu.Lock()
	for id, real := range a.paths.m {
		if id>>sourceIDBits != t.idx {
			continue
		}
		if id > latest[real] {
			latest[real] = id
		}
	}
	a.paths.mu.Unlock()
	out := make([]tailFile, 0, len(latest))
	for _, real := range sortedKeys(latest) {
		pos, ok := t.w.Position(latest[real])
		if !ok {
			continue
		}
		fi, err := os.Stat(real)
		if err != nil {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		name := names[real]
		if name == "" {
			name = real
		}
		out = append(out, tailFile{path: name, pos: pos, ino: st.Ino})
	}
	return out
}
