package buffer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"logship/buffer"
)

// persisted fills a file buffer in dir with one enqueued (fsynced) chunk per
// key and abandons it, as a killed process would; it returns the chunk
// files.
func persisted(t *testing.T, dir string, keys ...buffer.StreamKey) (segs []string) {
	t.Helper()
	b, _, _, _ := newBuf(t, buffer.Config{Type: buffer.TypeFile, Path: dir})
	if err := b.Recover(); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		mustAdd(t, b, recs(k, k.Stream, 3, 0))
	}
	b.EnqueueAll()
	b.Crash()
	return segments(t, dir, "*.chunk")
}

func segments(t *testing.T, dir, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func recoverAndFlush(t *testing.T, dir string) (*buffer.Buffer, *fakeSender) {
	t.Helper()
	b, _, s, a := newBuf(t, buffer.Config{Type: buffer.TypeFile, Path: dir})
	if err := b.Recover(); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if err := b.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if got := a.acked(); len(got) != 0 {
		t.Fatalf("recovered records acknowledged again: %q", got)
	}
	return b, s
}

func TestBuffer_RecoverOpenChunk(t *testing.T) {
	dir := t.TempDir()
	b, _, _, a := newBuf(t, buffer.Config{Type: buffer.TypeFile, Path: dir})
	mustAdd(t, b, recs(keyA, "m", 2, 0))
	if err := b.Sync(); err != nil { // open chunk fsynced, not enqueued
		t.Fatal(err)
	}
	mustAdd(t, b, recs(keyA, "unsynced", 1, 0))
	if got := len(a.acked()); got != 2 {
		t.Fatalf("acked %d, want the 2 fsynced records", got)
	}
	// The process dies here: the unsynced record is not on disk and not acked.
	_, s := recoverAndFlush(t, dir)
	if got := s.messages(); !reflect.DeepEqual(got, []string{"m0", "m1"}) {
		t.Fatalf("after recovery sent %q, want [m0 m1]", got)
	}
}

func TestBuffer_RecoverTornTail(t *testing.T) {
	dir := t.TempDir()
	seg := persisted(t, dir, keyA)[0]
	before, _ := os.ReadFile(seg)
	f, _ := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{0, 0, 0, 40, 1, 2, 3}) // half a record
	f.Close()
	b, _, s, _ := newBuf(t, buffer.Config{Type: buffer.TypeFile, Path: dir})
	if err := b.Recover(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(seg); !reflect.DeepEqual(after, before) {
		t.Fatalf("segment is %d bytes after recovery, want truncated to %d", len(after), len(before))
	}
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.TornTails != 1 || st.RecoveredRecords != 3 || st.CorruptChunks != 0 {
		t.Fatalf("stats %+v", st)
	}
	if got := s.messages(); !reflect.DeepEqual(got, []string{"a0", "a1", "a2"}) {
		t.Fatalf("sent %q", got)
	}
	if fi, err := os.Stat(seg); err == nil {
		t.Fatalf("delivered segment still present (%d bytes)", fi.Size())
	}
}

func TestBuffer_RecoverTornHeader(t *testing.T) {
	dir := t.TempDir()
	persisted(t, dir, keyA)
	os.WriteFile(filepath.Join(dir, "00000000000000010000000a.chunk"), []byte("LSBC\x00"), 0o644)
	b, s := recoverAndFlush(t, dir)
	if st := b.Stats(); st.TornHeaders != 1 || st.RecoveredChunks != 1 {
		t.Fatalf("stats %+v", st)
	}
	if len(s.messages()) != 3 || len(segments(t, dir, "*.chunk*")) != 0 {
		t.Fatalf("sent %q, files left %v", s.messages(), segments(t, dir, "*.chunk*"))
	}
}

func TestBuffer_RecoverCorrupt(t *testing.T) {
	dir := t.TempDir()
	segs := persisted(t, dir, keyA, keyB)
	data, _ := os.ReadFile(segs[0])
	data[len(data)/2] ^= 0xff // inside the first chunk, before its last record
	os.WriteFile(segs[0], data, 0o644)
	b, s := recoverAndFlush(t, dir)
	if st := b.Stats(); st.CorruptChunks != 1 || st.RecoveredChunks != 1 {
		t.Fatalf("stats %+v", st)
	}
	if got := s.messages(); !reflect.DeepEqual(got, []string{"b0", "b1", "b2"}) {
		t.Fatalf("sent %q, want the intact chunk", got)
	}
	if bad := segments(t, dir, "*.chunk.bad"); len(bad) != 1 || bad[0] != segs[0]+".bad" {
		t.Fatalf("quarantined %v, want %s.bad", bad, segs[0])
	}
}

func TestBuffer_CorruptAtSend(t *testing.T) {
	dir := t.TempDir()
	persisted(t, dir, keyA)
	b, _, s, _ := newBuf(t, buffer.Config{Type: buffer.TypeFile, Path: dir})
	if err := b.Recover(); err != nil {
		t.Fatal(err)
	}
	seg := segments(t, dir, "*.chunk")[0]
	os.WriteFile(seg, []byte("garbage"), 0o644)
	if err := b.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if st := b.Stats(); st.CorruptChunks != 1 || st.LostRecords != 3 || s.nAttempts() != 0 {
		t.Fatalf("stats %+v attempts %d", st, s.nAttempts())
	}
	if len(segments(t, dir, "*.bad")) != 1 {
		t.Fatal("segment not quarantined")
	}
}

func TestBuffer_FileTotalLimitSize(t *testing.T) {
	dir := t.TempDir()
	b, _, _, _ := newBuf(t, buffer.Config{Type: buffer.TypeFile, Path: dir, ChunkLimitSize: 200, TotalLimitSize: 400,
		OverflowAction: buffer.OverflowThrowException})
	// Each record costs 8+8+1+3 ("tag") + 50 = 70 encoded bytes.
	mustAdd(t, b, recs(keyA, "m", 5, 50))
	if st := b.Stats(); st.TotalBytes != 350 {
		t.Fatalf("TotalBytes=%d, want 350", st.TotalBytes)
	}
	if err := b.Add(context.Background(), recs(keyA, "m", 1, 50)); !errors.Is(err, buffer.ErrOverflow) {
		t.Fatalf("Add=%v, want ErrOverflow", err)
	}
	var onDisk int64
	for _, f := range segments(t, dir, "*.chunk") {
		fi, _ := os.Stat(f)
		onDisk += fi.Size()
	}
	if onDisk > 400+100 { // records plus two small headers
		t.Fatalf("%d bytes on disk, bound 400", onDisk)
	}
}

// TestBuffer_DiskError checks that a chunk whose segment cannot be written is
// kept in memory, delivered, and acknowledged only then.
func TestBuffer_DiskError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "buf")
	b, _, s, a := newBuf(t, buffer.Config{Type: buffer.TypeFile, Path: dir})
	if err := b.Recover(); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	os.WriteFile(dir, nil, 0o644) // a file where the directory was: writes fail
	mustAdd(t, b, recs(keyA, "m", 2, 0))
	b.EnqueueAll()
	if st := b.Stats(); st.DiskErrors != 1 || len(a.acked()) != 0 {
		t.Fatalf("stats %+v acked %d, want a disk error and no ack", st, len(a.acked()))
	}
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.messages()) != 2 || len(a.acked()) != 2 {
		t.Fatalf("sent %d acked %d, want 2 and 2", len(s.messages()), len(a.acked()))
	}
}

func TestBuffer_FileResidentLimit(t *testing.T) {
	// More queued chunks than are kept in memory: the rest are read back
	// from their segments when sent.
	dir := t.TempDir()
	b, _, s, _ := newBuf(t, buffer.Config{Type: buffer.TypeFile, Path: dir, ChunkLimitRecords: 1, ChunkFullThreshold: 1})
	mustAdd(t, b, recs(keyA, "m", 10, 0))
	if err := b.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"}
	if got := s.messages(); !reflect.DeepEqual(got, want) {
		t.Fatalf("sent %q", got)
	}
	if left := segments(t, dir, "*.chunk"); len(left) != 0 {
		t.Fatalf("segments left after delivery: %v", left)
	}
}

func TestBuffer_RecoverCorruptSalvage(t *testing.T) {
	dir := t.TempDir()
	seg := persisted(t, dir, keyA)[0]
	data, _ := os.ReadFile(seg)
	// Records are 8+8+1+3+2 = 22 bytes ("tag", "aN"); damage the second one.
	data[len(data)-22-3] ^= 0xff
	os.WriteFile(seg, data, 0o644)
	b, s := recoverAndFlush(t, dir)
	if st := b.Stats(); st.CorruptChunks != 1 || st.SalvagedRecords != 1 || st.RecoveredRecords != 1 {
		t.Fatalf("stats %+v", st)
	}
	if got := s.messages(); !reflect.DeepEqual(got, []string{"a0"}) {
		t.Fatalf("sent %q, want the record before the damage", got)
	}
	if len(segments(t, dir, "*.bad")) != 1 || len(segments(t, dir, "*.chunk")) != 0 {
		t.Fatalf("files %v", segments(t, dir, "*"))
	}
}

func TestBuffer_DirectoryLock(t *testing.T) {
	dir := t.TempDir()
	b1, _, _, _ := newBuf(t, buffer.Config{Type: buffer.TypeFile, Path: dir})
	if err := b1.Recover(); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, b1, recs(keyA, "m", 2, 0))
	b2, clk, s2, _ := newBuf(t, buffer.Config{Type: buffer.TypeFile, Path: dir, FlushInterval: time.Second})
	if err := b2.Recover(); !errors.Is(err, buffer.ErrLocked) {
		t.Fatalf("second Recover = %v, want ErrLocked", err)
	}
	// Run waits for the lock, retrying every second.
	s2.ch = make(chan sent, 1)
	run := runBuf(t, b2)
	clk.waitTimer(t, clk.Now().Add(time.Second))
	if err := b1.Shutdown(context.Background()); err != nil { // file: syncs, releases the lock
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if got := <-s2.ch; !reflect.DeepEqual(got.msgs, []string{"m0", "m1"}) {
		t.Fatalf("b2 sent %q after taking over", got.msgs)
	}
	run.stop(t)
}
