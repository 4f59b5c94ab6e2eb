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
		{dev: 1, ino: 2, pos: 3, seen: 10, holds: [3]int64{-1, 3, 7}, size: 4, headLen: 5, headHash: 0xdeadbeef, markerLen: 6, markerHash: 7, path: "/var/log/containers/a b\t.log", realPath: "/var/log/pods/x/0.log"},
		{dev: 9, ino: 8, pos: 0, holds: [3]int64{-1, -1, -1}, size: 0, path: "p", realPath: "r"},
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
			first := off
			off += 1 + int64(r.IntN(100))
			offs[i] = off
			tr.push(off, first, StreamStdout, false, false, nil)
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
			if tr.done != want {
				t.Fatalf("seed %d: done %d, want %d", seed, tr.done, want)
			}
			h := [3]int64{-1, -1, -1}
			tr.holds(&h)
			wantHold := int64(-1)
			for j := 0; j < n; j++ {
				if !acked[j] {
					if j > 0 {
						wantHold = offs[j-1]
					} else {
						wantHold = 0
					}
					break
				}
			}
			if h[StreamStdout] != wantHold {
				t.Fatalf("seed %d: hold %d, want %d", seed, h[StreamStdout], wantHold)
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

func TestTracker_Links(t *testing.T) {
	var a, b tracker
	fa := &file{}
	a.push(10, 0, StreamStdout, false, false, nil)
	// A P fragment [10,20) whose line ends in b at 5: a link entry in a.
	seq := a.push(20, 10, StreamStderr, false, true, nil)
	b.push(5, 0, StreamStderr, false, false, []linkRef{{f: fa, seq: seq}})
	a.ack(10)
	h := [3]int64{-1, -1, -1}
	a.holds(&h)
	if a.done != 10 || h[StreamStderr] != 10 {
		t.Fatalf("a done %d stderr hold %d, want 10 10", a.done, h[StreamStderr])
	}
	if _, ok := a.ack(20); ok {
		t.Fatal("a link entry was acked directly")
	}
	links, ok := b.ack(5)
	if !ok || len(links) != 1 || b.done != 5 {
		t.Fatalf("b ack: %v %v done %d", links, ok, b.done)
	}
	a.ackSeq(links[0].seq)
	if a.done != 20 || a.pending() != 0 {
		t.Fatalf("a done %d pending %d, want 20 0", a.done, a.pending())
	}
}
