package enrich

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"logship/buffer"
	"logship/tail"
)

// MultilineConfig is the part of a <parse> section (or of v0.12 source-level
// format parameters) that the multiline-capable parsers read: multiline,
// kubernetes (v0.12) and multiline_kubernetes.
type MultilineConfig struct {
	// FirstLine is format_firstline: a Ruby regexp (without slashes) that
	// marks the first line of a record. "" means every line is a record.
	FirstLine string
	// FirstLineFlags are its /…/ flags.
	FirstLineFlags string
	// Formats are format1…formatN in order, each a Ruby regexp without
	// slashes; they are joined into one expression matched with
	// dot-matches-newline.
	Formats []string
	// FlushInterval is multiline_flush_interval (a tail parameter): a record
	// whose last line is older than this is emitted without waiting for the
	// next first line. 0 means a record waits for the next first line, as in
	// Fluentd.
	FlushInterval time.Duration
}

// multilineParseConfig returns cfg as the regexp parser of the multiline
// parser: format1…N joined, dot-matches-newline.
func multilineParseConfig(cfg ParseConfig) (ParseConfig, error) {
	if cfg.Lines == nil || len(cfg.Lines.Formats) == 0 {
		return cfg, errors.New("multiline parser: format1 is required")
	}
	cfg.Type = "regexp"
	cfg.Expression = strings.Join(cfg.Lines.Formats, "")
	cfg.Multiline = true
	return cfg, nil
}

// newLineParser builds the parsers that know multi-line records: multiline,
// kubernetes and multiline_kubernetes. The kubernetes parser groups lines when
// Lines.FirstLine is set (v0.12's plugin is a multiline parser; v1's is a
// one-line regexp); multiline_kubernetes always groups.
func newLineParser(cfg ParseConfig) (Parser, error) {
	var err error
	switch cfg.Type {
	case "multiline":
		if cfg, err = multilineParseConfig(cfg); err != nil {
			return nil, err
		}
	case "kubernetes":
		cfg = kubernetesParseConfig(cfg, cfg.Lines != nil && cfg.Lines.FirstLine != "")
	case "multiline_kubernetes":
		cfg = kubernetesParseConfig(cfg, true)
	}
	return NewParser(cfg)
}

// lineGroups joins the lines of multi-line records, per file: a line matching
// the first-line pattern starts a record, the following lines are appended
// (joined with "\n") until the next first line or the flush interval.
//
// Acknowledgements: a pending record holds its FIRST line unacknowledged (the
// record carries that line's Source/Offset); the lines absorbed after it are
// acknowledged at once. The tailer's position is a low-water mark, so it
// cannot pass the first line until the record is delivered, and a restart
// re-reads the whole record: at-least-once for every line of it. (The
// record's Offset is therefore the end of its first line, not of its last.)
type lineGroups struct {
	first *regexp.Regexp
	// accumulate (multiline without format_firstline): a record ends at the
	// first line with which the joined text parses.
	accumulate bool
	interval   time.Duration
	parser     Parser

	mu      sync.Mutex
	pending map[uint64]*pendingGroup
	// droppedBeforeFirst counts lines before any first line (dropped, as
	// Fluentd does with a warning); unmatched counts joined records the
	// parser rejected.
	droppedBeforeFirst, unmatched uint64
}

type pendingGroup struct {
	text   []byte
	path   string
	tag    string
	source uint64
	offset int64
	time   int64 // the first line's container time (0 for plain files)
	last   time.Time
}

func newLineGroups(cfg ParseConfig, p Parser) (*lineGroups, error) {
	ml := cfg.Lines
	if cfg.Type == "kubernetes" || cfg.Type == "multiline_kubernetes" {
		ml = kubernetesParseConfig(cfg, cfg.Type == "multiline_kubernetes" || (cfg.Lines != nil && cfg.Lines.FirstLine != "")).Lines
	}
	if ml == nil {
		return nil, nil
	}
	if ml.FirstLine == "" {
		if cfg.Type != "multiline" {
			return nil, nil
		}
		// in_tail without format_firstline: lines accumulate until the
		// joined text parses.
		return &lineGroups{accumulate: true, interval: ml.FlushInterval, parser: p, pending: map[uint64]*pendingGroup{}}, nil
	}
	re, err := CompileRuby(ml.FirstLine, ml.FirstLineFlags)
	if err != nil {
		return nil, fmt.Errorf("format_firstline: %w", err)
	}
	return &lineGroups{first: re, interval: ml.FlushInterval, parser: p, pending: map[uint64]*pendingGroup{}}, nil
}

// Grouping reports whether the converter joins lines (a multi-line parser with
// a first-line pattern on a plain file).
func (c *Converter) Grouping() bool {
	c.initGroups()
	return c.groups != nil
}

func (c *Converter) initGroups() { c.groupsOnce.Do(c.makeGroups) }

func (c *Converter) makeGroups() {
	if c.cfg.Container || c.parser == nil || c.cfg.Parse.Lines == nil && c.cfg.Parse.Type != "multiline_kubernetes" {
		return
	}
	g, err := newLineGroups(c.cfg.Parse, c.parser)
	if err == nil && g != nil {
		c.groups = g
	}
}

// ConvertLine is Convert for sources whose records may span lines. It
// appends zero or more records to recs and, to drops, records that must be
// acknowledged at once without being routed (dropped lines, lines absorbed
// into a pending record, pending records the parser rejected). Every record's
// Source is the tailer's id of its file. A line that is held as the first
// line of a pending record appears in neither until the record is finished.
func (c *Converter) ConvertLine(recs, drops []buffer.Record, l *tail.Line) ([]buffer.Record, []buffer.Record) {
	c.initGroups()
	if c.groups == nil {
		var ok bool
		if recs, ok = c.Convert(recs, l); !ok {
			drops = append(drops, buffer.Record{Source: l.Source, Offset: l.Offset})
		}
		return recs, drops
	}
	g := c.groups
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	pg := g.pending[l.Source]
	if g.accumulate {
		return c.accumulateLine(recs, drops, l, pg, now)
	}
	if g.first.Match(l.Text) {
		if pg != nil {
			recs, drops = c.finish(recs, drops, pg)
		} else {
			pg = &pendingGroup{}
			g.pending[l.Source] = pg
		}
		if l.Path != c.lastPath || c.lastTag == "" {
			c.lastPath, c.lastTag = l.Path, c.cfg.Tag(l.Path)
		}
		pg.text = append(pg.text[:0], l.Text...)
		pg.path, pg.tag, pg.source, pg.offset, pg.time, pg.last = l.Path, c.lastTag, l.Source, l.Offset, l.Time, now
		return recs, drops
	}
	if pg == nil {
		g.droppedBeforeFirst++
		if c.cfg.EmitUnmatched {
			// in_tail emits a line before the first first-line as an
			// unmatched line.
			if l.Path != c.lastPath || c.lastTag == "" {
				c.lastPath, c.lastTag = l.Path, c.cfg.Tag(l.Path)
			}
			return append(recs, buffer.Record{Tag: c.lastTag, Source: l.Source, Offset: l.Offset, Time: now.UnixNano(),
				Fields: buffer.Fields{{Key: "unmatched_line", Value: buffer.Str(append([]byte(nil), l.Text...))}}}), drops
		}
		return recs, append(drops, buffer.Record{Source: l.Source, Offset: l.Offset})
	}
	drops = append(drops, buffer.Record{Source: l.Source, Offset: l.Offset})
	pg.text = append(append(pg.text, '\n'), l.Text...)
	pg.last = now
	return recs, drops
}

// MaxAccumulated bounds the text a multiline parser without format_firstline
// accumulates while waiting for it to parse (CloudWatch's event limit); past
// it the pending lines are dropped and counted.
const MaxAccumulated = 1 << 20

// accumulateLine appends l to its file's pending text and emits a record as
// soon as the text parses. Called with g.mu held.
func (c *Converter) accumulateLine(recs, drops []buffer.Record, l *tail.Line, pg *pendingGroup, now time.Time) ([]buffer.Record, []buffer.Record) {
	g := c.groups
	if l.Path != c.lastPath || c.lastTag == "" {
		c.lastPath, c.lastTag = l.Path, c.cfg.Tag(l.Path)
	}
	if pg == nil {
		pg = &pendingGroup{}
		g.pending[l.Source] = pg
	}
	first := len(pg.text) == 0 && pg.source == 0
	if first {
		pg.text = append(pg.text[:0], l.Text...)
		pg.path, pg.tag, pg.source, pg.offset, pg.time = l.Path, c.lastTag, l.Source, l.Offset, l.Time
	} else {
		pg.text = append(append(pg.text, '\n'), l.Text...)
		drops = append(drops, buffer.Record{Source: l.Source, Offset: l.Offset})
	}
	pg.last = now
	r := buffer.Record{Tag: pg.tag, Source: pg.source, Offset: pg.offset, Time: pg.time}
	text := append([]byte(nil), pg.text...)
	if err := g.parser.Parse(text, &r); err == nil {
		if c.cfg.Parse.SecondPrecision {
			r.Time -= r.Time % int64(time.Second)
		}
		if c.cfg.PathKey != "" {
			r.Fields = append(r.Fields, buffer.Field{Key: c.cfg.PathKey, Value: buffer.Str([]byte(pg.path))})
		}
		delete(g.pending, l.Source)
		return append(recs, r), drops
	}
	if len(pg.text) > MaxAccumulated {
		g.unmatched++
		delete(g.pending, l.Source)
		drops = append(drops, buffer.Record{Source: pg.source, Offset: pg.offset})
	}
	return recs, drops
}

// finish parses a pending record and appends it to recs (owning its memory:
// it outlives the arena's Reset), or to drops when the parser rejects it.
// Called with g.mu held.
func (c *Converter) finish(recs, drops []buffer.Record, pg *pendingGroup) ([]buffer.Record, []buffer.Record) {
	g := c.groups
	text := append([]byte(nil), pg.text...)
	r := buffer.Record{Tag: pg.tag, Source: pg.source, Offset: pg.offset, Time: pg.time,
		Fields: make(buffer.Fields, 0, fieldsPerRecord)}
	if err := g.parser.Parse(text, &r); err != nil {
		g.unmatched++
		if !c.cfg.EmitUnmatched {
			return recs, append(drops, buffer.Record{Source: pg.source, Offset: pg.offset})
		}
		r.Fields = append(r.Fields[:0], buffer.Field{Key: "unmatched_line", Value: buffer.Str(text)})
	}
	if c.cfg.Parse.SecondPrecision {
		r.Time -= r.Time % int64(time.Second)
	}
	if c.cfg.PathKey != "" {
		r.Fields = append(r.Fields, buffer.Field{Key: c.cfg.PathKey, Value: buffer.Str([]byte(pg.path))})
	}
	return append(recs, r), drops
}

// FlushIdle appends the pending records whose last line is at least the
// flush interval old at now (all of them when all is set) and forgets them.
// It may be called from another goroutine than ConvertLine.
func (c *Converter) FlushIdle(recs, drops []buffer.Record, now time.Time, all bool) ([]buffer.Record, []buffer.Record) {
	c.initGroups()
	g := c.groups
	if g == nil {
		return recs, drops
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for src, pg := range g.pending {
		if all || (g.interval > 0 && now.Sub(pg.last) >= g.interval) {
			recs, drops = c.finish(recs, drops, pg)
			delete(g.pending, src)
		}
	}
	return recs, drops
}

// GroupStats returns the lines dropped before any first line and the joined
// records the parser rejected.
func (c *Converter) GroupStats() (droppedBeforeFirst, unmatched uint64) {
	c.initGroups()
	if c.groups == nil {
		return 0, 0
	}
	c.groups.mu.Lock()
	defer c.groups.mu.Unlock()
	return c.groups.droppedBeforeFirst, c.groups.unmatched
}

// FlushInterval is the multiline_flush_interval of a grouping converter (0:
// none).
func (c *Converter) FlushInterval() time.Duration {
	c.initGroups()
	if c.groups == nil {
		return 0
	}
	return c.groups.interval
}

// Forget drops the pending record of a file the tailer closed for good.
func (c *Converter) Forget(source uint64) {
	c.initGroups()
	if c.groups == nil {
		return
	}
	c.groups.mu.Lock()
	delete(c.groups.pending, source)
	c.groups.mu.Unlock()
}
