package enrich

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"logship/buffer"
)

// ErrNoMatch is returned (wrapped) by a Parser when a line does not have the
// configured format; Fluentd logs "pattern not match" and drops the line, we
// count it and, when configured, emit it as {"unmatched_line": …}.
var ErrNoMatch = errors.New("pattern not match")

// Parser turns one line of text into a record's fields and, when the line
// carries one, its time. The fields may alias text.
type Parser interface {
	Parse(text []byte, r *buffer.Record) error
}

// ParseConfig is a Fluentd <parse> section (or the v0.12 format parameters).
type ParseConfig struct {
	// Type is the parser: none, json, regexp, cri, syslog, kubernetes,
	// multiline… ("" means none). For `format /re/` the config layer sets
	// Type "regexp" and Expression.
	Type string
	// Expression is the regular expression of the regexp parser, in Ruby
	// syntax (named groups (?<name>…)).
	Expression string
	// IgnoreCase and Multiline are the regexp's /i and /m flags.
	IgnoreCase, Multiline bool
	// TimeKey names the field holding the event time; "" means "time".
	TimeKey string
	// TimeFormat is a strptime format for TimeKey; "" means the parser's
	// default (json: a number of seconds, or RFC 3339 text).
	TimeFormat string
	// KeepTimeKey keeps TimeKey in the record after using it.
	KeepTimeKey bool
	// MessageKey is the field of the none parser; "" means "message".
	MessageKey string
	// Location is the zone for times without an offset; nil means UTC.
	Location *time.Location
	// SecondPrecision truncates event times to whole seconds, as Fluentd v0.12
	// does (its event time is an integer).
	SecondPrecision bool
	// Now is the clock for records without a time; nil means time.Now.
	Now func() time.Time
	// Lines configures the multi-line parsers (parse_multiline.go).
	Lines *MultilineConfig
	// Patterns are the <pattern> sections of multi_format, tried in order
	// (parse_multiformat.go). Each is a parser of its own: json, regexp,
	// none or syslog; Location, SecondPrecision and Now are inherited.
	Patterns []ParseConfig
}

// NewParser returns the parser cfg describes.
func NewParser(cfg ParseConfig) (Parser, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TimeKey == "" {
		cfg.TimeKey = "time"
	}
	var tf *TimeFormat
	if cfg.TimeFormat != "" {
		var err error
		if tf, err = NewTimeFormat(cfg.TimeFormat, cfg.Location, cfg.Now); err != nil {
			return nil, err
		}
	}
	base := timeSetter{cfg: cfg, tf: tf}
	switch cfg.Type {
	case "", "none":
		key := cfg.MessageKey
		if key == "" {
			key = "message"
		}
		return &noneParser{key: key, timeSetter: base}, nil
	case "json":
		return &jsonParser{timeSetter: base}, nil
	case "regexp":
		return newRegexpParser(cfg.Expression, cfg.IgnoreCase, cfg.Multiline, base)
	case "syslog":
		// Fluentd's RFC 3164 syslog parser (without the <pri> header).
		if base.tf == nil {
			tf, err := NewTimeFormat("%b %d %H:%M:%S", cfg.Location, cfg.Now)
			if err != nil {
				return nil, err
			}
			base.tf = tf
		}
		return newRegexpParser(`^(?<time>[^ ]*\s*[^ ]* [^ ]*) (?<host>[^ ]*) (?<ident>[^ :\[]*)(?:\[(?<pid>[0-9]+)\])?(?:[^\:]*\:)? *(?<message>.*)$`, false, false, base)
	case "multiline", "kubernetes", "multiline_kubernetes":
		return newLineParser(cfg)
	case "multi_format":
		return newMultiFormatParser(cfg)
	}
	return nil, fmt.Errorf("parser %q: %w", cfg.Type, errors.ErrUnsupported)
}

// timeSetter turns a time field into the record's time.
type timeSetter struct {
	cfg ParseConfig
	tf  *TimeFormat
}

func (ts *timeSetter) now() int64 {
	return ts.finish(ts.cfg.Now().UnixNano())
}

func (ts *timeSetter) finish(t int64) int64 {
	if ts.cfg.SecondPrecision {
		t -= t % int64(time.Second)
	}
	return t
}

// parseTime reads v as the event time.
func (ts *timeSetter) parseTime(v buffer.Value) (int64, error) {
	if ts.tf != nil {
		return ts.tf.Parse(v.Bytes)
	}
	s := string(v.Bytes)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec := int64(f)
		return sec*1e9 + int64((f-float64(sec))*1e9), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrTimeMismatch, s)
	}
	return t.UnixNano(), nil
}

// applyTime sets r.Time from the time field when there is one (removing it
// unless KeepTimeKey), else to now.
func (ts *timeSetter) applyTime(r *buffer.Record) error {
	i := r.Fields.Index(ts.cfg.TimeKey)
	if i < 0 {
		r.Time = ts.now()
		return nil
	}
	t, err := ts.parseTime(r.Fields[i].Value)
	if err != nil {
		return err
	}
	r.Time = ts.finish(t)
	if !ts.cfg.KeepTimeKey {
		r.Fields = append(r.Fields[:i], r.Fields[i+1:]...)
	}
	return nil
}

type noneParser struct {
	key string
	timeSetter
}

func (p *noneParser) Parse(text []byte, r *buffer.Record) error {
	r.Fields = append(r.Fields[:0], buffer.Field{Key: p.key, Value: buffer.Str(text)})
	r.Time = p.now()
	return nil
}

type jsonParser struct{ timeSetter }

func (p *jsonParser) Parse(text []byte, r *buffer.Record) error {
	v, err := buffer.ParseJSONAsRuby(text)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoMatch, err)
	}
	if v.Kind != buffer.Map {
		return fmt.Errorf("%w: not a JSON object", ErrNoMatch)
	}
	r.Fields = v.Kids
	return p.applyTime(r)
}

type regexpParser struct {
	re    *regexp.Regexp
	names []string
	timeSetter
}

func newRegexpParser(expr string, ignoreCase, multiline bool, ts timeSetter) (*regexpParser, error) {
	if expr == "" {
		return nil, errors.New("regexp parser: expression is empty")
	}
	flags := ""
	if ignoreCase {
		flags += "i"
	}
	if multiline {
		flags += "s" // Ruby's /m is RE2's s (dot matches newline)
	}
	// Ruby's ^ and $ match at line boundaries.
	flags += "m"
	re, err := regexp.Compile("(?" + flags + ")" + RubyRegexp(expr))
	if err != nil {
		return nil, fmt.Errorf("regexp parser %q: %w", expr, err)
	}
	return &regexpParser{re: re, names: re.SubexpNames(), timeSetter: ts}, nil
}

func (p *regexpParser) Parse(text []byte, r *buffer.Record) error {
	m := p.re.FindSubmatchIndex(text)
	if m == nil {
		return ErrNoMatch
	}
	r.Fields = r.Fields[:0]
	for i, name := range p.names {
		if name == "" || m[2*i] < 0 {
			continue // unnamed, or a group that did not take part (nil in Ruby: skipped)
		}
		r.Fields = r.Fields.Set(name, buffer.Str(text[m[2*i]:m[2*i+1]]))
	}
	return p.applyTime(r)
}

// String describes the parser for check-config.
func (p *regexpParser) String() string { return "regexp " + strings.TrimPrefix(p.re.String(), "(?m)") }
