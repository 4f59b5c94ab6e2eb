package buffer_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"logship/buffer"
)

// fakeClock is a manual Clock: After channels fire only when Advance moves
// the time past their deadline.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	added   chan struct{} // closed and replaced when After registers a waiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

var _ buffer.Clock = (*fakeClock)(nil)

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), added: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	close(c.added)
	c.added = make(chan struct{})
	return ch
}

// Advance moves the clock forward and fires the due timers.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

// waitTimer blocks until some goroutine waits for a timer due at exactly
// at (a deadline of 5 s real time guards against hangs).
func (c *fakeClock) waitTimer(t *testing.T, at time.Time) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		c.mu.Lock()
		found := slices.ContainsFunc(c.waiters, func(w fakeWaiter) bool { return w.at.Equal(at) })
		added := c.added
		c.mu.Unlock()
		if found {
			return
		}
		select {
		case <-added:
		case <-deadline:
			t.Fatalf("no timer registered for %v", at)
		}
	}
}

// sent is a delivered chunk as the fake sender saw it.
type sent struct {
	id   string
	key  buffer.StreamKey
	msgs []string
}

// fakeSender records delivered chunks; fn (optional) decides each attempt's
// result and may block.
type fakeSender struct {
	mu       sync.Mutex
	fn       func(ctx context.Context, c *buffer.Chunk) error
	attempts int
	sent     []sent
	ch       chan sent // if set, receives every delivered chunk
}

var _ buffer.Sender = (*fakeSender)(nil)

func (s *fakeSender) Send(ctx context.Context, c *buffer.Chunk) error {
	s.mu.Lock()
	s.attempts++
	fn := s.fn
	s.mu.Unlock()
	if fn != nil {
		if err := fn(ctx, c); err != nil {
			return err
		}
	}
	d := sent{id: c.ID, key: c.Key}
	for _, r := range c.Records[c.Sent:] {
		d.msgs = append(d.msgs, string(r.Message))
	}
	s.mu.Lock()
	s.sent = append(s.sent, d)
	ch := s.ch
	s.mu.Unlock()
	if ch != nil {
		ch <- d
	}
	return nil
}

func (s *fakeSender) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, d := range s.sent {
		out = append(out, d.msgs...)
	}
	return out
}

func (s *fakeSender) chunks() []sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

func (s *fakeSender) nAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// fakeAcker records acknowledged records' messages and offsets.
type fakeAcker struct {
	mu      sync.Mutex
	msgs    []string
	offsets []int64
}

func (a *fakeAcker) Ack(recs []buffer.Record) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range recs {
		a.msgs = append(a.msgs, string(r.Message))
		a.offsets = append(a.offsets, r.Offset)
	}
}

func (a *fakeAcker) acked() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.msgs)
}

// recs returns n records for key with messages "<prefix><i>" padded to size
// bytes (if size > 0) and Offset i+1.
func recs(key buffer.StreamKey, prefix string, n, size int) []buffer.Record {
	out := make([]buffer.Record, n)
	for i := range out {
		m := fmt.Sprintf("%s%d", prefix, i)
		for len(m) < size {
			m += "."
		}
		out[i] = buffer.Record{Time: int64(i), Tag: "tag", Key: key, Message: []byte(m), Source: 1, Offset: int64(i + 1)}
	}
	return out
}

var keyA = buffer.StreamKey{Group: "g", Stream: "a"}
var keyB = buffer.StreamKey{Group: "g", Stream: "b"}
var keyC = buffer.StreamKey{Group: "g", Stream: "c"}

// newBuf builds a buffer with a fake clock, sender and acker.
func newBuf(t *testing.T, cfg buffer.Config) (*buffer.Buffer, *fakeClock, *fakeSender, *fakeAcker) {
	t.Helper()
	clk := newFakeClock()
	s := &fakeSender{}
	a := &fakeAcker{}
	b, err := buffer.New(cfg, s, a, nil, clk)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b, clk, s, a
}

func mustAdd(t *testing.T, b *buffer.Buffer, rs []buffer.Record) {
	t.Helper()
	if err := b.Add(context.Background(), rs); err != nil {
		t.Fatalf("Add: %v", err)
	}
}

func msgs(rs []buffer.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r.Message)
	}
	return out
}

// chunkSizes returns the number of records of each delivered chunk.
func chunkSizes(cs []sent) []int {
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = len(c.msgs)
	}
	return out
}

// stepUntil waits until done is closed (true) or a goroutine waits on a
// timer, which it then fires by advancing the clock to it (false). A 10 s
// real-time guard fails the test if neither happens.
func (c *fakeClock) stepUntil(t *testing.T, done <-chan struct{}) bool {
	t.Helper()
	for {
		c.mu.Lock()
		var next time.Time
		for _, w := range c.waiters {
			if next.IsZero() || w.at.Before(next) {
				next = w.at
			}
		}
		added, now := c.added, c.now
		c.mu.Unlock()
		if !next.IsZero() {
			c.Advance(next.Sub(now))
			return false
		}
		select {
		case <-done:
			return true
		case <-added:
		case <-time.After(10 * time.Second):
			t.Fatal("neither done nor waiting for a timer within 10s")
		}
	}
}

// running is a buffer's Run in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

// runBuf starts b.Run in the background; the end of the test cancels it if
// stop was not called.
func runBuf(t testing.TB, b *buffer.Buffer) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- b.Run(ctx) }()
	t.Cleanup(cancel)
	return r
}

// stop cancels Run and fails the test if it returned an error.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
}
