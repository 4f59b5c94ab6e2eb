package buffer

// The file buffer's paths: segment writes and fsyncs, degradation to
// memory when a write fails, read-back of dropped records, recovery.

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
)

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

// appendFrameLocked stores r in a file chunk: its encoded frame in the arena
// (written out to the segment by syncChunk), its Record with Message set to
// the frame.
func (b *Buffer) appendFrameLocked(ch *chunk, r *Record, size, room int) {
	msg := putFrame(ch.arena.alloc(size, room, nil), r)
	if n := len(ch.c.Records); n == cap(ch.c.Records) {
		ch.c.Records = b.growRecords(ch, n)
	}
	ch.c.Records = append(ch.c.Records, Record{
		Time: r.Time, Tag: r.Tag, Key: r.Key, Message: msg, Source: r.Source, Offset: r.Offset,
	})
	ch.c.Bytes += len(msg)
	ch.nrec++
}

// enqueueFileLocked makes a file chunk just queued wait for drainSync to
// fsync it, or, if its segment could not be written, sendable from memory.
func (b *Buffer) enqueueFileLocked(ch *chunk) {
	ch.state = chunkSyncing
	if ch.diskFailed {
		b.degradeLocked(ch)
		return
	}
	b.syncq = append(b.syncq, ch)
}

// degradeLocked makes a queued file chunk whose segment could not be written
// sendable from memory; its unacknowledged records are acknowledged when it
// leaves the buffer, as with the memory buffer.
func (b *Buffer) degradeLocked(ch *chunk) {
	ch.pendAck = append(ch.pendAck, ch.c.Records[ch.acked:ch.nrec]...)
	ch.acked = ch.nrec
	ch.state = chunkReady
}

// removeSegment deletes the segment of a released file chunk.
func (b *Buffer) removeSegment(ch *chunk) {
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

// closeDisk fsyncs the file buffer's open chunks, which the next Recover
// re-queues, and releases the directory lock.
func (b *Buffer) closeDisk() error {
	err := b.Sync()
	b.disk.unlock()
	return err
}

// drainSync fsyncs the file chunks enqueued so far, making them ready.
func (b *Buffer) drainSync() {
	if b.disk == nil {
		return
	}
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	if b.drainSyncLocked() {
		b.commit()
	}
}

// drainSyncLocked fsyncs the enqueued file chunks until none is left and
// reports whether it acknowledged records; the caller then commits the
// round (Committer).
func (b *Buffer) drainSyncLocked() (acked bool) {
	for {
		b.mu.Lock()
		q := b.syncq
		b.syncq = nil
		b.mu.Unlock()
		if len(q) == 0 {
			return acked
		}
		for _, ch := range q {
			acked = b.syncChunk(ch) || acked
		}
	}
}

// syncChunk writes ch's unwritten records to its segment, fsyncs, and
// acknowledges them (the caller holds syncMu); a queued chunk whose records
// are all durable becomes ready to send. A write error degrades the chunk to
// memory-only, unless it left the buffer during the write. It reports
// whether it acknowledged records.
func (b *Buffer) syncChunk(ch *chunk) (acked bool) {
	ch.ioMu.Lock()
	defer ch.ioMu.Unlock()
	b.mu.Lock()
	if ch.state == chunkGone || ch.diskFailed {
		b.mu.Unlock()
		return false
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
			ch.onDisk = ch.onDisk || create // a partial file may exist: remove it with the chunk
			b.st.DiskErrors++
			first := !b.diskFull
			b.diskFull = true
			// drop_oldest_chunk may have removed a staged chunk during the
			// write: it is out of the buffer, so it is not memory-only
			// (removeLocked, which subtracts memOnly, has already run).
			if ch.state != chunkGone {
				ch.diskFailed = true
				b.memOnly += ch.cost
				if ch.state == chunkSyncing {
					b.degradeLocked(ch)
				}
			}
			b.notifyLocked()
			b.mu.Unlock()
			if first {
				b.log.Error("buffer: segment write failed (disk full?); chunks kept in memory up to the memory bound, then reading blocks until they are delivered",
					zap.String("dir", b.disk.dir), zap.String("chunk", ch.c.ID), zap.Int64("memory_bound_bytes", b.memBound), zap.Error(err))
			} else {
				b.log.Debug("buffer: segment write failed; chunk kept in memory", zap.String("chunk", ch.c.ID), zap.Error(err))
			}
			return false
		}
		if b.diskFull {
			b.diskFull = false
			b.log.Info("buffer: segment writes succeed again", zap.String("dir", b.disk.dir))
		}
		ch.onDisk = true
		ch.synced = n
		b.st.Fsyncs++
		b.mu.Unlock()
		acked = b.ackUpTo(ch, n)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if ch.state != chunkSyncing || ch.synced < ch.nrec {
		return acked
	}
	ch.state = chunkReady
	if b.pinned < 2*b.cfg.FlushThreadCount {
		b.pinned++
		ch.pin = true
	} else {
		b.dropRecordsLocked(ch)
	}
	b.notifyLocked()
	return acked
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

// Sync writes and fsyncs the records added to the file buffer's open chunks
// since the last Sync and acknowledges them, commits the round (Committer),
// then fsyncs the directory if segments were removed. Run calls it every
// FsyncInterval. No-op for the memory buffer.
func (b *Buffer) Sync() error {
	if b.disk == nil {
		return nil
	}
	b.syncMu.Lock()
	acked := b.drainSyncLocked()
	b.mu.Lock()
	var list []*chunk
	for _, ch := range b.open {
		if ch.nrec > ch.synced && !ch.diskFailed {
			list = append(list, ch)
		}
	}
	b.mu.Unlock()
	for _, ch := range list {
		acked = b.syncChunk(ch) || acked
	}
	if b.drainSyncLocked() || acked {
		b.commit()
	}
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

// startSyncer starts Run's syncer for the file buffer: from then on Add
// leaves the fsyncs of the chunks it enqueues to it.
func (b *Buffer) startSyncer(wg *sync.WaitGroup, stop <-chan struct{}) {
	if b.disk == nil {
		return
	}
	b.mu.Lock()
	b.bgSync = true
	b.mu.Unlock()
	wg.Go(func() { b.syncer(stop) })
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
