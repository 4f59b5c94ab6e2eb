package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"logship/buffer"
)

// fakeLogs is an in-memory CloudWatch Logs behind the sink's logsAPI: groups
// and streams that exist, the events stored per stream, the calls made, and
// errors to inject (popped per call of that operation).
type fakeLogs struct {
	mu        sync.Mutex
	groups    map[string]map[string]string // group → tags
	streams   map[buffer.StreamKey][]string
	retention map[string]int32
	calls     []string

	putErrs, streamErrs, groupErrs, retErrs []error
	// putOut, when set, is returned by successful puts.
	putOut func(in *cloudwatchlogs.PutLogEventsInput) *cloudwatchlogs.PutLogEventsOutput
	// sdkRetries counts calls whose options would let the SDK retry.
	sdkRetries int
}

func newFake() *fakeLogs {
	return &fakeLogs{groups: map[string]map[string]string{}, streams: map[buffer.StreamKey][]string{}, retention: map[string]int32{}}
}

func (f *fakeLogs) addStream(k buffer.StreamKey) {
	f.groups[k.Group] = nil
	f.streams[k] = nil
}

func pop(errs *[]error) error {
	if len(*errs) == 0 {
		return nil
	}
	err := (*errs)[0]
	*errs = (*errs)[1:]
	return err
}

// call records a call of the operation name (the caller holds f.mu) and
// returns the next error injected into errs, if any.
func (f *fakeLogs) call(name string, optFns []func(*cloudwatchlogs.Options), errs *[]error) error {
	f.calls = append(f.calls, name)
	var o cloudwatchlogs.Options // a nil Retryer stands for the SDK default
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Retryer == nil || o.Retryer.MaxAttempts() != 1 {
		f.sdkRetries++
	}
	return pop(errs)
}

// serve is the prologue of every fake operation: under f.mu it records the
// call of name and returns the next error injected into errs, if any, before
// it runs op.
func serve[Out any](f *fakeLogs, name string, optFns []func(*cloudwatchlogs.Options), errs *[]error, op func() (*Out, error)) (*Out, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(name, optFns, errs); err != nil {
		return nil, err
	}
	return op()
}

var (
	errGroupNotFound  = apiErr(400, &types.ResourceNotFoundException{Message: strp("The specified log group does not exist.")})
	errStreamNotFound = apiErr(400, &types.ResourceNotFoundException{Message: strp("The specified log stream does not exist.")})
	errExists         = apiErr(400, &types.ResourceAlreadyExistsException{Message: strp("The specified resource already exists.")})
	errThrottled      = apiErr(400, &types.ThrottlingException{Message: strp("Rate exceeded")})
	errInvalid        = apiErr(400, &types.InvalidParameterException{Message: strp("bad")})
	errUnavailable    = apiErr(503, &types.ServiceUnavailableException{Message: strp("down")})
)

func (f *fakeLogs) PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error) {
	return serve(f, "PutLogEvents", optFns, &f.putErrs, func() (*cloudwatchlogs.PutLogEventsOutput, error) {
		k := buffer.StreamKey{Group: *in.LogGroupName, Stream: *in.LogStreamName}
		if _, ok := f.groups[k.Group]; !ok {
			return nil, errGroupNotFound
		}
		if _, ok := f.streams[k]; !ok {
			return nil, errStreamNotFound
		}
		for i, e := range in.LogEvents {
			if i > 0 && *e.Timestamp < *in.LogEvents[i-1].Timestamp {
				return nil, errInvalid
			}
			f.streams[k] = append(f.streams[k], strings.Clone(*e.Message))
		}
		if f.putOut != nil {
			return f.putOut(in), nil
		}
		return &cloudwatchlogs.PutLogEventsOutput{}, nil
	})
}

func (f *fakeLogs) CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error) {
	return serve(f, "CreateLogGroup", optFns, &f.groupErrs, func() (*cloudwatchlogs.CreateLogGroupOutput, error) {
		if _, ok := f.groups[*in.LogGroupName]; ok {
			return nil, errExists
		}
		f.groups[*in.LogGroupName] = in.Tags
		return &cloudwatchlogs.CreateLogGroupOutput{}, nil
	})
}

func (f *fakeLogs) CreateLogStream(ctx context.Context, in *cloudwatchlogs.CreateLogStreamInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error) {
	return serve(f, "CreateLogStream", optFns, &f.streamErrs, func() (*cloudwatchlogs.CreateLogStreamOutput, error) {
		k := buffer.StreamKey{Group: *in.LogGroupName, Stream: *in.LogStreamName}
		if _, ok := f.groups[k.Group]; !ok {
			return nil, errGroupNotFound
		}
		if _, ok := f.streams[k]; ok {
			return nil, errExists
		}
		f.streams[k] = nil
		return &cloudwatchlogs.CreateLogStreamOutput{}, nil
	})
}

func (f *fakeLogs) PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error) {
	return serve(f, "PutRetentionPolicy", optFns, &f.retErrs, func() (*cloudwatchlogs.PutRetentionPolicyOutput, error) {
		f.retention[*in.LogGroupName] = *in.RetentionInDays
		return &cloudwatchlogs.PutRetentionPolicyOutput{}, nil
	})
}

func (f *fakeLogs) callList() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, ",")
}

func (f *fakeLogs) stored(k buffer.StreamKey) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.streams[k]...)
}

var key = buffer.StreamKey{Group: "/k8s/prod", Stream: "web-1"}

// testNow is the sink's clock in these tests.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func newTestSink(t *testing.T, cfg Config, api logsAPI) (*CloudWatch, *observer.ObservedLogs) {
	t.Helper()
	if cfg.LogGroupName == "" && !cfg.UseTagAsGroup && cfg.LogGroupNameKey == "" {
		cfg.LogGroupName = key.Group
	}
	if cfg.LogStreamName == "" && !cfg.UseTagAsStream && cfg.LogStreamNameKey == "" {
		cfg.LogStreamName = key.Stream
	}
	core, logs := observer.New(zap.DebugLevel)
	c, err := New(cfg, api, zap.New(core))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.now = func() time.Time { return testNow }
	return c, logs
}

// chunkOf returns a chunk for key with messages at testNow plus offsets in ms.
// mustSend sends ch through c and fails the test on an error.
func mustSend(t *testing.T, c *CloudWatch, ch *buffer.Chunk) {
	t.Helper()
	if err := c.Send(context.Background(), ch); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func chunkOf(msgs ...string) *buffer.Chunk {
	ch := &buffer.Chunk{ID: "c1", Key: key}
	for i, m := range msgs {
		ch.Records = append(ch.Records, buffer.Record{
			Time: testNow.Add(time.Duration(i) * time.Millisecond).UnixNano(), Key: key,
			Message: []byte(m), Offset: int64(i + 1),
		})
	}
	return ch
}

func msgs(n int) []string {
	m := make([]string, n)
	for i := range m {
		m[i] = fmt.Sprintf("line %d", i)
	}
	return m
}

func TestCloudWatch_Send(t *testing.T) {
	t.Run("sorted, stable, delivered once", func(t *testing.T) {
		f := newFake()
		f.addStream(key)
		c, _ := newTestSink(t, Config{}, f)
		ch := chunkOf("a", "b", "c", "d")
		// d earliest; b and c share a millisecond and keep their order.
		ch.Records[3].Time = testNow.Add(-time.Second).UnixNano()
		ch.Records[2].Time = ch.Records[1].Time + 1000
		mustSend(t, c, ch)
		if got, want := strings.Join(f.stored(key), ""), "dabc"; got != want {
			t.Errorf("stored %q, want %q", got, want)
		}
		if ch.Sent != 4 {
			t.Errorf("Sent = %d, want 4", ch.Sent)
		}
		if ch.Records[0].Offset != 4 {
			t.Errorf("Records not sorted in place: first offset %d, want 4", ch.Records[0].Offset)
		}
		st := c.Stats()
		if st.Requests != 1 || st.Events != 4 || st.PayloadBytes != 4 || st.QuotaBytes != 4+4*EventOverhead {
			t.Errorf("Stats() = %+v", st)
		}
		if g := st.Groups[key.Group]; g.Events != 4 || g.PayloadBytes != 4 {
			t.Errorf("group stats %+v", g)
		}
		if f.sdkRetries != 0 {
			t.Errorf("%d calls left SDK retries on", f.sdkRetries)
		}
		// Sending a delivered chunk again does nothing.
		if err := c.Send(context.Background(), ch); err != nil || f.callList() != "PutLogEvents" {
			t.Errorf("second Send: %v, calls %s", err, f.callList())
		}
	})

	t.Run("partial success then retry re-sends nothing", func(t *testing.T) {
		f := newFake()
		f.addStream(key)
		f.putErrs = []error{nil, errThrottled}
		c, _ := newTestSink(t, Config{MaxEventsPerBatch: 2}, f)
		ch := chunkOf(msgs(5)...)
		err := c.Send(context.Background(), ch)
		if err == nil || errors.Is(err, buffer.ErrPermanent) {
			t.Fatalf("Send = %v, want a retryable error", err)
		}
		if ch.Sent != 2 {
			t.Fatalf("Sent = %d after one good request, want 2", ch.Sent)
		}
		if err := c.Send(context.Background(), ch); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if got, want := strings.Join(f.stored(key), ","), strings.Join(msgs(5), ","); got != want {
			t.Errorf("stored %s, want %s", got, want)
		}
		st := c.Stats()
		if st.Requests != 3 || st.Events != 5 || st.Errors.Throttled != 1 {
			t.Errorf("Stats() = %+v", st)
		}
	})

	for _, reload := range []bool{false, true} {
		name := "split record straddling requests is resumed, not repeated"
		if reload {
			name += " (records read back from disk)"
		}
		t.Run(name, func(t *testing.T) {
			f := newFake()
			f.addStream(key)
			f.putErrs = []error{nil, errUnavailable}
			c, _ := newTestSink(t, Config{MaxEventSize: 64}, f) // 38 message bytes per event
			c.lim.maxBytes = 3 * 64                             // 3 pieces per request
			var sb strings.Builder
			for i := 0; sb.Len() < 300; i++ {
				fmt.Fprintf(&sb, "%03d|\xff", i) // invalid UTF-8: pieces of the sanitised text
			}
			orig := sb.String()
			clean := strings.ToValidUTF8(orig, "\uFFFD")
			ch := chunkOf("tail", orig)
			ch.Records[0].Time += 2 * int64(time.Millisecond) // "tail" sorts after the long record
			onDisk := slices.Clone(ch.Records)
			if err := c.Send(context.Background(), ch); err == nil {
				t.Fatal("Send = nil, want the injected 503")
			}
			if rest := string(ch.Records[0].Message); ch.Sent != 0 || !strings.HasSuffix(clean, rest) ||
				len(rest) >= len(clean) || len(rest) < len(clean)-3*38 {
				t.Fatalf("Sent %d, first message %q, want 0 and the undelivered rest", ch.Sent, ch.Records[0].Message)
			}
			if reload {
				ch.Records = slices.Clone(onDisk) // unsorted, messages whole
			}
			if err := c.Send(context.Background(), ch); err != nil {
				t.Fatalf("retry: %v", err)
			}
			got := f.stored(key)
			if joined := strings.Join(got[:len(got)-1], ""); joined != clean || got[len(got)-1] != "tail" {
				t.Fatalf("stored %q, want the record once then tail", got)
			}
			if st := c.Stats(); st.Split != uint64(len(got)-2) || st.Errors.Server != 1 {
				t.Errorf("Stats() = %+v, want %d splits, 1 server error", st, len(got)-2)
			}
		})
	}

	t.Run("missing stream created, request sent once more", func(t *testing.T) {
		f := newFake()
		f.groups[key.Group] = nil
		c, logs := newTestSink(t, Config{AutoCreateStream: true}, f)
		mustSend(t, c, chunkOf("x"))
		if got, want := f.callList(), "PutLogEvents,CreateLogStream,PutLogEvents"; got != want {
			t.Errorf("calls %s, want %s", got, want)
		}
		if st := c.Stats(); st.StreamsCreated != 1 || st.GroupsCreated != 0 || st.Errors.NotFound != 1 {
			t.Errorf("Stats() = %+v", st)
		}
		if logs.FilterMessage("created log stream").Len() != 1 {
			t.Errorf("no log line for the created stream")
		}
	})

	t.Run("missing group created with tags and retention", func(t *testing.T) {
		f := newFake()
		tags := map[string]string{"team": "web"}
		c, _ := newTestSink(t, Config{AutoCreateStream: true, RetentionInDays: 14, LogGroupAWSTags: tags}, f)
		mustSend(t, c, chunkOf("x"))
		want := "PutLogEvents,CreateLogStream,CreateLogGroup,PutRetentionPolicy,CreateLogStream,PutLogEvents"
		if got := f.callList(); got != want {
			t.Errorf("calls %s, want %s", got, want)
		}
		if f.groups[key.Group]["team"] != "web" || f.retention[key.Group] != 14 {
			t.Errorf("group tags %v retention %d", f.groups[key.Group], f.retention[key.Group])
		}
		if st := c.Stats(); st.StreamsCreated != 1 || st.GroupsCreated != 1 {
			t.Errorf("Stats() = %+v", st)
		}
	})

	t.Run("already exists is success", func(t *testing.T) {
		f := newFake()
		f.addStream(key)
		f.putErrs = []error{errStreamNotFound} // a stale not-found
		c, _ := newTestSink(t, Config{AutoCreateStream: true}, f)
		mustSend(t, c, chunkOf("x"))
		if got, want := f.callList(), "PutLogEvents,CreateLogStream,PutLogEvents"; got != want {
			t.Errorf("calls %s, want %s", got, want)
		}
		if len(f.stored(key)) != 1 {
			t.Errorf("stored %v", f.stored(key))
		}
	})

	t.Run("group already exists while creating", func(t *testing.T) {
		// The group appears between the not-found and CreateLogGroup.
		f := newFake()
		f.groups[key.Group] = nil
		f.putErrs = []error{errStreamNotFound}
		f.streamErrs = []error{errGroupNotFound}
		c, _ := newTestSink(t, Config{AutoCreateStream: true, RetentionInDays: 7}, f)
		mustSend(t, c, chunkOf("x"))
		want := "PutLogEvents,CreateLogStream,CreateLogGroup,CreateLogStream,PutLogEvents"
		if got := f.callList(); got != want {
			t.Errorf("calls %s, want %s (no retention on a group we did not create)", got, want)
		}
	})

	t.Run("not found without auto-create is permanent", func(t *testing.T) {
		f := newFake()
		c, _ := newTestSink(t, Config{}, f)
		ch := chunkOf("x")
		err := c.Send(context.Background(), ch)
		if !errors.Is(err, buffer.ErrPermanent) {
			t.Fatalf("Send = %v, want ErrPermanent", err)
		}
		var rnf *types.ResourceNotFoundException
		if !errors.As(err, &rnf) {
			t.Errorf("Send = %v, want the ResourceNotFoundException kept", err)
		}
		if ch.Sent != 0 || f.callList() != "PutLogEvents" {
			t.Errorf("Sent %d, calls %s", ch.Sent, f.callList())
		}
	})

	t.Run("still not found after creating is retryable", func(t *testing.T) {
		f := newFake()
		f.addStream(key)
		f.putErrs = []error{errStreamNotFound, errStreamNotFound}
		c, _ := newTestSink(t, Config{AutoCreateStream: true}, f)
		err := c.Send(context.Background(), chunkOf("x"))
		if err == nil || errors.Is(err, buffer.ErrPermanent) {
			t.Fatalf("Send = %v, want a retryable error", err)
		}
		if got, want := f.callList(), "PutLogEvents,CreateLogStream,PutLogEvents"; got != want {
			t.Errorf("calls %s, want %s (one retry only)", got, want)
		}
	})

	t.Run("permanent errors wrapped", func(t *testing.T) {
		for _, e := range []error{errInvalid, apiErr(400, &types.UnrecognizedClientException{}), apiErr(400, code("AccessDeniedException"))} {
			f := newFake()
			f.addStream(key)
			f.putErrs = []error{e}
			c, _ := newTestSink(t, Config{}, f)
			ch := chunkOf("x")
			err := c.Send(context.Background(), ch)
			if !errors.Is(err, buffer.ErrPermanent) || !errors.Is(err, e) {
				t.Errorf("Send = %v, want ErrPermanent wrapping %v", err, e)
			}
			if ch.Sent != 0 {
				t.Errorf("Sent = %d", ch.Sent)
			}
		}
	})

	t.Run("retryable errors returned as they are", func(t *testing.T) {
		for _, e := range []error{errThrottled, errUnavailable, context.DeadlineExceeded} {
			f := newFake()
			f.addStream(key)
			f.putErrs = []error{e}
			c, _ := newTestSink(t, Config{}, f)
			err := c.Send(context.Background(), chunkOf("x"))
			if err == nil || errors.Is(err, buffer.ErrPermanent) || !errors.Is(err, e) {
				t.Errorf("Send = %v, want %v unwrapped from ErrPermanent", err, e)
			}
		}
	})

	t.Run("auth errors drop cached credentials", func(t *testing.T) {
		f := newFake()
		f.addStream(key)
		f.putErrs = []error{apiErr(400, code("ExpiredTokenException"))}
		c, _ := newTestSink(t, Config{}, f)
		invalidated := 0
		c.invalidate = func() { invalidated++ }
		err := c.Send(context.Background(), chunkOf("x"))
		if err == nil || errors.Is(err, buffer.ErrPermanent) || invalidated != 1 {
			t.Fatalf("Send = %v, invalidated %d; want retryable and 1", err, invalidated)
		}
	})

	t.Run("already accepted counts as delivered", func(t *testing.T) {
		f := newFake()
		f.addStream(key)
		f.putErrs = []error{apiErr(400, &types.DataAlreadyAcceptedException{})}
		c, _ := newTestSink(t, Config{}, f)
		ch := chunkOf("x")
		if err := c.Send(context.Background(), ch); err != nil || ch.Sent != 1 {
			t.Fatalf("Send = %v, Sent %d; want nil, 1", err, ch.Sent)
		}
	})

	t.Run("invalid destination is permanent without a call", func(t *testing.T) {
		f := newFake()
		c, _ := newTestSink(t, Config{}, f)
		ch := chunkOf("x")
		ch.Key = buffer.StreamKey{Group: "g", Stream: "a:b"}
		if err := c.Send(context.Background(), ch); !errors.Is(err, buffer.ErrPermanent) {
			t.Fatalf("Send = %v, want ErrPermanent", err)
		}
		if f.callList() != "" {
			t.Errorf("calls %s, want none", f.callList())
		}
	})

	t.Run("chunk key falls back to the records' key", func(t *testing.T) {
		f := newFake()
		f.addStream(key)
		c, _ := newTestSink(t, Config{}, f)
		ch := chunkOf("x")
		ch.Key = buffer.StreamKey{}
		if err := c.Send(context.Background(), ch); err != nil || len(f.stored(key)) != 1 {
			t.Fatalf("Send = %v, stored %v", err, f.stored(key))
		}
	})

	t.Run("nothing sendable: dropped, counted, no call", func(t *testing.T) {
		f := newFake()
		c, _ := newTestSink(t, Config{}, f)
		ch := chunkOf("", "old", "new")
		ch.Records[1].Time = testNow.Add(-15 * 24 * time.Hour).UnixNano()
		ch.Records[2].Time = testNow.Add(3 * time.Hour).UnixNano()
		if err := c.Send(context.Background(), ch); err != nil || ch.Sent != 3 {
			t.Fatalf("Send = %v, Sent %d; want nil, 3", err, ch.Sent)
		}
		if st := c.Stats(); st.Dropped != (DropStats{TooOld: 1, TooNew: 1, Empty: 1}) {
			t.Errorf("Dropped = %+v", st.Dropped)
		}
		if f.callList() != "" {
			t.Errorf("calls %s, want none", f.callList())
		}
	})

	t.Run("drops counted once across a retry", func(t *testing.T) {
		f := newFake()
		f.addStream(key)
		f.putErrs = []error{errThrottled}
		c, _ := newTestSink(t, Config{}, f)
		ch := chunkOf("", "a")
		for range 2 {
			c.Send(context.Background(), ch)
		}
		if st := c.Stats(); st.Dropped.Empty != 1 || st.Events != 1 {
			t.Errorf("Stats() = %+v, want 1 empty drop, 1 event", st)
		}
	})
}

func TestCloudWatch_Rejected(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	tests := []struct {
		name      string
		info      *types.RejectedLogEventsInfo
		want      RejectStats
		logLevels string
	}{
		{"none", nil, RejectStats{}, ""},
		{"too old prefix", &types.RejectedLogEventsInfo{TooOldLogEventEndIndex: i32(2)}, RejectStats{TooOld: 2}, "warn"},
		{"too new suffix", &types.RejectedLogEventsInfo{TooNewLogEventStartIndex: i32(8)}, RejectStats{TooNew: 2}, "warn"},
		{"expired beyond too old", &types.RejectedLogEventsInfo{TooOldLogEventEndIndex: i32(1), ExpiredLogEventEndIndex: i32(3)}, RejectStats{TooOld: 1, Expired: 2}, "warn"},
		{"all three", &types.RejectedLogEventsInfo{TooOldLogEventEndIndex: i32(1), ExpiredLogEventEndIndex: i32(2), TooNewLogEventStartIndex: i32(9)}, RejectStats{TooOld: 1, Expired: 1, TooNew: 1}, "warn"},
		{"indexes out of range clamped", &types.RejectedLogEventsInfo{TooOldLogEventEndIndex: i32(50), TooNewLogEventStartIndex: i32(-3)}, RejectStats{TooOld: 10}, "warn"},
	}
	for _, tt := range tests {
		for _, logRejected := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/log_rejected_request=%v", tt.name, logRejected), func(t *testing.T) {
				f := newFake()
				f.addStream(key)
				f.putOut = func(*cloudwatchlogs.PutLogEventsInput) *cloudwatchlogs.PutLogEventsOutput {
					return &cloudwatchlogs.PutLogEventsOutput{RejectedLogEventsInfo: tt.info}
				}
				c, logs := newTestSink(t, Config{LogRejectedRequest: logRejected}, f)
				mustSend(t, c, chunkOf(msgs(10)...))
				if got := c.Stats().Rejected; got != tt.want {
					t.Errorf("Rejected = %+v, want %+v", got, tt.want)
				}
				entries := logs.FilterMessage("CloudWatch Logs rejected events").All()
				if tt.logLevels == "" {
					if len(entries) != 0 {
						t.Errorf("logged %d rejections, want none", len(entries))
					}
					return
				}
				want := "debug"
				if logRejected {
					want = "warn"
				}
				if len(entries) != 1 || entries[0].Level.String() != want {
					t.Errorf("rejection log entries %v, want one at %s", entries, want)
				}
			})
		}
	}
}

func TestCloudWatch_Retention(t *testing.T) {
	t.Run("invalid value logged and ignored", func(t *testing.T) {
		f := newFake()
		f.retErrs = []error{errInvalid}
		c, logs := newTestSink(t, Config{AutoCreateStream: true, RetentionInDays: 14}, f)
		mustSend(t, c, chunkOf("x"))
		mustSend(t, c, chunkOf("y"))
		if n := strings.Count(f.callList(), "PutRetentionPolicy"); n != 1 {
			t.Errorf("PutRetentionPolicy called %d times, want 1: %s", n, f.callList())
		}
		if logs.FilterMessage("retention policy rejected; ignored").Len() != 1 || c.Stats().RetentionErrors != 1 {
			t.Errorf("rejected retention not logged or counted")
		}
	})
	t.Run("throttled retention tried again on the next Send", func(t *testing.T) {
		f := newFake()
		f.retErrs = []error{errThrottled}
		c, _ := newTestSink(t, Config{AutoCreateStream: true, RetentionInDays: 14}, f)
		mustSend(t, c, chunkOf("x"))
		if f.retention[key.Group] != 0 {
			t.Fatalf("retention set despite the injected error")
		}
		mustSend(t, c, chunkOf("y"))
		if f.retention[key.Group] != 14 {
			t.Errorf("retention %d after the second Send, want 14", f.retention[key.Group])
		}
		mustSend(t, c, chunkOf("z"))
		if n := strings.Count(f.callList(), "PutRetentionPolicy"); n != 2 {
			t.Errorf("PutRetentionPolicy called %d times, want 2", n)
		}
	})
}

// TestCloudWatch_Concurrent sends to many new streams from several
// goroutines at once (run with -race).
func TestCloudWatch_Concurrent(t *testing.T) {
	f := newFake()
	c, _ := newTestSink(t, Config{AutoCreateStream: true, RetentionInDays: 1}, f)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				ch := chunkOf(msgs(3)...)
				ch.Key = buffer.StreamKey{Group: key.Group, Stream: fmt.Sprintf("s-%d-%d", g, i)}
				if err := c.Send(context.Background(), ch); err != nil {
					t.Errorf("Send: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	st := c.Stats()
	if st.Events != 8*5*3 || st.StreamsCreated != 40 || st.GroupsCreated != 1 {
		t.Errorf("Stats() = %+v", st)
	}
}

func TestNew_Validates(t *testing.T) {
	if _, err := New(Config{}, newFake(), nil); err == nil {
		t.Fatal("New with no destination = nil error")
	}
}
