package buffer_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"logship/buffer"
)

// Errors of the fake endpoint's fault phases: throttling, then 503s.
var (
	errThrottled   = errors.New("ThrottlingException: Rate exceeded")
	errUnavailable = errors.New("ServiceUnavailableException: 503")
)

// orderSender delivers chunks like one CloudWatch endpoint: it counts the
// requests in flight per stream (the most seen at once is maxPerKey) and
// across streams (maxAll), records the delivered messages per stream in
// arrival order, and asks fail (if set) whether an attempt fails.
type orderSender struct {
	mu        sync.Mutex
	fail      func(c *buffer.Chunk) error
	inflight  map[buffer.StreamKey]int
	nInflight int
	maxPerKey int
	maxAll    int
	got       map[buffer.StreamKey][]string
	delivered int
	// gate, if set, is received from before each attempt returns.
	gate chan struct{}
	// started, if set, gets the key of every attempt as it starts.
	started chan buffer.StreamKey
	done    chan struct{} // closed when delivered reaches want
	want    int
}

func newOrderSender(want int) *orderSender {
	return &orderSender{inflight: map[buffer.StreamKey]int{}, got: map[buffer.StreamKey][]string{},
		done: make(chan struct{}), want: want}
}

func (s *orderSender) Send(_ context.Context, c *buffer.Chunk) error {
	s.mu.Lock()
	s.inflight[c.Key]++
	s.nInflight++
	s.maxPerKey = max(s.maxPerKey, s.inflight[c.Key])
	s.maxAll = max(s.maxAll, s.nInflight)
	fail := s.fail
	s.mu.Unlock()
	if s.started != nil {
		s.started <- c.Key
	}
	if s.gate != nil {
		<-s.gate
	}
	var err error
	if fail != nil {
		err = fail(c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight[c.Key]--
	s.nInflight--
	if err != nil {
		return err
	}
	for _, r := range c.Records[c.Sent:] {
		s.got[c.Key] = append(s.got[c.Key], string(r.Message))
	}
	s.delivered += len(c.Records) - c.Sent
	if s.delivered == s.want {
		close(s.done)
	}
	return nil
}

// violations counts, per stream, the messages "<container>-<seq>" whose seq
// is not one more than the last seen of the same container.
func (s *orderSender) violations() (n int, first string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, ms := range s.got {
		last := map[string]int{}
		for _, m := range ms {
			ctr, seq, _ := strings.Cut(m, "-")
			i, _ := strconv.Atoi(seq)
			if want := last[ctr] + 1; i != want {
				n++
				if first == "" {
					first = fmt.Sprintf("%s: %s after %s-%d", key, m, ctr, last[ctr])
				}
			}
			last[ctr] = i
		}
	}
	return n, first
}

// containerRecs returns n records of container ctr for key, "<ctr>-1".."<ctr>-n".
func containerRecs(key buffer.StreamKey, ctr string, from, n int) []buffer.Record {
	out := make([]buffer.Record, n)
	for i := range out {
		out[i] = buffer.Record{Time: int64(from + i), Key: key, Message: fmt.Appendf(nil, "%s-%d", ctr, from+i), Source: 1, Offset: int64(from + i)}
	}
	return out
}

// TestBuffer_OrderRetryKeepsPlace: a chunk that fails (throttled three times,
// then two 503s) is retried before any later chunk of its stream is sent;
// another stream is not held back by it; Flush, which ignores retry times,
// does not send past a chunk that fails either.
func TestBuffer_OrderRetryKeepsPlace(t *testing.T) {
	clk := newFakeClock()
	snd := newOrderSender(20)
	b, err := buffer.New(buffer.Config{ChunkLimitRecords: 2, ChunkFullThreshold: 1, FlushMode: buffer.FlushModeLazy,
		RetryForever: true, RetryRandomize: buffer.Bool(false)}, snd, nil, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	var attemptsA2 int
	snd.fail = func(c *buffer.Chunk) error {
		if string(c.Records[0].Message) != "a-3" {
			return nil
		}
		attemptsA2++
		switch {
		case attemptsA2 <= 3:
			return errThrottled
		case attemptsA2 <= 5:
			return errUnavailable
		}
		return nil
	}
	mustAdd(t, b, containerRecs(keyA, "a", 1, 10)) // 5 chunks; the second fails 5 times
	mustAdd(t, b, containerRecs(keyB, "b", 1, 10))
	ctx := context.Background()
	b.FlushReady(ctx)
	snd.mu.Lock()
	gotA, gotB := len(snd.got[keyA]), len(snd.got[keyB])
	snd.mu.Unlock()
	if gotA != 2 || gotB != 10 {
		t.Fatalf("after the first round: %d of a, %d of b delivered; want a's first chunk only and all of b", gotA, gotB)
	}
	if err := b.Flush(ctx); !errors.Is(err, buffer.ErrUndelivered) {
		t.Fatalf("Flush with a failing head = %v, want ErrUndelivered", err)
	}
	for i := 0; i < 100 && b.Stats().QueuedChunks > 0; i++ {
		clk.Advance(time.Second)
		b.FlushReady(ctx)
	}
	if n, first := snd.violations(); n != 0 || snd.delivered != 20 {
		t.Fatalf("%d delivered, %d order violations (first: %s); want 20 in order", snd.delivered, n, first)
	}
	if attemptsA2 != 6 {
		t.Fatalf("failing chunk attempted %d times, want 6", attemptsA2)
	}
}

// TestBuffer_OneRequestPerStream: with two flush threads and two streams of
// three chunks each, the two requests in flight are one per stream, not the
// first two chunks of the queue.
func TestBuffer_OneRequestPerStream(t *testing.T) {
	snd := newOrderSender(6)
	snd.gate = make(chan struct{})
	snd.started = make(chan buffer.StreamKey, 6)
	b, err := buffer.New(buffer.Config{FlushThreadCount: 2, ChunkLimitRecords: 1, ChunkFullThreshold: 1,
		FlushMode: buffer.FlushModeLazy}, snd, nil, nil, newFakeClock())
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, b, containerRecs(keyA, "a", 1, 3))
	mustAdd(t, b, containerRecs(keyB, "b", 1, 3))
	run := runBuf(t, b)
	first := map[buffer.StreamKey]bool{<-snd.started: true, <-snd.started: true}
	if !reflect.DeepEqual(first, map[buffer.StreamKey]bool{keyA: true, keyB: true}) {
		t.Fatalf("first two requests in flight went to %v, want one to each stream", first)
	}
	close(snd.gate)
	<-snd.done
	run.stop(t)
	if n, f := snd.violations(); n != 0 || snd.maxPerKey != 1 {
		t.Fatalf("%d order violations (first: %s), at most %d requests per stream in flight; want 0 and 1", n, f, snd.maxPerKey)
	}
}

// TestBuffer_OrderUnderFaults: 40 containers into one stream and 3 into
// streams of their own, four flush threads, and an endpoint that throttles
// then answers 503 for a while, then fails 20 % of requests at random. Every
// line arrives once, in order per container; at most one request per stream
// is in flight; streams go out in parallel.
func TestBuffer_OrderUnderFaults(t *testing.T) {
	const perCtr = 60
	shared := buffer.StreamKey{Group: "g", Stream: "node-1"}
	want := 43 * perCtr
	snd := newOrderSender(want)
	rng := rand.New(rand.NewPCG(1, 2))
	var attempts int
	var failMu sync.Mutex
	snd.fail = func(*buffer.Chunk) error {
		failMu.Lock()
		defer failMu.Unlock()
		attempts++
		switch {
		case attempts <= 15:
			return errThrottled
		case attempts <= 30:
			return errUnavailable
		case rng.Float64() < 0.2:
			return errUnavailable
		}
		return nil
	}
	clk := newFakeClock()
	b, err := buffer.New(buffer.Config{FlushThreadCount: 4, ChunkLimitRecords: 7, FlushMode: buffer.FlushModeLazy,
		RetryForever: true, RetryWait: time.Second, RetryMaxInterval: 4 * time.Second}, snd, nil, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	run := runBuf(t, b)
	// Containers write in interleaved batches of 5 lines, as tail sources do.
	for from := 1; from <= perCtr; from += 5 {
		for c := range 40 {
			mustAdd(t, b, containerRecs(shared, fmt.Sprintf("c%d", c), from, 5))
		}
		for c := range 3 {
			key := buffer.StreamKey{Group: "g", Stream: fmt.Sprintf("own-%d", c)}
			mustAdd(t, b, containerRecs(key, fmt.Sprintf("own%d", c), from, 5))
		}
	}
	b.EnqueueAll()
	// Step the clock past each retry wait until everything is delivered.
	for !clk.stepUntil(t, snd.done) {
	}
	run.stop(t)
	if n, first := snd.violations(); n != 0 {
		t.Fatalf("%d order violations; first: %s", n, first)
	}
	if snd.delivered != want {
		t.Fatalf("delivered %d, want %d", snd.delivered, want)
	}
	if snd.maxPerKey != 1 {
		t.Fatalf("%d requests in flight for one stream, want at most 1", snd.maxPerKey)
	}
	if st := b.Stats(); st.Retries < 30 {
		t.Fatalf("Retries=%d, want the fault phases to have failed at least 30 attempts", st.Retries)
	}
}
