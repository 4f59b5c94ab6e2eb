// Package buffer holds logship's record type and its buffered output stage:
// Fluentd's chunk, queue, flush and retry semantics (v1 <buffer> parameters,
// which the config package maps, v0.12 names included), in memory or in
// append-only segment files.
//
// Records for one destination (Record.Key) are appended to that key's staged
// chunk; a chunk is enqueued when it is full (ChunkLimitSize,
// ChunkLimitRecords, ChunkFullThreshold), when it is FlushInterval old
// (interval mode), after every Add (immediate mode) or at shutdown. Flush
// threads send queued chunks through a Sender; a chunk that fails is retried
// on its own schedule (exponential backoff with jitter), and one that fails
// permanently or runs out of retries is written to the dead-letter directory
// — Fluentd drops the whole queue instead.
//
// Acknowledgement: the Acker hears about every record exactly once, when it
// is delivered (memory buffer) or fsynced into a segment (file buffer) — or
// when it is deliberately dropped or dead-lettered (counted in Stats) — so the
// tailer can advance its checkpoints without losing data on a crash. Ack calls
// are never concurrent, but they come from several goroutines, Add's among
// them (a file chunk is fsynced inside Add when Run is not running), so Ack
// must not wait for the producer.
//
// After a crash (kill -9) the file buffer re-queues every chunk it had on disk.
// Nothing acknowledged is lost; the duplicates are the chunks a Sender had
// delivered (wholly or in part: Chunk.Sent is not persisted) but the buffer
// had not yet removed, plus at most one fsync batch written but not yet
// acknowledged, which the tailer sends again. With the memory buffer nothing
// undelivered was acknowledged, so the tailer re-reads it.
//
// Lifecycle: New does no work. Run recovers the file buffer, starts the flush
// threads and timers, and on cancellation stops accepting records and does
// the final flush under Config.ShutdownTimeout. The methods Run's loops call —
// EnqueueDue, FlushReady, Sync, Flush, Shutdown — are public and synchronous,
// so tests drive the buffer with a fake Clock instead of sleeping.
package buffer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Sentinel errors of Add and Shutdown.
var (
	// ErrClosed is returned by Add once the buffer is shutting down.
	ErrClosed = errors.New("buffer closed")
	// ErrOverflow is returned by Add with overflow_action throw_exception
	// when the batch does not fit; none of its records was accepted.
	ErrOverflow = errors.New("buffer overflow")
	// ErrRecordTooLarge is returned by Add for a record the file buffer
	// cannot encode (payload over 1 GiB); no record of the batch was accepted.
	ErrRecordTooLarge = errors.New("record too large")
	// ErrLocked is returned (wrapped) by Recover when another process holds
	// the file buffer's directory (its lock file, <Path>/.lock). Run waits
	// for the lock instead.
	ErrLocked = errors.New("buffer directory in use by another process")
	// ErrUndelivered is returned (wrapped) by Flush and Shutdown when chunks
	// remain in a memory buffer. Their records were not acknowledged.
	ErrUndelivered = errors.New("chunks not delivered")
)

// Stats is a snapshot of the buffer's gauges and counters.
type Stats struct {
	StagedChunks   int   // open chunks
	StagedBytes    int64 // their bytes (as counted against the limits)
	QueuedChunks   int   // closed chunks, in flight and retrying included
	QueuedBytes    int64
	InFlightChunks int   // chunks being sent
	TotalBytes     int64 // staged + queued, compared with TotalLimitSize

	ChunksFlushed  uint64 // chunks delivered
	RecordsFlushed uint64
	BytesFlushed   uint64 // message bytes delivered
	SendErrors     uint64 // failed Send attempts
	Retries        uint64 // retries scheduled

	DeadLetterChunks  uint64 // chunks written to the dead-letter directory
	DeadLetterRecords uint64
	// DroppedOverflowChunks and DroppedOverflowRecords count what
	// drop_oldest_chunk discarded.
	DroppedOverflowChunks  uint64
	DroppedOverflowRecords uint64
	// DroppedDeadLetterRecords counts records that should have been
	// dead-lettered but could not be written (no directory, I/O error).
	DroppedDeadLetterRecords uint64
	// OverflowEvents counts Add calls that found the buffer full.
	OverflowEvents uint64
	// EnqueuedForSpace counts staged chunks enqueued before they were full
	// or due because an Add was blocked on a full buffer.
	EnqueuedForSpace uint64
	// SlowFlushes counts Sends slower than SlowFlushLogThreshold.
	SlowFlushes uint64

	// File buffer.
	Fsyncs     uint64 // segment fsyncs
	DiskErrors uint64 // failed segment writes (the chunk stays in memory)
	// DiskFull is set from a failed segment write (ENOSPC, EIO, …) until a
	// write succeeds again. Meanwhile chunks are kept in memory up to
	// Config.MemoryBound (MemoryOnlyBytes), then Add blocks.
	DiskFull bool
	// MemoryOnlyBytes are the bytes of file chunks held in memory only.
	MemoryOnlyBytes int64
	// DiskFullBlocks counts Add calls that waited for memory-only chunks
	// to be delivered.
	DiskFullBlocks   uint64
	RecoveredChunks  uint64 // chunks re-queued from disk by Recover
	RecoveredRecords uint64
	TornHeaders      uint64 // segments that ended inside the header (removed)
	TornTails        uint64 // segments whose torn last record was truncated
	CorruptChunks    uint64 // segments quarantined as .bad
	SalvagedRecords  uint64 // records before the damage in a corrupt segment, re-queued
	LostRecords      uint64 // records of acknowledged chunks found corrupt when sent
}

// Buffer is the buffered output stage. Its methods are safe for concurrent
// use. Mutable state is guarded by mu; a chunk's segment file is written only
// under that chunk's ioMu (lock order: syncMu, ioMu, ackMu, mu).
type Buffer struct {
	cfg   Config
	send  Sender
	acker Acker
	log   *zap.Logger
	clock Clock
	retry retryPolicy
	disk  *disk // nil for the memory buffer

	fullBytes int64 // ChunkFullThreshold × ChunkLimitSize
	overhead  int64 // bytes counted per record on top of costOf (memory buffer)
	fullRecs  int   // ChunkFullThreshold × ChunkLimitRecords, 0 if unlimited
	memBound  int64 // Config.MemoryBound: the most memory-only file chunks hold

	ackMu sync.Mutex // serialises Acker calls
	// syncMu serialises segment writes so that a key's chunks are written,
	// and acknowledged, in the order they were created (syncq before open
	// chunks): at most one sync batch is ever durable but unacknowledged.
	syncMu sync.Mutex
	// syncKick wakes Run's syncer, which fsyncs the chunks Add enqueued so
	// that producers fill the next chunk while the last one is fsynced.
	syncKick chan struct{}

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every change
	open      map[StreamKey]*chunk
	queue     []*chunk // closed chunks, oldest first
	syncq     []*chunk // file chunks enqueued but not yet fsynced
	total     int64
	memOnly   int64 // bytes of file chunks whose segment could not be written
	diskFull  bool  // the last segment write failed
	nwaiting  int   // queued chunks not in flight
	pinned    int   // ready file chunks kept in memory
	closed    bool
	bgSync    bool // Run's syncer is running: Add leaves fsyncs to it
	recovered bool
	scratch   []*chunk
	seenKeys  map[StreamKey]struct{} // takeLocked's scratch
	blocks    blockPool              // arena blocks of delivered chunks (memory buffer)
	spare     []Record               // records slice of a delivered chunk, cleared (memory buffer)
	spareSlim []slimRec              // slim records slice of a delivered chunk
	seq       uint32                 // chunk id suffix: random start, then counting
	st        Stats
}

// New returns a buffer that sends chunks through s and acknowledges records to
// ack (nil: no acknowledgements). log may be nil; clock nil means the system
// clock. New validates cfg and fills its defaults; it starts nothing and
// touches no file.
func New(cfg Config, s Sender, ack Acker, log *zap.Logger, clock Clock) (*Buffer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.New("buffer: nil sender")
	}
	if log == nil {
		log = zap.NewNop()
	}
	if clock == nil {
		clock = SystemClock()
	}
	cfg = cfg.withDefaults()
	b := &Buffer{
		cfg:       cfg,
		send:      s,
		acker:     ack,
		log:       log,
		clock:     clock,
		retry:     newRetryPolicy(cfg),
		fullBytes: int64(cfg.ChunkFullThreshold * float64(cfg.ChunkLimitSize)),
		memBound:  cfg.MemoryBound(),
		changed:   make(chan struct{}),
		open:      make(map[StreamKey]*chunk),
		seenKeys:  make(map[StreamKey]struct{}),
		seq:       rand.Uint32() >> 1,
		syncKick:  make(chan struct{}, 1),
	}
	if cfg.ChunkLimitRecords > 0 {
		b.fullRecs = max(1, int(cfg.ChunkFullThreshold*float64(cfg.ChunkLimitRecords)))
	}
	if cfg.Type == TypeFile {
		b.disk = &disk{dir: cfg.Path}
	} else {
		b.overhead = max(cfg.RecordOverhead, 0)
		b.blocks.limit = int(min(cfg.ChunkLimitSize, maxBlock*8))
	}
	return b, nil
}

// Config returns the configuration in effect (defaults filled).
func (b *Buffer) Config() Config { return b.cfg }

func (b *Buffer) notifyLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// costOf is what r counts against ChunkLimitSize: its message bytes, or for
// the file buffer its encoded size. Against TotalLimitSize a record of the
// memory buffer counts costOf plus the per-record overhead (heldOf).
func (b *Buffer) costOf(r *Record) int64 {
	if b.disk != nil {
		return int64(frameLen(r))
	}
	return int64(len(r.Message))
}

// heldOf is what ch counts against TotalLimitSize.
func (b *Buffer) heldOf(ch *chunk) int64 { return ch.cost + int64(ch.nrec)*b.overhead }

// Add appends formatted records (Key and Message set; Fields is ignored) to
// the staged chunks of their keys. Message bytes are copied into chunk-owned
// storage, so the caller may reuse them once Add returns. The hand-off is
// atomic: either every record is accepted, or none is and the error says why
// (ErrOverflow, ErrClosed, ErrRecordTooLarge, or ctx's error while blocked by
// overflow_action block). A batch larger than TotalLimitSize is accepted when
// the buffer is empty.
func (b *Buffer) Add(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	var cost int64
	for i := range recs {
		c := b.costOf(&recs[i])
		if b.disk != nil && c-frameOverhead > maxPayload {
			return fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, c)
		}
		cost += c + b.overhead
	}
	var gone []*chunk
	defer func() {
		for _, ch := range gone {
			b.release(ch)
		}
	}()
	b.mu.Lock()
	counted := false
	for {
		if b.closed {
			b.mu.Unlock()
			return ErrClosed
		}
		fits := b.total == 0 || b.total+cost <= b.cfg.TotalLimitSize
		// A full disk: file chunks stay in memory, up to the memory bound;
		// beyond it, wait (back-pressure) until they are delivered.
		memFull := b.memOnly > 0 && b.memOnly+b.stagedOnDiskLocked()+cost > b.memBound
		if fits && !memFull {
			break
		}
		if !counted {
			if memFull {
				b.st.DiskFullBlocks++
			} else {
				b.st.OverflowEvents++
			}
			counted = true
		}
		switch b.cfg.OverflowAction {
		case OverflowThrowException:
			b.mu.Unlock()
			return ErrOverflow
		case OverflowDropOldestChunk:
			if ch := b.oldestDroppableLocked(); ch != nil {
				b.removeLocked(ch)
				b.st.DroppedOverflowChunks++
				b.st.DroppedOverflowRecords += uint64(ch.nrec - ch.c.Sent)
				b.log.Warn("buffer full: dropped oldest chunk", zap.String("chunk", ch.c.ID),
					zap.Stringer("key", ch.c.Key), zap.Int("records", ch.nrec-ch.c.Sent))
				gone = append(gone, ch)
				continue
			}
		}
		// Staged chunks may hold the whole bound (one per stream, none
		// full or due yet): waiting for the interval timer to enqueue them
		// would pace reading at one bound per FlushThreadInterval. Enqueue
		// the oldest so the flush threads free space now.
		b.enqueueForSpaceLocked()
		ch := b.changed
		pending := len(b.syncq) > 0
		b.mu.Unlock()
		if pending {
			b.drainSync()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
		b.mu.Lock()
	}

	now := b.clock.Now()
	waiting := b.nwaiting
	immediate := b.cfg.FlushMode == FlushModeImmediate
	touched := b.scratch[:0]
	var cur *chunk
	for i := range recs {
		r := &recs[i]
		c := b.costOf(r)
		if cur == nil || cur.state != chunkStaged || cur.c.Key != r.Key {
			if cur = b.open[r.Key]; cur == nil {
				cur = b.newChunkLocked(r.Key, now)
			}
		}
		if cur.nrec > 0 && (cur.cost+c > b.cfg.ChunkLimitSize ||
			(b.cfg.ChunkLimitRecords > 0 && cur.nrec >= b.cfg.ChunkLimitRecords)) {
			b.enqueueLocked(cur)
			cur = b.newChunkLocked(r.Key, now)
		}
		b.appendLocked(cur, r, c)
		if cur.diskFailed {
			b.memOnly += c
		}
		switch {
		case cur.cost >= b.fullBytes || (b.fullRecs > 0 && cur.nrec >= b.fullRecs):
			b.enqueueLocked(cur)
		case immediate && (len(touched) == 0 || touched[len(touched)-1] != cur):
			touched = append(touched, cur)
		}
	}
	for _, ch := range touched {
		if ch.state == chunkStaged {
			b.enqueueLocked(ch)
		}
	}
	clear(touched)
	b.scratch = touched[:0]
	b.total += cost
	if b.nwaiting != waiting {
		b.notifyLocked() // wake the flush threads
	}
	bg, pending := b.bgSync, len(b.syncq) > 0
	b.mu.Unlock()
	switch {
	case !pending:
	case bg:
		select {
		case b.syncKick <- struct{}{}:
		default:
		}
	default:
		b.drainSync()
	}
	return nil
}

// enqueueForSpaceLocked is called by an Add blocked on a full buffer: it
// enqueues staged chunks, oldest first, until FlushThreadCount chunks wait
// to be sent or none is staged, and wakes the flush threads. Delivering them
// frees the space Add waits for. Each is the newest chunk of its key, so
// queue order per key is kept.
func (b *Buffer) enqueueForSpaceLocked() {
	n := 0
	for b.nwaiting < b.cfg.FlushThreadCount {
		var old *chunk
		for _, ch := range b.open {
			if ch.nrec > 0 && (old == nil || ch.created.Before(old.created) ||
				(ch.created.Equal(old.created) && ch.c.ID < old.c.ID)) {
				old = ch
			}
		}
		if old == nil {
			break
		}
		b.enqueueLocked(old)
		b.st.EnqueuedForSpace++
		n++
	}
	if n > 0 {
		b.notifyLocked()
	}
}

// stagedOnDiskLocked returns the bytes of the staged file chunks not yet
// memory-only: they become memory-only if their segment write fails too.
// Add calls it only while memory-only chunks exist (a full disk).
func (b *Buffer) stagedOnDiskLocked() int64 {
	var n int64
	for _, ch := range b.open {
		if !ch.diskFailed {
			n += ch.cost
		}
	}
	return n
}

func (b *Buffer) newChunkLocked(key StreamKey, now time.Time) *chunk {
	b.seq++
	ch := &chunk{
		c:        Chunk{ID: fmt.Sprintf("%016x%08x", uint64(now.UnixNano()), b.seq), Key: key},
		created:  now,
		resident: true,
	}
	b.open[key] = ch
	return ch
}

// appendLocked copies r into ch's arena.
func (b *Buffer) appendLocked(ch *chunk, r *Record, cost int64) {
	// The arena grows by blocks no larger than what the chunk may still
	// take, so its capacity stays close to ChunkLimitSize.
	room := int(max(b.cfg.ChunkLimitSize-ch.cost, 0))
	if b.disk == nil {
		b.appendSlimLocked(ch, r, room)
		ch.cost += cost
		return
	}
	msg := putFrame(ch.arena.alloc(int(cost), room, nil), r)
	if n := len(ch.c.Records); n == cap(ch.c.Records) {
		ch.c.Records = b.growRecords(ch, n)
	}
	ch.c.Records = append(ch.c.Records, Record{
		Time: r.Time, Tag: r.Tag, Key: r.Key, Message: msg, Source: r.Source, Offset: r.Offset,
	})
	ch.c.Bytes += len(msg)
	ch.cost += cost
	ch.nrec++
}

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
// records (nothing to do if they exist).
func (b *Buffer) materializeLocked(ch *chunk) {
	if b.disk != nil || ch.c.Records != nil || len(ch.slim) == 0 {
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
// delivered in part (a retry builds them again, in the original order).
func (b *Buffer) unmaterializeLocked(ch *chunk) {
	if b.disk != nil || ch.c.Sent > 0 || ch.c.Records == nil {
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

// growTarget is the capacity a chunk's record slice grows to from n.
func (b *Buffer) growTarget(ch *chunk, n int) int {
	want := max(16, 2*n)
	if n > 0 && ch.cost > 0 {
		per := max(ch.cost/int64(n), 1)
		more := int(max(b.cfg.ChunkLimitSize-ch.cost, 0)/per) + 1
		want = max(16, min(want, n+more+more/8))
	}
	if lim := b.cfg.ChunkLimitRecords; lim > 0 {
		want = max(n+1, min(want, lim))
	}
	return want
}

// growRecords returns ch's records in a larger slice: room for the records
// the chunk may still take at its average record size (an eighth more for
// variance), at most twice as many as now, so that a full chunk's slice is
// not mostly empty (append would grow by 1.25×, copying too often).
func (b *Buffer) growRecords(ch *chunk, n int) []Record {
	grown := make([]Record, n, b.growTarget(ch, n))
	copy(grown, ch.c.Records)
	return grown
}

// enqueueLocked closes a staged chunk and appends it to the queue. A file
// chunk becomes ready once drainSync has fsynced it.
func (b *Buffer) enqueueLocked(ch *chunk) {
	if b.open[ch.c.Key] == ch {
		delete(b.open, ch.c.Key)
	}
	ch.state = chunkSyncing
	b.queue = append(b.queue, ch)
	b.nwaiting++
	switch {
	case b.disk == nil:
		ch.state = chunkReady
	case ch.diskFailed:
		b.degradeLocked(ch)
	default:
		b.syncq = append(b.syncq, ch)
	}
}

// degradeLocked makes a queued file chunk whose segment could not be written
// sendable from memory; its unacknowledged records are acknowledged when it
// leaves the buffer, as with the memory buffer.
func (b *Buffer) degradeLocked(ch *chunk) {
	ch.pendAck = append(ch.pendAck, ch.c.Records[ch.acked:ch.nrec]...)
	ch.acked = ch.nrec
	ch.state = chunkReady
}

// removeLocked takes ch out of the buffer. The caller then calls release.
func (b *Buffer) removeLocked(ch *chunk) {
	if i := slices.Index(b.queue, ch); i >= 0 {
		b.queue = slices.Delete(b.queue, i, i+1)
		if ch.state != chunkInFlight {
			b.nwaiting--
		}
	}
	if b.open[ch.c.Key] == ch {
		delete(b.open, ch.c.Key)
	}
	if ch.pin {
		b.pinned--
		ch.pin = false
	}
	ch.state = chunkGone
	if ch.diskFailed {
		b.memOnly -= ch.cost
	}
	b.total -= b.heldOf(ch)
	b.notifyLocked()
}

// release acknowledges whatever of a removed chunk is not yet acknowledged
// and deletes its segment.
func (b *Buffer) release(ch *chunk) {
	b.ackUpTo(ch, -1)
	if b.disk == nil {
		// Nothing refers to the chunk's records any more (Sender and Acker
		// do not keep them): keep its storage for the next chunks.
		b.mu.Lock()
		b.blocks.put(&ch.arena)
		if ch.c.Records != nil {
			b.keepSpareLocked(ch.c.Records)
			ch.c.Records = nil
		}
		if cap(ch.slim) > cap(b.spareSlim) {
			b.spareSlim = ch.slim[:0]
		}
		ch.slim, ch.tags = nil, nil
		b.mu.Unlock()
		return
	}
	ch.ioMu.Lock()
	b.mu.Lock()
	onDisk := ch.onDisk
	b.mu.Unlock()
	var err error
	if onDisk {
		err = b.disk.remove(ch.c.ID)
	}
	ch.ioMu.Unlock()
	if err != nil {
		b.log.Error("buffer: remove segment", zap.String("chunk", ch.c.ID), zap.Error(err))
	}
}

// ackUpTo acknowledges ch's records up to n (-1: all, and the pending ones).
func (b *Buffer) ackUpTo(ch *chunk, n int) {
	b.ackMu.Lock()
	defer b.ackMu.Unlock()
	b.mu.Lock()
	all := n < 0
	if all {
		n = ch.nrec
	}
	var recs, pend []Record
	if n > ch.acked {
		b.materializeLocked(ch)
		recs = ch.c.Records[ch.acked:n]
		ch.acked = n
	}
	if all {
		pend, ch.pendAck = ch.pendAck, nil
	}
	b.mu.Unlock()
	if b.acker == nil {
		return
	}
	if len(recs) > 0 {
		b.acker.Ack(recs)
	}
	if len(pend) > 0 {
		b.acker.Ack(pend)
	}
}

// oldestDroppableLocked returns the oldest chunk drop_oldest_chunk may discard:
// a queued chunk that is not being sent or written, else a staged chunk.
func (b *Buffer) oldestDroppableLocked() *chunk {
	for _, ch := range b.queue {
		if ch.state == chunkReady {
			return ch
		}
	}
	var old *chunk
	for _, ch := range b.open {
		if old == nil || ch.created.Before(old.created) || (ch.created.Equal(old.created) && ch.c.ID < old.c.ID) {
			old = ch
		}
	}
	return old
}

// drainSync fsyncs the file chunks enqueued so far, making them ready.
func (b *Buffer) drainSync() {
	if b.disk == nil {
		return
	}
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	b.drainSyncLocked()
}

func (b *Buffer) drainSyncLocked() {
	for {
		b.mu.Lock()
		q := b.syncq
		b.syncq = nil
		b.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, ch := range q {
			b.syncChunk(ch)
		}
	}
}

// syncChunk writes ch's unwritten records to its segment, fsyncs, and
// acknowledges them (the caller holds syncMu); a queued chunk whose records
// are all durable becomes ready to send. A write error degrades the chunk to
// memory-only.
func (b *Buffer) syncChunk(ch *chunk) {
	ch.ioMu.Lock()
	defer ch.ioMu.Unlock()
	b.mu.Lock()
	if ch.state == chunkGone || ch.diskFailed {
		b.mu.Unlock()
		return
	}
	n := ch.nrec
	var bufs [][]byte
	var hdr []byte
	var herr error
	create := !ch.onDisk
	if n > ch.synced {
		bufs = ch.arena.takeUnwritten(nil)
		if create {
			hdr, herr = appendSegmentHeader(nil, ch.created.UnixNano(), ch.c.Key)
		}
	}
	b.mu.Unlock()

	if n > 0 && len(bufs) > 0 {
		err := herr
		if err == nil {
			err = b.disk.write(ch.c.ID, create, hdr, bufs)
		}
		b.mu.Lock()
		if err != nil {
			ch.diskFailed = true
			ch.onDisk = ch.onDisk || create // a partial file may exist: remove it with the chunk
			b.memOnly += ch.cost
			b.st.DiskErrors++
			first := !b.diskFull
			b.diskFull = true
			if ch.state == chunkSyncing {
				b.degradeLocked(ch)
			}
			b.notifyLocked()
			b.mu.Unlock()
			if first {
				b.log.Error("buffer: segment write failed (disk full?); chunks kept in memory up to the memory bound, then reading blocks until they are delivered",
					zap.String("dir", b.disk.dir), zap.String("chunk", ch.c.ID), zap.Int64("memory_bound_bytes", b.memBound), zap.Error(err))
			} else {
				b.log.Debug("buffer: segment write failed; chunk kept in memory", zap.String("chunk", ch.c.ID), zap.Error(err))
			}
			return
		}
		if b.diskFull {
			b.diskFull = false
			b.log.Info("buffer: segment writes succeed again", zap.String("dir", b.disk.dir))
		}
		ch.onDisk = true
		ch.synced = n
		b.st.Fsyncs++
		b.mu.Unlock()
		b.ackUpTo(ch, n)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if ch.state != chunkSyncing || ch.synced < ch.nrec {
		return
	}
	ch.state = chunkReady
	if b.pinned < 2*b.cfg.FlushThreadCount {
		b.pinned++
		ch.pin = true
	} else {
		b.dropRecordsLocked(ch)
	}
	b.notifyLocked()
}

// dropRecordsLocked frees the in-memory copy of a fsynced file chunk that is
// not being sent; it is read back from its segment when sent.
func (b *Buffer) dropRecordsLocked(ch *chunk) {
	if ch.state == chunkInFlight || ch.diskFailed || !ch.onDisk || ch.synced < ch.nrec || ch.c.Sent > 0 {
		return
	}
	ch.c.Records = nil
	ch.arena = arena{}
	ch.resident = false
}

// EnqueueDue enqueues, in interval mode, the staged chunks at least
// FlushInterval old, oldest first, stopping while QueuedChunksLimitSize
// chunks wait in the queue. It returns how many it enqueued. Run calls it
// every max(FlushThreadInterval, FlushInterval/11).
func (b *Buffer) EnqueueDue() int {
	if b.cfg.FlushMode != FlushModeInterval {
		return 0
	}
	return b.enqueue(func(ch *chunk, now time.Time) bool {
		return !now.Before(ch.created.Add(b.cfg.FlushInterval)) && b.nwaiting < b.cfg.QueuedChunksLimitSize
	})
}

// EnqueueAll enqueues every staged chunk and returns how many.
func (b *Buffer) EnqueueAll() int {
	return b.enqueue(func(*chunk, time.Time) bool { return true })
}

func (b *Buffer) enqueue(due func(*chunk, time.Time) bool) int {
	b.mu.Lock()
	now := b.clock.Now()
	cands := b.scratch[:0]
	for _, ch := range b.open {
		cands = append(cands, ch)
	}
	sort.Slice(cands, func(i, j int) bool {
		if !cands[i].created.Equal(cands[j].created) {
			return cands[i].created.Before(cands[j].created)
		}
		return cands[i].c.ID < cands[j].c.ID
	})
	n := 0
	for _, ch := range cands {
		if !due(ch, now) {
			continue
		}
		b.enqueueLocked(ch)
		n++
	}
	clear(cands)
	b.scratch = cands[:0]
	if n > 0 {
		b.notifyLocked()
	}
	b.mu.Unlock()
	b.drainSync()
	return n
}

// takeLocked marks the first sendable queued chunk in flight and returns it;
// otherwise it returns the earliest retry time pending (zero if none).
//
// Order: only the oldest queued chunk of each key may be sent. A key whose
// oldest chunk is in flight, waiting for its retry or not yet fsynced holds
// back its later chunks, so at most one request per destination is in flight
// and a retried chunk keeps its place; different keys go out in parallel.
func (b *Buffer) takeLocked(now time.Time) (*chunk, time.Time) {
	var next time.Time
	seen := b.seenKeys
	clear(seen)
	for _, ch := range b.queue {
		if _, behind := seen[ch.c.Key]; behind {
			continue
		}
		seen[ch.c.Key] = struct{}{}
		if ch.state != chunkReady {
			continue
		}
		if ch.nextTry.After(now) {
			if next.IsZero() || ch.nextTry.Before(next) {
				next = ch.nextTry
			}
			continue
		}
		ch.state = chunkInFlight
		b.nwaiting--
		return ch, time.Time{}
	}
	return nil, next
}

// FlushReady makes one attempt, one chunk at a time, to send every queued
// chunk that is ready and whose retry time has come, and returns how many it
// attempted. Run's flush threads do the same continuously.
func (b *Buffer) FlushReady(ctx context.Context) int { return b.flushRound(ctx, false) }

// Flush enqueues every staged chunk and makes one attempt to send every
// queued chunk, ignoring retry times. It returns nil when the buffer is then
// empty, else an error wrapping ErrUndelivered.
func (b *Buffer) Flush(ctx context.Context) error {
	b.EnqueueAll()
	b.flushRound(ctx, true)
	return b.undelivered()
}

func (b *Buffer) undelivered() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, recs := 0, 0
	for _, ch := range b.queue {
		n++
		recs += ch.nrec - ch.c.Sent
	}
	for _, ch := range b.open {
		n++
		recs += ch.nrec
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d chunks, %d records", ErrUndelivered, n, recs)
}

func (b *Buffer) flushRound(ctx context.Context, ignoreWait bool) int {
	// Candidates in queue order: every sendable chunk not behind an earlier
	// chunk of its key that cannot be sent now. A candidate is attempted only
	// if every earlier chunk of its key was delivered in this round, which
	// keeps the order takeLocked keeps.
	b.mu.Lock()
	now := b.clock.Now()
	held := make(map[StreamKey]struct{})
	var cands []*chunk
	for _, ch := range b.queue {
		if _, ok := held[ch.c.Key]; ok {
			continue
		}
		if ch.state == chunkReady && (ignoreWait || !ch.nextTry.After(now)) {
			cands = append(cands, ch)
		} else {
			held[ch.c.Key] = struct{}{}
		}
	}
	b.mu.Unlock()
	clear(held)
	n := 0
	for _, ch := range cands {
		if ctx.Err() != nil {
			break
		}
		if _, ok := held[ch.c.Key]; ok {
			continue
		}
		b.mu.Lock()
		dead := ch.state == chunkGone
		ok := ch.state == chunkReady
		if ok {
			ch.state = chunkInFlight
			b.nwaiting--
		}
		b.mu.Unlock()
		if !ok {
			if !dead { // taken by a flush thread meanwhile
				held[ch.c.Key] = struct{}{}
			}
			continue
		}
		b.attempt(ctx, ch)
		n++
		b.mu.Lock()
		if ch.state != chunkGone {
			held[ch.c.Key] = struct{}{}
		}
		b.mu.Unlock()
	}
	return n
}

// attempt sends one chunk that the caller marked in flight, and settles it.
func (b *Buffer) attempt(ctx context.Context, ch *chunk) {
	if b.disk == nil {
		b.mu.Lock()
		b.materializeLocked(ch)
		b.mu.Unlock()
	}
	if !ch.resident {
		if err := b.load(ch); err != nil {
			b.mu.Lock()
			b.removeLocked(ch)
			b.st.CorruptChunks++
			b.st.LostRecords += uint64(ch.nrec)
			b.mu.Unlock()
			b.log.Error("buffer: segment unreadable; quarantined", zap.String("chunk", ch.c.ID),
				zap.Int("records", ch.nrec), zap.Error(err))
			return
		}
	}
	start := b.clock.Now()
	err := b.send.Send(ctx, &ch.c)
	now := b.clock.Now()
	if d := now.Sub(start); d > b.cfg.SlowFlushLogThreshold {
		b.mu.Lock()
		b.st.SlowFlushes++
		b.mu.Unlock()
		b.log.Warn("slow flush", zap.String("chunk", ch.c.ID), zap.Stringer("key", ch.c.Key),
			zap.Duration("elapsed", d), zap.Duration("threshold", b.cfg.SlowFlushLogThreshold))
	}
	b.settle(ctx, ch, err, now)
}

// load reads a file chunk's records back from its segment.
func (b *Buffer) load(ch *chunk) error {
	ch.ioMu.Lock()
	defer ch.ioMu.Unlock()
	data, err := os.ReadFile(b.disk.path(ch.c.ID))
	if err != nil {
		return fmt.Errorf("read segment: %w", err)
	}
	seg, _, err := decodeSegment(data)
	if err == nil && len(seg.recs) != ch.nrec {
		err = fmt.Errorf("%w: %d records, want %d", errCorrupt, len(seg.recs), ch.nrec)
	}
	if err != nil {
		if qerr := b.disk.quarantine(ch.c.ID); qerr != nil {
			err = errors.Join(err, qerr)
		}
		b.mu.Lock()
		ch.onDisk = false
		b.mu.Unlock()
		return err
	}
	b.mu.Lock()
	ch.c.Records = seg.recs
	ch.resident = true
	b.mu.Unlock()
	return nil
}

// settle records the outcome of a Send.
func (b *Buffer) settle(ctx context.Context, ch *chunk, err error, now time.Time) {
	b.mu.Lock()
	delivered := err == nil || ch.c.Sent >= len(ch.c.Records)
	if delivered {
		b.removeLocked(ch)
		b.st.ChunksFlushed++
		b.st.RecordsFlushed += uint64(len(ch.c.Records))
		b.st.BytesFlushed += uint64(ch.c.Bytes)
		b.mu.Unlock()
		b.release(ch)
		return
	}
	b.st.SendErrors++
	permanent := errors.Is(err, ErrPermanent)
	if !permanent && ctx.Err() != nil {
		// Cancelled by shutdown: not the chunk's failure.
		b.requeueLocked(ch, ch.nextTry)
		b.mu.Unlock()
		return
	}
	giveUp := permanent
	var at time.Time
	if !permanent {
		ch.failures++
		if ch.failures == 1 {
			ch.firstFail = now
		}
		at, giveUp = b.retry.next(ch.failures, ch.firstFail, now, rand.Float64())
	}
	if !giveUp {
		b.st.Retries++
		b.requeueLocked(ch, at)
		failures := ch.failures
		b.mu.Unlock()
		b.log.Warn("send failed; will retry", zap.String("chunk", ch.c.ID), zap.Stringer("key", ch.c.Key),
			zap.Int("failures", failures), zap.Duration("retry_in", at.Sub(now)), zap.Error(err))
		return
	}
	b.removeLocked(ch)
	b.mu.Unlock()
	b.deadLetter(ch, err, now)
}

func (b *Buffer) requeueLocked(ch *chunk, at time.Time) {
	ch.state = chunkReady
	ch.nextTry = at
	b.nwaiting++
	if !ch.pin {
		b.dropRecordsLocked(ch)
	}
	b.unmaterializeLocked(ch)
	b.notifyLocked()
}

// deadLetter writes a removed chunk's undelivered records to the dead-letter
// directory, then releases it.
func (b *Buffer) deadLetter(ch *chunk, cause error, now time.Time) {
	b.mu.Lock()
	b.materializeLocked(ch)
	b.mu.Unlock()
	recs := ch.c.Records[min(ch.c.Sent, len(ch.c.Records)):]
	var path string
	err := errors.New("no dead-letter directory configured")
	if b.cfg.DeadLetterDir != "" {
		path, err = writeDeadLetter(b.cfg.DeadLetterDir, ch.c.ID, recs, cause.Error(), now)
	}
	b.mu.Lock()
	if err == nil {
		b.st.DeadLetterChunks++
		b.st.DeadLetterRecords += uint64(len(recs))
	} else {
		b.st.DroppedDeadLetterRecords += uint64(len(recs))
	}
	b.mu.Unlock()
	b.release(ch)
	if err != nil {
		b.log.Error("chunk failed and could not be dead-lettered; records dropped",
			zap.String("chunk", ch.c.ID), zap.Stringer("key", ch.c.Key), zap.Int("records", len(recs)),
			zap.NamedError("cause", cause), zap.Error(err))
		return
	}
	b.log.Error("chunk failed; written to dead-letter file", zap.String("chunk", ch.c.ID),
		zap.Stringer("key", ch.c.Key), zap.Int("records", len(recs)), zap.String("path", path),
		zap.NamedError("cause", cause))
}

// Sync writes and fsyncs the records added to the file buffer's open chunks
// since the last Sync and acknowledges them, then fsyncs the directory if
// segments were removed. Run calls it every FsyncInterval. No-op for the
// memory buffer.
func (b *Buffer) Sync() error {
	if b.disk == nil {
		return nil
	}
	b.syncMu.Lock()
	b.drainSyncLocked()
	b.mu.Lock()
	var list []*chunk
	for _, ch := range b.open {
		if ch.nrec > ch.synced && !ch.diskFailed {
			list = append(list, ch)
		}
	}
	b.mu.Unlock()
	for _, ch := range list {
		b.syncChunk(ch)
	}
	b.drainSyncLocked()
	b.syncMu.Unlock()
	if b.disk.dirty.Load() {
		return b.disk.syncDir()
	}
	return nil
}

// Recover locks the file buffer's directory (an exclusive flock on
// <Path>/.lock, held until Shutdown or the process's end; ErrLocked if another
// process holds it) and re-queues the chunks found there (oldest first): every
// chunk that was queued or open when the previous process stopped. Their records are not acknowledged again (the previous process
// did). A segment that ends inside a record is truncated to its last whole
// record; one that ends inside its header is removed; a corrupt one is renamed
// .bad — all counted in Stats and logged, never fatal. Run calls Recover; it
// runs once, and should be called before Add so the limits see the recovered
// bytes. No-op for the memory buffer.
func (b *Buffer) Recover() error {
	if b.disk == nil {
		return nil
	}
	// Holding syncMu, no segment is created while the directory is read, so
	// every file not in known belongs to a previous process.
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	b.mu.Lock()
	done := b.recovered
	b.mu.Unlock()
	if done {
		return nil
	}
	if err := os.MkdirAll(b.disk.dir, 0o755); err != nil {
		return fmt.Errorf("buffer dir: %w", err)
	}
	if err := b.disk.lock(); err != nil {
		return err
	}
	b.mu.Lock()
	b.recovered = true
	known := make(map[string]bool)
	for _, ch := range b.open {
		known[ch.c.ID] = true
	}
	for _, ch := range b.queue {
		known[ch.c.ID] = true
	}
	b.mu.Unlock()

	ids, err := b.disk.list()
	if err != nil {
		return err
	}
	var found []*chunk
	var st Stats
	for _, id := range ids {
		if known[id] {
			continue
		}
		log := b.log.With(zap.String("chunk", id))
		path := b.disk.path(id)
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		var seg segment
		var good int
		if err == nil {
			seg, good, err = decodeSegment(data)
		}
		switch {
		case err == nil:
		case errors.Is(err, errTornHeader):
			st.TornHeaders++
			log.Warn("buffer: removing segment torn inside its header", zap.Int("size", len(data)))
			if rerr := os.Remove(path); rerr != nil {
				log.Error("buffer: remove torn segment", zap.Error(rerr))
			}
			continue
		case errors.Is(err, errTornTail):
			st.TornTails++
			log.Warn("buffer: truncating torn tail record", zap.Int("size", len(data)), zap.Int("kept", good))
			if terr := truncateFile(path, int64(good)); terr != nil {
				log.Error("buffer: truncate torn segment", zap.Error(terr))
			}
		default:
			st.CorruptChunks++
			log.Error("buffer: corrupt segment quarantined", zap.Int("salvaged_records", len(seg.recs)), zap.Error(err))
			if qerr := b.disk.quarantine(id); qerr != nil {
				log.Error("buffer: quarantine", zap.Error(qerr))
				continue
			}
			if len(seg.recs) == 0 {
				continue
			}
			// The records before the damage were acknowledged: keep them in a
			// new segment, named after the old one so it sorts in its place.
			id += "s"
			if werr := b.disk.write(id, true, encodeRecords(seg), nil); werr != nil {
				log.Error("buffer: salvage corrupt segment", zap.Error(werr))
				continue
			}
			st.SalvagedRecords += uint64(len(seg.recs))
		}
		if len(seg.recs) == 0 {
			if rerr := os.Remove(path); rerr != nil {
				log.Error("buffer: remove empty segment", zap.Error(rerr))
			}
			continue
		}
		n := len(seg.recs)
		found = append(found, &chunk{
			c:       Chunk{ID: id, Key: seg.key, Bytes: seg.bytes},
			nrec:    n,
			cost:    seg.cost,
			created: time.Unix(0, seg.created),
			state:   chunkReady,
			acked:   n,
			synced:  n,
			onDisk:  true,
			// Not resident: read back when sent.
		})
		st.RecoveredChunks++
		st.RecoveredRecords += uint64(n)
	}
	b.mu.Lock()
	b.queue = append(found, b.queue...)
	for _, ch := range found {
		b.total += b.heldOf(ch)
		b.nwaiting++
	}
	b.st.TornHeaders += st.TornHeaders
	b.st.TornTails += st.TornTails
	b.st.CorruptChunks += st.CorruptChunks
	b.st.SalvagedRecords += st.SalvagedRecords
	b.st.RecoveredChunks += st.RecoveredChunks
	b.st.RecoveredRecords += st.RecoveredRecords
	b.notifyLocked()
	b.mu.Unlock()
	if len(found) > 0 {
		b.log.Info("buffer: recovered chunks", zap.Uint64("chunks", st.RecoveredChunks),
			zap.Uint64("records", st.RecoveredRecords))
	}
	return nil
}

func truncateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Shutdown stops accepting records (Add returns ErrClosed) and, with
// FlushAtShutdown, enqueues every staged chunk and makes one attempt to send
// every queued chunk under ctx. The file buffer then fsyncs its open chunks,
// which the next Recover re-queues. It returns an error wrapping
// ErrUndelivered when a memory buffer still holds chunks (their records were
// not acknowledged: the tailer re-reads them after a restart). Run calls it
// after its flush threads have stopped.
func (b *Buffer) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.notifyLocked()
	b.mu.Unlock()
	if *b.cfg.FlushAtShutdown {
		b.EnqueueAll()
		b.flushRound(ctx, true)
	}
	if b.disk != nil {
		err := b.Sync()
		b.disk.unlock()
		return err
	}
	return b.undelivered()
}

// Run recovers the file buffer, then runs FlushThreadCount flush threads and
// the interval and fsync timers until ctx is done. It then stops accepting
// records, lets the sends in flight finish, and calls Shutdown — all within
// ShutdownTimeout, after which sends are cancelled. It returns nil after a
// shutdown, or the error that prevented it from starting.
func (b *Buffer) Run(ctx context.Context) error {
	for logged := false; ; {
		err := b.Recover()
		if err == nil {
			break
		}
		if !errors.Is(err, ErrLocked) {
			return err
		}
		// Another process (an old pod still shutting down) holds the
		// directory: wait for it.
		if !logged {
			b.log.Warn("buffer: waiting for the buffer directory", zap.Error(err))
			logged = true
		}
		select {
		case <-ctx.Done():
			return err
		case <-b.clock.After(time.Second):
		}
	}
	sendCtx, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range b.cfg.FlushThreadCount {
		wg.Go(func() { b.flushThread(sendCtx, stop) })
	}
	wg.Go(func() { b.timers(stop) })
	if b.disk != nil {
		b.mu.Lock()
		b.bgSync = true
		b.mu.Unlock()
		wg.Go(func() { b.syncer(stop) })
	}

	<-ctx.Done()
	b.mu.Lock()
	b.closed = true
	b.notifyLocked()
	b.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.ShutdownTimeout)
	defer cancel()
	defer context.AfterFunc(sctx, cancelSend)()
	close(stop)
	wg.Wait()
	b.mu.Lock()
	b.bgSync = false
	b.mu.Unlock()
	if err := b.Shutdown(sctx); err != nil {
		b.log.Warn("buffer: shutdown", zap.Error(err))
	}
	return nil
}

// flushThread sends queued chunks until stop is closed.
func (b *Buffer) flushThread(ctx context.Context, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		b.mu.Lock()
		now := b.clock.Now()
		ch, next := b.takeLocked(now)
		changed := b.changed
		b.mu.Unlock()
		if ch == nil {
			// Idle: staged chunks already due need not wait for the next
			// interval tick (QueuedChunksLimitSize let the last tick
			// enqueue only a few; draining 50 streams' staged chunks took
			// one tick per FlushThreadCount chunks). Memory buffer only:
			// file chunks keep the syncer's fsync batches (the crash test's
			// duplicate bound).
			if b.disk == nil && b.EnqueueDue() > 0 {
				continue
			}
			var timer <-chan time.Time
			if !next.IsZero() {
				timer = b.clock.After(next.Sub(now))
			}
			select {
			case <-stop:
				return
			case <-changed:
			case <-timer:
			}
			continue
		}
		b.attempt(ctx, ch)
		if d := b.cfg.FlushThreadBurstInterval; d > 0 {
			b.mu.Lock()
			more := b.nwaiting > 0
			b.mu.Unlock()
			if more {
				select {
				case <-stop:
					return
				case <-b.clock.After(d):
				}
			}
		}
	}
}

// syncer fsyncs the chunks Add enqueued, until stop.
func (b *Buffer) syncer(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-b.syncKick:
			b.drainSync()
		}
	}
}

// timers runs the interval enqueue check and the fsync timer until stop.
func (b *Buffer) timers(stop <-chan struct{}) {
	var enqC, syncC <-chan time.Time
	every := max(b.cfg.FlushThreadInterval, b.cfg.FlushInterval/11)
	if b.cfg.FlushMode == FlushModeInterval {
		enqC = b.clock.After(every)
	}
	if b.disk != nil && b.cfg.FsyncInterval > 0 {
		syncC = b.clock.After(b.cfg.FsyncInterval)
	}
	for {
		select {
		case <-stop:
			return
		case <-enqC:
			b.EnqueueDue()
			enqC = b.clock.After(every)
		case <-syncC:
			if err := b.Sync(); err != nil {
				b.log.Error("buffer: sync", zap.Error(err))
			}
			syncC = b.clock.After(b.cfg.FsyncInterval)
		}
	}
}

// Stats returns a snapshot of the gauges and counters.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.st
	for _, ch := range b.open {
		s.StagedChunks++
		s.StagedBytes += b.heldOf(ch)
	}
	for _, ch := range b.queue {
		s.QueuedChunks++
		s.QueuedBytes += b.heldOf(ch)
		if ch.state == chunkInFlight {
			s.InFlightChunks++
		}
	}
	s.TotalBytes = b.total
	s.DiskFull = b.diskFull
	s.MemoryOnlyBytes = b.memOnly
	return s
}
