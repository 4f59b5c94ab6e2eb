// Package rewritetag is fluent-plugin-rewrite-tag-filter, an output that
// re-emits: each record gets the tag of the first rule that matches it and
// is routed again from the top of the routing table (or of the @label).
package rewritetag

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"

	"logship/buffer"
	"logship/enrich"
	"logship/plugin"
)

// Config is fluent-plugin-rewrite-tag-filter: each record gets the
// tag of the first rule that matches it and is re-emitted from the top of the
// routing table (or of Label). Records no rule matches, and records whose new
// tag equals their tag, are dropped.
type Config struct {
	Rules []Rule
	// Label is the @label the re-emitted records go to ("" for the top level).
	Label string
	// RemoveTagPrefix is removed from the tag before the ${tag}/__TAG__
	// placeholders see it.
	RemoveTagPrefix string
	// CapitalizeBackrefs capitalizes $1…$9 (capitalize_regex_backreference).
	CapitalizeBackrefs bool
}

// Rule is one rule (v0.12 rewriteruleN, v1 <rule>).
type Rule struct {
	// Key is the field the pattern is matched against (a record accessor in
	// v1: $.a.b).
	Key string
	// Pattern is a Ruby regexp without slashes; Flags its /…/ flags.
	Pattern, Flags string
	// Tag is the new tag, with $1…$9, ${tag}, __TAG__, ${tag_parts[N]},
	// __TAG_PARTS[N]__, ${hostname}, __HOSTNAME__.
	Tag string
	// Invert matches records whose value does NOT match Pattern (v0.12: a
	// pattern written with a leading '!').
	Invert bool
}

// String renders the rule set for check-config.
func (c *Config) String() string {
	var parts []string
	for _, r := range c.Rules {
		inv := ""
		if r.Invert {
			inv = "!"
		}
		parts = append(parts, fmt.Sprintf("%s %s/%s/ → %s", r.Key, inv, r.Pattern, r.Tag))
	}
	s := "rules=[" + strings.Join(parts, "; ") + "]"
	if c.Label != "" {
		s += " @label=" + c.Label
	}
	return s
}

// NewOutput implements plugin.OutputConfig: records are re-emitted with
// deps.Reemit.
func (c *Config) NewOutput(_ context.Context, deps plugin.OutputDeps) (plugin.Output, error) {
	o, err := New(c, deps.Hostname, deps.Reemit, deps.Ack)
	if err != nil {
		return nil, err
	}
	o.log = deps.Log
	return o, nil
}

// Output is fluent-plugin-rewrite-tag-filter: it gives each record
// the tag of the first rule that matches it and re-emits it from the top of
// the routing table (or of the configured @label). Records no rule matches,
// and records whose new tag equals their old one, are dropped and
// acknowledged, as the plugin drops them.
type Output struct {
	cfg      Config
	rules    []rewriteRule
	hostname string
	emit     func(ctx context.Context, label string, recs []buffer.Record) error
	ack      buffer.Acker

	buf     []byte
	dropped []buffer.Record
	// one-entry cache: records of a batch share tag and value.
	lastTag, lastNew string
	lastVal          []byte
	lastRule         int
	log              *zap.Logger
	depth            int
	// Dropped counts records no rule matched (or retagged to their own tag).
	Dropped atomic.Uint64
	// Loops counts records dropped because re-emission came back to this
	// output more than MaxRewriteDepth times (a routing loop).
	Loops atomic.Uint64
}

// MaxRewriteDepth bounds how often one record may pass through the same
// rewrite_tag_filter within one emission (a configuration whose new tags
// route back to it would otherwise recurse without end).
const MaxRewriteDepth = 16

type rewriteRule struct {
	path   []string
	re     *regexp.Regexp
	invert bool
	tag    []tagPart
}

// tagPart is a literal or a placeholder of a rule's new tag.
type tagPart struct {
	lit   string
	kind  byte // 0 literal, '$' backref, 't' tag, 'p' tag_parts, 'h' hostname
	index int
}

var reTagPlaceholder = regexp.MustCompile(`\$\d|\$\{tag\}|__TAG__|\$\{tag_parts\[-?\d+\]\}|__TAG_PARTS\[-?\d+\]__|\$\{hostname\}|__HOSTNAME__`)

// New compiles c's rules. emit re-emits records into a label
// (the router's EmitLocked); ack acknowledges dropped records.
func New(c *Config, hostname string, emit func(ctx context.Context, label string, recs []buffer.Record) error, ack buffer.Acker) (*Output, error) {
	o := &Output{cfg: *c, hostname: hostname, emit: emit, ack: buffer.AckerOrNop(ack), lastRule: -1, log: zap.NewNop()}
	for _, r := range c.Rules {
		re, err := enrich.CompileRuby(r.Pattern, r.Flags)
		if err != nil {
			return nil, fmt.Errorf("rewrite_tag_filter: %w", err)
		}
		rr := rewriteRule{path: enrich.AccessorPath(r.Key), re: re, invert: r.Invert}
		t := r.Tag
		last := 0
		for _, m := range reTagPlaceholder.FindAllStringIndex(t, -1) {
			if m[0] > last {
				rr.tag = append(rr.tag, tagPart{lit: t[last:m[0]]})
			}
			ph := t[m[0]:m[1]]
			switch {
			case ph[0] == '$' && ph[1] >= '0' && ph[1] <= '9':
				rr.tag = append(rr.tag, tagPart{kind: '$', index: int(ph[1] - '0')})
			case ph == "${tag}" || ph == "__TAG__":
				rr.tag = append(rr.tag, tagPart{kind: 't'})
			case ph == "${hostname}" || ph == "__HOSTNAME__":
				rr.tag = append(rr.tag, tagPart{kind: 'h'})
			default:
				i := strings.IndexByte(ph, '[')
				n, _ := strconv.Atoi(ph[i+1 : strings.IndexByte(ph, ']')])
				rr.tag = append(rr.tag, tagPart{kind: 'p', index: n})
			}
			last = m[1]
		}
		if last < len(t) {
			rr.tag = append(rr.tag, tagPart{lit: t[last:]})
		}
		o.rules = append(o.rules, rr)
	}
	return o, nil
}

var (
	_ plugin.OutputConfig = (*Config)(nil)
	_ plugin.Output       = (*Output)(nil)
)

// Emit retags recs and re-emits them (runs of one new tag together).
func (o *Output) Emit(ctx context.Context, recs []buffer.Record) error {
	if o.depth >= MaxRewriteDepth {
		o.Loops.Add(uint64(len(recs)))
		if o.log != nil {
			o.log.Warn("rewrite_tag_filter: routing loop; records dropped", zap.Int("records", len(recs)), zap.String("tag", recs[0].Tag))
		}
		o.ack.Ack(recs)
		return nil
	}
	o.depth++
	defer func() { o.depth-- }()
	dropped := o.dropped[:0]
	n := 0
	for i := range recs {
		nt, ok := o.newTag(&recs[i])
		if !ok || nt == recs[i].Tag {
			dropped = append(dropped, recs[i])
			continue
		}
		recs[i].Tag = nt
		recs[n] = recs[i]
		n++
	}
	if len(dropped) > 0 {
		o.Dropped.Add(uint64(len(dropped)))
		o.ack.Ack(dropped)
		clear(dropped)
	}
	o.dropped = dropped[:0]
	if n == 0 {
		return nil
	}
	return o.emit(ctx, o.cfg.Label, recs[:n])
}

// newTag returns the tag of the first matching rule.
func (o *Output) newTag(r *buffer.Record) (string, bool) {
	for ri := range o.rules {
		rule := &o.rules[ri]
		v, _ := r.Fields.Path(rule.path...)
		o.buf = appendText(o.buf[:0], v)
		if len(o.buf) == 0 && !rule.invert {
			continue // the plugin skips empty values
		}
		if ri == o.lastRule && r.Tag == o.lastTag && string(o.buf) == string(o.lastVal) {
			return o.lastNew, true
		}
		var m []int
		if rule.invert {
			if rule.re.Match(o.buf) {
				continue
			}
		} else if m = rule.re.FindSubmatchIndex(o.buf); m == nil {
			continue
		}
		nt := o.expand(rule, r.Tag, m)
		o.lastRule, o.lastTag, o.lastNew = ri, r.Tag, nt
		o.lastVal = append(o.lastVal[:0], o.buf...)
		return nt, true
	}
	return "", false
}

func (o *Output) expand(rule *rewriteRule, tag string, m []int) string {
	ptag := tag
	if p := o.cfg.RemoveTagPrefix; p != "" && strings.HasPrefix(tag, p) {
		ptag = strings.TrimPrefix(tag[len(p):], ".") // /^prefix\.?/
	}
	var b strings.Builder
	for _, p := range rule.tag {
		switch p.kind {
		case 0:
			b.WriteString(p.lit)
		case '$':
			if m != nil && 2*p.index+1 < len(m) && m[2*p.index] >= 0 {
				s := string(o.buf[m[2*p.index]:m[2*p.index+1]])
				if o.cfg.CapitalizeBackrefs && s != "" {
					r, size := utf8.DecodeRuneInString(s)
					s = string(unicode.ToUpper(r)) + s[size:]
				}
				b.WriteString(s)
			}
		case 't':
			b.WriteString(ptag)
		case 'h':
			b.WriteString(o.hostname)
		case 'p':
			parts := strings.Split(ptag, ".")
			i := p.index
			if i < 0 {
				i += len(parts)
			}
			if i >= 0 && i < len(parts) {
				b.WriteString(parts[i])
			}
		}
	}
	return b.String()
}

// appendText renders a value as Ruby's to_s (nil: "").
func appendText(dst []byte, v buffer.Value) []byte {
	switch v.Kind {
	case buffer.String:
		return append(dst, v.Bytes...)
	case buffer.Raw:
		if string(v.Bytes) == "null" {
			return dst
		}
		return append(dst, v.Bytes...)
	case buffer.Map, buffer.Array:
		return v.AppendJSON(dst)
	}
	return dst
}
