package agent

import (
	"testing"
	"time"
)

func TestLagTracker(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var l lagTracker
	if got := l.lag(t0); got != 0 {
		t.Fatalf("empty lag=%v, want 0", got)
	}
	l.emit(10, t0)
	l.emit(5, t0.Add(2*time.Second))
	if got := l.lag(t0.Add(3 * time.Second)); got != 3*time.Second {
		t.Fatalf("lag=%v, want 3s (first batch unacked)", got)
	}
	l.ack(9)
	if got := l.lag(t0.Add(3 * time.Second)); got != 3*time.Second {
		t.Fatalf("lag=%v, want 3s (one line of the first batch left)", got)
	}
	l.ack(1)
	if got := l.lag(t0.Add(3 * time.Second)); got != time.Second {
		t.Fatalf("lag=%v, want 1s (second batch)", got)
	}
	l.ack(5)
	if got := l.lag(t0.Add(10 * time.Second)); got != 0 {
		t.Fatalf("lag=%v, want 0 after every ack", got)
	}
	for i := 0; i < 5000; i++ { // compaction keeps the queue bounded
		l.emit(1, t0)
		l.ack(1)
	}
	if len(l.batches) > 1 {
		t.Fatalf("queue holds %d batches after all acks", len(l.batches))
	}
}
