package emulator

import (
	"fmt"
	"strconv"
	"time"
)

// PutLogEvents limits, from the service model documentation of PutLogEvents
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html;
// design.md, "PutLogEvents").
const (
	// maxBatchEvents is the most events one request may carry.
	maxBatchEvents = 10000
	// maxBatchBytes is the batch size limit, counted as the sum of each
	// message's UTF-8 bytes plus perEventOverhead.
	maxBatchBytes = 1048576
	// perEventOverhead is the bytes added per event in the size accounting.
	perEventOverhead = 26
	// maxFuture: events more than 2 hours in the future are rejected.
	maxFuture = 2 * time.Hour
	// maxAge: events older than 14 days are rejected.
	maxAge = 14 * 24 * time.Hour
	// maxSpan: the accepted events of one request may span at most 24 hours.
	// Exactly 24 hours is allowed ("cannot span more than 24 hours"; the
	// boundary is undocumented; design.md, "PutLogEvents").
	maxSpan = 24 * time.Hour
)

type inputLogEvent struct {
	Timestamp *int64  `json:"timestamp"`
	Message   *string `json:"message"`
}

type putLogEventsInput struct {
	LogGroupName  *string         `json:"logGroupName"`
	LogStreamName *string         `json:"logStreamName"`
	LogEvents     []inputLogEvent `json:"logEvents"`
	SequenceToken *string         `json:"sequenceToken"` // ignored since 2023
}

type rejectedLogEventsInfo struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

type putLogEventsOutput struct {
	NextSequenceToken     string                 `json:"nextSequenceToken,omitempty"`
	RejectedLogEventsInfo *rejectedLogEventsInfo `json:"rejectedLogEventsInfo,omitempty"`
}

// putLogEvents implements the check order of design.md, "PutLogEvents": validate
// the shape (1), find the group (2) and stream (3), check order (4), event
// size (5) and batch size (6), classify too-old/expired/too-new events (7),
// check the 24 h span of the rest (8), inject faults (9), store (10).
func (s *Server) putLogEvents(body []byte) (any, *apiError) {
	in, e := decodePut(body)
	if e != nil {
		return nil, e
	}

	// 1. Shape and member constraints.
	var v validation
	v.groupName(in.group, "logGroupName")
	v.streamName(in.stream, "logStreamName")
	switch n := len(in.events); {
	case !in.eventsSet:
		v.null("logEvents")
	case n < 1:
		v.fail("[]", "logEvents", "Member must have length greater than or equal to 1")
	case n > maxBatchEvents:
		v.fail(fmt.Sprintf("[%d log events]", n), "logEvents", fmt.Sprintf("Member must have length less than or equal to %d", maxBatchEvents))
	}
	for i := range in.events {
		ev := &in.events[i]
		if !ev.hasTS {
			v.null("logEvents." + strconv.Itoa(i+1) + ".member.timestamp")
		} else if ev.ts < 0 {
			v.fail(strconv.FormatInt(ev.ts, 10), "logEvents."+strconv.Itoa(i+1)+".member.timestamp",
				"Member must have value greater than or equal to 0")
		}
		if !ev.hasMsg {
			v.null("logEvents." + strconv.Itoa(i+1) + ".member.message")
		} else if len(ev.msg) == 0 {
			v.fail("", "logEvents."+strconv.Itoa(i+1)+".member.message", "Member must have length greater than or equal to 1")
		}
	}
	if e := v.err(); e != nil {
		return nil, e
	}
	group, stream := *in.group, *in.stream
	events := in.events

	// 2–3. The group and stream exist.
	retention, e := s.streamRetention(group, stream)
	if e != nil {
		return nil, e
	}

	// 4. Chronological order (equal timestamps are allowed).
	for i := 1; i < len(events); i++ {
		if events[i].ts < events[i-1].ts {
			return nil, errInvalidParameter(msgChronological)
		}
	}

	// 5–6. Per-event and batch size: UTF-8 bytes of the decoded message + 26.
	total := 0
	for i := range events {
		size := len(events[i].msg) + perEventOverhead
		if size > s.cfg.MaxEventSize {
			return nil, errInvalidParameter(fmt.Sprintf("Log event too large: %d bytes exceeds limit of %d", size, s.cfg.MaxEventSize))
		}
		total += size
	}
	if total > maxBatchBytes {
		return nil, errInvalidParameter(fmt.Sprintf("Upload too large: %d bytes exceeds limit of %d", total, maxBatchBytes))
	}

	// 7. Classify: too old (prefix), expired by retention (next), too new
	// (suffix); the batch is chronological, so each class is contiguous.
	// tooOldLogEventEndIndex is the exclusive end of the too-old prefix (1
	// too-old event gives 1, as AWS answered in aws-for-fluent-bit#523);
	// expiredLogEventEndIndex the exclusive end of the expired range that
	// follows it; tooNewLogEventStartIndex the inclusive start of the
	// too-new suffix. How AWS combines tooOld and expired is undocumented
	// (design.md, "PutLogEvents"). The window edges (exactly 14 days old,
	// exactly 2 hours ahead) are accepted.
	now := s.now()
	oldLimit := now.Add(-maxAge).UnixMilli()
	expLimit := oldLimit
	if retention > 0 {
		expLimit = max(oldLimit, now.Add(-time.Duration(retention)*24*time.Hour).UnixMilli())
	}
	newLimit := now.Add(maxFuture).UnixMilli()
	tooOldEnd := 0
	for tooOldEnd < len(events) && events[tooOldEnd].ts < oldLimit {
		tooOldEnd++
	}
	expiredEnd := tooOldEnd
	for expiredEnd < len(events) && events[expiredEnd].ts < expLimit {
		expiredEnd++
	}
	tooNewStart := len(events)
	for tooNewStart > expiredEnd && events[tooNewStart-1].ts > newLimit {
		tooNewStart--
	}
	valid := events[expiredEnd:tooNewStart]

	// 8. Span of the accepted events.
	if len(valid) > 1 && valid[len(valid)-1].ts-valid[0].ts > maxSpan.Milliseconds() {
		return nil, errInvalidParameter(msgSpan24h)
	}

	// 9. Injected faults.
	if e := s.faults.inject(opPutLogEvents); e != nil {
		return nil, e
	}

	// 10. Store.
	token, batch, e := s.store(group, stream, valid, now.UnixMilli())
	if e != nil {
		return nil, e
	}
	s.stats.tooOld.Add(int64(tooOldEnd))
	s.stats.expired.Add(int64(expiredEnd - tooOldEnd))
	s.stats.tooNew.Add(int64(len(events) - tooNewStart))
	if batch != nil {
		s.fanOut(batch)
	}

	var out putLogEventsOutput
	if !s.cfg.OmitSequenceToken {
		out.NextSequenceToken = sequenceToken(token)
	}
	if tooOldEnd > 0 || expiredEnd > tooOldEnd || tooNewStart < len(events) {
		ri := &rejectedLogEventsInfo{}
		if tooOldEnd > 0 {
			ri.TooOldLogEventEndIndex = &tooOldEnd
		}
		if expiredEnd > tooOldEnd {
			ri.ExpiredLogEventEndIndex = &expiredEnd
		}
		if tooNewStart < len(events) {
			ri.TooNewLogEventStartIndex = &tooNewStart
		}
		out.RejectedLogEventsInfo = ri
	}
	return out, nil
}

// streamRetention returns the retention of the group holding the stream, or
// ResourceNotFoundException for a missing group or stream.
func (s *Server) streamRetention(group, stream string) (int32, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.groups[group]
	if !ok {
		return 0, errNotFound(msgGroupNotFound)
	}
	if _, ok := g.streams[stream]; !ok {
		return 0, errNotFound(msgStreamNotFound)
	}
	return g.retentionDays, nil
}

// store appends the accepted events to the stream and returns the new upload
// sequence number and, when the group has subscription filters, the batch to
// deliver.
func (s *Server) store(group, stream string, valid []putEvent, nowMs int64) (uint64, *subscriptionBatch, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.groups[group]
	if !ok {
		return 0, nil, errNotFound(msgGroupNotFound)
	}
	st, ok := g.streams[stream]
	if !ok {
		return 0, nil, errNotFound(msgStreamNotFound)
	}
	s.st.requests++
	st.uploadToken = s.st.requests
	s.dirty = true
	if len(valid) == 0 {
		return st.uploadToken, nil, nil
	}

	var batch *subscriptionBatch
	if len(g.filters) > 0 {
		batch = &subscriptionBatch{group: group, stream: stream, filters: g.sortedFilters()}
	}
	var bytes int64
	if !s.cfg.CountOnly && cap(st.events)-len(st.events) < len(valid) {
		grown := make([]storedEvent, len(st.events), len(st.events)+max(len(valid), len(st.events)/2))
		copy(grown, st.events)
		st.events = grown
	}
	for i := range valid {
		s.st.seq++
		ts := valid[i].ts
		bytes += int64(len(valid[i].msg))
		if !s.cfg.CountOnly || batch != nil {
			ev := storedEvent{ts: ts, ingestion: nowMs, seq: s.st.seq, msg: string(valid[i].msg)}
			if !s.cfg.CountOnly {
				st.events = append(st.events, ev)
			}
			if batch != nil {
				batch.events = append(batch.events, ev)
			}
		}
		if !st.hasEvents || ts < st.firstEvent {
			st.firstEvent = ts
		}
		if !st.hasEvents || ts > st.lastEvent {
			st.lastEvent = ts
		}
		st.hasEvents = true
	}
	st.lastIngestion = nowMs
	st.eventCount += int64(len(valid))
	st.storedBytes += bytes
	g.storedBytes += bytes
	s.stats.eventsAccepted.Add(int64(len(valid)))
	s.stats.bytesAccepted.Add(bytes)
	s.stats.quotaBytes.Add(bytes + int64(len(valid))*perEventOverhead)
	return st.uploadToken, batch, nil
}
