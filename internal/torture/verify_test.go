package torture

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

const baseTime = int64(1_780_000_000_000) * 1e6 // ns

// fixture is a ledger of two containers with n lines each and the events
// that deliver all of them once, in order, with the right timestamps.
func fixture(n, size int) (*Ledger, []Event) {
	l := NewLedger()
	var evs []Event
	seq := uint64(0)
	for _, c := range []string{"c000", "c001"} {
		for i := 0; i < n; i++ {
			ts := baseTime + int64(i)*1e6 + 123
			l.Add(c, Written{Time: ts, Size: size})
			seq += 10
			evs = append(evs, Event{Stream: "s-" + c, Timestamp: ts / 1e6, Message: record(string(AppendPayload(nil, c, i, size))), Seq: seq})
		}
	}
	return l, evs
}

func record(text string) string {
	b, _ := json.Marshal(map[string]any{"stream": "stdout", "logtag": "F", "message": text})
	return string(b)
}

func payload(c string, i, size int) string { return string(AppendPayload(nil, c, i, size)) }

// splitInto replaces the event that carries p whole with one event per part
// (in that order, Seq counting up from the event's), each the JSON object
// that piece makes of the part and its index.
func splitInto(evs []Event, p string, parts []string, piece func(k int, part string) map[string]any) []Event {
	var out []Event
	for _, e := range evs {
		if e.Message != record(p) {
			out = append(out, e)
			continue
		}
		for k, part := range parts {
			b, _ := json.Marshal(piece(k, part))
			out = append(out, Event{Stream: e.Stream, Timestamp: e.Timestamp, Message: string(b), Seq: e.Seq + uint64(k)})
		}
	}
	return out
}

func TestVerify(t *testing.T) {
	const n, size = 10, 120
	tests := []struct {
		name  string
		edit  func(l *Ledger, evs []Event) []Event
		check func(r Report) bool
		want  string
	}{
		{"clean", func(l *Ledger, evs []Event) []Event { return evs },
			func(r Report) bool { return r.Clean() && r.Duplicated == 0 && r.Delivered == 2*n }, "clean, all delivered"},
		{"missing", func(l *Ledger, evs []Event) []Event { return append(evs[:3], evs[5:]...) },
			func(r Report) bool { return r.Missing == 2 && r.Delivered == 2*n-2 && r.OutOfOrder == 0 }, "missing=2"},
		{"duplicated", func(l *Ledger, evs []Event) []Event {
			d := evs[4]
			d.Seq = 1000
			return append(evs, d)
		}, func(r Report) bool { return r.Duplicated == 1 && r.OutOfOrder == 0 && r.Missing == 0 }, "dup=1, no order violation"},
		{"out of order", func(l *Ledger, evs []Event) []Event {
			evs[2].Seq, evs[6].Seq = evs[6].Seq, evs[2].Seq
			return evs
		}, func(r Report) bool { return r.OutOfOrder > 0 && r.Missing == 0 && r.Duplicated == 0 }, "out_of_order>0"},
		{"order across streams is free", func(l *Ledger, evs []Event) []Event {
			// c000 line 9 first, in another stream: not an order violation.
			evs[9].Stream, evs[9].Seq = "other", 0
			return evs
		}, func(r Report) bool { return r.OutOfOrder == 0 && r.Clean() }, "out_of_order=0"},
		{"cut", func(l *Ledger, evs []Event) []Event {
			p := payload("c000", 3, size)
			evs[3].Message = record(p[:60])
			return append(evs, Event{Stream: "s-c000", Timestamp: evs[3].Timestamp, Message: record(p[60:]), Seq: 999})
		}, func(r Report) bool { return r.Cut == 1 && r.Fragments == 1 && r.Missing == 0 }, "cut=1 fragments=1"},
		{"merged", func(l *Ledger, evs []Event) []Event {
			evs[5].Message = record(payload("c000", 5, size) + "\n" + payload("c000", 6, size))
			return append(evs[:6], evs[7:]...)
		}, func(r Report) bool { return r.Merged == 2 && r.MergedEvents == 1 && r.Missing == 0 }, "merged=2 (one event)"},
		{"glued fragment", func(l *Ledger, evs []Event) []Event {
			evs[5].Message = record(payload("c000", 5, size) + "abc")
			return evs
		}, func(r Report) bool { return r.Merged == 1 }, "merged=1"},
		{"wrong timestamp", func(l *Ledger, evs []Event) []Event {
			evs[7].Timestamp += 5000
			return evs
		}, func(r Report) bool { return r.WrongTime == 1 }, "wrong_time=1"},
		{"not json", func(l *Ledger, evs []Event) []Event {
			evs[1].Message = payload("c000", 1, size)
			return evs
		}, func(r Report) bool { return r.NotJSON == 1 && r.Missing == 0 }, "not_json=1 still delivered"},
		{"foreign", func(l *Ledger, evs []Event) []Event {
			return append(evs, Event{Stream: "x", Message: record("Hello World"), Seq: 5000})
		}, func(r Report) bool { return r.Foreign == 1 }, "foreign=1"},
		{"corrupt header is not the line", func(l *Ledger, evs []Event) []Event {
			evs[2].Message = strings.Replace(evs[2].Message, "TT.c000.2.", "TT.c000.3.", 1)
			return evs
		}, func(r Report) bool { return r.Missing == 1 && r.Duplicated == 0 }, "missing=1 (checksum catches the edit)"},
		{"marked pieces reassemble", func(l *Ledger, evs []Event) []Event {
			p := payload("c001", 4, size)
			return splitInto(evs, p, []string{p[:50], p[50:100], p[100:]}, func(k int, part string) map[string]any {
				return map[string]any{"stream": "stdout", "message": part, "partial_id": "x1",
					"partial_ordinal": k + 1, "partial_last": k == 2}
			})
		}, func(r Report) bool { return r.Clean() && r.Pieces == 3 && r.Delivered == 2*n }, "pieces=3, clean"},
		{"marked pieces with string markers", func(l *Ledger, evs []Event) []Event {
			p := payload("c000", 7, size)
			return splitInto(evs, p, []string{p[:70], p[70:]}, func(k int, part string) map[string]any {
				return map[string]any{"message": part, "partial_message": "true", "partial_id": "ab12",
					"partial_ordinal": strconv.Itoa(k + 1), "partial_last": strconv.FormatBool(k == 1)}
			})
		}, func(r Report) bool { return r.Clean() && r.Pieces == 2 && r.Delivered == 2*n }, "pieces=2, clean"},
		{"pieces out of ordinal order reassemble", func(l *Ledger, evs []Event) []Event {
			p := payload("c000", 7, size)
			return splitInto(evs, p, []string{p[70:], p[:70]}, func(k int, part string) map[string]any {
				return map[string]any{"message": part, "partial_id": "ab12",
					"partial_ordinal": 2 - k, "partial_last": k == 0}
			})
		}, func(r Report) bool { return r.Delivered == 2*n && r.BadPieceSets == 0 }, "reassembled by ordinal"},
		{"incomplete piece set", func(l *Ledger, evs []Event) []Event {
			p := payload("c001", 4, size)
			for i, e := range evs {
				if e.Message == record(p) {
					b, _ := json.Marshal(map[string]any{"message": p[:50], "partial_id": "x1", "partial_ordinal": 1, "partial_last": false})
					evs[i].Message = string(b)
				}
			}
			return evs
		}, func(r Report) bool { return r.BadPieceSets == 1 && r.Cut == 1 }, "bad_piece_sets=1 cut=1"},
		{"lost on no disk", func(l *Ledger, evs []Event) []Event {
			l.MarkLost("c001", 2)
			return append(evs[:n+2], evs[n+3:]...)
		}, func(r Report) bool { return r.Missing == 0 && r.MissingOnDisk == 1 && r.LostOnDisk == 1 }, "missing=0 missing_on_no_disk=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, evs := fixture(n, size)
			evs = tt.edit(l, evs)
			if r := Verify(l, evs, VerifyOptions{}); !tt.check(r) {
				t.Fatalf("Verify()=%s, want %s", r, tt.want)
			}
		})
	}
}

func TestVerify_DupPerEpoch(t *testing.T) {
	l, evs := fixture(10, 100)
	// Events have seqs 10..200. Kill after seq 200 and after seq 250:
	// re-send 3 lines after the first, 2 after the second.
	add := func(i int, seq uint64) {
		e := evs[i]
		e.Seq = seq
		evs = append(evs, e)
	}
	add(2, 210)
	add(3, 220)
	add(4, 230)
	add(12, 260)
	add(13, 270)
	r := Verify(l, evs, VerifyOptions{Epochs: []uint64{200, 250}})
	if got, want := r.DupPerEpoch, []int{3, 2}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("DupPerEpoch=%v, want %v (%s)", got, want, r)
	}
	if r.Duplicated != 5 || r.OutOfOrder != 0 {
		t.Fatalf("Verify()=%s, want dup=5 out_of_order=0", r)
	}
}

func TestPayload_RoundTrip(t *testing.T) {
	for _, size := range []int{MinPayload, 100, 40_000, 2 << 20} {
		p := string(AppendPayload(nil, "c012", 77, size))
		if len(p) != size {
			t.Fatalf("len(payload)=%d, want %d", len(p), size)
		}
		h, ok := parseHeader(p)
		if !ok || h.ctr != "c012" || h.seq != 77 || h.size != size || !payloadMatches(p, h) {
			t.Fatalf("parseHeader(%d bytes)=%+v %v", size, h, ok)
		}
		if payloadMatches(p[:size-1]+"x", h) {
			t.Fatalf("payloadMatches accepted a changed last byte (size %d)", size)
		}
	}
	if _, ok := parseHeader("TT.c000.1." + strconv.Itoa(100) + ".deadbeef."); ok {
		t.Fatal("parseHeader accepted a wrong checksum")
	}
}

func TestOldestUndelivered(t *testing.T) {
	l, evs := fixture(10, 100)
	if o, n := OldestUndelivered(l, evs); o != 0 || n != 0 {
		t.Fatalf("OldestUndelivered(all)=%d,%d, want 0,0", o, n)
	}
	// Drop c000 lines 3 and 4.
	evs = append(evs[:3], evs[5:]...)
	o, n := OldestUndelivered(l, evs)
	if want := l.Lines("c000")[3].Time; o != want || n != 2 {
		t.Fatalf("OldestUndelivered()=%d,%d, want %d,2", o, n, want)
	}
}
