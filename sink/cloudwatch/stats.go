package cloudwatch

import (
	"maps"
	"sync/atomic"
)

// Stats is a snapshot of a CloudWatch sink's counters. Every count is since
// New. Nothing the sink receives leaves it uncounted: each record is sent
// (Events), dropped locally (Dropped), rejected by AWS (Rejected) or still in
// a chunk the buffer holds.
type Stats struct {
	// Requests counts successful PutLogEvents calls.
	Requests uint64
	// Events counts the events those requests carried (including the ones
	// AWS then rejected: see Rejected).
	Events uint64
	// PayloadBytes is the sum of their UTF-8 message bytes; QuotaBytes adds
	// EventOverhead per event, as AWS counts the batch size. Billing is on
	// ingested bytes: PayloadBytes is the lower bound, QuotaBytes the upper
	// (https://aws.amazon.com/cloudwatch/pricing/, "Data Ingestion").
	PayloadBytes uint64
	QuotaBytes   uint64
	// Split counts the events beyond the first that oversized messages were
	// split into; Truncated counts messages cut to one event; Sanitised
	// counts messages whose invalid UTF-8 was replaced with U+FFFD.
	Split     uint64
	Truncated uint64
	Sanitised uint64
	// Dropped counts records left out locally, by reason.
	Dropped DropStats
	// Rejected counts events AWS rejected (rejectedLogEventsInfo), by reason.
	Rejected RejectStats
	// Errors counts failed API calls by class; the buffer retries the chunk
	// for every class but Permanent (and NotFound without auto-create).
	Errors ErrorStats
	// GroupsCreated and StreamsCreated count successful creations;
	// RetentionErrors counts PutRetentionPolicy failures (logged, and
	// retried on the next Send for that group unless AWS called the value
	// invalid).
	GroupsCreated   uint64
	StreamsCreated  uint64
	RetentionErrors uint64
	// Groups holds per log group totals (the billing dimension).
	Groups map[string]GroupStats
}

// DropStats counts records the sink dropped before sending.
type DropStats struct {
	// TooOld and TooNew count events outside AWS's 14-day / 2-hour window
	// (widened by WindowMargin), which AWS would reject.
	TooOld uint64
	TooNew uint64
	// Empty counts records with an empty message, which AWS rejects.
	Empty uint64
}

// RejectStats counts events AWS rejected in successful requests.
type RejectStats struct {
	TooOld  uint64 // older than 14 days
	TooNew  uint64 // more than 2 hours in the future
	Expired uint64 // older than the group's retention
}

// ErrorStats counts failed API calls (PutLogEvents and the Create calls) by
// class (see errors.go).
type ErrorStats struct {
	Throttled uint64
	Server    uint64
	Network   uint64
	Auth      uint64
	NotFound  uint64
	Permanent uint64
	Unknown   uint64
}

// GroupStats are one log group's totals.
type GroupStats struct {
	Events       uint64
	PayloadBytes uint64
	QuotaBytes   uint64
}

// counters are the live counters behind Stats.
type counters struct {
	requests, events, payload, quota       atomic.Uint64
	split, truncated, sanitised            atomic.Uint64
	dropOld, dropNew, dropEmpty            atomic.Uint64
	rejOld, rejNew, rejExpired             atomic.Uint64
	errors                                 [classUnknown + 1]atomic.Uint64
	groupsCreated, streamsCreated, retErrs atomic.Uint64
}

// formatCounters are the live counters behind FormatStats.
type formatCounters struct {
	formatted, noGroup, noStream, emptyMessage, truncated, split, pieces atomic.Uint64
}

func (c *counters) drops(d drops) {
	c.dropOld.Add(uint64(d.tooOld))
	c.dropNew.Add(uint64(d.tooNew))
	c.dropEmpty.Add(uint64(d.empty))
}

// Stats returns a snapshot of the counters.
func (c *CloudWatch) Stats() Stats {
	s := &c.stats
	e := &s.errors
	st := Stats{
		Requests:     s.requests.Load(),
		Events:       s.events.Load(),
		PayloadBytes: s.payload.Load(),
		QuotaBytes:   s.quota.Load(),
		Split:        s.split.Load(),
		Truncated:    s.truncated.Load(),
		Sanitised:    s.sanitised.Load(),
		Dropped:      DropStats{TooOld: s.dropOld.Load(), TooNew: s.dropNew.Load(), Empty: s.dropEmpty.Load()},
		Rejected:     RejectStats{TooOld: s.rejOld.Load(), TooNew: s.rejNew.Load(), Expired: s.rejExpired.Load()},
		Errors: ErrorStats{
			Throttled: e[classThrottled].Load(),
			Server:    e[classServer].Load(),
			Network:   e[classNetwork].Load(),
			Auth:      e[classAuth].Load(),
			NotFound:  e[classNotFound].Load(),
			Permanent: e[classPermanent].Load(),
			Unknown:   e[classUnknown].Load(),
		},
		GroupsCreated:   s.groupsCreated.Load(),
		StreamsCreated:  s.streamsCreated.Load(),
		RetentionErrors: s.retErrs.Load(),
	}
	c.mu.Lock()
	st.Groups = maps.Clone(c.groups)
	c.mu.Unlock()
	if st.Groups == nil {
		st.Groups = map[string]GroupStats{}
	}
	return st
}
