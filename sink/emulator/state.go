package emulator

import (
	"fmt"
	"sort"
)

// Event is one stored log event.
type Event struct {
	// Timestamp is the event time in milliseconds since the Unix epoch, as
	// the client sent it.
	Timestamp int64 `json:"timestamp"`
	// Message is the event text after JSON decoding (invalid UTF-8 replaced
	// with U+FFFD).
	Message string `json:"message"`
	// IngestionTime is the emulator clock in milliseconds when the event was
	// accepted.
	IngestionTime int64 `json:"ingestionTime"`
	// ID is the 56-digit decimal event id used by FilterLogEvents and
	// subscription payloads.
	ID string `json:"eventId"`
	// Seq is the global acceptance order (1, 2, ...), unique per server.
	Seq uint64 `json:"seq"`
}

// storedEvent is an accepted event as kept in memory; the exported Event
// (with its formatted id) is built on read.
type storedEvent struct {
	ts        int64
	ingestion int64
	seq       uint64
	msg       string
}

func (e storedEvent) event() Event {
	return Event{Timestamp: e.ts, Message: e.msg, IngestionTime: e.ingestion, ID: eventID(e.ts, e.seq), Seq: e.seq}
}

// state is everything the emulator knows; guarded by Server.mu.
type state struct {
	groups map[string]*logGroup
	// seq numbers accepted events across the server.
	seq uint64
	// requests numbers PutLogEvents requests (sequence tokens).
	requests uint64
}

type logGroup struct {
	name          string
	creationTime  int64
	retentionDays int32 // 0: never expire
	tags          map[string]string
	class         string
	kmsKeyID      string
	protection    bool
	storedBytes   int64
	streams       map[string]*logStream
	filters       map[string]*subscriptionFilter
}

type logStream struct {
	name          string
	creationTime  int64
	firstEvent    int64 // ms; valid when hasEvents
	lastEvent     int64
	lastIngestion int64
	hasEvents     bool
	storedBytes   int64
	eventCount    int64
	uploadToken   uint64
	events        []storedEvent
}

type subscriptionFilter struct {
	name           string
	pattern        string
	destinationArn string
	roleArn        string
	distribution   string
	creationTime   int64
	applyOnTrans   bool
	fieldSelection string
	emitFields     []string
	matcher        matcher
}

func newState() *state {
	return &state{groups: make(map[string]*logGroup)}
}

func (g *logGroup) arn(region, account string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", region, account, g.name)
}

func (g *logGroup) bareArn(region, account string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", region, account, g.name)
}

func sortedGroupNames(st *state) []string {
	names := make([]string, 0, len(st.groups))
	for n := range st.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// eventID formats a 56-digit decimal event id from the event timestamp and
// the global sequence number, so ids sort like (timestamp, seq). AWS's ids
// are opaque 56-digit strings
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html).
func eventID(ts int64, seq uint64) string {
	if ts < 0 {
		ts = 0
	}
	return fmt.Sprintf("3%019d%036d", ts, seq)
}

// sequenceToken formats a 56-digit upload sequence token like AWS's
// "4903985953379003985138081667586167308..." (design.md, "Names and
// identifiers").
func sequenceToken(n uint64) string {
	return fmt.Sprintf("49%054d", n)
}
