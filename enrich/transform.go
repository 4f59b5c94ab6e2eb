package enrich

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"logship/buffer"
)

// RecordTransformerConfig is Fluentd's record_transformer filter.
type RecordTransformerConfig struct {
	// Record lists the <record> section's fields in order: each key gets its
	// template expanded against the incoming record.
	Record []TemplateField
	// EnableRuby evaluates ${…} as Ruby expressions. logship evaluates the
	// forms real configs use (record["a"]["b"], record.dig("a","b"), tag,
	// tag_parts[N], tag_prefix[N], tag_suffix[N], hostname, time); anything
	// else is a configuration error.
	EnableRuby bool
	// AutoTypecast keeps the type of a value whose template is a single
	// placeholder (otherwise every expanded value is a string).
	AutoTypecast bool
	// RenewRecord starts from an empty record (plus KeepKeys) instead of the
	// incoming one.
	RenewRecord bool
	// KeepKeys are copied from the incoming record when RenewRecord is set.
	KeepKeys []string
	// RemoveKeys are deleted after the merge; a key may be a record accessor
	// ($.a.b) naming a nested field.
	RemoveKeys []string
	// RenewTimeKey names a field whose value (seconds since the epoch) becomes
	// the event time; "" keeps the time.
	RenewTimeKey string
	// Location is the zone ${time} is rendered in; nil means time.Local.
	Location *time.Location
}

// TemplateField is one line of a <record> section.
type TemplateField struct {
	Key      string
	Template string
}

// NewFilter compiles the templates.
func (c *RecordTransformerConfig) NewFilter(deps FilterDeps) (Filter, error) {
	t := &transformer{cfg: *c, hostname: deps.Hostname, loc: c.Location}
	if t.loc == nil {
		t.loc = time.Local
	}
	for _, f := range c.Record {
		node, err := compileValue(f.Template, c.EnableRuby)
		if err != nil {
			return nil, fmt.Errorf("record_transformer: <record> %s: %w", f.Key, err)
		}
		t.fields = append(t.fields, compiledField{key: f.Key, node: node})
	}
	for _, k := range c.RemoveKeys {
		t.remove = append(t.remove, AccessorPath(k))
	}
	return t, nil
}

// Validate checks the templates without building a filter (config time).
func (c *RecordTransformerConfig) Validate() error {
	_, err := c.NewFilter(FilterDeps{})
	return err
}

type compiledField struct {
	key  string
	node *tplNode
}

// tplNode is a compiled <record> value: a template, or — for a value written
// as JSON ({…} or […]) — a tree whose string leaves and keys are templates
// (the plugin parses such values and expands placeholders inside).
type tplNode struct {
	tpl  *template
	lit  buffer.Value // a non-string JSON leaf
	kind buffer.Kind  // Map or Array for inner nodes
	keys []template
	kids []*tplNode
}

func compileValue(s string, ruby bool) (*tplNode, error) {
	if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
		if v, err := buffer.ParseJSON([]byte(s)); err == nil {
			return compileJSON(v, ruby)
		}
		// The plugin warns and keeps the text as a string.
	}
	tpl, err := compileTemplate(s, ruby)
	if err != nil {
		return nil, err
	}
	return &tplNode{tpl: &tpl}, nil
}

func compileJSON(v buffer.Value, ruby bool) (*tplNode, error) {
	switch v.Kind {
	case buffer.String:
		tpl, err := compileTemplate(string(v.Bytes), ruby)
		if err != nil {
			return nil, err
		}
		return &tplNode{tpl: &tpl}, nil
	case buffer.Map, buffer.Array:
		n := &tplNode{kind: v.Kind}
		for _, kid := range v.Kids {
			if v.Kind == buffer.Map {
				kt, err := compileTemplate(kid.Key, ruby)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, kt)
			}
			c, err := compileJSON(kid.Value, ruby)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, c)
		}
		return n, nil
	}
	return &tplNode{lit: v}, nil
}

func (n *tplNode) expand(r *buffer.Record, tr *transformer) buffer.Value {
	switch {
	case n.tpl != nil:
		return n.tpl.expand(r, tr)
	case n.kind == buffer.Map || n.kind == buffer.Array:
		out := buffer.Value{Kind: n.kind, Kids: make(buffer.Fields, len(n.kids))}
		for i, c := range n.kids {
			if n.kind == buffer.Map {
				kv := n.keys[i].expandString(r, tr)
				out.Kids[i].Key = string(kv)
			}
			out.Kids[i].Value = c.expand(r, tr)
		}
		return out
	}
	return n.lit
}

type transformer struct {
	cfg      RecordTransformerConfig
	fields   []compiledField
	remove   [][]string
	hostname string
	loc      *time.Location
	vals     []buffer.Value
	// Raw metadata (the kubernetes filter's pre-encoded objects) is the same
	// for every record of a container: the last decoded one is kept.
	rawKey []byte
	rawVal buffer.Value
}

// decodeRaw decodes a Raw JSON value, reusing the last result when the bytes
// are equal. The result may be kept by records: a miss allocates afresh.
func (t *transformer) decodeRaw(b []byte) (buffer.Value, error) {
	if t.rawKey != nil && bytes.Equal(b, t.rawKey) {
		return t.rawVal, nil
	}
	own := append([]byte(nil), b...)
	v, err := buffer.ParseJSON(own)
	if err != nil {
		return v, err
	}
	t.rawKey, t.rawVal = own, v
	return v, nil
}

var _ Filter = (*transformer)(nil)

// Filter expands the templates against r (before changing it), then merges
// them as Ruby's Hash#merge does: existing keys keep their position with the
// new value, new keys are appended in <record> order.
func (t *transformer) Filter(r *buffer.Record) bool {
	vals := t.vals[:0]
	for i := range t.fields {
		vals = append(vals, t.fields[i].node.expand(r, t))
	}
	t.vals = vals
	if t.cfg.RenewRecord {
		var out buffer.Fields
		for _, k := range t.cfg.KeepKeys {
			if v, ok := r.Fields.Get(k); ok {
				out = out.Set(k, v)
			}
		}
		r.Fields = out
	}
	for i := range t.fields {
		r.Fields = r.Fields.Set(t.fields[i].key, vals[i])
	}
	clear(vals)
	for _, p := range t.remove {
		r.Fields = deletePath(r.Fields, p)
	}
	if k := t.cfg.RenewTimeKey; k != "" {
		if v, ok := r.Fields.Get(k); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(string(v.AppendText(nil))), 64); err == nil {
				sec := int64(f)
				r.Time = sec*1e9 + int64((f-float64(sec))*1e9)
			}
		}
	}
	return true
}

// template is a compiled <record> value: literal text and placeholders.
type template struct {
	parts []tplPart
	// single is set when the template is exactly one placeholder.
	single bool
}

type tplKind uint8

const (
	tplLiteral tplKind = iota
	tplRecord          // record path; ruby: error when an intermediate is missing
	tplDig             // record.dig path (nil when missing, no error)
	tplKey             // non-Ruby ${key}: top-level field
	tplTag
	tplTagParts
	tplTagPrefix
	tplTagSuffix
	tplHostname
	tplTime
	tplUnknown // non-Ruby placeholder Fluentd does not know: expands to ""
)

type tplPart struct {
	kind tplKind
	text string
	path []string
	idx  int
	ruby bool
}

var (
	reRecordPath = regexp.MustCompile(`^record((?:\[\s*(?:"[^"]*"|'[^']*')\s*\])+)$`)
	reIndexKey   = regexp.MustCompile(`\[\s*(?:"([^"]*)"|'([^']*)')\s*\]`)
	reDig        = regexp.MustCompile(`^record\.dig\(\s*((?:"[^"]*"|'[^']*')(?:\s*,\s*(?:"[^"]*"|'[^']*'))*)\s*\)$`)
	reDigArg     = regexp.MustCompile(`"([^"]*)"|'([^']*)'`)
	reTagIndex   = regexp.MustCompile(`^(tag_parts|tag_prefix|tag_suffix)\[\s*(-?\d+)\s*\]$`)
	reIdent      = regexp.MustCompile(`^[a-z_][A-Za-z0-9_]*$`)
)

// compileTemplate splits a template at ${…} placeholders.
func compileTemplate(s string, ruby bool) (template, error) {
	var t template
	for len(s) > 0 {
		i := strings.Index(s, "${")
		if i < 0 {
			t.parts = append(t.parts, tplPart{kind: tplLiteral, text: s})
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			t.parts = append(t.parts, tplPart{kind: tplLiteral, text: s})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tplPart{kind: tplLiteral, text: s[:i]})
		}
		expr := strings.TrimSpace(s[i+2 : i+j])
		p, err := compilePlaceholder(expr, ruby)
		if err != nil {
			return t, err
		}
		t.parts = append(t.parts, p)
		s = s[i+j+1:]
	}
	t.single = len(t.parts) == 1 && t.parts[0].kind != tplLiteral
	return t, nil
}

func compilePlaceholder(expr string, ruby bool) (tplPart, error) {
	p := tplPart{ruby: ruby}
	switch expr {
	case "tag":
		p.kind = tplTag
		return p, nil
	case "hostname":
		p.kind = tplHostname
		return p, nil
	case "time":
		p.kind = tplTime
		return p, nil
	}
	if m := reTagIndex.FindStringSubmatch(expr); m != nil {
		n, _ := strconv.Atoi(m[2])
		p.idx = n
		switch m[1] {
		case "tag_parts":
			p.kind = tplTagParts
		case "tag_prefix":
			p.kind = tplTagPrefix
		default:
			p.kind = tplTagSuffix
		}
		return p, nil
	}
	if m := reRecordPath.FindStringSubmatch(expr); m != nil {
		p.kind = tplRecord
		for _, k := range reIndexKey.FindAllStringSubmatch(m[1], -1) {
			p.path = append(p.path, k[1]+k[2])
		}
		return p, nil
	}
	if ruby {
		if m := reDig.FindStringSubmatch(expr); m != nil {
			p.kind = tplDig
			for _, k := range reDigArg.FindAllStringSubmatch(m[1], -1) {
				p.path = append(p.path, k[1]+k[2])
			}
			return p, nil
		}
		if reIdent.MatchString(expr) {
			// The Ruby expander evaluates in an OpenStruct of the record:
			// a bare name is that field (nil when missing).
			p.kind, p.text = tplKey, expr
			return p, nil
		}
		return p, fmt.Errorf("enable_ruby: expression ${%s} is not supported (logship evaluates record[\"a\"][\"b\"], record.dig(\"a\", \"b\"), tag, tag_parts[N], tag_prefix[N], tag_suffix[N], hostname and time)", expr)
	}
	// Without Ruby, ${key} names a top-level field; anything else is an
	// unknown placeholder, which Fluentd expands to "" with a warning.
	if expr != "" && !strings.ContainsAny(expr, "[]().\"' ") {
		p.kind, p.text = tplKey, expr
		return p, nil
	}
	p.kind, p.text = tplUnknown, expr
	return p, nil
}

// expand renders t for r. In Ruby mode a failed expression (indexing nil)
// makes the whole value nil, as Fluentd's rescue does.
func (t *template) expand(r *buffer.Record, tr *transformer) buffer.Value {
	if t.single && tr.cfg.AutoTypecast {
		v, ok, failed := t.parts[0].value(r, tr)
		if failed || !ok {
			return buffer.RawJSON(nullJSON)
		}
		return v
	}
	b, failed := t.render(r, tr, true)
	if failed {
		return buffer.RawJSON(nullJSON)
	}
	if b == nil {
		b = []byte{}
	}
	return buffer.Str(b)
}

// expandString renders t as a string (keys of JSON values: no typecast); a
// part that fails to evaluate renders as nothing.
func (t *template) expandString(r *buffer.Record, tr *transformer) []byte {
	b, _ := t.render(r, tr, false)
	return b
}

// render appends the literal parts and the Ruby to_s of the values of the
// others; a part with no value adds nothing. failed reports a part that
// failed to evaluate: with stop, render returns at the first.
func (t *template) render(r *buffer.Record, tr *transformer, stop bool) (b []byte, failed bool) {
	for i := range t.parts {
		p := &t.parts[i]
		if p.kind == tplLiteral {
			b = append(b, p.text...)
			continue
		}
		v, ok, f := p.value(r, tr)
		if f {
			failed = true
			if stop {
				return b, true
			}
			continue
		}
		if ok {
			b = rubyToS(b, v)
		}
	}
	return b, failed
}

var nullJSON = []byte("null")

// value resolves a placeholder: ok false means nil; failed means a Ruby
// NoMethodError (indexing nil or a non-Hash).
func (p *tplPart) value(r *buffer.Record, tr *transformer) (v buffer.Value, ok, failed bool) {
	switch p.kind {
	case tplTag:
		return buffer.Str([]byte(r.Tag)), true, false
	case tplHostname:
		return buffer.Str([]byte(tr.hostname)), true, false
	case tplTime:
		return buffer.Str(time.Unix(0, r.Time).In(tr.loc).AppendFormat(nil, "2006-01-02 15:04:05 -0700")), true, false
	case tplTagParts, tplTagPrefix, tplTagSuffix:
		s, ok := tagIndex(r.Tag, p.kind, p.idx)
		if !ok {
			return v, false, false
		}
		return buffer.Str([]byte(s)), true, false
	case tplKey:
		v, ok := r.Fields.Get(p.text)
		return v, ok && !isNull(v), false
	case tplDig:
		v, ok := r.Fields.Path(p.path...)
		return v, ok && !isNull(v), false
	case tplRecord:
		cur := buffer.Value{Kind: buffer.Map, Kids: r.Fields}
		for i, k := range p.path {
			if cur.Kind == buffer.Raw {
				if isNull(cur) {
					return v, false, p.ruby && i > 0
				}
				d, err := tr.decodeRaw(cur.Bytes)
				if err != nil {
					return v, false, p.ruby
				}
				cur = d
			}
			if cur.Kind != buffer.Map {
				// nil[] or "str"["k"]: Ruby raises (String#[] aside, which
				// real configs never rely on).
				return v, false, p.ruby
			}
			next, found := cur.Kids.Get(k)
			if !found {
				if i == len(p.path)-1 {
					return v, false, false
				}
				return v, false, p.ruby // the next [] indexes nil
			}
			cur = next
		}
		return cur, !isNull(cur), false
	}
	return v, false, false
}

func isNull(v buffer.Value) bool { return v.Kind == buffer.Raw && string(v.Bytes) == "null" }

// rubyToS appends v as Ruby's to_s renders it inside a string. Hashes and
// arrays are rendered as JSON (Ruby would print its inspect form).
func rubyToS(dst []byte, v buffer.Value) []byte {
	switch v.Kind {
	case buffer.String:
		return append(dst, v.Bytes...)
	case buffer.Raw:
		if isNull(v) {
			return dst
		}
		return append(dst, v.Bytes...)
	}
	return v.AppendJSON(dst)
}

// tagIndex returns tag_parts[n], tag_prefix[n] or tag_suffix[n] with Ruby's
// negative indexes.
func tagIndex(tag string, kind tplKind, n int) (string, bool) {
	parts := strings.Split(tag, ".")
	if n < 0 {
		n += len(parts)
	}
	if n < 0 || n >= len(parts) {
		return "", false
	}
	switch kind {
	case tplTagPrefix:
		return strings.Join(parts[:n+1], "."), true
	case tplTagSuffix:
		return strings.Join(parts[n:], "."), true
	}
	return parts[n], true
}

// AccessorPath splits a Fluentd record accessor ($.a.b, $['a']['b']) into
// its keys; any other string is one top-level key.
func AccessorPath(key string) []string {
	switch {
	case strings.HasPrefix(key, "$["):
		var out []string
		for _, m := range reIndexKey.FindAllStringSubmatch(key[1:], -1) {
			out = append(out, m[1]+m[2])
		}
		if len(out) > 0 {
			return out
		}
	case strings.HasPrefix(key, "$."):
		return strings.Split(key[2:], ".")
	}
	return []string{key}
}

// deletePath removes the field at path (nested maps are edited in copies, so
// shared values are never written).
func deletePath(f buffer.Fields, path []string) buffer.Fields {
	if len(path) == 1 {
		return f.Delete(path[0])
	}
	i := f.Index(path[0])
	if i < 0 {
		return f
	}
	v := f[i].Value
	if v.Kind == buffer.Raw {
		d, err := buffer.ParseJSON(v.Bytes)
		if err != nil || d.Kind != buffer.Map {
			return f
		}
		v = d
	}
	if v.Kind != buffer.Map {
		return f
	}
	kids := append(buffer.Fields(nil), v.Kids...)
	f[i].Value = buffer.Value{Kind: buffer.Map, Kids: deletePath(kids, path[1:])}
	return f
}

// lookupText returns the value at path as Ruby's to_s renders it ("" when
// missing), appended to dst.
func lookupText(dst []byte, f buffer.Fields, path []string) ([]byte, bool) {
	v, ok := f.Path(path...)
	if !ok {
		return dst, false
	}
	return rubyToS(dst, v), true
}
