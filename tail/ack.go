package tail

// tracker turns out-of-order line acknowledgements into a per-file low-water
// mark. Every emitted line (and every run of bytes consumed without a line,
// such as the discarded rest of a truncated line) is queued with its end
// offset (the ack key), its stream and the start of its first fragment in this
// file. done is the end of the last entry of the acknowledged prefix: every
// line ending at or before it was acknowledged. Offsets and seqs only grow
// within one tracker, so an ack is O(1) in order and a binary search out of
// order.
//
// The committed position (Watcher.committed) is done, lowered to the first
// fragment of any line of this file not yet acknowledged (queued entries not
// done, and unfinished lines still in the assembler), kept per stream so that a
// restart re-assembles exactly those lines and skips the rest.
//
// A tracker is guarded by Watcher.mu.
type tracker struct {
	q     []pendingLine
	head  int
	seq   uint64               // seq of the newest entry; q[i]'s is seq-(len(q)-1-i)
	done  int64                // off of the last entry of the done prefix
	links map[uint64][]linkRef // by seq: entries in other files done when this one is acked (rare)
}

// pendingLine is pointer-free so the queue costs no GC work, and small (its
// seq follows from its place in the queue): a full buffer holds one per line.
type pendingLine struct {
	off    int64
	first  int64 // start of the line's first fragment in this file
	stream Stream
	done   bool
	link   bool // completed through another file's line (links), never acked directly
}

// seqAt returns the seq of t.q[i].
func (t *tracker) seqAt(i int) uint64 { return t.seq - uint64(len(t.q)-1-i) }

// linkRef names an entry of another file that depends on this line: the
// earlier fragments of a line that ended in a newer file (a P at the end of a
// rotated file, its F at the start of the new one).
type linkRef struct {
	f   *file
	seq uint64
}

// push queues an entry and returns its seq. The off of a link or done entry
// (never acked by its off) is raised to keep offs non-decreasing; a line's own
// off only grows by construction.
func (t *tracker) push(off, first int64, stream Stream, done, link bool, links []linkRef) uint64 {
	if link || done {
		off = max(off, t.lastOff())
	}
	t.seq++
	t.q = append(t.q, pendingLine{off: off, first: first, stream: stream, done: done, link: link})
	if len(links) > 0 {
		if t.links == nil {
			t.links = map[uint64][]linkRef{}
		}
		t.links[t.seq] = links
	}
	if done {
		t.advance()
	}
	return t.seq
}

// ack marks the line ending at off done; it returns its links (to be marked
// by the caller) and whether an entry was found.
func (t *tracker) ack(off int64) ([]linkRef, bool) {
	q := t.q[t.head:]
	i := 0
	if len(q) == 0 || q[0].off != off {
		// Binary search: offs are non-decreasing.
		lo, hi := 0, len(q)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if q[m].off < off {
				lo = m + 1
			} else {
				hi = m
			}
		}
		i = lo
	}
	for ; i < len(q) && q[i].off == off; i++ {
		if q[i].link || q[i].done {
			continue
		}
		q[i].done = true
		var links []linkRef
		if t.links != nil {
			seq := t.seqAt(t.head + i)
			if links = t.links[seq]; links != nil {
				delete(t.links, seq)
			}
		}
		if i == 0 {
			t.advance()
		}
		return links, true
	}
	return nil, false
}

// ackSeq marks the entry with seq done (links resolved from another file).
func (t *tracker) ackSeq(seq uint64) {
	if len(t.q) == t.head || seq > t.seq {
		return
	}
	back := t.seq - seq // entries after it
	if back >= uint64(len(t.q)-t.head) {
		return // already left the queue
	}
	t.q[len(t.q)-1-int(back)].done = true
	t.advance()
}

func (t *tracker) advance() {
	for t.head < len(t.q) && t.q[t.head].done {
		t.done = max(t.done, t.q[t.head].off)
		t.head++
	}
	if t.head == len(t.q) {
		t.q = t.q[:0]
		t.head = 0
		// A burst's queue gives its memory back once drained. Keeping it
		// for the next burst saves its regrowth but costs more: what an
		// agent keeps beside its buffer (a burst is one file's read budget
		// of lines) is what its memory limit leaves the collector less of.
		if cap(t.q) > maxIdleQueue {
			t.q = nil
		}
	} else if t.head > 1024 && t.head > len(t.q)/2 {
		rest := t.q[t.head:]
		if cap(t.q) > maxIdleQueue && cap(t.q) > 4*len(rest) {
			t.q = append(make([]pendingLine, 0, 2*len(rest)), rest...)
		} else {
			t.q = t.q[:copy(t.q, rest)]
		}
		t.head = 0
	}
}

// maxIdleQueue is the queue capacity (entries) a tracker keeps once its
// backlog is gone; a larger one, grown by a burst, is released.
const maxIdleQueue = 1024

// pending reports the number of entries not yet done.
func (t *tracker) pending() int { return len(t.q) - t.head }

// lastOff returns the off of the newest queued entry, or (queue empty) the
// end of the acknowledged lines.
func (t *tracker) lastOff() int64 {
	if n := len(t.q); n > t.head {
		return t.q[n-1].off
	}
	return t.done
}

// holds lowers h[s] to the first fragment of every queued line of stream s
// that is not acknowledged yet.
func (t *tracker) holds(h *[3]int64) {
	for _, e := range t.q[t.head:] {
		if !e.done && (h[e.stream] < 0 || e.first < h[e.stream]) {
			h[e.stream] = e.first
		}
	}
}
