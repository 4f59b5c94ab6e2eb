package tail

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestPositions_CorruptAtStart: a positions file truncated to half or
// overwritten with random bytes does not stop the start; one error names the
// file, the file is kept aside as .bad, every line is read again (duplicates
// allowed, nothing lost, also without ReadFromHead), PositionsCorrupt counts
// it, and the next save writes a good file.
func TestPositions_CorruptAtStart(t *testing.T) {
	damage := map[string]func([]byte) []byte{
		"truncated to half": func(b []byte) []byte { return b[:len(b)/2] },
		"random bytes": func(b []byte) []byte {
			r := rand.New(rand.NewPCG(7, 8))
			out := make([]byte, len(b))
			for i := range out {
				out[i] = byte(r.UintN(256))
			}
			return out
		},
	}
	for name, f := range damage {
		for _, fromHead := range []bool{true, false} {
			t.Run(name+map[bool]string{true: ", read_from_head", false: ""}[fromHead], func(t *testing.T) {
				dir := t.TempDir()
				wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true, PositionsFile: "pos"})
				first := h.readNew(wr, 5, "first run")
				h.restart()
				good, err := os.ReadFile(h.cfg.PositionsFile)
				if err != nil {
					t.Fatal(err)
				}
				h.w.Close()
				bad := f(good)
				if err := os.WriteFile(h.cfg.PositionsFile, bad, 0o644); err != nil {
					t.Fatal(err)
				}
				more := wr.lines(3) // written while down
				h.cfg.ReadFromHead = fromHead
				core, logs := observer.New(zapcore.ErrorLevel)
				w, err := New(h.cfg, h.col, zap.New(core))
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				w.SetClock(h.clk.Now)
				h.col.w, h.w = w, w
				h.cycle()
				h.expect("everything again", append(append([]got(nil), first...), more...))
				if s := w.Stats(); s.PositionsCorrupt != 1 {
					t.Fatalf("PositionsCorrupt = %d, want 1", s.PositionsCorrupt)
				}
				if n := logs.Len(); n != 1 {
					t.Fatalf("%d error logs, want 1: %v", n, logs.All())
				}
				if e := logs.All()[0]; e.ContextMap()["file"] != h.cfg.PositionsFile {
					t.Fatalf("error log %q %v does not name the file", e.Message, e.ContextMap())
				}
				kept, err := os.ReadFile(h.cfg.PositionsFile + ".bad")
				if err != nil || !bytes.Equal(kept, bad) {
					t.Fatalf("bad file not kept aside unchanged: %v", err)
				}
				if err := w.SavePositions(); err != nil {
					t.Fatal(err)
				}
				if _, _, err := readPositions(h.cfg.PositionsFile); err != nil {
					t.Fatalf("next save: %v", err)
				}
			})
		}
	}
}

// TestPositions_CorruptWithFluentdPos: with a Fluentd pos_file configured, a
// corrupt positions file falls back to the Fluentd positions.
func TestPositions_CorruptWithFluentdPos(t *testing.T) {
	dir := t.TempDir()
	wr := newWriter(t, dir+"/0.log", "containerd")
	old := wr.lines(4)
	fi, err := os.Stat(wr.path)
	if err != nil {
		t.Fatal(err)
	}
	fpos := filepath.Join(dir, "fluentd.pos")
	writePosFile(t, fpos, posLine(wr.path, old[1].Offset, fi.Sys().(*syscall.Stat_t).Ino))
	if err := os.WriteFile(filepath.Join(dir, "pos"), []byte("logship-tail-positions\t1\nf\t1\t2"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, dir, Config{Paths: []string{"0.log"}, PositionsFile: "pos", FluentdPosFile: fpos})
	h.cycle()
	h.expect("from the Fluentd position", old[2:])
	if s := h.w.Stats(); s.PositionsCorrupt != 1 {
		t.Fatalf("PositionsCorrupt = %d", s.PositionsCorrupt)
	}
}

// TestPositions_CorruptRun: Run starts (no error) on a corrupt positions file.
func TestPositions_CorruptRun(t *testing.T) {
	dir := t.TempDir()
	wr := newWriter(t, dir+"/0.log", "containerd")
	want := wr.lines(3)
	pos := filepath.Join(dir, "pos")
	if err := os.WriteFile(pos, []byte("\x00\x01garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := goRun(t, Config{Paths: []string{wr.path}, PositionsFile: pos, PollInterval: 10 * time.Millisecond, DisableNotify: true}, nil)
	col := r.col
	waitFor(t, func() bool { return len(col.snapshot()) >= len(want) })
	if err := r.halt(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	check(t, "read from the start", col.take(), want)
}

// TestPositions_RotatedWhileCurrentMissing: stopped between the kubelet's
// rename and the new file's creation: the renamed file is found at the first
// start through its saved entry's log and resumes at its position; when the
// new file appears it is read from 0; nothing is read twice.
func TestPositions_RotatedWhileCurrentMissing(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true, PositionsFile: "pos"})
	h.readNew(wr, 4, "first")
	h.restart()
	h.w.Close()
	tail := wr.lines(2)
	wr.rotate("20260102-030405")
	h.start()
	h.cycle()
	h.poll()
	h.expect("the renamed file from its position", tail)
	fresh := wr.lines(3)
	h.cycle()
	h.poll()
	h.expect("the new file", fresh)
}

// TestCrash_CorruptPositionsRealProcess: a real child process (the one of
// TestCrash_PositionsFollowAcks) tails and acks; it is SIGKILLed, its
// positions file is truncated to half, and a new child must start anyway,
// keep running, move the file aside and deliver every line (duplicates
// allowed, nothing lost).
func TestCrash_CorruptPositionsRealProcess(t *testing.T) {
	c := newAckChild(t)
	dir := c.dir
	delivered := func(want string) bool {
		data, _ := os.ReadFile(filepath.Join(dir, "out"))
		return bytes.Contains(data, []byte("\n"+want+"\n"))
	}
	wr := newWriter(t, filepath.Join(dir, "0.log"), "containerd")
	c.start()
	first := wr.lines(500)
	waitFor(t, func() bool { return delivered(first[len(first)-1].Text) })
	pos := filepath.Join(dir, "pos")
	waitFor(t, func() bool { _, err := os.Stat(pos); return err == nil })
	c.kill()
	data, err := os.ReadFile(pos)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pos, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	more := wr.lines(500) // written while down
	c.start()
	waitFor(t, func() bool { return delivered(more[len(more)-1].Text) })
	select {
	case <-c.p.Done():
		t.Fatalf("child exited on a corrupt positions file: %v", c.p.Err())
	case <-time.After(300 * time.Millisecond):
	}
	c.kill()
	if _, err := os.Stat(pos + ".bad"); err != nil {
		t.Fatalf("corrupt positions not kept aside: %v", err)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out"))
	for _, l := range append(first, more...) {
		if !bytes.Contains(out, []byte("\n"+l.Text+"\n")) {
			t.Fatalf("%q lost", l.Text)
		}
	}
	t.Logf("%d lines written, %d delivered lines in all (re-read after the corrupt start)", len(first)+len(more), bytes.Count(out, []byte("\nline ")))
}
