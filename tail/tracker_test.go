package tail

import "testing"

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
