package config

import (
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultRouteCacheSize is how many tags each label caches routes for before
// the cache is reset (Fluentd's EventRouter keeps a similar bounded cache).
const DefaultRouteCacheSize = 1024

// RootLabel names the top level in Router.Label; "" means the same. Fluentd
// (v1.14+) accepts "@label @ROOT" to send events back to the top level.
const RootLabel = "@ROOT"

// Route is where events with one tag go within one label: through Filters in
// order, then to Match. A nil Match means no <match> pattern matched: Fluentd
// drops such events with a "no patterns matched" warning. Routes are shared
// and must not be modified.
type Route struct {
	Filters []*Section
	Match   *Section
}

// Label is the routing table of the top level or of one <label @NAME>: its
// <filter> and <match> directives in file order.
type Label struct {
	// Name is "@NAME", or "" for the top level.
	Name string
	// Section is the <label> section (nil for the top level).
	Section *Section

	rules     []rule
	cacheSize int

	// cache maps tags to routes. Readers load it without locking; writers
	// (serialized by mu) replace it with a copy, so a hit costs one atomic
	// load and a map lookup.
	mu    sync.Mutex
	cache atomic.Pointer[map[string]*Route]
}

type rule struct {
	sec    *Section
	pat    *Pattern
	filter bool
}

// Router routes tags as Fluentd's event routers do: an event emitted by a
// source goes to the top level, or to the <label> named by the source's
// @label; there it passes every <filter> whose pattern matches, in file
// order, up to the first <match> whose pattern matches, which receives it.
// Filters after that <match> do not apply. Router is safe for concurrent use;
// a cached lookup takes no lock and does not allocate.
type Router struct {
	root   *Label
	labels map[string]*Label
}

// NewRouter builds the routing tables of c and checks that every @label
// refers to a defined <label>. It marks the <filter>, <match> and <label>
// sections it uses.
func NewRouter(c *Config) (*Router, error) {
	r := &Router{root: &Label{cacheSize: DefaultRouteCacheSize}, labels: map[string]*Label{}}
	var errs Diagnostics
	add := func(l *Label, s *Section) {
		if s.Name != "filter" && s.Name != "match" {
			return
		}
		s.used = true
		pat, err := CompilePattern(s.Arg)
		if err != nil {
			errs.Errorf(s.Pos, "%s: %v", s.Header(), err)
			return
		}
		l.rules = append(l.rules, rule{sec: s, pat: pat, filter: s.Name == "filter"})
	}
	for _, s := range c.Root.Nested {
		if s.Name != "label" {
			add(r.root, s)
			continue
		}
		s.used = true
		name := strings.TrimSpace(s.Arg)
		switch {
		case name == "":
			errs.Errorf(s.Pos, "<label> needs a name, e.g. <label @NAME>")
			continue
		case name == RootLabel:
			errs.Errorf(s.Pos, "<label %s> is reserved for the top level", name)
			continue
		case r.labels[name] != nil:
			errs.Errorf(s.Pos, "<label %s> is defined twice (first at %s)", name, r.labels[name].Section.Pos)
			continue
		}
		l := &Label{Name: name, Section: s, cacheSize: DefaultRouteCacheSize}
		r.labels[name] = l
		for _, n := range s.Nested {
			add(l, n)
		}
	}
	// Every @label must name a defined label.
	var check func(s *Section)
	check = func(s *Section) {
		for _, p := range s.Params {
			if p.Key == "@label" && p.Kind == KindString && r.Label(p.Value) == nil {
				errs.Errorf(p.ValuePos, "@label %s: no <label %s> is defined", p.Value, p.Value)
			}
		}
		for _, n := range s.Nested {
			check(n)
		}
	}
	check(c.Root)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// Label returns the routing table of the label name ("" or "@ROOT" for the
// top level), or nil if no such <label> exists.
func (r *Router) Label(name string) *Label {
	if name == "" || name == RootLabel {
		return r.root
	}
	return r.labels[name]
}

// Labels returns the names of the defined labels, in no particular order.
func (r *Router) Labels() []string {
	out := make([]string, 0, len(r.labels))
	for n := range r.labels {
		out = append(out, n)
	}
	return out
}

// Source returns the routing table a <source> emits into (its @label, or
// the top level), or nil if the label is not defined.
func (r *Router) Source(src *Section) *Label {
	for _, p := range src.Params {
		if p.Key == "@label" && p.Kind == KindString {
			p.used = true
			return r.Label(p.Value)
		}
	}
	return r.root
}

// Route returns the route of tag in label, or nil if the label is not
// defined.
func (r *Router) Route(label, tag string) *Route {
	l := r.Label(label)
	if l == nil {
		return nil
	}
	return l.Route(tag)
}

// Route returns the filters and the match for tag, from the cache when
// possible.
func (l *Label) Route(tag string) *Route {
	if m := l.cache.Load(); m != nil {
		if rt, ok := (*m)[tag]; ok {
			return rt
		}
	}
	rt := l.find(tag)
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.cache.Load()
	var next map[string]*Route
	if old == nil || len(*old) >= l.cacheSize {
		next = make(map[string]*Route, 1)
	} else {
		next = make(map[string]*Route, len(*old)+1)
		for k, v := range *old {
			next[k] = v
		}
	}
	next[strings.Clone(tag)] = rt
	l.cache.Store(&next)
	return rt
}

// Directives returns the label's <filter> and <match> sections in file
// order (each is built once by the mapping layer; routes point at them).
func (l *Label) Directives() []*Section {
	out := make([]*Section, len(l.rules))
	for i, r := range l.rules {
		out[i] = r.sec
	}
	return out
}

// find computes a route without the cache (EventRouter#find).
func (l *Label) find(tag string) *Route {
	rt := &Route{}
	for _, r := range l.rules {
		if !r.pat.Match(tag) {
			continue
		}
		if r.filter {
			rt.Filters = append(rt.Filters, r.sec)
			continue
		}
		rt.Match = r.sec
		break
	}
	return rt
}
