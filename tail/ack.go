package tail

import "sort"

// tracker turns out-of-order line acknowledgements into a per-file low-water
// mark. Every emitted line (and every run of bytes consumed without a line,
// such as the discarded rest of a truncated line) is queued with its end
// offset and its resume offset: the offset a restart may safely resume from
// once this entry and every earlier one are done. resume is below off when a
// fragment of an unfinished line of another stream started before off.
// Offsets and seqs only grow within one tracker, so Ack is a binary search.
//
// A tracker is guarded by Watcher.mu.
type tracker struct {
	q     []pendingLine
	head  int
	seq   uint64
	pos   int64                // committed position: resume of the last done entry of the done prefix
	links map[uint64][]linkRef // by seq: entries in other files done when this one is acked (rare)
}

// pendingLine is pointer-free so the queue costs no GC work.
type pendingLine struct {
	off    int64
	resume int64
	seq    uint64
	done   bool
	link   bool // completed through another file's line (links), never acked directly
}

// linkRef names an entry of another file that depends on this line: the
// earlier fragments of a line that ended in a newer file (a P at the end of a
// rotated file, its F at the start of the new one).
type linkRef struct {
	f   *file
	seq uint64
}

// push queues an entry and returns its seq. off is raised to the last queued
// off if needed (link entries may name an earlier fragment end).
func (t *tracker) push(off, resume int64, done, link bool, links []linkRef) uint64 {
	if n := len(t.q); n > t.head && t.q[n-1].off > off {
		off = t.q[n-1].off
	}
	t.seq++
	t.q = append(t.q, pendingLine{off: off, resume: resume, seq: t.seq, done: done, link: link})
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
			if links = t.links[q[i].seq]; links != nil {
				delete(t.links, q[i].seq)
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
	q := t.q[t.head:]
	i := sort.Search(len(q), func(i int) bool { return q[i].seq >= seq })
	if i < len(q) && q[i].seq == seq {
		q[i].done = true
		t.advance()
	}
}

// unpush removes the last n entries (a batch its handler did not take).
func (t *tracker) unpush(n int) {
	if n > len(t.q)-t.head {
		n = len(t.q) - t.head
	}
	for _, e := range t.q[len(t.q)-n:] {
		delete(t.links, e.seq)
	}
	t.q = t.q[:len(t.q)-n]
}

func (t *tracker) advance() {
	for t.head < len(t.q) && t.q[t.head].done {
		t.pos = t.q[t.head].resume
		t.head++
	}
	if t.head == len(t.q) {
		t.q = t.q[:0]
		t.head = 0
	} else if t.head > 1024 && t.head > len(t.q)/2 {
		n := copy(t.q, t.q[t.head:])
		t.q = t.q[:n]
		t.head = 0
	}
}

// pending reports the number of entries not yet done.
func (t *tracker) pending() int { return len(t.q) - t.head }

// lastOff returns the off of the newest queued entry, or pos.
func (t *tracker) lastOff() int64 {
	if n := len(t.q); n > t.head {
		return t.q[n-1].off
	}
	return t.pos
}
