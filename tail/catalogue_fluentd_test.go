package tail

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// k8sLayout creates /pods/<ns>_<pod>_<uid>/<ctr>/0.log and the
// /containers/<pod>_<ns>_<ctr>-<id>.log symlink to it under dir.
func k8sLayout(t *testing.T, dir, pod string) (link, real string) {
	t.Helper()
	real = filepath.Join(dir, "pods", "default_"+pod+"_uid-"+pod, "app", "0.log")
	link = filepath.Join(dir, "containers", pod+"_default_app-"+strings.Repeat("ab", 32)+".log")
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	appendFile(t, real, "")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	return link, real
}

// writePosFile writes a Fluentd pos_file.
func writePosFile(t *testing.T, path string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
}

func posLine(path string, pos int64, ino uint64) string {
	return fmt.Sprintf("%s\t%016x\t%016x\n", path, pos, ino)
}

func TestCatalogue_42_FluentdPosImport(t *testing.T) {
	setup := func(t *testing.T) (dir, link, real string, wr *writer) {
		dir = t.TempDir()
		link, real = k8sLayout(t, dir, "web")
		wr = newWriter(t, real, "containerd")
		return
	}
	cfg := func(dir string) Config {
		return Config{Paths: []string{filepath.Join(dir, "containers", "*.log")}, ReadFromHead: true,
			PositionsFile: filepath.Join(dir, "logship.pos"), FluentdPosFile: filepath.Join(dir, "fluentd-containers.log.pos")}
	}

	t.Run("same inode resumes at pos", func(t *testing.T) {
		dir, link, real, wr := setup(t)
		all := wr.lines(5)
		_, ino := inode(t, link)
		writePosFile(t, filepath.Join(dir, "fluentd-containers.log.pos"), posLine(link, all[2].Offset, ino))
		h := newHarness(t, dir, cfg(dir))
		h.cycle()
		lines := h.expect("rest", all[3:])
		if lines[0].Path != link || lines[0].Real != real {
			t.Fatalf("path %q real %q, want %q %q", lines[0].Path, lines[0].Real, link, real)
		}
		// Idempotent: a restart uses logship's own positions.
		h.restart()
		h.cycle()
		h.expect("re-run", nil)
	})

	// A pod's lines and a pos_file written for them: the start reads what
	// the pos_file leaves.
	for _, tc := range []struct {
		name  string
		lines int
		pos   func(link string, all []got, ino uint64) []string
		what  string
		want  func(all []got) []got
	}{
		{"unwatched marker ignored", 3, func(link string, all []got, ino uint64) []string {
			return []string{posLine(link, all[1].Offset, ino), fmt.Sprintf("%s\tffffffffffffffff\t%016x\n", link, ino)}
		}, "new-file policy (read_from_head)", func(all []got) []got { return all }},
		{"duplicate paths: last wins", 5, func(link string, all []got, ino uint64) []string {
			return []string{posLine(link, all[0].Offset, ino), "garbage line\n", posLine(link, all[3].Offset, ino)}
		}, "rest", func(all []got) []got { return all[4:] }},
		{"torn line", 4, func(link string, all []got, ino uint64) []string {
			return []string{posLine(link, all[1].Offset+5, ino)}
		}, "from the start of the torn line", func(all []got) []got { return all[2:] }},
		{"position beyond size", 2, func(link string, all []got, ino uint64) []string {
			return []string{posLine(link, 1<<20, ino)}
		}, "truncated: from 0", func(all []got) []got { return all }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, link, _, wr := setup(t)
			all := wr.lines(tc.lines)
			_, ino := inode(t, link)
			writePosFile(t, filepath.Join(dir, "fluentd-containers.log.pos"), tc.pos(link, all, ino)...)
			h := newHarness(t, dir, cfg(dir))
			h.cycle()
			h.expect(tc.what, tc.want(all))
		})
	}

	t.Run("inode now in rotated sibling", func(t *testing.T) {
		dir, link, real, wr := setup(t)
		// An older sibling Fluentd had finished before it stopped.
		older := real + ".20260101-000000"
		appendFile(t, older, "2026-01-01T00:00:00Z stdout F old\n")
		past := time.Now().Add(-time.Hour)
		os.Chtimes(older, past, past)
		all := wr.lines(5)
		_, ino := inode(t, link)
		posPath := filepath.Join(dir, "fluentd-containers.log.pos")
		writePosFile(t, posPath, posLine(link, all[2].Offset, ino))
		os.Chtimes(posPath, past.Add(time.Minute), past.Add(time.Minute))
		wr.rotate("20260102-030405")
		next := wr.lines(2)
		h := newHarness(t, dir, cfg(dir))
		h.cycle()
		h.expect("rest of the rotated file, then the new one", append(all[3:], next...))
	})

	t.Run("inode gone", func(t *testing.T) {
		dir, link, real, wr := setup(t)
		all := wr.lines(3)
		_, ino := inode(t, link)
		writePosFile(t, filepath.Join(dir, "fluentd-containers.log.pos"), posLine(link, all[1].Offset, ino))
		rot := wr.rotate("20260102-030405")
		next := wr.lines(2) // the new file exists before the old one is compressed
		os.WriteFile(rot+".gz", []byte("gz"), 0o644)
		os.Remove(rot)
		h := newHarness(t, dir, cfg(dir))
		h.cycle()
		h.expect("current file from 0", next)
		if s := h.w.Stats(); s.Gaps != 1 {
			t.Fatalf("gaps = %d, want 1", s.Gaps)
		}
		_ = real
	})

	t.Run("symlink of a deleted pod", func(t *testing.T) {
		dir, link, real, wr := setup(t)
		all := wr.lines(2)
		_, ino := inode(t, link)
		goneLink, goneReal := k8sLayout(t, dir, "deleted")
		_, goneIno := inode(t, goneLink)
		os.Remove(goneLink)
		os.RemoveAll(filepath.Dir(filepath.Dir(goneReal)))
		writePosFile(t, filepath.Join(dir, "fluentd-containers.log.pos"), posLine(goneLink, 100, goneIno), posLine(link, all[0].Offset, ino))
		h := newHarness(t, dir, cfg(dir))
		h.cycle()
		h.expect("the live pod resumes", all[1:])
		_ = real
	})

}

func TestReadFluentdPos(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pos")
	writePosFile(t, p,
		"/a.log\t00000000000003a4\t00000000006fa2c2\n",
		"/b.log\tFF\tab\ttrailing\n",
		"not a line\n",
		"/c.log\tffffffffffffffff\t0000000000000001\n",
		"/a.log\t0000000000000010\t00000000006fa2c2\n")
	pf, err := readFluentdPos(p)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(pf.entries)
	want := "[{/a.log 16 7316162} {/b.log 255 171}]"
	if got != want {
		t.Fatalf("entries = %s, want %s", got, want)
	}
}

// TestFluentdPos_Written: with a pos_file configured, every save writes it in
// Fluentd's in_tail format (path, position, inode in 16 hex digits) with the
// acknowledged position of the file at each path; after a rotation the
// path's entry is the new file's. A Fluentd-style start from that pos_file
// alone (no logship positions) resumes without a gap or a duplicate.
func TestFluentdPos_Written(t *testing.T) {
	dir := t.TempDir()
	link, real := k8sLayout(t, dir, "web")
	wr := newWriter(t, real, "containerd")
	fpos := filepath.Join(dir, "fluentd-containers.log.pos")
	h := newHarness(t, dir, Config{Paths: []string{filepath.Join(dir, "containers", "*.log")}, ReadFromHead: true,
		PositionsFile: "pos", FluentdPosFile: fpos})
	h.col.ack = false
	read := h.readNew(wr, 6, "read")
	h.col.ackAll(read[:4])
	h.save()
	raw, err := os.ReadFile(fpos)
	if err != nil {
		t.Fatal(err)
	}
	_, ino := inode(t, real)
	if want := posLine(link, read[3].Offset, ino); string(raw) != want {
		t.Fatalf("pos_file %q, want %q (the acknowledged position)", raw, want)
	}
	h.col.ackAll(read[4:])

	// Rotation: the path's entry follows the new file.
	wr.rotate("20260102-030405")
	fresh := wr.lines(2)
	h.col.ack = true
	h.cycle()
	h.poll()
	h.expect("after the rotation", fresh)
	h.save()
	pf, err := readFluentdPos(fpos)
	if err != nil {
		t.Fatal(err)
	}
	_, ino = inode(t, real)
	if len(pf.entries) != 1 || pf.entries[0].path != link || pf.entries[0].ino != ino || int64(pf.entries[0].pos) != fresh[1].Offset {
		t.Fatalf("entries %+v, want %s at %d of inode %d", pf.entries, link, fresh[1].Offset, ino)
	}

	// Roll back to the pos_file alone: nothing lost, nothing twice.
	h.w.Close()
	if err := os.Remove(h.cfg.PositionsFile); err != nil {
		t.Fatal(err)
	}
	more := wr.lines(3)
	h.start()
	h.cycle()
	h.expect("from the pos_file", more)
}
