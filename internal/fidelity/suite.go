package fidelity

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"logship/internal/fixtures"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

// Case is one configuration run through both agents.
type Case struct {
	// Name titles the report.
	Name string
	// Conf is the configuration file, used unchanged by both agents.
	Conf string
	// Env is the environment both agents get (the image's switches).
	Env map[string]string
	// Setup writes the node's files under root (standing for /var/log)
	// and returns the lines written and, for every file an agent must
	// read to the end, its path under /var/log → final size.
	Setup func(root string) (*Inputs, error)
	// Settle is how long to wait after the inputs were read before
	// stopping (multi-line sources flush after multiline_flush_interval).
	Settle time.Duration
}

// Inputs are the files of a case.
type Inputs struct {
	Lines []Line
	// Sizes maps paths under /var/log to their final sizes.
	Sizes map[string]int64
	// Appends are written once the agent watches the file (sources that
	// start at the end of existing files): path under /var/log → bytes.
	Appends map[string][]byte
}

// Result is a compared run.
type Result struct {
	Report           *Report
	Fluentd, Logship Usage
	InputBytes       int64
	CheckConfig      string // logship check-config output
}

// Run runs c through Fluentd and logship and compares their events.
func Run(t *testing.T, fd *Fluentd, logship string, c Case) *Result {
	t.Helper()
	tmp := t.TempDir()
	rootF, rootL := filepath.Join(tmp, "node-fluentd"), filepath.Join(tmp, "node-logship")
	for _, d := range []string{rootF, rootL} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	in, err := c.Setup(rootF)
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	lines, sizes := in.Lines, in.Sizes
	if out, err := exec.Command("cp", "-a", rootF+"/.", rootL).CombinedOutput(); err != nil {
		t.Fatalf("copy inputs: %v: %s", err, out)
	}
	// input is what an agent reads: whole files, but only the appended
	// part of files tailed from their end.
	var input int64
	for p, n := range sizes {
		if a, ok := in.Appends[p]; ok {
			n = int64(len(a))
		}
		input += n
	}

	envF := emulatortest.Start(t, emulator.Config{})
	envL := emulatortest.Start(t, emulator.Config{})
	base := []string{"TZ=UTC"}
	for k, v := range c.Env {
		base = append(base, k+"="+v)
	}
	aws := func(e *emulatortest.Env) []string {
		return []string{"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=" + e.URL, "AWS_REGION=" + e.Region,
			"AWS_ACCESS_KEY_ID=" + e.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + e.SecretAccessKey}
	}
	settle := c.Settle
	if settle == 0 {
		settle = time.Second
	}

	res := &Result{InputBytes: input}
	cc := exec.Command(logship, "check-config", c.Conf)
	cc.Env = append(append(os.Environ(), base...), aws(envL)...)
	out, err := cc.CombinedOutput()
	if err != nil {
		t.Fatalf("logship check-config %s: %v\n%s", c.Conf, err, out)
	}
	res.CheckConfig = string(out)

	// Fluentd: stop once its pos files reach the end of every input (it
	// flushes its buffers at shutdown: flush_at_shutdown).
	argv, envRuby, err := fd.Command(tmp, "-c", c.Conf, "--no-supervisor")
	if err != nil {
		t.Fatal(err)
	}
	pf, err := StartInNamespace("fluentd", rootF, filepath.Join(tmp, "fluentd.log"), argv,
		append(append(envRuby, base...), aws(envF)...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pf.Stop(10 * time.Second) }) // after a failure

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	winF := [2]int64{start.UnixMilli(), 0}
	if len(in.Appends) > 0 {
		watch := map[string]int64{}
		for p := range in.Appends {
			watch[p] = -1
		}
		err = pf.WaitFor(ctx, "its pos files to list the appended files", func() bool { return PosCaughtUp(rootF, watch) })
		if err == nil {
			err = appendAll(rootF, in.Appends)
		}
	}
	if err == nil {
		err = pf.WaitFor(ctx, "its pos files to reach the end of the inputs", func() bool { return PosCaughtUp(rootF, sizes) })
	}
	t.Logf("fluentd read the inputs in %v", time.Since(start))
	if err == nil {
		time.Sleep(settle)
	}
	if serr := pf.Stop(2 * time.Minute); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, tail(filepath.Join(tmp, "fluentd.log")))
	}
	t.Logf("fluentd stopped %v after start", time.Since(start))
	winF[1] = time.Now().UnixMilli()
	res.Fluentd = pf.Usage()
	fevs := events(t, envF)
	if len(fevs) == 0 {
		t.Fatalf("fluentd delivered no events\n%s", tail(filepath.Join(tmp, "fluentd.log")))
	}

	// logship: stop once the emulator has as many events as Fluentd
	// delivered and nothing arrived for settle+2s (SIGTERM flushes).
	pl, err := StartInNamespace("logship", rootL, filepath.Join(tmp, "logship.log"),
		[]string{logship, "run", "--config", c.Conf, "--state-dir", filepath.Join(tmp, "state"), "--listen", "", "--log-level", "warn"},
		append(base, aws(envL)...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pl.Stop(10 * time.Second) })

	start = time.Now()
	winL := [2]int64{start.UnixMilli(), 0}
	if len(in.Appends) > 0 {
		// logship finds existing files at start-up; give it a moment.
		time.Sleep(3 * time.Second)
		if err := appendAll(rootL, in.Appends); err != nil {
			t.Fatal(err)
		}
	}
	// Its memory buffer flushes every flush_interval (60 s by default)
	// and at shutdown, so wait until it has read at least the inputs (it
	// reads other files too: a lower bound), give it settle, then SIGTERM.
	var last int64
	err = pl.WaitFor(ctx, "it to read the inputs", func() bool {
		last = pl.ReadBytes()
		return last >= input
	})
	if err == nil {
		time.Sleep(settle + time.Second)
	}
	if err != nil {
		err = fmt.Errorf("%w (read %d of %d bytes)", err, last, input)
	}
	if serr := pl.Stop(time.Minute); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, tail(filepath.Join(tmp, "logship.log")))
	}
	t.Logf("logship stopped %v after start", time.Since(start))
	res.Logship = pl.Usage()
	winL[1] = time.Now().UnixMilli()
	levs := events(t, envL)
	// Events stamped with the time they were read (format none, a parsed
	// record without a time key) cannot match, since the agents run one
	// after the other: both sides show ReadTime instead. The generated
	// lines are an hour old, outside both windows.
	for i, evs := range [][]Event{fevs, levs} {
		w := [][2]int64{winF, winL}[i]
		for j := range evs {
			if evs[j].Timestamp >= w[0] && evs[j].Timestamp <= w[1] {
				evs[j].Timestamp = ReadTime
			}
		}
	}
	res.Report = Compare(fevs, levs, lines)
	return res
}

// PrintUsage writes both agents' resource use side by side.
func (r *Result) PrintUsage(w interface{ Write([]byte) (int, error) }) {
	gb := float64(r.InputBytes) / 1e9
	row := func(name string, u Usage) {
		fmt.Fprintf(w, "  %-8s CPU %7.2f s  (%8.1f CPU-s/GB)  peak RSS (VmHWM) %7.1f MiB\n",
			name, u.CPU.Seconds(), u.CPU.Seconds()/gb, float64(u.PeakRSS)/(1<<20))
	}
	fmt.Fprintf(w, "  input %.1f MiB (CPU includes start-up; shared machine, figures are noisy)\n", float64(r.InputBytes)/(1<<20))
	row("fluentd", r.Fluentd)
	row("logship", r.Logship)
}

// PosCaughtUp reports whether the Fluentd pos files under root record every
// file in sizes (paths under /var/log) read to its end. Entries name the
// watched path (the /var/log/containers symlink for container logs).
func PosCaughtUp(root string, sizes map[string]int64) bool {
	done := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(root, "*.pos"))
	more, _ := filepath.Glob(filepath.Join(root, "*", "*.pos"))
	for _, pf := range append(files, more...) {
		f, err := os.Open(pf)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// in_tail pos file: "<path>\t<offset %016x>\t<inode %016x>"
			// (github.com/fluent/fluentd v1.19.3 lib/fluent/plugin/in_tail/position_file.rb).
			parts := strings.Split(sc.Text(), "\t")
			if len(parts) != 3 {
				continue
			}
			off, err := strconv.ParseInt(parts[1], 16, 64)
			want, ok := sizes[parts[0]]
			// in_tail marks unwatched entries with offset
			// ffffffffffffffff; skip them.
			if err == nil && ok && off >= want && parts[1] != "ffffffffffffffff" {
				done[parts[0]] = true
			}
		}
		f.Close()
	}
	for p := range sizes {
		if !done[p] {
			return false
		}
	}
	return true
}

// appendAll appends each file's bytes (paths under /var/log) under root.
func appendAll(root string, appends map[string][]byte) error {
	for p, b := range appends {
		f, err := os.OpenFile(filepath.Join(root, strings.TrimPrefix(p, "/var/log/")), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// events returns every event an emulator holds, by group and stream name.
func events(t *testing.T, env *emulatortest.Env) []Event {
	t.Helper()
	ctx := context.Background()
	var out []Event
	var groups []string
	for p := cloudwatchlogs.NewDescribeLogGroupsPaginator(env.Client, &cloudwatchlogs.DescribeLogGroupsInput{}); p.HasMorePages(); {
		pg, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("DescribeLogGroups: %v", err)
		}
		for _, g := range pg.LogGroups {
			groups = append(groups, *g.LogGroupName)
		}
	}
	sort.Strings(groups)
	for _, g := range groups {
		for p := cloudwatchlogs.NewDescribeLogStreamsPaginator(env.Client, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: &g}); p.HasMorePages(); {
			pg, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("DescribeLogStreams %s: %v", g, err)
			}
			for _, s := range pg.LogStreams {
				for _, ev := range env.Server.Events(g, *s.LogStreamName) {
					out = append(out, Event{Group: g, Stream: *s.LogStreamName, Timestamp: ev.Timestamp, Message: ev.Message})
				}
			}
		}
	}
	return out
}

// tail returns the end of an agent's log without Ruby backtrace lines.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "]: /") || strings.Contains(l, "]: <internal:") {
			continue // a backtrace frame
		}
		keep = append(keep, l)
	}
	s := strings.Join(keep, "\n")
	if len(s) > 8000 {
		s = s[len(s)-8000:]
	}
	return path + ":\n" + s
}

// BuildLogship returns LOGSHIP_BIN or builds cmd/logship into dir.
func BuildLogship(t testing.TB, dir string) string {
	t.Helper()
	if p := os.Getenv(EnvLogship); p != "" {
		return p
	}
	mod, ok := fixtures.ModuleRoot()
	if !ok {
		t.Fatal("no go.mod above the working directory")
	}
	out := filepath.Join(dir, "logship")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/logship")
	cmd.Dir = mod
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/logship: %v\n%s", err, b)
	}
	return out
}
