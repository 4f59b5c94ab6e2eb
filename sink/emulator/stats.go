package emulator

import (
	"sync"
	"sync/atomic"
)

// Stats is a snapshot of the emulator's counters since New. Maps are copies.
type Stats struct {
	// Requests counts requests by operation name (unknown targets under
	// "Unknown"), including failed ones.
	Requests map[string]int64
	// Errors counts error responses by error code ("InvalidParameterException",
	// "ThrottlingException", ...), injected faults included.
	Errors map[string]int64
	// EventsAccepted and BytesAccepted count stored (or, with CountOnly,
	// counted) events and their message UTF-8 bytes.
	EventsAccepted int64
	BytesAccepted  int64
	// QuotaBytesAccepted is BytesAccepted plus 26 per event (the batch-size
	// accounting of PutLogEvents).
	QuotaBytesAccepted int64
	// RejectedEvents counts events rejected individually in successful
	// PutLogEvents responses, by reason: "tooOld", "tooNew", "expired".
	RejectedEvents map[string]int64
	// Throttled and ServerErrors count ThrottlingException (injected or over
	// a quota) and ServiceUnavailableException responses (injected, or 503
	// outage answers); OutageRequests counts requests refused during an
	// outage.
	Throttled      int64
	ServerErrors   int64
	OutageRequests int64
	// ConnectionFaults counts connections closed by ResetNext and
	// DropResponseNext.
	ConnectionFaults int64
	// Subscription delivery, mirroring AWS's ForwardedLogEvents,
	// ForwardedBytes and DeliveryErrors metrics: Payloads counts DATA_MESSAGE
	// and CONTROL_MESSAGE payloads built, Deliveries those POSTed
	// successfully, ForwardedLogEvents their events, ForwardedBytes their
	// HTTP bodies (base64 of the gzipped JSON, so compressed size × 4/3),
	// DeliveryErrors those that failed every attempt, and DeliveryDropped
	// those dropped because the delivery queue was full.
	Payloads           int64
	ForwardedLogEvents int64
	ForwardedBytes     int64
	Deliveries         int64
	DeliveryErrors     int64
	DeliveryDropped    int64
}

// counters are the live counters behind Stats.
type counters struct {
	eventsAccepted, bytesAccepted, quotaBytes atomic.Int64
	tooOld, tooNew, expired                   atomic.Int64
	throttled, serverErrors, outage           atomic.Int64
	connFaults                                atomic.Int64
	payloads, forwardedEvents, forwardedBytes atomic.Int64
	deliveries, deliveryErrors, dropped       atomic.Int64

	mu       sync.Mutex
	requests map[string]*atomic.Int64
	errors   map[string]int64
}

func newCounters() *counters {
	c := &counters{requests: make(map[string]*atomic.Int64), errors: make(map[string]int64)}
	for _, o := range operations {
		c.requests[o.name] = new(atomic.Int64)
	}
	c.requests[opUnknown] = new(atomic.Int64)
	return c
}

// request counts one request for op; the map is fixed after newCounters, so
// reads need no lock.
func (c *counters) request(op string) {
	if n, ok := c.requests[op]; ok {
		n.Add(1)
		return
	}
	c.requests[opUnknown].Add(1)
}

func (c *counters) error(code string) {
	c.mu.Lock()
	c.errors[code]++
	c.mu.Unlock()
	switch code {
	case CodeThrottling:
		c.throttled.Add(1)
	case CodeServiceUnavailable:
		c.serverErrors.Add(1)
	}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	c := s.stats
	st := Stats{
		Requests:           make(map[string]int64),
		Errors:             make(map[string]int64),
		EventsAccepted:     c.eventsAccepted.Load(),
		BytesAccepted:      c.bytesAccepted.Load(),
		QuotaBytesAccepted: c.quotaBytes.Load(),
		RejectedEvents: map[string]int64{
			"tooOld":  c.tooOld.Load(),
			"tooNew":  c.tooNew.Load(),
			"expired": c.expired.Load(),
		},
		Throttled:          c.throttled.Load(),
		ServerErrors:       c.serverErrors.Load(),
		OutageRequests:     c.outage.Load(),
		ConnectionFaults:   c.connFaults.Load(),
		Payloads:           c.payloads.Load(),
		ForwardedLogEvents: c.forwardedEvents.Load(),
		ForwardedBytes:     c.forwardedBytes.Load(),
		Deliveries:         c.deliveries.Load(),
		DeliveryErrors:     c.deliveryErrors.Load(),
		DeliveryDropped:    c.dropped.Load(),
	}
	for op, n := range c.requests {
		if v := n.Load(); v > 0 {
			st.Requests[op] = v
		}
	}
	c.mu.Lock()
	for code, n := range c.errors {
		st.Errors[code] = n
	}
	c.mu.Unlock()
	return st
}
