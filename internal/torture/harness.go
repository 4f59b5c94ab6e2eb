package torture

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"logship/internal/proc"
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

	proc *proc.Proc
	// Starts counts starts.
	Starts int
}

// Start starts the agent process.
func (a *Agent) Start() error {
	if a.Listen == "" {
		p, err := proc.FreePort()
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
	p, err := proc.Start(cmd, logf)
	if err != nil {
		return err
	}
	a.Starts++
	a.proc = p
	return nil
}

// Alive reports whether the process is still running.
func (a *Agent) Alive() bool { return a.proc != nil && !a.proc.Exited() }

// ExitErr is the process's exit error once it has exited.
func (a *Agent) ExitErr() error {
	if a.proc == nil {
		return nil
	}
	return a.proc.Err()
}

// Pid is the process id.
func (a *Agent) Pid() int { return a.proc.Pid() }

// Kill sends SIGKILL and waits for the process to exit.
func (a *Agent) Kill() {
	if a.proc != nil {
		a.proc.Kill()
	}
}

// Stop sends SIGTERM and waits up to limit, then kills.
func (a *Agent) Stop(limit time.Duration) error {
	if a.proc == nil {
		return nil
	}
	if !a.proc.Stop(limit) {
		return errors.New("agent did not stop in time; killed")
	}
	return a.proc.Err()
}

// WaitReady waits until /metrics answers.
func (a *Agent) WaitReady(limit time.Duration) error {
	if a.proc == nil {
		return errors.New("agent not started")
	}
	if err := proc.WaitHTTP(nil, "http://"+a.Listen+"/metrics", limit, a.proc); err != nil {
		return fmt.Errorf("agent not ready: %w (log %s)", err, a.LogPath)
	}
	return nil
}

// Metrics scrapes /metrics and returns the sum of the samples of every
// metric whose name matches keep.
func (a *Agent) Metrics(keep func(name string) bool) (map[string]float64, error) {
	return proc.Metrics(a.Listen, keep)
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
