package tail

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestPositions_RoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pos")
	in := []posEntry{
		{dev: 1, ino: 2, pos: 3, size: 4, headLen: 5, headHash: 0xdeadbeef, markerLen: 6, markerHash: 7, path: "/var/log/containers/a b\t.log", realPath: "/var/log/pods/x/0.log"},
		{dev: 9, ino: 8, pos: 0, size: 0, path: "p", realPath: "r"},
	}
	if err := writePositions(p, in); err != nil {
		t.Fatal(err)
	}
	out, exists, err := readPositions(p)
	if err != nil || !exists {
		t.Fatalf("readPositions = %v, %v", exists, err)
	}
	if len(out) != len(in) {
		t.Fatalf("got %d entries", len(out))
	}
	for i := range in {
		if out[i] != in[i] {
			t.Fatalf("entry %d = %+v, want %+v", i, out[i], in[i])
		}
	}
	if _, exists, err := readPositions(p + ".missing"); exists || err != nil {
		t.Fatalf("missing file: %v %v", exists, err)
	}
	// Any damage is detected.
	data, _ := os.ReadFile(p)
	for _, bad := range [][]byte{data[:len(data)-1], data[:len(data)/2], append([]byte("x"), data...), {}} {
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := readPositions(p); !errors.Is(err, ErrPositionsCorrupt) {
			t.Fatalf("damaged %q: err %v, want ErrPositionsCorrupt", bad, err)
		}
	}
}

func TestTracker_LowWaterMark(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		var tr tracker
		n := 1 + r.IntN(50)
		offs := make([]int64, n)
		var off int64
		for i := range offs {
			off += 1 + int64(r.IntN(100))
			offs[i] = off
			tr.push(off, off, false, false, nil)
		}
		acked := make([]bool, n)
		for _, i := range r.Perm(n) {
			if _, ok := tr.ack(offs[i]); !ok {
				t.Fatalf("seed %d: ack(%d) not found", seed, offs[i])
			}
			acked[i] = true
			var want int64
			for j := 0; j < n && acked[j]; j++ {
				want = offs[j]
			}
			if tr.pos != want {
				t.Fatalf("seed %d: pos %d, want %d", seed, tr.pos, want)
			}
		}
		if tr.pending() != 0 {
			t.Fatalf("seed %d: %d pending", seed, tr.pending())
		}
		if _, ok := tr.ack(offs[0]); ok {
			t.Fatalf("seed %d: double ack accepted", seed)
		}
	}
}

func TestTracker_ResumeAndLinks(t *testing.T) {
	var a, b tracker
	fa := &file{}
	// a: a line at 10, then a P fragment from 10 to 20 held, a line of the
	// other stream at 30 (resume held at 10).
	a.push(10, 10, false, false, nil)
	a.push(30, 10, false, false, nil)
	// The P's line ends in b at 5; a gets a link entry.
	seq := a.push(20, 30, false, true, nil)
	b.push(5, 5, false, false, []linkRef{{f: fa, seq: seq}})
	a.ack(10)
	a.ack(30)
	if a.pos != 10 {
		t.Fatalf("a pos %d, want 10 (held by the P)", a.pos)
	}
	links, ok := b.ack(5)
	if !ok || len(links) != 1 || b.pos != 5 {
		t.Fatalf("b ack: %v %v pos %d", links, ok, b.pos)
	}
	a.ackSeq(links[0].seq)
	if a.pos != 30 {
		t.Fatalf("a pos %d, want 30", a.pos)
	}
}
