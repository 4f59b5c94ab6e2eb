package buffer_test

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"logship/buffer"
)

// commitAcker is a buffer.Committer that logs its calls in order: "ack" and
// the acknowledged messages, or "commit".
type commitAcker struct {
	mu     sync.Mutex
	events []string
}

var _ buffer.Committer = (*commitAcker)(nil)

func (a *commitAcker) Ack(recs []buffer.Record) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, "ack "+strings.Join(msgs(recs), " "))
}

func (a *commitAcker) Commit() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, "commit")
}

// take returns the calls logged since the last take.
func (a *commitAcker) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	ev := a.events
	a.events = nil
	return ev
}

// TestBuffer_CommitAfterSyncRound: the file buffer tells a Committer that a
// sync round is complete once, after the last Ack of the round (not after
// each chunk's), both for the enqueued chunks Add and EnqueueAll fsync and
// for Sync's open chunks; a round that acknowledged nothing (nothing new, a
// failed segment write) commits nothing, and the memory buffer never
// commits.
func TestBuffer_CommitAfterSyncRound(t *testing.T) {
	t.Run("File", func(t *testing.T) {
		var full bool
		a := &commitAcker{}
		clk := newFakeClock()
		b, err := buffer.New(buffer.Config{Type: buffer.TypeFile, Path: t.TempDir()}, &fakeSender{}, a, nil, clk)
		if err != nil {
			t.Fatal(err)
		}
		b.SetWriteHook(func(string, int) error {
			if full {
				return syscall.ENOSPC
			}
			return nil
		})
		if err := b.Recover(); err != nil {
			t.Fatal(err)
		}
		mustAdd(t, b, recs(keyA, "a", 2, 0))
		clk.Advance(time.Millisecond)
		mustAdd(t, b, recs(keyB, "b", 1, 0))
		if got := a.take(); len(got) != 0 {
			t.Fatalf("calls before any fsync: %q", got)
		}

		// One round, two chunks: both acknowledged, then one commit.
		if n := b.EnqueueAll(); n != 2 {
			t.Fatalf("EnqueueAll()=%d, want 2", n)
		}
		if got, want := a.take(), []string{"ack a0 a1", "ack b0", "commit"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("EnqueueAll: calls %q, want %q", got, want)
		}

		// Sync of the open chunks (in no particular order), also a round.
		mustAdd(t, b, recs(keyA, "c", 1, 0))
		mustAdd(t, b, recs(keyC, "d", 2, 0))
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
		got := a.take()
		if len(got) > 1 {
			slices.Sort(got[:len(got)-1])
		}
		if want := []string{"ack c0", "ack d0 d1", "commit"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("Sync: calls %q, want %q (the acks in any order)", got, want)
		}

		// Nothing new to fsync: no commit.
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
		if n := b.EnqueueAll(); n != 2 { // already durable: nothing to write or acknowledge
			t.Fatalf("EnqueueAll()=%d, want 2", n)
		}
		if got := a.take(); len(got) != 0 {
			t.Fatalf("rounds that acknowledged nothing: calls %q", got)
		}

		// A failed write acknowledges nothing, so commits nothing.
		full = true
		mustAdd(t, b, recs(keyA, "e", 1, 0))
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
		if got := a.take(); len(got) != 0 {
			t.Fatalf("failed segment write: calls %q", got)
		}
	})
	t.Run("Memory", func(t *testing.T) {
		a := &commitAcker{}
		b, err := buffer.New(buffer.Config{}, &fakeSender{}, a, nil, newFakeClock())
		if err != nil {
			t.Fatal(err)
		}
		mustAdd(t, b, recs(keyA, "a", 2, 0))
		b.EnqueueAll()
		if err := b.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := b.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got, want := a.take(), []string{"ack a0 a1"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("memory buffer: calls %q, want %q", got, want)
		}
	})
}
