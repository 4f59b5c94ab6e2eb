package cloudwatch

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"unicode/utf8"

	"logship/buffer"
)

// Oversize records: a record whose JSON message is larger than one event
// (Config.MaxEventSize − EventOverhead) is split by the Formatter into
// pieces, each a whole record: the same fields, in the same order, with the
// text field (log, else message, else the longest top-level string) holding
// one piece of the text, and four markers appended as Docker's fluentd log
// driver writes them for the pieces of a long line (all strings):
//
//	"partial_message":"true", "partial_id":"<32 hex>",
//	"partial_ordinal":"1"…"n", "partial_last":"false"…"true"
//
// (moby daemon/logger/fluentd/fluentd.go, Log: data["partial_message"] =
// "true", data["partial_id"], data["partial_ordinal"] = strconv.Itoa(…),
// data["partial_last"] = strconv.FormatBool(…); https://github.com/moby/moby/blob/v28.0.0/daemon/logger/fluentd/fluentd.go).
// fluent-plugin-concat's use_partial_metadata (partial_metadata_format
// docker-fluentd) and Fluent Bit's docker multiline parser join pieces
// marked this way. The text is cut only at UTF-8 character boundaries, after
// invalid UTF-8 was replaced, so the pieces' texts concatenated are the
// original text exactly as a single event would have carried it.
//
// partial_id is derived from the record (tag, file offset, time and text)
// rather than drawn at random, so a piece sent again after a crash carries
// the same id as before, and a reader can tell a re-sent piece from a new
// line.
//
// Every piece but the last has Source 0: acknowledging it moves no file
// position, so the line's position is acknowledged only with its last piece
// (which the per-stream ordering delivers after the others).
//
// A line longer than the tailer's line bound arrives as several records
// (buffer.Record.Piece), consecutive per file, tag and stream. They are marked as
// one line: the id is derived from its first record, the ordinals run on
// across the records (each split further if it is over an event by itself),
// and only the last piece of the last record has partial_last "true". Each
// record's own last piece keeps its Source, acknowledging that record.

// Marker field names.
const (
	partialMessageKey = "partial_message"
	partialIDKey      = "partial_id"
	partialOrdinalKey = "partial_ordinal"
	partialLastKey    = "partial_last"
)

// textKeys are the fields tried, in order, as the text to split.
var textKeys = [...]string{"log", "message"}

// splitState is the Formatter's scratch for splitting.
type splitState struct {
	fields buffer.Fields // the record's fields with markers
	text   []byte        // the sanitised text, when it had invalid UTF-8
	id     [32]byte      // partial_id text
	ord    []byte        // partial_ordinal text
	base   []byte        // the record without its text, measured
	run    lineRun       // numbering of a whole record's pieces
}

// lineRun numbers the pieces of one line.
type lineRun struct {
	id  [32]byte // partial_id text
	ord int      // ordinal of the last piece appended
}

// lineRuns holds the lines in progress: those whose tailer pieces have
// started and not ended, one per tag and stream.
type lineRuns map[runKey]*lineRun

// runKey names a line in progress: its file (Source), tag and stream field
// (two files under one fixed tag, or stdout and stderr of one container, may
// each have a line in progress). A line whose pieces span a rotation is
// numbered afresh in the new file.
type runKey struct {
	source      uint64
	tag, stream string
}

// maxRuns bounds lineRuns: lines whose last piece never came (a filter
// dropped it, the file went away) are forgotten when it fills.
const maxRuns = 4096

// get returns the run r belongs to; fresh means r starts it (a piece without
// PieceCont, or one whose line is not known, such as the first after a
// restart). r's run is forgotten when r is its last piece.
func (m *lineRuns) get(r *buffer.Record) (run *lineRun, fresh bool) {
	k := runKey{source: r.Source, tag: r.Tag}
	if i := r.Fields.Index("stream"); i >= 0 && r.Fields[i].Value.Kind == buffer.String {
		k.stream = string(r.Fields[i].Value.Bytes)
	}
	if *m == nil {
		*m = lineRuns{}
	}
	run = (*m)[k]
	fresh = run == nil || r.Piece&buffer.PieceCont == 0
	if run == nil {
		if len(*m) >= maxRuns {
			clear(*m)
		}
		run = &lineRun{}
		(*m)[k] = run
	}
	if r.Piece&buffer.PieceMore == 0 {
		delete(*m, k)
	}
	return run, fresh
}

// appendPieces appends the pieces of r (its fields intact; Key set) to out,
// their messages to dst, numbered on from run (reset first when fresh);
// final means r ends its line. ok is false, with dst, out and run unchanged,
// when no split can make every piece fit: no string field to split, or the
// rest of the record alone fills an event.
func (f *Formatter) appendPieces(dst []byte, out []buffer.Record, r *buffer.Record, removeA, removeB string, run *lineRun, fresh, final bool) ([]byte, []buffer.Record, bool) {
	maxMsg := f.cfg.MaxEventSize - EventOverhead
	ti := textField(r.Fields, removeA, removeB)
	if ti < 0 {
		return dst, out, false
	}
	s := &f.split
	text := r.Fields[ti].Value.Bytes
	if !utf8.Valid(text) {
		s.text = buffer.AppendValidUTF8(s.text[:0], text)
		text = s.text
	}
	s.fields = append(s.fields[:0], r.Fields...)
	ord := run.ord
	if fresh {
		f.partialID(r, text)
		ord = 0
	} else {
		s.id = run.id
	}
	// The base size: the record with a one-byte text (an empty one may be
	// dropped by DropEmptyTopLevel) and the widest markers.
	s.fields[ti].Value = buffer.Str([]byte{'x'})
	s.ord = strconv.AppendInt(s.ord[:0], int64(ord+len(text)+1), 10) // ≥ the last ordinal
	s.fields = setMarkers(s.fields, s.id[:], s.ord, false)
	rec := *r
	rec.Fields = s.fields
	s.base = f.appendJSON(s.base[:0], &rec, removeA, removeB)
	base := len(s.base) - 1
	budget := maxMsg - base
	if budget < 2*utf8.UTFMax { // room for at least one escaped character
		return dst, out, false
	}
	n0 := len(out)
	for off := 0; off < len(text) || off == 0; {
		n := 0
		if len(text) > 0 {
			n = escapedPrefix(text[off:], budget)
		}
		ord++
		last := off+n == len(text)
		s.fields[ti].Value = buffer.Str(text[off : off+n])
		s.ord = strconv.AppendInt(s.ord[:0], int64(ord), 10)
		s.fields = setMarkers(s.fields, s.id[:], s.ord, last && final)
		rec.Fields = s.fields
		ms := len(dst)
		dst = f.appendJSON(dst, &rec, removeA, removeB)
		p := *r
		p.Fields = nil
		p.Message = dst[ms:len(dst):len(dst)]
		if !last {
			p.Source, p.Offset = 0, 0
		}
		out = append(out, p)
		off += n
		if last {
			break
		}
		if f.cfg.OversizeAction == OversizeTruncate {
			f.stats.truncated.Add(1)
			break
		}
	}
	run.id, run.ord = s.id, ord
	if fresh {
		f.stats.split.Add(1)
	}
	f.stats.pieces.Add(uint64(len(out) - n0))
	clear(s.fields) // no references to record memory kept
	return dst, out, true
}

// textField returns the index of the field to split in fs: "log", else
// "message", when it is a string, else the longest top-level string; -1 when
// there is none (removed name fields do not count).
func textField(fs buffer.Fields, removeA, removeB string) int {
	for _, k := range textKeys {
		if i := fs.Index(k); i >= 0 && fs[i].Value.Kind == buffer.String && len(fs[i].Value.Bytes) > 0 {
			return i
		}
	}
	best, n := -1, 0
	for i := range fs {
		if k := fs[i].Key; k == removeA || k == removeB {
			continue
		}
		if v := &fs[i].Value; v.Kind == buffer.String && len(v.Bytes) > n {
			best, n = i, len(v.Bytes)
		}
	}
	return best
}

// setMarkers sets the four piece markers in fs (replacing fields of the same
// names, else appending them in this order).
func setMarkers(fs buffer.Fields, id, ord []byte, last bool) buffer.Fields {
	lastText := "false"
	if last {
		lastText = "true"
	}
	fs = fs.Set(partialMessageKey, buffer.Str([]byte("true")))
	fs = fs.Set(partialIDKey, buffer.Str(id))
	fs = fs.Set(partialOrdinalKey, buffer.Str(ord))
	return fs.Set(partialLastKey, buffer.Str([]byte(lastText)))
}

// partialID sets f.split.id to 32 hex digits of SHA-256 over the record's
// tag, file offset, time and (sanitised) text.
func (f *Formatter) partialID(r *buffer.Record, text []byte) {
	h := sha256.New()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(r.Offset))
	binary.LittleEndian.PutUint64(b[8:], uint64(r.Time))
	h.Write([]byte(r.Tag))
	h.Write(b[:])
	h.Write(text)
	var sum [sha256.Size]byte
	hex.Encode(f.split.id[:], h.Sum(sum[:0])[:16])
}

// escapedPrefix returns the length of the longest prefix of valid UTF-8 text
// b that ends at a character boundary and takes at most budget bytes once
// escaped as a JSON string (buffer.AppendJSONString's escapes); at least one
// character.
func escapedPrefix(b []byte, budget int) int {
	cost := 0
	i := 0
	for i < len(b) {
		c := b[i]
		var n, w int
		switch {
		case c >= utf8.RuneSelf:
			_, n = utf8.DecodeRune(b[i:])
			w = n
		case c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t':
			n, w = 1, 2
		case c < 0x20:
			n, w = 1, 6
		default:
			n, w = 1, 1
		}
		if cost+w > budget && i > 0 {
			break
		}
		cost += w
		i += n
	}
	return i
}
