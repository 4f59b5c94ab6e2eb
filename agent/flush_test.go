package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"logship/buffer"
	"logship/enrich"
	"logship/internal/e2etest"
	"logship/sink/stdout"
	"logship/tail"
)

// stdoutRecords is what a stdout output wrote to b: one record a line,
// without its "<time> <tag>: " prefix.
func stdoutRecords(b *e2etest.SyncBuffer) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l != "" {
			_, rest, _ := strings.Cut(l, ": ") // drop "<time> <tag>"
			out = append(out, rest)
		}
	}
	return out
}

// heldHarness is an agent with one tail source wired as agent.go must wire
// held records: handleLines as the tail handler, runIdleFlush next to it,
// plugin filters with FilterDeps.Ack, runFilterFlush while the sources run.
type heldHarness struct {
	a    *Agent
	src  *tailSource
	out  *e2etest.SyncBuffer
	file string
	mu   sync.Mutex
	ids  map[uint64]bool
}

func newHeldHarness(t *testing.T, line enrich.LineConfig, rules func(a *Agent, out Output) map[string][]Rule) *heldHarness {
	t.Helper()
	dir := t.TempDir()
	h := &heldHarness{out: &e2etest.SyncBuffer{}, file: filepath.Join(dir, "app.log"), ids: map[uint64]bool{}}
	if err := os.WriteFile(h.file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	a := &Agent{log: log, health: NewHealth(nil, 0)}
	h.a = a
	line.Tag = func(string) string { return "app" }
	conv, err := enrich.NewConverter(line)
	if err != nil {
		t.Fatal(err)
	}
	s := &tailSource{idx: 1, conv: conv, a: a}
	h.src = s
	w, err := tail.New(tail.Config{Paths: []string{h.file}, ReadFromHead: true, Format: tail.FormatNone, SourceBase: s.idx << sourceIDBits},
		tail.HandlerFunc(func(ctx context.Context, lines []tail.Line) error {
			h.mu.Lock()
			for _, l := range lines {
				h.ids[l.Source] = true
			}
			h.mu.Unlock()
			return s.handleLines(ctx, lines)
		}), log)
	if err != nil {
		t.Fatal(err)
	}
	s.w = w
	a.sources = []*tailSource{s}
	out := stdout.New(h.out, time.UTC, a)
	a.router = NewRouter(RulesResolver(rules(a, out)), a)
	return h
}

func (h *heldHarness) run(t *testing.T, fs []enrich.Flusher) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, f := range []func(context.Context) error{h.src.w.Run, h.src.runIdleFlush,
		func(ctx context.Context) error { return h.a.runFilterFlush(ctx, fs) }} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("run: %v", err)
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}

func (h *heldHarness) write(t *testing.T, s string) {
	f, err := os.OpenFile(h.file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// position returns the committed position of the file.
func (h *heldHarness) position() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var best int64 = -1
	for id := range h.ids {
		if p, ok := h.src.w.Position(id); ok && p > best {
			best = p
		}
	}
	return best
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func matchAll(string) bool { return true }

// TestHandleLines_Multiline runs the v0.12 kubernetes parser (glog records
// with continuation lines) through handleLines and runIdleFlush: records are
// joined, the position never passes a pending record's first line, and the
// idle flush delivers the last record and releases the position.
func TestHandleLines_Multiline(t *testing.T) {
	h := newHeldHarness(t, enrich.LineConfig{Parse: enrich.ParseConfig{Type: "kubernetes", Location: time.UTC,
		Lines: &enrich.MultilineConfig{FirstLine: enrich.GlogFirstLine, FlushInterval: 700 * time.Millisecond}}},
		func(a *Agent, out Output) map[string][]Rule {
			return map[string][]Rule{RootLabel: {{Match: MatcherFunc(matchAll), Output: out}}}
		})
	stop := h.run(t, nil)
	defer stop()
	first := "junk before any glog line\nE0925 18:00:01.5       42 kubelet.go:1] failed:\n  goroutine 1\n"
	second := "I0925 18:00:02.5       42 kubelet.go:2] next\n  more\n"
	h.write(t, first+second)
	eventually(t, "the first record", func() bool { return len(stdoutRecords(h.out)) >= 1 })
	if got, want := stdoutRecords(h.out)[0], `{"severity":"E","pid":"42","source":"kubelet.go:1","message":"failed:\n  goroutine 1"}`; got != want {
		t.Errorf("first record %s, want %s", got, want)
	}
	// The second record is pending: the position stays at its first line.
	eventually(t, "the position after the first record", func() bool { return h.position() == int64(len(first)) })
	if n := len(stdoutRecords(h.out)); n != 1 {
		t.Fatalf("%d records before the flush interval", n)
	}
	eventually(t, "the idle flush", func() bool { return len(stdoutRecords(h.out)) == 2 })
	if got, want := stdoutRecords(h.out)[1], `{"severity":"I","pid":"42","source":"kubelet.go:2","message":"next\n  more"}`; got != want {
		t.Errorf("flushed record %s, want %s", got, want)
	}
	eventually(t, "the position at the end", func() bool { return h.position() == int64(len(first+second)) })
	if got := h.src.unmatched.Load(); got != 1 {
		t.Errorf("unmatched = %d, want 1 (the line before the first glog line; continuation lines are not unmatched)", got)
	}
}

// TestFlushFilters_ConcatTimeoutLabel runs concat as the AWS Container
// Insights config does (start /^\S/, timeout_label): joined records go on to
// the output; a group idle for flush_interval goes to the timeout label; the
// position is held by each group's first line until it is delivered.
func TestFlushFilters_ConcatTimeoutLabel(t *testing.T) {
	var concat enrich.Filter
	h := newHeldHarness(t, enrich.LineConfig{Parse: enrich.ParseConfig{Type: "none"}},
		func(a *Agent, out Output) map[string][]Rule {
			var err error
			concat, err = (&enrich.ConcatConfig{Key: "message", MultilineStart: `^\S`, Separator: "|",
				FlushInterval: 600 * time.Millisecond, TimeoutLabel: "@T"}).NewFilter(enrich.FilterDeps{Ack: a.Ack})
			if err != nil {
				t.Fatal(err)
			}
			timeout := FilterFunc(func(r *buffer.Record) bool {
				r.Fields = r.Fields.Set("timeout", buffer.Str([]byte("yes")))
				return true
			})
			return map[string][]Rule{
				RootLabel: {{Match: MatcherFunc(matchAll), Filter: concat}, {Match: MatcherFunc(matchAll), Output: out}},
				"@T":      {{Match: MatcherFunc(matchAll), Filter: timeout}, {Match: MatcherFunc(matchAll), Output: out}},
			}
		})
	stop := h.run(t, []enrich.Flusher{concat.(enrich.Flusher)})
	defer stop()
	first := "Exception\n  at a\n"
	second := "Next\n  at b\n"
	h.write(t, first+second)
	eventually(t, "the first group", func() bool { return len(stdoutRecords(h.out)) >= 1 })
	if got, want := stdoutRecords(h.out)[0], `{"message":"Exception|  at a"}`; got != want {
		t.Errorf("joined %s, want %s", got, want)
	}
	eventually(t, "the position after the first group", func() bool { return h.position() == int64(len(first)) })
	eventually(t, "the timeout", func() bool { return len(stdoutRecords(h.out)) == 2 })
	if got, want := stdoutRecords(h.out)[1], `{"message":"Next|  at b","timeout":"yes"}`; got != want {
		t.Errorf("timed-out group %s, want %s (through label @T)", got, want)
	}
	eventually(t, "the position at the end", func() bool { return h.position() == int64(len(first+second)) })
}

// TestFlushFilters_NoTimeoutLabel: a timed-out group without timeout_label is
// dropped and acknowledged (Fluentd's error event); at shutdown (all) groups
// are left unacknowledged so the restart re-reads them.
func TestFlushFilters_NoTimeoutLabel(t *testing.T) {
	for _, all := range []bool{false, true} {
		var acked []buffer.Record
		a := &Agent{log: zap.NewNop()}
		a.router = NewRouter(RulesResolver(nil), AckFunc(func(r []buffer.Record) { acked = append(acked, r...) }))
		f, err := (&enrich.ConcatConfig{Key: "log", NLines: 3, FlushInterval: time.Second}).NewFilter(enrich.FilterDeps{Ack: a.Ack})
		if err != nil {
			t.Fatal(err)
		}
		r := &buffer.Record{Tag: "t", Source: 1<<sourceIDBits + 1, Offset: 10, Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("x"))}}}
		if f.Filter(r) {
			t.Fatal("held record passed")
		}
		now := time.Now().Add(enrich.DefaultConcatFlushInterval)
		if err := a.flushFilters(context.Background(), []enrich.Flusher{f.(enrich.Flusher)}, now, all); err != nil {
			t.Fatal(err)
		}
		if all && len(acked) != 0 {
			t.Errorf("shutdown flush acknowledged %v", acked)
		}
		if !all && (len(acked) != 1 || acked[0].Offset != 10) {
			t.Errorf("timeout without label acknowledged %v, want the held group", acked)
		}
		if n := len(f.(enrich.Flusher).Flush(now, true)); n != 0 {
			t.Errorf("%d groups still held", n)
		}
	}
}
