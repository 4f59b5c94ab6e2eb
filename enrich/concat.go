package enrich

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"logship/buffer"
)

// DefaultConcatFlushInterval is fluent-plugin-concat's flush_interval.
const DefaultConcatFlushInterval = 60 * time.Second

// ConcatConfig is fluent-plugin-concat's concat filter: it joins the Key field
// of consecutive records of one stream (multi-line container logs).
type ConcatConfig struct {
	// Key is the field to join (required).
	Key string
	// Separator joins the values; Fluentd's default is "\n" (the config layer
	// fills it in; "" is a valid separator).
	Separator string
	// NLines joins every NLines records (0: regexp mode).
	NLines int
	// MultilineStart, MultilineEnd and ContinuousLine are Ruby regexps
	// (without slashes, flags apart): a record whose Key matches
	// MultilineStart starts a group, one matching MultilineEnd ends it; with
	// ContinuousLine, only matching records continue a group.
	MultilineStart, MultilineStartFlags string
	MultilineEnd, MultilineEndFlags     string
	ContinuousLine, ContinuousLineFlags string
	// StreamIdentityKey separates groups by this field's value (besides the
	// tag), e.g. container_id or stream.
	StreamIdentityKey string
	// FlushInterval: a group not extended for this long is flushed by Flush
	// to TimeoutLabel. 0 means never (flush_interval 0); the config layer
	// fills in DefaultConcatFlushInterval.
	FlushInterval time.Duration
	// TimeoutLabel receives groups flushed by timeout ("" means none: the
	// agent handles them as Fluentd's error events — counted, logged,
	// dropped).
	TimeoutLabel string
	// PartialKey/PartialValue: a record whose PartialKey equals PartialValue
	// is a fragment continued by the next record (partial mode). KeepPartialKey
	// keeps PartialKey in the joined record.
	PartialKey, PartialValue string
	KeepPartialKey           bool
	// UseFirstTimestamp gives a joined record its first record's time
	// (otherwise the time of the record that completed it).
	UseFirstTimestamp bool
	// PassThrough is set for a concat that only joins partial messages by
	// metadata (use_partial_metadata, use_partial_cri_logtag): the tailer
	// already joins them, so the filter passes records on, deleting
	// PassThroughDelete from those that have Key (the plugin's cri mode
	// deletes the logtag and stream keys of every record it emits).
	PassThrough       bool
	PassThroughDelete []string
}

// Validate checks the mode and the expressions.
func (c *ConcatConfig) Validate() error {
	if c.Key == "" {
		return errors.New("concat: key is required")
	}
	if c.PassThrough {
		return nil
	}
	modes := 0
	if c.NLines > 0 {
		modes++
	}
	if c.MultilineStart != "" || c.MultilineEnd != "" {
		modes++
	}
	if c.PartialKey != "" {
		modes++
	}
	if modes != 1 {
		return errors.New("concat: exactly one of n_lines, multiline_start_regexp/multiline_end_regexp and partial_key is required")
	}
	for _, re := range [][2]string{{c.MultilineStart, c.MultilineStartFlags}, {c.MultilineEnd, c.MultilineEndFlags},
		{c.ContinuousLine, c.ContinuousLineFlags}} {
		if re[0] == "" {
			continue
		}
		if _, err := CompileRuby(re[0], re[1]); err != nil {
			return fmt.Errorf("concat: %w", err)
		}
	}
	return nil
}

// Flusher is implemented by filters that hold records across calls (concat).
// The agent calls Flush periodically (about every second), under the same
// serialisation as Filter (the router's lock), and routes the returned
// records into TimeoutLabel from the top of that label; when TimeoutLabel is
// "" it counts, logs and acknowledges them (Fluentd emits them as error
// events, which without an @ERROR label are dropped). all is set at shutdown:
// every held group is returned.
type Flusher interface {
	Flush(now time.Time, all bool) []buffer.Record
	TimeoutLabel() string
}

// NewFilter compiles the expressions.
func (c *ConcatConfig) NewFilter(deps FilterDeps) (Filter, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.PassThrough {
		return passThrough{key: c.Key, del: c.PassThroughDelete}, nil
	}
	if deps.Ack == nil {
		return nil, errors.New("concat: the runtime gives no acknowledgement hook (FilterDeps.Ack)")
	}
	f := &concat{cfg: *c, ack: deps.Ack, groups: map[string]*concatGroup{}, now: deps.Now}
	if f.now == nil {
		f.now = time.Now
	}
	var err error
	compile := func(p, flags string) *regexp.Regexp {
		if p == "" || err != nil {
			return nil
		}
		var re *regexp.Regexp
		re, err = CompileRuby(p, flags)
		return re
	}
	f.start = compile(c.MultilineStart, c.MultilineStartFlags)
	f.end = compile(c.MultilineEnd, c.MultilineEndFlags)
	f.cont = compile(c.ContinuousLine, c.ContinuousLineFlags)
	if err != nil {
		return nil, fmt.Errorf("concat: %w", err)
	}
	return f, nil
}

// concat holds groups of records per stream. Acknowledgements: a group's
// first record is held with its Source/Offset and the joined record carries
// them; the records absorbed after it are acknowledged at once (deps.Ack).
// The tailer's position is a low-water mark, so it cannot pass the first
// record's line until the joined record is delivered: a crash re-reads the
// whole group (at-least-once). The first record is reported to the router as
// dropped with Source 0, which acknowledges nothing.
type concat struct {
	cfg              ConcatConfig
	start, end, cont *regexp.Regexp
	ack              func([]buffer.Record)
	now              func() time.Time
	groups           map[string]*concatGroup
	keyBuf           []byte
	acks             []buffer.Record
}

type concatGroup struct {
	first  buffer.Record // deep copy; its Key value is replaced at join
	parts  [][]byte
	last   time.Time
	partOf string
}

var (
	_ Filter  = (*concat)(nil)
	_ Flusher = (*concat)(nil)
)

// TimeoutLabel implements Flusher.
func (f *concat) TimeoutLabel() string { return f.cfg.TimeoutLabel }

func (f *concat) streamKey(r *buffer.Record) string {
	b := append(f.keyBuf[:0], r.Tag...)
	b = append(b, ':')
	if f.cfg.StreamIdentityKey != "" {
		if v, ok := r.Fields.Get(f.cfg.StreamIdentityKey); ok {
			b = rubyToS(b, v)
		}
	} else {
		b = append(b, "default"...)
	}
	f.keyBuf = b
	return string(b)
}

// Filter implements Filter: r is held (false), absorbed (false), replaced by
// a completed group (true) or passed through (true).
func (f *concat) Filter(r *buffer.Record) bool {
	v, ok := r.Fields.Get(f.cfg.Key)
	if !ok {
		return true // fluent-plugin-concat passes records without the key
	}
	text := rubyToS(nil, v)
	key := f.streamKey(r)
	g := f.groups[key]
	now := f.now()
	switch {
	case f.cfg.NLines > 0:
		if g == nil {
			f.hold(key, r, text, now)
			if f.cfg.NLines == 1 {
				return f.complete(key, r, true)
			}
			return false
		}
		f.absorb(g, r, text, now)
		if len(g.parts) >= f.cfg.NLines {
			return f.complete(key, r, false)
		}
		return false
	case f.cfg.PartialKey != "":
		pv, ok := r.Fields.Get(f.cfg.PartialKey)
		if !ok {
			return true // the plugin passes records without the partial key
		}
		partial := string(rubyToS(nil, pv)) == f.cfg.PartialValue
		if g == nil {
			if !partial {
				if !f.cfg.KeepPartialKey {
					r.Fields = r.Fields.Delete(f.cfg.PartialKey)
				}
				return true
			}
			f.hold(key, r, text, now)
			return false
		}
		f.absorb(g, r, text, now)
		if partial {
			return false
		}
		return f.complete(key, r, false)
	}
	first := f.start != nil && f.start.Match(text)
	last := f.end != nil && f.end.Match(text)
	switch {
	case first:
		if g == nil {
			f.hold(key, r, text, now)
			if last {
				return f.complete(key, r, true)
			}
			return false
		}
		// The new first record replaces the finished group in r's slot and
		// is held itself. (With an end regexp matching the same record,
		// Fluentd would emit it at once too; logship holds it until the next
		// record or the timeout — one record out per record in.)
		f.emitAndHold(key, g, r, text, now)
		return true
	case last:
		if g == nil {
			if f.start != nil {
				return true
			}
			f.hold(key, r, text, now)
			return f.complete(key, r, true)
		}
		f.absorb(g, r, text, now)
		return f.complete(key, r, false)
	default:
		if g == nil {
			if f.start != nil {
				return true
			}
			f.hold(key, r, text, now) // only an end regexp: every record starts a group
			return false
		}
		if f.cont == nil || f.cont.Match(text) {
			f.absorb(g, r, text, now)
			return false
		}
		// Not a continuation: Fluentd emits the group and passes r. logship
		// emits the group in r's slot and holds r as a new group of its own
		// (delivered unchanged at the next group boundary or timeout).
		f.emitAndHold(key, g, r, text, now)
		return true
	}
}

// emitAndHold puts the joined group g in r's slot and holds (a copy of) r
// as the start of the key's next group.
func (f *concat) emitAndHold(key string, g *concatGroup, r *buffer.Record, text []byte, now time.Time) {
	held := clone(r)
	out := f.join(g, r)
	delete(f.groups, key)
	f.holdClone(key, held, text, now)
	*r = out
}

// hold starts a group with a copy of r; r goes to the router as a drop with
// Source 0 (nothing acknowledged: the group's first record pins the file
// position until the joined record is delivered).
func (f *concat) hold(key string, r *buffer.Record, text []byte, now time.Time) {
	f.holdClone(key, clone(r), text, now)
	r.Source = 0
}

func (f *concat) holdClone(key string, first buffer.Record, text []byte, now time.Time) {
	f.groups[key] = &concatGroup{first: first, parts: [][]byte{append([]byte(nil), text...)}, last: now}
}

// absorb appends r's text to g and acknowledges r.
func (f *concat) absorb(g *concatGroup, r *buffer.Record, text []byte, now time.Time) {
	g.parts = append(g.parts, append([]byte(nil), text...))
	g.last = now
	if r.Source != 0 {
		f.acks = append(f.acks[:0], buffer.Record{Source: r.Source, Offset: r.Offset, Tag: r.Tag})
		f.ack(f.acks)
		f.acks[0] = buffer.Record{}
	}
	r.Source = 0 // the router's drop acknowledgement is then a no-op
}

// complete replaces r with the joined group of key. r was just held or
// absorbed (its own acknowledgement is done).
func (f *concat) complete(key string, r *buffer.Record, _ bool) bool {
	g := f.groups[key]
	delete(f.groups, key)
	*r = f.join(g, r)
	return true
}

// join builds the joined record: the first record with Key replaced (Hash#merge
// keeps its position), its Source/Offset, and the time of trigger unless
// UseFirstTimestamp.
func (f *concat) join(g *concatGroup, trigger *buffer.Record) buffer.Record {
	out := g.first
	if trigger != nil && trigger.Fields.Index(f.cfg.Key) >= 0 && !sameKeys(trigger.Fields, g.first.Fields) {
		// record.merge(first_record.merge(key => joined)): the trigger's key
		// order and its own extra fields, the first record's values.
		merged := cloneFields(trigger.Fields)
		for _, fl := range g.first.Fields {
			merged = merged.Set(fl.Key, fl.Value)
		}
		out.Fields = merged
	}
	n := 0
	for _, p := range g.parts {
		n += len(p) + len(f.cfg.Separator)
	}
	joined := make([]byte, 0, n)
	for i, p := range g.parts {
		if i > 0 {
			joined = append(joined, f.cfg.Separator...)
		}
		joined = append(joined, p...)
	}
	out.Fields = out.Fields.Set(f.cfg.Key, buffer.Str(joined))
	if f.cfg.PartialKey != "" && !f.cfg.KeepPartialKey {
		out.Fields = out.Fields.Delete(f.cfg.PartialKey)
	}
	if trigger != nil && !f.cfg.UseFirstTimestamp {
		out.Time = trigger.Time
	}
	return out
}

// Flush implements Flusher: the groups idle for FlushInterval (all of them
// when all is set), joined, with the flush time (the first record's with
// UseFirstTimestamp; at shutdown always the first record's, as the plugin's
// remaining-buffer flush does).
func (f *concat) Flush(now time.Time, all bool) []buffer.Record {
	var out []buffer.Record
	for key, g := range f.groups {
		if all || (f.cfg.FlushInterval > 0 && now.Sub(g.last) >= f.cfg.FlushInterval) {
			r := f.join(g, nil)
			if !f.cfg.UseFirstTimestamp && !all {
				r.Time = now.UnixNano() // the plugin stamps timed-out groups with the flush time
			}
			out = append(out, r)
			delete(f.groups, key)
		}
	}
	return out
}

type passThrough struct {
	key string
	del []string
}

func (p passThrough) Filter(r *buffer.Record) bool {
	if len(p.del) > 0 && r.Fields.Index(p.key) >= 0 {
		for _, k := range p.del {
			r.Fields = r.Fields.Delete(k)
		}
	}
	return true
}

// sameKeys reports whether a and b have the same keys in the same order.
func sameKeys(a, b buffer.Fields) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key {
			return false
		}
	}
	return true
}

// clone deep-copies r's fields (they may alias the converter's arena, which
// is reused after the batch).
func clone(r *buffer.Record) buffer.Record {
	c := *r
	c.Fields = cloneFields(r.Fields)
	c.Message = nil
	return c
}

func cloneFields(f buffer.Fields) buffer.Fields {
	if f == nil {
		return nil
	}
	out := make(buffer.Fields, len(f))
	for i, fl := range f {
		out[i].Key = fl.Key
		out[i].Value = cloneValue(fl.Value)
	}
	return out
}

func cloneValue(v buffer.Value) buffer.Value {
	c := buffer.Value{Kind: v.Kind}
	if v.Bytes != nil {
		c.Bytes = append([]byte(nil), v.Bytes...)
	}
	if v.Kids != nil {
		c.Kids = cloneFields(v.Kids)
	}
	return c
}
