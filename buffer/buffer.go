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
//
// Files: buffer.go stages and queues chunks (Add, enqueue, remove, ack);
// chunk.go holds the chunk, its state and its arena; flush.go sends and
// settles; run.go runs the threads and shuts down; membuf.go is the memory
// buffer's record storage, diskbuf.go the file buffer's paths (fsync,
// degradation on a full disk, read-back, Recover) and disk.go its segment
// format and directory.
package buffer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
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

	fullBytes  int64         // ChunkFullThreshold × ChunkLimitSize
	maxCost    int64         // the largest costOf a record may have (the file buffer's frame limit)
	overhead   int64         // bytes counted per record on top of costOf (memory buffer)
	fullRecs   int           // ChunkFullThreshold × ChunkLimitRecords, 0 if unlimited
	memBound   int64         // Config.MemoryBound: the most memory-only file chunks hold
	fsyncEvery time.Duration // Config.FsyncInterval for the file buffer, else 0

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
		b.maxCost = maxPayload + frameOverhead
		b.fsyncEvery = cfg.FsyncInterval
	} else {
		b.maxCost = math.MaxInt64
		b.overhead = max(cfg.RecordOverhead, 0)
		// Free blocks may fill what the chunks leave of the bound
		// (poolRoom): a buffer whose chunks are released together (many
		// streams flushed at once) reuses all of them.
		b.blocks.limit = int(min(b.memBound, math.MaxInt32))
	}
	return b, nil
}

// poolRoom is how many bytes of free arena blocks the memory buffer may
// keep: what its chunks leave of the bound, plus one chunk's worth. Chunks
// are counted by their records' bytes, their blocks by capacity (up to
// twice as much in a chunk's last block), so without the extra chunk a
// buffer held at its bound by back-pressure would let go of the larger
// blocks it needs next at every Add.
func (b *Buffer) poolRoom() int {
	return int(max(b.memBound-b.total, 0) + min(b.cfg.ChunkLimitSize, maxBlock*8))
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
		if c > b.maxCost {
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
	if b.blocks.bytes > 0 {
		b.blocks.trim(b.poolRoom())
	}
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
	} else {
		b.appendFrameLocked(ch, r, int(cost), room)
	}
	ch.cost += cost
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
	b.queue = append(b.queue, ch)
	b.nwaiting++
	if b.disk == nil {
		ch.state = chunkReady
		return
	}
	b.enqueueFileLocked(ch)
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

// release acknowledges whatever of a removed chunk is not yet acknowledged,
// then keeps its storage for reuse (memory buffer) or deletes its segment
// (file buffer).
func (b *Buffer) release(ch *chunk) {
	b.ackUpTo(ch, -1)
	if b.disk == nil {
		b.recycle(ch)
	} else {
		b.removeSegment(ch)
	}
}

// ackUpTo acknowledges ch's records up to n (-1: all, and the pending ones)
// and reports whether it gave the acker any.
func (b *Buffer) ackUpTo(ch *chunk, n int) bool {
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
		return false
	}
	if len(recs) > 0 {
		b.acker.Ack(recs)
	}
	if len(pend) > 0 {
		b.acker.Ack(pend)
	}
	return len(recs) > 0 || len(pend) > 0
}

// commit tells the acker, if it is a Committer, that the acknowledgements
// made so far are a complete durable round. Under ackMu, so it is ordered
// after every Ack that began before it.
func (b *Buffer) commit() {
	c, ok := b.acker.(Committer)
	if !ok {
		return
	}
	b.ackMu.Lock()
	defer b.ackMu.Unlock()
	c.Commit()
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
