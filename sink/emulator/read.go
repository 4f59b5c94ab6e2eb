package emulator

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Read operations: GetLogEvents and FilterLogEvents (API_GetLogEvents.html,
// API_FilterLogEvents.html in
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/;
// design.md, "Read side"), and the Events accessor for tests.

// maxReadBytes caps one read response like AWS's "as many log events as can
// fit in a response size of 1 MB" (message bytes + 26 per event).
const maxReadBytes = 1 << 20

// maxReadLimit is the largest limit GetLogEvents and FilterLogEvents accept.
const maxReadLimit = 10000

// Events returns a copy of the stored events of a stream, in stored order
// (nil for a missing stream, and always nil with CountOnly).
func (s *Server) Events(group, stream string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.groups[group]
	if !ok {
		return nil
	}
	st, ok := g.streams[stream]
	if !ok || len(st.events) == 0 {
		return nil
	}
	out := make([]Event, len(st.events))
	for i, ev := range st.events {
		out[i] = ev.event()
	}
	return out
}

type getLogEventsInput struct {
	LogGroupName       *string `json:"logGroupName"`
	LogGroupIdentifier *string `json:"logGroupIdentifier"`
	LogStreamName      *string `json:"logStreamName"`
	StartTime          *int64  `json:"startTime"`
	EndTime            *int64  `json:"endTime"`
	NextToken          *string `json:"nextToken"`
	Limit              *int32  `json:"limit"`
	StartFromHead      *bool   `json:"startFromHead"`
	Unmask             *bool   `json:"unmask"`
}

type outputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

type getLogEventsOutput struct {
	Events            []outputLogEvent `json:"events"`
	NextForwardToken  string           `json:"nextForwardToken"`
	NextBackwardToken string           `json:"nextBackwardToken"`
}

// GetLogEvents tokens are "f/<56 digits>" and "b/<56 digits>" (the shape of
// AWS's tokens), holding a position in the stream: forward tokens read from
// it, backward tokens read before it. At the end of the stream the same
// forward token comes back.
func readToken(dir byte, pos int) string {
	return fmt.Sprintf("%c/%056d", dir, pos)
}

func parseReadToken(tok string) (byte, int, bool) {
	if len(tok) != 58 || (tok[0] != 'f' && tok[0] != 'b') || tok[1] != '/' {
		return 0, 0, false
	}
	n, err := strconv.ParseInt(tok[2:], 10, 64)
	if err != nil || n < 0 {
		return 0, 0, false
	}
	return tok[0], int(n), true
}

func (in *getLogEventsInput) validate(v *validation) {
	v.streamName(in.LogStreamName, "logStreamName")
	v.nextToken(in.NextToken)
	v.limit(in.Limit, "limit", maxReadLimit)
	if in.StartTime != nil {
		v.intRange(*in.StartTime, "startTime", 0, 1<<63-1)
	}
	if in.EndTime != nil {
		v.intRange(*in.EndTime, "endTime", 0, 1<<63-1)
	}
	v.groupRef(in.LogGroupName, in.LogGroupIdentifier)
}

func (s *Server) getLogEvents(in *getLogEventsInput) (any, *apiError) {
	group, e := groupRefName(in.LogGroupName, in.LogGroupIdentifier)
	if e != nil {
		return nil, e
	}
	var dir byte
	pos := -1
	if in.NextToken != nil {
		var ok bool
		if dir, pos, ok = parseReadToken(*in.NextToken); !ok {
			return nil, errInvalidParameter(msgInvalidToken)
		}
	}
	limit := maxReadLimit
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	inRange := func(ts int64) bool {
		return (in.StartTime == nil || ts >= *in.StartTime) && (in.EndTime == nil || ts < *in.EndTime)
	}
	return s.inGroup(opGetLogEvents, group, func(g *logGroup) (any, *apiError) {
		st, ok := g.streams[*in.LogStreamName]
		if !ok {
			return nil, errNotFound(msgStreamNotFound)
		}
		evs := st.events
		n := len(evs)
		if pos > n {
			pos = n
		}
		if pos < 0 {
			if in.StartFromHead != nil && *in.StartFromHead {
				dir, pos = 'f', 0
			} else {
				dir, pos = 'b', n
			}
		}
		out := getLogEventsOutput{Events: []outputLogEvent{}}
		bytes := 0
		if dir == 'f' {
			i := pos
			for ; i < n && len(out.Events) < limit; i++ {
				ev := evs[i]
				if !inRange(ev.ts) {
					continue
				}
				if bytes += len(ev.msg) + perEventOverhead; bytes > maxReadBytes && len(out.Events) > 0 {
					break
				}
				out.Events = append(out.Events, outputLogEvent{Timestamp: ev.ts, Message: ev.msg, IngestionTime: ev.ingestion})
			}
			out.NextForwardToken, out.NextBackwardToken = readToken('f', i), readToken('b', pos)
			return out, nil
		}
		i := pos
		for ; i > 0 && len(out.Events) < limit; i-- {
			ev := evs[i-1]
			if !inRange(ev.ts) {
				continue
			}
			if bytes += len(ev.msg) + perEventOverhead; bytes > maxReadBytes && len(out.Events) > 0 {
				break
			}
			out.Events = append(out.Events, outputLogEvent{Timestamp: ev.ts, Message: ev.msg, IngestionTime: ev.ingestion})
		}
		for a, b := 0, len(out.Events)-1; a < b; a, b = a+1, b-1 {
			out.Events[a], out.Events[b] = out.Events[b], out.Events[a]
		}
		out.NextForwardToken, out.NextBackwardToken = readToken('f', pos), readToken('b', i)
		return out, nil
	})
}

type filterLogEventsInput struct {
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupIdentifier  *string  `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       *string  `json:"filterPattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int32   `json:"limit"`
	StartFromHead       *bool    `json:"startFromHead"`
	Interleaved         *bool    `json:"interleaved"`
	Unmask              *bool    `json:"unmask"`
}

type filteredLogEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

type filterLogEventsOutput struct {
	Events             []filteredLogEvent `json:"events"`
	SearchedLogStreams []struct{}         `json:"searchedLogStreams"`
	NextToken          string             `json:"nextToken,omitempty"`
}

// filterKey orders FilterLogEvents results: timestamp, then ingestion time,
// then acceptance order (AWS: "PutLogEvents request id").
type filterKey struct {
	ts, ingestion int64
	seq           uint64
}

func (a filterKey) less(b filterKey) bool {
	if a.ts != b.ts {
		return a.ts < b.ts
	}
	if a.ingestion != b.ingestion {
		return a.ingestion < b.ingestion
	}
	return a.seq < b.seq
}

func (in *filterLogEventsInput) validate(v *validation) {
	if in.LogStreamNames != nil && (len(in.LogStreamNames) < 1 || len(in.LogStreamNames) > 100) {
		v.fail("["+strings.Join(in.LogStreamNames, ", ")+"]", "logStreamNames", "Member must have length between 1 and 100")
	}
	v.optNamePrefix(in.LogStreamNamePrefix, "logStreamNamePrefix", streamNamePattern, validStreamChars)
	if in.FilterPattern != nil {
		v.maxLen(*in.FilterPattern, "filterPattern", maxFilterPatternLen)
	}
	v.nextToken(in.NextToken)
	v.limit(in.Limit, "limit", maxReadLimit)
	v.groupRef(in.LogGroupName, in.LogGroupIdentifier)
}

func (s *Server) filterLogEvents(in *filterLogEventsInput) (any, *apiError) {
	group, e := groupRefName(in.LogGroupName, in.LogGroupIdentifier)
	if e != nil {
		return nil, e
	}
	if in.LogStreamNames != nil && in.LogStreamNamePrefix != nil {
		return nil, errInvalidParameter(msgStreamsXorPfx)
	}
	var m matcher
	if in.FilterPattern != nil {
		var ok bool
		if m, ok = parseFilterPattern(*in.FilterPattern); !ok {
			return nil, errInvalidParameter(msgUnsupportedPatn)
		}
	}
	var after filterKey
	if in.NextToken != nil {
		key, e := decodeToken('e', in.NextToken)
		if e != nil {
			return nil, e
		}
		if _, err := fmt.Sscanf(key, "%d:%d:%d", &after.ts, &after.ingestion, &after.seq); err != nil {
			return nil, errInvalidParameter(msgInvalidToken)
		}
	}
	limit := maxReadLimit
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	return s.inGroup(opFilterLogEvents, group, func(g *logGroup) (any, *apiError) {
		var names map[string]bool
		if in.LogStreamNames != nil {
			names = make(map[string]bool, len(in.LogStreamNames))
			for _, n := range in.LogStreamNames {
				names[n] = true
			}
		}
		type hit struct {
			key    filterKey
			stream string
			msg    string
		}
		var hits []hit
		for _, st := range g.streams {
			if names != nil && !names[st.name] {
				continue
			}
			if in.LogStreamNamePrefix != nil && !strings.HasPrefix(st.name, *in.LogStreamNamePrefix) {
				continue
			}
			for _, ev := range st.events {
				k := filterKey{ev.ts, ev.ingestion, ev.seq}
				if in.NextToken != nil && !after.less(k) {
					continue
				}
				if in.StartTime != nil && ev.ts < *in.StartTime || in.EndTime != nil && ev.ts >= *in.EndTime {
					continue
				}
				if !m.match(ev.msg) {
					continue
				}
				hits = append(hits, hit{k, st.name, ev.msg})
			}
		}
		sort.Slice(hits, func(i, j int) bool { return hits[i].key.less(hits[j].key) })
		out := filterLogEventsOutput{Events: []filteredLogEvent{}, SearchedLogStreams: []struct{}{}}
		bytes := 0
		for i, h := range hits {
			bytes += len(h.msg) + perEventOverhead
			if len(out.Events) == limit || (bytes > maxReadBytes && len(out.Events) > 0) {
				last := hits[i-1].key
				out.NextToken = encodeToken('e', fmt.Sprintf("%d:%d:%d", last.ts, last.ingestion, last.seq))
				break
			}
			out.Events = append(out.Events, filteredLogEvent{
				LogStreamName: h.stream,
				Timestamp:     h.key.ts,
				Message:       h.msg,
				IngestionTime: h.key.ingestion,
				EventID:       eventID(h.key.ts, h.key.seq),
			})
		}
		return out, nil
	})
}
