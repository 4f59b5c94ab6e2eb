package config

import (
	"time"

	"logship/plugin"
)

// Reader reads the parameters of one section for a mapper: the one
// parameter reader of the plugin mappings (sources, outputs, CloudWatch;
// plugin.Params for the plugin packages). Every read marks the parameter
// used; decoding errors are collected and reported with the section's
// position by done.
type Reader struct {
	s    *Section
	b    *builder
	root *Reader // the directive's reader, which collects the errors (nil: this one)
	errs []error
}

var _ plugin.Params = (*Reader)(nil)

// reader returns a Reader of s.
func (b *builder) reader(s *Section) *Reader { return &Reader{s: s, b: b} }

func (r *Reader) add(err error) {
	if r.root != nil {
		r.root.add(err)
		return
	}
	if err != nil {
		r.errs = append(r.errs, err)
	}
}

// done reports the collected errors and whether there were none.
func (r *Reader) done() bool {
	for _, e := range r.errs {
		r.b.d.Add(r.s.Pos, e)
	}
	return len(r.errs) == 0
}

// String implements plugin.Params.
func (r *Reader) String(key, def string) string { return r.s.String(key, def) }

// Bool implements plugin.Params.
func (r *Reader) Bool(key string, def bool) bool {
	v, err := r.s.Bool(key, def)
	r.add(err)
	return v
}

// Int implements plugin.Params.
func (r *Reader) Int(key string, def int64) int64 {
	v, err := r.s.Int(key, def)
	r.add(err)
	return v
}

// Duration implements plugin.Params.
func (r *Reader) Duration(key string, def time.Duration) time.Duration {
	v, err := r.s.Duration(key, def)
	r.add(err)
	return v
}

// Strings implements plugin.Params.
func (r *Reader) Strings(key string) []string {
	v, err := r.s.Strings(key, nil)
	r.add(err)
	return v
}

// Hash returns key decoded by Param.Hash, or nil.
func (r *Reader) Hash(key string) map[string]string {
	v, err := r.s.Hash(key, nil)
	r.add(err)
	return v
}

// port reads a TCP port (0…65535); out of range is an error and def.
func (r *Reader) port(key string, def int64) int {
	v := r.Int(key, def)
	if v < 0 || v > 65535 {
		r.add(r.s.Param(key).errorf("port %d out of range", v))
		return int(def)
	}
	return int(v)
}

// Accept implements plugin.Params.
func (r *Reader) Accept(keys ...string) { accept(r.s, keys...) }

// nested returns a reader of n, a section nested in r's, whose errors are
// collected with the directive's.
func (r *Reader) nested(n *Section) *Reader {
	root := r
	if r.root != nil {
		root = r.root
	}
	return &Reader{s: n, b: r.b, root: root}
}

// Section implements plugin.Params: a reader of the nested section, whose
// errors are collected with the directive's.
func (r *Reader) Section(name string) (plugin.Params, bool) {
	n := r.s.Section(name)
	if n == nil {
		return nil, false
	}
	return r.nested(n), true
}

// AcceptAll implements plugin.Params.
func (r *Reader) AcceptAll() {
	for _, p := range r.s.Params {
		p.MarkUsed()
	}
}

// AcceptV012Buffer implements plugin.Params.
func (r *Reader) AcceptV012Buffer() { accept(r.s, bufferV012Names()...) }

// Errorf implements plugin.Params: the error is at the section, prefixed
// with its header (and the directive's, for a nested section).
func (r *Reader) Errorf(format string, args ...any) {
	head := r.s.Header()
	if r.root != nil {
		head += " in " + r.root.s.Header()
	}
	r.add(errorAt(r.s.Pos, nil, "%s: "+format, append([]any{head}, args...)...))
}

// Failed implements plugin.Params.
func (r *Reader) Failed() bool {
	if r.root != nil {
		return r.root.Failed()
	}
	return len(r.errs) > 0
}

// V012 implements plugin.Params.
func (r *Reader) V012() bool { return r.b.p.V012 }

// Location implements plugin.Params.
func (r *Reader) Location() *time.Location { return r.b.opts.Location }
