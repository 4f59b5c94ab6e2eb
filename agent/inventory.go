package agent

import (
	"context"
	"errors"
	"hash/fnv"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"logship/buffer"
	"logship/config"
	"logship/plugin"
)

// This file is the agent as the sources that report it see it: the
// plugin.Inventory (Fluentd's plugin list with buffer statistics, emit
// counts and tail files) and the plugin.Metrics (registry, ops listener)
// that sourceShared implements for monitor_agent and the prometheus sources.

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
// Fluentd's root agent lists them). The sources call it when they run, after
// build (the agent's sources, outputs and configuration no longer change).
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

// Plugins implements plugin.Inventory.
func (sh *sourceShared) Plugins() []plugin.PluginStatus {
	ps := sh.inventory()
	out := make([]plugin.PluginStatus, len(ps))
	for i, p := range ps {
		st := plugin.PluginStatus{ID: p.ID, Category: p.Category, Type: p.Type, Config: p.Config}
		if p.out != nil && p.out.buf != nil {
			st.Buffered, st.Buffer = true, p.out.buf.Stats()
		}
		if p.counter != nil {
			st.Emits, st.EmitRecords = p.counter.emits.Load(), p.counter.records.Load()
		}
		out[i] = st
	}
	return out
}

// RouteOutput implements plugin.Inventory: the output of the <match> the
// tag's top-level route ends in.
func (sh *sourceShared) RouteOutput(tag string) (int, bool) {
	rt := sh.a.p.Router.Route(RootLabel, tag)
	if rt == nil || rt.Match == nil {
		return 0, false
	}
	for i, p := range sh.inventory() {
		if p.out != nil && p.out.cfg.Section == rt.Match {
			return i, true
		}
	}
	return 0, false
}

// TailFiles implements plugin.Inventory.
func (sh *sourceShared) TailFiles(i int) []plugin.TailFile {
	ps := sh.inventory()
	if i < 0 || i >= len(ps) || ps[i].tail == nil {
		return nil
	}
	return sh.a.tailFiles(ps[i].tail)
}

// tailFiles lists the files of a tail source the agent has seen lines from,
// with their committed positions. The path is the glob's name for the file
// (Fluentd's watcher path) when a glob still names it, else the real path (a
// rotated file). Files no line has been read from yet are not listed (the
// tailer has no per-file accessor).
func (a *Agent) tailFiles(t *tailSource) []plugin.TailFile {
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
	out := make([]plugin.TailFile, 0, len(latest))
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
		out = append(out, plugin.TailFile{Path: name, Position: pos, Inode: st.Ino})
	}
	return out
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

// Handler implements plugin.Metrics: the agent's registry.
func (sh *sourceShared) Handler() http.Handler {
	reg := sh.a.opts.Registry
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// RegisterOnce implements plugin.Metrics. A collector the registry already
// holds counts as added.
func (sh *sourceShared) RegisterOnce(key string, c prometheus.Collector) (bool, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.registered[key] {
		return false, nil
	}
	if err := sh.a.opts.Registry.Register(c); err != nil && !errAlreadyRegistered(err) {
		return false, err
	}
	sh.registered[key] = true
	return true, nil
}

// errAlreadyRegistered reports whether err says the collector is there.
func errAlreadyRegistered(err error) bool {
	var are prometheus.AlreadyRegisteredError
	return errors.As(err, &are)
}

// ServeOps implements plugin.Metrics: the paths are added to the ops
// server's handlers (Options.OpsHandlers), except /metrics, which the ops
// server serves itself from the same registry.
func (sh *sourceShared) ServeOps(bind string, port int, h http.Handler, paths ...string) bool {
	a := sh.a
	if !a.sharesOpsPort(bind, port) {
		return false
	}
	extra := maps.Clone(a.opts.OpsHandlers)
	if extra == nil {
		extra = map[string]http.Handler{}
	}
	for _, p := range paths {
		if p != "/metrics" {
			extra[p] = h
		}
	}
	a.opts.OpsHandlers = extra
	return true
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
