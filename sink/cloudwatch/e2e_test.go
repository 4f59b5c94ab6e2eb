package cloudwatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"logship/buffer"
	"logship/sink/cloudwatch"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

// pipeline formats records the way the agent does (Formatter, then a copy
// of Message as buffer.Add makes) and groups them into chunks by
// destination, at most perChunk records each.
type pipeline struct {
	t        *testing.T
	f        *cloudwatch.Formatter
	perChunk int
	chunks   []*buffer.Chunk
	open     map[buffer.StreamKey]*buffer.Chunk
	want     map[buffer.StreamKey][]buffer.Record // formatted records per stream
}

func newPipeline(t *testing.T, cfg cloudwatch.Config, perChunk int) *pipeline {
	f, err := cloudwatch.NewFormatter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &pipeline{t: t, f: f, perChunk: perChunk, open: map[buffer.StreamKey]*buffer.Chunk{}, want: map[buffer.StreamKey][]buffer.Record{}}
}

func (p *pipeline) add(in buffer.Record) {
	_, out, err := p.f.AppendRecords(nil, nil, &in)
	if err != nil {
		p.t.Fatalf("AppendRecords: %v", err)
	}
	for _, r := range out {
		p.addFormatted(r)
	}
}

func (p *pipeline) addFormatted(r buffer.Record) {
	r.Message = slices.Clone(r.Message)
	ch := p.open[r.Key]
	if ch == nil || len(ch.Records) == p.perChunk {
		ch = &buffer.Chunk{ID: fmt.Sprint(len(p.chunks)), Key: r.Key}
		p.open[r.Key] = ch
		p.chunks = append(p.chunks, ch)
	}
	ch.Records = append(ch.Records, r)
	ch.Bytes += len(r.Message)
	p.want[r.Key] = append(p.want[r.Key], r)
}

// snapshot copies the chunks as they are before sending: Send sorts records
// and shortens partly delivered ones in place.
func (p *pipeline) snapshot() []*buffer.Chunk {
	out := make([]*buffer.Chunk, len(p.chunks))
	for i, ch := range p.chunks {
		c := *ch
		c.Records = slices.Clone(ch.Records)
		out[i] = &c
	}
	return out
}

// sendAll delivers every chunk in order, retrying retryable errors as the
// buffer would (with a short pause), and fails on a permanent error or when
// deadline passes. It returns the number of retries.
func sendAll(t *testing.T, s *cloudwatch.CloudWatch, chunks []*buffer.Chunk, deadline time.Duration) int {
	t.Helper()
	ctx := context.Background()
	end := time.Now().Add(deadline)
	retries := 0
	for _, ch := range chunks {
		for {
			err := s.Send(ctx, ch)
			if err == nil {
				break
			}
			if errors.Is(err, buffer.ErrPermanent) {
				t.Fatalf("Send(chunk %s): permanent error %v", ch.ID, err)
			}
			if time.Now().After(end) {
				t.Fatalf("Send(chunk %s): still failing after %v: %v", ch.ID, deadline, err)
			}
			retries++
			time.Sleep(5 * time.Millisecond)
		}
		if ch.Sent != len(ch.Records) {
			t.Fatalf("chunk %s: Sent %d of %d after a nil Send", ch.ID, ch.Sent, len(ch.Records))
		}
	}
	return retries
}

// expected returns the messages a stream must hold: the records sorted by
// millisecond (stable), oversized messages as their pieces, invalid UTF-8
// replaced. Records are re-sorted per chunk by the sink, so the order is per
// chunk, chunks in sending order.
func expected(chunks []*buffer.Chunk, key buffer.StreamKey, maxMsg int) []string {
	var out []string
	for _, ch := range chunks {
		if ch.Key != key {
			continue
		}
		recs := slices.Clone(ch.Records)
		slices.SortStableFunc(recs, func(a, b buffer.Record) int {
			return int(a.Time/1e6 - b.Time/1e6)
		})
		for _, r := range recs {
			m := string(buffer.AppendValidUTF8(nil, r.Message))
			for len(m) > maxMsg {
				n := maxMsg
				for n > 0 && m[n]&0xC0 == 0x80 {
					n--
				}
				out = append(out, m[:n])
				m = m[n:]
			}
			out = append(out, m)
		}
	}
	return out
}

// TestCloudWatch_Emulator runs the sink against the emulator over real HTTP.
func TestCloudWatch_Emulator(t *testing.T) {
	const group = "/k8s/e2e"
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))

	t.Run("auto-create, format, split, deliver", func(t *testing.T) {
		env := emulatortest.Start(t, emulator.Config{MaxEventSize: cloudwatch.LegacyMaxEventSize})
		cfg := cloudwatch.Config{
			LogGroupName: group, UseTagAsStream: true, AutoCreateStream: true,
			RetentionInDays: 7, LogGroupAWSTags: map[string]string{"cluster": "e2e"},
			MaxEventSize: cloudwatch.LegacyMaxEventSize, IncludeTimeKey: true,
		}
		s, err := cloudwatch.New(cfg, env.Client, log)
		if err != nil {
			t.Fatal(err)
		}
		p := newPipeline(t, cfg, 1000)
		base := time.Now().Add(-time.Minute)
		big := strings.Repeat("é", 300_000) // 600,000 bytes: three events under the old limit
		for i := range 50 {
			msg := fmt.Sprintf("line %d", i)
			switch i {
			case 7:
				msg = big
			case 9:
				msg = "bad \xff utf-8"
			}
			p.add(buffer.Record{
				Time: base.Add(time.Duration(i) * time.Millisecond).UnixNano(), Tag: fmt.Sprintf("app.%d", i%2),
				Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte(msg))}},
			})
		}
		before := p.snapshot()
		sendAll(t, s, p.chunks, 30*time.Second)
		for _, stream := range []string{"app.0", "app.1"} {
			key := buffer.StreamKey{Group: group, Stream: stream}
			want := expected(before, key, cloudwatch.LegacyMaxEventSize-cloudwatch.EventOverhead)
			if got := env.Messages(group, stream); !slices.Equal(got, want) {
				t.Errorf("stream %s: %d messages stored, want %d (first difference at %d)", stream, len(got), len(want), firstDiff(got, want))
			}
		}
		st := s.Stats()
		if st.GroupsCreated != 1 || st.StreamsCreated != 2 || st.Split != 0 || st.Errors.Permanent != 0 {
			t.Errorf("Stats() = %+v (the formatter splits, the sink has nothing left to cut)", st)
		}
		if fs := p.f.Stats(); fs.Split != 1 || fs.Pieces != 3 {
			t.Errorf("formatter Stats() = %+v, want 1 record split into 3 pieces", fs)
		}
		out, err := env.Client.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
		if err != nil || len(out.LogGroups) != 1 || aws.ToInt32(out.LogGroups[0].RetentionInDays) != 7 {
			t.Errorf("DescribeLogGroups = %+v, %v; want the group with 7 days retention", out, err)
		}
	})

	t.Run("2 MiB lines: every event a whole record, pieces in order", func(t *testing.T) {
		for _, maxEvent := range []int{cloudwatch.MaxEventSize, cloudwatch.LegacyMaxEventSize} {
			env := emulatortest.Start(t, emulator.Config{MaxEventSize: maxEvent})
			cfg := cloudwatch.Config{LogGroupName: group, LogStreamName: "big", AutoCreateStream: true, MaxEventSize: maxEvent}
			s, err := cloudwatch.New(cfg, env.Client, log)
			if err != nil {
				t.Fatal(err)
			}
			p := newPipeline(t, cfg, 4)
			base := time.Now().Add(-time.Minute).UnixNano()
			var lines [][]byte
			for i := range 3 {
				line := append(fmt.Appendf(nil, "line %d ", i), bigText(2<<20)...)
				if i == 1 {
					line = append(line, "ÿâ end"...)
				}
				lines = append(lines, line)
				p.add(buffer.Record{Time: base + int64(i)*1e6, Tag: "app", Fields: kubeFields(line)})
				p.add(buffer.Record{Time: base + int64(i)*1e6, Tag: "app", Fields: kubeFields(fmt.Appendf(nil, "small %d", i))})
			}
			sendAll(t, s, p.chunks, 60*time.Second)
			got := env.Messages(group, "big")
			// Reassemble: pieces of one id in ordinal order, with the
			// same other fields; small lines between the big ones.
			var texts []string
			var cur strings.Builder
			var id any
			ord := 0
			for i, m := range got {
				var rec map[string]any
				if err := json.Unmarshal([]byte(m), &rec); err != nil {
					t.Fatalf("max event %d: event %d is not a JSON object: %v", maxEvent, i, err)
				}
				if rec["stream"] != "stdout" || rec["kubernetes"].(map[string]any)["pod_name"] != "web-1" {
					t.Fatalf("max event %d: event %d lost fields: %.200s", maxEvent, i, m)
				}
				if rec["partial_id"] == nil {
					if ord != 0 {
						t.Fatalf("max event %d: event %d (unsplit) inside a split record", maxEvent, i)
					}
					texts = append(texts, rec["log"].(string))
					continue
				}
				if ord == 0 {
					id = rec["partial_id"]
				}
				ord++
				if rec["partial_id"] != id || rec["partial_ordinal"] != strconv.Itoa(ord) {
					t.Fatalf("max event %d: event %d: piece %v/%v, want %v/%d", maxEvent, i, rec["partial_id"], rec["partial_ordinal"], id, ord)
				}
				cur.WriteString(rec["log"].(string))
				if rec["partial_last"] == "true" {
					texts = append(texts, cur.String())
					cur.Reset()
					ord = 0
				}
			}
			var want []string
			for i, l := range lines {
				want = append(want, string(buffer.AppendValidUTF8(nil, l)), fmt.Sprintf("small %d", i))
			}
			if !slices.Equal(texts, want) {
				t.Fatalf("max event %d: %d lines reassembled from %d events, want %d (first difference at %d)", maxEvent, len(texts), len(got), len(want), firstDiff(texts, want))
			}
			fs := p.f.Stats()
			if es := env.Server.Stats(); es.Errors["InvalidParameterException"] != 0 || fs.Split != 3 || int(fs.Pieces) != len(got)-3 {
				t.Errorf("max event %d: emulator errors %v, formatter %+v, %d events", maxEvent, es.Errors, fs, len(got))
			}
			t.Logf("max event %d: 3 lines of 2 MiB as %d pieces", maxEvent, fs.Pieces)
		}
	})

	t.Run("throttling and an outage: everything once, in order", func(t *testing.T) {
		env := emulatortest.Start(t, emulator.Config{Faults: emulator.FaultConfig{ThrottleRate: 0.3, ServerErrorRate: 0.05, Seed: 7}})
		cfg := cloudwatch.Config{
			LogGroupName: group, LogStreamNameKey: "stream", RemoveLogStreamNameKey: true,
			AutoCreateStream: true, MaxEventsPerBatch: 200,
		}
		s, err := cloudwatch.New(cfg, env.Client, log)
		if err != nil {
			t.Fatal(err)
		}
		p := newPipeline(t, cfg, 1500)
		base := time.Now().Add(-10 * time.Minute)
		const n = 12_000
		for i := range n {
			ts := base.Add(time.Duration(i) * time.Millisecond)
			if i%97 == 0 {
				ts = ts.Add(-50 * time.Millisecond) // out of order within its chunk
			}
			p.add(buffer.Record{
				Time: ts.UnixNano(),
				Fields: buffer.Fields{
					{Key: "stream", Value: buffer.Str(fmt.Appendf(nil, "pod-%d", i%3))},
					{Key: "log", Value: buffer.Str(fmt.Appendf(nil, "event %06d %s", i, strings.Repeat("x", i%50)))},
				},
			})
		}
		// The outage starts once a third of the events are stored (in the
		// middle of a chunk) and lasts 300 ms.
		done := make(chan struct{})
		outage := make(chan time.Time, 1)
		go func() {
			defer close(outage)
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for env.Server.Stats().EventsAccepted < n/3 {
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
			now := time.Now()
			env.Server.Faults().Outage(now, now.Add(300*time.Millisecond))
			outage <- now
		}()
		before := p.snapshot()
		retries := sendAll(t, s, p.chunks, 60*time.Second)
		close(done)
		if _, ok := <-outage; !ok {
			t.Fatalf("the outage never started")
		}

		total := 0
		for i := range 3 {
			stream := fmt.Sprintf("pod-%d", i)
			key := buffer.StreamKey{Group: group, Stream: stream}
			want := expected(before, key, cloudwatch.MaxEventSize-cloudwatch.EventOverhead)
			got := env.Messages(group, stream)
			if !slices.Equal(got, want) {
				t.Errorf("stream %s: %d messages stored, want %d (first difference at %d)", stream, len(got), len(want), firstDiff(got, want))
			}
			total += len(got)
		}
		if total != n {
			t.Errorf("stored %d events, want %d", total, n)
		}
		es := env.Server.Stats()
		st := s.Stats()
		if es.Throttled == 0 || es.OutageRequests == 0 || retries == 0 {
			t.Errorf("faults not exercised: emulator %+v, %d retries", es, retries)
		}
		if st.Events != n || st.Errors.Throttled == 0 || st.Errors.Network == 0 || st.Errors.Permanent != 0 {
			t.Errorf("sink Stats() = %+v", st)
		}
		t.Logf("%d events in %d requests; %d retries: %d throttled, %d server errors, %d network errors",
			st.Events, st.Requests, retries, st.Errors.Throttled, st.Errors.Server, st.Errors.Network)
	})

	t.Run("every limit at once: the emulator accepts every request", func(t *testing.T) {
		// An independent check of the cutter: the emulator enforces the
		// order, size, count and 24-hour rules and would answer
		// InvalidParameterException (a permanent error here) to any request
		// that broke one.
		for _, maxEvent := range []int{cloudwatch.MaxEventSize, cloudwatch.LegacyMaxEventSize} {
			env := emulatortest.Start(t, emulator.Config{MaxEventSize: maxEvent})
			cfg := cloudwatch.Config{LogGroupName: group, LogStreamName: "limits", AutoCreateStream: true,
				MessageKeys: []string{"log"}, MaxEventSize: maxEvent}
			s, err := cloudwatch.New(cfg, env.Client, log)
			if err != nil {
				t.Fatal(err)
			}
			p := newPipeline(t, cfg, 40_000)
			now := time.Now()
			sizes := []int{1, 10, 100, 1000, 30_000, 300_000, 1_100_000, 2_500_000}
			for i := range 20_000 {
				// Three days of events, a few out of order, sizes from 1 byte
				// to 2.5 MB (the big ones are split), some non-ASCII.
				ts := now.Add(-3*24*time.Hour + time.Duration(i)*12*time.Second)
				if i%1000 == 0 {
					ts = ts.Add(-time.Hour)
				}
				size := 20
				if i%1000 == 0 {
					size = sizes[(i/1000)%len(sizes)]
				}
				msg := strings.Repeat("é", size/4) + strings.Repeat("x", size-size/4*2)
				p.add(buffer.Record{Time: ts.UnixNano(), Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte(msg))}}})
			}
			before := p.snapshot()
			sendAll(t, s, p.chunks, 60*time.Second)
			key := buffer.StreamKey{Group: group, Stream: "limits"}
			want := expected(before, key, maxEvent-cloudwatch.EventOverhead)
			if got := env.Messages(group, "limits"); !slices.Equal(got, want) {
				t.Errorf("max event %d: %d messages stored, want %d (first difference at %d)", maxEvent, len(got), len(want), firstDiff(got, want))
			}
			st := s.Stats()
			if es := env.Server.Stats(); es.Errors["InvalidParameterException"] != 0 || st.Split == 0 || st.Requests < 4 {
				t.Errorf("max event %d: emulator errors %v, sink %+v", maxEvent, es.Errors, st)
			}
			t.Logf("max event %d: %d records as %d events in %d requests", maxEvent, 20_000, st.Events, st.Requests)
		}
	})

	t.Run("static keys checked by the emulator", func(t *testing.T) {
		env := emulatortest.Start(t, emulator.Config{AccessKeyID: "AKIDSTRICT", SecretAccessKey: "strict-secret"})
		for _, tt := range []struct {
			key, secret string
			wantErr     bool
		}{{"AKIDSTRICT", "strict-secret", false}, {"AKIDWRONG", "strict-secret", true}, {"AKIDSTRICT", "wrong", true}} {
			cfg := cloudwatch.Config{LogGroupName: group, LogStreamName: "auth", AutoCreateStream: true,
				Region: env.Region, Endpoint: env.URL, AccessKeyID: tt.key, SecretAccessKey: tt.secret}
			s, err := cloudwatch.New(cfg, nil, log)
			if err != nil {
				t.Fatal(err)
			}
			ch := &buffer.Chunk{Key: buffer.StreamKey{Group: group, Stream: "auth"},
				Records: []buffer.Record{{Time: time.Now().UnixNano(), Message: []byte("x")}}}
			err = s.Send(context.Background(), ch)
			switch {
			case !tt.wantErr && err != nil:
				t.Errorf("keys %s/%s: Send = %v", tt.key, tt.secret, err)
			case tt.wantErr && err == nil:
				t.Errorf("keys %s/%s: Send = nil, want an error", tt.key, tt.secret)
			case tt.key != "AKIDSTRICT" && !errors.Is(err, buffer.ErrPermanent):
				t.Errorf("unknown key: Send = %v, want ErrPermanent (UnrecognizedClientException)", err)
			}
		}
	})

	t.Run("strict signatures over many requests: reused bodies, own payload hash", func(t *testing.T) {
		// Bodies are pooled and their SHA-256 is computed by the sink, not
		// the SDK: the emulator recomputes the hash from the bytes it
		// receives and checks the signature of every request.
		env := emulatortest.Start(t, emulator.Config{AccessKeyID: "AKIDSTRICT", SecretAccessKey: "strict-secret"})
		cfg := cloudwatch.Config{LogGroupName: group, LogStreamName: "strict", AutoCreateStream: true, MaxEventsPerBatch: 300,
			Region: env.Region, Endpoint: env.URL, AccessKeyID: "AKIDSTRICT", SecretAccessKey: "strict-secret"}
		s, err := cloudwatch.New(cfg, nil, log)
		if err != nil {
			t.Fatal(err)
		}
		p := newPipeline(t, cfg, 1000)
		base := time.Now().Add(-time.Minute).UnixNano()
		for i := range 6000 {
			// Sizes vary so that a reused buffer holds older, longer bytes.
			p.add(buffer.Record{Time: base + int64(i)*1e6, Fields: kubeFields(fmt.Appendf(nil, "%d %s", i, strings.Repeat("y\"", (i*7919)%300)))})
		}
		before := p.snapshot()
		sendAll(t, s, p.chunks, 60*time.Second)
		key := buffer.StreamKey{Group: group, Stream: "strict"}
		want := expected(before, key, cloudwatch.MaxEventSize-cloudwatch.EventOverhead)
		if got := env.Messages(group, "strict"); !slices.Equal(got, want) {
			t.Errorf("%d messages stored, want %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
		}
		if st := s.Stats(); st.Requests < 20 || st.Errors.Permanent != 0 || st.Errors.Auth != 0 {
			t.Errorf("Stats() = %+v, want 20 or more requests, none refused", st)
		}
	})

	t.Run("missing stream without auto-create is permanent", func(t *testing.T) {
		env := emulatortest.Start(t, emulator.Config{})
		cfg := cloudwatch.Config{LogGroupName: group, LogStreamName: "s"}
		s, err := cloudwatch.New(cfg, env.Client, log)
		if err != nil {
			t.Fatal(err)
		}
		p := newPipeline(t, cfg, 10)
		p.add(buffer.Record{Time: time.Now().UnixNano(), Fields: buffer.Fields{{Key: "log", Value: buffer.Str([]byte("x"))}}})
		err = s.Send(context.Background(), p.chunks[0])
		if !errors.Is(err, buffer.ErrPermanent) {
			t.Fatalf("Send = %v, want ErrPermanent", err)
		}
		env.CreateStream(t, group, "s")
		if err := s.Send(context.Background(), p.chunks[0]); err != nil {
			t.Fatalf("Send after creating the stream: %v", err)
		}
		if got := env.Messages(group, "s"); len(got) != 1 || got[0] != `{"log":"x"}` {
			t.Errorf("stored %q", got)
		}
	})

	t.Run("too old and too new events dropped and counted", func(t *testing.T) {
		env := emulatortest.Start(t, emulator.Config{})
		cfg := cloudwatch.Config{LogGroupName: group, LogStreamName: "s", AutoCreateStream: true, MessageKeys: []string{"log"}}
		s, err := cloudwatch.New(cfg, env.Client, log)
		if err != nil {
			t.Fatal(err)
		}
		p := newPipeline(t, cfg, 10)
		now := time.Now()
		for i, ts := range []time.Time{now.Add(-15 * 24 * time.Hour), now.Add(-14*24*time.Hour - time.Minute), now, now.Add(3 * time.Hour)} {
			p.add(buffer.Record{Time: ts.UnixNano(), Fields: buffer.Fields{{Key: "log", Value: buffer.Str(fmt.Appendf(nil, "e%d", i))}}})
		}
		sendAll(t, s, p.chunks, 10*time.Second)
		if got := env.Messages(group, "s"); !slices.Equal(got, []string{"e2"}) {
			t.Errorf("stored %q, want [e2]", got)
		}
		st := s.Stats()
		// e0 and e3 are outside the window by more than the margin; e1 is
		// inside the margin, sent, and rejected by the emulator.
		if st.Dropped.TooOld != 1 || st.Dropped.TooNew != 1 || st.Rejected.TooOld != 1 || st.Events != 2 {
			t.Errorf("Stats() = %+v", st)
		}
	})
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestNewClient_Endpoint checks where the client built from the SDK chain
// sends requests: Config.Endpoint first, then AWS_ENDPOINT_URL_CLOUDWATCH_LOGS,
// then AWS_ENDPOINT_URL (the SDK reads both), by delivering to an emulator.
func TestNewClient_Endpoint(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", env.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", env.SecretAccessKey)
	t.Setenv("AWS_REGION", env.Region)
	dead := "http://127.0.0.1:1" // nothing listens on port 1
	tests := []struct {
		name, endpoint, serviceEnv, globalEnv string
	}{
		{"Config.Endpoint over both variables", env.URL, dead, dead},
		{"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS over AWS_ENDPOINT_URL", "", env.URL, dead},
		{"AWS_ENDPOINT_URL", "", "", env.URL},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setOrUnset(t, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", tt.serviceEnv)
			setOrUnset(t, "AWS_ENDPOINT_URL", tt.globalEnv)
			cfg := cloudwatch.Config{LogGroupName: "/env", LogStreamName: fmt.Sprint("s", i), AutoCreateStream: true, Endpoint: tt.endpoint}
			s, err := cloudwatch.New(cfg, nil, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			ch := &buffer.Chunk{Key: buffer.StreamKey{Group: "/env", Stream: cfg.LogStreamName},
				Records: []buffer.Record{{Time: time.Now().UnixNano(), Message: []byte("hi")}}}
			if err := s.Send(context.Background(), ch); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got := env.Messages("/env", cfg.LogStreamName); !slices.Equal(got, []string{"hi"}) {
				t.Errorf("stored %q", got)
			}
		})
	}
	t.Run("no SDK retries", func(t *testing.T) {
		cl, err := cloudwatch.NewClient(context.Background(), cloudwatch.Config{Endpoint: env.URL})
		if err != nil {
			t.Fatal(err)
		}
		if got := cl.Options().Retryer.MaxAttempts(); got != 1 {
			t.Errorf("Retryer.MaxAttempts() = %d, want 1", got)
		}
	})
}

func setOrUnset(t *testing.T, name, value string) {
	t.Setenv(name, value) // restores the old value after the test
	if value == "" {
		os.Unsetenv(name)
	}
}
