package enrich

import (
	"fmt"
	"sync"
	"time"

	"logship/buffer"
	"logship/tail"
)

// LineConfig says how a tail source's lines become records.
type LineConfig struct {
	// Parse is the source's <parse> section. For container log files the
	// tailer has already framed the CRI or docker records, so the parser types
	// "cri" and "json" (on docker json-file lines) build the record that
	// Fluentd's parser would, without parsing the line again.
	Parse ParseConfig
	// Container is true when the tailer frames the files as CRI or docker
	// container logs (tail.Config.Format cri, docker or auto); false for plain
	// files (format none), whose lines go through Parse.
	Container bool
	// Tag returns the record tag of a file path (in_tail's tag expansion).
	Tag func(path string) string
	// PathKey, when set, adds the file path to every record under this key
	// (in_tail path_key).
	PathKey string
	// EmitUnmatched emits lines the parser rejects as {"unmatched_line": …}
	// instead of dropping them (in_tail emit_unmatched_lines).
	EmitUnmatched bool
}

// Converter turns tail lines into records. It is the pipeline's only
// conversion from the tailer's type to the record type.
//
// The fields it builds may alias the lines' bytes and an arena the Converter
// reuses: records from one Convert call are valid until the next Reset. A
// Converter is used by one goroutine at a time.
type Converter struct {
	cfg    LineConfig
	parser Parser
	arena  []byte
	fields []buffer.Field // field arena: records take fieldsPerRecord slots each
	used   int
	// tag cache: lines of a batch come from one file.
	lastPath, lastTag string
	// Unmatched counts lines the parser rejected.
	Unmatched uint64
	// groups joins multi-line records (parse_multiline.go; ConvertLine).
	groups     *lineGroups
	groupsOnce sync.Once
}

// NewConverter returns a Converter for cfg.
func NewConverter(cfg LineConfig) (*Converter, error) {
	if cfg.Tag == nil {
		return nil, fmt.Errorf("line converter: no tag function")
	}
	c := &Converter{cfg: cfg}
	if !cfg.Container || cfg.Parse.Type != "cri" {
		// With json on container files the parser is for lines the tailer
		// did not frame as container records (tail.FlagPlain).
		p, err := NewParser(cfg.Parse)
		if err != nil {
			return nil, err
		}
		c.parser = p
	}
	return c, nil
}

// Reset lets the Converter reuse its arena: call it once the records of earlier
// Convert calls are no longer referenced (after the output copied them).
func (c *Converter) Reset() { c.arena, c.used = c.arena[:0], 0 }

// fieldsPerRecord is the field capacity a record gets from the arena: enough
// for a container record plus the metadata fields, so filters rarely grow it.
const fieldsPerRecord = 8

// newFields returns an empty field slice with capacity fieldsPerRecord from
// the arena (appending past it reallocates, leaving the arena intact).
func (c *Converter) newFields() buffer.Fields {
	if c.used+fieldsPerRecord > len(c.fields) {
		c.fields = make([]buffer.Field, 512*fieldsPerRecord)
		c.used = 0
	}
	f := c.fields[c.used : c.used : c.used+fieldsPerRecord]
	c.used += fieldsPerRecord
	return f
}

// Convert appends the record of l to recs. A line the parser rejects is
// dropped (ok false; counted in Unmatched) unless EmitUnmatched is set.
func (c *Converter) Convert(recs []buffer.Record, l *tail.Line) ([]buffer.Record, bool) {
	if l.Path != c.lastPath || c.lastTag == "" {
		c.lastPath, c.lastTag = l.Path, c.cfg.Tag(l.Path)
	}
	recs = append(recs, buffer.Record{Tag: c.lastTag, Source: l.Source, Offset: l.Offset, Time: l.Time})
	r := &recs[len(recs)-1]
	if l.Flags&tail.FlagSplit != 0 {
		r.Piece |= buffer.PieceMore
	}
	if l.Flags&tail.FlagSplitCont != 0 {
		r.Piece |= buffer.PieceCont
	}
	r.Fields = c.newFields()
	switch {
	case c.cfg.Container && c.cfg.Parse.Type == "json" && l.Flags&(tail.FlagMalformed|tail.FlagPlain) == 0:
		// Docker json-file line parsed by Fluentd's json parser: {"log", "stream"}
		// with "time" taken out as the event time. The log text keeps its
		// trailing newline, as in the file.
		c.dockerFields(r, l, c.cfg.Parse.KeepTimeKey)
	case c.cfg.Container && c.cfg.Parse.Type == "multi_format" && l.Flags&(tail.FlagMalformed|tail.FlagPlain) == 0:
		if err := c.convertMultiFormat(r, l); err != nil {
			c.Unmatched++
			if !c.cfg.EmitUnmatched {
				return recs[:len(recs)-1], false
			}
			r.Fields = append(r.Fields[:0], buffer.Field{Key: "unmatched_line", Value: buffer.Str(l.Text)})
		}
	case c.parser == nil && l.Flags&tail.FlagMalformed == 0:
		// fluent-plugin-parser-cri: {"stream", "logtag", "message", "time"}.
		tag := logtagF
		if l.Flags&(tail.FlagPartial|tail.FlagSplit) != 0 {
			tag = logtagP
		}
		r.Fields = append(r.Fields,
			buffer.Field{Key: "stream", Value: buffer.Str(streamBytes(l.Stream))},
			buffer.Field{Key: "logtag", Value: buffer.Str(tag)},
			buffer.Field{Key: "message", Value: buffer.Str(l.Text)},
			buffer.Field{Key: "time", Value: buffer.Str(l.TimeText)})
	default:
		p := c.parser
		if p == nil || c.cfg.Container && l.Flags&tail.FlagMalformed != 0 { // a malformed container line: keep it as a plain message
			p = &noneParser{key: "message", timeSetter: timeSetter{cfg: ParseConfig{Now: time.Now}}}
		}
		if err := p.Parse(l.Text, r); err != nil {
			c.Unmatched++
			if !c.cfg.EmitUnmatched {
				return recs[:len(recs)-1], false
			}
			r.Fields = append(r.Fields[:0], buffer.Field{Key: "unmatched_line", Value: buffer.Str(l.Text)})
		}
		if l.Time != 0 && c.cfg.Container && l.Flags&tail.FlagPlain == 0 {
			r.Time = l.Time
		}
	}
	if c.cfg.Parse.SecondPrecision {
		r.Time -= r.Time % int64(time.Second)
	}
	if c.cfg.PathKey != "" {
		r.Fields = append(r.Fields, buffer.Field{Key: c.cfg.PathKey, Value: buffer.Str([]byte(l.Path))})
	}
	return recs, true
}

var (
	stdoutBytes = []byte("stdout")
	stderrBytes = []byte("stderr")
	logtagF     = []byte("F")
	logtagP     = []byte("P")
)

func streamBytes(s tail.Stream) []byte {
	if s == tail.StreamStderr {
		return stderrBytes
	}
	return stdoutBytes
}
