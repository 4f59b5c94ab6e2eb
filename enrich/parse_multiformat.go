package enrich

import (
	"encoding/json"
	"errors"
	"fmt"

	"logship/buffer"
	"logship/tail"
)

// multiFormatParser is fluent-plugin-multi-format-parser's `@type
// multi_format`: the <pattern> parsers are tried in the order written and
// the first that parses the line makes the record; when none does, the line
// is rejected like any parser's mismatch (ErrNoMatch: counted, dropped or
// emitted as unmatched_line). A `format none` pattern last catches every
// line. See the plugin's README,
// https://github.com/repeatedly/fluent-plugin-multi-format-parser#configuration.
type multiFormatParser struct {
	types    []string // each pattern's parser type
	keepTime []bool   // each pattern's keep_time_key
	patterns []Parser
}

func newMultiFormatParser(cfg ParseConfig) (*multiFormatParser, error) {
	if len(cfg.Patterns) == 0 {
		return nil, errors.New("multi_format parser: no <pattern>")
	}
	p := &multiFormatParser{}
	for i, pc := range cfg.Patterns {
		switch pc.Type {
		case "", "none", "json", "regexp", "syslog":
		default:
			return nil, fmt.Errorf("multi_format parser: pattern %d: parser %q: %w", i+1, pc.Type, errors.ErrUnsupported)
		}
		pc.Location, pc.SecondPrecision, pc.Now = cfg.Location, cfg.SecondPrecision, cfg.Now
		q, err := NewParser(pc)
		if err != nil {
			return nil, fmt.Errorf("multi_format parser: pattern %d: %w", i+1, err)
		}
		typ := pc.Type
		if typ == "" {
			typ = "none"
		}
		p.types = append(p.types, typ)
		p.keepTime = append(p.keepTime, pc.KeepTimeKey)
		p.patterns = append(p.patterns, q)
	}
	return p, nil
}

// Parse tries each pattern on text; a pattern that fails (no match, or a
// time it cannot read, as the plugin rescues ParserError) leaves r as it
// was for the next.
func (p *multiFormatParser) Parse(text []byte, r *buffer.Record) error {
	fields, t := r.Fields[:0], r.Time
	for _, q := range p.patterns {
		r.Fields, r.Time = fields, t
		if q.Parse(text, r) == nil {
			return nil
		}
	}
	r.Fields, r.Time = fields, t
	return fmt.Errorf("%w: no multi_format pattern matched", ErrNoMatch)
}

// convertMultiFormat builds the record of a container line the tailer framed
// (its runtime pieces joined) with a multi_format parser, as the patterns
// would have parsed the file's line: a docker json-file line is taken by a
// `format json` pattern as Fluentd's json parser reads it ({"log",
// "stream"}, without decoding the record again), and any other pattern is
// tried on the physical line rebuilt from the framed one (a CRI line
// "TIME STREAM F|P TEXT", or the docker JSON record). The record time is the
// runtime's timestamp the tailer parsed.
func (c *Converter) convertMultiFormat(r *buffer.Record, l *tail.Line) error {
	mp := c.parser.(*multiFormatParser)
	docker := l.Flags&tail.FlagDocker != 0
	fields := r.Fields[:0]
	var raw []byte
	for i, q := range mp.patterns {
		r.Fields = fields
		if docker && mp.types[i] == "json" {
			c.dockerFields(r, l, mp.keepTime[i])
			return nil
		}
		if raw == nil {
			raw = c.rawLine(l, docker)
		}
		if q.Parse(raw, r) == nil {
			r.Time = l.Time
			return nil
		}
	}
	r.Fields = fields
	return fmt.Errorf("%w: no multi_format pattern matched", ErrNoMatch)
}

// dockerFields appends the fields Fluentd's json parser makes of a docker
// json-file record: "log" (with the record's trailing newline unless the
// line is an unfinished or split piece) and "stream", and "time" when
// keepTime.
func (c *Converter) dockerFields(r *buffer.Record, l *tail.Line, keepTime bool) {
	text := l.Text
	if l.Flags&(tail.FlagPartial|tail.FlagSplit) == 0 {
		start := len(c.arena)
		c.arena = append(append(c.arena, l.Text...), '\n')
		text = c.arena[start:len(c.arena):len(c.arena)]
	}
	r.Fields = append(r.Fields,
		buffer.Field{Key: "log", Value: buffer.Str(text)},
		buffer.Field{Key: "stream", Value: buffer.Str(streamBytes(l.Stream))})
	if keepTime {
		r.Fields = append(r.Fields, buffer.Field{Key: "time", Value: buffer.Str(l.TimeText)})
	}
}

// rawLine rebuilds the physical line of a framed container line in the
// Converter's arena: the docker json-file record, or the CRI line.
func (c *Converter) rawLine(l *tail.Line, docker bool) []byte {
	start := len(c.arena)
	if docker {
		text := string(l.Text)
		if l.Flags&(tail.FlagPartial|tail.FlagSplit) == 0 {
			text += "\n"
		}
		logJSON, _ := json.Marshal(text) // a string always marshals
		c.arena = append(c.arena, `{"log":`...)
		c.arena = append(c.arena, logJSON...)
		c.arena = append(c.arena, `,"stream":"`...)
		c.arena = append(c.arena, streamBytes(l.Stream)...)
		c.arena = append(c.arena, `","time":"`...)
		c.arena = append(c.arena, l.TimeText...)
		c.arena = append(c.arena, `"}`...)
	} else {
		c.arena = append(c.arena, l.TimeText...)
		c.arena = append(c.arena, ' ')
		c.arena = append(c.arena, streamBytes(l.Stream)...)
		c.arena = append(c.arena, ' ')
		c.arena = append(c.arena, l.LogTag()...)
		c.arena = append(c.arena, ' ')
		c.arena = append(c.arena, l.Text...)
	}
	return c.arena[start:len(c.arena):len(c.arena)]
}
