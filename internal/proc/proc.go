// Package proc holds what the harnesses that run programs as separate
// processes share (cmd/logship's bench, internal/torture,
// internal/fidelity, internal/kubetest): a started process whose exit is
// watched, free loopback ports, a process's figures from /proc, and the sum
// of an agent's /metrics samples. It imports no testing, so the logship
// binary can use it.
package proc

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a started process whose output goes to a file.
type Proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts cmd with its standard output and error on out, which is
// closed when the process has exited (or at once when it cannot start). With
// out nil, cmd's own Stdout and Stderr stay.
func Start(cmd *exec.Cmd, out *os.File) (*Proc, error) {
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	if err := cmd.Start(); err != nil {
		closeOut(out)
		return nil, err
	}
	p := &Proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		closeOut(out)
		close(p.done)
	}()
	return p, nil
}

func closeOut(out *os.File) {
	if out != nil {
		out.Close()
	}
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is the process's exit error (cmd.Wait's) once it has exited.
func (p *Proc) Err() error { return p.err }

// State is the exited process's state (nil before it exited).
func (p *Proc) State() *os.ProcessState {
	if !p.Exited() {
		return nil
	}
	return p.cmd.ProcessState
}

// Kill sends SIGKILL and waits for the process to exit.
func (p *Proc) Kill() {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to grace for the process to exit, then
// kills it. It reports whether the process exited within grace (true too
// when it had exited before).
func (p *Proc) Stop(grace time.Duration) bool {
	if p.Exited() {
		return true
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return true
	case <-time.After(grace):
		p.Kill()
		return false
	}
}

// PeakRSS returns the process's peak resident set size in bytes (VmHWM of
// /proc/PID/status; proc(5)).
func PeakRSS(pid int) (int64, error) {
	kb, err := field(fmt.Sprintf("/proc/%d/status", pid), "VmHWM:")
	return kb * 1024, err
}

// ReadBytes returns the bytes the process has read so far (rchar of
// /proc/PID/io: every read(2), files and sockets alike).
func ReadBytes(pid int) (int64, error) {
	return field(fmt.Sprintf("/proc/%d/io", pid), "rchar:")
}

// field returns the number after key on its line of the /proc file path
// ("VmHWM:    1234 kB" gives 1234).
func field(path, key string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, key); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, key)
}
