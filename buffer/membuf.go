package buffer

// The memory buffer's storage: pointer-free slim records, built into
// Records only to send or acknowledge them, and storage kept for reuse.

// appendSlimLocked stores r in a memory chunk: its message in the arena, the
// rest in a pointer-free slimRec, so that the garbage collector does not
// scan the queued records (Records is built only to send them).
func (b *Buffer) appendSlimLocked(ch *chunk, r *Record, room int) {
	msg, blk, off := ch.arena.allocAt(len(r.Message), room, &b.blocks)
	copy(msg, r.Message)
	if n := len(ch.slim); n == cap(ch.slim) {
		want := b.growTarget(ch, n)
		var grown []slimRec
		if c := cap(b.spareSlim); c >= want && c <= 2*want {
			grown, b.spareSlim = b.spareSlim[:n], nil
		} else {
			grown = make([]slimRec, n, want)
		}
		copy(grown, ch.slim)
		ch.slim = grown
	}
	ch.slim = append(ch.slim, slimRec{time: r.Time, source: r.Source, offset: r.Offset,
		blk: uint32(blk), off: uint32(off), n: uint32(len(msg)), tag: ch.tagIndex(r.Tag)})
	ch.c.Bytes += len(msg)
	ch.nrec++
}

// materializeLocked builds the Records of a memory chunk from its slim
// records (nothing to do if they exist, or for a file chunk, which has no
// slim records).
func (b *Buffer) materializeLocked(ch *chunk) {
	if ch.c.Records != nil || len(ch.slim) == 0 {
		return
	}
	var recs []Record
	if cap(b.spare) >= len(ch.slim) {
		recs, b.spare = b.spare[:len(ch.slim)], nil
	} else {
		recs = make([]Record, len(ch.slim))
	}
	for i := range ch.slim {
		sr := &ch.slim[i]
		blk := ch.arena.blocks[sr.blk]
		recs[i] = Record{Time: sr.time, Tag: ch.tags[sr.tag], Key: ch.c.Key, Source: sr.source, Offset: sr.offset,
			Message: blk[sr.off : sr.off+sr.n : sr.off+sr.n]}
	}
	ch.c.Records = recs
}

// unmaterializeLocked drops the Records of a memory chunk that no attempt
// delivered in part (a retry builds them again, in the original order). A
// file chunk, which has no slim records, keeps its Records.
func (b *Buffer) unmaterializeLocked(ch *chunk) {
	if len(ch.slim) == 0 || ch.c.Sent > 0 || ch.c.Records == nil {
		return
	}
	b.keepSpareLocked(ch.c.Records)
	ch.c.Records = nil
}

func (b *Buffer) keepSpareLocked(recs []Record) {
	if cap(recs) > cap(b.spare) {
		clear(recs[:cap(recs)])
		b.spare = recs[:0]
	}
}

// recycle keeps the storage of a released memory chunk for the next chunks:
// nothing refers to its records any more (Sender and Acker do not keep them).
func (b *Buffer) recycle(ch *chunk) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blocks.put(&ch.arena, b.poolRoom())
	if ch.c.Records != nil {
		b.keepSpareLocked(ch.c.Records)
		ch.c.Records = nil
	}
	if cap(ch.slim) > cap(b.spareSlim) {
		b.spareSlim = ch.slim[:0]
	}
	ch.slim, ch.tags = nil, nil
}
