package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"logship/sink/emulator/emulatortest"
)

// t0 is the emulator clock in tests: 2026-01-01T00:00:00Z.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ms converts a time to CloudWatch Logs milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

func ev(ts int64, msg string) types.InputLogEvent {
	return types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(msg)}
}

// evs returns n events at ts with messages "m0", "m1", ...
func evs(n int, ts int64) []types.InputLogEvent {
	out := make([]types.InputLogEvent, n)
	for i := range out {
		out[i] = ev(ts, fmt.Sprintf("m%d", i))
	}
	return out
}

func put(ctx context.Context, env *emulatortest.Env, group, stream string, events ...types.InputLogEvent) (*cloudwatchlogs.PutLogEventsOutput, error) {
	return env.Client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: events,
	})
}

// check is an expectation on the error of a call; it returns "" when met.
type check func(err error) string

func wantOK(err error) string {
	if err != nil {
		return fmt.Sprintf("error %v, want success", err)
	}
	return ""
}

// wantErr expects an error that errors.As into the SDK's typed exception P
// with exactly the message msg ("" skips the message check).
func wantErr[E any, P interface {
	*E
	smithy.APIError
}](msg string) check {
	return wantAs[E, P](func(got string) string {
		if msg != "" && got != msg {
			return fmt.Sprintf("message\n got %q\nwant %q", got, msg)
		}
		return ""
	})
}

// wantAs expects an error that errors.As into the SDK's typed exception P;
// message checks its message (returning "" when it is as wanted).
func wantAs[E any, P interface {
	*E
	smithy.APIError
}](message func(got string) string) check {
	return func(err error) string {
		var target P
		if !errors.As(err, &target) {
			return fmt.Sprintf("error %v (%T), want %T", err, err, target)
		}
		return message(target.ErrorMessage())
	}
}

// wantCode expects an API error with the given code and message, for codes
// the SDK has no type for (it returns *smithy.GenericAPIError).
func wantCode(code, msg string) check {
	return func(err error) string {
		var ae smithy.APIError
		if !errors.As(err, &ae) {
			return fmt.Sprintf("error %v (%T), want API error %s", err, err, code)
		}
		if ae.ErrorCode() != code {
			return fmt.Sprintf("code %q (%v), want %q", ae.ErrorCode(), err, code)
		}
		if msg != "" && ae.ErrorMessage() != msg {
			return fmt.Sprintf("message\n got %q\nwant %q", ae.ErrorMessage(), msg)
		}
		return ""
	}
}

// wantMsgPrefix expects a typed exception whose message starts with prefix.
func wantMsgPrefix[E any, P interface {
	*E
	smithy.APIError
}](prefix string) check {
	return wantAs[E, P](func(got string) string {
		if !strings.HasPrefix(got, prefix) {
			return fmt.Sprintf("message\n got %q\nwant prefix %q", got, prefix)
		}
		return ""
	})
}

type (
	invalidParam  = types.InvalidParameterException
	notFound      = types.ResourceNotFoundException
	alreadyExists = types.ResourceAlreadyExistsException
	limitExceeded = types.LimitExceededException
	tooManyTags   = types.TooManyTagsException
	throttling    = types.ThrottlingException
	unavailable   = types.ServiceUnavailableException
	unrecognized  = types.UnrecognizedClientException
)

func eqStrings(got, want []string) bool { return slices.Equal(got, want) }
