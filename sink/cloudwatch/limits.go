package cloudwatch

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"logship/buffer"
)

// CloudWatch Logs limits. Every value is from the PutLogEvents, CreateLogGroup
// and CreateLogStream API references (URLs at each constant) and the service
// quotas page, https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html.
// None of them is adjustable.

// MaxBatchEvents is the most log events one PutLogEvents request may carry.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
const MaxBatchEvents = 10_000

// MaxBatchBytes is the most bytes one PutLogEvents request may carry, counted
// as the sum over its events of the UTF-8 length of the message plus
// EventOverhead.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
const MaxBatchBytes = 1_048_576

// EventOverhead is the number of bytes every event adds to the batch size.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
const EventOverhead = 26

// MaxEventSize is the largest log event AWS accepts since April 2025 ("Each
// log event can be no larger than 1 MB"). The sink keeps message bytes plus
// EventOverhead within it: the evidence (watchtower, Fluent Bit's tests) says
// the per-event limit counts the overhead too, and staying 26 bytes under
// costs nothing.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_InputLogEvent.html
// https://aws.amazon.com/about-aws/whats-new/2025/04/amazon-cloudwatch-logs-increases-log-event-size-1-mb/
const MaxEventSize = 1_048_576

// LegacyMaxEventSize is the event size limit before April 2025 (256 KiB), for
// Config.MaxEventSize when shipping to a partition or endpoint that still
// enforces it.
const LegacyMaxEventSize = 262_144

// MinEventSize is the smallest Config.MaxEventSize the sink accepts: room for
// the overhead and a few characters of message.
const MinEventSize = 64

// MaxBatchSpan is the most time the events of one request may span ("A batch
// of log events in a single request cannot span more than 24 hours"). Whether
// exactly 24 h is accepted is not documented, so the cutter keeps the span
// strictly below it.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
const MaxBatchSpan = 24 * time.Hour

// MaxEventAge is how old an event may be: older events are rejected one by
// one (tooOldLogEventEndIndex).
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
const MaxEventAge = 14 * 24 * time.Hour

// MaxEventFuture is how far in the future an event may be: later events are
// rejected one by one (tooNewLogEventStartIndex).
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
const MaxEventFuture = 2 * time.Hour

// WindowMargin widens the 14-day / 2-hour window before the cutter drops an
// event locally, so that a clock a few minutes off from AWS's never makes the
// sink drop an event AWS would have accepted. Events inside the margin are
// sent, and AWS's verdict (rejectedLogEventsInfo) is counted instead.
const WindowMargin = 5 * time.Minute

// MaxGroupNameLen and MaxStreamNameLen bound log group and stream names (1–512
// characters). A group name matches [\.\-_/#A-Za-z0-9]+ and does not start
// with "aws/"; a stream name has no ':' or '*'.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogStream.html
const (
	MaxGroupNameLen  = 512
	MaxStreamNameLen = 512
)

// MaxTags is the most tags a log group may carry (and CreateLogGroup accept).
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
const MaxTags = 50

// retentionDays lists the values PutRetentionPolicy accepts for
// retentionInDays.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
var retentionDays = [...]int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// validRetention reports whether days is a value PutRetentionPolicy accepts.
func validRetention(days int) bool {
	for _, d := range retentionDays {
		if d == days {
			return true
		}
	}
	return false
}

// validGroupName checks a log group name against CreateLogGroup's rules.
func validGroupName(name string) error {
	if len(name) == 0 || len(name) > MaxGroupNameLen {
		return fmt.Errorf("log group name %q: length %d, must be 1 to %d", name, len(name), MaxGroupNameLen)
	}
	if strings.HasPrefix(name, "aws/") {
		return fmt.Errorf("log group name %q: must not start with \"aws/\"", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-/#", c) >= 0) {
			return fmt.Errorf("log group name %q: character %q not allowed (only [.\\-_/#A-Za-z0-9])", name, c)
		}
	}
	return nil
}

// validStreamName checks a log stream name against CreateLogStream's rules.
func validStreamName(name string) error {
	if n := utf8.RuneCountInString(name); n == 0 || n > MaxStreamNameLen {
		return fmt.Errorf("log stream name %q: length %d, must be 1 to %d", name, n, MaxStreamNameLen)
	}
	if i := strings.IndexAny(name, ":*"); i >= 0 {
		return fmt.Errorf("log stream name %q: character %q not allowed", name, name[i])
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("log stream name %q: invalid UTF-8", name)
	}
	return nil
}

// validKey checks a destination before any request is made, so that a name
// AWS would reject costs no API call.
func validKey(k buffer.StreamKey) error {
	if err := validGroupName(k.Group); err != nil {
		return err
	}
	return validStreamName(k.Stream)
}
