package cloudwatch

import (
	"logship/buffer"
)

// RequestPlan describes one PutLogEvents request the sink would send, for
// `logship replay --dry-run`.
type RequestPlan struct {
	Key buffer.StreamKey
	// Events and Bytes (UTF-8 message bytes + EventOverhead each, as AWS
	// counts the batch) of the request.
	Events, Bytes int
	// First and Last are the request's first and last event times in
	// milliseconds since the epoch.
	First, Last int64
	// Split counts events beyond the first of oversized messages; Truncated
	// and Sanitised count records truncated or given U+FFFD.
	Split, Truncated, Sanitised int
	// DroppedTooOld, DroppedTooNew and DroppedEmpty count records dropped
	// before this request (AWS would reject them).
	DroppedTooOld, DroppedTooNew, DroppedEmpty int
}

// Plan returns the requests Send would make for recs (one destination), at
// time now (Unix nanoseconds), without sending anything. recs is sorted in
// place as Send sorts it. Records dropped after the last request are
// reported in a final RequestPlan with no events.
func Plan(cfg Config, recs []buffer.Record, now int64) []RequestPlan {
	cfg = cfg.withDefaults()
	sortRecords(recs)
	var p plan
	cut(recs, millis(now), limitsFor(cfg), &p)
	var key buffer.StreamKey
	if len(recs) > 0 {
		key = recs[0].Key
	}
	out := make([]RequestPlan, 0, len(p.requests)+1)
	for _, r := range p.requests {
		rp := RequestPlan{Key: key, Events: r.end - r.start, Bytes: r.bytes, Split: r.split,
			Truncated: r.truncated, Sanitised: r.sanitised,
			DroppedTooOld: r.drops.tooOld, DroppedTooNew: r.drops.tooNew, DroppedEmpty: r.drops.empty}
		if r.end > r.start {
			rp.First, rp.Last = p.events[r.start].ts, p.events[r.end-1].ts
		}
		out = append(out, rp)
	}
	if t := p.trailing; t != (drops{}) {
		out = append(out, RequestPlan{Key: key, DroppedTooOld: t.tooOld, DroppedTooNew: t.tooNew, DroppedEmpty: t.empty})
	}
	return out
}
