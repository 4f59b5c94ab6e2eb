package tail

import (
	"os"
	"testing"
	"time"
)

func TestFollower_Basic(t *testing.T) {
	forStyles(t, []string{"containerd", "conmon", "docker", "none"}, Config{Paths: []string{"*.log"}, ReadFromHead: true}, func(t *testing.T, wr *writer, h *harness) {
		h.readNew(wr, 3, "first")
		h.pollNew(wr, 2, "appended")
		h.poll()
		h.expect("idle", nil)
	})
}

func TestFollower_PartialWriteNotEmitted(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/0.log"
	h := newHarness(t, dir, Config{Paths: []string{"*.log"}, ReadFromHead: true, Format: FormatNone})
	appendFile(t, p, "abc\nde")
	h.cycle()
	h.expect("partial", []got{{Text: "abc", Offset: 4}})
	appendFile(t, p, "f\n")
	h.poll()
	h.expect("completed", []got{{Text: "def", Offset: 8}})
}

func TestFollower_StartAtEndWithoutReadFromHead(t *testing.T) {
	dir := t.TempDir()
	wr := newWriter(t, dir+"/0.log", "containerd")
	wr.lines(3)
	h := newHarness(t, dir, Config{Paths: []string{"*.log"}})
	h.cycle()
	h.expect("existing skipped", nil)
	h.pollNew(wr, 2, "new lines")
	// A file created after the first discovery is read from its head.
	wr2 := newWriter(t, dir+"/1.log", "containerd")
	h.readNew(wr2, 2, "new file")
}

func TestFollower_RestartResumes(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"*.log"}, ReadFromHead: true, PositionsFile: "pos"})
	h.readNew(wr, 3, "first")
	h.restart()
	h.readNew(wr, 2, "after restart")
}

func TestFollower_AckLowWaterMark(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"*.log"}, ReadFromHead: true, PositionsFile: "pos"})
	h.col.ack = false
	lines := h.readNew(wr, 5, "read")
	src := lines[0].Source
	pos := func() int64 { p, _ := h.w.Position(src); return p }
	// Ack out of order: 2, 4 then 1 then 3 then 5.
	h.w.Ack(src, lines[1].Offset)
	h.w.Ack(src, lines[3].Offset)
	if got := pos(); got != 0 {
		t.Fatalf("position after acking 2,4 = %d, want 0", got)
	}
	h.w.Ack(src, lines[0].Offset)
	if got, want := pos(), lines[1].Offset; got != want {
		t.Fatalf("position after acking 1 = %d, want %d", got, want)
	}
	h.w.Ack(src, lines[2].Offset)
	if got, want := pos(), lines[3].Offset; got != want {
		t.Fatalf("position after acking 3 = %d, want %d", got, want)
	}
	// A crash now re-reads line 5 only.
	h.save()
	h.crash()
	h.col.ack = true
	h.cycle()
	h.expect("after crash", lines[4:])
}

func TestFollower_UnackedReshippedAfterCrash(t *testing.T) {
	// Catalogue case 39 (design.md §7): kill -9 after reading, before the ack.
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"*.log"}, ReadFromHead: true, PositionsFile: "pos"})
	h.col.ack = false
	want := h.readNew(wr, 4, "read")
	h.save()
	h.crash()
	h.cycle()
	h.expect("re-sent", want)
}

func TestFollower_RotateWaitQuiescence(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"*.log"}, ReadFromHead: true, RotateWait: 5 * time.Second})
	want := h.readNew(wr, 2, "before")
	rot := wr.rotate("20260102-030405")
	want = wr.lines(2) // the new 0.log
	h.poll()           // detects the rename, opens and reads the new file
	h.expect("new file", want)
	if h.w.Stats().Rotations != 1 {
		t.Fatalf("rotations = %d, want 1", h.w.Stats().Rotations)
	}
	// Late write into the renamed file after a first EOF.
	h.clk.Advance(4 * time.Second)
	late := &writer{t: t, path: rot, style: "containerd", n: 100, size: want[1].Offset, prefix: "late"}
	h.pollNew(late, 1, "late")
	h.clk.Advance(4 * time.Second)
	h.poll()
	if got := h.w.Stats().FilesOpen; got != 2 {
		t.Fatalf("files open = %d, want 2 (not quiescent yet)", got)
	}
	h.clk.Advance(6 * time.Second)
	h.poll()
	if got := h.w.Stats().FilesOpen; got != 1 {
		t.Fatalf("files open = %d, want 1 after quiescence", got)
	}
}

func TestFollower_DeletedDrained(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"*.log"}, ReadFromHead: true})
	want := h.readNew(wr, 2, "before")
	// Write, then delete before the tailer reads: the held fd drains it.
	fd, err := os.OpenFile(wr.path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	want = wr.lines(3)
	if err := os.Remove(wr.path); err != nil {
		t.Fatal(err)
	}
	h.poll()
	h.expect("drained", want)
	fd.Close()
	if got := h.w.Stats().FilesDeletedHeld; got != 1 {
		t.Fatalf("deleted held = %d, want 1", got)
	}
	h.clk.Advance(DefaultRotateWait)
	h.poll()
	h.clk.Advance(DefaultRotateWait)
	h.poll()
	if got := h.w.Stats(); got.FilesDeletedHeld != 0 || got.FilesOpen != 0 || got.GivenUpFiles != 0 {
		t.Fatalf("after drain: held %d open %d given up %d, want 0 0 0", got.FilesDeletedHeld, got.FilesOpen, got.GivenUpFiles)
	}
}
