package buffer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"logship/buffer"
)

var errFlaky = errors.New("flaky")

func TestBuffer_AddCopiesMessage(t *testing.T) {
	for _, typ := range []string{buffer.TypeMemory, buffer.TypeFile} {
		t.Run(typ, func(t *testing.T) {
			b, _, s, _ := newBuf(t, buffer.Config{Type: typ, Path: t.TempDir()})
			msg := []byte("hello")
			mustAdd(t, b, []buffer.Record{{Key: keyA, Message: msg}})
			copy(msg, "XXXXX")
			if err := b.Flush(context.Background()); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			if got := s.messages(); !reflect.DeepEqual(got, []string{"hello"}) {
				t.Fatalf("sent %q, want [hello]", got)
			}
		})
	}
}

func TestBuffer_KeysGetSeparateChunks(t *testing.T) {
	b, _, s, _ := newBuf(t, buffer.Config{})
	batch := append(recs(keyA, "a", 2, 0), recs(keyB, "b", 2, 0)...)
	batch = append(batch, recs(keyA, "a2-", 1, 0)...)
	mustAdd(t, b, batch)
	if st := b.Stats(); st.StagedChunks != 2 {
		t.Fatalf("StagedChunks=%d, want 2", st.StagedChunks)
	}
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[buffer.StreamKey][]string{}
	for _, c := range s.chunks() {
		got[c.key] = append(got[c.key], c.msgs...)
	}
	want := map[buffer.StreamKey][]string{keyA: {"a0", "a1", "a2-0"}, keyB: {"b0", "b1"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sent %v, want %v", got, want)
	}
}

// TestBuffer_Type checks that the memory buffer writes nothing to disk and the
// file buffer persists chunks in Path.
func TestBuffer_Type(t *testing.T) {
	for _, typ := range []string{buffer.TypeMemory, buffer.TypeFile} {
		t.Run(typ, func(t *testing.T) {
			dir := t.TempDir()
			b, _, _, _ := newBuf(t, buffer.Config{Type: typ, Path: dir})
			if err := b.Recover(); err != nil {
				t.Fatal(err)
			}
			mustAdd(t, b, recs(keyA, "m", 3, 0))
			b.EnqueueAll()
			files, _ := filepath.Glob(filepath.Join(dir, "*.chunk"))
			if want := map[string]int{buffer.TypeMemory: 0, buffer.TypeFile: 1}[typ]; len(files) != want {
				t.Fatalf("%d segment files in Path, want %d", len(files), want)
			}
		})
	}
}

func TestBuffer_ChunkLimitSize(t *testing.T) {
	// Threshold 1: a chunk closes only when the next record would overflow it.
	b, _, s, _ := newBuf(t, buffer.Config{ChunkLimitSize: 1000, ChunkFullThreshold: 1})
	mustAdd(t, b, recs(keyA, "m", 7, 300))
	if st := b.Stats(); st.QueuedChunks != 2 || st.StagedChunks != 1 {
		t.Fatalf("queued=%d staged=%d, want 2 and 1", st.QueuedChunks, st.StagedChunks)
	}
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := chunkSizes(s.chunks()), []int{3, 3, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("chunk sizes %v, want %v", got, want)
	}

	t.Run("oversized record gets its own chunk", func(t *testing.T) {
		b, _, s, _ := newBuf(t, buffer.Config{ChunkLimitSize: 100, ChunkFullThreshold: 1})
		mustAdd(t, b, append(recs(keyA, "s", 1, 10), recs(keyA, "big", 1, 500)...))
		if err := b.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, want := chunkSizes(s.chunks()), []int{1, 1}; !reflect.DeepEqual(got, want) {
			t.Fatalf("chunk sizes %v, want %v", got, want)
		}
	})
}

func TestBuffer_ChunkLimitRecords(t *testing.T) {
	b, _, s, _ := newBuf(t, buffer.Config{ChunkLimitRecords: 4, ChunkFullThreshold: 1})
	mustAdd(t, b, recs(keyA, "m", 10, 0))
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := chunkSizes(s.chunks()), []int{4, 4, 2}; !reflect.DeepEqual(got, want) {
		t.Fatalf("chunk sizes %v, want %v", got, want)
	}
}

func TestBuffer_ChunkFullThreshold(t *testing.T) {
	tests := []struct {
		threshold float64
		queued    int // after adding 5 records of 100 bytes to a 1000-byte chunk
	}{
		{0.5, 1}, {0.6, 0}, {0, 0}, // 0 = default 0.95
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.threshold), func(t *testing.T) {
			b, _, _, _ := newBuf(t, buffer.Config{ChunkLimitSize: 1000, ChunkFullThreshold: tt.threshold})
			mustAdd(t, b, recs(keyA, "m", 5, 100))
			if got := b.Stats().QueuedChunks; got != tt.queued {
				t.Fatalf("QueuedChunks=%d, want %d", got, tt.queued)
			}
		})
	}
}

func TestBuffer_FlushInterval(t *testing.T) {
	b, clk, s, _ := newBuf(t, buffer.Config{FlushInterval: 10 * time.Second})
	mustAdd(t, b, recs(keyA, "a", 1, 0))
	clk.Advance(4 * time.Second)
	mustAdd(t, b, recs(keyB, "b", 1, 0))
	clk.Advance(5*time.Second + 999*time.Millisecond)
	if n := b.EnqueueDue(); n != 0 {
		t.Fatalf("EnqueueDue at 9.999s = %d, want 0", n)
	}
	clk.Advance(time.Millisecond)
	if n := b.EnqueueDue(); n != 1 {
		t.Fatalf("EnqueueDue at 10s = %d, want 1", n)
	}
	b.FlushReady(context.Background())
	if got := s.messages(); !reflect.DeepEqual(got, []string{"a0"}) {
		t.Fatalf("sent %v, want [a0]", got)
	}
	clk.Advance(4 * time.Second)
	if n := b.EnqueueDue(); n != 1 {
		t.Fatalf("EnqueueDue at 14s = %d, want 1", n)
	}
}

func TestBuffer_FlushMode(t *testing.T) {
	tests := []struct {
		mode         buffer.FlushMode
		queuedAtAdd  int // chunks queued right after Add (2 keys, not full)
		queuedLater  int // after FlushInterval and EnqueueDue
		queuedOnFull int // after a full chunk
	}{
		{buffer.FlushModeInterval, 0, 2, 3},
		{buffer.FlushModeDefault, 0, 2, 3},
		{buffer.FlushModeImmediate, 2, 2, 3},
		{buffer.FlushModeLazy, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			b, clk, _, _ := newBuf(t, buffer.Config{FlushMode: tt.mode, FlushInterval: time.Second,
				ChunkLimitRecords: 10, ChunkFullThreshold: 1, QueuedChunksLimitSize: 10})
			mustAdd(t, b, append(recs(keyA, "a", 1, 0), recs(keyB, "b", 1, 0)...))
			if got := b.Stats().QueuedChunks; got != tt.queuedAtAdd {
				t.Fatalf("queued after Add = %d, want %d", got, tt.queuedAtAdd)
			}
			clk.Advance(time.Second)
			b.EnqueueDue()
			if got := b.Stats().QueuedChunks; got != tt.queuedLater {
				t.Fatalf("queued after interval = %d, want %d", got, tt.queuedLater)
			}
			mustAdd(t, b, recs(keyC, "c", 10, 0))
			if got := b.Stats().QueuedChunks; got != tt.queuedOnFull {
				t.Fatalf("queued after a full chunk = %d, want %d", got, tt.queuedOnFull)
			}
		})
	}
}

func TestBuffer_QueuedChunksLimitSize(t *testing.T) {
	for _, tt := range []struct {
		limit, threads, want int
	}{
		{2, 1, 2}, {0, 1, 1}, {0, 3, 3}, // 0 = flush_thread_count
	} {
		t.Run(fmt.Sprintf("limit=%d,threads=%d", tt.limit, tt.threads), func(t *testing.T) {
			b, clk, _, _ := newBuf(t, buffer.Config{QueuedChunksLimitSize: tt.limit, FlushThreadCount: tt.threads,
				FlushInterval: time.Second})
			for _, k := range []buffer.StreamKey{keyA, keyB, keyC, {Group: "g", Stream: "d"}} {
				mustAdd(t, b, recs(k, "m", 1, 0))
			}
			clk.Advance(time.Second)
			if n := b.EnqueueDue(); n != tt.want {
				t.Fatalf("EnqueueDue=%d, want %d", n, tt.want)
			}
		})
	}
}

func TestBuffer_TotalLimitSize(t *testing.T) {
	cfg := func(a buffer.OverflowAction) buffer.Config {
		// Message bytes only, to count in round figures.
		return buffer.Config{ChunkLimitSize: 100, ChunkFullThreshold: 1, TotalLimitSize: 300, OverflowAction: a,
			RecordOverhead: -1}
	}
	fill := func(t *testing.T, b *buffer.Buffer) {
		t.Helper()
		mustAdd(t, b, recs(keyA, "f", 3, 100)) // three full 100-byte chunks
		if st := b.Stats(); st.TotalBytes != 300 {
			t.Fatalf("TotalBytes=%d, want 300", st.TotalBytes)
		}
	}

	t.Run("throw_exception", func(t *testing.T) {
		b, _, s, _ := newBuf(t, cfg(buffer.OverflowThrowException))
		fill(t, b)
		batch := recs(keyB, "x", 2, 10)
		if err := b.Add(context.Background(), batch); !errors.Is(err, buffer.ErrOverflow) {
			t.Fatalf("Add on full buffer = %v, want ErrOverflow", err)
		}
		if st := b.Stats(); st.TotalBytes != 300 || st.StagedChunks != 0 || st.OverflowEvents != 1 {
			t.Fatalf("after rejected Add: %+v", st)
		}
		b.FlushReady(context.Background())
		mustAdd(t, b, batch) // the producer's retry
		if err := b.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := s.messages()
		if len(got) != 5 || !strings.HasPrefix(got[3], "x0") || !strings.HasPrefix(got[4], "x1") {
			t.Fatalf("sent %q, want the 3 fill records and x0, x1 once each", got)
		}
	})

	t.Run("block", func(t *testing.T) {
		b, _, s, _ := newBuf(t, cfg(buffer.OverflowBlock))
		fill(t, b)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- b.Add(ctx, recs(keyB, "x", 1, 10)) }()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("blocked Add after cancel = %v, want context.Canceled", err)
		}
		if st := b.Stats(); st.TotalBytes != 300 {
			t.Fatalf("cancelled Add accepted records: TotalBytes=%d", st.TotalBytes)
		}
		go func() { done <- b.Add(context.Background(), recs(keyB, "y", 1, 10)) }()
		// Sending one chunk makes room; the blocked Add then completes.
		for b.FlushReady(context.Background()) == 0 {
		}
		if err := <-done; err != nil {
			t.Fatalf("Add after room was made = %v", err)
		}
		if err := b.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := s.messages(); len(got) != 4 {
			t.Fatalf("sent %d records, want 4", len(got))
		}
	})

	t.Run("drop_oldest_chunk", func(t *testing.T) {
		b, _, s, a := newBuf(t, cfg(buffer.OverflowDropOldestChunk))
		fill(t, b)
		mustAdd(t, b, recs(keyB, "new", 2, 50))
		st := b.Stats()
		if st.DroppedOverflowChunks != 1 || st.DroppedOverflowRecords != 1 || st.TotalBytes != 300 {
			t.Fatalf("stats %+v, want one chunk of one record dropped", st)
		}
		if got := a.acked(); len(got) != 1 || !strings.HasPrefix(got[0], "f0") {
			t.Fatalf("acked %q, want the dropped record f0", got)
		}
		if err := b.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := s.messages()
		if len(got) != 4 || slices.ContainsFunc(got, func(m string) bool { return strings.HasPrefix(m, "f0") }) {
			t.Fatalf("sent %q, want f1, f2, new0, new1", got)
		}
	})

	t.Run("batch larger than the limit fits an empty buffer", func(t *testing.T) {
		b, _, _, _ := newBuf(t, cfg(buffer.OverflowThrowException))
		mustAdd(t, b, recs(keyA, "m", 5, 100))
		if err := b.Add(context.Background(), recs(keyA, "m", 1, 1)); !errors.Is(err, buffer.ErrOverflow) {
			t.Fatalf("Add=%v, want ErrOverflow", err)
		}
	})
}

// TestBuffer_RecordOverhead: a memory buffer counts every record's message
// plus RecordOverhead against TotalLimitSize (not against ChunkLimitSize), so
// that many small records block the producer before their memory exceeds the
// bound.
func TestBuffer_RecordOverhead(t *testing.T) {
	for _, tt := range []struct {
		overhead, per int64
	}{{0, 10 + buffer.DefaultRecordOverhead}, {50, 60}, {-1, 10}} {
		t.Run(fmt.Sprint(tt.overhead), func(t *testing.T) {
			const limit = 60000
			b, _, s, _ := newBuf(t, buffer.Config{ChunkLimitSize: 1000, TotalLimitSize: limit, RecordOverhead: tt.overhead,
				OverflowAction: buffer.OverflowThrowException, FlushMode: buffer.FlushModeLazy})
			n := 0
			for ; n < 100000; n++ {
				err := b.Add(context.Background(), recs(keyA, "r", 1, 10))
				if errors.Is(err, buffer.ErrOverflow) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if want := int(limit / tt.per); n != want {
				t.Fatalf("accepted %d records of 10 bytes, want %d (%d bytes each against %d)", n, want, tt.per, limit)
			}
			st := b.Stats()
			if st.TotalBytes != int64(n)*tt.per || st.StagedBytes+st.QueuedBytes != st.TotalBytes {
				t.Fatalf("stats %+v, want TotalBytes %d = staged + queued", st, int64(n)*tt.per)
			}
			// Chunks still fill by message bytes: 1000 / 10 = 100 records each.
			if err := b.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if sizes := chunkSizes(s.chunks()); sizes[0] != 95 {
				t.Fatalf("chunk sizes %v, want full chunks of 95 records (0.95 × 1000 bytes)", sizes)
			}
			if st := b.Stats(); st.TotalBytes != 0 {
				t.Fatalf("TotalBytes=%d after delivery, want 0", st.TotalBytes)
			}
		})
	}
}

func TestBuffer_QueueLimitLength(t *testing.T) {
	b, _, _, _ := newBuf(t, buffer.Config{ChunkLimitSize: 100, ChunkFullThreshold: 1, QueueLimitLength: 2,
		OverflowAction: buffer.OverflowThrowException})
	if got := b.Config().TotalLimitSize; got != 200 {
		t.Fatalf("TotalLimitSize=%d, want chunk × queue = 200", got)
	}
	mustAdd(t, b, recs(keyA, "m", 2, 100))
	if err := b.Add(context.Background(), recs(keyA, "m", 1, 100)); !errors.Is(err, buffer.ErrOverflow) {
		t.Fatalf("third chunk: Add=%v, want ErrOverflow", err)
	}
}

func TestBuffer_OverflowAction_Default(t *testing.T) {
	b, _, _, _ := newBuf(t, buffer.Config{})
	if got := b.Config().OverflowAction; got != buffer.OverflowBlock {
		t.Fatalf("default overflow_action %q, want block", got)
	}
}

func TestBuffer_AcksMemory(t *testing.T) {
	b, _, s, a := newBuf(t, buffer.Config{})
	s.fn = func(context.Context, *buffer.Chunk) error { return errFlaky }
	mustAdd(t, b, recs(keyA, "m", 3, 0))
	b.EnqueueAll()
	b.FlushReady(context.Background())
	if got := a.acked(); len(got) != 0 {
		t.Fatalf("acked %q before delivery", got)
	}
	s.fn = nil
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := a.acked(), []string{"m0", "m1", "m2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("acked %q, want %q", got, want)
	}
}

// retrySchedule fails every attempt and returns the delays between attempts
// (measured on the fake clock by stepping it until FlushReady attempts), up to
// max attempts or until the chunk leaves the queue.
func retrySchedule(t *testing.T, b *buffer.Buffer, clk *fakeClock, step time.Duration, max int) []time.Duration {
	t.Helper()
	mustAdd(t, b, recs(keyA, "m", 1, 0))
	b.EnqueueAll()
	var delays []time.Duration
	last := clk.Now()
	for attempts := 0; attempts < max; {
		if b.FlushReady(context.Background()) > 0 {
			if attempts > 0 {
				delays = append(delays, clk.Now().Sub(last))
			}
			last = clk.Now()
			attempts++
			if b.Stats().QueuedChunks == 0 {
				break
			}
			continue
		}
		clk.Advance(step)
	}
	return delays
}

func TestBuffer_RetrySchedule(t *testing.T) {
	s := time.Second
	tests := []struct {
		name string
		cfg  buffer.Config
		want []time.Duration
	}{
		{"defaults: retry_wait 1s base 2", buffer.Config{}, []time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 16 * s}},
		{"retry_wait", buffer.Config{RetryWait: 3 * s}, []time.Duration{3 * s, 6 * s, 12 * s, 24 * s}},
		{"retry_exponential_backoff_base", buffer.Config{RetryExponentialBackoffBase: 3}, []time.Duration{1 * s, 3 * s, 9 * s, 27 * s}},
		{"retry_max_interval", buffer.Config{RetryMaxInterval: 5 * s}, []time.Duration{1 * s, 2 * s, 4 * s, 5 * s, 5 * s}},
		{"retry_type periodic", buffer.Config{RetryType: buffer.RetryPeriodic, RetryWait: 2 * s}, []time.Duration{2 * s, 2 * s, 2 * s, 2 * s}},
		{"seed: max_retry_wait 30", buffer.Config{RetryMaxInterval: 30 * s, RetryForever: true},
			[]time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 30 * s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.RetryRandomize = buffer.Bool(false)
			b, clk, snd, _ := newBuf(t, tt.cfg)
			snd.fn = func(context.Context, *buffer.Chunk) error { return errFlaky }
			got := retrySchedule(t, b, clk, 100*time.Millisecond, len(tt.want)+1)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("delays %v, want %v", got, tt.want)
			}
			if st := b.Stats(); st.Retries != uint64(len(tt.want)+1) || st.SendErrors != uint64(len(tt.want)+1) {
				t.Fatalf("Retries=%d SendErrors=%d, want %d", st.Retries, st.SendErrors, len(tt.want)+1)
			}
		})
	}
}

func TestBuffer_RetryRandomize(t *testing.T) {
	for _, randomize := range []bool{true, false} {
		t.Run(fmt.Sprint(randomize), func(t *testing.T) {
			b, clk, snd, _ := newBuf(t, buffer.Config{RetryWait: 10 * time.Second, RetryRandomize: buffer.Bool(randomize)})
			snd.fn = func(context.Context, *buffer.Chunk) error { return errFlaky }
			got := retrySchedule(t, b, clk, 10*time.Millisecond, 7)
			exact := 0
			for i, d := range got {
				nominal := 10 * time.Second << i
				lo, hi := nominal*7/8-10*time.Millisecond, nominal*9/8+10*time.Millisecond
				if i == 0 && d != nominal {
					t.Fatalf("first delay %v, want exactly %v", d, nominal)
				}
				if d < lo || d > hi {
					t.Fatalf("delay %d = %v, want within ±12.5%% of %v", i, d, nominal)
				}
				if d == nominal {
					exact++
				}
			}
			if randomize && exact == len(got) {
				t.Fatalf("delays %v: none randomised", got)
			}
			if !randomize && exact != len(got) {
				t.Fatalf("delays %v: randomised with retry_randomize false", got)
			}
		})
	}
}

func TestBuffer_RetryMaxTimes(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			dl := t.TempDir()
			b, clk, snd, a := newBuf(t, buffer.Config{RetryMaxTimes: buffer.Int(n), DeadLetterDir: dl})
			snd.fn = func(context.Context, *buffer.Chunk) error { return errFlaky }
			retrySchedule(t, b, clk, time.Second, 100)
			if got := snd.nAttempts(); got != n+1 {
				t.Fatalf("attempts=%d, want %d", got, n+1)
			}
			st := b.Stats()
			if st.DeadLetterChunks != 1 || st.DeadLetterRecords != 1 || st.QueuedChunks != 0 {
				t.Fatalf("stats %+v, want the chunk dead-lettered", st)
			}
			if got := a.acked(); len(got) != 1 {
				t.Fatalf("acked %q, want the dead-lettered record", got)
			}
		})
	}
}

func TestBuffer_RetryTimeout(t *testing.T) {
	b, clk, snd, _ := newBuf(t, buffer.Config{RetryWait: 4 * time.Second, RetryTimeout: 10 * time.Second,
		RetryRandomize: buffer.Bool(false), DeadLetterDir: t.TempDir()})
	snd.fn = func(context.Context, *buffer.Chunk) error { return errFlaky }
	// Attempts at 0, 4 (wait 4), then 4+8=12 clipped to the 10 s deadline; the
	// attempt at the deadline fails and the chunk is given up.
	got := retrySchedule(t, b, clk, time.Second, 100)
	if want := []time.Duration{4 * time.Second, 6 * time.Second}; !reflect.DeepEqual(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	if st := b.Stats(); st.DeadLetterChunks != 1 {
		t.Fatalf("DeadLetterChunks=%d, want 1", st.DeadLetterChunks)
	}
}

func TestBuffer_RetryForever(t *testing.T) {
	b, clk, snd, _ := newBuf(t, buffer.Config{RetryForever: true, RetryMaxTimes: buffer.Int(0),
		RetryTimeout: time.Second, RetryMaxInterval: 2 * time.Second, DeadLetterDir: t.TempDir()})
	snd.fn = func(context.Context, *buffer.Chunk) error { return errFlaky }
	retrySchedule(t, b, clk, time.Second, 20)
	if st := b.Stats(); st.DeadLetterChunks != 0 || st.QueuedChunks != 1 || snd.nAttempts() != 20 {
		t.Fatalf("after 20 failures: attempts=%d stats=%+v, want still queued", snd.nAttempts(), st)
	}
	snd.fn = nil
	clk.Advance(3 * time.Second)
	b.FlushReady(context.Background())
	if got := snd.messages(); len(got) != 1 {
		t.Fatalf("sent %q after recovery, want the record", got)
	}
}

func TestBuffer_ErrPermanent(t *testing.T) {
	dl := t.TempDir()
	b, _, snd, a := newBuf(t, buffer.Config{RetryForever: true, DeadLetterDir: dl})
	snd.fn = func(_ context.Context, c *buffer.Chunk) error {
		if c.Key == keyA {
			return fmt.Errorf("%w: InvalidParameterException", buffer.ErrPermanent)
		}
		return nil
	}
	mustAdd(t, b, append(recs(keyA, "bad", 2, 0), recs(keyB, "good", 2, 0)...))
	if err := b.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if got := snd.nAttempts(); got != 2 {
		t.Fatalf("attempts=%d, want 2 (no retry of the permanent failure)", got)
	}
	if got := snd.messages(); !reflect.DeepEqual(got, []string{"good0", "good1"}) {
		t.Fatalf("sent %q: the other chunk must be delivered", got)
	}
	if st := b.Stats(); st.DeadLetterChunks != 1 || st.DeadLetterRecords != 2 || st.Retries != 0 {
		t.Fatalf("stats %+v", st)
	}
	if got := len(a.acked()); got != 4 {
		t.Fatalf("acked %d records, want 4", got)
	}
	files, _ := filepath.Glob(filepath.Join(dl, "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("dead-letter files %v, want 1", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := buffer.ReadDeadLetter(f)
	if err != nil {
		t.Fatalf("ReadDeadLetter: %v", err)
	}
	if !reflect.DeepEqual(msgs(got), []string{"bad0", "bad1"}) || got[0].Key != keyA || got[0].Tag != "tag" || got[1].Time != 1 {
		t.Fatalf("dead letter records %+v", got)
	}
}

// TestBuffer_PartialSend checks that records a Sender delivered before
// failing (Chunk.Sent) are neither re-sent nor dead-lettered.
func TestBuffer_PartialSend(t *testing.T) {
	dl := t.TempDir()
	b, clk, snd, _ := newBuf(t, buffer.Config{RetryMaxTimes: buffer.Int(1), RetryRandomize: buffer.Bool(false), DeadLetterDir: dl})
	var seen [][]string
	var mu sync.Mutex
	snd.fn = func(_ context.Context, c *buffer.Chunk) error {
		mu.Lock()
		defer mu.Unlock()
		var rest []string
		for _, r := range c.Records[c.Sent:] {
			rest = append(rest, string(r.Message))
		}
		seen = append(seen, rest)
		c.Sent += 2 // two more records delivered, then a failure
		return errFlaky
	}
	mustAdd(t, b, recs(keyA, "m", 5, 0))
	b.EnqueueAll()
	b.FlushReady(context.Background())
	clk.Advance(time.Second)
	b.FlushReady(context.Background())
	want := [][]string{{"m0", "m1", "m2", "m3", "m4"}, {"m2", "m3", "m4"}}
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("attempts saw %v, want %v", seen, want)
	}
	files, _ := filepath.Glob(filepath.Join(dl, "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("dead-letter files %v", files)
	}
	data, _ := os.ReadFile(files[0])
	got, err := buffer.ReadDeadLetter(strings.NewReader(string(data)))
	if err != nil || !reflect.DeepEqual(msgs(got), []string{"m4"}) {
		t.Fatalf("dead letter = %q, %v; want only the undelivered m4", msgs(got), err)
	}
}

func TestBuffer_DeadLetterDir(t *testing.T) {
	t.Run("file default", func(t *testing.T) {
		dir := t.TempDir()
		b, _, snd, _ := newBuf(t, buffer.Config{Type: buffer.TypeFile, Path: dir})
		snd.fn = func(context.Context, *buffer.Chunk) error { return buffer.ErrPermanent }
		mustAdd(t, b, recs(keyA, "m", 1, 0))
		b.Flush(context.Background())
		files, _ := filepath.Glob(filepath.Join(dir, buffer.DefaultDeadLetterSubdir, "*.jsonl"))
		if len(files) != 1 {
			t.Fatalf("dead-letter files %v, want 1 in <path>/dead-letter", files)
		}
		if segs, _ := filepath.Glob(filepath.Join(dir, "*.chunk")); len(segs) != 0 {
			t.Fatalf("segments left: %v", segs)
		}
	})
	t.Run("memory without dir counts the drop", func(t *testing.T) {
		b, _, snd, a := newBuf(t, buffer.Config{})
		snd.fn = func(context.Context, *buffer.Chunk) error { return buffer.ErrPermanent }
		mustAdd(t, b, recs(keyA, "m", 3, 0))
		b.Flush(context.Background())
		if st := b.Stats(); st.DroppedDeadLetterRecords != 3 || st.DeadLetterChunks != 0 {
			t.Fatalf("stats %+v", st)
		}
		if len(a.acked()) != 3 {
			t.Fatalf("acked %d, want 3", len(a.acked()))
		}
	})
	t.Run("unwritable dir counts the drop", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o644)
		b, _, snd, _ := newBuf(t, buffer.Config{DeadLetterDir: filepath.Join(f, "sub")})
		snd.fn = func(context.Context, *buffer.Chunk) error { return buffer.ErrPermanent }
		mustAdd(t, b, recs(keyA, "m", 2, 0))
		b.Flush(context.Background())
		if st := b.Stats(); st.DroppedDeadLetterRecords != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestBuffer_SlowFlushLogThreshold(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	clk := newFakeClock()
	snd := &fakeSender{fn: func(_ context.Context, c *buffer.Chunk) error {
		if c.Key == keyA {
			clk.Advance(6 * time.Second)
		} else {
			clk.Advance(4 * time.Second)
		}
		return nil
	}}
	b, err := buffer.New(buffer.Config{SlowFlushLogThreshold: 5 * time.Second}, snd, nil, zap.New(core), clk)
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, b, append(recs(keyA, "a", 1, 0), recs(keyB, "b", 1, 0)...))
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := logs.FilterMessage("slow flush").Len(); got != 1 {
		t.Fatalf("%d slow flush warnings, want 1", got)
	}
	if st := b.Stats(); st.SlowFlushes != 1 {
		t.Fatalf("SlowFlushes=%d, want 1", st.SlowFlushes)
	}
}

func TestBuffer_FlushAtShutdown(t *testing.T) {
	tests := []struct {
		typ      string
		flag     *bool
		wantSent int
	}{
		{buffer.TypeMemory, nil, 3}, // default true
		{buffer.TypeMemory, buffer.Bool(false), 0},
		{buffer.TypeFile, nil, 0}, // default false: durable on disk
		{buffer.TypeFile, buffer.Bool(true), 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.typ, tt.flag != nil && *tt.flag), func(t *testing.T) {
			dir := t.TempDir()
			b, _, snd, a := newBuf(t, buffer.Config{Type: tt.typ, Path: dir, FlushAtShutdown: tt.flag, ChunkLimitRecords: 2, ChunkFullThreshold: 1})
			mustAdd(t, b, recs(keyA, "m", 3, 0)) // one queued chunk, one staged
			err := b.Shutdown(context.Background())
			if got := len(snd.messages()); got != tt.wantSent {
				t.Fatalf("sent %d records at shutdown, want %d", got, tt.wantSent)
			}
			if err := b.Add(context.Background(), recs(keyA, "late", 1, 0)); !errors.Is(err, buffer.ErrClosed) {
				t.Fatalf("Add after Shutdown = %v, want ErrClosed", err)
			}
			switch {
			case tt.typ == buffer.TypeMemory && tt.wantSent == 0:
				if !errors.Is(err, buffer.ErrUndelivered) || len(a.acked()) != 0 {
					t.Fatalf("Shutdown=%v acked=%d, want ErrUndelivered and no acks", err, len(a.acked()))
				}
			case tt.typ == buffer.TypeFile && tt.wantSent == 0:
				if err != nil || len(a.acked()) != 3 {
					t.Fatalf("Shutdown=%v acked=%d, want nil and all 3 acked (durable)", err, len(a.acked()))
				}
				// A new process recovers and sends them.
				b2, _, snd2, a2 := newBuf(t, buffer.Config{Type: tt.typ, Path: dir})
				if err := b2.Recover(); err != nil {
					t.Fatal(err)
				}
				if err := b2.Flush(context.Background()); err != nil {
					t.Fatal(err)
				}
				if got := snd2.messages(); !reflect.DeepEqual(got, []string{"m0", "m1", "m2"}) {
					t.Fatalf("after restart sent %q", got)
				}
				if len(a2.acked()) != 0 {
					t.Fatalf("recovered records acked again: %q", a2.acked())
				}
			default:
				if err != nil {
					t.Fatalf("Shutdown=%v", err)
				}
			}
		})
	}
}

func TestBuffer_FsyncInterval(t *testing.T) {
	dir := t.TempDir()
	b, clk, _, a := newBuf(t, buffer.Config{Type: buffer.TypeFile, Path: dir, FsyncInterval: 2 * time.Second, FlushMode: buffer.FlushModeLazy})
	run := runBuf(t, b)
	start := clk.Now()
	clk.waitTimer(t, start.Add(2*time.Second))
	mustAdd(t, b, recs(keyA, "m", 3, 0))
	if got := len(a.acked()); got != 0 {
		t.Fatalf("acked %d before the fsync timer", got)
	}
	clk.Advance(2 * time.Second)
	clk.waitTimer(t, start.Add(4*time.Second)) // the timer goroutine synced and re-armed
	if got := a.acked(); !reflect.DeepEqual(got, []string{"m0", "m1", "m2"}) {
		t.Fatalf("acked %q after the fsync timer", got)
	}
	if st := b.Stats(); st.Fsyncs != 1 || st.StagedChunks != 1 {
		t.Fatalf("stats %+v, want one fsync of the open chunk", st)
	}
	run.stop(t)

	t.Run("negative: only at enqueue", func(t *testing.T) {
		b, _, _, a := newBuf(t, buffer.Config{Type: buffer.TypeFile, Path: t.TempDir(), FsyncInterval: -1, ChunkLimitRecords: 2, ChunkFullThreshold: 1})
		mustAdd(t, b, recs(keyA, "m", 3, 0))
		if got := len(a.acked()); got != 2 {
			t.Fatalf("acked %d, want the 2 records of the enqueued chunk", got)
		}
	})
}

func TestBuffer_FlushThreadCount(t *testing.T) {
	for _, threads := range []int{1, 3} {
		t.Run(fmt.Sprint(threads), func(t *testing.T) {
			release := make(chan struct{})
			started := make(chan string, 10)
			snd := &fakeSender{fn: func(_ context.Context, c *buffer.Chunk) error {
				started <- c.ID
				<-release
				return nil
			}}
			b, err := buffer.New(buffer.Config{FlushThreadCount: threads, ChunkLimitRecords: 1, FlushMode: buffer.FlushModeLazy},
				snd, nil, nil, newFakeClock())
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 { // one chunk per stream: threads send streams in parallel
				mustAdd(t, b, recs(buffer.StreamKey{Group: "g", Stream: fmt.Sprint(i)}, "m", 1, 0))
			}
			run := runBuf(t, b)
			for range threads {
				<-started
			}
			if st := b.Stats(); st.InFlightChunks != threads {
				t.Fatalf("InFlightChunks=%d, want %d", st.InFlightChunks, threads)
			}
			close(release)
			for range 5 - threads {
				<-started
			}
			run.stop(t)
			if got := len(snd.messages()); got != 5 {
				t.Fatalf("sent %d, want 5", got)
			}
		})
	}
}

func TestBuffer_FlushThreadInterval(t *testing.T) {
	// The interval timer checks every max(flush_thread_interval,
	// flush_interval/11) = 4 s: a chunk due at 10 s is enqueued at 12 s.
	b, clk, snd, _ := newBuf(t, buffer.Config{FlushInterval: 10 * time.Second, FlushThreadInterval: 4 * time.Second})
	snd.ch = make(chan sent, 1)
	run := runBuf(t, b)
	start := clk.Now()
	mustAdd(t, b, recs(keyA, "m", 1, 0))
	for _, at := range []time.Duration{4, 8} {
		clk.waitTimer(t, start.Add(at*time.Second))
		clk.Advance(start.Add(at * time.Second).Sub(clk.Now()))
	}
	clk.waitTimer(t, start.Add(12*time.Second))
	clk.Advance(2 * time.Second) // 10 s: due, but no check until 12 s
	if st := b.Stats(); st.StagedChunks != 1 {
		t.Fatalf("at 10 s: %+v, want the chunk still staged", st)
	}
	clk.Advance(2 * time.Second)
	<-snd.ch
	run.stop(t)

	t.Run("flush_interval/11 wins", func(t *testing.T) {
		b, clk, _, _ := newBuf(t, buffer.Config{FlushInterval: 110 * time.Second, FlushThreadInterval: time.Second})
		run := runBuf(t, b)
		clk.waitTimer(t, clk.Now().Add(10*time.Second))
		run.stop(t)
	})
}

func TestBuffer_FlushThreadBurstInterval(t *testing.T) {
	b, clk, snd, _ := newBuf(t, buffer.Config{FlushThreadBurstInterval: 5 * time.Second, ChunkLimitRecords: 1,
		FlushMode: buffer.FlushModeLazy})
	snd.ch = make(chan sent, 3)
	mustAdd(t, b, recs(keyA, "m", 3, 0))
	run := runBuf(t, b)
	start := clk.Now()
	<-snd.ch
	clk.waitTimer(t, start.Add(5*time.Second)) // paused: two chunks still queued
	if got := len(snd.chunks()); got != 1 {
		t.Fatalf("sent %d chunks before the burst pause ended, want 1", got)
	}
	clk.Advance(5 * time.Second)
	<-snd.ch
	clk.waitTimer(t, start.Add(10*time.Second))
	clk.Advance(5 * time.Second)
	<-snd.ch
	run.stop(t)
}

func TestBuffer_ShutdownTimeout(t *testing.T) {
	cancelled := make(chan struct{})
	started := make(chan struct{})
	var calls int
	snd := &fakeSender{fn: func(ctx context.Context, _ *buffer.Chunk) error {
		calls++
		if calls > 1 {
			t.Error("Send called again after the shutdown deadline")
			return ctx.Err()
		}
		close(started)
		<-ctx.Done()
		close(cancelled)
		return ctx.Err()
	}}
	ack := &fakeAcker{}
	b, err := buffer.New(buffer.Config{ShutdownTimeout: 50 * time.Millisecond, FlushMode: buffer.FlushModeImmediate},
		snd, ack, nil, newFakeClock())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	mustAdd(t, b, recs(keyA, "m", 1, 0))
	<-started
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the shutdown timeout")
	}
	<-cancelled
	if len(ack.acked()) != 0 {
		t.Fatal("undelivered record acknowledged")
	}
	if st := b.Stats(); st.QueuedChunks != 1 {
		t.Fatalf("QueuedChunks=%d, want the undelivered chunk kept", st.QueuedChunks)
	}
}

func TestBuffer_RunDeliversAndStops(t *testing.T) {
	for _, typ := range []string{buffer.TypeMemory, buffer.TypeFile} {
		t.Run(typ, func(t *testing.T) {
			b, clk, snd, a := newBuf(t, buffer.Config{Type: typ, Path: t.TempDir(), FlushInterval: time.Second, FlushThreadCount: 2})
			snd.ch = make(chan sent, 10)
			run := runBuf(t, b)
			mustAdd(t, b, append(recs(keyA, "a", 2, 0), recs(keyB, "b", 2, 0)...))
			clk.waitTimer(t, clk.Now().Add(time.Second))
			clk.Advance(time.Second)
			<-snd.ch
			<-snd.ch
			run.stop(t)
			if got := len(a.acked()); got != 4 {
				t.Fatalf("acked %d, want 4", got)
			}
			if err := b.Add(context.Background(), recs(keyA, "x", 1, 0)); !errors.Is(err, buffer.ErrClosed) {
				t.Fatalf("Add after Run = %v, want ErrClosed", err)
			}
		})
	}
}

// TestBuffer_BlockedAddEnqueuesStaged: staged chunks that hold the whole
// bound (one per stream, none full or due) are enqueued as soon as an Add
// blocks on them, so the flush threads free the space without waiting for
// the interval timer: the clock never moves in this test, and before the
// change the third Add waited for the next enqueue tick (reading was paced
// at one bound per FlushThreadInterval).
func TestBuffer_BlockedAddEnqueuesStaged(t *testing.T) {
	cfg := buffer.Config{ChunkLimitSize: 100, TotalLimitSize: 150, RecordOverhead: -1, FlushInterval: time.Hour}
	b, clk, s, _ := newBuf(t, cfg)
	start := clk.Now()
	run := runBuf(t, b)
	mustAdd(t, b, recs(keyA, "a", 1, 60))
	mustAdd(t, b, recs(keyB, "b", 1, 60))
	added := make(chan error, 1)
	go func() { added <- b.Add(context.Background(), recs(keyC, "c", 1, 60)) }()
	select {
	case err := <-added:
		if err != nil {
			t.Fatalf("blocked Add: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Add still blocked with the clock stopped: staged chunks wait for the interval timer")
	}
	if !clk.Now().Equal(start) {
		t.Fatalf("clock moved to %v", clk.Now())
	}
	got := s.chunks()
	if len(got) != 1 || got[0].key != keyA {
		t.Fatalf("sent %+v, want the oldest staged chunk (a) alone", got)
	}
	st := b.Stats()
	if st.EnqueuedForSpace != 1 || st.StagedChunks != 2 || st.TotalBytes != 120 {
		t.Fatalf("stats %+v, want 1 enqueued for space, b and c staged (120 bytes)", st)
	}
	run.stop(t)
}

// TestBuffer_IdleFlushThreadEnqueuesDue: queued_chunks_limit_size (here 1,
// the default for one flush thread) lets an interval tick enqueue only one
// due chunk; once it is sent, the idle flush thread enqueues the next due
// ones itself instead of waiting a tick for each (draining 50 streams' staged
// chunks took 25 ticks at the end of the bench). The clock moves once.
func TestBuffer_IdleFlushThreadEnqueuesDue(t *testing.T) {
	b, clk, s, _ := newBuf(t, buffer.Config{FlushInterval: time.Second})
	s.ch = make(chan sent, 3)
	start := clk.Now()
	run := runBuf(t, b)
	mustAdd(t, b, recs(keyA, "a", 1, 0))
	mustAdd(t, b, recs(keyB, "b", 1, 0))
	mustAdd(t, b, recs(keyC, "c", 1, 0))
	clk.waitTimer(t, start.Add(time.Second))
	clk.Advance(time.Second)
	var keys []buffer.StreamKey
	for len(keys) < 3 {
		select {
		case d := <-s.ch:
			keys = append(keys, d.key)
		case <-time.After(10 * time.Second):
			t.Fatalf("sent %v after one tick, want all 3 due chunks", keys)
		}
	}
	if want := []buffer.StreamKey{keyA, keyB, keyC}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("sent %v, want oldest first %v", keys, want)
	}
	if !clk.Now().Equal(start.Add(time.Second)) {
		t.Fatalf("clock at %v", clk.Now())
	}
	run.stop(t)
}

// TestBuffer_BlockPoolWithinBound: when many streams' chunks are delivered
// together, the buffer keeps their blocks for the next chunks (beyond one
// chunk's worth), yet free blocks and held records together never exceed
// the buffer's bound by more than one chunk's worth.
func TestBuffer_BlockPoolWithinBound(t *testing.T) {
	const streams, per, size = 40, 20, 1000
	cfg := buffer.Config{ChunkLimitSize: 64 << 10, TotalLimitSize: 2 << 20}
	b, _, _, _ := newBuf(t, cfg)
	bound := b.Config().MemoryBound()
	round := func(prefix string) {
		t.Helper()
		for s := range streams {
			mustAdd(t, b, recs(buffer.StreamKey{Group: "g", Stream: fmt.Sprint(s)}, prefix, per, size))
			if held, free := b.Stats().TotalBytes, b.PoolBytes(); held+free > bound+cfg.ChunkLimitSize {
				t.Fatalf("%s stream %d: %d bytes held + %d free > bound %d + a chunk", prefix, s, held, free, bound)
			}
		}
		if err := b.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	round("a")
	kept := b.PoolBytes()
	if want := int64(streams * per * size / 2); kept < want || kept < cfg.ChunkLimitSize*2 {
		t.Fatalf("after delivering %d streams the pool keeps %d bytes, want at least %d", streams, kept, want)
	}
	round("b")
	if got := b.PoolBytes(); got > bound+cfg.ChunkLimitSize {
		t.Fatalf("pool %d bytes over the bound %d + a chunk", got, bound)
	}
}
