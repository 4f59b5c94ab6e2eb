package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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

	"logship/internal/confgen"
	"logship/internal/kubelog"
	"logship/internal/proc"
	"logship/sink/emulator"
)

// benchSource is the tail <source> of both logship's and Fluentd's run: CRI
// files from the head, positions in {{STATE}}, with the parameters given.
func benchSource(params ...string) string {
	return confgen.CRISource(append(params, "pos_file {{STATE}}/fluentd-containers.log.pos")...)
}

// benchOutput is the cloudwatch_logs output of both logship's and Fluentd's
// run, into the emulator at {{URL}} (with the parameters emulator adds),
// with a memory buffer of chunk_limit_size 1m × queue_limit_length {{QUEUE}}
// (Fluentd's bound: {{QUEUE}} MiB) and the further buffer parameters given.
func benchOutput(emulator string, buffer ...string) string {
	buffer = append([]string{"flush_interval 1s", "flush_thread_count 2", "chunk_limit_size 1m", "queue_limit_length {{QUEUE}}"},
		append(buffer, "retry_forever true", "retry_max_interval 2s")...)
	return strings.ReplaceAll(confgen.Output("bench", "", buffer...), "{{EMULATOR}}", "region us-east-1\n  endpoint {{URL}}"+emulator)
}

// benchConfig is the agent configuration of the end-to-end benchmark: CRI
// files from the head, path metadata ({{METADATA}}: the kubernetes_metadata
// filter, or nothing with --metadata=false), the cloudwatch_logs output into
// the emulator (count-only) over loopback, with the message_keys line
// {{MESSAGE_KEYS}} (empty: the message is the whole record).
func benchConfig() string {
	return benchSource("@id bench") + "{{METADATA}}\n" + benchOutput("\n  aws_key_id AKIDBENCH\n  aws_sec_key bench-secret{{MESSAGE_KEYS}}")
}

// fluentdPeerConfig is the same pipeline for a real Fluentd (v1 syntax,
// fluent-plugin-cloudwatch-logs, kubernetes_metadata path only, parser-cri;
// credentials from the environment), blocking at the buffer's limit as
// logship does (Fluentd's default, throw_exception, makes in_tail retry the
// lines).
func fluentdPeerConfig() string {
	return `
<system>
  log_level warn
</system>
<label @FLUENT_LOG>
  <match fluent.**>
    @type null
  </match>
</label>` + benchSource() + `<filter kubernetes.**>
  @type kubernetes_metadata
</filter>
` + benchOutput("", "overflow_action block")
}

// fluentBitPeerConfig is the pipeline for Fluent Bit (classic format): tail
// with the cri multiline parser, no kubernetes filter (it needs an API
// server), the cloudwatch_logs output at the emulator (endpoint host plus
// port, TLS off), Mem_Buf_Limit set to the same bound.
// https://docs.fluentbit.io/manual/pipeline/inputs/tail,
// https://docs.fluentbit.io/manual/pipeline/outputs/cloudwatch
const fluentBitPeerConfig = `
[SERVICE]
    Flush        1
    Log_Level    warn
[INPUT]
    Name              tail
    Path              {{ROOT}}/var/log/containers/*.log
    multiline.parser  cri
    Tag               kube.*
    Read_from_Head    true
    Refresh_Interval  1
    DB                {{STATE}}/fluent-bit.db
    Mem_Buf_Limit     {{QUEUE}}MB
[OUTPUT]
    Name               cloudwatch_logs
    Match              *
    region             us-east-1
    log_group_name     bench
    log_stream_prefix  fb-
    auto_create_group  true
    endpoint           127.0.0.1
    port               {{PORT}}
    tls                off
`

// benchResult is what one run of an agent (logship or the peer) measured.
type benchResult struct {
	name       string
	queue      int           // queue_limit_length (MiB of buffer bound)
	wall       time.Duration // start to the last line delivered
	cpu        time.Duration // user + system of the agent process
	user, sys  time.Duration
	hwm        int64   // VmHWM, bytes
	bufHW      float64 // logship_buffer_total_bytes, highest sample (-1: none)
	lines      int64   // lines the run had to deliver
	inputBytes int64
	lag        time.Duration // delivery lag of live lines (0: not measured)
	events     float64
	eventBytes float64
	requests   float64
}

// runBench implements 'logship bench' (make bench): it generates container
// logs once, then for each buffer shape runs the agent (and the peer given
// by --peer or BENCH_PEER, on the same files) as separate processes against
// an emulator in this process, and reports each run's cost side by side.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	lines := fs.Int("lines", 2_000_000, "CRI lines to generate")
	containers := fs.Int("containers", 50, "containers")
	size := fs.Int("size", 200, "bytes per application line")
	keep := fs.Bool("keep", false, "keep the generated files")
	shapes := fs.String("queues", "8,256", "comma-separated queue_limit_length values to run (chunk_limit_size 1m each)")
	runs := fs.Int("runs", 1, "runs of each configuration (the report gives the range)")
	metadata := fs.Bool("metadata", true, "add path metadata with the kubernetes_metadata filter (false: the message is the record alone)")
	messageKeys := fs.String("message-keys", "", "the output's message_keys (e.g. message, the CRI parser's text field: metadata kept out of the message; empty: the message is the whole record)")
	peer := fs.String("peer", os.Getenv("BENCH_PEER"), "`path` of a peer agent binary (fluent-bit, or fluentd) run on the same files (default $BENCH_PEER)")
	peerKind := fs.String("peer-kind", os.Getenv("BENCH_PEER_KIND"), "the peer's kind, fluent-bit or fluentd (default: from its file name)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the first logship run while it drains to this `file`, and its heap profile right after to FILE.heap; the first steady-state run's to FILE.steady and FILE.steady.heap (go tool pprof FILE)")
	profileSecs := fs.Int("profile-seconds", 8, "length of the --cpuprofile profile in seconds")
	memLimit := fs.String("gomemlimit", "", "GOMEMLIMIT for the logship agent only (e.g. 48MiB, off; default: the agent derives it from the buffer bound)")
	steadySecs := fs.Int("steady-seconds", 30, "after the read-from-head runs, run logship once per buffer shape on live files for this many seconds (0: skip)")
	steadyRate := fs.Int("steady-rate", 2000, "lines per second written across the containers during the steady-state run")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *lines < *containers || *containers < 1 {
		return usageError{errors.New("need at least one line per container")}
	}
	var queues []int
	for _, f := range strings.Split(*shapes, ",") {
		q, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || q < 1 {
			return usageError{fmt.Errorf("--queues: %q is not a positive number", f)}
		}
		queues = append(queues, q)
	}
	if *peer != "" && (!*metadata || *messageKeys != "") {
		// The peer runs its one configuration (path metadata, the whole
		// record as the message): a ratio against another shape compares
		// different work.
		return usageError{errors.New("--peer compares the default shape only: drop --metadata=false and --message-keys, or the peer")}
	}
	kind := *peerKind
	if *peer != "" && kind == "" {
		switch base := filepath.Base(*peer); {
		case strings.Contains(base, "fluent-bit"), strings.Contains(base, "fluentbit"):
			kind = "fluent-bit"
		case strings.Contains(base, "fluentd"):
			kind = "fluentd"
		default:
			return usageError{fmt.Errorf("peer %s: set --peer-kind (fluent-bit or fluentd)", *peer)}
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "logship-bench-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}

	// 1. Input, once for every run.
	fmt.Fprintf(stdout, "generating %d CRI lines of ~%d bytes across %d containers in %s\n", *lines, *size, *containers, dir)
	node := &kubelog.Node{Root: filepath.Join(dir, "var", "log"), Start: time.Now().Add(-time.Hour)}
	var ctrs []*kubelog.Container
	var inputBytes int64
	per := *lines / *containers
	for i := 0; i < *containers; i++ {
		c, err := node.AddContainer([]string{"default", "shop", "payments", "kube-system"}[i%4], fmt.Sprintf("svc-%02d-5d8f7", i), "app", false)
		if err != nil {
			return err
		}
		n := per
		if i < *lines%*containers {
			n++
		}
		b, err := node.Write(c, n, *size)
		if err != nil {
			return err
		}
		inputBytes += b
		ctrs = append(ctrs, c)
	}
	total := int64(*lines)

	var results []benchResult
	for run := 0; run < *runs; run++ {
		for qi, q := range queues {
			first := run == 0 && qi == 0
			r := benchRun{exe: exe, dir: dir, queue: q, lines: total, inputBytes: inputBytes, stderr: stderr, metadata: *metadata, messageKeys: *messageKeys, memLimit: *memLimit}
			if first {
				r.cpuProfile, r.profileSecs = *cpuProfile, *profileSecs
				// Delivery lag, once: lines appended while the agent is
				// caught up. They stay in the files for the later runs.
				r.live = func() (int64, error) {
					node.Start = time.Now()
					return node.Write(ctrs[0], benchLive, *size)
				}
			}
			res, err := r.logship(ctx)
			if err != nil {
				return fmt.Errorf("logship, queue_limit_length %d: %w", q, err)
			}
			if first {
				total += benchLive
				inputBytes = res.inputBytes
			}
			results = append(results, res)
			if *peer != "" {
				r := benchRun{exe: *peer, dir: dir, queue: q, lines: total, inputBytes: inputBytes, stderr: stderr}
				res, err := r.peer(ctx, kind)
				if err != nil {
					return fmt.Errorf("peer %s, queue %d: %w", *peer, q, err)
				}
				results = append(results, res)
			}
		}
	}
	if *steadySecs > 0 && *steadyRate > 0 {
		for _, q := range queues {
			r := benchRun{exe: exe, queue: q, stderr: stderr, metadata: *metadata, messageKeys: *messageKeys, memLimit: *memLimit}
			if *cpuProfile != "" && q == queues[0] {
				r.cpuProfile, r.profileSecs = *cpuProfile+".steady", min(*profileSecs, *steadySecs)
			}
			res, err := steadyRun(ctx, r, dir, *containers, *steadyRate, *size, time.Duration(*steadySecs)*time.Second)
			if err != nil {
				return fmt.Errorf("logship steady state, queue_limit_length %d: %w", q, err)
			}
			results = append(results, res)
		}
	}
	shape := "path metadata"
	if !*metadata {
		shape = "no metadata filter"
	}
	if *messageKeys != "" {
		shape += ", message_keys " + *messageKeys
	} else {
		shape += ", the whole record as the message"
	}
	printBench(stdout, results, *containers, shape, *peer != "")
	if *steadySecs > 0 && *steadyRate > 0 {
		fmt.Fprintf(stdout, "steady: live files, %d lines/s across %d containers for %d s (lines/CPU-s at that rate; wall includes the writing)\n", *steadyRate, *containers, *steadySecs)
	}
	return nil
}

// steadyRun measures logship in steady state: the agent starts on empty
// container logs under a fresh root and the bench appends rate lines per
// second across containers for d, in ticks of 100 ms, then waits for the
// last of them to be delivered.
func steadyRun(ctx context.Context, r benchRun, dir string, containers, rate, size int, d time.Duration) (benchResult, error) {
	root, err := os.MkdirTemp(dir, "steady-")
	if err != nil {
		return benchResult{}, err
	}
	node := &kubelog.Node{Root: filepath.Join(root, "var", "log"), Start: time.Now()}
	ctrs := make([]*kubelog.Container, containers)
	for i := range ctrs {
		if ctrs[i], err = node.AddContainer("steady", fmt.Sprintf("svc-%02d-6c9d4", i), "app", false); err != nil {
			return benchResult{}, err
		}
		if _, err := node.Write(ctrs[i], 0, size); err != nil { // the file exists, empty
			return benchResult{}, err
		}
	}
	r.dir = root
	const tick = 100 * time.Millisecond
	r.feed = func(ctx context.Context) (lines, bytes int64, err error) {
		t := time.NewTicker(tick)
		defer t.Stop()
		per := float64(rate) * tick.Seconds() // lines per tick
		var owed float64
		for end := time.Now().Add(d); time.Now().Before(end); {
			select {
			case <-ctx.Done():
				return lines, bytes, ctx.Err()
			case <-t.C:
			}
			owed += per
			for ; owed >= 1; owed-- {
				c := ctrs[int(lines)%len(ctrs)]
				n, err := node.Write(c, 1, size)
				if err != nil {
					return lines, bytes, err
				}
				lines++
				bytes += n
			}
		}
		return lines, bytes, nil
	}
	res, err := r.logship(ctx)
	res.name = "steady"
	return res, err
}

// benchLive is the number of lines the first run appends live.
const benchLive = 1000

// benchRun is one run of an agent over the generated files.
type benchRun struct {
	exe, dir    string
	queue       int
	metadata    bool   // the kubernetes_metadata filter
	messageKeys string // the output's message_keys ("": none)
	lines       int64  // lines in the files when the run starts
	inputBytes  int64
	stderr      io.Writer
	cpuProfile  string
	profileSecs int
	memLimit    string                // GOMEMLIMIT for the agent; "": inherited
	live        func() (int64, error) // appends live lines after the drain; nil: none
	// feed, when set, writes lines while the agent runs (after it started)
	// and returns how many lines and bytes it wrote; the run then waits for
	// those as well.
	feed func(ctx context.Context) (lines, bytes int64, err error)
}

// startBenchEmulator runs a count-only emulator in this process on a free
// loopback port until ctx is done.
func startBenchEmulator(ctx context.Context) (*emulator.Server, string, func(), error) {
	srv, err := emulator.New(emulator.Config{CountOnly: true}, zap.NewNop())
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Run(ctx, ln)
	}()
	return srv, ln.Addr().String(), func() { cancel(); <-done }, nil
}

// benchState makes a fresh state directory (named prefix…) below r.dir and
// writes the configuration template tmpl there as file name, with {{ROOT}},
// {{STATE}}, {{URL}} (the emulator at addr), {{PORT}} (its port) and
// {{QUEUE}} filled in, and the further old, new pairs of more.
func (r benchRun) benchState(prefix, name, tmpl, addr string, more ...string) (state, cfgPath string, err error) {
	state, err = os.MkdirTemp(r.dir, prefix)
	if err != nil {
		return "", "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	cfgPath = filepath.Join(state, name)
	cfg := strings.NewReplacer(append([]string{"{{ROOT}}", r.dir, "{{STATE}}", state, "{{URL}}", "http://" + addr, "{{PORT}}", port,
		"{{QUEUE}}", strconv.Itoa(r.queue)}, more...)...).Replace(tmpl)
	return state, cfgPath, os.WriteFile(cfgPath, []byte(cfg), 0o644)
}

// benchProc is an agent process of one run.
type benchProc struct {
	cmd     *exec.Cmd
	start   time.Time
	stopped bool
}

// startBench starts cmd.
func startBench(cmd *exec.Cmd) (*benchProc, error) {
	p := &benchProc{cmd: cmd, start: time.Now()}
	return p, cmd.Start()
}

// kill kills the process unless stop has ended it (deferred by the run).
func (p *benchProc) kill() {
	if !p.stopped {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

// stop records the process's peak RSS, ends it with SIGTERM and fills the
// CPU figures of res. It returns apart how the process ended: the error of
// the signal (the process had exited before) or its exit error.
func (p *benchProc) stop(res *benchResult) (exitErr, err error) {
	res.hwm = peakRSS(p.cmd.Process.Pid)
	sigErr := p.cmd.Process.Signal(syscall.SIGTERM)
	exitErr = p.cmd.Wait()
	p.stopped = true
	if sigErr != nil {
		exitErr = sigErr
	}
	return exitErr, fillUsage(p.cmd, res)
}

// logship runs the agent once: fresh state, reading every file from the head.
func (r benchRun) logship(ctx context.Context) (benchResult, error) {
	res := benchResult{name: "logship", queue: r.queue, lines: r.lines, inputBytes: r.inputBytes, bufHW: -1}
	srv, addr, stop, err := startBenchEmulator(ctx)
	if err != nil {
		return res, err
	}
	defer stop()
	meta := ""
	if r.metadata {
		meta = "<filter kubernetes.**>\n  @type kubernetes_metadata\n</filter>"
	}
	keys := ""
	if r.messageKeys != "" {
		keys = "\n  message_keys " + r.messageKeys
	}
	state, cfgPath, err := r.benchState("state-", "bench.conf", benchConfig(), addr, "{{METADATA}}", meta, "{{MESSAGE_KEYS}}", keys)
	if err != nil {
		return res, err
	}
	opsPort, err := proc.FreePort()
	if err != nil {
		return res, err
	}
	ops := "127.0.0.1:" + strconv.Itoa(opsPort)
	agentArgs := []string{"run", "--config", cfgPath, "--state-dir", state, "--listen", ops, "--log-level", "warn"}
	if r.cpuProfile != "" {
		agentArgs = append(agentArgs, "--pprof")
	}
	cmd := exec.CommandContext(ctx, r.exe, agentArgs...)
	cmd.Stderr = r.stderr
	if r.memLimit != "" {
		cmd.Env = append(os.Environ(), "GOMEMLIMIT="+r.memLimit)
	}
	agent, err := startBench(cmd)
	if err != nil {
		return res, err
	}
	defer agent.kill()
	profDone := make(chan error, 1)
	if r.cpuProfile != "" {
		go func() {
			err := fetchProfile(ctx, ops, fmt.Sprintf("profile?seconds=%d", r.profileSecs), r.cpuProfile)
			if err == nil {
				// The heap right after: in use at the last collection, and
				// allocations since the start (-sample_index=alloc_space).
				err = fetchProfile(ctx, ops, "heap", r.cpuProfile+".heap")
			}
			profDone <- err
		}()
	} else {
		profDone <- nil
	}
	hw := &res.bufHW
	if r.feed != nil {
		n, b, err := r.feed(ctx)
		if err != nil {
			return res, err
		}
		res.lines += n
		res.inputBytes += b
	}
	if err := waitEvents(ctx, srv, ops, res.lines, 15*time.Minute, hw); err != nil {
		return res, err
	}
	res.wall = time.Since(agent.start)
	if r.live != nil {
		liveStart := time.Now()
		n, err := r.live()
		if err != nil {
			return res, err
		}
		res.inputBytes += n
		if err := waitEvents(ctx, srv, ops, r.lines+benchLive, time.Minute, hw); err != nil {
			return res, err
		}
		res.lag = time.Since(liveStart)
		res.lines += benchLive
	}
	if err := <-profDone; err != nil {
		return res, fmt.Errorf("cpu profile: %w", err)
	}
	res.events, _ = proc.Metric(ops, "logship_cloudwatch_events_total")
	res.eventBytes, _ = proc.Metric(ops, "logship_cloudwatch_event_bytes_total")
	res.requests, _ = proc.Metric(ops, "logship_cloudwatch_requests_total")
	werr, err := agent.stop(&res)
	if werr != nil {
		return res, fmt.Errorf("agent: %w", werr)
	}
	return res, err
}

// peer runs the peer agent once on the same files, with its own state.
func (r benchRun) peer(ctx context.Context, kind string) (benchResult, error) {
	res := benchResult{name: filepath.Base(r.exe), queue: r.queue, lines: r.lines, inputBytes: r.inputBytes, bufHW: -1}
	srv, addr, stop, err := startBenchEmulator(ctx)
	if err != nil {
		return res, err
	}
	defer stop()
	var tmpl string
	var args []string
	switch kind {
	case "fluent-bit":
		tmpl = fluentBitPeerConfig
	case "fluentd":
		tmpl, args = fluentdPeerConfig(), []string{"--no-supervisor"}
	default:
		return res, fmt.Errorf("unknown peer kind %q", kind)
	}
	_, cfgPath, err := r.benchState("peer-", "peer.conf", tmpl, addr)
	if err != nil {
		return res, err
	}
	cmd := exec.CommandContext(ctx, r.exe, append([]string{"-c", cfgPath}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDBENCH", "AWS_SECRET_ACCESS_KEY=bench-secret", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true")
	cmd.Stderr, cmd.Stdout = r.stderr, r.stderr
	peer, err := startBench(cmd)
	if err != nil {
		return res, err
	}
	defer peer.kill()
	if err := waitEvents(ctx, srv, "", r.lines, 30*time.Minute, nil); err != nil {
		return res, err
	}
	res.wall = time.Since(peer.start)
	st := srv.Stats()
	res.events, res.eventBytes = float64(st.EventsAccepted), float64(st.BytesAccepted)
	res.requests = float64(st.Requests["PutLogEvents"])
	_, err = peer.stop(&res) // a peer's exit status on SIGTERM varies
	return res, err
}

// fillUsage fills the CPU figures from the exited process.
func fillUsage(cmd *exec.Cmd, res *benchResult) error {
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return errors.New("no resource usage for the agent process")
	}
	res.user, res.sys = time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
	res.cpu = res.user + res.sys
	if res.hwm == 0 {
		res.hwm = ru.Maxrss * 1024
	}
	return nil
}

// peakRSS is the peak resident set size of a running process in bytes, 0 if
// unknown.
func peakRSS(pid int) int64 {
	v, _ := proc.PeakRSS(pid)
	return v
}

// waitEvents waits until the emulator has accepted want events. With ops,
// it samples the agent's buffer bytes on each poll into *hw, and fails as
// soon as the records the formatter skipped (logship_cloudwatch_format_skipped_total,
// e.g. every message empty because message_keys names no field of the
// record) make up the rest of want: those never arrive.
func waitEvents(ctx context.Context, srv *emulator.Server, ops string, want int64, limit time.Duration, hw *float64) error {
	deadline := time.Now().Add(limit)
	for {
		var skipped int64
		if ops != "" {
			m, err := proc.Metrics(ops, func(n string) bool { return n == metricBufferBytes || n == metricFormatSkipped })
			if err == nil {
				if hw != nil && m[metricBufferBytes] > *hw {
					*hw = m[metricBufferBytes]
				}
				skipped = int64(m[metricFormatSkipped])
			}
		}
		got := srv.Stats().EventsAccepted
		if got >= want {
			return nil
		}
		if skipped > 0 && got+skipped >= want {
			return fmt.Errorf("%d of %d events delivered: the agent's formatter skipped %d records (%s on its /metrics; check message_keys)", got, want, skipped, metricFormatSkipped)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d events delivered within %s", got, want, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// printBench writes the report: one row per run, and per buffer shape the
// ratio of logship to the peer.
func printBench(w io.Writer, rs []benchResult, containers int, shape string, peer bool) {
	fmt.Fprintf(w, "\nend-to-end benchmark: each agent a separate process reading the same %d files from the head\n", containers)
	fmt.Fprintf(w, "(%s; cloudwatch_logs, memory buffer chunk_limit_size 1m × queue_limit_length Q; emulator count-only in the bench process)\n", shape)
	fmt.Fprintf(w, "CPU is the agent process's user+sys; the machine may be shared, so figures vary from run to run.\n\n")
	fmt.Fprintf(w, "%-12s %5s %10s %12s %10s %9s %10s %11s %9s %8s\n", "agent", "Q", "lines", "lines/CPU-s", "MB/CPU-s", "CPU-s", "wall", "peak RSS", "buf HW", "lag")
	for _, r := range rs {
		buf := "-"
		if r.bufHW >= 0 {
			buf = fmt.Sprintf("%.1fMiB", r.bufHW/(1<<20))
		}
		lag := "-"
		if r.lag > 0 {
			lag = r.lag.Round(time.Millisecond).String()
		}
		fmt.Fprintf(w, "%-12s %5d %10d %12.0f %10.1f %9.2f %10s %8.1fMiB %9s %8s\n", r.name, r.queue, r.lines,
			float64(r.lines)/r.cpu.Seconds(), float64(r.inputBytes)/1e6/r.cpu.Seconds(), r.cpu.Seconds(),
			r.wall.Round(time.Millisecond), float64(r.hwm)/(1<<20), buf, lag)
	}
	// Ranges and ratios per shape.
	type key struct {
		name  string
		queue int
	}
	lo, hi := map[key]float64{}, map[key]float64{}
	rss := map[key]float64{}
	var order []key
	for _, r := range rs {
		k := key{r.name, r.queue}
		v := float64(r.lines) / r.cpu.Seconds()
		if _, ok := lo[k]; !ok {
			lo[k], hi[k] = v, v
			order = append(order, k)
		}
		lo[k], hi[k] = min(lo[k], v), max(hi[k], v)
		rss[k] = max(rss[k], float64(r.hwm))
	}
	fmt.Fprintln(w)
	for _, k := range order {
		fmt.Fprintf(w, "%-12s Q=%-4d lines/CPU-s %.0f–%.0f, peak RSS up to %.1f MiB\n", k.name, k.queue, lo[k], hi[k], rss[k]/(1<<20))
	}
	if peer {
		for _, k := range order {
			if k.name != "logship" {
				continue
			}
			for _, p := range order {
				if p.name == "logship" || p.queue != k.queue {
					continue
				}
				fmt.Fprintf(w, "ratio logship/%s Q=%d: lines/CPU-s %.2f× (by mid-range), peak RSS %.2f×\n", p.name, k.queue,
					(lo[k]+hi[k])/(lo[p]+hi[p]), rss[k]/rss[p])
			}
		}
	}
	for _, r := range rs {
		if r.name == "logship" && r.events > 0 {
			fmt.Fprintf(w, "logship request bytes/event %.1f (message bytes + 26; %.0f events in %.0f requests)\n", r.eventBytes/r.events+26, r.events, r.requests)
			break
		}
	}
}

// The agent's metrics waitEvents reads.
const (
	metricBufferBytes   = "logship_buffer_total_bytes"
	metricFormatSkipped = "logship_cloudwatch_format_skipped_total"
)

// pollInterval is how often the bench scrapes the agent's /metrics while it
// waits: each scrape costs the agent CPU (its collectors read /proc), so
// not too often; the wall-clock figures are accurate to about this much.
const pollInterval = 200 * time.Millisecond

// fetchProfile saves the profile at /debug/pprof/<name> of the agent's pprof
// endpoint to path, waiting for the endpoint to come up.
func fetchProfile(ctx context.Context, addr, name, path string) error {
	url := fmt.Sprintf("http://%s/debug/pprof/%s", addr, name)
	for {
		resp, err := http.Get(url)
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", url, resp.Status)
			}
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, resp.Body); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
