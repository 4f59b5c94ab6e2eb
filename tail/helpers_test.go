package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"logship/internal/testclock"
)

// got is one received line, with its bytes copied.
type got struct {
	Text   string
	Offset int64
	Source uint64
	Path   string
	Real   string
	Stream Stream
	Flags  Flags
	Time   int64
}

func (g got) String() string {
	t := g.Text
	if len(t) > 60 {
		t = fmt.Sprintf("%s...(%d bytes)", t[:40], len(t))
	}
	return fmt.Sprintf("{%q %d}", t, g.Offset)
}

// collector is a Handler that records lines and can acknowledge them.
type collector struct {
	mu    sync.Mutex
	lines []got
	w     *Watcher
	ack   bool // acknowledge every line as it arrives
}

func (c *collector) Handle(_ context.Context, lines []Line) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range lines {
		c.lines = append(c.lines, got{Text: string(l.Text), Offset: l.Offset, Source: l.Source, Path: l.Path, Real: l.RealPath,
			Stream: l.Stream, Flags: l.Flags, Time: l.Time})
	}
	if c.ack {
		for _, l := range lines {
			c.w.Ack(l.Source, l.Offset)
		}
	}
	return nil
}

// take returns and forgets the lines received so far.
func (c *collector) take() []got {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.lines
	c.lines = nil
	return out
}

// ackAll acknowledges the given lines in one batch (AckAll), so a saver
// running meanwhile sees all of them or none.
func (c *collector) ackAll(lines []got) {
	c.w.AckAll(func(yield func(uint64, int64) bool) {
		for _, l := range lines {
			if !yield(l.Source, l.Offset) {
				return
			}
		}
	})
}

// ackLines acknowledges a handler's batch in one AckAll.
func ackLines(w *Watcher, lines []Line) {
	w.AckAll(func(yield func(uint64, int64) bool) {
		for _, l := range lines {
			if !yield(l.Source, l.Offset) {
				return
			}
		}
	})
}

type harness struct {
	t   *testing.T
	dir string
	clk *testclock.Clock
	col *collector
	w   *Watcher
	cfg Config
}

// newHarness makes a watcher over dir with cfg (Paths relative to dir are
// made absolute), a fake clock and a collecting handler that acks.
func newHarness(t *testing.T, dir string, cfg Config) *harness {
	t.Helper()
	for i, p := range cfg.Paths {
		if !filepath.IsAbs(p) {
			cfg.Paths[i] = filepath.Join(dir, p)
		}
	}
	if cfg.PositionsFile != "" && !filepath.IsAbs(cfg.PositionsFile) {
		cfg.PositionsFile = filepath.Join(dir, cfg.PositionsFile)
	}
	cfg.DisableNotify = true
	h := &harness{t: t, dir: dir, clk: testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), col: &collector{ack: true}, cfg: cfg}
	h.start()
	return h
}

// newTailed makes a writer of style for dir/name and a harness over dir with
// cfg (as newHarness).
func newTailed(t *testing.T, dir, name, style string, cfg Config) (*writer, *harness) {
	t.Helper()
	return newWriter(t, filepath.Join(dir, name), style), newHarness(t, dir, cfg)
}

// forStyles runs f as a subtest per writer style, each with a writer of that
// style for 0.log in a fresh directory (h.dir) and a harness over it with cfg
// (as newHarness).
func forStyles(t *testing.T, styles []string, cfg Config, f func(t *testing.T, wr *writer, h *harness)) {
	t.Helper()
	for _, style := range styles {
		t.Run(style, func(t *testing.T) {
			c := cfg
			c.Paths = slices.Clone(cfg.Paths) // newHarness makes them absolute
			wr, h := newTailed(t, t.TempDir(), "0.log", style, c)
			f(t, wr, h)
		})
	}
}

// readNew writes n lines with wr, runs one cycle and checks that exactly they
// were read (as what); it returns the lines read.
func (h *harness) readNew(wr *writer, n int, what string) []got {
	h.t.Helper()
	return h.after(h.cycle, wr.lines(n), what)
}

// pollNew is readNew with one poll instead of a cycle.
func (h *harness) pollNew(wr *writer, n int, what string) []got {
	h.t.Helper()
	return h.after(h.poll, wr.lines(n), what)
}

// after runs step and checks that exactly want was read (as what); it returns
// the lines read.
func (h *harness) after(step func(), want []got, what string) []got {
	h.t.Helper()
	step()
	return h.expect(what, want)
}

// newWatcher makes a watcher over cfg with h (logging nothing), closed at
// the end of the test.
func newWatcher(tb testing.TB, cfg Config, h Handler) *Watcher {
	tb.Helper()
	w, err := New(cfg, h, zap.NewNop())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { w.Close() })
	return w
}

// start creates a fresh watcher (a process start) with the same config.
func (h *harness) start() {
	h.t.Helper()
	w := newWatcher(h.t, h.cfg, h.col)
	w.SetClock(h.clk.Now)
	h.col.w = w
	h.w = w
}

// restart saves positions, closes the watcher and starts a new one.
func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	h.start()
}

// save saves positions now.
func (h *harness) save() {
	h.t.Helper()
	if err := h.w.SavePositions(); err != nil {
		h.t.Fatal(err)
	}
}

// stop saves positions and closes the watcher (a clean process exit); start
// begins the next process.
func (h *harness) stop() {
	h.t.Helper()
	h.save()
	h.w.Close()
}

// expect takes the lines received so far, checks them against want (as
// check) and returns them.
func (h *harness) expect(what string, want []got) []got {
	h.t.Helper()
	lines := h.col.take()
	check(h.t, what, lines, want)
	return lines
}

// crash closes the watcher without saving and starts a new one.
func (h *harness) crash() {
	h.w.Close()
	h.start()
}

func (h *harness) sync() {
	h.t.Helper()
	if err := h.w.Sync(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) poll() {
	h.t.Helper()
	if err := h.w.Poll(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// drain polls until a poll reads nothing more (bounded).
func (h *harness) drain() {
	h.t.Helper()
	for i := 0; i < 100; i++ {
		before := h.w.Stats().BytesRead
		h.poll()
		if h.w.Stats().BytesRead == before {
			return
		}
	}
}

// cycle is one Sync and one Poll.
func (h *harness) cycle() {
	h.t.Helper()
	h.sync()
	h.poll()
}

func (h *harness) path(name string) string { return filepath.Join(h.dir, name) }

// appendFile appends s to name (created if needed).
func appendFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// writer emits numbered lines in a format, tracking the file size so tests
// know every line's end offset.
type writer struct {
	t      *testing.T
	path   string
	style  string // "containerd", "conmon", "docker", "none"
	n      int    // next line number
	size   int64
	prefix string
}

func newWriter(t *testing.T, path, style string) *writer {
	return &writer{t: t, path: path, style: style, n: 1, prefix: "line"}
}

// ts returns the timestamp text of line n in the writer's style.
func (wr *writer) ts(n int) string {
	t := time.Date(2026, 1, 2, 3, 4, 5, n*1000, time.UTC)
	switch wr.style {
	case "conmon":
		return t.In(time.FixedZone("", 0)).Format("2006-01-02T15:04:05.000000000-07:00")
	case "docker":
		return t.Format(time.RFC3339Nano)
	}
	return t.Format(time.RFC3339Nano)
}

// record formats one physical record for text (tag "F" or "P" for CRI).
func (wr *writer) record(stream, tag, text string, n int) string {
	switch wr.style {
	case "containerd", "conmon":
		return fmt.Sprintf("%s %s %s %s\n", wr.ts(n), stream, tag, text)
	case "docker":
		if tag == "F" {
			text += "\n"
		}
		return fmt.Sprintf(`{"log":%s,"stream":%q,"time":%q}`+"\n", jsonString(text), stream, wr.ts(n))
	}
	return text + "\n"
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// lines appends count numbered full lines on stdout and returns what the
// tailer must emit for them.
func (wr *writer) lines(count int) []got {
	var out []got
	var buf strings.Builder
	for i := 0; i < count; i++ {
		text := fmt.Sprintf("%s %d", wr.prefix, wr.n)
		rec := wr.record("stdout", "F", text, wr.n)
		buf.WriteString(rec)
		wr.size += int64(len(rec))
		out = append(out, got{Text: text, Offset: wr.size})
		wr.n++
	}
	appendFile(wr.t, wr.path, buf.String())
	return out
}

// raw appends one physical record and returns its end offset.
func (wr *writer) raw(stream, tag, text string) int64 {
	rec := wr.record(stream, tag, text, wr.n)
	wr.n++
	appendFile(wr.t, wr.path, rec)
	wr.size += int64(len(rec))
	return wr.size
}

// truncate truncates the file to 0 in place (copytruncate).
func (wr *writer) truncate() {
	wr.t.Helper()
	if err := os.Truncate(wr.path, 0); err != nil {
		wr.t.Fatal(err)
	}
	wr.size = 0
}

// rotate renames the file kubelet-style and starts a new one.
func (wr *writer) rotate(suffix string) string {
	wr.t.Helper()
	to := wr.path + "." + suffix
	if err := os.Rename(wr.path, to); err != nil {
		wr.t.Fatal(err)
	}
	wr.size = 0
	return to
}

// check compares text/offset sequences.
func check(t *testing.T, what string, gotLines, want []got) {
	t.Helper()
	if len(gotLines) != len(want) {
		t.Fatalf("%s: got %d lines %v, want %d %v", what, len(gotLines), gotLines, len(want), want)
	}
	for i := range want {
		if gotLines[i].Text != want[i].Text || gotLines[i].Offset != want[i].Offset {
			t.Fatalf("%s: line %d = %v, want %v", what, i, gotLines[i], want[i])
		}
	}
}

// texts returns the texts of lines.
func texts(ls []got) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Text
	}
	return out
}

// running is a watcher running (Run) in the background: made by goRun, with
// a collector that acknowledges every line, or by runAcking, its handler
// passing each batch to a function under mu and then acknowledging it in one
// AckAll.
type running struct {
	mu     sync.Mutex // runAcking: held while the function runs: hold it to read what it stored
	w      *Watcher
	col    *collector // goRun's collector
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// goRun makes a watcher over cfg with a collector that acknowledges every
// line, calls setup (if not nil) and starts its Run. The end of the test
// stops it (reporting Run's error) and closes it.
func goRun(t *testing.T, cfg Config, setup func(w *Watcher)) *running {
	t.Helper()
	r := &running{col: &collector{ack: true}}
	r.run(t, cfg, r.col, func(w *Watcher) {
		r.col.w = w
		if setup != nil {
			setup(w)
		}
	})
	return r
}

// runAcking starts a watcher over cfg whose handler calls handle (under r.mu)
// with each batch, then acknowledges the batch; setup, if not nil, sees the
// watcher before Run starts. The watcher is closed at the end of the test.
func runAcking(t *testing.T, cfg Config, setup func(w *Watcher), handle func(ls []Line)) *running {
	t.Helper()
	r := &running{}
	r.run(t, cfg, HandlerFunc(func(_ context.Context, ls []Line) error {
		r.mu.Lock()
		handle(ls)
		r.mu.Unlock()
		ackLines(r.w, ls)
		return nil
	}), setup)
	return r
}

// run makes the watcher over cfg with h, calls setup (if not nil) and starts
// Run; the end of the test stops Run (reporting its error) and closes the
// watcher.
func (r *running) run(t *testing.T, cfg Config, h Handler, setup func(w *Watcher)) {
	t.Helper()
	w := newWatcher(t, cfg, h)
	r.w = w
	if setup != nil {
		setup(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- w.Run(ctx) }()
	t.Cleanup(func() {
		if err := r.halt(); err != nil {
			t.Error(err)
		}
	})
}

// halt cancels Run and returns its error (the same error when called again).
func (r *running) halt() error {
	r.once.Do(func() {
		r.cancel()
		r.err = <-r.done
	})
	return r.err
}

// stop stops Run and fails the test if it returned an error.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if err := r.halt(); err != nil {
		t.Fatal(err)
	}
}

// receive returns the next value from ch, failing the test with why if none
// comes within 10 s.
func receive[T any](t *testing.T, ch <-chan T, why string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal(why)
	}
	var zero T
	return zero
}
