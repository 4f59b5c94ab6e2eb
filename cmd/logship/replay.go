package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"logship/agent"
	"logship/buffer"
	"logship/config"
	"logship/plugin"
	"logship/sink/cloudwatch"
	"logship/sink/emulator"
	stdoutsink "logship/sink/stdout"
)

// runReplay implements 'logship replay': the pipeline once over the given
// container log files or dead-letter files, from the head, touching no
// checkpoint.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay", stderr)
	pf := addPipelineFlags(fs)
	to := fs.String("to", "cloudwatch", "where to send: stdout, emulator (in-process, with a summary) or cloudwatch (as configured)")
	dryRun := fs.Bool("dry-run", false, "print the PutLogEvents requests that would be sent instead of sending")
	logLevel := fs.String("log-level", "warn", "log level")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("name at least one container log or dead-letter file")}
	}
	switch *to {
	case "stdout", "emulator", "cloudwatch":
	default:
		return usageError{fmt.Errorf("--to %q: want stdout, emulator or cloudwatch", *to)}
	}
	log, err := newLogger("console", *logLevel, stderr)
	if err != nil {
		return err
	}
	defer log.Sync()

	var logs, dead, chunks []string
	for _, f := range fs.Args() {
		abs, err := filepath.Abs(f)
		if err != nil {
			return err
		}
		if strings.HasSuffix(abs, ".meta") {
			continue // a Fluentd v1 chunk's metadata sidecar
		}
		kind, err := replayKind(abs)
		if err != nil {
			return err
		}
		switch kind {
		case kindDeadLetter:
			dead = append(dead, abs)
		case kindFluentdChunk:
			chunks = append(chunks, abs)
		default:
			logs = append(logs, abs)
		}
	}

	// Replay state lives in a temporary directory: no checkpoint is touched.
	tmp, err := os.MkdirTemp("", "logship-replay-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	*pf.stateDir = tmp
	env := os.LookupEnv
	if *pf.config == "" && (*to != "cloudwatch" || *dryRun) {
		env = replayEnv(os.LookupEnv)
	}
	_, p, err := loadPipeline(pf, env)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}

	var emu *emulator.Server
	var endpoint string
	if *to == "emulator" && !*dryRun {
		var stop func()
		emu, endpoint, stop, err = startEmulator(ctx, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	for _, o := range p.Outputs {
		if bc, ok := o.Plugin.(plugin.BufferedConfig); ok {
			b := bc.BufferConfig()
			b.Type, b.Path = buffer.TypeMemory, ""
			b.FlushInterval = time.Second
			b.DeadLetterDir = filepath.Join(tmp, "dead-letter", o.ID)
		}
		if r, ok := o.Plugin.(plugin.Redirectable); ok && emu != nil {
			r.Redirect(emulatorEndpoint(endpoint))
		}
	}
	planner := &dryRunPlanner{}
	override := func(oc *config.Output, ack buffer.Acker) agent.Output {
		_, remote := oc.Plugin.(plugin.Redirectable)
		switch {
		case *dryRun && oc.CloudWatch != nil:
			f, err := cloudwatch.NewFormatter(*oc.CloudWatch)
			if err != nil {
				return nil
			}
			return planner.output(oc, f, ack)
		case *dryRun && remote:
			return planner.unplanned(oc, ack) // never send in a dry run
		case *to == "stdout":
			return stdoutsink.New(stdout, nil, ack)
		}
		return nil
	}

	if len(logs) > 0 {
		if err := replayLogs(ctx, p, logs, override, stderr, log); err != nil {
			return err
		}
	}
	if len(dead) > 0 || len(chunks) > 0 {
		recs, err := readBuffered(p, dead, chunks)
		if err != nil {
			return err
		}
		if err := replayFormatted(ctx, p, recs, *to, *dryRun, planner, stdout, log); err != nil {
			return err
		}
	}
	if *dryRun {
		planner.print(stdout)
	}
	if emu != nil {
		printEmulatorSummary(stdout, emu)
	}
	return nil
}

// replayPlaceholderGroup is the log group the built-in configuration names
// when replay sends nowhere near CloudWatch (--to stdout, --to emulator,
// --dry-run) and LOG_GROUP_NAME is unset.
const replayPlaceholderGroup = "logship-replay"

// replayEnv wraps env for a replay with the built-in configuration that does
// not reach CloudWatch: LOG_GROUP_NAME, required by the built-in
// configuration's cloudwatch_logs output, defaults to a placeholder, so
// --to stdout and --dry-run need no AWS or group settings (issue 11 item 6).
func replayEnv(env func(string) (string, bool)) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env(name)
		if name == "LOG_GROUP_NAME" && (!ok || v == "") {
			return replayPlaceholderGroup, true
		}
		return v, ok
	}
}

// The kinds of files replay reads.
const (
	kindContainerLog = iota
	kindDeadLetter
	kindFluentdChunk
)

// replayKind tells a logship dead-letter file (its first line a JSON object
// with group, stream and message or message_b64), a Fluentd buffer chunk
// (msgpack: it starts with an array) and a container log file apart.
func replayKind(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil && err != io.EOF {
		return 0, err
	}
	if len(line) > 0 && (line[0]&0xf0 == 0x90 || line[0] == 0xdc || line[0] == 0xdd) {
		return kindFluentdChunk, nil
	}
	v, perr := buffer.ParseJSON(bytes.TrimSpace(line))
	if perr != nil || v.Kind != buffer.Map {
		return kindContainerLog, nil
	}
	_, g := v.Kids.Get("group")
	_, s := v.Kids.Get("stream")
	_, m := v.Kids.Get("message")
	_, m64 := v.Kids.Get("message_b64")
	if g && s && (m || m64) {
		return kindDeadLetter, nil
	}
	return kindContainerLog, nil
}

// readRecords opens the file f and reads its records with read.
func readRecords(f string, read func(io.Reader) ([]buffer.Record, error)) ([]buffer.Record, error) {
	fh, err := os.Open(f)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	rs, err := read(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f, err)
	}
	return rs, nil
}

// readBuffered reads dead-letter files (already formatted) and Fluentd buffer
// chunks (formatted here by the configuration's cloudwatch_logs output, as
// Fluentd would have formatted them when it flushed).
func readBuffered(p *config.Pipeline, dead, chunks []string) ([]buffer.Record, error) {
	var recs []buffer.Record
	for _, f := range dead {
		rs, err := readRecords(f, buffer.ReadDeadLetter)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rs...)
	}
	if len(chunks) == 0 {
		return recs, nil
	}
	cw := cloudwatchOutput(p)
	if cw == nil {
		return nil, errors.New("the configuration has no cloudwatch_logs output to format Fluentd buffer chunks with")
	}
	fmtr, err := cloudwatch.NewFormatter(*cw.CloudWatch)
	if err != nil {
		return nil, err
	}
	for _, f := range chunks {
		rs, err := readRecords(f, buffer.ReadFluentdChunk)
		if err != nil {
			return nil, err
		}
		for i := range rs {
			if err := fmtr.Format(&rs[i]); err != nil {
				continue // counted by the formatter (no group/stream, empty)
			}
			rs[i].Message = append([]byte(nil), rs[i].Message...)
			recs = append(recs, rs[i])
		}
	}
	return recs, nil
}

// cloudwatchOutput returns the first cloudwatch_logs output, or nil.
func cloudwatchOutput(p *config.Pipeline) *config.Output {
	for _, s := range p.Order {
		if o := p.Outputs[s]; o != nil && o.CloudWatch != nil {
			return o
		}
	}
	return nil
}

// replayLogs runs the agent with the first tail source reading exactly files
// from their head, until everything is read and flushed.
func replayLogs(ctx context.Context, p *config.Pipeline, files []string, override func(*config.Output, buffer.Acker) agent.Output, progress io.Writer, log *zap.Logger) error {
	var src *config.Source
	for _, s := range p.Sources {
		if s.Tail != nil {
			src = s
			break
		}
	}
	if src == nil {
		return errors.New("the configuration has no tail source to replay through")
	}
	src.Tail.Tail.Paths = files
	src.Tail.Tail.ExcludePaths = nil
	src.Tail.Tail.ReadFromHead = true
	src.Tail.Tail.PositionsFile = ""
	src.Tail.Tail.FluentdPosFile = ""
	src.Tail.Tail.PartialFlush = 200 * time.Millisecond
	src.Tail.Tail.LimitRecentlyModified = 0
	p.Sources = []*config.Source{src}

	var total int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return err
		}
		total += fi.Size()
	}
	a, err := agent.New(p, agent.Options{Log: log, OutputOverride: override})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	tty := isTerminal(progress)
	for {
		read := a.BytesRead()
		if tty {
			fmt.Fprintf(progress, "\r%s", progressBar(read, total))
		}
		if read >= total {
			break
		}
		select {
		case err := <-done:
			return fmt.Errorf("replay stopped early: %w", err)
		case <-ctx.Done():
			stop()
			return errors.Join(ctx.Err(), <-done)
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Let the last partial lines out, then drain (final flush).
	time.Sleep(300 * time.Millisecond)
	stop()
	if tty {
		fmt.Fprintln(progress)
	}
	return <-done
}

func progressBar(done, total int64) string {
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = math.Min(1, float64(done)/float64(total))
	}
	n := int(frac * width)
	return fmt.Sprintf("[%s%s] %3.0f%% %d/%d bytes", bytes.Repeat([]byte("#"), n), bytes.Repeat([]byte("."), width-n), frac*100, done, total)
}

// replayFormatted sends formatted records (Key and Message set) straight to
// the sink, per destination.
func replayFormatted(ctx context.Context, p *config.Pipeline, recs []buffer.Record, to string, dryRun bool, planner *dryRunPlanner, stdout io.Writer, log *zap.Logger) error {
	cw := cloudwatchOutput(p)
	if cw == nil && to != "stdout" {
		return errors.New("the configuration has no cloudwatch_logs output to replay dead letters through")
	}
	byKey := map[buffer.StreamKey][]buffer.Record{}
	for _, r := range recs {
		byKey[r.Key] = append(byKey[r.Key], r)
	}
	keys := make([]buffer.StreamKey, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	switch {
	case dryRun:
		for _, k := range keys {
			planner.add(*cw.CloudWatch, byKey[k])
		}
		return nil
	case to == "stdout":
		for _, k := range keys {
			for _, r := range byKey[k] {
				fmt.Fprintf(stdout, "%s %s %s\n", time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano), k, r.Message)
			}
		}
		return nil
	}
	client, err := cloudwatch.NewClient(ctx, *cw.CloudWatch)
	if err != nil {
		return err
	}
	sink, err := cloudwatch.New(*cw.CloudWatch, client, log)
	if err != nil {
		return err
	}
	for _, k := range keys {
		chunk := &buffer.Chunk{ID: "replay", Key: k, Records: byKey[k]}
		for attempt := 1; ; attempt++ {
			err := sink.Send(ctx, chunk)
			if err == nil {
				break
			}
			if errors.Is(err, buffer.ErrPermanent) || attempt == 5 {
				return fmt.Errorf("send %s: %w", k, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
	}
	return nil
}

// dryRunPlanner collects formatted records per destination and prints the
// requests the sink would make.
type dryRunPlanner struct {
	mu    sync.Mutex
	cfg   map[buffer.StreamKey]cloudwatch.Config
	recs  map[buffer.StreamKey][]buffer.Record
	order []buffer.StreamKey
	// other counts the records of remote outputs other than CloudWatch's.
	other      map[string]int
	otherOrder []string
}

func (d *dryRunPlanner) add(cfg cloudwatch.Config, recs []buffer.Record) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.recs == nil {
		d.recs, d.cfg = map[buffer.StreamKey][]buffer.Record{}, map[buffer.StreamKey]cloudwatch.Config{}
	}
	for _, r := range recs {
		if _, ok := d.recs[r.Key]; !ok {
			d.order = append(d.order, r.Key)
			d.cfg[r.Key] = cfg
		}
		r.Message = append([]byte(nil), r.Message...)
		d.recs[r.Key] = append(d.recs[r.Key], r)
	}
}

// output is an agent output that formats records and collects them.
func (d *dryRunPlanner) output(oc *config.Output, f *cloudwatch.Formatter, ack buffer.Acker) agent.Output {
	return outputFunc(func(_ context.Context, recs []buffer.Record) error {
		kept := make([]buffer.Record, 0, len(recs))
		for _, r := range recs {
			if err := f.Format(&r); err != nil {
				continue
			}
			r.Message = append([]byte(nil), r.Message...)
			kept = append(kept, r)
		}
		d.add(*oc.CloudWatch, kept)
		ack.Ack(recs)
		return nil
	})
}

// unplanned is the dry-run stand-in of a remote output the planner cannot
// plan requests for: it counts the records it would have sent.
func (d *dryRunPlanner) unplanned(oc *config.Output, ack buffer.Acker) agent.Output {
	return outputFunc(func(_ context.Context, recs []buffer.Record) error {
		d.mu.Lock()
		if d.other == nil {
			d.other = map[string]int{}
		}
		name := fmt.Sprintf("%s (%s)", oc.ID, oc.Type)
		if _, ok := d.other[name]; !ok {
			d.otherOrder = append(d.otherOrder, name)
		}
		d.other[name] += len(recs)
		d.mu.Unlock()
		ack.Ack(recs)
		return nil
	})
}

func (d *dryRunPlanner) print(w io.Writer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, name := range d.otherOrder {
		fmt.Fprintf(w, "dry run: output %s would get %d records (no request plan for its type)\n", name, d.other[name])
	}
	now := time.Now().UnixNano()
	fmt.Fprintln(w, "dry run: PutLogEvents requests that would be sent")
	var reqs, events int
	for _, k := range d.order {
		for _, r := range cloudwatch.Plan(d.cfg[k], d.recs[k], now) {
			if r.Events > 0 {
				reqs++
				events += r.Events
				fmt.Fprintf(w, "  group=%q stream=%q events=%d bytes=%d first=%s last=%s",
					k.Group, k.Stream, r.Events, r.Bytes, fmtMillis(r.First), fmtMillis(r.Last))
			} else {
				fmt.Fprintf(w, "  group=%q stream=%q (no request)", k.Group, k.Stream)
			}
			if n := r.DroppedTooOld + r.DroppedTooNew + r.DroppedEmpty; n > 0 {
				fmt.Fprintf(w, " predicted_rejections: too_old=%d too_new=%d empty=%d", r.DroppedTooOld, r.DroppedTooNew, r.DroppedEmpty)
			}
			if r.Split > 0 || r.Truncated > 0 {
				fmt.Fprintf(w, " split=%d truncated=%d", r.Split, r.Truncated)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "%d requests, %d events\n", reqs, events)
}

func fmtMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// outputFunc adapts a function to agent.Output.
type outputFunc func(ctx context.Context, recs []buffer.Record) error

func (f outputFunc) Emit(ctx context.Context, recs []buffer.Record) error { return f(ctx, recs) }

// startEmulator runs the emulator in-process on loopback and returns it, its
// endpoint URL and a function that stops it.
func startEmulator(ctx context.Context, log *zap.Logger) (*emulator.Server, string, func(), error) {
	emu, err := emulator.New(emulator.Config{}, log.Named("emulator"))
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	emuCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- emu.Run(emuCtx, ln) }()
	return emu, "http://" + ln.Addr().String(), func() { stop(); <-done }, nil
}

func printEmulatorSummary(w io.Writer, emu *emulator.Server) {
	st := emu.Stats()
	fmt.Fprintf(w, "emulator: %d events (%d bytes) accepted in %d PutLogEvents requests; rejected %d\n",
		st.EventsAccepted, st.BytesAccepted, st.Requests["PutLogEvents"], sumValues(st.RejectedEvents))
}
