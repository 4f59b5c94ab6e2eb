package tail

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Tests named TestCatalogue_NN_* implement case NN of the edge-case catalogue
// in design.md §7.

var criStyles = []string{"containerd", "conmon"}

func TestCatalogue_01_RenameWhileRunning(t *testing.T) {
	forStyles(t, append(criStyles, "docker"), Config{Paths: []string{"0.log"}, ReadFromHead: true, PositionsFile: "pos"}, func(t *testing.T, wr *writer, h *harness) {
		h.readNew(wr, 3, "before")
		more := wr.lines(2) // written before the rename, not yet read
		wr.rotate("20260102-030405")
		next := wr.lines(3)
		h.poll()
		h.expect("across rename", append(more, next...))
		h.readNew(wr, 1, "after")
		if s := h.w.Stats(); s.Rotations != 1 {
			t.Fatalf("rotations = %d, want 1", s.Rotations)
		}
	})
}

func TestCatalogue_02_LateWritesIntoRenamed(t *testing.T) {
	forStyles(t, criStyles, Config{Paths: []string{"0.log"}, ReadFromHead: true}, func(t *testing.T, wr *writer, h *harness) {
		want := h.readNew(wr, 2, "before")
		rotated := wr.rotate("20260102-030405")
		h.poll() // first EOF of the renamed file
		h.clk.Advance(time.Second)
		old := &writer{t: t, path: rotated, style: wr.style, n: 50, size: want[1].Offset, prefix: "late"}
		late := old.lines(3) // the runtime still writes to the old inode
		wr.n = 100
		next := wr.lines(2)
		h.sync()
		h.poll()
		h.expect("late lines then new file", append(late, next...))
	})
}

func TestCatalogue_03_PartialAcrossRotation(t *testing.T) {
	forStyles(t, append(criStyles, "docker"), Config{Paths: []string{"0.log"}, ReadFromHead: true, PositionsFile: "pos"}, func(t *testing.T, wr *writer, h *harness) {
		dir := h.dir
		h.col.ack = false
		first := wr.lines(1)
		oldEnd := wr.raw("stdout", "P", "abc")
		rotated := wr.rotate("20260102-030405")
		newEnd := wr.raw("stdout", "F", "def")
		h.cycle()
		lines := h.expect("joined", append(first, got{Text: "abcdef", Offset: newEnd}))
		oldSrc, newSrc := lines[0].Source, lines[1].Source
		if oldSrc == newSrc || lines[1].Real != filepath.Join(dir, "0.log") {
			t.Fatalf("joined line source %d real %q; old source %d", newSrc, lines[1].Real, oldSrc)
		}
		// Crash before any ack: both files re-read, the line once again.
		h.save()
		h.crash()
		h.col.ack = false
		h.cycle()
		lines = h.col.take()
		check(t, "after crash", lines, append(first, got{Text: "abcdef", Offset: newEnd}))
		if lines[0].Real != rotated {
			t.Fatalf("first line read from %q, want %q", lines[0].Real, rotated)
		}
		// Ack the joined line: the old file's position moves past the P.
		h.col.ackAll(lines)
		if p, _ := h.w.Position(lines[0].Source); p != oldEnd {
			t.Fatalf("old file position = %d, want %d", p, oldEnd)
		}
		if p, _ := h.w.Position(lines[1].Source); p != newEnd {
			t.Fatalf("new file position = %d, want %d", p, newEnd)
		}
		h.restart()
		h.cycle()
		h.expect("after acked restart", nil)
	})
}

func TestCatalogue_04_RenameWhileDown(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, PositionsFile: "pos", ReadFromHead: true})
	h.readNew(wr, 3, "before")
	h.stop()
	rest := wr.lines(2) // the rest of inode A, unread
	wr.rotate("20260102-030405")
	next := wr.lines(2)
	h.start()
	h.cycle()
	h.expect("rest of A, then new file", append(rest, next...))
}

func TestCatalogue_05_RotatedAndCompressedWhileDown(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, PositionsFile: "pos", ReadFromHead: true})
	h.col.ack = false
	lines := h.readNew(wr, 5, "read")
	h.col.ackAll(lines[:3]) // 4 and 5 are in flight when the agent stops
	h.stop()
	rot := wr.rotate("20260102-030405")
	if err := os.WriteFile(rot+".gz", []byte("gz"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(rot); err != nil {
		t.Fatal(err)
	}
	next := wr.lines(2)
	h.start()
	h.cycle()
	h.expect("new file from 0", next)
	s := h.w.Stats()
	if s.Gaps != 1 || s.GapBytes != lines[4].Offset-lines[2].Offset {
		t.Fatalf("gaps = %d (%d bytes), want 1 (%d bytes)", s.Gaps, s.GapBytes, lines[4].Offset-lines[2].Offset)
	}
}

func TestCatalogue_06_RotationRollback(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true})
	want := h.readNew(wr, 3, "before")
	rot := wr.path + ".20260102-030405"
	if err := os.Rename(wr.path, rot); err != nil {
		t.Fatal(err)
	}
	h.poll() // sees the rename
	if err := os.Rename(rot, wr.path); err != nil {
		t.Fatal(err)
	}
	wr.size = want[2].Offset
	h.clk.Advance(time.Second)
	h.poll() // back at its path
	h.clk.Advance(DefaultRotateWait * 2)
	h.cycle()
	h.readNew(wr, 2, "after rollback")
	if s := h.w.Stats(); s.Truncations != 0 || s.FilesOpen != 1 || s.FilesOpened != 1 {
		t.Fatalf("truncations %d open %d opened %d, want 0 1 1", s.Truncations, s.FilesOpen, s.FilesOpened)
	}
}

func TestCatalogue_07_DockerCompressRotation(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/abc-json.log"
	wr := newWriter(t, p, "docker")
	h := newHarness(t, dir, Config{Paths: []string{"*-json.log"}, ReadFromHead: true})
	h.readNew(wr, 2, "before")
	rest := wr.lines(2)
	one := wr.rotate("1")
	next := wr.lines(2)
	// compress=true: .1 is gzipped asynchronously and unlinked.
	if err := os.WriteFile(one+".gz", []byte("gz"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(one); err != nil {
		t.Fatal(err)
	}
	h.poll()
	h.expect("held fd finishes .1, then the new file", append(rest, next...))
	h.clk.Advance(DefaultRotateWait)
	h.poll()
	h.clk.Advance(DefaultRotateWait)
	h.poll()
	if s := h.w.Stats(); s.FilesOpen != 1 || s.GivenUpFiles != 0 {
		t.Fatalf("open %d given up %d, want 1 0", s.FilesOpen, s.GivenUpFiles)
	}
}

func TestCatalogue_08_ExcessFileDeletionWhileLagging(t *testing.T) {
	dir := t.TempDir()
	wr := newWriter(t, dir+"/0.log", "containerd")
	// The agent lags: 200 bytes per file per turn.
	h := newHarness(t, dir, Config{Paths: []string{"0.log"}, ReadFromHead: true, ReadBudget: 200, MaxDeletedFiles: 1})
	h.cycle()
	a := wr.lines(20)
	h.sync() // A is open
	wr.rotate("20260102-030400")
	b := wr.lines(20)
	h.sync() // B is open too (A as a rotated sibling)
	wr.rotate("20260102-030500")
	c := wr.lines(20)
	// MaxFiles=2: the kubelet deletes the two oldest rotated files.
	for _, s := range []string{"20260102-030400", "20260102-030500"} {
		if err := os.Remove(wr.path + "." + s); err != nil {
			t.Fatal(err)
		}
	}
	h.poll()
	// Two deleted files held, bound 1: A (the oldest) is given up with
	// exactly its unread bytes counted.
	s := h.w.Stats()
	gotLines := h.col.take()
	var readA int64 // the end of what was framed from A
	for _, l := range gotLines {
		if containsText(a, l.Text) {
			readA = max(readA, l.Offset)
		}
	}
	if s.GivenUpFiles != 1 {
		t.Fatalf("given up files = %d, want 1", s.GivenUpFiles)
	}
	if want := a[len(a)-1].Offset - readA; s.GivenUpBytes != want {
		t.Fatalf("given up bytes = %d, want %d (read up to %d)", s.GivenUpBytes, want, readA)
	}
	for i := 0; i < 40; i++ {
		h.clk.Advance(time.Second)
		h.cycle()
		gotLines = append(gotLines, h.col.take()...)
	}
	// B and C are read completely, each line once; no line of A is read
	// twice and no stale offset was applied to another inode.
	seen := map[string]int{}
	for _, l := range gotLines {
		seen[l.Text]++
	}
	for _, l := range append(b, c...) {
		if seen[l.Text] != 1 {
			t.Fatalf("line %q read %d times, want 1", l.Text, seen[l.Text])
		}
	}
	for _, l := range a {
		if seen[l.Text] > 1 {
			t.Fatalf("line %q read %d times", l.Text, seen[l.Text])
		}
	}
}

func containsText(ls []got, text string) bool {
	for _, l := range ls {
		if l.Text == text {
			return true
		}
	}
	return false
}
