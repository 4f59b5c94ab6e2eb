package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"logship/internal/testclock"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

// conformanceRow is one rule of design.md ("Names and identifiers",
// "PutLogEvents", "Read side") checked through the
// real aws-sdk-go-v2 client over real HTTP. Every row gets its own emulator
// whose clock is fixed at t0, with log group "g" and stream "s" created.
type conformanceRow struct {
	name string
	cfg  func(*emulator.Config)
	call func(t *testing.T, ctx context.Context, env *emulatortest.Env) error
	want check
}

const (
	groupPatternMsg  = `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`
	streamPatternMsg = `Member must satisfy regular expression pattern: [^:*]*`
	retentionEnumMsg = `Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]`
)

func createGroup(ctx context.Context, env *emulatortest.Env, name string) error {
	_, err := env.Client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)})
	return err
}

func createStream(ctx context.Context, env *emulatortest.Env, group, stream string) error {
	_, err := env.Client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
	return err
}

// stored fails the test unless stream g/s holds exactly the messages want.
func stored(t *testing.T, env *emulatortest.Env, want ...string) {
	t.Helper()
	if got := env.Messages("g", "s"); !eqStrings(got, want) {
		t.Errorf("stored messages %q, want %q", got, want)
	}
}

func intp(p *int32) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func conformanceRows() []conformanceRow {
	now := ms(t0)
	return []conformanceRow{
		// --- Log group names (design.md, "Names and identifiers") ---
		{name: "group_name_empty", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createGroup(ctx, env, "")
		}, want: wantErr[invalidParam]("2 validation errors detected: Value '' at 'logGroupName' failed to satisfy constraint: " + groupPatternMsg +
			"; Value '' at 'logGroupName' failed to satisfy constraint: Member must have length greater than or equal to 1")},
		{name: "group_name_513_chars", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createGroup(ctx, env, strings.Repeat("a", 513))
		}, want: wantErr[invalidParam]("1 validation error detected: Value '" + strings.Repeat("a", 513) +
			"' at 'logGroupName' failed to satisfy constraint: Member must have length less than or equal to 512")},
		{name: "group_name_512_chars_ok", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createGroup(ctx, env, strings.Repeat("a", 512))
		}, want: wantOK},
		{name: "group_name_all_allowed_chars_ok", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createGroup(ctx, env, "/k8s/prod#1/app_x-y.z")
		}, want: wantOK},
		{name: "group_name_bad_char", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createGroup(ctx, env, "bad:name")
		}, want: wantErr[invalidParam]("1 validation error detected: Value 'bad:name' at 'logGroupName' failed to satisfy constraint: " + groupPatternMsg)},
		{name: "group_name_reserved_aws_prefix", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createGroup(ctx, env, "aws/lambda/x")
		}, want: wantErr[invalidParam]("Log group name cannot start with 'aws/'.")},
		{name: "group_already_exists", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createGroup(ctx, env, "g")
		}, want: wantErr[alreadyExists]("The specified log group already exists")},
		{name: "group_class_invalid", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("c"), LogGroupClass: "GLACIER"})
			return err
		}, want: wantErr[invalidParam]("1 validation error detected: Value 'GLACIER' at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]")},
		{name: "group_create_with_tags_and_class", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{
				LogGroupName: aws.String("c"), LogGroupClass: types.LogGroupClassInfrequentAccess, Tags: map[string]string{"team": "obs"}})
			if err != nil {
				return err
			}
			out, err := env.Client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("c")})
			if err != nil {
				return err
			}
			if len(out.LogGroups) != 1 || out.LogGroups[0].LogGroupClass != types.LogGroupClassInfrequentAccess {
				t.Errorf("DescribeLogGroups = %+v, want one INFREQUENT_ACCESS group", out.LogGroups)
			}
			tags, err := env.Client.ListTagsLogGroup(ctx, &cloudwatchlogs.ListTagsLogGroupInput{LogGroupName: aws.String("c")})
			if err != nil {
				return err
			}
			if tags.Tags["team"] != "obs" {
				t.Errorf("tags %v, want team=obs", tags.Tags)
			}
			return nil
		}, want: wantOK},
		{name: "group_tags_invalid_key", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("c"), Tags: map[string]string{"bad*key": "v"}})
			return err
		}, want: wantErr[invalidParam](`1 validation error detected: Value '{bad*key=v}' at 'tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$]`)},
		{name: "group_delete_missing", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("nope")})
			return err
		}, want: wantErr[notFound]("The specified log group does not exist.")},
		{name: "group_delete_removes_streams", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			if _, err := env.Client.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
				return err
			}
			_, err := put(ctx, env, "g", "s", ev(now, "x"))
			return err
		}, want: wantErr[notFound]("The specified log group does not exist.")},

		// --- Log stream names (design.md, "Names and identifiers") ---
		{name: "stream_group_missing", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createStream(ctx, env, "nope", "s")
		}, want: wantErr[notFound]("The specified log group does not exist.")},
		{name: "stream_name_colon", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createStream(ctx, env, "g", "a:b")
		}, want: wantErr[invalidParam]("1 validation error detected: Value 'a:b' at 'logStreamName' failed to satisfy constraint: " + streamPatternMsg)},
		{name: "stream_name_asterisk", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createStream(ctx, env, "g", "a*b")
		}, want: wantErr[invalidParam]("1 validation error detected: Value 'a*b' at 'logStreamName' failed to satisfy constraint: " + streamPatternMsg)},
		{name: "stream_name_empty", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createStream(ctx, env, "g", "")
		}, want: wantErr[invalidParam]("1 validation error detected: Value '' at 'logStreamName' failed to satisfy constraint: Member must have length greater than or equal to 1")},
		{name: "stream_name_513_chars", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createStream(ctx, env, "g", strings.Repeat("s", 513))
		}, want: wantMsgPrefix[invalidParam]("1 validation error detected: Value 'sss")},
		{name: "stream_name_unicode_and_slashes_ok", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createStream(ctx, env, "g", "kube.var.log.containers.web-7d9c_default_web-abc.log/ü é")
		}, want: wantOK},
		{name: "stream_already_exists", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return createStream(ctx, env, "g", "s")
		}, want: wantErr[alreadyExists]("The specified log stream already exists")},
		{name: "stream_delete_missing", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope")})
			return err
		}, want: wantErr[notFound]("The specified log stream does not exist.")},

		// --- PutLogEvents (design.md, "PutLogEvents") ---
		{name: "put_group_missing", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "nope", "s", ev(now, "x"))
			return err
		}, want: wantErr[notFound]("The specified log group does not exist.")},
		{name: "put_stream_missing", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "g", "nope", ev(now, "x"))
			return err
		}, want: wantErr[notFound]("The specified log stream does not exist.")},
		{name: "put_zero_events", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "g", "s", []types.InputLogEvent{}...)
			return err
		}, want: wantErr[invalidParam]("1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1")},
		{name: "put_10001_events", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "g", "s", evs(10001, now)...)
			return err
		}, want: wantMsgPrefix[invalidParam]("1 validation error detected: Value '[")},
		{name: "put_10000_events_ok", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "g", "s", evs(10000, now)...)
			if n := len(env.Server.Events("g", "s")); n != 10000 {
				t.Errorf("stored %d events, want 10000", n)
			}
			return err
		}, want: wantOK},
		{name: "put_empty_message", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "g", "s", ev(now, "a"), ev(now, ""))
			return err
		}, want: wantErr[invalidParam]("1 validation error detected: Value '' at 'logEvents.2.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1")},
		{name: "put_negative_timestamp", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "g", "s", ev(-1, "a"))
			return err
		}, want: wantErr[invalidParam]("1 validation error detected: Value '-1' at 'logEvents.1.member.timestamp' failed to satisfy constraint: Member must have value greater than or equal to 0")},
		{name: "put_not_chronological", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "g", "s", ev(now, "b"), ev(now-1, "a"))
			stored(t, env)
			return err
		}, want: wantErr[invalidParam]("Log events in a single PutLogEvents request must be in chronological order.")},
		{name: "put_equal_timestamps_ok", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "g", "s", ev(now, "a"), ev(now, "b"), ev(now, "c"))
			stored(t, env, "a", "b", "c")
			return err
		}, want: wantOK},
		{name: "put_event_too_large_1MiB", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "g", "s", ev(now, strings.Repeat("x", 1048576-25)))
			return err
		}, want: wantErr[invalidParam]("Log event too large: 1048577 bytes exceeds limit of 1048576")},
		{name: "put_event_at_1MiB_limit_ok", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "g", "s", ev(now, strings.Repeat("x", 1048576-26)))
			return err
		}, want: wantOK},
		{name: "put_event_too_large_256KiB_config", cfg: func(c *emulator.Config) { c.MaxEventSize = emulator.LegacyMaxEventSize },
			call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
				_, err := put(ctx, env, "g", "s", ev(now, strings.Repeat("x", 262144-25)))
				return err
			}, want: wantErr[invalidParam]("Log event too large: 262145 bytes exceeds limit of 262144")},
		{name: "put_event_size_counts_utf8_bytes", cfg: func(c *emulator.Config) { c.MaxEventSize = emulator.LegacyMaxEventSize },
			call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
				// 131,060 two-byte runes: fewer characters than the limit, more bytes.
				_, err := put(ctx, env, "g", "s", ev(now, strings.Repeat("é", 131060)))
				return err
			}, want: wantErr[invalidParam]("Log event too large: 262146 bytes exceeds limit of 262144")},
		{name: "put_batch_too_large", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "g", "s", ev(now, strings.Repeat("x", 600000)), ev(now, strings.Repeat("y", 600000)))
			return err
		}, want: wantErr[invalidParam]("Upload too large: 1200052 bytes exceeds limit of 1048576")},
		{name: "put_batch_at_1048576_bytes_ok", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			m := strings.Repeat("x", 262144-26)
			_, err := put(ctx, env, "g", "s", ev(now, m), ev(now, m), ev(now, m), ev(now, m))
			return err
		}, want: wantOK},
		{name: "put_batch_size_counts_26_per_event", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			// 10,000 events of 79 bytes: 790,000 message bytes, 1,050,000 with overhead.
			events := make([]types.InputLogEvent, 10000)
			for i := range events {
				events[i] = ev(now, strings.Repeat("z", 79))
			}
			_, err := put(ctx, env, "g", "s", events...)
			return err
		}, want: wantErr[invalidParam]("Upload too large: 1050000 bytes exceeds limit of 1048576")},
		{name: "put_too_old_rejected_individually", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			old := ms(t0.Add(-15 * 24 * time.Hour))
			out, err := put(ctx, env, "g", "s", ev(old, "old1"), ev(old, "old2"), ev(now, "new"))
			if err != nil {
				return err
			}
			ri := out.RejectedLogEventsInfo
			if ri == nil || intp(ri.TooOldLogEventEndIndex) != "2" || ri.TooNewLogEventStartIndex != nil || ri.ExpiredLogEventEndIndex != nil {
				t.Errorf("rejectedLogEventsInfo = %+v, want tooOldLogEventEndIndex 2 only", ri)
			}
			stored(t, env, "new")
			return nil
		}, want: wantOK},
		{name: "put_too_new_rejected_individually", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			future := ms(t0.Add(2*time.Hour + time.Millisecond))
			out, err := put(ctx, env, "g", "s", ev(now, "a"), ev(future, "f1"), ev(future, "f2"))
			if err != nil {
				return err
			}
			ri := out.RejectedLogEventsInfo
			if ri == nil || intp(ri.TooNewLogEventStartIndex) != "1" || ri.TooOldLogEventEndIndex != nil {
				t.Errorf("rejectedLogEventsInfo = %+v, want tooNewLogEventStartIndex 1 only", ri)
			}
			stored(t, env, "a")
			return nil
		}, want: wantOK},
		{name: "put_window_boundaries_accepted", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			// Exactly 14 days old and exactly 2 hours ahead are inside the window.
			for _, ts := range []int64{ms(t0.Add(-14 * 24 * time.Hour)), ms(t0.Add(2 * time.Hour))} {
				out, err := put(ctx, env, "g", "s", ev(ts, "edge"))
				if err != nil {
					return err
				}
				if out.RejectedLogEventsInfo != nil {
					t.Errorf("ts %d: rejectedLogEventsInfo = %+v, want none", ts, out.RejectedLogEventsInfo)
				}
			}
			stored(t, env, "edge", "edge")
			return nil
		}, want: wantOK},
		{name: "put_expired_by_retention", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			if _, err := env.Client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(1)}); err != nil {
				return err
			}
			old := ms(t0.Add(-15 * 24 * time.Hour))
			exp := ms(t0.Add(-2 * 24 * time.Hour))
			out, err := put(ctx, env, "g", "s", ev(old, "old"), ev(exp, "expired1"), ev(exp, "expired2"), ev(now, "ok"))
			if err != nil {
				return err
			}
			ri := out.RejectedLogEventsInfo
			if ri == nil || intp(ri.TooOldLogEventEndIndex) != "1" || intp(ri.ExpiredLogEventEndIndex) != "3" {
				t.Errorf("rejectedLogEventsInfo = %+v, want tooOld 1, expired 3", ri)
			}
			stored(t, env, "ok")
			return nil
		}, want: wantOK},
		{name: "put_all_rejected_still_200", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			out, err := put(ctx, env, "g", "s", ev(ms(t0.Add(-30*24*time.Hour)), "old"))
			if err != nil {
				return err
			}
			if out.RejectedLogEventsInfo == nil || intp(out.RejectedLogEventsInfo.TooOldLogEventEndIndex) != "1" {
				t.Errorf("rejectedLogEventsInfo = %+v, want tooOldLogEventEndIndex 1", out.RejectedLogEventsInfo)
			}
			if out.NextSequenceToken == nil {
				t.Error("nextSequenceToken missing")
			}
			stored(t, env)
			return nil
		}, want: wantOK},
		{name: "put_span_over_24h", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "g", "s", ev(ms(t0.Add(-24*time.Hour-time.Millisecond)), "a"), ev(now, "b"))
			stored(t, env)
			return err
		}, want: wantErr[invalidParam]("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")},
		{name: "put_span_exactly_24h_ok", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := put(ctx, env, "g", "s", ev(ms(t0.Add(-24*time.Hour)), "a"), ev(now, "b"))
			return err
		}, want: wantOK},
		{name: "put_span_counts_valid_events_only", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			out, err := put(ctx, env, "g", "s", ev(ms(t0.Add(-20*24*time.Hour)), "old"), ev(ms(t0.Add(-23*time.Hour)), "a"), ev(now, "b"))
			if err != nil {
				return err
			}
			if out.RejectedLogEventsInfo == nil || intp(out.RejectedLogEventsInfo.TooOldLogEventEndIndex) != "1" {
				t.Errorf("rejectedLogEventsInfo = %+v, want tooOldLogEventEndIndex 1", out.RejectedLogEventsInfo)
			}
			stored(t, env, "a", "b")
			return nil
		}, want: wantOK},
		{name: "put_next_sequence_token", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			a, err := put(ctx, env, "g", "s", ev(now, "a"))
			if err != nil {
				return err
			}
			b, err := put(ctx, env, "g", "s", ev(now, "b"))
			if err != nil {
				return err
			}
			ta, tb := aws.ToString(a.NextSequenceToken), aws.ToString(b.NextSequenceToken)
			if len(ta) != 56 || len(tb) != 56 || ta == tb {
				t.Errorf("nextSequenceToken %q then %q, want two different 56-digit tokens", ta, tb)
			}
			if a.RejectedLogEventsInfo != nil {
				t.Errorf("rejectedLogEventsInfo = %+v, want absent", a.RejectedLogEventsInfo)
			}
			return nil
		}, want: wantOK},
		{name: "put_sequence_token_omitted_by_config", cfg: func(c *emulator.Config) { c.OmitSequenceToken = true },
			call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
				out, err := put(ctx, env, "g", "s", ev(now, "a"))
				if err == nil && out.NextSequenceToken != nil {
					t.Errorf("nextSequenceToken = %q, want absent", *out.NextSequenceToken)
				}
				return err
			}, want: wantOK},
		{name: "put_sequence_token_ignored", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
				LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
				SequenceToken: aws.String("not-a-token"), LogEvents: []types.InputLogEvent{ev(now, "a")},
			})
			return err
		}, want: wantOK},
		{name: "put_count_only_keeps_counters", cfg: func(c *emulator.Config) { c.CountOnly = true },
			call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
				_, err := put(ctx, env, "g", "s", ev(now, "abc"), ev(now, "de"))
				st := env.Server.Stats()
				if st.EventsAccepted != 2 || st.BytesAccepted != 5 || st.QuotaBytesAccepted != 57 {
					t.Errorf("stats events=%d bytes=%d quota=%d, want 2, 5, 57", st.EventsAccepted, st.BytesAccepted, st.QuotaBytesAccepted)
				}
				stored(t, env)
				return err
			}, want: wantOK},

		// --- Retention (API_PutRetentionPolicy) ---
		{name: "retention_invalid_value", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(2)})
			return err
		}, want: wantErr[invalidParam]("1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: " + retentionEnumMsg)},
		{name: "retention_every_allowed_value", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			for _, d := range []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653} {
				if _, err := env.Client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(d)}); err != nil {
					return fmt.Errorf("retention %d: %w", d, err)
				}
				out, err := env.Client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("g")})
				if err != nil {
					return err
				}
				if got := out.LogGroups[0].RetentionInDays; got == nil || *got != d {
					t.Errorf("retentionInDays = %v, want %d", intp(got), d)
				}
			}
			return nil
		}, want: wantOK},
		{name: "retention_group_missing", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("nope"), RetentionInDays: aws.Int32(7)})
			return err
		}, want: wantErr[notFound]("The specified log group does not exist.")},

		// --- Tags (API_TagResource; design.md, "Names and identifiers") ---
		{name: "tag_resource_roundtrip", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			arn := "arn:aws:logs:us-east-1:123456789012:log-group:g"
			if _, err := env.Client.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"a": "1", "b": ""}}); err != nil {
				return err
			}
			out, err := env.Client.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
			if err != nil {
				return err
			}
			if len(out.Tags) != 2 || out.Tags["a"] != "1" {
				t.Errorf("tags %v, want a=1 b=", out.Tags)
			}
			return nil
		}, want: wantOK},
		{name: "tag_resource_arn_with_star", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:g:*"), Tags: map[string]string{"a": "1"}})
			return err
		}, want: wantErr[invalidParam]("The specified ARN is not valid.")},
		{name: "tag_resource_group_missing", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:nope"), Tags: map[string]string{"a": "1"}})
			return err
		}, want: wantErr[notFound]("The specified log group does not exist.")},
		{name: "tag_resource_51_tags_in_call", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			tags := map[string]string{}
			for i := range 51 {
				tags[fmt.Sprintf("k%02d", i)] = "v"
			}
			_, err := env.Client.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:g"), Tags: tags})
			return err
		}, want: wantMsgPrefix[invalidParam]("1 validation error detected: Value '{k00=v, k01=v")},
		{name: "tag_resource_over_50_total", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			arn := "arn:aws:logs:us-east-1:123456789012:log-group:g"
			for batch := range 2 {
				tags := map[string]string{}
				for i := range 30 {
					tags[fmt.Sprintf("b%d-k%02d", batch, i)] = "v"
				}
				if _, err := env.Client.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags}); err != nil {
					if batch == 1 {
						checkTooManyTagsResource(t, err, arn)
					}
					return err
				}
			}
			return nil
		}, want: wantErr[tooManyTags]("A resource can have no more than 50 tags.")},
		{name: "tag_value_too_long", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.TagLogGroup(ctx, &cloudwatchlogs.TagLogGroupInput{LogGroupName: aws.String("g"), Tags: map[string]string{"k": strings.Repeat("v", 257)}})
			return err
		}, want: wantMsgPrefix[invalidParam]("1 validation error detected: Value '{k=vvv")},
		{name: "tag_log_group_legacy_roundtrip", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			if _, err := env.Client.TagLogGroup(ctx, &cloudwatchlogs.TagLogGroupInput{LogGroupName: aws.String("g"), Tags: map[string]string{"env": "prod"}}); err != nil {
				return err
			}
			if _, err := env.Client.UntagResource(ctx, &cloudwatchlogs.UntagResourceInput{ResourceArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:g"), TagKeys: []string{"nothing"}}); err != nil {
				return err
			}
			out, err := env.Client.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:g")})
			if err != nil {
				return err
			}
			if out.Tags["env"] != "prod" {
				t.Errorf("tags %v, want env=prod", out.Tags)
			}
			return nil
		}, want: wantOK},

		// --- DescribeLogGroups / DescribeLogStreams (design.md, "Read side") ---
		{name: "describe_groups_arn_forms_and_paging", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			for _, n := range []string{"p/c", "p/a", "p/b", "q"} {
				if err := createGroup(ctx, env, n); err != nil {
					return err
				}
			}
			var names []string
			var tok *string
			for range 5 {
				out, err := env.Client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("p/"), Limit: aws.Int32(2), NextToken: tok})
				if err != nil {
					return err
				}
				for _, g := range out.LogGroups {
					names = append(names, *g.LogGroupName)
					if want := "arn:aws:logs:us-east-1:123456789012:log-group:" + *g.LogGroupName + ":*"; aws.ToString(g.Arn) != want {
						t.Errorf("arn %q, want %q", aws.ToString(g.Arn), want)
					}
					if want := "arn:aws:logs:us-east-1:123456789012:log-group:" + *g.LogGroupName; aws.ToString(g.LogGroupArn) != want {
						t.Errorf("logGroupArn %q, want %q", aws.ToString(g.LogGroupArn), want)
					}
					if g.RetentionInDays != nil {
						t.Errorf("retentionInDays = %d, want absent", *g.RetentionInDays)
					}
				}
				if tok = out.NextToken; tok == nil {
					break
				}
			}
			if !eqStrings(names, []string{"p/a", "p/b", "p/c"}) {
				t.Errorf("groups %q, want [p/a p/b p/c]", names)
			}
			return nil
		}, want: wantOK},
		{name: "describe_groups_prefix_and_pattern", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("a"), LogGroupNamePattern: aws.String("b")})
			return err
		}, want: wantErr[invalidParam]("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")},
		{name: "describe_groups_limit_51", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(51)})
			return err
		}, want: wantErr[invalidParam]("1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50")},
		{name: "describe_groups_bad_token", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{NextToken: aws.String("garbage!")})
			return err
		}, want: wantErr[invalidParam]("The specified nextToken is invalid.")},
		{name: "describe_groups_empty_token", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{NextToken: aws.String("")})
			return err
		}, want: wantErr[invalidParam]("1 validation error detected: Value '' at 'nextToken' failed to satisfy constraint: Member must have length greater than or equal to 1")},
		{name: "describe_streams_prefix_paging_and_times", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			for _, n := range []string{"node-b", "node-a", "other"} {
				if err := createStream(ctx, env, "g", n); err != nil {
					return err
				}
			}
			if _, err := put(ctx, env, "g", "node-a", ev(now-5, "x"), ev(now, "y")); err != nil {
				return err
			}
			var got []types.LogStream
			var tok *string
			for range 5 {
				out, err := env.Client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), LogStreamNamePrefix: aws.String("node-"), Limit: aws.Int32(1), NextToken: tok})
				if err != nil {
					return err
				}
				got = append(got, out.LogStreams...)
				if tok = out.NextToken; tok == nil {
					break
				}
			}
			if len(got) != 2 || aws.ToString(got[0].LogStreamName) != "node-a" || aws.ToString(got[1].LogStreamName) != "node-b" {
				t.Fatalf("streams %+v, want node-a, node-b", got)
			}
			a := got[0]
			if aws.ToInt64(a.FirstEventTimestamp) != now-5 || aws.ToInt64(a.LastEventTimestamp) != now || aws.ToInt64(a.LastIngestionTime) != now {
				t.Errorf("node-a first/last/ingestion = %d/%d/%d, want %d/%d/%d", aws.ToInt64(a.FirstEventTimestamp), aws.ToInt64(a.LastEventTimestamp), aws.ToInt64(a.LastIngestionTime), now-5, now, now)
			}
			if want := "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:node-a"; aws.ToString(a.Arn) != want {
				t.Errorf("arn %q, want %q", aws.ToString(a.Arn), want)
			}
			if got[1].FirstEventTimestamp != nil {
				t.Errorf("empty stream firstEventTimestamp = %d, want absent", *got[1].FirstEventTimestamp)
			}
			return nil
		}, want: wantOK},
		{name: "describe_streams_order_by_last_event_time_with_prefix", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), LogStreamNamePrefix: aws.String("s"), OrderBy: types.OrderByLastEventTime})
			return err
		}, want: wantErr[invalidParam]("Cannot order by LastEventTime with a logStreamNamePrefix.")},
		{name: "describe_streams_order_by_last_event_time_desc", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			if err := createStream(ctx, env, "g", "late"); err != nil {
				return err
			}
			if _, err := put(ctx, env, "g", "s", ev(now-10, "x")); err != nil {
				return err
			}
			if _, err := put(ctx, env, "g", "late", ev(now, "x")); err != nil {
				return err
			}
			out, err := env.Client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true)})
			if err != nil {
				return err
			}
			if len(out.LogStreams) != 2 || aws.ToString(out.LogStreams[0].LogStreamName) != "late" {
				t.Errorf("streams %+v, want late first", out.LogStreams)
			}
			return nil
		}, want: wantOK},
		{name: "describe_streams_group_missing", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("nope")})
			return err
		}, want: wantErr[notFound]("The specified log group does not exist.")},
		{name: "describe_streams_no_group", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{})
			return err
		}, want: wantErr[invalidParam]("Exactly one of logGroupName or logGroupIdentifier must be specified.")},
		{name: "describe_streams_by_identifier_arn", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			out, err := env.Client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:g")})
			if err == nil && len(out.LogStreams) != 1 {
				t.Errorf("streams %+v, want [s]", out.LogStreams)
			}
			return err
		}, want: wantOK},

		// --- Subscription filters (design.md, "Subscriptions") ---
		{name: "subscription_filter_limit_2_per_group", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			for _, n := range []string{"f1", "f2", "f1", "f3"} {
				if err := putFilter(ctx, env, "g", n, ""); err != nil {
					return err
				}
			}
			return nil
		}, want: wantErr[limitExceeded]("Resource limit exceeded.")},
		{name: "subscription_filter_group_missing", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return putFilter(ctx, env, "nope", "f", "")
		}, want: wantErr[notFound]("The specified log group does not exist.")},
		{name: "subscription_filter_pattern_too_long", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return putFilter(ctx, env, "g", "f", strings.Repeat("x", 1025))
		}, want: wantMsgPrefix[invalidParam]("1 validation error detected: Value 'xxxx")},
		{name: "subscription_filter_name_colon", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return putFilter(ctx, env, "g", "a:b", "")
		}, want: wantErr[invalidParam]("1 validation error detected: Value 'a:b' at 'filterName' failed to satisfy constraint: " + streamPatternMsg)},
		{name: "subscription_filter_describe_and_delete", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			if err := putFilter(ctx, env, "g", "zeta", "ERROR"); err != nil {
				return err
			}
			if err := putFilter(ctx, env, "g", "alpha", ""); err != nil {
				return err
			}
			out, err := env.Client.DescribeSubscriptionFilters(ctx, &cloudwatchlogs.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("g")})
			if err != nil {
				return err
			}
			if len(out.SubscriptionFilters) != 2 || aws.ToString(out.SubscriptionFilters[0].FilterName) != "alpha" ||
				aws.ToString(out.SubscriptionFilters[1].FilterPattern) != "ERROR" || aws.ToString(out.SubscriptionFilters[1].LogGroupName) != "g" {
				t.Errorf("filters %+v, want alpha then zeta(ERROR)", out.SubscriptionFilters)
			}
			if _, err := env.Client.DeleteSubscriptionFilter(ctx, &cloudwatchlogs.DeleteSubscriptionFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("alpha")}); err != nil {
				return err
			}
			_, err = env.Client.DeleteSubscriptionFilter(ctx, &cloudwatchlogs.DeleteSubscriptionFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("alpha")})
			return err
		}, want: wantErr[notFound]("The specified subscription filter does not exist.")},

		// --- GetLogEvents / FilterLogEvents (design.md, "Read side") ---
		{name: "get_events_forward_paging_same_token_at_end", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			if _, err := put(ctx, env, "g", "s", evs(5, now)...); err != nil {
				return err
			}
			var got []string
			in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true), Limit: aws.Int32(2)}
			var last string
			for range 10 {
				out, err := env.Client.GetLogEvents(ctx, in)
				if err != nil {
					return err
				}
				for _, e := range out.Events {
					got = append(got, aws.ToString(e.Message))
					if aws.ToInt64(e.IngestionTime) != now {
						t.Errorf("ingestionTime %d, want %d", aws.ToInt64(e.IngestionTime), now)
					}
				}
				tok := aws.ToString(out.NextForwardToken)
				if tok == last {
					break
				}
				last, in.NextToken = tok, aws.String(tok)
			}
			if !eqStrings(got, []string{"m0", "m1", "m2", "m3", "m4"}) {
				t.Errorf("events %q, want m0..m4", got)
			}
			return nil
		}, want: wantOK},
		{name: "get_events_default_reads_tail", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			if _, err := put(ctx, env, "g", "s", evs(5, now)...); err != nil {
				return err
			}
			out, err := env.Client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), Limit: aws.Int32(2)})
			if err != nil {
				return err
			}
			if len(out.Events) != 2 || aws.ToString(out.Events[0].Message) != "m3" || aws.ToString(out.Events[1].Message) != "m4" {
				t.Errorf("events %+v, want m3, m4", out.Events)
			}
			back, err := env.Client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), Limit: aws.Int32(2), NextToken: out.NextBackwardToken})
			if err != nil {
				return err
			}
			if len(back.Events) != 2 || aws.ToString(back.Events[0].Message) != "m1" {
				t.Errorf("backward page %+v, want m1, m2", back.Events)
			}
			return nil
		}, want: wantOK},
		{name: "get_events_time_range", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			if _, err := put(ctx, env, "g", "s", ev(now-2, "a"), ev(now-1, "b"), ev(now, "c")); err != nil {
				return err
			}
			out, err := env.Client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true), StartTime: aws.Int64(now - 1), EndTime: aws.Int64(now)})
			if err != nil {
				return err
			}
			if len(out.Events) != 1 || aws.ToString(out.Events[0].Message) != "b" {
				t.Errorf("events %+v, want [b] (start inclusive, end exclusive)", out.Events)
			}
			return nil
		}, want: wantOK},
		{name: "get_events_bad_token", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: aws.String("f/123")})
			return err
		}, want: wantErr[invalidParam]("The specified nextToken is invalid.")},
		{name: "get_events_limit_10001", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), Limit: aws.Int32(10001)})
			return err
		}, want: wantErr[invalidParam]("1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000")},
		{name: "get_events_stream_missing", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope")})
			return err
		}, want: wantErr[notFound]("The specified log stream does not exist.")},
		{name: "filter_events_merge_pattern_paging", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			if err := createStream(ctx, env, "g", "s2"); err != nil {
				return err
			}
			if _, err := put(ctx, env, "g", "s", ev(now-3, "ERROR one"), ev(now-1, "info"), ev(now, "ERROR three")); err != nil {
				return err
			}
			if _, err := put(ctx, env, "g", "s2", ev(now-2, "ERROR two"), ev(now, "ERROR four")); err != nil {
				return err
			}
			var got []string
			in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String("ERROR"), Limit: aws.Int32(3)}
			for range 5 {
				out, err := env.Client.FilterLogEvents(ctx, in)
				if err != nil {
					return err
				}
				for _, e := range out.Events {
					got = append(got, aws.ToString(e.LogStreamName)+":"+aws.ToString(e.Message))
					if id := aws.ToString(e.EventId); len(id) != 56 || strings.Trim(id, "0123456789") != "" {
						t.Errorf("eventId %q, want 56 digits", id)
					}
				}
				if in.NextToken = out.NextToken; in.NextToken == nil {
					break
				}
			}
			want := []string{"s:ERROR one", "s2:ERROR two", "s:ERROR three", "s2:ERROR four"}
			if !eqStrings(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
			return nil
		}, want: wantOK},
		{name: "filter_events_json_pattern", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			if _, err := put(ctx, env, "g", "s", ev(now, `{"level":"error","latency":700}`), ev(now, `{"level":"error","latency":10}`), ev(now, "not json error")); err != nil {
				return err
			}
			out, err := env.Client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String(`{ $.level = "error" && $.latency > 500 }`)})
			if err != nil {
				return err
			}
			if len(out.Events) != 1 || aws.ToString(out.Events[0].Message) != `{"level":"error","latency":700}` {
				t.Errorf("events %+v, want the slow error only", out.Events)
			}
			return nil
		}, want: wantOK},
		{name: "subscription_filter_unsupported_pattern", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			return putFilter(ctx, env, "g", "f", "[ip, user, ...]")
		}, want: wantErr[invalidParam]("Invalid or unsupported filter pattern: the emulator supports plain terms and JSON ({ $.x = ... }) patterns.")},
		{name: "filter_events_names_and_prefix", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNames: []string{"s"}, LogStreamNamePrefix: aws.String("s")})
			return err
		}, want: wantErr[invalidParam]("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")},
		{name: "filter_events_group_missing", call: func(t *testing.T, ctx context.Context, env *emulatortest.Env) error {
			_, err := env.Client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("nope")})
			return err
		}, want: wantErr[notFound]("The specified log group does not exist.")},
	}
}

func checkTooManyTagsResource(t *testing.T, err error, arn string) {
	t.Helper()
	var tm *types.TooManyTagsException
	if errors.As(err, &tm) && aws.ToString(tm.ResourceName) != arn {
		t.Errorf("TooManyTagsException.resourceName %q, want %q", aws.ToString(tm.ResourceName), arn)
	}
}

func putFilter(ctx context.Context, env *emulatortest.Env, group, name, pattern string) error {
	_, err := env.Client.PutSubscriptionFilter(ctx, &cloudwatchlogs.PutSubscriptionFilterInput{
		LogGroupName: aws.String(group), FilterName: aws.String(name), FilterPattern: aws.String(pattern),
		DestinationArn: aws.String("arn:aws:lambda:us-east-1:123456789012:function:cwl2es"),
	})
	return err
}

// TestConformance runs every conformance row against its own emulator.
func TestConformance(t *testing.T) {
	for _, row := range conformanceRows() {
		t.Run(row.name, func(t *testing.T) {
			clk := testclock.New(t0)
			cfg := emulator.Config{Now: clk.Now}
			if row.cfg != nil {
				row.cfg(&cfg)
			}
			env := emulatortest.Start(t, cfg)
			env.CreateStream(t, "g", "s")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if msg := row.want(row.call(t, ctx, env)); msg != "" {
				t.Error(msg)
			}
		})
	}
}
