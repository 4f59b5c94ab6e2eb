package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"logship/internal/e2etest"
	"logship/internal/kubelog"
	"logship/internal/proc"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

var sigtermConfig = e2etest.CRISource("pos_file {{ROOT}}/fluentd-containers.log.pos") +
	e2etest.Output("sigterm", "", "flush_interval 1h")

// startRun runs 'logship run' as a child process (the test binary itself).
func startRun(t *testing.T, cfg, state string, ops int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEmulateHelperProcess$", "--",
		"run", "--config", cfg, "--state-dir", state, "--listen", "127.0.0.1:"+strconv.Itoa(ops), "--log-level", "warn")
	cmd.Env = append(os.Environ(), "LOGSHIP_EMULATE_HELPER=1")
	var stderr e2etest.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd
}

// sigterm sends SIGTERM to cmd, 'logship <name>' with its stderr in an
// e2etest.SyncBuffer, and fails the test unless it exits 0 within timeout.
func sigterm(t *testing.T, cmd *exec.Cmd, name string, timeout time.Duration) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("logship %s after SIGTERM: %v, want exit 0; stderr %q", name, err, cmd.Stderr.(*e2etest.SyncBuffer).String())
		}
	case <-time.After(timeout):
		t.Fatalf("logship %s did not exit within %v of SIGTERM", name, timeout)
	}
}

// TestRun_SIGTERMDrains checks the ordered drain of a real process: with a
// one-hour flush interval nothing is sent until SIGTERM, which must flush
// every line, save the positions and exit 0; a restart then sends nothing
// twice.
func TestRun_SIGTERMDrains(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	root, state := t.TempDir(), t.TempDir()
	node := &kubelog.Node{Root: filepath.Join(root, "var", "log"), Start: time.Now().Add(-time.Minute)}
	const n = 300
	for i := 0; i < 3; i++ {
		c, err := node.AddContainer("default", "p"+strconv.Itoa(i), "app", false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := node.Write(c, n, 120); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := filepath.Join(root, "fluent.conf")
	cfg := e2etest.Config(sigtermConfig, root, env)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ops, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := startRun(t, cfgPath, state, ops)
	addr := "127.0.0.1:" + strconv.Itoa(ops)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v, err := proc.Metric(addr, "logship_tail_lines_read_total"); err == nil && int(v) == 3*n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent did not read every line within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := env.Server.Stats().EventsAccepted; got != 0 {
		t.Fatalf("%d events sent before SIGTERM with a 1h flush interval", got)
	}
	sigterm(t, cmd, "run", 40*time.Second)
	if got := env.Server.Stats().EventsAccepted; got != 3*n {
		t.Fatalf("after SIGTERM %d events delivered, want %d (final flush)", got, 3*n)
	}

	// Restart: positions were saved after the flush, so nothing is re-sent.
	cmd = startRun(t, cfgPath, state, ops)
	deadline = time.Now().Add(30 * time.Second)
	for {
		if _, err := proc.Metric(addr, "logship_tail_files_open"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the restarted agent did not serve metrics within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	sigterm(t, cmd, "run", 40*time.Second)
	if got := env.Server.Stats().EventsAccepted; got != 3*n {
		t.Fatalf("after a restart %d events delivered, want still %d (no duplicates)", got, 3*n)
	}
}
