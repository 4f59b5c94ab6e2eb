package buffer

// The lifecycle: Run's flush threads and timers, and Shutdown.

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"
)

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
		return b.closeDisk()
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
	b.startSyncer(&wg, stop)

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

// timers runs the interval enqueue check and the fsync timer until stop.
func (b *Buffer) timers(stop <-chan struct{}) {
	var enqC, syncC <-chan time.Time
	every := max(b.cfg.FlushThreadInterval, b.cfg.FlushInterval/11)
	if b.cfg.FlushMode == FlushModeInterval {
		enqC = b.clock.After(every)
	}
	if b.fsyncEvery > 0 {
		syncC = b.clock.After(b.fsyncEvery)
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
			syncC = b.clock.After(b.fsyncEvery)
		}
	}
}
