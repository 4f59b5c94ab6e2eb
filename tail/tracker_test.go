package tail

import (
	"testing"
	"unsafe"
)

// TestTracker_SeqAcrossCompaction: an entry's seq (used by links between
// files) still finds it after the queue was compacted, acks out of order
// move done only across the acknowledged prefix, and a drained queue gives
// its memory back.
func TestTracker_SeqAcrossCompaction(t *testing.T) {
	var tr tracker
	const n = 5000
	seqs := make([]uint64, n)
	for i := range n {
		seqs[i] = tr.push(int64(10*(i+1)), int64(10*i), StreamStdout, false, false, nil)
	}
	// Ack the first 3000 in order: the queue compacts past 1024.
	for i := range 3000 {
		if _, ok := tr.ack(int64(10 * (i + 1))); !ok {
			t.Fatalf("ack of line %d not found", i)
		}
	}
	if tr.done != 30000 || tr.pending() != n-3000 {
		t.Fatalf("done %d pending %d, want 30000 and %d", tr.done, tr.pending(), n-3000)
	}
	// The last entry by seq, then the middle ones by seq, out of order.
	tr.ackSeq(seqs[n-1])
	if tr.done != 30000 {
		t.Fatalf("done moved to %d on an out-of-order ack", tr.done)
	}
	for i := n - 2; i >= 3000; i-- {
		tr.ackSeq(seqs[i])
	}
	if tr.done != 10*n || tr.pending() != 0 {
		t.Fatalf("done %d pending %d after acking all, want %d and 0", tr.done, tr.pending(), 10*n)
	}
	// An old seq, or one never issued, is ignored.
	tr.ackSeq(seqs[0])
	tr.ackSeq(tr.seq + 7)
	// The drained burst's queue is given back.
	if cap(tr.q) > maxIdleQueue {
		t.Fatalf("drained queue kept capacity %d, want at most %d", cap(tr.q), maxIdleQueue)
	}
	next := tr.push(10*n+10, 10*n, StreamStdout, false, false, nil)
	if next != seqs[n-1]+1 {
		t.Fatalf("seq after drain %d, want %d", next, seqs[n-1]+1)
	}
	if _, ok := tr.ack(10*n + 10); !ok || tr.done != 10*n+10 {
		t.Fatalf("ack after drain: ok %v done %d", ok, tr.done)
	}
}

// TestPendingLine_Packing: the packed entry gives back what was queued,
// for every stream and flag, the first fragment far before the line's end
// (a truncated line held across gigabytes) and after it.
func TestPendingLine_Packing(t *testing.T) {
	for _, c := range []struct{ off, first int64 }{
		{100, 40}, {100, 100}, {1 << 40, 3}, {5 << 32, 1<<32 + 7}, {50, 60}, {0, 0},
	} {
		for _, st := range []Stream{StreamNone, StreamStdout, StreamStderr} {
			for _, done := range []bool{false, true} {
				for _, link := range []bool{false, true} {
					e := newPendingLine(c.off, c.first, st, done, link)
					if e.off != c.off || e.first() != c.first || e.stream() != st || e.done() != done || e.link() != link {
						t.Fatalf("(%d, %d, %v, %v, %v) came back as (%d, %d, %v, %v, %v)", c.off, c.first, st, done, link,
							e.off, e.first(), e.stream(), e.done(), e.link())
					}
					e.setDone()
					if !e.done() || e.link() != link || e.first() != c.first || e.stream() != st {
						t.Fatalf("setDone changed more than done: %+v", e)
					}
				}
			}
		}
	}
	if n := unsafe.Sizeof(pendingLine{}); n != 16 {
		t.Fatalf("pendingLine is %d bytes, want 16", n)
	}
}
