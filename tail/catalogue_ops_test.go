package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

func TestCatalogue_29_SymlinkRetargeted(t *testing.T) {
	// start tails a pod's 0.log through its link and reads two lines.
	start := func(t *testing.T) (link, real0 string, w0 *writer, h *harness) {
		dir := t.TempDir()
		link, real0 = k8sLayout(t, dir, "web")
		w0 = newWriter(t, real0, "containerd")
		h = newHarness(t, dir, Config{Paths: []string{filepath.Join(dir, "containers", "*.log")}, ReadFromHead: true})
		h.readNew(w0, 2, "0.log")
		return link, real0, w0, h
	}
	t.Run("same link re-pointed", func(t *testing.T) {
		link, real0, w0, h := start(t)
		// Container restart: 1.log, the link re-pointed; 0.log gets its last lines.
		real1 := filepath.Join(filepath.Dir(real0), "1.log")
		w1 := newWriter(t, real1, "containerd")
		w1.prefix = "restarted"
		want1 := w1.lines(2)
		os.Remove(link)
		os.Symlink(real1, link)
		last0 := w0.lines(1)
		h.cycle()
		lines := h.expect("last of 0.log, then 1.log", append(last0, want1...))
		if lines[0].Real != real0 || lines[1].Real != real1 || lines[1].Path != link {
			t.Fatalf("real paths %q %q path %q", lines[0].Real, lines[1].Real, lines[1].Path)
		}
	})
	t.Run("new link name", func(t *testing.T) {
		link0, real0, _, h := start(t)
		real1 := filepath.Join(filepath.Dir(real0), "1.log")
		link1 := strings.Replace(link0, "abab", "cdcd", 1)
		w1 := newWriter(t, real1, "containerd")
		want1 := w1.lines(2)
		os.Symlink(real1, link1)
		h.cycle()
		lines := h.expect("1.log", want1)
		if lines[0].Path != link1 {
			t.Fatalf("path %q, want the new container's link %q", lines[0].Path, link1)
		}
	})
}

func TestCatalogue_30_SymlinkRemovedBeforeTarget(t *testing.T) {
	dir := t.TempDir()
	link, real := k8sLayout(t, dir, "web")
	wr := newWriter(t, real, "containerd")
	h := newHarness(t, dir, Config{Paths: []string{filepath.Join(dir, "containers", "*.log")}, ReadFromHead: true})
	h.readNew(wr, 2, "before")
	last := wr.lines(3)
	os.Remove(link) // pod deleted: the link goes first
	h.cycle()
	lines := h.expect("read to EOF", last)
	if lines[0].Path != link {
		t.Fatalf("path %q, want %q", lines[0].Path, link)
	}
	os.RemoveAll(filepath.Join(dir, "pods"))
	h.clk.Advance(DefaultRotateWait)
	h.cycle()
	h.clk.Advance(DefaultRotateWait)
	h.cycle()
	if s := h.w.Stats(); s.FilesOpen != 0 {
		t.Fatalf("files open = %d, want 0", s.FilesOpen)
	}
}

func TestCatalogue_38_KillAfterAckBeforeSave(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true, PositionsFile: "pos"})
	h.readNew(wr, 3, "first")
	h.save()             // the periodic save
	since := wr.lines(4) // read and acked, not yet checkpointed
	h.poll()
	h.expect("acked", since)
	h.crash() // kill -9
	h.cycle()
	h.expect("duplicates only since the last save", since)
}

func TestCatalogue_40_PowerLossDuringSave(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true, PositionsFile: "pos"})
	h.readNew(wr, 3, "first")
	h.save()
	if ents, _ := filepath.Glob(filepath.Join(dir, "pos.tmp-*")); len(ents) != 0 {
		t.Fatalf("temp files left: %v", ents)
	}
	// Power loss in the middle of the next save: a torn temp file.
	if err := os.WriteFile(filepath.Join(dir, "pos.tmp-123"), []byte("logship-tail-positions\t1\nf\t1"), 0o644); err != nil {
		t.Fatal(err)
	}
	more := wr.lines(2)
	h.crash()
	h.cycle()
	h.expect("previous checkpoint used", more)

	// A damaged positions file is never read as empty (that would skip
	// nothing but lose the position): it is moved aside and every file is
	// read again from its start (TestPositions_CorruptAtStart).
	for name, data := range map[string]string{"empty": "", "torn": "logship-tail-positions\t1\nf\t1\t2"} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(h.cfg.PositionsFile, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			h.crash()
			if err := h.w.Sync(context.Background()); err != nil {
				t.Fatalf("Sync() = %v, want a start despite the corrupt file", err)
			}
			if s := h.w.Stats(); s.PositionsCorrupt != 1 {
				t.Fatalf("PositionsCorrupt = %d, want 1", s.PositionsCorrupt)
			}
			if _, err := os.Stat(h.cfg.PositionsFile + ".bad"); err != nil {
				t.Fatalf("corrupt file not kept aside: %v", err)
			}
		})
	}
}

func TestCatalogue_41_RollingUpdateLock(t *testing.T) {
	dir := t.TempDir()
	wr := newWriter(t, dir+"/0.log", "containerd")
	want := wr.lines(2)
	cfg := Config{Paths: []string{dir + "/0.log"}, ReadFromHead: true, PositionsFile: dir + "/pos", PollInterval: 10 * time.Millisecond, DisableNotify: true}
	r1 := goRun(t, cfg, nil)
	old := r1.col
	waitFor(t, func() bool { return len(old.snapshot()) == 2 })

	r2 := goRun(t, cfg, nil)
	newer := r2.col
	time.Sleep(100 * time.Millisecond)
	if n := len(newer.snapshot()); n != 0 {
		t.Fatalf("new agent read %d lines while the old one holds the lock", n)
	}
	// The old agent drains: Run returns, positions saved, then Close.
	r1.stop(t)
	more := wr.lines(1)
	if err := r1.w.SavePositions(); err != nil {
		t.Fatal(err)
	}
	r1.w.Close()
	waitFor(t, func() bool { return len(newer.snapshot()) == 1 })
	check(t, "new agent resumes", newer.snapshot(), more)
	check(t, "old agent", old.snapshot(), want)
}

func (c *collector) snapshot() []got {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]got(nil), c.lines...)
}

// waitFor polls cond for up to 10 s (integration tests over real files).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runWatcher runs a watcher with notifications on and long poll and refresh
// intervals, so only inotify (or an injected event) can wake it.
func runWatcher(t *testing.T, cfg Config, setup func(w *Watcher)) (*Watcher, *collector) {
	t.Helper()
	r := goRun(t, cfg, setup)
	return r.w, r.col
}

func TestCatalogue_43_NotifyOverflowRescan(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "pods")
	os.MkdirAll(sub, 0o755)
	var nw atomic.Pointer[fsnotify.Watcher]
	cfg := Config{Paths: []string{sub + "/*.log"}, ReadFromHead: true, PollInterval: time.Hour, RefreshInterval: time.Hour, SaveInterval: time.Hour}
	w, col := runWatcher(t, cfg, func(w *Watcher) {
		w.newNotify = func() (*fsnotify.Watcher, error) {
			n, err := fsnotify.NewWatcher()
			nw.Store(n)
			return n, err
		}
	})
	waitFor(t, func() bool { return nw.Load() != nil && len(nw.Load().WatchList()) > 0 })
	// Events are lost: drop the kernel watch, then burst file creation.
	n := nw.Load()
	if err := n.Remove(sub); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		appendFile(t, filepath.Join(sub, fmt.Sprintf("%02d.log", i)), fmt.Sprintf("file %d\n", i))
	}
	time.Sleep(50 * time.Millisecond)
	if got := len(col.snapshot()); got != 0 {
		t.Fatalf("got %d lines without events", got)
	}
	n.Errors <- fsnotify.ErrEventOverflow
	waitFor(t, func() bool { return len(col.snapshot()) == 50 })
	if s := w.Stats(); s.NotifyOverflows != 1 {
		t.Fatalf("overflows = %d, want 1", s.NotifyOverflows)
	}
}

func TestCatalogue_44_NotifyUnavailablePolling(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENOSPC} {
		t.Run(errno.Error(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Paths: []string{dir + "/*.log"}, ReadFromHead: true, PollInterval: 10 * time.Millisecond, RefreshInterval: 20 * time.Millisecond, SaveInterval: time.Hour}
			w, col := runWatcher(t, cfg, func(w *Watcher) {
				w.newNotify = func() (*fsnotify.Watcher, error) { return nil, errno }
			})
			appendFile(t, dir+"/a.log", "one\n")
			waitFor(t, func() bool { return len(col.snapshot()) == 1 })
			appendFile(t, dir+"/a.log", "two\n")
			waitFor(t, func() bool { return len(col.snapshot()) == 2 })
			if s := w.Stats(); s.NotifyDisabled != 1 {
				t.Fatalf("notify disabled = %d, want 1", s.NotifyDisabled)
			}
		})
	}
}

func TestWatcher_RunNotifyLatency(t *testing.T) {
	dir := t.TempDir()
	appendFile(t, dir+"/a.log", "")
	cfg := Config{Paths: []string{dir + "/*.log"}, ReadFromHead: true, PollInterval: time.Hour, RefreshInterval: time.Hour, SaveInterval: time.Hour}
	w, col := runWatcher(t, cfg, nil)
	waitFor(t, func() bool { return w.Stats().FilesOpen == 1 })
	time.Sleep(20 * time.Millisecond) // let Run add its watches
	appendFile(t, dir+"/a.log", "written\n")
	waitFor(t, func() bool { return len(col.snapshot()) == 1 }) // woken by inotify, not by the hourly poll
	appendFile(t, dir+"/b.log", "new file\n")
	waitFor(t, func() bool { return len(col.snapshot()) == 2 })
	check(t, "lines", col.snapshot(), []got{{Text: "written", Offset: 8}, {Text: "new file", Offset: 9}})
}

func TestCatalogue_45_ManyFilesFewActive(t *testing.T) {
	dir := t.TempDir()
	const files, active = 2000, 20
	for i := 0; i < files; i++ {
		appendFile(t, filepath.Join(dir, fmt.Sprintf("%04d.log", i)), "2024-01-01T00:00:00Z stdout F boot\n")
	}
	h := newHarness(t, dir, Config{Paths: []string{"*.log"}})
	h.cycle()
	if s := h.w.Stats(); s.FilesOpen != files {
		t.Fatalf("files open = %d, want %d", s.FilesOpen, files)
	}
	for i := 0; i < active; i++ {
		appendFile(t, filepath.Join(dir, fmt.Sprintf("%04d.log", i*100)), "2024-01-01T00:00:00Z stdout F active\n")
	}
	start := time.Now()
	h.poll()
	elapsed := time.Since(start)
	lines := h.col.take()
	if len(lines) != active {
		t.Fatalf("got %d lines, want %d", len(lines), active)
	}
	t.Logf("one poll over %d files (%d active): %v", files, active, elapsed)
}

func TestCatalogue_46_OutputBlockedWithRotation(t *testing.T) {
	dir := t.TempDir()
	wr := newWriter(t, dir+"/0.log", "containerd")
	// Output blocked: nothing is acknowledged; the agent lags (small budget).
	h := newHarness(t, dir, Config{Paths: []string{"0.log"}, ReadFromHead: true, ReadBudget: 300,
		MaxDeletedFiles: 2, MaxDeletedAge: 10 * time.Minute, PositionsFile: "pos"})
	h.col.ack = false
	h.cycle()
	var sizes []int64
	for r := 0; r < 4; r++ {
		wr.lines(30)
		h.sync()
		sizes = append(sizes, wr.size)
		rot := wr.rotate(fmt.Sprintf("20260102-0304%02d", r))
		os.Remove(rot) // compressed and removed at once
	}
	wr.lines(1)
	h.poll()
	s := h.w.Stats()
	if s.FilesDeletedHeld > 2 {
		t.Fatalf("deleted files held = %d, bound 2", s.FilesDeletedHeld)
	}
	if s.GivenUpFiles != 2 {
		t.Fatalf("given up files = %d, want 2", s.GivenUpFiles)
	}
	// The given-up bytes are exactly what was not framed into lines.
	h.clk.Advance(11 * time.Minute)
	h.poll() // gives up the rest
	h.drain()
	s2 := h.w.Stats()
	framed := map[uint64]int64{}
	for _, l := range h.col.take() {
		framed[l.Source] = max(framed[l.Source], l.Offset)
	}
	var total, got int64
	for _, sz := range sizes {
		total += sz
	}
	total += wr.size
	for _, n := range framed {
		got += n
	}
	if got+s2.GivenUpBytes != total {
		t.Fatalf("framed %d + given up %d = %d, want every byte accounted: %d", got, s2.GivenUpBytes, got+s2.GivenUpBytes, total)
	}
	if s2.FilesDeletedHeld != 0 {
		t.Fatalf("deleted held after max age = %d, want 0", s2.FilesDeletedHeld)
	}
	// No acks: the saved position never moved.
	h.save()
	entries, _, _ := readPositions(h.cfg.PositionsFile)
	for _, e := range entries {
		if e.pos != 0 {
			t.Fatalf("position %d for %s without acks", e.pos, e.realPath)
		}
	}
}

func TestCatalogue_47_OldMtimeStillAppended(t *testing.T) {
	dir := t.TempDir()
	wr := newWriter(t, dir+"/0.log", "containerd")
	old := dir + "/old.log"
	appendFile(t, old, "2024-01-01T00:00:00Z stdout F stale\n")
	past := time.Now().Add(-48 * time.Hour)
	os.Chtimes(old, past, past)
	h := newHarness(t, dir, Config{Paths: []string{"*.log"}, ReadFromHead: true, LimitRecentlyModified: time.Hour})
	h.clk.Set(time.Now())
	h.readNew(wr, 1, "recent file only")
	// The followed file's mtime goes stale (unreliable mtimes), yet it is
	// appended to: still followed.
	os.Chtimes(wr.path, past, past)
	h.clk.Advance(2 * time.Hour)
	h.sync()
	want := wr.lines(2)
	os.Chtimes(wr.path, past, past)
	h.cycle()
	h.expect("still followed", want)
}

// TestCatalogue_01_RenameThroughSymlink is case 1 in the Kubernetes layout:
// the glob matches /var/log/containers symlinks, the kubelet rotates the real
// file under /var/log/pods; lines keep the symlink as Path.
func TestCatalogue_01_RenameThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	link, real := k8sLayout(t, dir, "web")
	wr := newWriter(t, real, "containerd")
	h := newHarness(t, dir, Config{Paths: []string{filepath.Join(dir, "containers", "*.log")}, ReadFromHead: true, PositionsFile: "pos"})
	h.readNew(wr, 3, "before")
	more := wr.lines(2)
	rotated := wr.rotate("20260102-030405")
	next := wr.lines(2)
	h.poll()
	lines := h.expect("across rename", append(more, next...))
	for i, l := range lines {
		wantReal := real
		if i < len(more) {
			wantReal = rotated
		}
		if l.Path != link || (l.Real != wantReal && !(i < len(more) && l.Real == real)) {
			t.Fatalf("line %d path %q real %q", i, l.Path, l.Real)
		}
	}
	h.restart()
	h.readNew(wr, 1, "after restart")
}

// TestWatcher_RunRotationWithNotify: with inotify on and the safety-net poll
// and refresh an hour away, a kubelet rotation (rename, new file) is followed
// through directory events alone.
func TestWatcher_RunRotationWithNotify(t *testing.T) {
	dir := t.TempDir()
	link, real := k8sLayout(t, dir, "web")
	cfg := Config{Paths: []string{filepath.Join(dir, "containers", "*.log")}, ReadFromHead: true,
		PollInterval: time.Hour, RefreshInterval: time.Hour, SaveInterval: time.Hour, RotateWait: 50 * time.Millisecond}
	w, col := runWatcher(t, cfg, nil)
	waitFor(t, func() bool { return w.Stats().FilesOpen == 1 })
	time.Sleep(20 * time.Millisecond) // let Run add its watches
	wr := newWriter(t, real, "containerd")
	want := wr.lines(3)
	waitFor(t, func() bool { return len(col.snapshot()) == 3 })
	want = append(want, wr.lines(2)...)
	wr.rotate("20260102-030405")
	want = append(want, wr.lines(3)...)
	waitFor(t, func() bool { return len(col.snapshot()) == len(want) })
	got := col.snapshot()
	check(t, "lines", got, want)
	for _, l := range got {
		if l.Path != link {
			t.Fatalf("path %q, want %q", l.Path, link)
		}
	}
	if s := w.Stats(); s.NotifyDisabled != 0 {
		t.Fatalf("notify disabled")
	}
}
