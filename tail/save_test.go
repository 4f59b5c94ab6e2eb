package tail

import (
	"context"
	"testing"
	"time"
)

// saverRig is a watcher with 10 lines read and not acknowledged, its saver
// running with an injected timer (each wait is sent on waits, the timer
// fires when a time is sent on fire) and each save signalled on saved.
type saverRig struct {
	h     *harness
	lines []got
	waits chan time.Duration
	fire  chan time.Time
	saved chan struct{}
}

// newSaverRig starts the rig's saver with SaveCoalesce 200 ms; it stops at
// the test's end.
func newSaverRig(t *testing.T) *saverRig {
	t.Helper()
	h := newHarness(t, t.TempDir(), Config{Paths: []string{"0.log"}, ReadFromHead: true, PositionsFile: "pos",
		SaveInterval: time.Hour, SaveCoalesce: 200 * time.Millisecond})
	h.col.ack = false
	r := &saverRig{h: h, waits: make(chan time.Duration, 4), fire: make(chan time.Time), saved: make(chan struct{}, 4)}
	h.w.after = func(d time.Duration) <-chan time.Time { r.waits <- d; return r.fire }
	h.w.onSaved = func() { r.saved <- struct{}{} }
	wr := newWriter(t, h.path("0.log"), "containerd")
	r.lines = h.readNew(wr, 10, "read")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.w.runSaver(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// savedPos is the position the positions file holds for the one file.
func (r *saverRig) savedPos(t *testing.T) int64 {
	t.Helper()
	entries, _, err := readPositions(r.h.cfg.PositionsFile)
	if err != nil || len(entries) != 1 {
		t.Fatalf("positions: %v %v", entries, err)
	}
	return entries[0].pos
}

// TestSaver_PositionsFollowAcks drives the ack-driven saver with an injected
// clock and timer: an ack saves at once, the next ones within SaveCoalesce
// wait for the timer and are coalesced into one save, and each save holds the
// position the acks reached.
func TestSaver_PositionsFollowAcks(t *testing.T) {
	r := newSaverRig(t)
	h, lines, waits, fire, saved := r.h, r.lines, r.waits, r.fire, r.saved
	savedPos := func() int64 { t.Helper(); return r.savedPos(t) }
	// First ack: saved without waiting.
	h.col.ackAll(lines[:3])
	receive(t, saved, "no save after the first ack")
	if p := savedPos(); p != lines[2].Offset {
		t.Fatalf("saved %d, want %d", p, lines[2].Offset)
	}
	// Two more acks at once: one coalesced save after the timer.
	h.clk.Advance(50 * time.Millisecond)
	h.col.ackAll(lines[3:6])
	h.col.ackAll(lines[6:8])
	d := receive(t, waits, "saver did not wait for the coalescing timer")
	if d != 150*time.Millisecond {
		t.Fatalf("saver waits %v, want the rest of SaveCoalesce (150ms)", d)
	}
	select {
	case <-saved:
		t.Fatal("saved before the coalescing timer fired")
	default:
	}
	h.clk.Advance(d)
	fire <- h.clk.Now()
	receive(t, saved, "no save after the timer")
	if p := savedPos(); p != lines[7].Offset {
		t.Fatalf("saved %d, want %d", p, lines[7].Offset)
	}
	if n := h.w.Stats().PositionsSaved; n != 2 {
		t.Fatalf("%d saves, want 2 (the second coalesced)", n)
	}
	// An unknown ack moves nothing and saves nothing.
	h.w.Ack(9999, 1)
	if h.w.ackDirty.Load() {
		t.Fatal("an unknown ack marked the positions dirty")
	}
}

// TestSaver_SaveNow: SaveNow ends the saver's coalescing wait at once, with
// the clock short of SaveCoalesce, and the save holds every acknowledgement
// made before it; the ack after that saves again only when SaveCoalesce has
// passed since, and SaveNow with nothing acknowledged since the last save
// saves nothing.
func TestSaver_SaveNow(t *testing.T) {
	r := newSaverRig(t)
	h, lines, waits, fire, saved := r.h, r.lines, r.waits, r.fire, r.saved
	savedPos := func() int64 { t.Helper(); return r.savedPos(t) }
	noSave := func(why string) {
		t.Helper()
		select {
		case <-saved:
			t.Fatal(why)
		default:
		}
	}
	h.col.ackAll(lines[:2])
	receive(t, saved, "no save after the first ack")

	// Acks within SaveCoalesce wait for the timer …
	h.clk.Advance(50 * time.Millisecond)
	h.col.ackAll(lines[2:4])
	if d := receive(t, waits, "saver did not wait for the coalescing timer"); d != 150*time.Millisecond {
		t.Fatalf("saver waits %v, want 150ms", d)
	}
	h.col.ackAll(lines[4:6])
	noSave("saved before the coalescing timer fired")
	// … until SaveNow: saved at once, the clock not moved, the timer not fired.
	h.w.SaveNow()
	receive(t, saved, "no save after SaveNow")
	if p := savedPos(); p != lines[5].Offset {
		t.Fatalf("saved %d, want %d (every ack before SaveNow)", p, lines[5].Offset)
	}

	// An ordinary ack after the urgent save waits a whole SaveCoalesce.
	h.clk.Advance(10 * time.Millisecond)
	h.col.ackAll(lines[6:8])
	if d := receive(t, waits, "ack after SaveNow did not wait"); d != 190*time.Millisecond {
		t.Fatalf("saver waits %v, want 190ms (SaveCoalesce since the urgent save)", d)
	}
	noSave("ordinary ack saved before the coalescing timer fired")
	h.clk.Advance(190 * time.Millisecond)
	fire <- h.clk.Now()
	receive(t, saved, "no save after the timer")
	if p := savedPos(); p != lines[7].Offset {
		t.Fatalf("saved %d, want %d", p, lines[7].Offset)
	}

	// Nothing acknowledged since: SaveNow does nothing.
	h.w.SaveNow()
	if h.w.saveUrgent.Load() {
		t.Fatal("SaveNow with clean positions marked a save urgent")
	}
	if n := h.w.Stats().PositionsSaved; n != 3 {
		t.Fatalf("%d saves, want 3", n)
	}
}
