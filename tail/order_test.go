package tail

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestOrder_LateWriteDuringPoll: a late write into the renamed file, then a
// first write into the new file, both landing after the renamed file was read
// in a poll, come out in the writer's order (the old file's tail first).
func TestOrder_LateWriteDuringPoll(t *testing.T) {
	dir := t.TempDir()
	wr, h := newTailed(t, dir, "0.log", "containerd", Config{Paths: []string{"0.log"}, ReadFromHead: true})
	h.readNew(wr, 3, "before")
	rotated := wr.rotate("20260102-030405")
	appendFile(t, wr.path, "")
	h.sync() // the renamed file is found under its new name, the new file opened (empty)
	fired := false
	h.w.onRead = func(f *file) {
		if fired || f.realPath != rotated {
			return
		}
		fired = true
		// The writer's late write into the renamed file, then its first
		// write into the new one.
		appendFile(t, rotated, wr.record("stdout", "F", "late 1", 100))
		appendFile(t, wr.path, wr.record("stdout", "F", "new 1", 101))
	}
	h.poll()
	h.poll()
	if !fired {
		t.Fatal("test setup: the renamed file was not read")
	}
	if got, want := fmt.Sprint(texts(h.col.take())), "[late 1 new 1]"; got != want {
		t.Fatalf("got %s, want %s (the old file's tail before the new file's head)", got, want)
	}
}

// TestOrder_RenameRotationWithLateWrites runs Run (inotify and polling)
// against a writer that rotates kubelet-style — rename, late writes into the
// renamed file through the old fd, then the new file — at speed, and checks
// with unique line ids that every line arrives once, in the writer's order.
func TestOrder_RenameRotationWithLateWrites(t *testing.T) {
	const total, perFile, late = 30000, 1500, 40
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	var ids []int
	r := runAcking(t, Config{Paths: []string{path}, Format: FormatCRI, ReadFromHead: true,
		PollInterval: 5 * time.Millisecond, RotateWait: time.Second}, nil, func(ls []Line) {
		for _, l := range ls {
			var n int
			if _, err := fmt.Sscanf(string(l.Text), "id-%d", &n); err != nil {
				n = -1
			}
			ids = append(ids, n)
		}
	})
	fd, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var buf bytes.Buffer
	rotations := 0
	for i := 0; i < total; i++ {
		buf.Reset()
		fmt.Fprintf(&buf, "%s stdout F id-%06d %s\n", base.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), i, bytes.Repeat([]byte{'x'}, 50+i%100))
		if _, err := fd.Write(buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		if i%perFile == perFile-1-late {
			// The kubelet renames; the runtime still writes `late` lines
			// into the renamed file before it reopens the path.
			rotations++
			if err := os.Rename(path, fmt.Sprintf("%s.%s", path, base.Add(time.Duration(rotations)*time.Second).Format("20060102-150405"))); err != nil {
				t.Fatal(err)
			}
		}
		if i%perFile == perFile-1 {
			old := fd
			if fd, err = os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
				t.Fatal(err)
			}
			old.Close()
		}
		if i%100 == 99 {
			time.Sleep(time.Millisecond)
		}
	}
	fd.Close()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		n := len(ids)
		r.mu.Unlock()
		if n >= total {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // anything more (duplicates) arrives
	r.stop(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := make([]int, total)
	dups, disorder, bad, prev := 0, 0, 0, -1
	for _, n := range ids {
		if n < 0 || n >= total {
			bad++
			continue
		}
		seen[n]++
		if seen[n] > 1 {
			dups++
		}
		if n < prev {
			disorder++
			if disorder < 4 {
				t.Logf("out of order: %d after %d", n, prev)
			}
		}
		prev = n
	}
	missing := 0
	for _, c := range seen {
		if c == 0 {
			missing++
		}
	}
	t.Logf("%d lines, %d rename rotations with %d late lines each: received %d, missing %d, duplicated %d, out of order %d, unparsable %d",
		total, rotations, late, len(ids), missing, dups, disorder, bad)
	if missing != 0 || dups != 0 || disorder != 0 || bad != 0 {
		t.Fatalf("missing %d, duplicated %d, out of order %d, unparsable %d", missing, dups, disorder, bad)
	}
}
