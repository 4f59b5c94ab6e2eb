package emulator

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// FaultConfig is the initial fault-injection setting of a Server (the
// command-line flags of 'logship emulate'). The zero value injects nothing.
type FaultConfig struct {
	// ThrottleRate is the probability (0..1) that a request is answered with
	// ThrottlingException (HTTP 400, "Rate exceeded").
	ThrottleRate float64
	// ServerErrorRate is the probability (0..1) that a request is answered
	// with ServiceUnavailableException (HTTP 500).
	ServerErrorRate float64
	// Latency is added before every request is processed. Zero means none.
	Latency time.Duration
	// OutageFrom and OutageTo schedule an outage [from, to) on the server
	// clock; see Faults.Outage. Zero values mean no outage.
	OutageFrom, OutageTo time.Time
	// Seed seeds the random generator behind the rates, so a run is
	// reproducible. Zero means 1.
	Seed uint64
	// Ops limits injected throttling, 5xx errors and connection faults to
	// these operation names (for example "PutLogEvents"). Empty means every
	// operation. Quotas are per operation and ignore Ops.
	Ops []string
	// Quotas are account-wide request-rate limits in requests per second by
	// operation name, enforced with a token bucket (burst = one second's
	// worth) on the server clock; requests over the quota get
	// ThrottlingException. Nil means no quotas; DefaultQuotas returns AWS's.
	Quotas map[string]float64
}

// DefaultQuotas returns AWS's default account-wide request-rate quotas
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html;
// design.md, "Quotas and faults"): PutLogEvents 5,000/s, CreateLogStream
// 50/s, DescribeLogStreams 25/s, DescribeLogGroups 10/s, GetLogEvents 10/s,
// CreateLogGroup 5/s (2022 value), FilterLogEvents 5/s.
func DefaultQuotas() map[string]float64 {
	q := make(map[string]float64)
	for _, o := range operations {
		if o.quota > 0 {
			q[o.name] = o.quota
		}
	}
	return q
}

// bucket is a token bucket for one operation's quota.
type bucket struct {
	rate   float64 // tokens per second
	tokens float64
	last   time.Time
}

// Faults injects failures into the emulator. All methods are safe for
// concurrent use and take effect on the next request.
//
// Order of application: an outage is checked first, before anything is read
// from the request; after authentication come connection resets
// (ResetNext) and latency; quotas, throttling and 5xx errors are decided
// after the request validated, just before it would change state (step 9 of
// the PutLogEvents check order in design.md), so an injected error
// never leaves a partial effect; DropResponseNext closes the connection after
// the request took effect.
//
// An outage closes the TCP connection without an HTTP response (as an
// unreachable or resetting endpoint would): clients see a connection error
// ("EOF"/"connection reset"), which the SDK classifies as retryable. After
// SetOutageStatus(true) outages answer HTTP 503 ServiceUnavailableException
// instead.
type Faults struct {
	now func() time.Time

	mu           sync.Mutex
	rng          *rand.Rand
	throttleRate float64
	errorRate    float64
	latency      time.Duration
	outageFrom   time.Time
	outageTo     time.Time
	down         bool
	outage503    bool
	ops          map[string]bool
	throttleNext int
	failNext     int
	resetNext    int
	dropNext     int
	noIDNext     int
	quotas       map[string]*bucket
}

func newFaults(c FaultConfig, now func() time.Time) (*Faults, error) {
	if c.ThrottleRate < 0 || c.ThrottleRate > 1 {
		return nil, fmt.Errorf("throttle rate %v: want 0..1", c.ThrottleRate)
	}
	if c.ServerErrorRate < 0 || c.ServerErrorRate > 1 {
		return nil, fmt.Errorf("server error rate %v: want 0..1", c.ServerErrorRate)
	}
	if c.Latency < 0 {
		return nil, fmt.Errorf("latency %v: want >= 0", c.Latency)
	}
	seed := c.Seed
	if seed == 0 {
		seed = 1
	}
	f := &Faults{
		now:          now,
		rng:          rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		throttleRate: c.ThrottleRate,
		errorRate:    c.ServerErrorRate,
		latency:      c.Latency,
		outageFrom:   c.OutageFrom,
		outageTo:     c.OutageTo,
	}
	f.SetOps(c.Ops...)
	for op, tps := range c.Quotas {
		if tps < 0 {
			return nil, fmt.Errorf("quota %s %v: want >= 0 requests per second", op, tps)
		}
		f.SetQuota(op, tps)
	}
	return f, nil
}

// SetQuota limits op to tps requests per second, account-wide (token bucket,
// burst = max(1, tps), on the server clock); 0 removes the quota.
func (f *Faults) SetQuota(op string, tps float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if tps <= 0 {
		delete(f.quotas, op)
		return
	}
	if f.quotas == nil {
		f.quotas = make(map[string]*bucket)
	}
	f.quotas[op] = &bucket{rate: tps, tokens: max(1, tps), last: f.now()}
}

// ResetNext makes the next n eligible requests lose their connection before
// they are processed (the TCP connection is closed without a response).
func (f *Faults) ResetNext(n int) {
	locked(f, &f.resetNext, max(n, 0))
}

// DropResponseNext makes the next n eligible requests be processed in full
// (events stored) and then lose their connection before the response: the
// client sees a connection error for a request that succeeded, the case
// that makes at-least-once delivery duplicate.
func (f *Faults) DropResponseNext(n int) {
	locked(f, &f.dropNext, max(n, 0))
}

// OmitRequestIDNext makes the next n successful responses lack the
// x-amzn-RequestId header (Fluent Bit treats such a 200 as a failure:
// fluent/fluent-bit plugins/out_cloudwatch_logs/cloudwatch_api.c, since
// commit b0f0b2903).
func (f *Faults) OmitRequestIDNext(n int) {
	locked(f, &f.noIDNext, max(n, 0))
}

// connFault decides, before processing, whether op's connection is reset
// now (reset) or after processing (drop), and whether a success omits the
// request id.
func (f *Faults) connFault(op string) (reset, drop, noID bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	noID = takeOne(&f.noIDNext)
	if f.ops != nil && !f.ops[op] {
		return false, false, noID
	}
	if takeOne(&f.resetNext) {
		return true, false, noID
	}
	if takeOne(&f.dropNext) {
		return false, true, noID
	}
	return false, false, noID
}

// SetThrottleRate sets the probability (clamped to 0..1) of ThrottlingException.
func (f *Faults) SetThrottleRate(p float64) {
	locked(f, &f.throttleRate, clamp01(p))
}

// SetServerErrorRate sets the probability (clamped to 0..1) of
// ServiceUnavailableException (HTTP 500).
func (f *Faults) SetServerErrorRate(p float64) {
	locked(f, &f.errorRate, clamp01(p))
}

// SetLatency sets the delay added to every request (negative means zero).
func (f *Faults) SetLatency(d time.Duration) {
	locked(f, &f.latency, max(d, 0))
}

// Outage schedules an outage for server-clock times in [from, to). A zero
// from means "since forever", a zero to "until further notice"; both zero
// cancel the schedule.
func (f *Faults) Outage(from, to time.Time) {
	f.mu.Lock()
	f.outageFrom, f.outageTo = from, to
	f.mu.Unlock()
}

// SetDown starts (true) or ends (false) an outage now, independently of the
// schedule.
func (f *Faults) SetDown(down bool) {
	locked(f, &f.down, down)
}

// SetOutageStatus makes outages answer HTTP 503 ServiceUnavailableException
// (true) instead of closing the connection (false, the default).
func (f *Faults) SetOutageStatus(http503 bool) {
	locked(f, &f.outage503, http503)
}

// SetOps limits injected throttling, 5xx errors and connection faults (rates
// and the Next counters, except OmitRequestIDNext) to the named operations;
// no names means every operation. Quotas are not affected.
func (f *Faults) SetOps(ops ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(ops) == 0 {
		f.ops = nil
		return
	}
	f.ops = make(map[string]bool, len(ops))
	for _, op := range ops {
		f.ops[op] = true
	}
}

// ThrottleNext makes the next n eligible requests fail with
// ThrottlingException, regardless of the rates (deterministic, for tests).
func (f *Faults) ThrottleNext(n int) {
	locked(f, &f.throttleNext, max(n, 0))
}

// FailNext makes the next n eligible requests fail with
// ServiceUnavailableException (HTTP 500), after any ThrottleNext ones.
func (f *Faults) FailNext(n int) {
	locked(f, &f.failNext, max(n, 0))
}

// Reset removes every fault (rates, latency, outage, Next counters, op
// filter, quotas).
func (f *Faults) Reset() {
	f.mu.Lock()
	f.throttleRate, f.errorRate, f.latency = 0, 0, 0
	f.outageFrom, f.outageTo = time.Time{}, time.Time{}
	f.down, f.outage503 = false, false
	f.ops = nil
	f.throttleNext, f.failNext = 0, 0
	f.resetNext, f.dropNext, f.noIDNext = 0, 0, 0
	f.quotas = nil
	f.mu.Unlock()
}

// outage reports whether the server is down now and whether it should answer
// 503 rather than close the connection.
func (f *Faults) outage() (down, http503 bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return true, f.outage503
	}
	if f.outageFrom.IsZero() && f.outageTo.IsZero() {
		return false, false
	}
	now := f.now()
	if (f.outageFrom.IsZero() || !now.Before(f.outageFrom)) && (f.outageTo.IsZero() || now.Before(f.outageTo)) {
		return true, f.outage503
	}
	return false, false
}

func (f *Faults) delay() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latency
}

// inject decides whether op fails now: ThrottlingException, 5xx, or nil.
func (f *Faults) inject(op string) *apiError {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b := f.quotas[op]; b != nil {
		now := f.now()
		if el := now.Sub(b.last).Seconds(); el > 0 {
			b.tokens = min(max(1, b.rate), b.tokens+el*b.rate)
			b.last = now
		}
		if b.tokens < 1 {
			return errThrottled()
		}
		b.tokens--
	}
	if f.ops != nil && !f.ops[op] {
		return nil
	}
	if takeOne(&f.throttleNext) {
		return errThrottled()
	}
	if takeOne(&f.failNext) {
		return errUnavailable()
	}
	if f.throttleRate > 0 && f.rng.Float64() < f.throttleRate {
		return errThrottled()
	}
	if f.errorRate > 0 && f.rng.Float64() < f.errorRate {
		return errUnavailable()
	}
	return nil
}

// locked stores v in *field, a field of f, under f's lock.
func locked[T any](f *Faults, field *T, v T) {
	f.mu.Lock()
	*field = v
	f.mu.Unlock()
}

// takeOne uses up one of a Next counter: it reports whether *n was positive
// and, if so, decrements it. The caller holds f.mu.
func takeOne(n *int) bool {
	if *n > 0 {
		*n--
		return true
	}
	return false
}

func clamp01(p float64) float64 {
	switch {
	case p < 0 || p != p:
		return 0
	case p > 1:
		return 1
	}
	return p
}
