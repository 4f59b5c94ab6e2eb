package emulator

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Log stream operations: CreateLogStream, DeleteLogStream,
// DescribeLogStreams
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogStreams.html).

type streamInput struct {
	LogGroupName  *string `json:"logGroupName"`
	LogStreamName *string `json:"logStreamName"`
}

func (in *streamInput) validate(v *validation) {
	v.groupName(in.LogGroupName, "logGroupName")
	v.streamName(in.LogStreamName, "logStreamName")
}

func (s *Server) createLogStream(in *streamInput) (any, *apiError) {
	return s.inGroup(opCreateLogStream, *in.LogGroupName, func(g *logGroup) (any, *apiError) {
		if _, ok := g.streams[*in.LogStreamName]; ok {
			return nil, errExists(msgStreamExists)
		}
		g.streams[*in.LogStreamName] = &logStream{name: *in.LogStreamName, creationTime: s.nowMs()}
		s.dirty = true
		return nil, nil
	})
}

func (s *Server) deleteLogStream(in *streamInput) (any, *apiError) {
	return s.inGroup(opDeleteLogStream, *in.LogGroupName, func(g *logGroup) (any, *apiError) {
		st, ok := g.streams[*in.LogStreamName]
		if !ok {
			return nil, errNotFound(msgStreamNotFound)
		}
		g.storedBytes -= st.storedBytes
		delete(g.streams, st.name)
		s.dirty = true
		return nil, nil
	})
}

type describeLogStreamsInput struct {
	LogGroupName        *string `json:"logGroupName"`
	LogGroupIdentifier  *string `json:"logGroupIdentifier"`
	LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
	OrderBy             *string `json:"orderBy"`
	Descending          *bool   `json:"descending"`
	NextToken           *string `json:"nextToken"`
	Limit               *int32  `json:"limit"`
}

type logStreamOut struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	UploadSequenceToken string `json:"uploadSequenceToken"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

type describeLogStreamsOutput struct {
	LogStreams []logStreamOut `json:"logStreams"`
	NextToken  string         `json:"nextToken,omitempty"`
}

const (
	orderByName          = "LogStreamName"
	orderByLastEventTime = "LastEventTime"
)

// groupRef checks the members of an "exactly one of logGroupName /
// logGroupIdentifier" pair; groupRefName then applies the rule.
func (v *validation) groupRef(name, id *string) {
	v.optGroupName(name, "logGroupName")
	if id != nil {
		v.length(*id, "logGroupIdentifier", 1, 2048)
	}
}

// groupRefName returns the group named by exactly one of logGroupName and
// logGroupIdentifier (members already checked by groupRef).
func groupRefName(name, id *string) (string, *apiError) {
	if (name == nil) == (id == nil) {
		return "", errInvalidParameter(msgGroupXorID)
	}
	if name != nil {
		return *name, nil
	}
	return groupNameFromIdentifier(*id), nil
}

func (in *describeLogStreamsInput) validate(v *validation) {
	v.optNamePrefix(in.LogStreamNamePrefix, "logStreamNamePrefix", streamNamePattern, validStreamChars)
	if in.OrderBy != nil {
		v.enum(*in.OrderBy, "orderBy", []string{orderByName, orderByLastEventTime})
	}
	v.nextToken(in.NextToken)
	v.limit(in.Limit, "limit", maxDescribeLimit)
	v.groupRef(in.LogGroupName, in.LogGroupIdentifier)
}

func (s *Server) describeLogStreams(in *describeLogStreamsInput) (any, *apiError) {
	group, e := groupRefName(in.LogGroupName, in.LogGroupIdentifier)
	if e != nil {
		return nil, e
	}
	byTime := in.OrderBy != nil && *in.OrderBy == orderByLastEventTime
	if byTime && in.LogStreamNamePrefix != nil {
		return nil, errInvalidParameter(msgOrderByPrefix)
	}
	desc := in.Descending != nil && *in.Descending
	offset := 0
	if in.NextToken != nil {
		key, e := decodeToken('s', in.NextToken)
		if e != nil {
			return nil, e
		}
		n, err := strconv.Atoi(key)
		if err != nil || n < 0 {
			return nil, errInvalidParameter(msgInvalidToken)
		}
		offset = n
	}
	limit := maxDescribeLimit
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	return s.inGroup(opDescribeLogStreams, group, func(g *logGroup) (any, *apiError) {
		streams := make([]*logStream, 0, len(g.streams))
		for _, st := range g.streams {
			if in.LogStreamNamePrefix != nil && !strings.HasPrefix(st.name, *in.LogStreamNamePrefix) {
				continue
			}
			streams = append(streams, st)
		}
		sort.Slice(streams, func(i, j int) bool {
			a, b := streams[i], streams[j]
			if byTime && a.lastEvent != b.lastEvent {
				if desc {
					return a.lastEvent > b.lastEvent
				}
				return a.lastEvent < b.lastEvent
			}
			if desc {
				return a.name > b.name
			}
			return a.name < b.name
		})
		// Pages are offsets into the ordered list; AWS's tokens are opaque.
		out := describeLogStreamsOutput{LogStreams: []logStreamOut{}}
		if offset > len(streams) {
			offset = len(streams)
		}
		end := min(offset+limit, len(streams))
		for _, st := range streams[offset:end] {
			out.LogStreams = append(out.LogStreams, s.streamOut(g, st))
		}
		if end < len(streams) {
			out.NextToken = encodeToken('s', strconv.Itoa(end))
		}
		return out, nil
	})
}

func (s *Server) streamOut(g *logGroup, st *logStream) logStreamOut {
	o := logStreamOut{
		LogStreamName:       st.name,
		CreationTime:        st.creationTime,
		UploadSequenceToken: sequenceToken(st.uploadToken),
		Arn: fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s",
			s.cfg.Region, s.cfg.AccountID, g.name, st.name),
		StoredBytes: 0, // deprecated; AWS returns 0 (API_LogStream.html)
	}
	if st.hasEvents {
		first, last, ing := st.firstEvent, st.lastEvent, st.lastIngestion
		o.FirstEventTimestamp, o.LastEventTimestamp, o.LastIngestionTime = &first, &last, &ing
	}
	return o
}
