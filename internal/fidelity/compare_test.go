package fidelity_test

import (
	"testing"
	"time"

	"logship/internal/fidelity"
)

// TestCompare classifies hand-made event pairs the way the differential run
// would see them (no peer needed).
func TestCompare(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	lines := []fidelity.Line{
		{ID: "L000001", Time: at.Add(1 * time.Millisecond)},
		{ID: "L000002", Time: at.Add(2 * time.Millisecond), Class: fidelity.ClassEmpty},
		{ID: "L000009", Time: at, Class: fidelity.ClassWholeSecond},
		{ID: "L000011", Time: at.Add(3500 * time.Millisecond), Class: fidelity.ClassEmpty, Container: "c1"},
		{ID: "L000012", Time: at.Add(3600 * time.Millisecond), Class: fidelity.ClassEmpty, Container: "c2"},
	}
	ev := func(stream string, ts int64, msg string) fidelity.Event {
		return fidelity.Event{Group: "g", Stream: stream, Timestamp: ts, Message: msg}
	}
	ms := at.UnixMilli()
	f := []fidelity.Event{
		ev("s", ms+1, `{"message":"L000001 same","kubernetes":{"pod_name":"p"}}`),
		ev("s", ms+2, `{"message":""}`), // empty line: matched by time
		ev("s", ms+3, `{"message":"L000003 a"}`),
		ev("s", ms+4, `{"message":"L000004 a","b":1}`),
		ev("s", ms+5, `{"message":"L000005 x\uFFFDy"}`),
		ev("s", ms+6, `{"message":"L000006 piece 0 "}`),
		ev("s", ms+6, `{"message":"L000006 piece 1"}`),
		ev("s", ms+7, `{"message":"L000007 <"}`),
		ev("s", ms+8, `{"message":"L000008"}`),
		ev("s", fidelity.ReadTime, `{"message":"L000010 read"}`),
		ev("k.c1.log", ms+3500, `{"log":"\n"}`),
		ev("k.c2.log", ms+3600, `{"log":"\n"}`),
	}
	l := []fidelity.Event{
		ev("s", ms+1, `{"message":"L000001 same","kubernetes":{"pod_name":"p"}}`),
		ev("s", ms+2, `{"message":""}`),
		ev("s", ms+2, `{"message":"L000003 a"}`),
		ev("s", ms+4, `{"b":1,"message":"L000004 a","kubernetes":{"pod_id":"u"}}`),
		ev("s", ms+5, `{"message":"L000005 x\uFFFD\uFFFDy"}`),
		ev("s", ms+6, `{"message":"L000006 piece 0 L000006 piece 1"}`),
		ev("s", ms+7, `{"message":"L000007 \u003c"}`),
		ev("t", ms+8, `{"message":"L000008"}`),
		ev("s", ms, `{"message":"L000009 whole second"}`),
		ev("s", fidelity.ReadTime, `{"message":"L000010 read"}`),
		ev("k.c1.log", ms+3000, `{"log":"\n"}`), // empty lines, kept to the second
		ev("k.c2.log", ms+3000, `{"log":"\n"}`),
	}
	r := fidelity.Compare(f, l, lines)
	if got, want := r.Compared, 12; got != want {
		t.Errorf("Compared=%d, want %d", got, want)
	}
	if got, want := r.Identical, 3; got != want { // L000001, the empty line, L000010
		t.Errorf("Identical=%d, want %d (counts %v)", got, want, r.Counts)
	}
	for _, name := range []string{
		fidelity.ClassTimestamp + ": logship -1 ms",
		"field only in logship: kubernetes.pod_id",
		fidelity.ClassReplacement + ": message",
		fidelity.ClassPartialJoined,
		fidelity.ClassEscaping,
		fidelity.ClassStream,
		fidelity.ClassWholeSecondKept,
	} {
		if r.Counts[name] != 1 {
			t.Errorf("Counts[%q]=%d, want 1 (counts %v)", name, r.Counts[name], r.Counts)
		}
	}
	if got := r.Counts[fidelity.ClassSecondPrecision]; got != 2 {
		t.Errorf("second-truncated empty lines matched: %d, want 2 (counts %v)", got, r.Counts)
	}
	if r.Counts[fidelity.ClassKeyOrder] != 0 {
		t.Errorf("key order counted although a field differs too: %v", r.Counts)
	}
	// Allowed: only the two deliberate classes.
	un := map[string]bool{}
	for _, u := range r.Unlisted() {
		un[u] = true
	}
	if un[fidelity.ClassPartialJoined] || un[fidelity.ClassWholeSecondKept] || !un["field only in logship: kubernetes.pod_id"] {
		t.Errorf("Unlisted()=%v", r.Unlisted())
	}
}

func TestFindID(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"message":"L000123 x"}`, "L000123"},
		{`Log L12 then L000042`, "L000042"},
		{`L00001`, ""},
		{`xL1234567`, "L123456"},
		{``, ""},
	} {
		if got := fidelity.FindID(tt.in); got != tt.want {
			t.Errorf("FindID(%q)=%q, want %q", tt.in, got, tt.want)
		}
	}
}
