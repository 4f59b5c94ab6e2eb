package buffer

import (
	"math"
	"time"
)

// retryPolicy is the per-chunk form of Fluentd v1's retry state machine
// (fluent/fluentd v1.16 lib/fluent/plugin_helper/retry_state.rb; parameters in
// https://docs.fluentd.org/configuration/buffer-section#retries-parameters): the first retry
// waits retry_wait; retry n+1 waits R(min(retry_wait·base^n,
// retry_max_interval)) where R multiplies by U(0.875, 1.125) when randomised
// (the cap applies before the jitter, as in v1); a periodic policy waits
// R(retry_wait) each time. Unlike Fluentd, each chunk has its own state, and
// giving up sends only that chunk to the dead-letter directory.
type retryPolicy struct {
	periodic  bool
	wait      time.Duration
	base      float64
	max       time.Duration // 0: no cap
	timeout   time.Duration
	maxTimes  int // < 0: no limit
	forever   bool
	randomize bool
}

// jitterWidth is Fluentd's retry_randomize_width: a randomised delay is
// multiplied by a factor in [1-w, 1+w).
const jitterWidth = 0.125

// maxDelay bounds a delay so base^n cannot overflow time.Duration.
const maxDelay = 100 * 365 * 24 * time.Hour

func newRetryPolicy(c Config) retryPolicy {
	p := retryPolicy{
		periodic:  c.RetryType == RetryPeriodic,
		wait:      c.RetryWait,
		base:      c.RetryExponentialBackoffBase,
		max:       c.RetryMaxInterval,
		timeout:   c.RetryTimeout,
		maxTimes:  -1,
		forever:   c.RetryForever,
		randomize: *c.RetryRandomize,
	}
	if c.RetryMaxTimes != nil {
		p.maxTimes = *c.RetryMaxTimes
	}
	return p
}

// delay returns the wait before retry number n (1-based: n = 1 follows the
// first failure). rnd is a uniform random number in [0, 1).
func (p retryPolicy) delay(n int, rnd float64) time.Duration {
	if n <= 1 {
		return p.wait
	}
	d := float64(p.wait)
	if !p.periodic {
		d *= math.Pow(p.base, float64(n-1))
		if p.max > 0 && d > float64(p.max) {
			d = float64(p.max)
		}
	}
	if p.randomize {
		d *= 1 - jitterWidth + 2*jitterWidth*rnd
	}
	if d > float64(maxDelay) || math.IsNaN(d) {
		return maxDelay
	}
	return time.Duration(d)
}

// next decides what follows failure number n (1-based) of a chunk whose
// first failure was at first: the time of the next attempt, or giveUp when
// the retry budget is spent (retry_max_times retries done, or the attempt
// that failed was made at or after first + retry_timeout).
func (p retryPolicy) next(n int, first, now time.Time, rnd float64) (at time.Time, giveUp bool) {
	deadline := first.Add(p.timeout)
	if !p.forever {
		if p.maxTimes >= 0 && n-1 >= p.maxTimes {
			return time.Time{}, true
		}
		if !now.Before(deadline) {
			return time.Time{}, true
		}
	}
	at = now.Add(p.delay(n, rnd))
	if !p.forever && at.After(deadline) {
		at = deadline
	}
	return at, false
}
