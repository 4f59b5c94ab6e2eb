package torture

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Event is one event as the emulator stored it.
type Event struct {
	// Stream is the log stream name.
	Stream string
	// Timestamp is the event time in milliseconds.
	Timestamp int64
	// Message is the event text.
	Message string
	// Seq is the emulator's global acceptance order.
	Seq uint64
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Epochs are emulator acceptance sequence numbers (ascending) at which
	// something happened (a SIGKILL); duplicates accepted after Epochs[i]
	// and up to Epochs[i+1] are counted in Report.DupPerEpoch[i].
	Epochs []uint64
	// TimeSlackMs is the tolerated difference between an event's timestamp
	// and the line's, in milliseconds (rounding instead of flooring the
	// nanoseconds is allowed by 1).
	TimeSlackMs int64
}

// Report is what a scenario delivered, measured against the Ledger.
type Report struct {
	// Written is the number of lines the generator wrote; LostOnDisk those
	// of them that were on no disk (copytruncate window).
	Written, LostOnDisk int
	// Delivered is the number of distinct lines that arrived whole in one
	// event (or reassembled from marked pieces).
	Delivered int
	// Missing counts lines never delivered, not even in part, excluding
	// LostOnDisk lines; MissingOnDisk counts missing LostOnDisk lines.
	Missing, MissingOnDisk int
	// Duplicated counts extra whole copies of lines.
	Duplicated int
	// OutOfOrder counts first deliveries of a line that arrived after a
	// later line of the same container in the same stream.
	OutOfOrder int
	// Cut counts lines that arrived only in pieces (no event, and no
	// complete set of marked pieces, holds them whole).
	Cut int
	// Merged counts lines that arrived only glued to other text (two lines
	// or a line and a fragment in one event); MergedEvents the events.
	Merged, MergedEvents int
	// WrongTime counts whole deliveries whose timestamp is not the line's.
	WrongTime int
	// Fragments counts events holding only a piece of a line without its
	// header (unmarked pieces); Pieces events marked as pieces
	// (partial_id...), BadPieceSets sets of marked pieces that do not
	// reassemble into a whole line.
	Fragments, Pieces, BadPieceSets int
	// NotJSON counts events whose message is not a JSON object; Foreign
	// events with no recognisable payload at all.
	NotJSON, Foreign int
	// Events is the number of events read.
	Events int
	// DupPerEpoch: see VerifyOptions.Epochs.
	DupPerEpoch []int
	// MissingRuns describes the first runs of missing lines, per container:
	// "ctr:first-last", for finding where a loss happened.
	MissingRuns []string
}

// maxMissingRuns bounds Report.MissingRuns.
const maxMissingRuns = 8

// String is the report on one line.
func (r Report) String() string {
	s := fmt.Sprintf("written=%d delivered=%d missing=%d dup=%d out_of_order=%d cut=%d merged=%d wrong_time=%d fragments=%d not_json=%d foreign=%d pieces=%d bad_piece_sets=%d events=%d",
		r.Written, r.Delivered, r.Missing, r.Duplicated, r.OutOfOrder, r.Cut, r.Merged, r.WrongTime,
		r.Fragments, r.NotJSON, r.Foreign, r.Pieces, r.BadPieceSets, r.Events)
	if r.LostOnDisk > 0 {
		s += fmt.Sprintf(" on_no_disk=%d missing_on_no_disk=%d", r.LostOnDisk, r.MissingOnDisk)
	}
	if len(r.MissingRuns) > 0 {
		s += fmt.Sprintf(" missing_runs=%v", r.MissingRuns)
	}
	return s
}

// Clean reports whether nothing is wrong but duplicates (checked apart,
// since some scenarios allow them).
func (r Report) Clean() bool {
	return r.Missing == 0 && r.OutOfOrder == 0 && r.Cut == 0 && r.Merged == 0 && r.WrongTime == 0 &&
		r.NotJSON == 0 && r.Foreign == 0 && r.BadPieceSets == 0 && r.Fragments == 0
}

// lineState is what the verifier saw of one written line.
type lineState struct {
	whole, partial, merged int
}

// occurrence is one whole delivery of a line.
type occurrence struct {
	stream string
	ctr    string
	seq    int
	ts     int64
	evSeq  uint64
}

// pieceSet collects the marked pieces of one split line.
type pieceSet struct {
	stream string
	pieces []piece
}

type piece struct {
	ordinal int
	last    bool
	text    string
	ts      int64
	evSeq   uint64
}

// Verify compares the events with what the ledger says was written.
func Verify(l *Ledger, events []Event, opt VerifyOptions) Report {
	if opt.TimeSlackMs == 0 {
		opt.TimeSlackMs = 1
	}
	var r Report
	r.Events = len(events)
	ctrs := l.Containers()
	written := make(map[string][]Written, len(ctrs))
	states := make(map[string][]lineState, len(ctrs))
	for _, c := range ctrs {
		ws := l.Lines(c)
		written[c] = ws
		states[c] = make([]lineState, len(ws))
		r.Written += len(ws)
		for _, w := range ws {
			if w.Lost {
				r.LostOnDisk++
			}
		}
	}
	sorted := append([]Event(nil), events...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Seq < sorted[j].Seq })

	var occ []occurrence
	sets := map[string]*pieceSet{}
	var setOrder []string
	for _, ev := range sorted {
		text, fields, isJSON := eventText(ev.Message)
		if !isJSON {
			r.NotJSON++
		}
		if id, ord, last, ok := pieceMarks(fields); ok {
			r.Pieces++
			key := ev.Stream + "\x00" + id
			ps := sets[key]
			if ps == nil {
				ps = &pieceSet{stream: ev.Stream}
				sets[key] = ps
				setOrder = append(setOrder, key)
			}
			ps.pieces = append(ps.pieces, piece{ordinal: ord, last: last, text: text, ts: ev.Timestamp, evSeq: ev.Seq})
			continue
		}
		occ = scanText(text, ev.Stream, ev.Timestamp, ev.Seq, written, states, occ, &r)
	}
	for _, key := range setOrder {
		ps := sets[key]
		sort.SliceStable(ps.pieces, func(i, j int) bool { return ps.pieces[i].ordinal < ps.pieces[j].ordinal })
		complete := ps.pieces[len(ps.pieces)-1].last
		var b strings.Builder
		for i, p := range ps.pieces {
			if i > 0 && p.ordinal != ps.pieces[i-1].ordinal+1 {
				complete = false
			}
			if p.ts != ps.pieces[0].ts {
				r.WrongTime++ // every piece carries the line's time
			}
			b.WriteString(p.text)
		}
		if !complete {
			r.BadPieceSets++
			// Whatever headers the pieces hold are cut lines.
			markPartial(b.String(), written, states)
			continue
		}
		occ = scanText(b.String(), ps.stream, ps.pieces[0].ts, ps.pieces[0].evSeq, written, states, occ, &r)
	}

	// Duplicates, order and timestamps over whole deliveries.
	sort.SliceStable(occ, func(i, j int) bool { return occ[i].evSeq < occ[j].evSeq })
	r.DupPerEpoch = make([]int, len(opt.Epochs))
	type skey struct{ stream, ctr string }
	maxSeen := map[skey]int{}
	seen := map[string][]bool{}
	for c, ws := range written {
		seen[c] = make([]bool, len(ws))
	}
	for _, o := range occ {
		w := written[o.ctr][o.seq]
		if d := o.ts - w.Time/1e6; d > opt.TimeSlackMs || d < -opt.TimeSlackMs {
			r.WrongTime++
		}
		if seen[o.ctr][o.seq] {
			r.Duplicated++
			for i := len(opt.Epochs) - 1; i >= 0; i-- {
				if o.evSeq > opt.Epochs[i] {
					r.DupPerEpoch[i]++
					break
				}
			}
			continue
		}
		seen[o.ctr][o.seq] = true
		k := skey{o.stream, o.ctr}
		if m, ok := maxSeen[k]; ok && o.seq < m {
			r.OutOfOrder++
		} else {
			maxSeen[k] = o.seq
		}
	}
	for c, sts := range states {
		for i, st := range sts {
			switch {
			case st.whole > 0:
				r.Delivered++
			case st.merged > 0:
				r.Merged++
			case st.partial > 0:
				r.Cut++
			case written[c][i].Lost:
				r.MissingOnDisk++
			default:
				r.Missing++
				if len(r.MissingRuns) < maxMissingRuns && (i == 0 || !missing(sts[i-1], written[c][i-1])) {
					j := i
					for j+1 < len(sts) && missing(sts[j+1], written[c][j+1]) {
						j++
					}
					r.MissingRuns = append(r.MissingRuns, fmt.Sprintf("%s:%d-%d", c, i, j))
				}
			}
		}
	}
	sort.Strings(r.MissingRuns)
	return r
}

// missing reports whether a written line counts as missing.
func missing(st lineState, w Written) bool {
	return st.whole == 0 && st.merged == 0 && st.partial == 0 && !w.Lost
}

// scanText finds the payloads in one event's text and records them.
func scanText(text, stream string, ts int64, evSeq uint64, written map[string][]Written, states map[string][]lineState, occ []occurrence, r *Report) []occurrence {
	type hit struct {
		h     header
		at    int
		whole bool
	}
	var hits []hit
	for i := 0; ; {
		j := strings.Index(text[i:], headMarker)
		if j < 0 {
			break
		}
		at := i + j
		h, ok := parseHeader(text[at:])
		if !ok {
			i = at + 1
			continue
		}
		ws, known := written[h.ctr]
		if !known || h.seq >= len(ws) {
			i = at + 1
			continue
		}
		hits = append(hits, hit{h: h, at: at, whole: payloadMatches(text[at:], h)})
		if hits[len(hits)-1].whole {
			i = at + h.size
		} else {
			i = at + h.hdrLen
		}
	}
	if len(hits) == 0 {
		if isPad(strings.TrimSpace(text)) {
			r.Fragments++
		} else {
			r.Foreign++
		}
		return occ
	}
	// Anything besides exactly one whole payload (and surrounding
	// whitespace) is a merge.
	rest := strings.TrimSpace(text)
	single := len(hits) == 1 && hits[0].whole && len(rest) == hits[0].h.size
	if !single {
		if len(hits) > 1 || hits[0].whole {
			r.MergedEvents++
			for _, h := range hits {
				states[h.h.ctr][h.h.seq].merged++
			}
			return occ
		}
		// One cut payload.
		states[hits[0].h.ctr][hits[0].h.seq].partial++
		return occ
	}
	h := hits[0].h
	states[h.ctr][h.seq].whole++
	return append(occ, occurrence{stream: stream, ctr: h.ctr, seq: h.seq, ts: ts, evSeq: evSeq})
}

// markPartial records every header in text as a cut line.
func markPartial(text string, written map[string][]Written, states map[string][]lineState) {
	for i := 0; ; {
		j := strings.Index(text[i:], headMarker)
		if j < 0 {
			return
		}
		at := i + j
		if h, ok := parseHeader(text[at:]); ok {
			if ws, known := written[h.ctr]; known && h.seq < len(ws) {
				states[h.ctr][h.seq].partial++
			}
		}
		i = at + 1
	}
}

// eventText returns the text of an event: the string field of its JSON
// record that holds a payload ("message" and "log" first), or the whole
// message when it is not a JSON object.
func eventText(msg string) (text string, fields map[string]any, isJSON bool) {
	if !strings.HasPrefix(strings.TrimSpace(msg), "{") {
		return msg, nil, false
	}
	if err := json.Unmarshal([]byte(msg), &fields); err != nil {
		return msg, nil, false
	}
	for _, k := range []string{"message", "log"} {
		if s, ok := fields[k].(string); ok && (strings.Contains(s, headMarker) || isPad(strings.TrimSpace(s))) {
			return s, fields, true
		}
	}
	keys := slices.Sorted(maps.Keys(fields))
	for _, k := range keys {
		if s, ok := fields[k].(string); ok && strings.Contains(s, headMarker) {
			return s, fields, true
		}
	}
	return msg, fields, true
}

// pieceMarks reads the piece markers of a record split because it was over
// the event limit: partial_id, partial_ordinal and partial_last, the names
// Docker and Fluent Bit use (moby api/types/backend PartialLogMetaData;
// fluent-bit filter_multiline "partial_message" handling).
func pieceMarks(fields map[string]any) (id string, ordinal int, last bool, ok bool) {
	if fields == nil {
		return "", 0, false, false
	}
	v, has := fields["partial_id"]
	if !has {
		return "", 0, false, false
	}
	id = fmt.Sprint(v)
	switch o := fields["partial_ordinal"].(type) {
	case float64:
		ordinal = int(o)
	case string:
		ordinal, _ = strconv.Atoi(o)
	}
	switch p := fields["partial_last"].(type) {
	case bool:
		last = p
	case string:
		last = p == "true"
	}
	return id, ordinal, last, true
}

// OldestUndelivered returns the write time (ns) of the oldest line, on disk,
// that no event holds whole yet, and how many such lines there are; 0, 0
// when every line arrived.
func OldestUndelivered(l *Ledger, events []Event) (oldest int64, n int) {
	got := map[string][]bool{}
	for _, c := range l.Containers() {
		got[c] = make([]bool, len(l.Lines(c)))
	}
	for _, ev := range events {
		text, _, _ := eventText(ev.Message)
		for i := 0; ; {
			j := strings.Index(text[i:], headMarker)
			if j < 0 {
				break
			}
			at := i + j
			if h, ok := parseHeader(text[at:]); ok && payloadMatches(text[at:], h) {
				if g, known := got[h.ctr]; known && h.seq < len(g) {
					g[h.seq] = true
				}
			}
			i = at + 1
		}
	}
	for c, g := range got {
		ws := l.Lines(c)
		for i, ok := range g {
			if !ok && !ws[i].Lost {
				n++
				if oldest == 0 || ws[i].Time < oldest {
					oldest = ws[i].Time
				}
			}
		}
	}
	return oldest, n
}
