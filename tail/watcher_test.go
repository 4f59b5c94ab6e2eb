package tail

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWatcher_SyncBetweenRenameAndCreate(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true})
	h.readNew(wr, 3, "before")
	wr.rotate("20260102-030405")
	for i := 0; i < 3; i++ { // the rotated file drains and closes; no new file yet
		h.cycle()
		h.clk.Advance(DefaultRotateWait)
	}
	h.cycle()
	if s := h.w.Stats(); s.FilesOpen != 0 {
		t.Fatalf("files open = %d, want 0", s.FilesOpen)
	}
	h.readNew(wr, 2, "only the new file")
}

func TestWatcher_ExcludeAndGlobs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.log", "b.log", "skip.log", "c.txt", "d.txt.gz"} {
		appendFile(t, filepath.Join(dir, name), name+"\n")
	}
	h := newHarness(t, dir, Config{Paths: []string{"*.log", "*.txt"}, ExcludePaths: []string{filepath.Join(dir, "skip*")},
		ReadFromHead: true, Format: FormatNone})
	h.cycle()
	got := map[string]bool{}
	for _, l := range h.col.take() {
		got[l.Text] = true
	}
	if len(got) != 3 || !got["a.log"] || !got["b.log"] || !got["c.txt"] {
		t.Fatalf("read %v, want a.log b.log c.txt", got)
	}
}

func TestWatcher_RotatedSiblingsFound(t *testing.T) {
	// At a first start without positions and with read_from_head, the
	// rotated siblings of a log are read oldest first, then the current file;
	// compressed and temporary files are ignored.
	dir := t.TempDir()
	base := filepath.Join(dir, "pods", "ns_pod_uid", "app", "0.log")
	os.MkdirAll(filepath.Dir(base), 0o755)
	appendFile(t, base+".20260101-000000", "2026-01-01T00:00:00Z stdout F one\n")
	appendFile(t, base+".20260101-010000", "2026-01-01T00:00:00Z stdout F two\n")
	appendFile(t, base+".20250101-000000.gz", "gz")
	appendFile(t, base+".20260101-020000.tmp", "tmp")
	appendFile(t, base, "2026-01-01T00:00:00Z stdout F three\n")
	link := filepath.Join(dir, "containers", "pod_ns_app-1.log")
	os.MkdirAll(filepath.Dir(link), 0o755)
	os.Symlink(base, link)
	h := newHarness(t, dir, Config{Paths: []string{filepath.Join(dir, "containers", "*.log")}, ReadFromHead: true})
	h.cycle()
	lines := h.col.take()
	if got := texts(lines); len(got) != 3 || got[0] != "one" || got[1] != "two" || got[2] != "three" {
		t.Fatalf("got %q", got)
	}
	for _, l := range lines {
		if l.Path != link {
			t.Fatalf("path %q, want the symlink %q", l.Path, link)
		}
	}
}

func TestWatcher_DockerAutoDetect(t *testing.T) {
	dir := t.TempDir()
	appendFile(t, dir+"/d.log", `{"log":"docker line\n","stream":"stderr","time":"2017-09-25T18:00:00Z"}`+"\n")
	appendFile(t, dir+"/c.log", "2024-01-01T00:00:00Z stdout F cri line\n")
	appendFile(t, dir+"/n.log", "plain line\n")
	h := newHarness(t, dir, Config{Paths: []string{"*.log"}, ReadFromHead: true})
	h.cycle()
	got := map[string]Stream{}
	for _, l := range h.col.take() {
		got[l.Text] = l.Stream
	}
	if len(got) != 3 || got["docker line"] != StreamStderr || got["cri line"] != StreamStdout || got["plain line"] != StreamNone {
		t.Fatalf("got %v", got)
	}
}

func TestWatcher_MalformedPassesThrough(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/0.log"
	h := newHarness(t, dir, Config{Paths: []string{"0.log"}, ReadFromHead: true, Format: FormatCRI})
	appendFile(t, p, "not a cri record\n2024-01-01T00:00:00Z stdout F ok\n")
	h.cycle()
	lines := h.expect("lines", []got{{Text: "not a cri record", Offset: 17}, {Text: "ok", Offset: 50}})
	if lines[0].Flags&FlagMalformed == 0 || h.w.Stats().Malformed != 1 {
		t.Fatalf("flags %b malformed %d", lines[0].Flags, h.w.Stats().Malformed)
	}
}

func TestWatcher_LimitRecentlyModified(t *testing.T) {
	dir := t.TempDir()
	appendFile(t, dir+"/old.log", "old\n")
	appendFile(t, dir+"/new.log", "new\n")
	past := time.Now().Add(-2 * time.Hour)
	os.Chtimes(dir+"/old.log", past, past)
	h := newHarness(t, dir, Config{Paths: []string{"*.log"}, ReadFromHead: true, Format: FormatNone, LimitRecentlyModified: time.Hour})
	h.clk.Set(time.Now())
	h.cycle()
	h.expect("recent only", []got{{Text: "new", Offset: 4}})
}

func TestConfig_Validate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok", Config{Paths: []string{"/x/*.log"}}, true},
		{"no paths", Config{}, false},
		{"bad glob", Config{Paths: []string{"/x/[.log"}}, false},
		{"bad format", Config{Paths: []string{"/x"}, Format: "json"}, false},
		{"bad oversize", Config{Paths: []string{"/x"}, OversizeAction: "drop"}, false},
		{"tiny buffer", Config{Paths: []string{"/x"}, ReadBufferSize: 10}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestFollower_DockerOversize(t *testing.T) {
	rec := func(n int) string {
		return `{"log":"` + strings.Repeat("z", n) + `\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}` + "\n"
	}
	ok := `{"log":"after\n","stream":"stdout","time":"2017-09-25T18:00:00Z"}` + "\n"
	t.Run("decoded line over the limit is split", func(t *testing.T) {
		dir := t.TempDir()
		h := newHarness(t, dir, Config{Paths: []string{"*-json.log"}, ReadFromHead: true, MaxLineSize: 4096})
		appendFile(t, dir+"/x-json.log", rec(10000)+ok)
		h.cycle()
		lines := h.col.take()
		if got := texts(lines); len(got) != 4 || len(got[0]) != 4096 || len(got[2]) != 10000-8192 || got[3] != "after" {
			t.Fatalf("got %d lines", len(got))
		}
	})
	t.Run("record over the read limit is dropped and counted", func(t *testing.T) {
		dir := t.TempDir()
		h := newHarness(t, dir, Config{Paths: []string{"*-json.log"}, ReadFromHead: true, MaxLineSize: 4096})
		huge := rec(600 << 10)
		appendFile(t, dir+"/x-json.log", huge+ok)
		h.sync()
		h.drain()
		lines := h.expect("next line", []got{{Text: "after", Offset: int64(len(huge) + len(ok))}})
		if s := h.w.Stats(); s.OversizeDropped != 1 || s.OversizeDroppedBytes != int64(len(huge)-1) {
			t.Fatalf("dropped %d (%d bytes), want 1 (%d)", s.OversizeDropped, s.OversizeDroppedBytes, len(huge)-1)
		}
		if p, _ := h.w.Position(lines[0].Source); p != lines[0].Offset {
			t.Fatalf("position %d, want %d", p, lines[0].Offset)
		}
	})
}

// TestWatcher_ConcurrentSaveAndAck runs Run while other goroutines save
// positions, acknowledge and read stats (run it with -race).
func TestWatcher_ConcurrentSaveAndAck(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Paths: []string{dir + "/*.log"}, ReadFromHead: true, PositionsFile: dir + "/pos",
		PollInterval: 2 * time.Millisecond, RefreshInterval: 5 * time.Millisecond, SaveInterval: 3 * time.Millisecond, RotateWait: 10 * time.Millisecond}
	w, col := runWatcher(t, cfg, nil)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := w.SavePositions(); err != nil {
				t.Error(err)
				return
			}
			_ = w.Stats()
			for _, l := range col.snapshot() {
				w.Ack(l.Source, l.Offset)
				w.Position(l.Source)
			}
		}
	}()
	wr := newWriter(t, dir+"/0.log", "containerd")
	var want int
	for i := 0; i < 20; i++ {
		want += len(wr.lines(20))
		if i%5 == 4 {
			wr.rotate(fmt.Sprintf("20260102-0000%02d", i))
		}
		time.Sleep(time.Millisecond)
	}
	waitFor(t, func() bool { return len(col.snapshot()) >= want })
	close(stop)
	<-done
	if got := len(col.snapshot()); got != want {
		t.Fatalf("got %d lines, want %d", got, want)
	}
}
