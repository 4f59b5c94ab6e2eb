package tail

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
)

const crashEnv = "LOGSHIP_TAIL_CRASH_DIR"

// TestHelperProcess_Crash is the child process of TestCrash_RealProcess: it
// tails dir/0.log, "delivers" each line by appending it to dir/out, acks it,
// and saves positions every 20 ms, until it is killed.
func TestHelperProcess_Crash(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		return // not a child process
	}
	out, err := os.OpenFile(filepath.Join(dir, "out"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
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
		for _, l := range lines {
			w.Ack(l.Source, l.Offset)
		}
		return nil
	})
	w, err = New(Config{Paths: []string{filepath.Join(dir, "0.log")}, ReadFromHead: true, PositionsFile: filepath.Join(dir, "pos"),
		SaveInterval: 20 * time.Millisecond, PollInterval: 5 * time.Millisecond, RotateWait: time.Second}, h, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Fatal(w.Run(context.Background())) // runs until killed
}

// TestCrash_RealProcess kills a tailing process with SIGKILL twice while a
// writer appends and rotates; after a final run every line was delivered at
// least once.
func TestCrash_RealProcess(t *testing.T) {
	dir := t.TempDir()
	var running *exec.Cmd
	t.Cleanup(func() {
		if running != nil && running.ProcessState == nil {
			running.Process.Kill()
			running.Wait()
		}
	})
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess_Crash$")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		running = cmd
		return cmd
	}
	delivered := func() map[string]int {
		seen := map[string]int{}
		f, err := os.Open(filepath.Join(dir, "out"))
		if err != nil {
			return seen
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			seen[sc.Text()]++
		}
		return seen
	}
	wr := newWriter(t, filepath.Join(dir, "0.log"), "containerd")
	const total = 3000
	cmd := start()
	for i := 0; i < total; i += 100 {
		wr.lines(100)
		if i == 1200 || i == 2400 {
			wr.rotate(fmt.Sprintf("2026010%d-000000", i/1200))
		}
		if i == 800 || i == 2000 {
			time.Sleep(30 * time.Millisecond)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			cmd = start()
		}
		time.Sleep(2 * time.Millisecond)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(delivered()) < total && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
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
