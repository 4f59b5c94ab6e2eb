package config

import (
	"strconv"
	"strings"
)

// This file applies Fluentd's compat_parameters helper (Fluentd v1.19.3
// lib/fluent/plugin_helper/compat_parameters.rb): v0.12 configurations write buffer, parser and
// inject parameters at the directive level; v1 plugins read them from
// <buffer>, <parse> and <inject> sections. Each Compat… method adds the
// section Fluentd would synthesize, with the parameters renamed and their
// original positions, so the mapping layer reads one spelling. The original
// parameters are marked used.

// compatMap lists a v0.12 key and its v1 name ("" when it is not copied).
type compatMap struct{ from, to string }

// bufferCompat is BUFFER_PARAMS + BUFFER_TIME_SLICED_PARAMS.
var bufferCompat = [...]compatMap{
	{"buffer_type", "@type"},
	{"buffer_path", "path"},
	{"num_threads", "flush_thread_count"},
	{"flush_interval", "flush_interval"},
	{"try_flush_interval", "flush_thread_interval"},
	{"queued_chunk_flush_interval", "flush_thread_burst_interval"},
	{"disable_retry_limit", "retry_forever"},
	{"retry_limit", "retry_max_times"},
	{"max_retry_wait", "retry_max_interval"},
	{"buffer_chunk_limit", "chunk_limit_size"},
	{"buffer_queue_limit", "queue_limit_length"},
	{"buffer_queue_full_action", "overflow_action"},
	{"flush_at_shutdown", "flush_at_shutdown"},
	{"time_slice_format", ""},
	{"time_slice_wait", "timekey_wait"},
	{"timezone", "timekey_zone"},
}

// parseCompat is PARSER_PARAMS.
var parseCompat = [...]compatMap{
	{"format", ""},
	{"types", "types"},
	{"types_delimiter", "types_delimiter"},
	{"types_label_delimiter", "types_label_delimiter"},
	{"keys", "keys"},
	{"time_key", "time_key"},
	{"time_format", "time_format"},
	{"localtime", ""},
	{"utc", ""},
	{"delimiter", "delimiter"},
	{"keep_time_key", "keep_time_key"},
	{"null_empty_string", "null_empty_string"},
	{"null_value_pattern", "null_value_pattern"},
	{"json_parser", "json_parser"},
	{"label_delimiter", "label_delimiter"},
	{"format_firstline", "format_firstline"},
	{"message_key", "message_key"},
	{"with_priority", "with_priority"},
	{"message_format", "message_format"},
	{"rfc5424_time_format", "rfc5424_time_format"},
}

// injectCompat is INJECT_PARAMS.
var injectCompat = [...]compatMap{
	{"include_time_key", ""},
	{"time_key", "time_key"},
	{"time_format", "time_format"},
	{"timezone", "timezone"},
	{"include_tag_key", ""},
	{"tag_key", "tag_key"},
	{"localtime", ""},
	{"utc", ""},
}

// formatMax is the number of formatN parameters of the multiline parser.
const formatMax = 20

// lookup returns the parameter key without marking it used.
func (s *Section) lookup(key string) *Param {
	for _, p := range s.Params {
		if p.Key == key {
			return p
		}
	}
	return nil
}

// compatSection builds the synthesized section name from the mapped
// parameters of s, or returns nil when s already has the section or none of
// the keys is present.
func (s *Section) compatSection(name string, table []compatMap) *Section {
	if s.hasNested(name) {
		return nil
	}
	var out *Section
	for _, m := range table {
		p := s.lookup(m.from)
		if p == nil {
			continue
		}
		p.used = true
		if out == nil {
			out = &Section{Name: name, Pos: p.Pos, Compat: true, used: true}
		}
		if m.to != "" {
			out.Params = append(out.Params, p.renamed(m.to, p.Value))
		}
	}
	return out
}

func (s *Section) hasNested(name string) bool {
	for _, n := range s.Nested {
		if n.Name == name {
			return true
		}
	}
	return false
}

// renamed copies p under a new key, remembering the original.
func (p *Param) renamed(key, value string) *Param {
	q := *p
	q.Key, q.Value, q.From, q.used = key, value, p.Key, false
	return &q
}

// synthetic adds a parameter that Fluentd derives (no source of its own):
// it takes the position of the parameter it came from.
func (s *Section) synthetic(key, value string, from *Param) {
	if s.lookup(key) != nil {
		return
	}
	q := &Param{Key: key, Value: value, From: from.Key, Pos: from.Pos, ValuePos: from.ValuePos, diag: from.diag}
	s.Params = append(s.Params, q)
}

// timeZoneFlag applies localtime/utc: it returns the value Fluentd derives
// from whichever of the two is present.
func (s *Section) timeZoneFlag() (p *Param, localtime bool, err error) {
	lt, utc := s.lookup("localtime"), s.lookup("utc")
	switch {
	case lt != nil && utc != nil:
		return nil, false, errorAt(utc.Pos, nil, "both utc and localtime are specified; use only one of them")
	case lt != nil:
		b, err := lt.Bool()
		return lt, b, err
	case utc != nil:
		b, err := utc.Bool()
		return utc, !b, err
	}
	return nil, false, nil
}

// CompatBuffer converts the v0.12 buffer parameters of an output directive
// (buffer_chunk_limit, flush_interval, disable_retry_limit, …) into a
// <buffer> section with the v1 names, as Fluentd does when the directive has
// no <buffer> section. defaultChunkKey is the section argument when
// time_slice_format is absent (the plugin's default; "" for
// cloudwatch_logs). It returns the added section, or nil when nothing was
// converted.
func (s *Section) CompatBuffer(defaultChunkKey string) (*Section, error) {
	b := s.compatSection("buffer", bufferCompat[:])
	if b == nil {
		return nil, nil
	}
	b.Arg = defaultChunkKey
	for _, p := range b.Params {
		if p.From == "buffer_queue_full_action" && p.Value == "exception" {
			p.Value = "throw_exception"
		}
	}
	if tf := s.lookup("time_slice_format"); tf != nil {
		b.Arg = "time"
		var timekey string
		switch v := tf.Value; {
		case strings.Contains(v, "%S"):
			timekey = "1"
		case strings.Contains(v, "%M"):
			timekey = "60"
		case strings.Contains(v, "%H"):
			timekey = "3600"
		case strings.Contains(v, "%d"):
			timekey = "86400"
		default:
			return nil, errorAt(tf.ValuePos, nil, "time_slice_format %q: a format with only %%Y or %%m is too long for a time chunk key", v)
		}
		b.synthetic("timekey", timekey, tf)
		p, local, err := s.timeZoneFlag()
		if err != nil {
			return nil, err
		}
		if p != nil {
			p.used = true
			b.synthetic("timekey_use_utc", strconv.FormatBool(!local), p)
		}
	}
	s.Nested = append(s.Nested, b)
	return b, nil
}

// CompatParse converts v0.12 parser parameters of a directive (format,
// time_format, time_key, format_firstline, …) into a <parse> section:
// "format /re/" becomes @type regexp with expression re, any other format
// the @type. With formatN set (in_tail does this) format1…format20 are
// copied into the <parse> section, whether it was converted or written. It
// returns the added section, or nil when nothing was converted.
func (s *Section) CompatParse(formatN bool) (*Section, error) {
	ps := s.compatSection("parse", parseCompat[:])
	if ps != nil {
		if f := s.lookup("format"); f != nil && f.Kind == KindString {
			if len(f.Value) >= 2 && strings.HasPrefix(f.Value, "/") && strings.HasSuffix(f.Value, "/") {
				ps.Params = append([]*Param{f.renamed("@type", "regexp"), f.renamed("expression", f.Value[1:len(f.Value)-1])}, ps.Params...)
			} else {
				ps.Params = append([]*Param{f.renamed("@type", f.Value)}, ps.Params...)
			}
		}
		p, local, err := s.timeZoneFlag()
		if err != nil {
			return nil, err
		}
		if p != nil {
			ps.synthetic("localtime", strconv.FormatBool(local), p)
		}
		s.Nested = append(s.Nested, ps)
	}
	if formatN {
		target := ps
		if target == nil {
			for _, n := range s.Nested {
				if n.Name == "parse" {
					target = n
					break
				}
			}
		}
		for i := 1; i <= formatMax && target != nil; i++ {
			if f := s.lookup("format" + strconv.Itoa(i)); f != nil {
				f.used = true
				if target.lookup(f.Key) == nil {
					target.Params = append(target.Params, f.renamed(f.Key, f.Value))
				}
			}
		}
	}
	return ps, nil
}

// CompatInject converts v0.12 inject parameters of an output directive
// (include_time_key, time_key, time_format, include_tag_key, tag_key, …)
// into an <inject> section. It returns the added section, or nil when
// nothing was converted.
func (s *Section) CompatInject() (*Section, error) {
	in := s.compatSection("inject", injectCompat[:])
	if in == nil {
		return nil, nil
	}
	if p := s.lookup("include_time_key"); p != nil {
		if b, err := p.Bool(); err != nil {
			return nil, err
		} else if b {
			in.synthetic("time_key", "time", p)
			in.synthetic("time_type", "string", p)
		}
	}
	if p := s.lookup("time_as_epoch"); p != nil {
		p.used = true
		if b, err := p.Bool(); err != nil {
			return nil, err
		} else if b {
			in.synthetic("time_key", "time", p)
			if tt := in.lookup("time_type"); tt != nil {
				tt.Value = "unixtime"
			} else {
				in.synthetic("time_type", "unixtime", p)
			}
		}
	}
	p, local, err := s.timeZoneFlag()
	if err != nil {
		return nil, err
	}
	if p != nil {
		in.synthetic("localtime", strconv.FormatBool(local), p)
	}
	if p := s.lookup("include_tag_key"); p != nil {
		if b, err := p.Bool(); err != nil {
			return nil, err
		} else if b {
			in.synthetic("tag_key", "tag", p)
		}
	}
	s.Nested = append(s.Nested, in)
	return in, nil
}
