package agent

import (
	"sync"
	"time"
)

// lagTracker estimates the age of the oldest unacknowledged line of a source
// (the delivery lag). Each batch handed to the router is recorded with the
// time it was read and the running count of lines emitted; acknowledgements
// add to a running count of lines done. The oldest batch whose running count
// is above the done count holds the oldest line not yet acknowledged. Acks
// can arrive out of order across batches, so this is an estimate: it never
// reports a lag smaller than the true one by more than one batch's age
// spread, and it is exact when acks arrive in order.
type lagTracker struct {
	mu      sync.Mutex
	batches []lagBatch // oldest first; head at index head
	head    int
	emitted uint64
	done    uint64
}

type lagBatch struct {
	at   time.Time
	upTo uint64 // emitted count after this batch
}

// emit records n lines read at t.
func (l *lagTracker) emit(n int, t time.Time) {
	if n == 0 {
		return
	}
	l.mu.Lock()
	l.emitted += uint64(n)
	l.batches = append(l.batches, lagBatch{at: t, upTo: l.emitted})
	l.mu.Unlock()
}

// ack records n lines acknowledged.
func (l *lagTracker) ack(n int) {
	l.mu.Lock()
	l.done += uint64(n)
	for l.head < len(l.batches) && l.batches[l.head].upTo <= l.done {
		l.head++
	}
	if l.head == len(l.batches) {
		l.batches, l.head = l.batches[:0], 0
	} else if l.head > 1024 && l.head*2 > len(l.batches) {
		n := copy(l.batches, l.batches[l.head:])
		l.batches, l.head = l.batches[:n], 0
	}
	l.mu.Unlock()
}

// lag returns the age of the oldest unacknowledged line at now (0 when
// everything read is acknowledged).
func (l *lagTracker) lag(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.head == len(l.batches) {
		return 0
	}
	return now.Sub(l.batches[l.head].at)
}
