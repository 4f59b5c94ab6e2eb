package proc

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestProcFigures(t *testing.T) {
	rss, err := PeakRSS(os.Getpid())
	if err != nil || rss <= 0 || rss%1024 != 0 {
		t.Fatalf("PeakRSS = %d, %v", rss, err)
	}
	if n, err := ReadBytes(os.Getpid()); err != nil || n < 0 {
		t.Fatalf("ReadBytes = %d, %v", n, err)
	}
	if _, err := PeakRSS(-1); err == nil {
		t.Fatal("PeakRSS of no process: no error")
	}
	path := filepath.Join(t.TempDir(), "status")
	if err := os.WriteFile(path, []byte("Name:\tx\nVmPeak:\t   9 kB\nVmHWM:\t  1234 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, err := field(path, "VmHWM:"); err != nil || v != 1234 {
		t.Fatalf("field = %d, %v; want 1234", v, err)
	}
	if _, err := field(path, "VmRSS:"); err == nil {
		t.Fatal("missing key: no error")
	}
}

func start(t *testing.T, name string, args ...string) *Proc {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(exec.Command(name, args...), out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

func TestProcStopAndKill(t *testing.T) {
	p := start(t, "sleep", "60")
	if p.Exited() || p.State() != nil || p.Pid() <= 0 {
		t.Fatal("running process reported exited")
	}
	if !p.Stop(10 * time.Second) {
		t.Fatal("sleep did not stop on SIGTERM")
	}
	if !p.Exited() || p.Err() == nil || p.State() == nil {
		t.Fatalf("after Stop: exited %v, err %v", p.Exited(), p.Err())
	}
	// A process that ignores SIGTERM is killed after the grace. It says
	// when it ignores it on the pipe that is its output.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	q, err := Start(exec.Command("sh", "-c", "trap '' TERM; echo ready; exec sleep 60"), w)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Kill)
	if line, err := bufio.NewReader(r).ReadString('\n'); line != "ready\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	if q.Stop(200 * time.Millisecond) {
		t.Fatal("Stop reported a process that ignores SIGTERM as stopped in time")
	}
	if !q.Exited() {
		t.Fatal("not exited after the kill")
	}
}

func TestStartFails(t *testing.T) {
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(exec.Command(filepath.Join(t.TempDir(), "missing")), out); err == nil {
		t.Fatal("Start of a missing binary: no error")
	}
	if _, err := out.Write([]byte("x")); err == nil {
		t.Fatal("output file left open after a failed start")
	}
}

func TestStartWithoutOutput(t *testing.T) {
	var buf bytes.Buffer
	cmd := exec.Command("echo", "hi")
	cmd.Stdout = &buf
	p, err := Start(cmd, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if p.Err() != nil || buf.String() != "hi\n" {
		t.Fatalf("exit %v, output %q: want nil, \"hi\\n\"", p.Err(), buf.String())
	}
}
