package torture

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"logship/sink/emulator"
)

// Group is the log group every scenario writes to.
const Group = "torture"

// Emulator is an in-process CloudWatch Logs emulator served on 127.0.0.1.
type Emulator struct {
	Server *emulator.Server
	URL    string
	stop   context.CancelFunc
	done   chan error
}

// StartEmulator serves a new emulator (cfg) on a loopback port.
func StartEmulator(cfg emulator.Config, log *zap.Logger) (*Emulator, error) {
	srv, err := emulator.New(cfg, log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	e := &Emulator{Server: srv, URL: "http://" + ln.Addr().String(), stop: stop, done: make(chan error, 1)}
	go func() { e.done <- srv.Run(ctx, ln) }()
	return e, nil
}

// Close stops the emulator.
func (e *Emulator) Close() error {
	e.stop()
	return <-e.done
}

// Events returns every event of the group, over all its streams.
func (e *Emulator) Events(group string) []Event {
	var out []Event
	for _, s := range e.Server.StreamNames(group) {
		for _, ev := range e.Server.Events(group, s) {
			out = append(out, Event{Stream: s, Timestamp: ev.Timestamp, Message: ev.Message, Seq: ev.Seq})
		}
	}
	return out
}

// Accepted returns the number of events accepted so far.
func (e *Emulator) Accepted() int64 { return e.Server.Stats().EventsAccepted }

// Violations sums the emulator's answers that mean a client broke an AWS
// rule: error codes other than the injected or expected ones, and events
// rejected individually (too old, too new, expired). allow excuses up to
// that many answers of a code (for example the SerializationException of a
// request body cut short by a SIGKILL); excused answers are listed apart.
func (e *Emulator) Violations(allow map[string]int64) (int64, string) {
	st := e.Server.Stats()
	var n int64
	var parts []string
	for code, c := range st.Errors {
		switch code {
		case emulator.CodeThrottling, emulator.CodeServiceUnavailable, "ResourceAlreadyExistsException", "ResourceNotFoundException":
			continue
		}
		if a := min(allow[code], c); a > 0 {
			parts = append(parts, fmt.Sprintf("excused_%s:%d", code, a))
			c -= a
			if c == 0 {
				continue
			}
		}
		n += c
		parts = append(parts, fmt.Sprintf("%s:%d", code, c))
	}
	for reason, c := range st.RejectedEvents {
		if c > 0 {
			n += c
			parts = append(parts, fmt.Sprintf("rejected_%s:%d", reason, c))
		}
	}
	return n, strings.Join(parts, ",")
}

// BuildBinary builds logship into dir and returns its path.
func BuildBinary(dir string) (string, error) {
	bin := filepath.Join(dir, "logship")
	cmd := exec.Command("go", "build", "-o", bin, "logship/cmd/logship")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// Agent is the real logship binary run as a separate process.
type Agent struct {
	Bin, Config, StateDir string
	// Listen is the /metrics address (127.0.0.1:port).
	Listen string
	// LogPath collects the agent's stderr across restarts.
	LogPath string
	// Env is added to the process environment.
	Env []string

	cmd    *exec.Cmd
	exited chan struct{}
	err    error
	// Starts counts starts.
	Starts int
}

// Start starts the agent process.
func (a *Agent) Start() error {
	if a.Listen == "" {
		p, err := FreePort()
		if err != nil {
			return err
		}
		a.Listen = "127.0.0.1:" + strconv.Itoa(p)
	}
	logf, err := os.OpenFile(a.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	level := "info"
	if l := os.Getenv("LOGSHIP_TORTURE_LOG_LEVEL"); l != "" {
		level = l // debugging: e.g. debug, for the tail package's "following" lines
	}
	cmd := exec.Command(a.Bin, "run", "--config", a.Config, "--state-dir", a.StateDir, "--listen", a.Listen, "--log-level", level)
	cmd.Env = append(append(os.Environ(), "AWS_EC2_METADATA_DISABLED=true"), a.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	a.Starts++
	a.cmd, a.exited = cmd, make(chan struct{})
	go func() {
		a.err = cmd.Wait()
		logf.Close()
		close(a.exited)
	}()
	return nil
}

// Alive reports whether the process is still running.
func (a *Agent) Alive() bool {
	if a.cmd == nil {
		return false
	}
	select {
	case <-a.exited:
		return false
	default:
		return true
	}
}

// ExitErr is the process's exit error once it has exited.
func (a *Agent) ExitErr() error { return a.err }

// Pid is the process id.
func (a *Agent) Pid() int { return a.cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to exit.
func (a *Agent) Kill() {
	if !a.Alive() {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
}

// Stop sends SIGTERM and waits up to limit, then kills.
func (a *Agent) Stop(limit time.Duration) error {
	if !a.Alive() {
		return a.err
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
		return a.err
	case <-time.After(limit):
		a.Kill()
		return errors.New("agent did not stop in time; killed")
	}
}

// WaitReady waits until /metrics answers.
func (a *Agent) WaitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if !a.Alive() {
			return fmt.Errorf("agent exited: %v (log %s)", a.err, a.LogPath)
		}
		resp, err := http.Get("http://" + a.Listen + "/metrics")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("agent not ready within %s", limit)
}

// Metrics scrapes /metrics and returns the sum of the samples of every
// metric whose name matches keep.
func (a *Agent) Metrics(keep func(name string) bool) (map[string]float64, error) {
	resp, err := http.Get("http://" + a.Listen + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name := line
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		if !keep(name) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			continue
		}
		out[name] += v
	}
	return out, sc.Err()
}

// VmHWM returns the process's peak resident set size in bytes
// (/proc/<pid>/status, VmHWM; proc(5)).
func VmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, err := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, errors.New("no VmHWM")
}

// FreePort returns a free loopback TCP port.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ConfigSpec describes the fluent.conf a scenario runs with.
type ConfigSpec struct {
	// Path and Exclude are the tail globs (Exclude may be empty).
	Path, Exclude string
	// Parse is the parser type: "cri" or "json".
	Parse string
	// Endpoint is the emulator URL.
	Endpoint string
	// Stream is a static log_stream_name; empty means use_tag_as_stream.
	Stream string
	// BufferType is "file" or "memory"; BufferPath is the file buffer's
	// directory.
	BufferType, BufferPath string
	// ChunkLimit, TotalLimit are buffer sizes ("1m"); FlushThreads the
	// flush_thread_count; QueuedChunks the queued_chunks_limit_size (0:
	// unset).
	ChunkLimit, TotalLimit string
	FlushThreads           int
	QueuedChunks           int
	// Extra is appended inside <buffer>.
	Extra string
	// PosFile is the tail's pos_file (empty: none).
	PosFile string
	// Jitter, when positive, puts a JitterProxy with this maximum delay
	// between the agent and the emulator (scenario harness only).
	Jitter time.Duration
}

// Render returns the Fluentd configuration text.
func (c ConfigSpec) Render() string {
	var b strings.Builder
	b.WriteString("<source>\n  @type tail\n  @id torture\n")
	fmt.Fprintf(&b, "  path %s\n", c.Path)
	if c.Exclude != "" {
		fmt.Fprintf(&b, "  exclude_path [\"%s\"]\n", c.Exclude)
	}
	if c.PosFile != "" {
		fmt.Fprintf(&b, "  pos_file %s\n", c.PosFile)
	}
	b.WriteString("  tag kubernetes.*\n  read_from_head true\n  refresh_interval 1\n")
	switch c.Parse {
	case "json":
		// The upstream fluentd-kubernetes-daemonset v1.19 docker style.
		b.WriteString("  <parse>\n    @type json\n    time_format %Y-%m-%dT%H:%M:%S.%NZ\n  </parse>\n")
	default:
		b.WriteString("  <parse>\n    @type cri\n  </parse>\n")
	}
	b.WriteString("</source>\n<match **>\n  @type cloudwatch_logs\n  log_group_name " + Group + "\n")
	if c.Stream != "" {
		fmt.Fprintf(&b, "  log_stream_name %s\n", c.Stream)
	} else {
		b.WriteString("  use_tag_as_stream true\n")
	}
	fmt.Fprintf(&b, "  auto_create_stream true\n  region us-east-1\n  endpoint %s\n  aws_key_id AKIDTORTURE\n  aws_sec_key torture-secret\n", c.Endpoint)
	b.WriteString("  <buffer>\n")
	bt := c.BufferType
	if bt == "" {
		bt = "memory"
	}
	fmt.Fprintf(&b, "    @type %s\n", bt)
	if bt == "file" {
		fmt.Fprintf(&b, "    path %s\n", c.BufferPath)
	}
	b.WriteString("    flush_interval 1s\n    retry_forever true\n    retry_max_interval 2s\n")
	if c.FlushThreads > 0 {
		fmt.Fprintf(&b, "    flush_thread_count %d\n", c.FlushThreads)
	}
	if c.ChunkLimit != "" {
		fmt.Fprintf(&b, "    chunk_limit_size %s\n", c.ChunkLimit)
	}
	if c.TotalLimit != "" {
		fmt.Fprintf(&b, "    total_limit_size %s\n", c.TotalLimit)
	}
	if c.QueuedChunks > 0 {
		fmt.Fprintf(&b, "    queued_chunks_limit_size %d\n", c.QueuedChunks)
	}
	b.WriteString(c.Extra)
	b.WriteString("  </buffer>\n</match>\n")
	return b.String()
}
