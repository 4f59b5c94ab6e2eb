package config

import (
	"math"
	"time"

	"logship/plugin"
)

// Reader reads the parameters of one section for a mapper: the one
// parameter reader of the plugin mappings (sources, outputs and their
// buffers; plugin.Params for the plugin packages). Every read marks the
// parameter used; a value is decoded by the Param decoders (value.go);
// decoding errors are collected and reported with the section's position by
// done.
type Reader struct {
	s    *Section
	b    *builder
	root *Reader // the directive's reader, which collects the errors (nil: this one)
	// v012Buffer makes the reader read an output's flat v0.12 buffer
	// parameters under their v1 <buffer> names: a key is the parameter of s
	// that Fluentd's compat helper renames to it (bufferCompat).
	v012Buffer bool
	// id is the output's id, which names its buffer's default paths.
	id   string
	errs []error
}

var _ plugin.Params = (*Reader)(nil)

// reader returns a Reader of s.
func (b *builder) reader(s *Section) *Reader { return &Reader{s: s, b: b} }

// top returns the directive's reader.
func (r *Reader) top() *Reader {
	if r.root != nil {
		return r.root
	}
	return r
}

func (r *Reader) add(err error) {
	if err != nil {
		top := r.top()
		top.errs = append(top.errs, err)
	}
}

// done reports the collected errors and whether there were none.
func (r *Reader) done() bool {
	for _, e := range r.errs {
		r.b.d.Add(r.s.Pos, e)
	}
	return len(r.errs) == 0
}

// param returns the parameter key, or nil, marking it used.
func (r *Reader) param(key string) *Param {
	if r.v012Buffer {
		if key = v012BufferKey(key); key == "" {
			return nil
		}
	}
	return r.s.Param(key)
}

// value returns the parameter key when it is set to a value of its own:
// absent, use_nil and use_default all mean "use the default".
func (r *Reader) value(key string) *Param {
	if p := r.param(key); p.Set() {
		return p
	}
	return nil
}

// get returns the parameter key decoded by decode, def when it is not set;
// a decoding error is collected.
func get[T any](r *Reader, key string, def T, decode func(*Param) (T, error)) T {
	v, err := decoded(r.value(key), def, decode)
	r.add(err)
	return v
}

// opt returns the parameter key decoded by decode, nil when it is not set;
// a decoding error is collected.
func opt[T any](r *Reader, key string, decode func(*Param) (T, error)) *T {
	if r.value(key) == nil {
		return nil
	}
	var zero T
	v := get(r, key, zero, decode)
	return &v
}

// String implements plugin.Params.
func (r *Reader) String(key, def string) string {
	if p := r.value(key); p != nil {
		return p.String()
	}
	return def
}

// Bool implements plugin.Params.
func (r *Reader) Bool(key string, def bool) bool { return get(r, key, def, (*Param).Bool) }

// Int implements plugin.Params.
func (r *Reader) Int(key string, def int64) int64 { return get(r, key, def, (*Param).Int) }

// Duration implements plugin.Params.
func (r *Reader) Duration(key string, def time.Duration) time.Duration {
	return get(r, key, def, (*Param).Duration)
}

// Strings implements plugin.Params.
func (r *Reader) Strings(key string) []string { return get(r, key, nil, (*Param).Strings) }

// Hash implements plugin.Params.
func (r *Reader) Hash(key string) map[string]string { return get(r, key, nil, (*Param).Hash) }

// size reads a Fluentd size (bytes), def when not set.
func (r *Reader) size(key string, def int64) int64 { return get(r, key, def, (*Param).Size) }

// float reads a Fluentd float, def when not set.
func (r *Reader) float(key string, def float64) float64 { return get(r, key, def, (*Param).Float) }

// enum reads a value that must be one of allowed, def when not set.
func (r *Reader) enum(key, def string, allowed ...string) string {
	return get(r, key, def, func(p *Param) (string, error) { return p.Enum(allowed...) })
}

// int32 reads an integer within int32 (Fluentd's :integer), def when not
// set.
func (r *Reader) int32(key string, def int) int { return get(r, key, def, int32Value) }

func int32Value(p *Param) (int, error) {
	v, err := p.Int()
	if err == nil && (v > math.MaxInt32 || v < math.MinInt32) {
		err = p.errorf("integer %d out of range", v)
	}
	return int(v), err
}

// seconds reads a :float parameter that counts seconds, def when not set.
func (r *Reader) seconds(key string, def time.Duration) time.Duration {
	return get(r, key, def, secondsValue)
}

func secondsValue(p *Param) (time.Duration, error) {
	v, err := p.Float()
	if err == nil && math.Abs(v*float64(time.Second)) > math.MaxInt64 {
		err = p.errorf("time %q out of range", p.Value)
	}
	return time.Duration(math.Round(v * float64(time.Second))), err
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

// listen reads the bind and port of a listening source: Fluentd's sources
// bind 0.0.0.0 unless told otherwise.
func (r *Reader) listen(defPort int64) (bind string, port int) {
	return r.s.String("bind", "0.0.0.0"), r.port("port", defPort)
}

// valid returns c, or nil when r recorded errors (reported by done).
func valid[T any](r *Reader, c *T) *T {
	if !r.done() {
		return nil
	}
	return c
}

// Has implements plugin.Params.
func (r *Reader) Has(key string) bool { return r.param(key) != nil }

// Set implements plugin.Params.
func (r *Reader) Set(key string) bool { return r.value(key) != nil }

// Regexp implements plugin.Params.
func (r *Reader) Regexp(key string) (pattern, flags string, ok bool) {
	p := r.value(key)
	if p == nil {
		return "", "", false
	}
	pattern, flags, err := p.Regexp()
	r.add(err)
	return pattern, flags, err == nil
}

// Numbered implements plugin.Params.
func (r *Reader) Numbered(prefix string) []string {
	var keys []string
	for _, n := range numbered(r.s, prefix) {
		keys = append(keys, n.key)
	}
	return keys
}

// Accept implements plugin.Params.
func (r *Reader) Accept(keys ...string) { accept(r.s, keys...) }

// nested returns a reader of n, a section nested in r's, whose errors are
// collected with the directive's.
func (r *Reader) nested(n *Section) *Reader {
	return &Reader{s: n, b: r.b, root: r.top(), id: r.id}
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

// Sections implements plugin.Params.
func (r *Reader) Sections(name string) []plugin.Params {
	var out []plugin.Params
	for _, n := range r.s.Sections(name) {
		out = append(out, r.nested(n))
	}
	return out
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

// ErrorfAt implements plugin.Params.
func (r *Reader) ErrorfAt(key, format string, args ...any) {
	pos := r.s.Pos
	if p := r.s.lookup(key); key != "" && p != nil {
		pos = p.Pos
	}
	r.add(errorAt(pos, nil, "%s: "+format, append([]any{r.top().s.Header()}, args...)...))
}

// Failed implements plugin.Params.
func (r *Reader) Failed() bool { return len(r.top().errs) > 0 }

// V012 implements plugin.Params.
func (r *Reader) V012() bool { return r.b.p.V012 }

// Location implements plugin.Params.
func (r *Reader) Location() *time.Location { return r.b.opts.Location }

// HasLabel implements plugin.Params.
func (r *Reader) HasLabel(name string) bool { return r.b.p.Router.Label(name) != nil }
