package main

import (
	"bufio"
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

	"logship/internal/kubelog"
)

// benchConfig is the agent configuration of the end-to-end benchmark: CRI
// files from the head, path metadata, the cloudwatch_logs output into the
// emulator (count-only) over loopback.
const benchConfig = `
<source>
  @type tail
  @id bench
  path {{ROOT}}/var/log/containers/*.log
  pos_file {{ROOT}}/fluentd-containers.log.pos
  tag kubernetes.*
  read_from_head true
  <parse>
    @type cri
  </parse>
</source>
<filter kubernetes.**>
  @type kubernetes_metadata
</filter>
<match **>
  @type cloudwatch_logs
  log_group_name bench
  use_tag_as_stream true
  auto_create_stream true
  region us-east-1
  endpoint {{URL}}
  aws_key_id AKIDBENCH
  aws_sec_key bench-secret
  <buffer>
    flush_interval 1s
    flush_thread_count 2
    chunk_limit_size 1m
    total_limit_size 8m
    queued_chunks_limit_size 64
    retry_forever true
    retry_max_interval 2s
  </buffer>
</match>
`

// runBench implements 'logship bench' (make bench): it generates container
// logs, runs the emulator and the agent as separate processes, and reports
// the agent's throughput and cost.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	lines := fs.Int("lines", 2_000_000, "CRI lines to generate")
	containers := fs.Int("containers", 50, "containers")
	size := fs.Int("size", 200, "bytes per application line")
	keep := fs.Bool("keep", false, "keep the generated files")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the agent while it drains to this `file` (go tool pprof FILE)")
	profileSecs := fs.Int("profile-seconds", 8, "length of the --cpuprofile profile in seconds")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *lines < *containers || *containers < 1 {
		return usageError{errors.New("need at least one line per container")}
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

	// 1. Input.
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

	// 2. The emulator, counting only, in its own process.
	emu := exec.CommandContext(ctx, exe, "emulate", "--listen", "127.0.0.1:0", "--count-only", "--log-level", "warn")
	emu.Stderr = stderr
	emuOut, err := emu.StdoutPipe()
	if err != nil {
		return err
	}
	if err := emu.Start(); err != nil {
		return err
	}
	defer func() { _ = emu.Process.Signal(syscall.SIGTERM); _ = emu.Wait() }()
	endpoint, err := readEndpoint(emuOut)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	go io.Copy(io.Discard, emuOut)

	// 3. The agent, in its own process, so its CPU and memory are its own.
	cfgPath := filepath.Join(dir, "bench.conf")
	cfg := strings.NewReplacer("{{ROOT}}", dir, "{{URL}}", endpoint).Replace(benchConfig)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	opsPort, err := freePort()
	if err != nil {
		return err
	}
	ops := "127.0.0.1:" + strconv.Itoa(opsPort)
	agentArgs := []string{"run", "--config", cfgPath, "--state-dir", filepath.Join(dir, "state"), "--listen", ops, "--log-level", "warn"}
	if *cpuProfile != "" {
		agentArgs = append(agentArgs, "--pprof")
	}
	agent := exec.CommandContext(ctx, exe, agentArgs...)
	agent.Stderr = stderr
	start := time.Now()
	if err := agent.Start(); err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = agent.Process.Kill()
			_ = agent.Wait()
		}
	}()

	profDone := make(chan error, 1)
	if *cpuProfile != "" {
		go func() { profDone <- fetchProfile(ctx, ops, *cpuProfile, *profileSecs) }()
	} else {
		profDone <- nil
	}
	want := int64(*lines)
	if err := waitMetric(ctx, ops, "logship_cloudwatch_events_total", want, 15*time.Minute); err != nil {
		return err
	}
	drain := time.Since(start)

	// 4. Delivery lag: lines appended while the agent is caught up.
	const live = 1000
	liveStart := time.Now()
	node.Start = time.Now()
	if _, err := node.Write(ctrs[0], live, *size); err != nil {
		return err
	}
	if err := waitMetric(ctx, ops, "logship_cloudwatch_events_total", want+live, time.Minute); err != nil {
		return err
	}
	lag := time.Since(liveStart)
	events, _ := scrapeMetric(ops, "logship_cloudwatch_events_total")
	eventBytes, _ := scrapeMetric(ops, "logship_cloudwatch_event_bytes_total")
	requests, _ := scrapeMetric(ops, "logship_cloudwatch_requests_total")

	if err := <-profDone; err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}

	// 5. Stop the agent and read its resource usage.
	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	werr := agent.Wait()
	stopped = true
	if werr != nil {
		return fmt.Errorf("agent: %w", werr)
	}
	ru, ok := agent.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return errors.New("no resource usage for the agent process")
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	gb := float64(inputBytes) / 1e9

	fmt.Fprintf(stdout, "\nlogship end-to-end benchmark (agent process only; emulator in its own process)\n")
	fmt.Fprintf(stdout, "  lines                 %d (%d containers, %.1f MB of CRI input)\n", *lines, *containers, float64(inputBytes)/1e6)
	fmt.Fprintf(stdout, "  wall time to deliver  %s\n", drain.Round(time.Millisecond))
	fmt.Fprintf(stdout, "  lines/s               %.0f\n", float64(*lines)/drain.Seconds())
	fmt.Fprintf(stdout, "  input MB/s            %.1f\n", float64(inputBytes)/1e6/drain.Seconds())
	fmt.Fprintf(stdout, "  agent CPU             %s (user %s, sys %s)\n", cpu.Round(time.Millisecond),
		time.Duration(ru.Utime.Nano()).Round(time.Millisecond), time.Duration(ru.Stime.Nano()).Round(time.Millisecond))
	fmt.Fprintf(stdout, "  CPU seconds per GB    %.2f\n", cpu.Seconds()/gb)
	fmt.Fprintf(stdout, "  lines per CPU-second  %.0f\n", float64(*lines+live)/cpu.Seconds())
	fmt.Fprintf(stdout, "  peak RSS              %.1f MiB\n", float64(ru.Maxrss)/1024)
	if events > 0 {
		fmt.Fprintf(stdout, "  request bytes/event   %.1f (message bytes + 26; %.0f events in %.0f requests)\n", eventBytes/events+26, events, requests)
	}
	fmt.Fprintf(stdout, "  delivery lag          %s (%d lines appended live until delivered; flush_interval 1s)\n", lag.Round(time.Millisecond), live)
	return nil
}

// readEndpoint reads the emulator's start line for its URL.
func readEndpoint(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "endpoint "); i >= 0 {
			f := strings.Fields(line[i+len("endpoint "):])
			if len(f) > 0 {
				return f[0], nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("no endpoint line")
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// scrapeMetric sums the samples of a metric on the agent's /metrics.
func scrapeMetric(addr, name string) (float64, error) {
	// Uncompressed: the agent's CPU is what the bench measures, and gzip of
	// every scrape would be part of it.
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest != "" && rest[0] != ' ' && rest[0] != '{' {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("metric %s not found", name)
	}
	return sum, sc.Err()
}

// pollInterval is how often the bench scrapes the agent's /metrics while it
// waits: each scrape costs the agent CPU (its collectors read /proc), so
// not too often; the wall-clock figures are accurate to about this much.
const pollInterval = 200 * time.Millisecond

// waitMetric polls until the metric reaches want.
func waitMetric(ctx context.Context, addr, name string, want int64, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		v, _ := scrapeMetric(addr, name)
		if int64(v) >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s reached %.0f of %d within %s", name, v, want, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// fetchProfile saves a CPU profile of secs seconds from the agent's pprof
// endpoint, waiting for the endpoint to come up.
func fetchProfile(ctx context.Context, addr, path string, secs int) error {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs)
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
