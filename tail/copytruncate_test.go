package tail

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// copyTruncate copies path to to and truncates path, as logrotate's
// copytruncate does. Returns the copy's size.
func copyTruncate(t *testing.T, path, to string) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	return int64(len(data))
}

// TestCopytruncate_ReadsOnlyPastTheOffset: lines read from the original are
// not read again from its copy; the lines written after the last read (before
// the copy) are read from the copy, and the truncated original from 0.
func TestCopytruncate_ReadsOnlyPastTheOffset(t *testing.T) {
	for _, tc := range []struct{ order, glob string }{{"poll first", "0.log"}, {"sync first", "0.log"}, {"poll first", "0.log*"}, {"sync first", "0.log*"}} {
		order := tc.order
		t.Run(order+" "+tc.glob, func(t *testing.T) {
			dir := t.TempDir()
			wr := newWriter(t, dir+"/0.log", "containerd")
			// 0.log* also matches the copy itself (a glob some configs use).
			h := newHarness(t, dir, Config{Paths: []string{tc.glob}, ReadFromHead: true})
			h.readNew(wr, 5, "before")
			unread := wr.lines(3) // written after the last read, before the copy
			copyTruncate(t, wr.path, wr.path+".20260102-030405")
			wr.size = 0
			fresh := wr.lines(2)
			if order == "sync first" {
				h.sync() // the copy is found before the truncation is seen
			}
			h.poll()
			h.poll()
			gotLines := h.expect("the copy's unread lines, then the original's", append(append([]got(nil), unread...), fresh...))
			if gotLines[0].Source != gotLines[2].Source || gotLines[3].Source == gotLines[2].Source {
				t.Fatalf("sources %d %d %d: the copy continues the old generation, the original starts a new one",
					gotLines[0].Source, gotLines[2].Source, gotLines[3].Source)
			}
			if gotLines[0].Real != wr.path+".20260102-030405" || gotLines[3].Real != wr.path {
				t.Fatalf("real paths %q %q", gotLines[0].Real, gotLines[3].Real)
			}
			if s := h.w.Stats(); s.Truncations != 1 {
				t.Fatalf("truncations = %d, want 1", s.Truncations)
			}
			// Nothing more: the copy is not read again by later syncs.
			h.clk.Advance(time.Minute)
			h.cycle()
			h.cycle()
			if more := h.col.take(); len(more) != 0 {
				t.Fatalf("read again: %v", more)
			}
		})
	}
}

// TestCopytruncate_CopyOfAnIntactFile: a copy of a file that was not truncated
// (logrotate copy, or the truncate not done yet) is never read.
func TestCopytruncate_CopyOfAnIntactFile(t *testing.T) {
	for _, glob := range []string{"0.log", "0.log*"} {
		t.Run(glob, func(t *testing.T) { testCopyOfAnIntactFile(t, glob) })
	}
}

func testCopyOfAnIntactFile(t *testing.T, glob string) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{glob}, ReadFromHead: true})
	want := h.readNew(wr, 4, "before")
	data, _ := os.ReadFile(wr.path)
	if err := os.WriteFile(wr.path+".1", data, 0o644); err != nil {
		t.Fatal(err)
	}
	want = wr.lines(2)
	h.cycle()
	h.cycle()
	h.expect("after the copy", want)
	// And after a restart (the copy is not in the positions).
	h.cfg.PositionsFile = filepath.Join(dir, "pos")
	h.start()
	h.cycle()
	h.save()
	h.col.take()
	h.start()
	h.readNew(wr, 1, "after a restart")
}

// TestCopytruncate_PartialAcrossCopyAndOriginal: a CRI P at the end of the
// copy and its F at the start of the truncated original are one line, with
// the P's timestamp; the lines around it are not glued to it.
func TestCopytruncate_PartialAcrossCopyAndOriginal(t *testing.T) {
	for _, readP := range []bool{false, true} {
		t.Run(fmt.Sprintf("P read before the copy %v", readP), func(t *testing.T) {
			dir := t.TempDir()
			wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true})
			before := wr.lines(2)
			wr.raw("stdout", "P", "head of a long line, ")
			pTime := time.Date(2026, 1, 2, 3, 4, 5, (wr.n-1)*1000, time.UTC).UnixNano()
			if readP {
				h.cycle()
			}
			copyTruncate(t, wr.path, wr.path+".20260102-030405")
			wr.size = 0
			wr.raw("stdout", "F", "its tail")
			after := wr.lines(1)
			if !readP {
				h.sync()
			}
			h.poll()
			h.poll()
			gotLines := h.col.take()
			want := []string{before[0].Text, before[1].Text, "head of a long line, its tail", after[0].Text}
			if strings.Join(texts(gotLines), "|") != strings.Join(want, "|") {
				t.Fatalf("got %q, want %q", texts(gotLines), want)
			}
			if gotLines[2].Time != pTime {
				t.Fatalf("joined line time %d, want the P's %d", gotLines[2].Time, pTime)
			}
			if gotLines[2].Flags != 0 {
				t.Fatalf("joined line flags %b", gotLines[2].Flags)
			}
		})
	}
}

// TestCopytruncate_WhileDown: copied and truncated while logship was down,
// with lines read but not acknowledged: the copy resumes at the saved
// (acknowledged) position, the original is read from 0, nothing acknowledged
// is sent again and nothing is lost.
func TestCopytruncate_WhileDown(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true, PositionsFile: "pos"})
	h.col.ack = false
	read := h.readNew(wr, 6, "read")
	h.col.ackAll(read[:4])
	h.stop()
	more := wr.lines(2)
	copyTruncate(t, wr.path, wr.path+".20260102-030405")
	wr.size = 0
	fresh := wr.lines(3)
	h.start()
	h.col.ack = true
	h.cycle()
	h.poll()
	want := append(append(append([]got(nil), read[4:]...), more...), fresh...)
	gotLines := h.col.take()
	if strings.Join(texts(gotLines), "|") != strings.Join(texts(want), "|") {
		t.Fatalf("got %q, want %q", texts(gotLines), texts(want))
	}
	if s := h.w.Stats(); s.Gaps != 0 || s.Truncations != 1 {
		t.Fatalf("gaps %d truncations %d, want 0 1", s.Gaps, s.Truncations)
	}
}

// TestCopytruncate_AtSpeed rotates a file by copytruncate every ~256 KiB while
// a writer appends CRI records as fast as it can (some lines split into P and
// F records written separately), with Run following it (inotify and
// polling), and counts with unique line ids: no line twice, no line cut or
// glued, every line's own timestamp, and missing only lines written between a
// copy and its truncate (lines out of order are counted and logged).
func TestCopytruncate_AtSpeed(t *testing.T) {
	const total = 40000
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	var lines []Line
	r := runAcking(t, Config{Paths: []string{path}, Format: FormatCRI, ReadFromHead: true,
		PollInterval: 5 * time.Millisecond, RotateWait: 300 * time.Millisecond, PositionsFile: filepath.Join(dir, "pos")}, func(w *Watcher) {
		if os.Getenv("TAIL_DEBUG") != "" {
			w.debugf = func(format string, a ...any) { t.Logf(format, a...) }
		}
	}, func(ls []Line) {
		for _, l := range ls {
			l.Text = bytes.Clone(l.Text)
			l.TimeText = nil
			lines = append(lines, l)
		}
	})
	fd, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()

	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	text := func(i int) string {
		return fmt.Sprintf("id-%06d %s", i, strings.Repeat(string(rune('a'+i%26)), 40+i%200))
	}
	ts := func(i int) string { return base.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano) }
	var (
		wmu    sync.Mutex // held per record write; the rotator holds it across the truncate
		atRisk = map[int]bool{}
	)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < total; i++ {
			s := text(i)
			var recs []string
			if i%7 == 3 {
				k := 5 + rng.IntN(len(s)-10)
				recs = []string{ts(i) + " stdout P " + s[:k] + "\n", ts(i) + " stdout F " + s[k:] + "\n"}
			} else {
				recs = []string{ts(i) + " stdout F " + s + "\n"}
			}
			for _, r := range recs {
				wmu.Lock()
				_, err := fd.WriteString(r)
				wmu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
			}
			if i%100 == 99 {
				time.Sleep(time.Millisecond) // up to ~10k-50k lines/s, machine-dependent
			}
		}
	}()
	rotations := 0
	for done := false; !done; {
		select {
		case <-writerDone:
			done = true
			continue
		default:
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() < 256<<10 {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		// Copy while the writer writes (a snapshot between two writes),
		// then truncate; the records written in between are at risk.
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		data = data[:bytes.LastIndexByte(data, '\n')+1]
		rotations++
		to := fmt.Sprintf("%s.%s", path, base.Add(time.Duration(rotations)*time.Second).Format("20060102-150405"))
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
		wmu.Lock()
		cur, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range strings.Split(string(cur[len(data):]), "\n") {
			if sp := strings.IndexByte(rec, ' '); sp > 0 {
				tm, err := time.Parse(time.RFC3339Nano, rec[:sp])
				if err != nil {
					t.Fatalf("at-risk record %q: %v", rec, err)
				}
				atRisk[int(tm.Sub(base)/time.Millisecond)] = true
			}
		}
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
		wmu.Unlock()
	}
	if rotations < 5 {
		t.Fatalf("only %d rotations: test setup", rotations)
	}
	// Wait until every line not at risk arrived (or nothing arrives any more).
	deadline := time.Now().Add(60 * time.Second)
	for last := -1; time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		r.mu.Lock()
		n := len(lines)
		r.mu.Unlock()
		if n == last && n >= total-len(atRisk) {
			break
		}
		last = n
	}
	r.stop(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	// A line is identified by its timestamp (every line's own); its text
	// must be that line's whole text, except that a line whose P record was
	// written between a copy and its truncate may arrive as its F alone.
	seen := make([]int, total)
	dups, cut, glued, badTime, disorder, prev := 0, 0, 0, 0, 0, -1
	for _, l := range lines {
		s := string(l.Text)
		n := int(time.Duration(l.Time-base.UnixNano()) / time.Millisecond)
		if n < 0 || n >= total || l.Time != base.Add(time.Duration(n)*time.Millisecond).UnixNano() {
			badTime++
			t.Errorf("line with a time not written: %d %.60q", l.Time, s)
			continue
		}
		if s != text(n) {
			if atRisk[n] && strings.HasSuffix(text(n), s) {
				cut++
				continue
			}
			// The F of a split line was written between a copy and its
			// truncate and lost: its P is joined with the next line.
			if i := strings.Index(s[1:], "id-") + 1; atRisk[n] && i > 0 && strings.HasPrefix(text(n), s[:i]) {
				var m int
				if _, err := fmt.Sscanf(s[i:], "id-%06d", &m); err == nil && m > n && m < total && s[i:] == text(m) {
					glued++
					n = m
					s = s[i:]
				}
			}
		}
		if s != text(n) {
			badTime++
			t.Errorf("line %d cut, glued or with another line's time: %.80q (%d bytes, want %d)", n, s, len(s), len(text(n)))
			continue
		}
		seen[n]++
		if seen[n] > 1 {
			dups++
			if dups < 3 {
				t.Logf("duplicate %d from %d %s at %d", n, l.Source, l.RealPath, l.Offset)
			}
		}
		if n < prev {
			disorder++
			t.Logf("out of order: %d after %d (%s at %d)", n, prev, l.RealPath, l.Offset)
		}
		prev = n
	}
	missing, missingNotAtRisk := 0, 0
	for n, c := range seen {
		if c == 0 {
			missing++
			if !atRisk[n] {
				missingNotAtRisk++
				if missingNotAtRisk < 5 {
					t.Errorf("line %d missing and not written between a copy and its truncate", n)
				}
			}
		}
	}
	riskLines := len(atRisk)
	t.Logf("%d lines, %d copytruncates, %d written between a copy and its truncate; received %d: missing %d (%.3f%%), duplicated %d, F alone (P in the window) %d, P joined with the next line (F in the window) %d, wrong text or time %d, out of order %d",
		total, rotations, riskLines, len(lines), missing, 100*float64(missing)/total, dups, cut, glued, badTime, disorder)
	// Order is reported, not required here: when a whole copytruncate
	// cycle passes between two reads of the original (nothing of its new
	// content read yet), its copy is only found after the new content was
	// read (design.md T1).
	if dups != 0 || missingNotAtRisk != 0 || badTime != 0 {
		t.Fatalf("duplicated %d, missing outside the window %d, wrong text or time %d", dups, missingNotAtRisk, badTime)
	}
}
