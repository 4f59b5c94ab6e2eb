// Package fidelity is the differential test of logship against the real
// Fluentd: the same generated kubelet logs go through Fluentd (with
// fluent-plugin-cloudwatch-logs) and through the logship binary, each into
// its own CloudWatch Logs emulator, and every event (group, stream,
// timestamp, message bytes) is compared, matched by line. `make fidelity`
// runs it; `make test` skips it.
//
// Both agents run the same configuration file unchanged. Its paths
// (/var/log/containers/*.log, /var/log/kubelet.log, pos files under
// /var/log) are real: each agent runs in its own mount namespace
// (unshare(1) from util-linux) with a temp copy of the generated node files
// bind-mounted on /var/log, so neither sees the other's positions.
//
// The Fluentd peer is found in ../shared/peers/fluentd beside the module
// (LOGSHIP_FLUENTD overrides). Without it, or without ruby (the peer's
// install-deps.sh) or mount namespaces, the tests skip with the reason;
// LOGSHIP_FIDELITY_REQUIRE=1 (set by .ci/run) turns those skips into
// failures.
package fidelity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"logship/internal/fixtures"
	"logship/internal/proc"
)

// Environment variables of the suite.
const (
	// EnvRun must be 1 for the differential tests to run (make fidelity
	// sets it): each run starts Ruby and takes minutes of CPU.
	EnvRun = "LOGSHIP_FIDELITY"
	// EnvRequire=1 fails, instead of skipping, when the peer, ruby or
	// mount namespaces are missing.
	EnvRequire = "LOGSHIP_FIDELITY_REQUIRE"
	// EnvAdvisory=1 logs unlisted differences instead of failing (.ci/run
	// sets it until the open differences are closed).
	EnvAdvisory = "LOGSHIP_FIDELITY_ADVISORY"
	// EnvFluentd is the peer directory (default ../shared/peers/fluentd).
	EnvFluentd = "LOGSHIP_FLUENTD"
	// EnvLogship is a prebuilt logship binary (default: go build).
	EnvLogship = "LOGSHIP_BIN"
)

// Skip skips t with reason, or fails it when LOGSHIP_FIDELITY_REQUIRE=1.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s; %s=1 makes this a failure", reason, EnvRequire)
	}
	t.Skip(reason)
}

// Fluentd is the real Fluentd peer: a source tree run by the system ruby.
type Fluentd struct {
	// Dir is the peer directory (bin/, src/, RUBYLIB.rel, VERSIONS).
	Dir string
}

// FindFluentd returns the peer, or skips t naming what is missing.
func FindFluentd(t testing.TB) *Fluentd {
	t.Helper()
	dir := os.Getenv(EnvFluentd)
	if dir == "" {
		mod, ok := fixtures.ModuleRoot()
		if !ok {
			Skip(t, "no go.mod above the working directory")
		}
		dir = filepath.Join(filepath.Dir(mod), "shared", "peers", "fluentd")
	}
	if _, err := os.Stat(filepath.Join(dir, "RUBYLIB.rel")); err != nil {
		Skip(t, "needs the real Fluentd peer ../shared/peers/fluentd (set "+EnvFluentd+"=dir) — skipped on a bare clone")
	}
	if _, err := exec.LookPath("ruby"); err != nil {
		Skip(t, "needs ruby for the Fluentd peer: run "+filepath.Join(dir, "install-deps.sh")+" as root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		Skip(t, "needs unshare(1) (util-linux) to give each agent its own /var/log")
	}
	if err := exec.Command("unshare", "-m", "true").Run(); err != nil {
		Skip(t, "needs mount namespaces (root or CAP_SYS_ADMIN) to give each agent its own /var/log: unshare -m: "+err.Error())
	}
	return &Fluentd{Dir: dir}
}

// Versions returns the peer's VERSIONS file: "component repo version commit"
// lines.
func (f *Fluentd) Versions() (string, error) {
	b, err := os.ReadFile(filepath.Join(f.Dir, "VERSIONS"))
	return string(b), err
}

// Command returns the argv and environment that run Fluentd with args, as
// the peer's bin/fluentd does (RUBYLIB from RUBYLIB.rel, the compat shim,
// the image's plugin dir with -p, external encoding ASCII-8BIT under
// --no-supervisor). When the peer's src/fluentd/bin/fluentd is missing the
// same launcher is written into tmp.
func (f *Fluentd) Command(tmp string, args ...string) ([]string, []string, error) {
	rel, err := os.ReadFile(filepath.Join(f.Dir, "RUBYLIB.rel"))
	if err != nil {
		return nil, nil, err
	}
	var rl []string
	for _, d := range strings.Split(strings.TrimSpace(string(rel)), ":") {
		rl = append(rl, filepath.Join(f.Dir, d))
	}
	// The peer's aws-sdk-core (Debian's 3.168) predates the
	// service-specific endpoint variables (AWS_ENDPOINT_URL_<SERVICE>,
	// aws-sdk-core 3.187.0, https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html),
	// so a second shim maps AWS_ENDPOINT_URL_CLOUDWATCH_LOGS onto the
	// SDK-wide endpoint option, as newer SDKs do; the configuration stays
	// unchanged.
	shim := filepath.Join(tmp, "fidelity-endpoint.rb")
	if err := os.WriteFile(shim, []byte(endpointShim), 0o644); err != nil {
		return nil, nil, err
	}
	env := []string{
		"RUBYLIB=" + strings.Join(rl, ":"),
		"RUBYOPT=-r" + filepath.Join(f.Dir, "shim", "fluentd-peer-compat.rb") + " -r" + shim,
		"FLUENTD_DISABLE_BUNDLER_INJECTION=1",
	}
	main := filepath.Join(f.Dir, "src", "fluentd", "bin", "fluentd")
	if _, err := os.Stat(main); err != nil {
		// What Fluentd's gem installs as bin/fluentd
		// (github.com/fluent/fluentd v1.19.3 bin/fluentd).
		main = filepath.Join(tmp, "fluentd.rb")
		if err := os.WriteFile(main, []byte("require 'fluent/command/fluentd'\n"), 0o644); err != nil {
			return nil, nil, err
		}
	}
	argv := []string{"ruby", "-Eascii-8bit:ascii-8bit", main}
	argv = append(argv, args...)
	argv = append(argv, "-p", filepath.Join(f.Dir, "plugins"))
	return argv, env, nil
}

const endpointShim = `# Written by logship's fidelity suite: AWS_ENDPOINT_URL_CLOUDWATCH_LOGS for an SDK without service endpoints.
if (url = ENV['AWS_ENDPOINT_URL_CLOUDWATCH_LOGS']) && !url.empty?
  require 'aws-sdk-core'
  Aws.config.update(endpoint: url)
end
`

// Proc is an agent process running with its own /var/log.
type Proc struct {
	Name string
	p    *proc.Proc
	hwm  int64 // VmHWM in bytes, last sampled
}

// StartInNamespace runs argv in a new mount namespace where root is
// bind-mounted on /var/log, with env added to the environment. Output goes
// to logFile.
func StartInNamespace(name, root, logFile string, argv, env []string) (*Proc, error) {
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	// unshare -m makes the new namespace's mounts private (util-linux
	// unshare(1): --propagation defaults to private), so the bind mount
	// stays inside it; sh execs the agent, so the PID is the agent's.
	script := `mount --bind "$0" /var/log && exec "$@"`
	full := append([]string{"-m", "sh", "-c", script, root}, argv...)
	cmd := exec.Command("unshare", full...)
	cmd.Env = append(os.Environ(), env...)
	p, err := proc.Start(cmd, lf)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return &Proc{Name: name, p: p}, nil
}

// Sample records the process's peak RSS so far (VmHWM of /proc/PID/status).
func (p *Proc) Sample() {
	if v, err := proc.PeakRSS(p.p.Pid()); err == nil && v > p.hwm {
		p.hwm = v
	}
}

// ReadBytes returns the bytes the process has read so far (rchar of
// /proc/PID/io: every read(2), files and sockets alike), or -1.
func (p *Proc) ReadBytes() int64 {
	n, err := proc.ReadBytes(p.p.Pid())
	if err != nil {
		return -1
	}
	return n
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool { return p.p.Exited() }

// Stop sends SIGTERM (both agents flush their buffers on it) and waits up to
// grace, then kills.
func (p *Proc) Stop(grace time.Duration) error {
	p.Sample()
	if !p.p.Stop(grace) {
		return fmt.Errorf("%s did not stop within %v after SIGTERM", p.Name, grace)
	}
	var ee *exec.ExitError
	if err := p.p.Err(); err != nil && !errors.As(err, &ee) {
		return err
	}
	return nil
}

// Usage is what a process used: CPU (user+system) and peak RSS.
type Usage struct {
	CPU     time.Duration
	PeakRSS int64 // bytes
}

// Usage returns the process's resource use; valid after Stop.
func (p *Proc) Usage() Usage {
	st := p.p.State()
	if st == nil {
		return Usage{}
	}
	u := Usage{CPU: st.UserTime() + st.SystemTime(), PeakRSS: p.hwm}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok && ru.Maxrss<<10 > u.PeakRSS {
		u.PeakRSS = ru.Maxrss << 10 // Linux reports ru_maxrss in KiB
	}
	return u
}

// WaitFor polls cond every 200 ms until it holds, the process exits, or ctx
// ends.
func (p *Proc) WaitFor(ctx context.Context, what string, cond func() bool) error {
	tk := time.NewTicker(200 * time.Millisecond)
	defer tk.Stop()
	for {
		p.Sample()
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: timed out waiting for %s", p.Name, what)
		case <-p.p.Done():
			return fmt.Errorf("%s exited (%v) before %s", p.Name, p.p.Err(), what)
		case <-tk.C:
		}
	}
}
