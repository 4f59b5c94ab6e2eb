package tail

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
)

const ackCrashEnv = "LOGSHIP_TAIL_ACKCRASH_DIR"

// TestHelperProcess_AckSave is the child of TestCrash_PositionsFollowAcks: it
// tails dir/0.log, "delivers" each batch by appending it to dir/out, then
// acknowledges it. Positions are saved only because acks moved them
// (SaveInterval is an hour); after each save "#save" is appended to out, and
// "#start" when the process starts.
func TestHelperProcess_AckSave(t *testing.T) {
	dir := os.Getenv(ackCrashEnv)
	if dir == "" {
		return // not a child process
	}
	out, err := os.OpenFile(filepath.Join(dir, "out"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := out.WriteString("#start\n"); err != nil {
		t.Fatal(err)
	}
	var w *Watcher
	h := HandlerFunc(func(_ context.Context, lines []Line) error {
		var b strings.Builder
		for _, l := range lines {
			b.Write(l.Text)
			b.WriteByte('\n')
		}
		if _, err := out.WriteString(b.String()); err != nil {
			return err
		}
		w.AckAll(func(yield func(uint64, int64) bool) {
			for _, l := range lines {
				if !yield(l.Source, l.Offset) {
					return
				}
			}
		})
		return nil
	})
	w, err = New(Config{Paths: []string{filepath.Join(dir, "0.log")}, ReadFromHead: true, PositionsFile: filepath.Join(dir, "pos"),
		SaveInterval: time.Hour, PollInterval: 5 * time.Millisecond, RotateWait: time.Second}, h, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	w.onSaved = func() { out.WriteString("#save\n") }
	t.Fatal(w.Run(context.Background())) // runs until killed
}

// TestCrash_PositionsFollowAcks SIGKILLs a tailing process at five random
// points while a writer appends (and rotates), then once more after it went
// quiet. Nothing may be lost; after each kill the lines sent again must be
// only those delivered since the last completed save (bounded here by the
// lines after the third-to-last "#save" before the kill: the last save may
// have been cut, and one more covers a delivery racing its ack), and after the
// quiet kill none at all — with positions saved only every SaveInterval, that
// kill would re-send everything read since the start.
func TestCrash_PositionsFollowAcks(t *testing.T) {
	if testing.Short() {
		t.Skip("real-process test")
	}
	dir := t.TempDir()
	var cmd *exec.Cmd
	start := func() {
		cmd = exec.Command(os.Args[0], "-test.run=^TestHelperProcess_AckSave$")
		cmd.Env = append(os.Environ(), ackCrashEnv+"="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	kill := func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	t.Cleanup(func() {
		if cmd != nil && cmd.ProcessState == nil {
			kill()
		}
	})
	read := func() []string {
		data, _ := os.ReadFile(filepath.Join(dir, "out"))
		var out []string
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		return out
	}
	delivered := func(n int) bool {
		want := fmt.Sprintf("line %d", n)
		for _, l := range read() {
			if l == want {
				return true
			}
		}
		return false
	}
	wr := newWriter(t, filepath.Join(dir, "0.log"), "containerd")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 17))
	start()
	const kills = 5
	for k := 0; k < kills; k++ {
		until := time.Now().Add(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		for time.Now().Before(until) {
			wr.lines(20)
			if wr.n%4000 < 20 {
				wr.rotate(fmt.Sprintf("20260102-0000%02d", wr.n/4000))
			}
			time.Sleep(2 * time.Millisecond)
		}
		kill()
		start()
	}
	total := wr.n - 1
	deadline := time.Now().Add(30 * time.Second)
	for !delivered(total) {
		if time.Now().After(deadline) {
			t.Fatalf("line %d not delivered", total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Quiet: wait for a save after the last line, past the coalescing
	// window of its ack (a save may have snapshot before the ack), then kill.
	time.Sleep(3 * DefaultSaveCoalesce)
	deadline = time.Now().Add(30 * time.Second) // its own wait: the delivery may have used most of the first one on a loaded machine
	for {
		ls := read()
		if ls[len(ls)-1] == "#save" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no save after the last delivery: positions do not follow acks")
		}
		time.Sleep(20 * time.Millisecond)
	}
	kill()
	start()
	wr.lines(1) // a marker line: whatever the restart re-sends comes before it
	for !delivered(total + 1) {
		if time.Now().After(deadline) {
			t.Fatalf("line %d not delivered after the quiet kill", total+1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	kill()

	// Split the stream into sessions; count re-sent lines per kill and
	// the bound.
	stream := read()
	seen := map[string]int{}
	var saves []int // indexes (in data lines) of the "#save" markers
	data := 0
	session := -1
	var resent, bound, lines []int
	for _, l := range stream {
		switch l {
		case "#start":
			session++
			resent = append(resent, 0)
			lines = append(lines, 0)
			b := data // bound on what this start may re-send
			if len(saves) >= 3 {
				b = data - saves[len(saves)-3]
			}
			bound = append(bound, b)
			continue
		case "#save":
			saves = append(saves, data)
			continue
		}
		data++
		lines[session]++
		if seen[l] > 0 {
			resent[session]++
			if session == kills+1 && resent[session] <= 3 {
				t.Logf("quiet kill re-sent %q", l)
			}
		}
		seen[l]++
	}
	for i := 1; i <= total+1; i++ {
		if seen[fmt.Sprintf("line %d", i)] == 0 {
			t.Fatalf("line %d lost", i)
		}
	}
	if session != kills+1 {
		t.Fatalf("%d sessions, want %d", session+1, kills+2)
	}
	for s := 1; s <= kills; s++ {
		t.Logf("kill %d: %d lines in the session before it, %d re-sent after it (bound %d)", s, lines[s-1], resent[s], bound[s])
		if resent[s] > bound[s] {
			t.Errorf("kill %d: %d lines re-sent, more than the %d delivered since the last completed save", s, resent[s], bound[s])
		}
	}
	t.Logf("quiet kill: %d re-sent; %d lines written, %d saves", resent[kills+1], total+1, len(saves))
	if resent[kills+1] != 0 {
		t.Errorf("quiet kill after a save: %d lines re-sent, want 0", resent[kills+1])
	}
}
