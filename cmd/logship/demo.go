package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"logship/agent"
	"logship/config"
	"logship/internal/kubelog"
	"logship/plugin"
	"logship/sink/emulator"
)

// demoKeys are the static credentials the demo agent signs with.
const (
	demoAccessKey = "AKIDLOGSHIPDEMO"
	demoSecretKey = "logship-demo-secret"
)

// emulatorEndpoint is the in-process emulator at url, with the demo's
// credentials, for the outputs that speak its protocol (plugin.Redirectable).
func emulatorEndpoint(url string) plugin.Endpoint {
	return plugin.Endpoint{URL: url, Region: emulator.DefaultRegion, AccessKeyID: demoAccessKey, SecretAccessKey: demoSecretKey}
}

// runDemo implements 'logship demo': kubelet-style logs in a temporary
// directory, the CloudWatch Logs emulator in-process, and the real agent with
// the built-in configuration shipping them, then a summary.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	pods := fs.Int("pods", 4, "number of pods")
	lines := fs.Int("lines", 500, "lines per container per round (3 rounds)")
	keep := fs.Bool("keep", false, "keep the temporary directory")
	logLevel := fs.String("log-level", "warn", "agent log level")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *pods < 1 || *lines < 1 {
		return usageError{errors.New("--pods and --lines must be positive")}
	}
	log, err := newLogger("console", *logLevel, stderr)
	if err != nil {
		return err
	}
	defer log.Sync()

	dir, err := os.MkdirTemp("", "logship-demo-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	fmt.Fprintf(stdout, "logship demo: kubelet-style logs in %s\n", dir)

	// 1. The emulator, in-process on loopback.
	emu, endpoint, stopEmu, err := startEmulator(ctx, log)
	if err != nil {
		return err
	}
	defer stopEmu()
	fmt.Fprintf(stdout, "CloudWatch Logs emulator at %s\n", endpoint)

	// 2. Containers: CRI files (containerd), one docker json-file container.
	node := &kubelog.Node{Root: filepath.Join(dir, "var", "log"), Start: time.Now().Add(-10 * time.Minute)}
	var ctrs []*kubelog.Container
	for i := 0; i < *pods; i++ {
		ns := []string{"default", "shop", "kube-system"}[i%3]
		names := []string{"app"}
		if i%2 == 0 {
			names = append(names, "sidecar")
		}
		for _, name := range names {
			c, err := node.AddContainer(ns, fmt.Sprintf("web-%d-7d9f", i), name, i == *pods-1 && name == "app")
			if err != nil {
				return err
			}
			ctrs = append(ctrs, c)
		}
	}

	// 3. The agent with the built-in configuration, pointed at the emulator.
	env := map[string]string{
		"FLUENT_CONTAINER_TAIL_PATH": filepath.Join(node.Root, "containers", "*.log"),
		"LOG_GROUP_NAME":             "logship-demo",
		"NODE_NAME":                  "demo-node-1",
	}
	stateDir := filepath.Join(dir, "state")
	lookup := func(name string) (string, bool) {
		if v, ok := env[name]; ok {
			return v, true
		}
		return os.LookupEnv(name)
	}
	ignore := false
	cfgPath := ""
	_, p, err := loadPipeline(pipelineFlags{config: &cfgPath, stateDir: &stateDir, ignoreUnsupported: &ignore}, lookup)
	if err != nil {
		return fmt.Errorf("built-in configuration: %w", err)
	}
	for _, s := range p.Sources {
		if s.Tail != nil {
			s.Tail.Tail.FluentdPosFile = "" // never touch a real Fluentd pos_file
			s.Tail.Tail.RefreshInterval = time.Second
		}
	}
	for _, o := range p.Outputs {
		if r, ok := o.Plugin.(plugin.Redirectable); ok {
			r.Redirect(emulatorEndpoint(endpoint))
		}
		if bc, ok := o.Plugin.(plugin.BufferedConfig); ok {
			bc.BufferConfig().FlushInterval = time.Second
		}
	}
	a, err := agent.New(p, agent.Options{Log: log.Named("agent")})
	if err != nil {
		return err
	}
	agentCtx, stopAgent := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAgent()
	agentDone := make(chan error, 1)
	go func() { agentDone <- a.Run(agentCtx) }()

	// 4. Write three rounds of lines, with a kubelet rotation in the second.
	start := time.Now()
	total, rotated := 0, 0
	for round := 0; round < 3; round++ {
		for i, c := range ctrs {
			if _, err := node.Write(c, *lines, 180+20*(i%3)); err != nil {
				return err
			}
			total += *lines
			if round == 1 && i < 2 {
				if err := node.Rotate(c, time.Now()); err != nil {
					return err
				}
				rotated++
			}
		}
		if err := demoProgress(ctx, stdout, emu, int64(total), 30*time.Second); err != nil {
			stopAgent()
			<-agentDone
			return err
		}
	}
	stopAgent()
	if err := <-agentDone; err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	fmt.Fprintln(stdout)

	// 5. Summary.
	st := emu.Stats()
	fmt.Fprintf(stdout, "\nwrote %d lines to %d containers (%d kubelet rotations); delivered %d events, %d bytes in %s\n",
		total, len(ctrs), rotated, st.EventsAccepted, st.BytesAccepted, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "PutLogEvents requests: %d, CreateLogStream: %d, rejected events: %d\n\n",
		st.Requests["PutLogEvents"], st.Requests["CreateLogStream"], sumValues(st.RejectedEvents))
	fmt.Fprintln(stdout, "log group logship-demo:")
	var sample string
	for _, c := range ctrs {
		stream := config.ExpandTailTag("kubernetes.*", c.Link)
		evs := emu.Events("logship-demo", stream)
		fmt.Fprintf(stdout, "  %6d events  %s\n", len(evs), stream)
		if sample == "" && len(evs) > 0 {
			sample = evs[len(evs)-1].Message
		}
	}
	if sample != "" {
		fmt.Fprintf(stdout, "\nan event as it landed:\n  %s\n", sample)
	}
	if int(st.EventsAccepted) != total {
		return fmt.Errorf("delivered %d events, want %d", st.EventsAccepted, total)
	}
	fmt.Fprintln(stdout, "\nevery line delivered exactly once.")
	return nil
}

// demoProgress shows a live progress line until want events have arrived.
func demoProgress(ctx context.Context, w io.Writer, emu *emulator.Server, want int64, limit time.Duration) error {
	tty := isTerminal(w)
	deadline := time.Now().Add(limit)
	last := int64(-1)
	for {
		got := emu.Stats().EventsAccepted
		if got != last {
			if tty {
				fmt.Fprintf(w, "\rdelivered %d / %d events", got, want)
			} else if got == want {
				fmt.Fprintf(w, "delivered %d / %d events\n", got, want)
			}
			last = got
		}
		if got >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d events arrived within %s", got, want, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func sumValues(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
