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
	l.emit(lines(1, 10, 20, 30), t0)
	l.emit(append(lines(2, 100, 200), lines(1, 40)...), t0.Add(time.Second))
	l.emit(lines(2, 300), t0.Add(2*time.Second))
	l.emit(lines(1, 50), t0.Add(3*time.Second))

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
	l.emit(lines(3, 10), t0)
	if got := l.lag(now, position); got != 0 {
		t.Fatalf("lag=%v for a forgotten file, want 0", got)
	}
	// Compaction keeps a file's queue bounded.
	pos[4] = 0
	for i := range int64(5000) {
		l.emit(lines(4, i+1), t0.Add(time.Duration(i)*time.Millisecond))
		pos[4] = i + 1
		l.lag(now, position)
	}
	if f := l.files[4]; f != nil && len(f.q) > 130 {
		t.Fatalf("queue holds %d spans after all acks", len(f.q))
	}
}
