package tail

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCatalogue_09_CopytruncateShorter(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "app.log", "none", Config{Paths: []string{"app.log"}, ReadFromHead: true})
	h.readNew(wr, 5, "before")
	wr.truncate()
	h.pollNew(wr, 2, "from 0")
	if s := h.w.Stats(); s.Truncations != 1 {
		t.Fatalf("truncations = %d, want 1", s.Truncations)
	}
}

func TestCatalogue_10_CopytruncateRegrowPastOffset(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "app.log", "none", Config{Paths: []string{"app.log"}, ReadFromHead: true})
	old := h.readNew(wr, 5, "before")
	wr.truncate()
	wr.prefix = "regrown"
	want := wr.lines(9)
	if want[len(want)-1].Offset < old[len(old)-1].Offset {
		t.Fatal("test setup: did not regrow past the old offset")
	}
	h.poll()
	h.expect("from 0, not from the old offset", want)
	if s := h.w.Stats(); s.Truncations != 1 {
		t.Fatalf("truncations = %d, want 1", s.Truncations)
	}
}

func TestCatalogue_11_TruncatedWhileDown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines int
	}{{"shorter", 2}, {"longer", 9}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			wr, h := newTailed(t, dir, "app.log", "none", Config{Paths: []string{"app.log"}, ReadFromHead: true, PositionsFile: "pos"})
			want := h.readNew(wr, 5, "before")
			h.stop()
			wr.truncate()
			wr.prefix = "after"
			want = wr.lines(tc.lines)
			h.start()
			h.cycle()
			h.expect("from 0", want)
			if s := h.w.Stats(); s.Truncations != 1 || s.IdentityMismatches != 1 {
				t.Fatalf("truncations %d mismatches %d, want 1 1", s.Truncations, s.IdentityMismatches)
			}
		})
	}
}

func TestCatalogue_12_TruncationNULPadding(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/app.log"
	// The writer keeps its own offset (no O_APPEND).
	fd, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	h := newHarness(t, dir, Config{Paths: []string{"app.log"}, ReadFromHead: true, Format: FormatNone})
	first := "one\ntwo\nthree\n"
	if _, err := fd.WriteString(first); err != nil {
		t.Fatal(err)
	}
	h.cycle()
	h.expect("before", []got{{Text: "one", Offset: 4}, {Text: "two", Offset: 8}, {Text: "three", Offset: 14}})
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := fd.WriteString("four\n"); err != nil { // lands at offset 14: NUL hole before it
		t.Fatal(err)
	}
	h.poll()
	h.expect("after the hole", []got{{Text: "four", Offset: 19}})
	if s := h.w.Stats(); s.NULRuns != 1 || s.NULBytes != 14 || s.Truncations != 1 {
		t.Fatalf("NUL runs %d bytes %d truncations %d, want 1 14 1", s.NULRuns, s.NULBytes, s.Truncations)
	}
}

// editPositions rewrites the saved positions file with edit applied to each
// entry.
func editPositions(t *testing.T, path string, edit func(e *posEntry)) {
	t.Helper()
	entries, _, err := readPositions(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range entries {
		edit(&entries[i])
	}
	if err := writePositions(path, entries); err != nil {
		t.Fatal(err)
	}
}

func inode(t *testing.T, path string) (dev, ino uint64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return uint64(st.Dev), st.Ino
}

// inodeReused tails dir/a (a stands for the first pod's file), stops, removes
// it and writes n lines with prefix to dir/b; the saved entry of a is given
// b's inode, as a filesystem reusing it would (forced: the entry is
// rewritten). After the start b must be read from 0, checked as what.
func inodeReused(t *testing.T, a, b, prefix string, n int, what string) *harness {
	t.Helper()
	dir := t.TempDir()
	wa, h := newTailed(t, dir, a, "containerd", Config{Paths: []string{"*.log"}, ReadFromHead: true, PositionsFile: "pos"})
	h.readNew(wa, 5, "before")
	h.stop()
	os.Remove(wa.path)
	wb := newWriter(t, filepath.Join(dir, b), "containerd")
	wb.prefix = prefix
	wantB := wb.lines(n)
	dev, ino := inode(t, wb.path)
	editPositions(t, h.cfg.PositionsFile, func(e *posEntry) { e.dev, e.ino = dev, ino })
	h.start()
	h.cycle()
	h.expect(what, wantB)
	return h
}

func TestCatalogue_13_InodeReusedDifferentPath(t *testing.T) {
	h := inodeReused(t, "a.log", "b.log", "b", 7, "b from 0")
	if s := h.w.Stats(); s.IdentityMismatches != 1 {
		t.Fatalf("identity mismatches = %d, want 1", s.IdentityMismatches)
	}
}

func TestCatalogue_14_InodeReusedSamePath(t *testing.T) {
	inodeReused(t, "0.log", "0.log", "recreated", 8, "recreated from 0")
}

func TestCatalogue_15_DeviceChanged(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"*.log"}, ReadFromHead: true, PositionsFile: "pos"})
	want := h.readNew(wr, 5, "before")
	h.stop()
	editPositions(t, h.cfg.PositionsFile, func(e *posEntry) { e.dev += 7 }) // a reboot renumbered the device
	want = wr.lines(2)
	h.start()
	h.cycle()
	h.expect("resumed", want)
}

func TestCatalogue_16_IdenticalHeads(t *testing.T) {
	dir := t.TempDir()
	banner := strings.Repeat("=== banner ===\n", 100) // > 1 KiB
	h := newHarness(t, dir, Config{Paths: []string{"*.log"}, ReadFromHead: true, Format: FormatNone})
	var want []got
	for _, name := range []string{"a.log", "b.log"} {
		appendFile(t, dir+"/"+name, banner+fmt.Sprintf("only in %s\n", name))
	}
	h.cycle()
	lines := h.col.take()
	srcs := map[uint64]int{}
	for _, l := range lines {
		if !strings.HasPrefix(l.Text, "===") {
			want = append(want, l)
		}
		srcs[l.Source]++
	}
	if len(lines) != 202 || len(srcs) != 2 || len(want) != 2 || want[0].Text != "only in a.log" || want[1].Text != "only in b.log" {
		t.Fatalf("got %d lines from %d sources, unique %v", len(lines), len(srcs), want)
	}
}
