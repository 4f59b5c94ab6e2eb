package agent

import (
	"context"
	"sync"
	"sync/atomic"

	"logship/buffer"
	"logship/plugin"
)

// Matcher reports whether a tag matches a <filter> or <match> pattern list.
// config's compiled patterns implement it.
type Matcher interface {
	Match(tag string) bool
}

// Filter edits a record in place and reports whether to keep it. Filters run
// under the router's lock, so they need no locking of their own.
type Filter interface {
	Filter(r *buffer.Record) bool
}

// FilterFunc adapts a function to Filter.
type FilterFunc func(r *buffer.Record) bool

// Filter calls f.
func (f FilterFunc) Filter(r *buffer.Record) bool { return f(r) }

// Output receives the records of a <match> (plugin.Output: the output
// plugins implement it without importing the agent).
type Output = plugin.Output

// Rule is one <filter> or <match> directive of a label, in config order.
type Rule struct {
	Match Matcher
	// Exactly one of Filter and Output is set.
	Filter Filter
	Output Output
	// Name describes the rule in errors and metrics (e.g. "match kubernetes.** (cloudwatch_logs)").
	Name string
}

// Resolver returns the filters and the output (nil: no <match> matched) of a
// tag in a label. config.Router, mapped onto run-time objects, is the
// production resolver; RulesResolver builds one from rules.
type Resolver func(label, tag string) ([]Filter, Output)

// Router routes records as Fluentd's event router does: within a label, every
// <filter> whose pattern matches the tag applies, in order, up to the first
// <match> that matches, which receives the record; later directives are not
// consulted. A record no <match> takes is dropped (Fluentd warns "no patterns
// matched"); dropped records are acknowledged at once so positions advance.
//
// Emit may be called from several goroutines; the router serialises them,
// which also serialises the filters.
type Router struct {
	mu      sync.Mutex
	resolve Resolver
	routes  map[routeKey]*route
	ack     buffer.Acker
	// unmatched counts records no <match> took; atomic so that metrics
	// never wait for the lock a blocked output holds.
	unmatched atomic.Uint64
	dropped   []buffer.Record
}

type routeKey struct{ label, tag string }

type route struct {
	filters []Filter
	out     Output // nil: no match
}

// RootLabel is the label of directives outside any <label>.
const RootLabel = ""

// maxRoutes bounds the per-tag route cache.
const maxRoutes = 65536

// NewRouter returns a router. ack is told about records the router drops
// (filtered out or unmatched); nil ignores them.
func NewRouter(resolve Resolver, ack buffer.Acker) *Router {
	return &Router{resolve: resolve, routes: make(map[routeKey]*route), ack: buffer.AckerOrNop(ack)}
}

// RulesResolver resolves routes from rules per label (RootLabel for the top
// level), applying Fluentd's first-match rule.
func RulesResolver(labels map[string][]Rule) Resolver {
	return func(label, tag string) ([]Filter, Output) {
		var fs []Filter
		for _, rule := range labels[label] {
			if !rule.Match.Match(tag) {
				continue
			}
			if rule.Filter != nil {
				fs = append(fs, rule.Filter)
				continue
			}
			return fs, rule.Output
		}
		return fs, nil
	}
}

func (rt *Router) route(label, tag string) *route {
	k := routeKey{label, tag}
	if r, ok := rt.routes[k]; ok {
		return r
	}
	r := &route{}
	r.filters, r.out = rt.resolve(label, tag)
	if len(rt.routes) >= maxRoutes {
		clear(rt.routes)
	}
	rt.routes[k] = r
	return r
}

// Emit routes recs in label. Records may carry different tags; runs of one tag
// are routed together. It returns the first output error; records of runs
// before the failing one have been accepted (outputs are atomic per call, and
// a caller retrying the batch must expect those earlier runs again only when
// the batch mixes tags — the tailer's batches never do).
func (rt *Router) Emit(ctx context.Context, label string, recs []buffer.Record) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.emitLocked(ctx, label, recs)
}

// EmitLocked is Emit for outputs that re-emit from inside the router (they
// already hold its lock).
func (rt *Router) EmitLocked(ctx context.Context, label string, recs []buffer.Record) error {
	return rt.emitLocked(ctx, label, recs)
}

func (rt *Router) emitLocked(ctx context.Context, label string, recs []buffer.Record) error {
	for start := 0; start < len(recs); {
		end := start + 1
		for end < len(recs) && recs[end].Tag == recs[start].Tag {
			end++
		}
		if err := rt.emitRun(ctx, label, recs[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

func (rt *Router) emitRun(ctx context.Context, label string, run []buffer.Record) error {
	r := rt.route(label, run[0].Tag)
	if r.out == nil {
		rt.unmatched.Add(uint64(len(run)))
		rt.ack.Ack(run)
		return nil
	}
	if len(r.filters) == 0 {
		return r.out.Emit(ctx, run)
	}
	// Filters may drop records: the survivors are compacted in place, in
	// order (the caller gives the batch up to the router).
	dropped := rt.dropped[:0]
	n := 0
	for i := range run {
		keep := true
		for _, f := range r.filters {
			if !f.Filter(&run[i]) {
				keep = false
				break
			}
		}
		if keep {
			run[n] = run[i]
			n++
		} else {
			dropped = append(dropped, run[i])
		}
	}
	if len(dropped) > 0 {
		rt.ack.Ack(dropped)
		clear(dropped)
	}
	rt.dropped = dropped[:0]
	if n == 0 {
		return nil
	}
	return r.out.Emit(ctx, run[:n])
}

// Unmatched returns how many records no <match> took.
func (rt *Router) Unmatched() uint64 { return rt.unmatched.Load() }

// MatcherFunc adapts a function to Matcher.
type MatcherFunc func(tag string) bool

// Match calls f.
func (f MatcherFunc) Match(tag string) bool { return f(tag) }
