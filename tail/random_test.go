package tail

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

var randomSeeds = flag.Int("tail.seeds", 40, "seeds per variant for TestFollower_Randomized")

// TestFollower_Randomized drives random interleavings of stdout/stderr lines
// split into CRI P/F fragments, kubelet-style rotations (a line's fragments
// may straddle the rotation), deletion of drained rotated files, random ack
// orders, clean restarts and crashes. Invariants: every line is delivered
// whole; with clean restarts (everything acked and saved) exactly once; with
// crashes at least once; per stream, lines first arrive in write order.
func TestFollower_Randomized(t *testing.T) {
	for seed := uint64(1); seed <= uint64(*randomSeeds); seed++ {
		for _, crash := range []bool{false, true} {
			for _, notify := range []bool{false, true} {
				if notify && seed%4 != 0 {
					continue // slower (an inotify instance per start): a quarter of the seeds
				}
				t.Run(fmt.Sprintf("seed=%d/crash=%v/notify=%v", seed, crash, notify), func(t *testing.T) {
					randomRun(t, seed, crash, notify)
				})
			}
		}
	}
}

// heldOpen reports whether w has the file at path open.
func heldOpen(w *Watcher, path string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.files {
		if f.realPath == path && f.fd != nil {
			return true
		}
	}
	return false
}

// deletedUnsaved reports whether a deleted file still has data a restart
// would need (committed position below its size).
func deletedUnsaved(w *Watcher) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.files {
		if f.retired {
			// Deleted and its inode reused: its state is no longer saved.
			if f.tr.pending() > 0 || f.lin.holdStart(f) >= 0 {
				return true
			}
			continue
		}
		gone := false
		if f.fd != nil {
			fi, err := f.fd.Stat()
			gone = err == nil && fi.Sys().(*syscall.Stat_t).Nlink == 0
		} else {
			_, err := os.Stat(f.realPath)
			gone = err != nil
		}
		if pos, _, _ := f.committed(); gone && pos < f.size.Load() {
			return true
		}
	}
	return false
}

func randomRun(t *testing.T, seed uint64, crash, notify bool) {
	docker := seed%4 == 1 // docker json-file pieces instead of CRI P/F
	r := rand.New(rand.NewPCG(seed, 99))
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	appendFile(t, path, "")
	h := newHarness(t, dir, Config{Paths: []string{"0.log"}, ReadFromHead: true, PositionsFile: "pos",
		ReadBudget: 64 + r.IntN(4096), ReadBufferSize: 4096, MaxDeletedFiles: -1, MaxDeletedAge: -1, PartialFlush: time.Hour})
	h.col.ack = false

	type pending struct {
		text string
		rest string
	}
	var open [3]*pending // per stream: a line whose fragments are being written
	next := [3]int{}
	var written []string // complete lines, in completion order
	rotations := 0
	var rotated []string
	var delivered []got
	acked := map[string]bool{}
	var unackedAtCrash []got

	logf := func(format string, a ...any) {
		if os.Getenv("RANDOM_DEBUG") != "" {
			t.Logf(format, a...)
		}
	}
	setDebug := func() {
		if notify {
			// inotify mode: rotations are found by Sync (each cycle), not
			// by stat'ing paths in Poll. No events are consumed here.
			n, err := fsnotify.NewWatcher()
			if err != nil {
				t.Fatal(err)
			}
			h.w.notify = n
		}
		if os.Getenv("RANDOM_DEBUG") != "" {
			h.w.debugf = func(format string, a ...any) { logf("      "+format, a...) }
		}
	}
	setDebug()
	writeFrag := func(s Stream, tag, text string) {
		logf("write %s %s %.14q", s, tag, text)
		if docker {
			if tag == "F" {
				text += `\n`
			}
			appendFile(t, path, fmt.Sprintf(`{"log":"%s","stream":"%s","time":"2026-01-02T03:04:05.%09dZ"}`+"\n", text, s, r.IntN(1e9)))
			return
		}
		appendFile(t, path, fmt.Sprintf("2026-01-02T03:04:05.%09dZ %s %s %s\n", r.IntN(1e9), s, tag, text))
	}
	take := func() {
		ls := h.col.take()
		for _, l := range ls {
			logf("  got %.14q src %d off %d %s stream %v len %d", l.Text, l.Source, l.Offset, l.Real, l.Stream, len(l.Text))
		}
		delivered = append(delivered, ls...)
		// Acknowledge a random subset, in random order; the rest later.
		r.Shuffle(len(ls), func(i, j int) { ls[i], ls[j] = ls[j], ls[i] })
		for i, l := range ls {
			if i%3 == 0 && r.IntN(2) == 0 {
				unackedAtCrash = append(unackedAtCrash, l)
				continue
			}
			h.w.Ack(l.Source, l.Offset)
			acked[l.Text] = true
		}
	}
	ackRest := func() {
		for _, l := range unackedAtCrash {
			h.w.Ack(l.Source, l.Offset)
			acked[l.Text] = true
		}
		unackedAtCrash = nil
	}

	for step := 0; step < 300; step++ {
		switch op := r.IntN(100); {
		case op < 60: // write one fragment of some stream
			s := Stream(1 + r.IntN(2))
			if open[s] == nil {
				next[s]++
				text := fmt.Sprintf("%s-%04d-%s", s, next[s], strings.Repeat("x", r.IntN(200)))
				open[s] = &pending{text: text, rest: text}
			}
			p := open[s]
			if n := len(p.rest); n > 1 && r.IntN(3) > 0 {
				k := 1 + r.IntN(n-1)
				writeFrag(s, "P", p.rest[:k])
				p.rest = p.rest[k:]
			} else {
				writeFrag(s, "F", p.rest)
				written = append(written, p.text)
				open[s] = nil
			}
		case op < 68: // kubelet rotation
			rotations++
			to := fmt.Sprintf("%s.20260102-%06d", path, rotations)
			if err := os.Rename(path, to); err != nil {
				t.Fatal(err)
			}
			appendFile(t, path, "")
			rotated = append(rotated, to)
			logf("rotate -> %s", to)
		case op < 72: // the kubelet deletes the oldest rotated file, held open
			if len(rotated) > 1 && heldOpen(h.w, rotated[0]) {
				logf("delete %s", rotated[0])
				os.Remove(rotated[0])
				rotated = rotated[1:]
			}
		case op < 92:
			h.clk.Advance(time.Duration(r.IntN(3000)) * time.Millisecond)
			logf("cycle")
			h.cycle()
			if os.Getenv("RANDOM_DEBUG") != "" {
				for _, lin := range h.w.lins {
					for _, f := range lin.files {
						pos, done, holds := f.committed()
						logf("    file %d %s state %d cur %v pos %d done %d holds %v off %d size %d fd %v buf %d asm %v skip %d %v seen %d q %v", f.id, filepath.Base(f.realPath), f.state, f.current, pos, done, holds, f.off, f.size.Load(), f.fd != nil, f.end-f.start, f.asmHold, f.skipUntil, f.skipHold, f.seen, f.tr.q[f.tr.head:])
					}
				}
			}
			take()
		case op < 96: // clean restart
			h.drain()
			take()
			ackRest()
			if deletedUnsaved(h.w) {
				break // a deleted file still needed: restarting would lose it
			}
			if os.Getenv("RANDOM_DEBUG") != "" {
				for _, f := range h.w.files {
					pos, done, holds := f.committed()
					logf("file %d %s pos %d done %d holds %v pending %d off %d fd %v", f.id, filepath.Base(f.realPath), pos, done, holds, f.tr.pending(), f.off, f.fd != nil)
				}
				for _, lin := range h.w.lins {
					for i, st := range lin.streams {
						for _, fr := range st.frags {
							logf("  stream %d frag %q in %d [%d,%d)", i, fr.data, fr.f.id, fr.start, fr.end)
						}
					}
				}
			}
			logf("restart")
			h.restart()
			setDebug()
			if os.Getenv("RANDOM_DEBUG") != "" {
				data, _ := os.ReadFile(h.cfg.PositionsFile)
				logf("positions:\n%s", data)
			}
		default:
			if crash { // kill -9 with lines in flight: they are re-sent
				h.drain()
				take()
				if deletedUnsaved(h.w) {
					break // a deleted file still needed: the loss would be real
				}
				h.save()
				logf("crash")
				if os.Getenv("RANDOM_DEBUG") != "" {
					data, _ := os.ReadFile(h.cfg.PositionsFile)
					logf("positions:\n%s", data)
				}
				h.crash()
				setDebug()
				unackedAtCrash = nil
			}
		}
	}
	// Finish every open line and drain.
	for s := Stream(1); s <= 2; s++ {
		if p := open[s]; p != nil {
			writeFrag(s, "F", p.rest)
			written = append(written, p.text)
		}
	}
	for i, idle := 0, 0; i < 5000 && idle < 20; i++ { // until nothing is left to read
		before := h.w.Stats().BytesRead
		h.clk.Advance(time.Second)
		h.cycle()
		take()
		if h.w.Stats().BytesRead == before {
			idle++
		} else {
			idle = 0
		}
	}
	ackRest()

	count := map[string]int{}
	lastSeen := map[Stream]string{}
	for _, l := range delivered {
		if l.Flags&(FlagPartial|FlagSplit|FlagTruncated|FlagMalformed) != 0 || len(l.Text) < 12 {
			if os.Getenv("RANDOM_DEBUG") != "" {
				ents, _ := os.ReadDir(dir)
				for _, e := range ents {
					data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
					logf("== %s\n%s", e.Name(), data)
				}
			}
			t.Fatalf("line %q flags %b", l.Text, l.Flags)
		}
		count[l.Text]++
		if count[l.Text] == 1 {
			if prev := lastSeen[l.Stream]; prev != "" && l.Text[:12] < prev[:12] {
				t.Fatalf("stream %v: %q after %q", l.Stream, l.Text[:12], prev[:12])
			}
			lastSeen[l.Stream] = l.Text
		}
	}
	for _, w := range written {
		if count[w] == 0 {
			t.Fatalf("line %q lost (%d written, %d delivered, %d rotations)", w[:12], len(written), len(delivered), rotations)
		}
		if !crash && count[w] > 1 {
			t.Fatalf("line %q delivered %d times without a crash", w[:12], count[w])
		}
	}
	if len(count) != len(written) {
		t.Fatalf("%d distinct lines delivered, %d written", len(count), len(written))
	}
}
