package cloudwatch

import (
	"cmp"
	"math"
	"slices"
	"unicode/utf8"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"logship/buffer"
)

// Request cutting: pure functions, no I/O and no clock (now is passed in).
//
// A chunk holds the records of one destination. sortRecords puts them in
// timestamp order; cut turns them into PutLogEvents requests, as few as the
// limits allow (greedy filling is optimal: every limit is monotone over a
// contiguous run of the sorted events), each within every limit:
//
//   - at most limits.maxEvents events (MaxBatchEvents or max_events_per_batch);
//   - at most MaxBatchBytes, counting UTF-8 message bytes plus EventOverhead
//     per event, measured after invalid UTF-8 is replaced with U+FFFD;
//   - a span below MaxBatchSpan between the first and last event;
//   - every message at most limits.maxMessage bytes: a longer one is split
//     into several events with the same timestamp at UTF-8 character
//     boundaries, or truncated at one (OversizeTruncate), and counted;
//   - no empty message: an empty record is dropped and counted.
//
// Events outside AWS's window (older than MaxEventAge or newer than
// MaxEventFuture, widened by WindowMargin) are dropped here and counted by
// reason: AWS would reject each of them anyway (rejectedLogEventsInfo), and
// leaving them out keeps them from taking request space or lengthening a
// request's 24-hour span. Events inside the margin are sent, so a local
// clock up to WindowMargin off never drops an event AWS would accept; AWS's
// verdict on those is counted from the response. Retention ("expired") is not
// predicted: only AWS knows a group's retention.

// limits are the per-request limits the cutter enforces.
type limits struct {
	maxEvents  int  // events per request, ≤ MaxBatchEvents
	maxBytes   int  // Σ(len(message)+EventOverhead) per request, ≤ MaxBatchBytes
	maxMessage int  // message bytes per event (MaxEventSize − EventOverhead)
	truncate   bool // OversizeTruncate: keep only the first piece
}

// limitsFor returns the cutter limits for a Config with defaults filled.
func limitsFor(cfg Config) limits {
	return limits{
		maxEvents:  cfg.MaxEventsPerBatch,
		maxBytes:   MaxBatchBytes,
		maxMessage: cfg.MaxEventSize - EventOverhead,
		truncate:   cfg.OversizeAction == OversizeTruncate,
	}
}

// millis is the event timestamp of a record time: milliseconds since the
// epoch exactly as fluent-plugin-cloudwatch-logs computes it, in floating
// point, `(time.to_f * 1000).floor` (out_cloudwatch_logs.rb, v0.15.0, write),
// where Fluent::EventTime#to_f is `@sec + @nsec / 1_000_000_000.0`
// (fluentd v1.19.3, lib/fluent/time.rb), both IEEE-754 doubles.
//
// Deliberately the plugin's arithmetic, not exact truncation: the two
// differ when the double nearest sec+nsec/1e9 rounds up across a
// millisecond boundary, i.e. for times within about 120 ns below one (half
// the double's step of 2.4e-7 s at today's epoch seconds): about 1 in 8,000
// uniformly random nanosecond times (measured on 2·10⁷), and then the
// plugin's timestamp is one millisecond higher. Times on a whole millisecond
// never differ (measured likewise). Matching it keeps every event's
// timestamp identical to Fluentd's (the drop-in promise; the differential
// test compares timestamps), costs two float operations, and keeps the
// order: the computation is monotone in ns, so sorting by it never reorders
// records that exact truncation would keep in order (equal timestamps may
// become unequal and vice versa, which only moves a millisecond boundary).
// Checked against Ruby on 4,000 times in testdata/millis-ruby.txt.
func millis(ns int64) int64 {
	sec, nsec := ns/1e9, ns%1e9
	if nsec < 0 {
		sec, nsec = sec-1, nsec+1e9
	}
	// Explicit conversions round each step to a double, as Ruby does
	// (the Go spec lets an implementation fuse operations otherwise).
	f := float64(float64(sec) + float64(nsec)/1e9)
	return int64(math.Floor(float64(f * 1000)))
}

// sortRecords sorts recs by millisecond timestamp, keeping the order of
// records with equal timestamps (stable), in place. Sorting sorted records
// changes nothing, so a retried chunk keeps its order.
func sortRecords(recs []buffer.Record) {
	less := func(a, b *buffer.Record) int { return cmp.Compare(millis(a.Time), millis(b.Time)) }
	for i := 1; i < len(recs); i++ {
		// millis is monotone: times in order are timestamps in order, so
		// only a time that goes back needs its timestamp computed.
		if recs[i-1].Time > recs[i].Time && less(&recs[i-1], &recs[i]) > 0 {
			slices.SortStableFunc(recs, func(a, b buffer.Record) int { return less(&a, &b) })
			return
		}
	}
}

// event is one log event of a plan: a message (a piece of one record's
// sanitised message) and a timestamp.
type event struct {
	ts  int64
	msg []byte
}

// request is one PutLogEvents call of a plan.
type request struct {
	start, end int // its events: plan.events[start:end]
	bytes      int // Σ(len(message)+EventOverhead)

	// recEnd is how many records of the cut slice are done (delivered or
	// dropped) once this request and the ones before it succeeded. When the
	// request ends inside a split record, recEnd is that record's index and
	// rest is the part of its (sanitised) message still to send; restCopy
	// says rest lives in the plan's scratch and must be copied to outlive it.
	recEnd   int
	rest     []byte
	restCopy bool

	// What this request's success accounts for: records dropped locally
	// since the previous request, pieces beyond a record's first
	// (splits), truncated records and records whose invalid UTF-8 was
	// replaced.
	drops     drops
	split     int
	truncated int
	sanitised int
}

// drops counts records the cutter dropped, by reason.
type drops struct {
	tooOld, tooNew, empty int
}

func (d *drops) add(o drops) {
	d.tooOld += o.tooOld
	d.tooNew += o.tooNew
	d.empty += o.empty
}

// plan is the result of cut. Its slices are reused by the next cut.
type plan struct {
	events   []event
	requests []request
	// trailing holds the drops when there is no request at all.
	trailing drops
	scratch  []byte // sanitised copies of messages with invalid UTF-8

	// SDK input, rebuilt per request by input.
	in   []types.InputLogEvent
	msgs []string
	tss  []int64
}

// cut fills p with the requests for recs (sorted by sortRecords) at time now
// (milliseconds since the epoch).
func cut(recs []buffer.Record, now int64, lim limits, p *plan) {
	p.events = p.events[:0]
	p.requests = p.requests[:0]
	p.trailing = drops{}
	p.scratch = p.scratch[:0]

	oldest := now - (MaxEventAge + WindowMargin).Milliseconds()
	newest := now + (MaxEventFuture + WindowMargin).Milliseconds()
	span := MaxBatchSpan.Milliseconds()

	var cur request // the open request; cur.start == len(p.events) when empty
	var first int64 // timestamp of cur's first event
	var pending drops

	for i := range recs {
		r := &recs[i]
		ts := millis(r.Time)
		switch {
		case len(r.Message) == 0:
			pending.empty++
			continue
		case ts < oldest:
			pending.tooOld++
			continue
		case ts > newest:
			pending.tooNew++
			continue
		}
		msg, copied := r.Message, false
		if !utf8.Valid(msg) {
			start := len(p.scratch)
			p.scratch = buffer.AppendValidUTF8(p.scratch, msg)
			msg, copied = p.scratch[start:len(p.scratch):len(p.scratch)], true
		}
		for off := 0; off < len(msg); {
			n := pieceLen(msg[off:], lim.maxMessage)
			size := n + EventOverhead
			if k := len(p.events) - cur.start; k > 0 &&
				(k >= lim.maxEvents || cur.bytes+size > lim.maxBytes || ts-first >= span) {
				// Close cur before this piece.
				cur.end = len(p.events)
				cur.recEnd = i
				if off > 0 {
					cur.rest, cur.restCopy = msg[off:], copied
				}
				cur.drops = pending
				pending = drops{}
				p.requests = append(p.requests, cur)
				cur = request{start: len(p.events)}
			}
			if len(p.events) == cur.start {
				first = ts
			}
			p.events = append(p.events, event{ts: ts, msg: msg[off : off+n]})
			cur.bytes += size
			if off > 0 {
				cur.split++
			} else if copied {
				cur.sanitised++
			}
			off += n
			if lim.truncate && off < len(msg) {
				cur.truncated++
				break
			}
		}
	}
	if len(p.events) == cur.start {
		p.trailing = pending
		return
	}
	cur.end = len(p.events)
	cur.recEnd = len(recs)
	cur.drops = pending
	p.requests = append(p.requests, cur)
}

// pieceLen returns how many bytes of valid UTF-8 text b the next event takes:
// all of it if it fits in max, else the longest prefix that fits and ends at
// a character boundary.
func pieceLen(b []byte, max int) int {
	if len(b) <= max {
		return len(b)
	}
	n := max
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	if n == 0 { // max is smaller than one character; cannot happen with MinEventSize
		return max
	}
	return n
}

// input returns the SDK events of request k. They alias the plan and the
// records' messages: each Message is an unsafe.String over bytes that are
// not modified while the request is in flight (the chunk owns its records'
// messages and nothing writes them during Send; the scratch is rewritten only
// by the next cut), and the SDK does not keep its input after the call
// returns. This saves a copy of every message byte and an allocation per
// event.
func (p *plan) input(k int) []types.InputLogEvent {
	rq := &p.requests[k]
	evs := p.events[rq.start:rq.end]
	n := len(evs)
	p.in = slices.Grow(p.in[:0], n)[:n]
	p.msgs = slices.Grow(p.msgs[:0], n)[:n]
	p.tss = slices.Grow(p.tss[:0], n)[:n]
	for j := range evs {
		e := &evs[j]
		p.msgs[j] = unsafe.String(unsafe.SliceData(e.msg), len(e.msg))
		p.tss[j] = e.ts
		p.in[j] = types.InputLogEvent{Message: &p.msgs[j], Timestamp: &p.tss[j]}
	}
	return p.in
}

// release drops the plan's references to record memory so that a pooled plan
// does not keep a delivered chunk alive.
func (p *plan) release() {
	clear(p.events[:cap(p.events)])
	clear(p.requests[:cap(p.requests)])
	clear(p.msgs[:cap(p.msgs)])
	clear(p.in[:cap(p.in)])
	p.events = p.events[:0]
	p.requests = p.requests[:0]
	p.in = p.in[:0]
	p.msgs = p.msgs[:0]
	if cap(p.scratch) > 4*MaxBatchBytes {
		p.scratch = nil
	}
}
