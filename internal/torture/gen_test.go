package torture

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readBack reads every line the generator left on disk (gzipped or not) and
// joins pieces the way a correct reader would: CRI P/F, docker lines
// without "\n". It returns the joined texts by file.
func readBack(t *testing.T, g *Generator, format Format) []string {
	t.Helper()
	var texts []string
	for _, p := range g.Files() {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = f
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		var cur strings.Builder
		for sc.Scan() {
			line := sc.Text()
			switch format {
			case Docker:
				var rec struct{ Log, Stream, Time string }
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				cur.WriteString(rec.Log)
				if strings.HasSuffix(rec.Log, "\n") {
					texts = append(texts, strings.TrimSuffix(cur.String(), "\n"))
					cur.Reset()
				}
			default:
				f := strings.SplitN(line, " ", 4)
				if len(f) != 4 {
					t.Fatalf("%s: bad CRI line %q", p, line)
				}
				if _, err := time.Parse(time.RFC3339Nano, f[0]); err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				cur.WriteString(f[3])
				if f[2] == "F" {
					texts = append(texts, cur.String())
					cur.Reset()
				}
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return texts
}

// asEvents turns texts into events that carry the ledger's own timestamps.
func asEvents(l *Ledger, texts []string) []Event {
	var evs []Event
	for i, tx := range texts {
		h, ok := parseHeader(tx)
		ts := int64(0)
		if ok {
			ts = l.Lines(h.ctr)[h.seq].Time / 1e6
		}
		evs = append(evs, Event{Stream: "s", Timestamp: ts, Message: record(tx), Seq: uint64(i + 1)})
	}
	return evs
}

func newGen(t *testing.T, cfg GenConfig) *Generator {
	t.Helper()
	cfg.Root = t.TempDir()
	clock := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	g, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func TestGenerator_KubeletRotation(t *testing.T) {
	g := newGen(t, GenConfig{Containers: 2, LineSize: 100, Rotation: Kubelet, RotateBytes: 4096, LateWrites: 3, MaxFiles: 100})
	for i := 0; i < 20; i++ {
		if err := g.WriteEach(10); err != nil {
			t.Fatal(err)
		}
	}
	if g.Rotations == 0 {
		t.Fatal("no rotation happened")
	}
	var gz int
	for _, p := range g.Files() {
		if strings.HasSuffix(p, ".gz") {
			gz++
		}
	}
	if gz == 0 {
		t.Fatalf("no rotated file was gzipped: %v", g.Files())
	}
	// Every written line is on disk exactly once, late writes included
	// (files are read by name, so order across them is not checked).
	total, _ := g.Ledger().Total()
	if want := 400 + 3*g.Rotations; total != want {
		t.Fatalf("ledger holds %d lines, want 400 + 3 late writes × %d rotations = %d", total, g.Rotations, want)
	}
	r := Verify(g.Ledger(), asEvents(g.Ledger(), readBack(t, g, CRI)), VerifyOptions{})
	if r.Missing != 0 || r.Cut != 0 || r.Merged != 0 || r.Duplicated != 0 || r.Delivered != total {
		t.Fatalf("files on disk: %s, want all %d lines once", r, total)
	}
}

func TestGenerator_KubeletPrune(t *testing.T) {
	g := newGen(t, GenConfig{Containers: 1, LineSize: 100, Rotation: Kubelet, RotateBytes: 2048, MaxFiles: 3})
	for i := 0; i < 30; i++ {
		if err := g.WriteEach(10); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(g.Files()); got > 3 {
		t.Fatalf("%d files kept, want at most MaxFiles=3: %v", got, g.Files())
	}
	r := Verify(g.Ledger(), asEvents(g.Ledger(), readBack(t, g, CRI)), VerifyOptions{})
	if r.Missing == 0 {
		t.Fatalf("pruning deleted nothing: %s", r)
	}
}

func TestGenerator_CopyTruncate(t *testing.T) {
	g := newGen(t, GenConfig{Containers: 1, LineSize: 100, Rotation: CopyTruncate, RotateBytes: 4096, CopyWindow: 2, MaxFiles: 100})
	for i := 0; i < 20; i++ {
		if err := g.WriteEach(10); err != nil {
			t.Fatal(err)
		}
	}
	_, lost := g.Ledger().Total()
	if lost != 2*g.Rotations || lost == 0 {
		t.Fatalf("lines on no disk=%d, want CopyWindow × rotations = %d", lost, 2*g.Rotations)
	}
	r := Verify(g.Ledger(), asEvents(g.Ledger(), readBack(t, g, CRI)), VerifyOptions{})
	if r.Missing != 0 || r.MissingOnDisk != lost || r.Duplicated != 0 {
		t.Fatalf("files on disk: %s, want exactly the %d window lines missing", r, lost)
	}
}

func TestGenerator_Pieces(t *testing.T) {
	for _, f := range []Format{CRI, Docker} {
		g := newGen(t, GenConfig{Containers: 1, LineSize: 40_000, Format: f})
		if err := g.WriteEach(3); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(g.Containers()[0].Path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if got, want := len(lines), 9; got != want { // 16384+16384+7232 per line
			t.Fatalf("format %d: %d physical lines, want %d", f, got, want)
		}
		for _, ln := range lines {
			if len(ln) > DefaultPieceSize+200 {
				t.Fatalf("format %d: physical line of %d bytes, want ≤ 16 KiB + framing", f, len(ln))
			}
		}
		r := Verify(g.Ledger(), asEvents(g.Ledger(), readBack(t, g, f)), VerifyOptions{})
		if !r.Clean() || r.Delivered != 3 {
			t.Fatalf("format %d: %s", f, r)
		}
		if f == Docker {
			if _, err := os.Lstat(filepath.Join(filepath.Dir(g.Containers()[0].Path), filepath.Base(g.Containers()[0].Path))); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(g.Containers()[0].Path, filepath.Join("var", "lib", "docker", "containers")) {
				t.Fatalf("docker log at %s", g.Containers()[0].Path)
			}
		}
	}
}

func TestGenerator_MixedSizes(t *testing.T) {
	g := newGen(t, GenConfig{Containers: 1, LineSize: 100, LongEvery: 4, LongSize: 40_000})
	if err := g.WriteEach(8); err != nil {
		t.Fatal(err)
	}
	ws := g.Ledger().Lines(g.Containers()[0].Name)
	for i, w := range ws {
		want := 100
		if i%4 == 3 {
			want = 40_000
		}
		if w.Size != want {
			t.Fatalf("line %d size %d, want %d", i, w.Size, want)
		}
	}
	r := Verify(g.Ledger(), asEvents(g.Ledger(), readBack(t, g, CRI)), VerifyOptions{})
	if !r.Clean() || r.Delivered != 8 {
		t.Fatalf("files on disk: %s, want 8 lines whole", r)
	}
}
