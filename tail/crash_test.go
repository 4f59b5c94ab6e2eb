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
	"testing"
	"time"

	"go.uber.org/zap"

	"logship/internal/proc"
)

// The real-process crash tests run this test binary again as a tailing child
// (TestHelperProcess_Crash or TestHelperProcess_AckSave, selected by
// -test.run) over the directory named in an environment variable, SIGKILL it
// and read what it delivered.
const (
	crashEnv    = "LOGSHIP_TAIL_CRASH_DIR"
	ackCrashEnv = "LOGSHIP_TAIL_ACKCRASH_DIR"
)

// childMode is how a tailing child acknowledges and saves.
type childMode struct {
	saveInterval time.Duration
	// ackAll acknowledges each batch with one AckAll, else line by line
	// with Ack.
	ackAll bool
	// markers appends "#start" to out when the process starts and "#save"
	// after each save.
	markers bool
}

// runChild is the body of a child process: it tails dir/0.log, "delivers"
// each batch by appending its lines to dir/out, then acknowledges it, until
// it is killed.
func runChild(t *testing.T, dir string, m childMode) {
	out, err := os.OpenFile(filepath.Join(dir, "out"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if m.markers {
		if _, err := out.WriteString("#start\n"); err != nil {
			t.Fatal(err)
		}
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
		if !m.ackAll {
			for _, l := range lines {
				w.Ack(l.Source, l.Offset)
			}
			return nil
		}
		ackLines(w, lines)
		return nil
	})
	w, err = New(Config{Paths: []string{filepath.Join(dir, "0.log")}, ReadFromHead: true, PositionsFile: filepath.Join(dir, "pos"),
		SaveInterval: m.saveInterval, PollInterval: 5 * time.Millisecond, RotateWait: time.Second}, h, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if m.markers {
		w.onSaved = func() { out.WriteString("#save\n") }
	}
	t.Fatal(w.Run(context.Background())) // runs until killed
}

// TestHelperProcess_Crash is the child process of TestCrash_RealProcess: it
// acks line by line and saves positions every 20 ms.
func TestHelperProcess_Crash(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" { // else not a child process
		runChild(t, dir, childMode{saveInterval: 20 * time.Millisecond})
	}
}

// TestHelperProcess_AckSave is the child of TestCrash_PositionsFollowAcks and
// TestCrash_CorruptPositionsRealProcess: it acknowledges each batch at once,
// and positions are saved only because acks moved them (SaveInterval is an
// hour); it marks its starts and saves in out.
func TestHelperProcess_AckSave(t *testing.T) {
	if dir := os.Getenv(ackCrashEnv); dir != "" { // else not a child process
		runChild(t, dir, childMode{saveInterval: time.Hour, ackAll: true, markers: true})
	}
}

// child runs and kills one of the helper processes over dir.
type child struct {
	t    *testing.T
	dir  string
	test string     // the TestHelperProcess_ function
	env  string     // the variable that names dir
	p    *proc.Proc // the last process started
}

// newChild returns a child that is not running yet; the test's cleanup kills
// it if it still runs.
func newChild(t *testing.T, dir, test, env string) *child {
	c := &child{t: t, dir: dir, test: test, env: env}
	t.Cleanup(func() {
		if c.p != nil {
			c.p.Kill()
		}
	})
	return c
}

// newAckChild returns a child of TestHelperProcess_AckSave over a fresh
// directory (c.dir), not running yet; the test is skipped with -short.
func newAckChild(t *testing.T) *child {
	t.Helper()
	if testing.Short() {
		t.Skip("real-process test")
	}
	return newChild(t, t.TempDir(), "TestHelperProcess_AckSave", ackCrashEnv)
}

// start starts a new process.
func (c *child) start() {
	c.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+c.test+"$")
	cmd.Env = append(os.Environ(), c.env+"="+c.dir)
	p, err := proc.Start(cmd, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.p = p
}

// kill SIGKILLs the process and waits for it to end.
func (c *child) kill() { c.p.Kill() }

// out returns the lines in dir/out so far (none if it does not exist yet).
func (c *child) out() []string {
	data, _ := os.ReadFile(filepath.Join(c.dir, "out"))
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// TestCrash_RealProcess kills a tailing process with SIGKILL twice while a
// writer appends and rotates; after a final run every line was delivered at
// least once.
func TestCrash_RealProcess(t *testing.T) {
	dir := t.TempDir()
	c := newChild(t, dir, "TestHelperProcess_Crash", crashEnv)
	delivered := func() map[string]int {
		seen := map[string]int{}
		for _, l := range c.out() {
			seen[l]++
		}
		return seen
	}
	wr := newWriter(t, filepath.Join(dir, "0.log"), "containerd")
	const total = 3000
	c.start()
	for i := 0; i < total; i += 100 {
		wr.lines(100)
		if i == 1200 || i == 2400 {
			wr.rotate(fmt.Sprintf("2026010%d-000000", i/1200))
		}
		if i == 800 || i == 2000 {
			time.Sleep(30 * time.Millisecond)
			c.kill()
			c.start()
		}
		time.Sleep(2 * time.Millisecond)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(delivered()) < total && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	c.kill()
	seen := delivered()
	dups := 0
	for i := 1; i <= total; i++ {
		n := seen[fmt.Sprintf("line %d", i)]
		if n == 0 {
			t.Fatalf("line %d lost", i)
		}
		dups += n - 1
	}
	if len(seen) != total {
		t.Fatalf("%d distinct lines delivered, want %d", len(seen), total)
	}
	t.Logf("%d lines, 2 kills, %d duplicates", total, dups)
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
	c := newAckChild(t)
	dir := c.dir
	delivered := func(n int) bool {
		want := fmt.Sprintf("line %d", n)
		for _, l := range c.out() {
			if l == want {
				return true
			}
		}
		return false
	}
	wr := newWriter(t, filepath.Join(dir, "0.log"), "containerd")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 17))
	c.start()
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
		c.kill()
		c.start()
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
		ls := c.out()
		if ls[len(ls)-1] == "#save" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no save after the last delivery: positions do not follow acks")
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.kill()
	c.start()
	wr.lines(1) // a marker line: whatever the restart re-sends comes before it
	for !delivered(total + 1) {
		if time.Now().After(deadline) {
			t.Fatalf("line %d not delivered after the quiet kill", total+1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.kill()

	// Split the stream into sessions; count re-sent lines per kill and
	// the bound.
	stream := c.out()
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
