// Package agent runs a logship pipeline: the sources, filters and outputs a
// Fluentd configuration describes (config.Pipeline), joined by Fluentd's
// event routing, with acknowledgements flowing back from the outputs to the
// tailers' positions.
//
// Data flow: each tail source's Watcher hands batches of lines to the
// source's Converter (enrich), which makes records; the Router runs the
// matching filters and gives the records to the first matching output; a
// buffered output formats them (sink/cloudwatch) and adds them to its
// buffer, which flushes chunks to the sink. When a record is delivered (or
// durably buffered, or deliberately dropped) the buffer acknowledges it, and
// the agent advances the source file's low-water position.
//
// Shutdown (ctx canceled) drains in order: the sources stop reading, then
// each buffer does its final flush within its ShutdownTimeout, then the
// positions are saved — so what was delivered is never re-read and what was
// not is re-read after the restart.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"logship/buffer"
	"logship/config"
	"logship/enrich"
	"logship/plugin"
	"logship/sink/cloudwatch"
	"logship/tail"
)

// Options are the agent's dependencies and process-level settings.
type Options struct {
	// Log is the logger; nil means no logging.
	Log *zap.Logger
	// Registry receives the agent's metrics; nil means a private registry.
	Registry *prometheus.Registry
	// OpsAddr is the listen address of /metrics, /healthz and /readyz; ""
	// means no ops server.
	OpsAddr string
	// OpsHandlers are served on the ops server besides /metrics, /healthz
	// and /readyz (for example /debug/pprof/).
	OpsHandlers map[string]http.Handler
	// OpsListener, when set, is used instead of listening on OpsAddr.
	OpsListener net.Listener
	// Pods supplies pod metadata to kubernetes_metadata filters; nil means
	// metadata from the file path only.
	Pods enrich.PodLookup
	// Stdout receives the stdout output; nil means os.Stdout.
	Stdout io.Writer
	// Clock drives the buffers; nil means the system clock.
	Clock buffer.Clock
	// NewCloudWatchAPI builds the CloudWatch Logs client of an output; nil
	// means cloudwatch.NewClient (the SDK's standard chain).
	NewCloudWatchAPI func(ctx context.Context, cfg cloudwatch.Config) (*cloudwatchlogs.Client, error)
	// OutputOverride, when set, may replace an output: a non-nil result is
	// used instead of the configured runtime (replay --to stdout, --dry-run).
	OutputOverride func(oc *config.Output, ack buffer.Acker) Output
}

// Agent is a running pipeline. Build it with New, run it with Run.
type Agent struct {
	p    *config.Pipeline
	opts Options
	log  *zap.Logger

	health *Health

	mu      sync.Mutex
	sources []*tailSource
	outputs []*output
	extra   []plugin.Source // sources other than tail
	// shared is what the sources other than tail share (nil until the
	// first is built).
	shared *sourceShared
	// podCache feeds the kubernetes_metadata filters from the API server
	// (nil: path metadata only).
	podCache *enrich.PodCache
	router   *Router
	paths    sourcePaths
	started  bool
	// flushers are the filters that hold records (concat).
	flushers []enrich.Flusher
}

// output is one <match> at run time. What the agent needs beyond Emit it
// finds through the plugin interfaces, so it never names an output type.
type output struct {
	cfg    *config.Output
	emit   Output
	run    plugin.Runner    // a loop to run (a buffer's flush threads), or nil
	buf    *buffer.Buffer   // the output's buffer (metrics, monitor_agent), or nil
	stats  plugin.Collector // the output's own metrics, or nil
	closer io.Closer
}

// New checks the pipeline and returns an agent; it starts nothing.
func New(p *config.Pipeline, opts Options) (*Agent, error) {
	if p == nil {
		return nil, errors.New("agent: nil pipeline")
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if len(p.Sources) == 0 {
		return nil, errors.New("agent: the configuration has no source logship can run")
	}
	return &Agent{p: p, opts: opts, log: opts.Log, health: NewHealth(nil, 0)}, nil
}

// Health returns the agent's health tracker.
func (a *Agent) Health() *Health { return a.health }

// Ack implements buffer.Acker for the whole pipeline: it routes
// acknowledgements to the tail source each record came from. A record's
// Source is its tailer's own id, and each tail source's ids lie in its own
// range (tail.Config.SourceBase = index<<sourceIDBits), so the owner of a run
// of records is read from the id, once per run; Source 0 (records of sources
// other than tail) needs no acknowledgement.
func (a *Agent) Ack(recs []buffer.Record) {
	for start := 0; start < len(recs); {
		owner := recs[start].Source >> sourceIDBits
		end := start + 1
		for end < len(recs) && recs[end].Source>>sourceIDBits == owner {
			end++
		}
		if i := int(owner) - 1; i >= 0 && i < len(a.sources) {
			a.sources[i].ack(recs[start:end])
		}
		start = end
	}
}

// Commit implements buffer.Committer: a file buffer has made a round of
// chunks durable and acknowledged their records, so each tail source saves
// the positions those acknowledgements moved now, not SaveCoalesce later
// (until then a kill would re-send the round from the segments and re-read
// it from the files). Sources whose positions did not move save nothing.
func (a *Agent) Commit() {
	for _, s := range a.sources {
		s.commit()
	}
}

var (
	_ buffer.Acker     = (*Agent)(nil)
	_ buffer.Committer = (*Agent)(nil)
)

// build creates the outputs, filters, router and sources.
func (a *Agent) build(ctx context.Context) error {
	outputs := map[*config.Section]Output{}
	for _, sec := range a.p.Order {
		oc := a.p.Outputs[sec]
		if oc == nil {
			continue
		}
		o, err := a.buildOutput(ctx, oc)
		if err != nil {
			return fmt.Errorf("%s %s: %w", sec.Header(), sec.Pos, err)
		}
		a.outputs = append(a.outputs, o)
		outputs[sec] = o.emit
	}
	if err := a.buildPodCache(); err != nil {
		return err
	}
	filters := map[*config.Section]Filter{}
	for sec, fc := range a.p.Filters {
		switch {
		case fc.Plugin != nil:
			hostname, _ := os.Hostname()
			f, err := fc.Plugin.NewFilter(a.filterDeps(hostname, fc.Type))
			if err != nil {
				return fmt.Errorf("%s %s: %w", sec.Header(), sec.Pos, err)
			}
			filters[sec] = f
			if fl, ok := f.(enrich.Flusher); ok {
				a.flushers = append(a.flushers, fl)
			}
		case fc.Kubernetes != nil:
			var pods enrich.PodLookup
			if a.opts.Pods != nil {
				pods = a.opts.Pods
			} else if a.podCache != nil {
				pods = a.podCache
			}
			k, err := enrich.NewKubernetes(*fc.Kubernetes, pods, &a.paths)
			if err != nil {
				return fmt.Errorf("%s %s: %w", sec.Header(), sec.Pos, err)
			}
			filters[sec] = FilterFunc(func(r *buffer.Record) bool { k.Apply(r); return true })
		default:
			return fmt.Errorf("%s %s: filter %q has no runtime", sec.Header(), sec.Pos, fc.Type)
		}
	}
	resolve := func(label, tag string) ([]Filter, Output) {
		rt := a.p.Router.Route(label, tag)
		if rt == nil {
			return nil, nil
		}
		fs := make([]Filter, 0, len(rt.Filters))
		for _, s := range rt.Filters {
			if f := filters[s]; f != nil {
				fs = append(fs, f)
			}
		}
		var out Output
		if rt.Match != nil {
			out = outputs[rt.Match]
		}
		return fs, out
	}
	a.router = NewRouter(resolve, a)
	for _, sc := range a.p.Sources {
		if sc.Plugin != nil {
			src, err := a.pluginSource(sc)
			if err != nil {
				return fmt.Errorf("%s %s: %w", sc.Section.Header(), sc.Section.Pos, err)
			}
			a.extra = append(a.extra, src)
			continue
		}
		if sc.Tail == nil {
			continue
		}
		// The index is the position in a.sources, which Agent.Ack reads
		// from the source ids.
		src, err := a.buildTail(len(a.sources), sc)
		if err != nil {
			return fmt.Errorf("%s %s: %w", sc.Section.Header(), sc.Section.Pos, err)
		}
		a.mu.Lock()
		a.sources = append(a.sources, src)
		a.mu.Unlock()
	}
	return nil
}

func (a *Agent) buildOutput(ctx context.Context, oc *config.Output) (*output, error) {
	o := &output{cfg: oc}
	if a.opts.OutputOverride != nil {
		if out := a.opts.OutputOverride(oc, a); out != nil {
			o.emit = out
			return o, nil
		}
	}
	if oc.Plugin == nil {
		return nil, fmt.Errorf("output %q has no runtime", oc.Type)
	}
	hostname, _ := os.Hostname()
	out, err := oc.Plugin.NewOutput(ctx, plugin.OutputDeps{
		ID: oc.ID, Log: a.log.With(zap.String("output", oc.ID)), Ack: a,
		Stdout: a.opts.Stdout, Clock: a.opts.Clock, Hostname: hostname,
		Reemit: func(ctx context.Context, label string, recs []buffer.Record) error {
			return a.router.EmitLocked(ctx, label, recs)
		},
		NewCloudWatchAPI: a.opts.NewCloudWatchAPI,
	})
	if err != nil {
		return nil, err
	}
	o.emit = out
	o.run, _ = out.(plugin.Runner)
	if b, ok := out.(plugin.Buffered); ok {
		o.buf = b.Buffer()
	}
	o.stats, _ = out.(plugin.Collector)
	o.closer, _ = out.(io.Closer)
	return o, nil
}

// PodsSyncWait bounds how long Run waits for the pod cache's first list
// before it starts reading files (so the first lines carry API metadata); an
// unreachable API server never holds shipping back longer.
const PodsSyncWait = 10 * time.Second

// buildPodCache creates the node's pod cache when a kubernetes_metadata
// filter can reach an API server.
func (a *Agent) buildPodCache() error {
	if a.opts.Pods != nil {
		return nil
	}
	for _, fc := range a.p.Filters {
		if fc.KubeAPI == nil || fc.KubePods == nil {
			continue
		}
		rc, err := fc.KubeAPI.RESTConfig()
		if errors.Is(err, enrich.ErrNoAPIServer) {
			a.log.Info("kubernetes_metadata: no API server configured; metadata from file paths only")
			return nil
		}
		if err != nil {
			return fmt.Errorf("kubernetes_metadata %s: %w", fc.Section.Pos, err)
		}
		if fc.KubePods.NodeName == "" {
			a.log.Warn("kubernetes_metadata: NODE_NAME (or K8S_NODE_NAME) is not set, so pods cannot be watched for this node; metadata from file paths only")
			return nil
		}
		pc, err := enrich.NewPodCache(*fc.KubePods, rc, a.opts.Registry, a.log.Named("pods"))
		if err != nil {
			return fmt.Errorf("kubernetes_metadata %s: %w", fc.Section.Pos, err)
		}
		a.podCache = pc
		return nil // one pod cache per node serves every filter
	}
	return nil
}

// Run builds the pipeline and runs it until ctx is done, then drains it in
// order. It returns nil after a clean drain.
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.started {
		a.mu.Unlock()
		return errors.New("agent: Run called twice")
	}
	a.started = true
	a.mu.Unlock()

	if err := a.build(ctx); err != nil {
		a.closeOutputs()
		return err
	}
	if err := a.register(); err != nil {
		a.closeOutputs()
		return err
	}
	opsLn := a.opts.OpsListener
	if opsLn == nil && a.opts.OpsAddr != "" {
		srv := NewOpsServer(a.opts.OpsAddr, a.opts.Registry, a.health, a.opts.OpsHandlers)
		ln, err := srv.Listen()
		if err != nil {
			a.closeOutputs()
			return err
		}
		opsLn = ln
	}

	// Outputs run under their own context, canceled only after every source
	// has stopped, so the final flush sees everything that was read.
	outCtx, stopOutputs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopOutputs()
	var outs errgroup.Group
	for _, o := range a.outputs {
		if o.run == nil {
			continue
		}
		r, id := o.run, o.cfg.ID
		outs.Go(func() error {
			if err := r.Run(outCtx); err != nil {
				return fmt.Errorf("output %s: %w", id, err)
			}
			return nil
		})
	}

	if pc := a.podCache; pc != nil {
		outs.Go(func() error {
			if err := pc.Run(outCtx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("pod cache: %w", err)
			}
			return nil
		})
		select {
		case <-pc.Synced():
		case <-time.After(PodsSyncWait):
			a.log.Warn("pod cache not synced yet; starting with path metadata", zap.Duration("waited", PodsSyncWait))
		case <-ctx.Done():
		}
	}
	srcs, srcCtx := errgroup.WithContext(ctx)
	for _, s := range a.sources {
		srcs.Go(func() error { return s.run(srcCtx) })
		srcs.Go(func() error { return s.runIdleFlush(srcCtx) })
	}
	srcs.Go(func() error { return a.runFilterFlush(srcCtx, a.flushers) })
	for _, s := range a.extra {
		srcs.Go(func() error { return s.Run(srcCtx) })
	}
	var ops errgroup.Group
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	defer stopOps()
	if opsLn != nil {
		srv := NewOpsServer(a.opts.OpsAddr, a.opts.Registry, a.health, a.opts.OpsHandlers)
		ops.Go(func() error { return srv.Serve(opsCtx, opsLn) })
	}
	a.health.SetReady(true, "")
	a.log.Info("agent started", zap.Int("sources", len(a.sources)), zap.Int("outputs", len(a.outputs)))

	// Drain: 1. sources stop (on ctx, or on the first source error).
	srcErr := srcs.Wait()
	a.health.SetReady(false, "shutting down")
	a.log.Info("sources stopped; flushing outputs")
	if err := a.flushFilters(outCtx, a.flushers, time.Now(), true); err != nil {
		a.log.Warn("flush held records", zap.Error(err))
	}
	// 2. outputs flush.
	stopOutputs()
	outErr := outs.Wait()
	a.closeOutputs()
	// 3. positions are saved last, after the final acknowledgements.
	var saveErr error
	for _, s := range a.sources {
		if err := s.w.SavePositions(); err != nil {
			saveErr = errors.Join(saveErr, fmt.Errorf("save positions: %w", err))
		}
		if err := s.w.Close(); err != nil {
			saveErr = errors.Join(saveErr, fmt.Errorf("close tailer: %w", err))
		}
	}
	stopOps()
	opsErr := ops.Wait()
	if errors.Is(srcErr, context.Canceled) {
		srcErr = nil
	}
	a.log.Info("agent stopped")
	return errors.Join(srcErr, outErr, saveErr, opsErr)
}

func (a *Agent) closeOutputs() {
	for _, o := range a.outputs {
		if o.closer != nil {
			if err := o.closer.Close(); err != nil {
				a.log.Warn("close output", zap.String("output", o.cfg.ID), zap.Error(err))
			}
		}
	}
}

// sourceIDBits is the size of each tail source's id range: the i-th tail
// source (from 1) issues ids above i<<sourceIDBits (tail.Config.SourceBase),
// so the id of a record names its source and no id is issued twice in the
// process.
const sourceIDBits = 48

// tailSource is one in_tail source at run time.
type tailSource struct {
	idx   uint64 // 1-based; its ids are above idx<<sourceIDBits
	cfg   *config.Source
	w     *tail.Watcher
	conv  *enrich.Converter
	a     *Agent
	label string
	recs  []buffer.Record
	drops []buffer.Record
	last  uint64 // last source id noted in a.paths
	// unmatched counts lines the parser rejected (read by metrics).
	unmatched atomic.Uint64
	// lag measures the age of the oldest unacknowledged line.
	lag lagTracker
}

// name identifies the source in metrics and logs: its @id, else its position.
func (s *tailSource) name() string {
	if id := s.cfg.Section.ID(); id != "" {
		return id
	}
	return s.cfg.Section.Pos.String()
}

func (a *Agent) buildTail(i int, sc *config.Source) (*tailSource, error) {
	conv, err := enrich.NewConverter(sc.Tail.Line)
	if err != nil {
		return nil, err
	}
	s := &tailSource{idx: uint64(i + 1), cfg: sc, conv: conv, a: a, label: sc.Label}
	log := a.log.With(zap.String("source", s.name()), zap.Strings("paths", sc.Tail.Tail.Paths))
	if pf := sc.Tail.Tail.PositionsFile; pf != "" {
		if err := os.MkdirAll(filepath.Dir(pf), 0o755); err != nil {
			return nil, fmt.Errorf("positions directory: %w", err)
		}
	}
	tc := sc.Tail.Tail
	tc.SourceBase = s.idx << sourceIDBits
	// handleLines copies what it keeps (the converter, the buffer), so the
	// tailer may reuse its read blocks.
	w, err := tail.New(tc, tail.TransientHandlerFunc(s.handleLines), log)
	if err != nil {
		return nil, err
	}
	s.w = w
	return s, nil
}

func (s *tailSource) run(ctx context.Context) error {
	name := "tail " + s.name()
	if err := s.w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// ack acknowledges records of this source.
func (s *tailSource) ack(recs []buffer.Record) {
	s.w.AckAll(func(yield func(uint64, int64) bool) {
		for i := range recs {
			if !yield(recs[i].Source, recs[i].Offset) {
				return
			}
		}
	})
}

// commit saves this source's positions without waiting out SaveCoalesce.
func (s *tailSource) commit() { s.w.SaveNow() }

// sourcePaths remembers the real path of each record source (a tailer's
// id), for the kubernetes filter's pod UID (enrich.FileLookup).
type sourcePaths struct {
	mu sync.Mutex
	m  map[uint64]string
}

// maxSourcePaths bounds the map; past it, it is dropped and rebuilt.
const maxSourcePaths = 1 << 16

func (p *sourcePaths) note(src uint64, real string) {
	p.mu.Lock()
	if p.m == nil || len(p.m) >= maxSourcePaths {
		p.m = make(map[uint64]string)
	}
	p.m[src] = real
	p.mu.Unlock()
}

// RealPath implements enrich.FileLookup for the tailer's source ids.
func (p *sourcePaths) RealPath(src uint64) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.m[src]
	return r, ok
}

// BytesRead returns the bytes the sources have read so far.
func (a *Agent) BytesRead() int64 {
	a.mu.Lock()
	srcs := a.sources
	a.mu.Unlock()
	var n int64
	for _, s := range srcs {
		n += s.w.Stats().BytesRead
	}
	return n
}
