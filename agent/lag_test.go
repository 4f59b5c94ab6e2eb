package agent

import (
	"testing"
	"time"

	"logship/tail"
)

func lines(src uint64, offs ...int64) []tail.Line {
	out := make([]tail.Line, len(offs))
	for i, o := range offs {
		out[i] = tail.Line{Source: src, Offset: o}
	}
	return out
}

// TestLagTracker: the lag is the age of the oldest line not yet acknowledged
// (by each file's committed position), also when acknowledgements of other
// files run far ahead, as in the recovery after an outage where one stream's
// chunks wait behind a retried one.
func TestLagTracker(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pos := map[uint64]int64{}
	position := func(src uint64) (int64, bool) { p, ok := pos[src]; return p, ok }
	var l lagTracker
	if got := l.lag(t0, position); got != 0 {
		t.Fatalf("empty lag=%v, want 0", got)
	}
	// File 1: lines ending at 10..30, read at t0; file 2 at t0+1s and t0+2s;
	// file 1 again at t0+3s.
	pos[1], pos[2] = 0, 0
	l.emit(lines(1, 10, 20, 30), t0, position)
	l.emit(append(lines(2, 100, 200), lines(1, 40)...), t0.Add(time.Second), position)
	l.emit(lines(2, 300), t0.Add(2*time.Second), position)
	l.emit(lines(1, 50), t0.Add(3*time.Second), position)

	now := t0.Add(120 * time.Second)
	if got := l.lag(now, position); got != 120*time.Second {
		t.Fatalf("lag=%v, want 120s (nothing acknowledged)", got)
	}
	// Recovery: every line of file 2 is delivered (many acks), file 1 is
	// still behind its first line.
	pos[2] = 300
	if got := l.lag(now, position); got != 120*time.Second {
		t.Fatalf("lag=%v, want 120s: file 1's first line is still undelivered", got)
	}
	pos[1] = 20 // two lines of the first batch: its third is left
	if got := l.lag(now, position); got != 120*time.Second {
		t.Fatalf("lag=%v, want 120s (line ending at 30 left)", got)
	}
	pos[1] = 40
	if got := l.lag(now, position); got != 117*time.Second {
		t.Fatalf("lag=%v, want 117s (file 1's line read at t0+3s)", got)
	}
	pos[1] = 50
	if got := l.lag(now, position); got != 0 {
		t.Fatalf("lag=%v, want 0 after every ack", got)
	}
	if len(l.files) != 0 {
		t.Fatalf("%d files still tracked after every ack", len(l.files))
	}
	// A file the tailer forgot is not held against the lag.
	l.emit(lines(3, 10), t0, position)
	if got := l.lag(now, position); got != 0 {
		t.Fatalf("lag=%v for a forgotten file, want 0", got)
	}
	// Without scrapes, emit drops acknowledged spans as time passes.
	pos[4] = 0
	for i := range int64(5000) {
		l.emit(lines(4, i+1), t0.Add(time.Duration(i)*10*time.Millisecond), position)
		pos[4] = i + 1
	}
	if f := l.files[4]; f != nil && len(f.q)-f.head > 200 {
		t.Fatalf("queue holds %d spans with every line acknowledged", len(f.q)-f.head)
	}
	// Nothing acknowledged (an outage): the queue stays bounded, and the
	// lag is still that of the oldest line.
	pos[5] = 0
	for i := range int64(10000) {
		l.emit(lines(5, i+1), t0.Add(time.Duration(i)*time.Millisecond), position)
	}
	if f := l.files[5]; len(f.q)-f.head > maxLagSpans {
		t.Fatalf("queue holds %d spans, bound %d", len(f.q)-f.head, maxLagSpans)
	}
	end := t0.Add(100 * time.Second)
	if got := l.lag(end, position); got != 100*time.Second {
		t.Fatalf("lag=%v after merging, want 100s (the first line)", got)
	}
	pos[5] = 10000
	if got := l.lag(end, position); got != 0 {
		t.Fatalf("lag=%v with every line acknowledged, want 0", got)
	}
}
