package buffer

// Sending: which queued chunk goes next, one attempt, and its outcome
// (delivered, retried or dead-lettered).

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
)

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
	b.mu.Lock()
	b.materializeLocked(ch)
	b.mu.Unlock()
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
