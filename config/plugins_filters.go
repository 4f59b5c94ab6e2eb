package config

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"logship/enrich"
)

// pluginFilter maps the <filter> plugins other than kubernetes_metadata
// (record_transformer, grep, parser, concat). ok is false for a type it
// does not know; a known type with a bad configuration records the error in
// b.d and returns (nil, true).
func (b *builder) pluginFilter(s *Section, typ string) (fc enrich.FilterConfig, ok bool) {
	pr := b.reader(s)
	boolean, strs := pr.Bool, pr.Strings
	// fail reports the errors read so far (once per mapping: every case
	// calls it once, at its end).
	fail := func() bool { return !pr.done() }
	switch typ {
	case "record_transformer":
		c := &enrich.RecordTransformerConfig{Location: b.opts.Location}
		for _, rs := range s.Sections("record") {
			for _, p := range rs.Params {
				p.MarkUsed()
				v := p.Value
				if !p.Set() {
					v = ""
				}
				c.Record = append(c.Record, enrich.TemplateField{Key: p.Key, Template: v})
			}
		}
		c.EnableRuby = boolean("enable_ruby", false)
		c.AutoTypecast = boolean("auto_typecast", false)
		c.RenewRecord = boolean("renew_record", false)
		c.KeepKeys = strs("keep_keys")
		c.RemoveKeys = strs("remove_keys")
		c.RenewTimeKey = s.String("renew_time_key", "")
		if fail() {
			return nil, true
		}
		return b.checked(s, c, c.Validate())
	case "grep":
		c := &enrich.GrepConfig{}
		cond := func(sec *Section) (enrich.GrepCondition, bool) {
			key := sec.String("key", "")
			pp := sec.Param("pattern")
			if key == "" || !pp.Set() {
				b.d.Errorf(sec.Pos, "%s in %s: key and pattern are required", sec.Header(), s.Header())
				return enrich.GrepCondition{}, false
			}
			pat, flags, err := pp.Regexp()
			if err != nil {
				b.d.Add(sec.Pos, err)
				return enrich.GrepCondition{}, false
			}
			return enrich.GrepCondition{Key: key, Pattern: pat, Flags: flags}, true
		}
		good := true
		collect := func(parent *Section, g *enrich.GrepGroup) {
			for _, r := range parent.Sections("regexp") {
				if gc, ok := cond(r); ok {
					g.Regexps = append(g.Regexps, gc)
				} else {
					good = false
				}
			}
			for _, r := range parent.Sections("exclude") {
				if gc, ok := cond(r); ok {
					g.Excludes = append(g.Excludes, gc)
				} else {
					good = false
				}
			}
		}
		var top enrich.GrepGroup
		collect(s, &top)
		// v0.12 (and v1 legacy) regexpN / excludeN: "key pattern".
		for _, n := range numbered(s, "regexp", "exclude") {
			p := s.Param(n.key)
			// Fluentd: value.split(/ /, 2) — the pattern is everything after
			// the first space, further spaces included.
			key, pat, ok := strings.Cut(p.Value, " ")
			if !ok || key == "" || pat == "" {
				b.d.Errorf(p.Pos, "%s: %s must be \"key pattern\"", s.Header(), n.key)
				good = false
				continue
			}
			gc := enrich.GrepCondition{Key: key, Pattern: pat}
			if n.prefix == "regexp" {
				top.Regexps = append(top.Regexps, gc)
			} else {
				top.Excludes = append(top.Excludes, gc)
			}
		}
		c.Regexps, c.Excludes = top.Regexps, top.Excludes
		for _, a := range s.Sections("and") {
			var g enrich.GrepGroup
			collect(a, &g)
			c.And = append(c.And, g)
		}
		for _, o := range s.Sections("or") {
			var g enrich.GrepGroup
			collect(o, &g)
			c.Or = append(c.Or, g)
		}
		if !good {
			return nil, true
		}
		return b.checked(s, c, buildable(c))
	case "parser":
		c := &enrich.ParserFilterConfig{}
		var ok bool
		if c.KeyName, ok = b.required(s, "key_name"); !ok {
			return nil, true
		}
		c.ReserveData = boolean("reserve_data", false)
		c.ReserveTime = boolean("reserve_time", false)
		c.RemoveKeyNameField = boolean("remove_key_name_field", false)
		c.SuppressParseErrorLog = boolean("suppress_parse_error_log", false)
		c.InjectKeyPrefix = s.String("inject_key_prefix", "")
		c.HashValueField = s.String("hash_value_field", "")
		// Records that do not parse are counted (and kept with
		// reserve_data); logship has no error stream to send them to.
		accept(s, "emit_invalid_record_to_error", "replace_invalid_sequence")
		if fail() {
			return nil, true
		}
		pc, ok := b.parse(s)
		if !ok {
			return nil, true
		}
		c.Parse = pc
		c.KeepTimeWhenMissing = b.p.V012
		return b.checked(s, c, buildable(c))
	case "concat":
		c := &enrich.ConcatConfig{}
		var ok bool
		if c.Key, ok = b.required(s, "key"); !ok {
			return nil, true
		}
		c.Separator = s.String("separator", "\n")
		if n, err := s.Int("n_lines", 0); err != nil {
			pr.add(err)
		} else {
			c.NLines = int(n)
		}
		re := func(key string) (string, string) {
			p := s.Param(key)
			if !p.Set() {
				return "", ""
			}
			pat, flags, err := p.Regexp()
			if err != nil {
				pr.add(err)
			}
			return pat, flags
		}
		c.MultilineStart, c.MultilineStartFlags = re("multiline_start_regexp")
		c.MultilineEnd, c.MultilineEndFlags = re("multiline_end_regexp")
		c.ContinuousLine, c.ContinuousLineFlags = re("continuous_line_regexp")
		c.StreamIdentityKey = s.String("stream_identity_key", "")
		if d, err := s.Duration("flush_interval", enrich.DefaultConcatFlushInterval); err != nil {
			pr.add(err)
		} else {
			c.FlushInterval = d
		}
		c.TimeoutLabel = s.String("timeout_label", "")
		c.UseFirstTimestamp = boolean("use_first_timestamp", false)
		c.PartialKey = s.String("partial_key", "")
		c.PartialValue = s.String("partial_value", "")
		c.KeepPartialKey = boolean("keep_partial_key", false)
		partialMeta := boolean("use_partial_metadata", false)
		partialCRI := boolean("use_partial_cri_logtag", false)
		if partialCRI {
			partialMeta = true
			if k := s.String("partial_cri_logtag_key", ""); k != "" && !c.KeepPartialKey {
				c.PassThroughDelete = append(c.PassThroughDelete, k)
			}
			c.PassThroughDelete = append(c.PassThroughDelete, s.String("partial_cri_stream_key", "stream"))
		}
		// The tailer already joins docker partial lines and CRI P/F
		// fragments, so the partial-metadata modes have nothing left to do.
		accept(s, "partial_metadata_format", "keep_partial_metadata", "partial_cri_logtag_key",
			"partial_cri_stream_key", "buffer_limit_size", "buffer_limit_overflow_action")
		if fail() {
			return nil, true
		}
		if c.TimeoutLabel != "" && b.p.Router.Label(c.TimeoutLabel) == nil {
			b.d.Errorf(s.Pos, "%s: timeout_label %s is not defined", s.Header(), c.TimeoutLabel)
			return nil, true
		}
		if partialMeta && c.NLines == 0 && c.MultilineStart == "" && c.MultilineEnd == "" && c.PartialKey == "" {
			c.PassThrough = true
		}
		return b.checked(s, c, c.Validate())
	}
	return nil, false
}

// checked returns the mapped filter c, or reports err, the last check of c,
// at s (the mapping failed).
func (b *builder) checked(s *Section, c enrich.FilterConfig, err error) (enrich.FilterConfig, bool) {
	if err != nil {
		b.d.Errorf(s.Pos, "%s: %v", s.Header(), err)
		return nil, true
	}
	return c, true
}

// buildable checks that c's runtime can be built.
func buildable(c enrich.FilterConfig) error {
	_, err := c.NewFilter(enrich.FilterDeps{})
	return err
}

// numberedParam is a parameter named prefix followed by a number.
type numberedParam struct {
	key    string
	prefix string
	n      int
}

// numbered returns s's parameters named <prefix><N> (v0.12 regexp1,
// exclude2, rewriterule3…), ordered by prefix then N.
func numbered(s *Section, prefixes ...string) []numberedParam {
	var out []numberedParam
	for _, p := range s.Params {
		for _, pre := range prefixes {
			if !strings.HasPrefix(p.Key, pre) {
				continue
			}
			n, err := strconv.Atoi(p.Key[len(pre):])
			if err != nil || n < 0 {
				continue
			}
			out = append(out, numberedParam{key: p.Key, prefix: pre, n: n})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].prefix != out[j].prefix {
			return out[i].prefix < out[j].prefix
		}
		return out[i].n < out[j].n
	})
	return out
}

// lineParse reads the parameters of the multi-line parsers (multiline,
// kubernetes, multiline_kubernetes) from the <parse> section ps (or, for
// v0.12 source-level format, from s) and the tail-level
// multiline_flush_interval.
func (b *builder) lineParse(s, ps *Section, pc *enrich.ParseConfig) bool {
	src := ps
	if src == nil {
		src = s
	}
	ml := &enrich.MultilineConfig{}
	good := true
	if p := src.Param("format_firstline"); p.Set() {
		pat, flags, err := p.Regexp()
		if err != nil {
			b.d.Add(p.Pos, err)
			good = false
		}
		ml.FirstLine, ml.FirstLineFlags = pat, flags
	}
	for _, n := range numbered(src, "format") {
		p := src.Param(n.key)
		pat, _, err := p.Regexp()
		if err != nil {
			b.d.Add(p.Pos, err)
			good = false
			continue
		}
		ml.Formats = append(ml.Formats, pat)
	}
	var d time.Duration
	var err error
	if d, err = s.Duration("multiline_flush_interval", 0); err != nil {
		b.d.Add(s.Pos, err)
		good = false
	}
	ml.FlushInterval = d
	switch pc.Type {
	case "multiline":
		if len(ml.Formats) == 0 {
			b.d.Errorf(src.Pos, "%s: the multiline parser needs format1", s.Header())
			return false
		}
		if _, err := regexp.Compile(enrich.RubyRegexp(strings.Join(ml.Formats, ""))); err != nil {
			b.d.Errorf(src.Pos, "%s: multiline parser: %v", s.Header(), err)
			return false
		}
	case "kubernetes":
		// v0.12's kubernetes parser (coreos images) is a multiline parser
		// grouping at the glog first line; v1's (fluentd-kubernetes-daemonset)
		// parses line by line.
		if b.p.V012 && ml.FirstLine == "" {
			ml.FirstLine = enrich.GlogFirstLine
		}
	}
	if ml.FirstLine != "" {
		if _, err := enrich.CompileRuby(ml.FirstLine, ml.FirstLineFlags); err != nil {
			b.d.Errorf(src.Pos, "%s: format_firstline: %v", s.Header(), err)
			return false
		}
	}
	pc.Lines = ml
	return good
}

// ConcatPartialSeparator is the Differences line of a concat that joins
// partial lines (use_partial_cri_logtag, use_partial_metadata) with a
// separator.
const ConcatPartialSeparator = `concat (use_partial_cri_logtag / use_partial_metadata) joins a line's partial pieces without its separator: the runtime cut one line into them, and the tailer joins them back as written (Fluentd's concat puts its separator, "\n" by default, between them)`

// pluginDifferences lists, one line each, where the filters and outputs of
// this file deliberately behave differently from their Fluentd plugins (for
// Pipeline.Differences).
func (p *Pipeline) pluginDifferences() []string {
	has := map[string]bool{}
	for _, f := range p.Filters {
		has[f.Type] = true
	}
	for _, s := range p.Sources {
		if s.Tail != nil && s.Tail.Line.Parse.Lines != nil {
			has["multiline source"] = true
		}
	}
	var out []string
	d := func(s string) { out = append(out, "differs from Fluentd: "+s) }
	if has["record_transformer"] {
		d("record_transformer's enable_ruby evaluates record[\"a\"][\"b\"], record.dig, tag, tag_parts/tag_prefix/tag_suffix[N], hostname and time without a Ruby interpreter (any other expression is refused at startup); a hash or array interpolated into a string renders as JSON, not Ruby's inspect")
	}
	if has["parser"] {
		d("records the parser filter cannot parse are counted (and kept with reserve_data); they are not emitted to an @ERROR label")
	}
	for _, f := range p.Filters {
		if c, ok := f.Plugin.(*enrich.ConcatConfig); ok && c.PassThrough && c.Separator != "" {
			d(ConcatPartialSeparator)
			break
		}
	}
	if has["concat"] {
		d("concat: a group's first record holds the file position until the joined record is delivered, so a restart re-reads the group (Fluentd loses held groups); a record that ends a group without starting one (continuous_line_regexp) is held as its own group instead of being passed at once")
	}
	if has["multiline source"] {
		d("a multi-line record's first line holds the file position until the record is delivered, so a restart re-reads and re-joins it")
	}
	return out
}
