package buffer_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"logship/buffer"
)

// The crash test runs the file buffer in child processes (this test binary
// re-executed with crashChildEnv set), SIGKILLs each at a random moment, and
// checks what the sender delivered across all runs.
//
// The child is a tiny agent: a producer adds records numbered from its
// checkpoint (the acknowledged low-water mark, saved after every Ack, like the
// tailer's pos_file); the sender appends each chunk's numbers to an output
// file in one write, and fails one attempt in eight to exercise retries.
//
// Checked: every record below the final checkpoint was delivered (nothing
// acknowledged is lost), and the duplicates each run delivers are bounded by
// crashDupBound: the chunk in flight at the kill (delivered, not yet removed)
// plus the records fsynced but not yet checkpointed (at most one fsync batch,
// less than a chunk: one key, one flush thread). Chunk.Sent is not persisted,
// so a chunk a Sender delivered in part before failing is re-sent whole after
// a crash; the sender here fails without partial delivery to keep the bound
// exact (partial delivery within a process is covered by TestBuffer_PartialSend).
const (
	crashChildEnv   = "LOGSHIP_BUFFER_CRASH_CHILD"
	crashKills      = 50
	crashChunk      = 40 // ChunkLimitRecords
	crashDupBound   = 2 * crashChunk
	crashFinalExtra = 500 // records the final run produces before draining
)

func TestBuffer_CrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test spawns processes")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	start := time.Now()
	for run := 0; run <= crashKills; run++ {
		final := run == crashKills
		trimPartialLine(t, out) // a kill may leave half a line
		cmd := exec.Command(os.Args[0], "-test.run=^TestBuffer_CrashChild$", "-test.v")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, "CRASH_RUN="+strconv.Itoa(run),
			"CRASH_FINAL="+strconv.FormatBool(final))
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if final {
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("final run: %v\n%s", err, stderr.String())
				}
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("final run did not drain\n%s", stderr.String())
			}
			break
		}
		time.Sleep(time.Duration(20+rng.IntN(120)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: child did not die by SIGKILL: %v\n%s", run, err, stderr.String())
		}
	}

	checkpoint := readCheckpoint(t, dir)
	delivered := map[int64]int{}
	dupsPerRun := map[int]int{}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var run int
		var seq int64
		if _, err := fmt.Sscanf(string(line), "%d %d", &run, &seq); err != nil {
			t.Fatalf("bad output line %q", line)
		}
		if delivered[seq] > 0 {
			dupsPerRun[run]++
		}
		delivered[seq]++
	}
	for seq := int64(0); seq < checkpoint; seq++ {
		if delivered[seq] == 0 {
			t.Fatalf("record %d acknowledged but never delivered (checkpoint %d)", seq, checkpoint)
		}
	}
	maxDups, totalDups := 0, 0
	for run, n := range dupsPerRun {
		totalDups += n
		maxDups = max(maxDups, n)
		if n > crashDupBound {
			t.Errorf("run %d delivered %d duplicates, bound %d", run, n, crashDupBound)
		}
	}
	t.Logf("%d kills in %v: %d records delivered (checkpoint %d), %d duplicates, at most %d per restart (bound %d)",
		crashKills, time.Since(start).Round(time.Millisecond), len(delivered), checkpoint, totalDups, maxDups, crashDupBound)
}

// trimPartialLine cuts the output file after its last newline.
func trimPartialLine(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 != len(data) {
		if err := os.Truncate(path, int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
}

func readCheckpoint(t testing.TB, dir string) int64 {
	data, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		t.Fatalf("checkpoint %q: %v", data, err)
	}
	return n
}

// crashAcker keeps the contiguous acknowledged prefix and saves it.
type crashAcker struct {
	mu    sync.Mutex
	dir   string
	low   int64 // every record below low is acknowledged
	above map[int64]bool
}

func (a *crashAcker) Ack(recs []buffer.Record) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range recs {
		a.above[r.Offset-1] = true
	}
	moved := false
	for a.above[a.low] {
		delete(a.above, a.low)
		a.low++
		moved = true
	}
	if moved {
		tmp := filepath.Join(a.dir, "checkpoint.tmp")
		os.WriteFile(tmp, []byte(strconv.FormatInt(a.low, 10)), 0o644)
		os.Rename(tmp, filepath.Join(a.dir, "checkpoint"))
	}
}

// crashSender appends "<run> <seq>\n" per record, one write per attempt.
type crashSender struct {
	mu  sync.Mutex
	f   *os.File
	run int
	rng *rand.Rand
}

func (s *crashSender) Send(_ context.Context, c *buffer.Chunk) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rest := c.Records[c.Sent:]
	n := len(rest)
	fail := s.rng.IntN(8) == 0
	if fail {
		n = 0 // an attempt that fails delivers nothing (see crashDupBound)
	}
	var buf []byte
	for _, r := range rest[:n] {
		buf = fmt.Appendf(buf, "%d %s\n", s.run, r.Message)
	}
	if _, err := s.f.Write(buf); err != nil {
		return err
	}
	c.Sent += n
	if fail {
		return errors.New("injected failure")
	}
	return nil
}

// TestBuffer_CrashChild is the child process of TestBuffer_CrashRecovery; it
// does nothing in a normal test run.
func TestBuffer_CrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("child process of TestBuffer_CrashRecovery")
	}
	run, _ := strconv.Atoi(os.Getenv("CRASH_RUN"))
	final := os.Getenv("CRASH_FINAL") == "true"
	f, err := os.OpenFile(filepath.Join(dir, "out"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	low := readCheckpoint(t, dir)
	ack := &crashAcker{dir: dir, low: low, above: map[int64]bool{}}
	snd := &crashSender{f: f, run: run, rng: rand.New(rand.NewPCG(uint64(run), 7))}
	b, err := buffer.New(buffer.Config{
		Type: buffer.TypeFile, Path: filepath.Join(dir, "buf"),
		ChunkLimitRecords: crashChunk, ChunkFullThreshold: 1,
		FlushInterval: 30 * time.Millisecond, FlushThreadInterval: 10 * time.Millisecond,
		FsyncInterval: 5 * time.Millisecond, RetryWait: time.Millisecond, RetryMaxInterval: 4 * time.Millisecond,
		RetryForever: true, ChunkLimitSize: 64 << 10, TotalLimitSize: 1 << 20,
	}, snd, ack, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	key := buffer.StreamKey{Group: "g", Stream: "s"}
	rng := rand.New(rand.NewPCG(uint64(run), 9))
	end := int64(-1)
	if final {
		end = low + crashFinalExtra
	}
	for seq := low; end < 0 || seq < end; {
		n := 1 + rng.IntN(15)
		if end >= 0 {
			n = int(min(int64(n), end-seq))
		}
		batch := make([]buffer.Record, n)
		for i := range batch {
			batch[i] = buffer.Record{Time: seq, Key: key, Source: 1, Offset: seq + 1,
				Message: []byte(strconv.FormatInt(seq, 10))}
			seq++
		}
		if err := b.Add(ctx, batch); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
	}
	// Final run: wait until everything is delivered, then stop.
	for deadline := time.Now().Add(30 * time.Second); ; {
		b.EnqueueAll()
		st := b.Stats()
		if st.QueuedChunks == 0 && st.StagedChunks == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not drained: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := readCheckpoint(t, dir); got != end {
		t.Fatalf("checkpoint %d after draining, want %d", got, end)
	}
	w := bufio.NewWriter(os.Stderr)
	fmt.Fprintf(w, "final run drained at checkpoint %d\n", end)
	w.Flush()
}
