package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap/zaptest"

	"logship/buffer"
	"logship/config"
	"logship/internal/e2etest"
)

// AckFunc adapts a function to buffer.Acker (tests only).
type AckFunc func(recs []buffer.Record)

// Ack calls f.
func (f AckFunc) Ack(recs []buffer.Record) { f(recs) }

// heldOutput keeps copies of the records it is given and acknowledges
// nothing, so the test decides when they are acknowledged.
type heldOutput struct{ recs []buffer.Record }

func (o *heldOutput) Emit(_ context.Context, recs []buffer.Record) error {
	o.recs = append(o.recs, recs...)
	return nil
}

// TestAgent_AckRoutesToOwningWatcher: two tail sources read real files; their
// records keep the tailers' own ids (nothing rewrites Record.Source), the ids
// of the two sources are disjoint, and one batch acknowledging both sources'
// records, interleaved, moves each Watcher's committed position over its own
// file only.
func TestAgent_AckRoutesToOwningWatcher(t *testing.T) {
	dir := t.TempDir()
	content := map[string]string{"a": "a1\na2\na3\n", "b": "b1\nb2\n"}
	for name, text := range content {
		if err := os.WriteFile(filepath.Join(dir, name+".log"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var conf string
	for _, name := range []string{"a", "b"} {
		conf += fmt.Sprintf(`
<source>
  @type tail
  @id %[1]s
  path %[2]s/%[1]s.log
  pos_file %[2]s/%[1]s.pos
  tag t.%[1]s
  read_from_head true
  <parse>
    @type none
  </parse>
</source>
`, name, dir)
	}
	conf += "<match **>\n  @type null\n</match>\n"
	p := e2etest.Pipeline(t, conf, dir, config.BuildOptions{StateDir: dir})
	held := &heldOutput{}
	a, err := New(p, Options{Log: zaptest.NewLogger(t),
		OutputOverride: func(*config.Output, buffer.Acker) Output { return held }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.build(ctx); err != nil {
		t.Fatal(err)
	}
	if len(a.sources) != 2 {
		t.Fatalf("%d tail sources, want 2", len(a.sources))
	}
	for _, s := range a.sources {
		if err := s.w.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.w.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Records by source, in the order read.
	bySource := map[string][]buffer.Record{}
	for _, r := range held.recs {
		bySource[r.Tag] = append(bySource[r.Tag], r)
	}
	ra, rb := bySource["t.a"], bySource["t.b"]
	if len(ra) != 3 || len(rb) != 2 {
		t.Fatalf("read %d and %d records, want 3 and 2", len(ra), len(rb))
	}
	srcA, srcB := a.sources[0], a.sources[1]
	if srcA.cfg.Section.ID() != "a" {
		srcA, srcB = srcB, srcA
	}
	for _, tc := range []struct {
		s    *tailSource
		recs []buffer.Record
	}{{srcA, ra}, {srcB, rb}} {
		for _, r := range tc.recs {
			if r.Source>>sourceIDBits != tc.s.idx {
				t.Errorf("record %s Source %#x: not in source %d's id range", r.Tag, r.Source, tc.s.idx)
			}
			if _, ok := tc.s.w.Position(r.Source); !ok {
				t.Errorf("record %s Source %#x: unknown to its Watcher (rewritten?)", r.Tag, r.Source)
			}
		}
	}
	if ra[0].Source == rb[0].Source {
		t.Fatalf("both sources issued id %#x", ra[0].Source)
	}
	// Nothing acknowledged yet: both positions at 0.
	for _, tc := range []struct {
		s   *tailSource
		src uint64
	}{{srcA, ra[0].Source}, {srcB, rb[0].Source}} {
		if pos, _ := tc.s.w.Position(tc.src); pos != 0 {
			t.Fatalf("position %d before any ack, want 0", pos)
		}
	}
	// One batch, interleaved, leaving a's last line unacknowledged.
	a.Ack([]buffer.Record{ra[0], rb[0], ra[1], rb[1]})
	if got, want := mustPosition(t, srcA, ra[0].Source), ra[1].Offset; got != want {
		t.Errorf("source a at %d, want %d (its acknowledged prefix)", got, want)
	}
	if got, want := mustPosition(t, srcB, rb[0].Source), int64(len(content["b"])); got != want {
		t.Errorf("source b at %d, want %d (all of b)", got, want)
	}
	a.Ack(ra[2:])
	if got, want := mustPosition(t, srcA, ra[0].Source), int64(len(content["a"])); got != want {
		t.Errorf("source a at %d, want %d (all of a)", got, want)
	}
	// Records without a tail source (Source 0) are ignored.
	a.Ack([]buffer.Record{{Tag: "http", Offset: 99}})
	for _, s := range a.sources {
		if err := s.w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func mustPosition(t *testing.T, s *tailSource, src uint64) int64 {
	t.Helper()
	pos, ok := s.w.Position(src)
	if !ok {
		t.Fatalf("source %d: id %#x unknown", s.idx, src)
	}
	return pos
}
