package buffer_test

import (
	"context"
	"reflect"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"logship/buffer"
)

// TestBuffer_DiskFull: while segment writes fail with ENOSPC and the
// destination is down, the file buffer keeps chunks in memory only up to its
// memory bound and then blocks Add (back-pressure to the reader) instead of
// growing; it logs one error for the whole episode, shows DiskFull in Stats,
// acknowledges nothing that is not durable or delivered, and resumes once the
// memory-only chunks are delivered and writes succeed again. Nothing is lost
// or sent twice, and the order holds.
func TestBuffer_DiskFull(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	var full, down atomic.Bool
	full.Store(true)
	down.Store(true)
	snd := &fakeSender{fn: func(context.Context, *buffer.Chunk) error {
		if down.Load() {
			return errFlaky
		}
		return nil
	}}
	ack := &fakeAcker{}
	cfg := buffer.Config{Type: buffer.TypeFile, Path: t.TempDir(), ChunkLimitSize: 1000, FlushThreadCount: 1,
		FlushMode: buffer.FlushModeLazy, RetryForever: true}
	b, err := buffer.New(cfg, snd, ack, zap.New(core), newFakeClock())
	if err != nil {
		t.Fatal(err)
	}
	b.SetWriteHook(func(string, int) error {
		if full.Load() {
			return syscall.ENOSPC
		}
		return nil
	})
	bound := b.Config().MemoryBound()
	if bound != 5000 {
		t.Fatalf("MemoryBound=%d, want 5 chunks of 1000 (3 per flush thread + 2)", bound)
	}

	all := recs(keyA, "m", 200, 100)
	added := make(chan int, len(all))
	addErr := make(chan error, 1)
	go func() {
		for i := range all {
			if err := b.Add(context.Background(), all[i:i+1]); err != nil {
				addErr <- err
				return
			}
			added <- i
		}
		addErr <- nil
	}()
	// Wait until Add blocks on the memory bound.
	deadline := time.Now().Add(10 * time.Second)
	for b.Stats().DiskFullBlocks == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Add never blocked: %d added, stats %+v", len(added), b.Stats())
		}
		b.EnqueueAll() // enqueue the staged chunk: its write fails too
		b.FlushReady(context.Background())
	}
	st := b.Stats()
	if !st.DiskFull || st.MemoryOnlyBytes > bound || st.MemoryOnlyBytes < bound/2 {
		t.Fatalf("blocked with %+v; want DiskFull and memory-only bytes near, not over, %d", st, bound)
	}
	if n := len(added); n == len(all) || n == 0 {
		t.Fatalf("%d of %d records accepted before blocking", n, len(all))
	}
	if got := len(ack.acked()); got != 0 {
		t.Fatalf("%d records acknowledged while neither durable nor delivered", got)
	}
	if got := logs.FilterMessageSnippet("segment write failed").FilterLevelExact(zap.ErrorLevel).Len(); got != 1 {
		t.Fatalf("%d error lines for %d failed writes, want 1", got, st.DiskErrors)
	}

	// Space returns and the destination is back.
	full.Store(false)
	down.Store(false)
	for {
		_ = b.Flush(context.Background()) // ignores the retry times; ErrUndelivered while Add adds
		select {
		case err := <-addErr:
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got, want := snd.messages(), msgs(all); !reflect.DeepEqual(got, want) {
				t.Fatalf("delivered %d records (want %d, each once, in order)", len(got), len(want))
			}
			if got := len(ack.acked()); got != len(all) {
				t.Fatalf("acknowledged %d, want %d", got, len(all))
			}
			if st := b.Stats(); st.DiskFull || st.MemoryOnlyBytes != 0 {
				t.Fatalf("after recovery: %+v", st)
			}
			if logs.FilterMessage("buffer: segment writes succeed again").Len() != 1 {
				t.Fatal("no log line on recovery")
			}
			return
		default:
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("Add did not resume: stats %+v", b.Stats())
		}
	}
}

// chanAcker reports each Ack call's first message on a channel.
type chanAcker struct{ msgs chan string }

func (a *chanAcker) Ack(recs []buffer.Record) { a.msgs <- string(recs[0].Message) }

// TestBuffer_DiskFullDroppedWhileSyncing: drop_oldest_chunk drops the staged
// chunk whose segment Sync is writing; the write then fails (ENOSPC). The
// dropped chunk is out of the buffer, so it must not count as memory-only:
// if it did, nothing would subtract its bytes again and later Adds would find
// the memory bound full (dropping or blocking) although the buffer holds
// little.
func TestBuffer_DiskFullDroppedWhileSyncing(t *testing.T) {
	cfg := buffer.Config{Type: buffer.TypeFile, Path: t.TempDir(), ChunkLimitSize: 1000, TotalLimitSize: 1000,
		FlushThreadCount: 1, FlushMode: buffer.FlushModeLazy, OverflowAction: buffer.OverflowDropOldestChunk}
	ack := &chanAcker{msgs: make(chan string, 16)}
	b, err := buffer.New(cfg, &fakeSender{}, ack, nil, newFakeClock())
	if err != nil {
		t.Fatal(err)
	}
	entered, proceed := make(chan string, 1), make(chan struct{})
	var calls atomic.Int32
	b.SetWriteHook(func(id string, _ int) error {
		if calls.Add(1) == 1 {
			entered <- id // Sync holds the chunk's ioMu, not the buffer's mu
			<-proceed
		}
		return syscall.ENOSPC
	})
	old := recs(keyA, "old", 1, 500)
	mustAdd(t, b, old) // staged, more than half the total limit

	synced := make(chan error, 1)
	go func() { synced <- b.Sync() }()
	<-entered

	added := make(chan error, 1)
	go func() { added <- b.Add(context.Background(), recs(keyB, "new", 1, 500)) }()
	// The Add dropped the old chunk once it acknowledges its record (as
	// dropped); it then waits for the write to finish to remove the segment.
	if got := <-ack.msgs; got != string(old[0].Message) {
		t.Fatalf("acknowledged %q, want the dropped record", got)
	}
	close(proceed)
	if err := <-synced; err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if err := <-added; err != nil {
		t.Fatalf("Add: %v", err)
	}

	st := b.Stats()
	if st.DroppedOverflowChunks != 1 || st.DiskErrors != 1 {
		t.Fatalf("stats %+v, want one chunk dropped and one failed write", st)
	}
	if st.MemoryOnlyBytes != 0 {
		t.Fatalf("MemoryOnlyBytes=%d after the failed write of a dropped chunk, want 0 (no chunk is memory-only)", st.MemoryOnlyBytes)
	}
	// A record that fits both the total limit and the memory bound is
	// accepted without dropping anything.
	mustAdd(t, b, recs(keyB, "more", 1, 10))
	if st := b.Stats(); st.DroppedOverflowChunks != 1 || st.DiskFullBlocks != 0 {
		t.Fatalf("stats %+v: Add of a record that fits dropped or blocked", st)
	}
}
