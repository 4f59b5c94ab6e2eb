package tail

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func inodeOf(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
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
	if want := posLine(link, read[3].Offset, inodeOf(t, real)); string(raw) != want {
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
	if len(pf.entries) != 1 || pf.entries[0].path != link || pf.entries[0].ino != inodeOf(t, real) || int64(pf.entries[0].pos) != fresh[1].Offset {
		t.Fatalf("entries %+v, want %s at %d of inode %d", pf.entries, link, fresh[1].Offset, inodeOf(t, real))
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
