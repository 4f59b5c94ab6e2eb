package cloudwatch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"logship/buffer"
)

// now is the cutter's clock in the tests: 2026-06-01T00:00:00Z in ms.
var nowMs = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

const (
	hourMs = int64(time.Hour / time.Millisecond)
	dayMs  = 24 * hourMs
)

var defaultLimits = limits{maxEvents: MaxBatchEvents, maxBytes: MaxBatchBytes, maxMessage: MaxEventSize - EventOverhead}

// recAt returns a record at ms with message msg.
func recAt(ms int64, msg string) buffer.Record {
	return buffer.Record{Time: ms * 1e6, Message: []byte(msg)}
}

// shape describes a plan compactly: events per request.
func shape(p *plan) []int {
	var s []int
	for _, rq := range p.requests {
		s = append(s, rq.end-rq.start)
	}
	return s
}

func TestCut(t *testing.T) {
	type rec struct {
		ms  int64 // relative to nowMs
		len int
	}
	many := func(n int, ms int64, size int) []rec {
		rs := make([]rec, n)
		for i := range rs {
			rs[i] = rec{ms, size}
		}
		return rs
	}
	tests := []struct {
		name      string
		lim       limits
		recs      []rec
		want      []int // events per request
		wantDrops drops
		wantSplit int
		wantTrunc int
	}{
		{name: "nothing", recs: nil, want: nil},
		{name: "one request", recs: []rec{{0, 10}, {1, 100}, {2, 12}}, want: []int{3}},
		{name: "10,000 events fit", recs: many(10_000, 0, 1), want: []int{10_000}},
		{name: "10,001 events", recs: many(10_001, 0, 1), want: []int{10_000, 1}},
		{name: "max_events_per_batch", lim: limits{maxEvents: 100}, recs: many(250, 0, 1), want: []int{100, 100, 50}},
		// Two events of 524,262 bytes are exactly 1,048,576 with overhead.
		{name: "bytes exactly at the limit", recs: many(2, 0, MaxBatchBytes/2-EventOverhead), want: []int{2}},
		{name: "bytes one over the limit", recs: []rec{{0, MaxBatchBytes/2 - EventOverhead}, {0, MaxBatchBytes/2 - EventOverhead + 1}}, want: []int{1, 1}},
		{name: "38,836 one-byte events by size alone", lim: limits{maxEvents: 1 << 30}, recs: many(40_000, 0, 1), want: []int{38_836, 1_164}},
		{name: "span just under 24h", recs: []rec{{-dayMs + 1, 1}, {0, 1}}, want: []int{2}},
		{name: "span of exactly 24h is cut", recs: []rec{{-dayMs, 1}, {0, 1}}, want: []int{1, 1}},
		{name: "span over several days", recs: []rec{{-3 * dayMs, 1}, {-2*dayMs - 1, 1}, {-2 * dayMs, 1}, {-dayMs, 1}, {-1, 1}}, want: []int{2, 1, 2}},
		{name: "empty message dropped", recs: []rec{{0, 0}, {1, 5}}, want: []int{1}, wantDrops: drops{empty: 1}},
		{name: "only empty messages", recs: []rec{{0, 0}, {1, 0}}, want: nil, wantDrops: drops{empty: 2}},
		{name: "too old dropped", recs: []rec{{-15 * dayMs, 1}, {0, 1}}, want: []int{1}, wantDrops: drops{tooOld: 1}},
		{name: "too old within the margin sent", recs: []rec{{-14*dayMs - 60_000, 1}, {-14*dayMs + 1, 1}}, want: []int{2}},
		{name: "too new dropped", recs: []rec{{0, 1}, {3 * hourMs, 1}}, want: []int{1}, wantDrops: drops{tooNew: 1}},
		{name: "too new within the margin sent", recs: []rec{{0, 1}, {2*hourMs + 60_000, 1}}, want: []int{2}},
		{name: "negative time is too old", recs: []rec{{-nowMs - 1, 1}}, want: nil, wantDrops: drops{tooOld: 1}},
		{name: "split into events", lim: limits{maxMessage: 10}, recs: []rec{{0, 25}}, want: []int{3}, wantSplit: 2},
		{name: "split across requests", lim: limits{maxMessage: 10, maxEvents: 2}, recs: []rec{{0, 25}, {1, 3}}, want: []int{2, 2}, wantSplit: 2},
		{name: "split at exactly the limit", lim: limits{maxMessage: 10}, recs: []rec{{0, 10}, {0, 20}}, want: []int{3}, wantSplit: 1},
		{name: "truncate", lim: limits{maxMessage: 10, truncate: true}, recs: []rec{{0, 25}, {0, 10}}, want: []int{2}, wantTrunc: 1},
		{name: "1 MiB event split by the request limit", recs: many(1, 0, MaxEventSize), want: []int{1, 1}, wantSplit: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := defaultLimits
			if tt.lim.maxEvents != 0 {
				lim.maxEvents = tt.lim.maxEvents
			}
			if tt.lim.maxMessage != 0 {
				lim.maxMessage = tt.lim.maxMessage
			}
			lim.truncate = tt.lim.truncate
			recs := make([]buffer.Record, len(tt.recs))
			for i, r := range tt.recs {
				recs[i] = recAt(nowMs+r.ms, strings.Repeat("x", r.len))
			}
			var p plan
			cut(recs, nowMs, lim, &p)
			if got := shape(&p); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("events per request = %v, want %v", got, tt.want)
			}
			checkPlan(t, recs, nowMs, lim, &p)
			var d drops
			d.add(p.trailing)
			split, trunc := 0, 0
			for _, rq := range p.requests {
				d.add(rq.drops)
				split += rq.split
				trunc += rq.truncated
			}
			if d != tt.wantDrops || split != tt.wantSplit || trunc != tt.wantTrunc {
				t.Errorf("drops %+v split %d truncated %d, want %+v %d %d", d, split, trunc, tt.wantDrops, tt.wantSplit, tt.wantTrunc)
			}
		})
	}
}

func TestCut_UTF8(t *testing.T) {
	t.Run("split at character boundaries", func(t *testing.T) {
		msg := strings.Repeat("日本語", 10) // 3-byte characters, 90 bytes
		recs := []buffer.Record{recAt(nowMs, msg)}
		var p plan
		cut(recs, nowMs, limits{maxEvents: 100, maxBytes: MaxBatchBytes, maxMessage: 10}, &p)
		var got []byte
		for _, e := range p.events {
			if len(e.msg) != 9 || !utf8.Valid(e.msg) {
				t.Errorf("piece %q: %d bytes, want 9 bytes of whole characters", e.msg, len(e.msg))
			}
			got = append(got, e.msg...)
		}
		if string(got) != msg {
			t.Fatalf("pieces join to %q, want %q", got, msg)
		}
	})
	t.Run("invalid UTF-8 replaced and sized after replacement", func(t *testing.T) {
		recs := []buffer.Record{recAt(nowMs, "a\xff\xfeb")}
		var p plan
		cut(recs, nowMs, defaultLimits, &p)
		if got, want := string(p.events[0].msg), "a\uFFFD\uFFFDb"; got != want {
			t.Fatalf("message = %q, want %q", got, want)
		}
		if got, want := p.requests[0].bytes, 8+EventOverhead; got != want {
			t.Fatalf("request bytes = %d, want %d", got, want)
		}
		if p.requests[0].sanitised != 1 {
			t.Fatalf("sanitised = %d, want 1", p.requests[0].sanitised)
		}
		if string(recs[0].Message) != "a\xff\xfeb" {
			t.Fatalf("record message modified: %q", recs[0].Message)
		}
	})
	t.Run("replacement pushes over the event limit", func(t *testing.T) {
		// 10 invalid bytes become 30 bytes: three events of 10 (3 U+FFFD each is 9).
		recs := []buffer.Record{recAt(nowMs, strings.Repeat("\xff", 10))}
		var p plan
		cut(recs, nowMs, limits{maxEvents: 100, maxBytes: MaxBatchBytes, maxMessage: 10}, &p)
		if got := len(p.events); got != 4 {
			t.Fatalf("events = %d, want 4 (9+9+9+3 bytes)", got)
		}
	})
}

func TestCut_Rest(t *testing.T) {
	// A 25-byte record split in 10-byte pieces over requests of 2 events.
	recs := []buffer.Record{recAt(nowMs, "0123456789abcdefghijKLMNO"), recAt(nowMs+1, "z")}
	var p plan
	cut(recs, nowMs, limits{maxEvents: 2, maxBytes: MaxBatchBytes, maxMessage: 10}, &p)
	if len(p.requests) != 2 {
		t.Fatalf("requests = %d, want 2", len(p.requests))
	}
	r0 := p.requests[0]
	if r0.recEnd != 0 || string(r0.rest) != "KLMNO" || r0.restCopy {
		t.Fatalf("first request recEnd %d rest %q copy %v, want 0 \"KLMNO\" false", r0.recEnd, r0.rest, r0.restCopy)
	}
	if r1 := p.requests[1]; r1.recEnd != 2 || r1.rest != nil {
		t.Fatalf("second request recEnd %d rest %q, want 2 nil", r1.recEnd, r1.rest)
	}
}

func TestSortRecords(t *testing.T) {
	// Equal milliseconds (different nanoseconds) keep their order.
	recs := []buffer.Record{
		{Time: 3e6, Offset: 0},
		{Time: 1e6 + 900, Offset: 1},
		{Time: 1e6 + 100, Offset: 2},
		{Time: 2e6, Offset: 3},
		{Time: 1e6, Offset: 4},
	}
	sortRecords(recs)
	var got []int64
	for _, r := range recs {
		got = append(got, r.Offset)
	}
	if want := []int64{1, 2, 4, 3, 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

// checkPlan asserts every invariant of a plan for recs (sorted): every
// request within every limit, nothing lost (each kept record's sanitised
// message is the concatenation of its events, or their prefix when
// truncating), events in time order, drops accounted, recEnd/rest consistent.
func checkPlan(t testing.TB, recs []buffer.Record, now int64, lim limits, p *plan) {
	t.Helper()
	span := MaxBatchSpan.Milliseconds()
	prevEnd := 0
	for k, rq := range p.requests {
		n := rq.end - rq.start
		if rq.start != prevEnd || n < 1 || n > lim.maxEvents {
			t.Fatalf("request %d: events [%d,%d) after %d, max %d", k, rq.start, rq.end, prevEnd, lim.maxEvents)
		}
		prevEnd = rq.end
		size := 0
		evs := p.events[rq.start:rq.end]
		for _, e := range evs {
			if len(e.msg) == 0 || len(e.msg) > lim.maxMessage || !utf8.Valid(e.msg) {
				t.Fatalf("request %d: event of %d bytes (max %d), valid UTF-8 %v", k, len(e.msg), lim.maxMessage, utf8.Valid(e.msg))
			}
			size += len(e.msg) + EventOverhead
		}
		if size != rq.bytes || size > lim.maxBytes {
			t.Fatalf("request %d: %d bytes (recorded %d), max %d", k, size, rq.bytes, lim.maxBytes)
		}
		if d := evs[n-1].ts - evs[0].ts; d >= span || d < 0 {
			t.Fatalf("request %d: span %d ms", k, d)
		}
	}
	if prevEnd != len(p.events) {
		t.Fatalf("requests cover %d of %d events", prevEnd, len(p.events))
	}
	for i := 1; i < len(p.events); i++ {
		if p.events[i].ts < p.events[i-1].ts {
			t.Fatalf("event %d at %d before event %d at %d", i, p.events[i].ts, i-1, p.events[i-1].ts)
		}
	}

	// Replay: walk the records and consume their events.
	oldest := now - (MaxEventAge + WindowMargin).Milliseconds()
	newest := now + (MaxEventFuture + WindowMargin).Milliseconds()
	var wantDrops drops
	ev := 0
	for i := range recs {
		r := &recs[i]
		ts := millis(r.Time)
		switch {
		case len(r.Message) == 0:
			wantDrops.empty++
			continue
		case ts < oldest:
			wantDrops.tooOld++
			continue
		case ts > newest:
			wantDrops.tooNew++
			continue
		}
		want := buffer.AppendValidUTF8(nil, r.Message)
		var got []byte
		for ev < len(p.events) && len(got) < len(want) {
			if p.events[ev].ts != ts {
				t.Fatalf("record %d at %d: event %d at %d", i, ts, ev, p.events[ev].ts)
			}
			got = append(got, p.events[ev].msg...)
			ev++
			if lim.truncate {
				break
			}
		}
		if lim.truncate && len(want) > lim.maxMessage {
			if !bytes.HasPrefix(want, got) || len(got) > lim.maxMessage || len(got) < lim.maxMessage-3 {
				t.Fatalf("record %d truncated to %q, want a prefix of %q within 3 bytes of %d", i, got, want, lim.maxMessage)
			}
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("record %d: events join to %q, want %q", i, got, want)
		}
	}
	if ev != len(p.events) {
		t.Fatalf("%d events left over after the last record", len(p.events)-ev)
	}
	var gotDrops drops
	gotDrops.add(p.trailing)
	prevRec := 0
	for k, rq := range p.requests {
		gotDrops.add(rq.drops)
		if rq.recEnd < prevRec || rq.recEnd > len(recs) {
			t.Fatalf("request %d: recEnd %d after %d", k, rq.recEnd, prevRec)
		}
		prevRec = rq.recEnd
		if rq.rest != nil {
			full := buffer.AppendValidUTF8(nil, recs[rq.recEnd].Message)
			if !bytes.HasSuffix(full, rq.rest) || len(rq.rest) == len(full) || len(rq.rest) == 0 {
				t.Fatalf("request %d: rest %q is not a proper suffix of %q", k, rq.rest, full)
			}
			// The next request starts with the rest.
			next := p.events[rq.end:]
			var got []byte
			for _, e := range next {
				if len(got) >= len(rq.rest) {
					break
				}
				got = append(got, e.msg...)
			}
			if !bytes.Equal(got, rq.rest) {
				t.Fatalf("request %d: rest %q, next events start with %q", k, rq.rest, got)
			}
		}
	}
	if len(p.requests) > 0 && prevRec != len(recs) {
		t.Fatalf("last recEnd %d, want %d", prevRec, len(recs))
	}
	if gotDrops != wantDrops {
		t.Fatalf("drops %+v, want %+v", gotDrops, wantDrops)
	}
}

// FuzzCutBatches cuts fuzzer-made records with small limits and checks every
// invariant: each request within every limit, nothing lost (split pieces join
// to the sanitised message), order by time with stable ties.
func FuzzCutBatches(f *testing.F) {
	f.Add([]byte("\x03\x10\x40\x01\x00hello world\x00\x01\xff\xfebroken\x00\x02日本語テキスト"), false)
	f.Add(bytes.Repeat([]byte("\x05\x00abcdefghijklmnopqrstuvwxyz\x00"), 20), true)
	f.Add([]byte("\x09\x07\x02\x0e\x04日本語テキスト\x00\x04\xe6\x97\xa5\xe6\x00\x0c\x00x"), false)
	f.Add([]byte{0xff, 0x01, 0x02, 0x80, 0x81, 0x82, 0x83, 0x00, 0x00, 0x00}, false)
	f.Fuzz(func(t *testing.T, data []byte, truncate bool) {
		if len(data) < 5 {
			return
		}
		lim := limits{
			maxEvents:  1 + int(data[0]%16),
			maxMessage: 4 + int(data[1]%60),
			truncate:   truncate,
		}
		lim.maxBytes = lim.maxMessage + EventOverhead + int(data[2])*4
		ts := nowMs - int64(data[3]%16)*dayMs // 0 to 15 days old
		data = data[4:]
		// Records: a 1-byte time step code, then a message up to a NUL.
		var recs []buffer.Record
		for len(data) > 0 && len(recs) < 500 {
			step := data[0]
			data = data[1:]
			switch step % 8 {
			case 0: // same millisecond
			case 1:
				ts += int64(step)
			case 2:
				ts += int64(step) * hourMs / 8
			case 3:
				ts -= int64(step) * 1000 // out of order
			case 4:
				ts += int64(step) * dayMs / 16
			default:
				ts += int64(step) * 1000
			}
			msg := data
			if i := bytes.IndexByte(data, 0); i >= 0 {
				msg, data = data[:i], data[i+1:]
			} else {
				data = nil
			}
			r := buffer.Record{Time: ts*1e6 + int64(step)*1000, Message: msg, Offset: int64(len(recs))}
			recs = append(recs, r)
		}
		sortRecords(recs)
		for i := 1; i < len(recs); i++ {
			a, b := millis(recs[i-1].Time), millis(recs[i].Time)
			if a > b || a == b && recs[i-1].Offset > recs[i].Offset {
				t.Fatalf("sort: record %d (%d ms, #%d) before %d (%d ms, #%d)", i-1, a, recs[i-1].Offset, i, b, recs[i].Offset)
			}
		}
		var p plan
		cut(recs, nowMs, lim, &p)
		checkPlan(t, recs, nowMs, lim, &p)
		// The SDK input mirrors the plan.
		for k := range p.requests {
			in := p.input(k)
			evs := p.events[p.requests[k].start:p.requests[k].end]
			for j := range in {
				if *in[j].Message != string(evs[j].msg) || *in[j].Timestamp != evs[j].ts {
					t.Fatalf("request %d event %d: input %q@%d, plan %q@%d", k, j, *in[j].Message, *in[j].Timestamp, evs[j].msg, evs[j].ts)
				}
			}
		}
	})
}

// TestCut_Deterministic guards the plan reuse: a second cut into the same
// plan gives the same result as a fresh one.
func TestCut_Deterministic(t *testing.T) {
	var recs []buffer.Record
	for i := range 100 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(i*7919))
		recs = append(recs, recAt(nowMs-int64(i%5)*hourMs*6, strings.Repeat(string(b[:3]), i%40)))
	}
	sortRecords(recs)
	lim := limits{maxEvents: 7, maxBytes: 400, maxMessage: 30}
	var reused, fresh plan
	cut(recs[:50], nowMs, lim, &reused)
	cut(recs, nowMs, lim, &reused)
	cut(recs, nowMs, lim, &fresh)
	if fmt.Sprint(shape(&reused)) != fmt.Sprint(shape(&fresh)) || len(reused.events) != len(fresh.events) {
		t.Fatalf("reused plan %v, fresh %v", shape(&reused), shape(&fresh))
	}
	checkPlan(t, recs, nowMs, lim, &reused)
}

// TestMillis_Fluentd checks event timestamps against Ruby's arithmetic
// (testdata/millis-ruby.txt, written by testdata/millis-ruby.rb) and that
// they differ from exact truncation only by one millisecond, rarely.
func TestMillis_Fluentd(t *testing.T) {
	data, err := os.ReadFile("testdata/millis-ruby.txt")
	if err != nil {
		t.Fatal(err)
	}
	n, diff := 0, 0
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		var sec, nsec, want int64
		if _, err := fmt.Sscan(line, &sec, &nsec, &want); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		ns := sec*1e9 + nsec
		if got := millis(ns); got != want {
			t.Errorf("millis(%d.%09d)=%d, Ruby %d", sec, nsec, got, want)
		}
		if exact := ns / 1e6; want != exact {
			if want-exact != 1 && want-exact != -1 {
				t.Errorf("%d.%09d: Ruby %d, exact %d: more than 1 ms apart", sec, nsec, want, exact)
			}
			diff++
		}
		n++
	}
	if n < 4000 || diff == 0 {
		t.Fatalf("%d cases, %d differing from truncation; want 4000 and some", n, diff)
	}
	// Monotone: a later time never gets an earlier timestamp.
	prev := millis(1_765_000_000_123_999_000)
	for ns := int64(1_765_000_000_123_999_000); ns < 1_765_000_000_124_001_000; ns++ {
		m := millis(ns)
		if m < prev {
			t.Fatalf("millis(%d)=%d < millis(%d)=%d", ns, m, ns-1, prev)
		}
		prev = m
	}
	if millis(-1) != -1 || millis(0) != 0 {
		t.Errorf("millis(-1)=%d millis(0)=%d, want -1 0", millis(-1), millis(0))
	}
}
