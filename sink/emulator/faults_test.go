package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"logship/internal/testclock"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

func TestFaults_ThrottleNext(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	env.CreateStream(t, "g", "s")
	ctx := context.Background()
	now := time.Now().UnixMilli()
	env.Server.Faults().ThrottleNext(2)
	for i := range 2 {
		_, err := put(ctx, env, "g", "s", ev(now, "x"))
		if msg := wantErr[throttling]("Rate exceeded")(err); msg != "" {
			t.Fatalf("put %d: %s", i, msg)
		}
	}
	if _, err := put(ctx, env, "g", "s", ev(now, "y")); err != nil {
		t.Fatalf("put after the throttled ones: %v", err)
	}
	if got := env.Messages("g", "s"); !eqStrings(got, []string{"y"}) {
		t.Errorf("stored %q, want [y]: a throttled request must not store anything", got)
	}
	st := env.Server.Stats()
	if st.Throttled != 2 || st.Errors["ThrottlingException"] != 2 || st.Requests["PutLogEvents"] != 3 {
		t.Errorf("stats throttled=%d errors=%v requests=%v, want 2 throttled of 3 PutLogEvents", st.Throttled, st.Errors, st.Requests)
	}
}

func TestFaults_ThrottleStatus400(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	env.Server.Faults().ThrottleNext(1)
	r := rawCall(t, env, "CreateLogGroup", `{"logGroupName":"g"}`, true, nil)
	wantAWSError(t, r, 400, "ThrottlingException", "Rate exceeded")
}

func TestFaults_FailNext(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	env.Server.Faults().FailNext(1)
	r := rawCall(t, env, "CreateLogGroup", `{"logGroupName":"g"}`, true, nil)
	wantAWSError(t, r, 500, "ServiceUnavailableException", "The service cannot complete the request.")
	env.Server.Faults().FailNext(1)
	_, err := env.Client.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")})
	if msg := wantErr[unavailable]("The service cannot complete the request.")(err); msg != "" {
		t.Fatal(msg)
	}
	if _, err := env.Client.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatalf("CreateLogGroup after the injected failures: %v (a failed request must not create the group)", err)
	}
}

// outcomes runs n DescribeLogGroups calls and returns 'o', 't' (throttled)
// or 'e' (5xx) per call.
func outcomes(t *testing.T, env *emulatortest.Env, n int) string {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		_, err := env.Client.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{})
		var th *throttling
		var un *unavailable
		switch {
		case err == nil:
			b[i] = 'o'
		case errors.As(err, &th):
			b[i] = 't'
		case errors.As(err, &un):
			b[i] = 'e'
		default:
			t.Fatalf("call %d: unexpected error %v", i, err)
		}
	}
	return string(b)
}

func count(s string, c byte) int {
	n := 0
	for i := range len(s) {
		if s[i] == c {
			n++
		}
	}
	return n
}

func TestFaults_RatesSeededAndDeterministic(t *testing.T) {
	cfg := emulator.Config{Faults: emulator.FaultConfig{ThrottleRate: 0.2, ServerErrorRate: 0.25, Seed: 42}}
	a := outcomes(t, emulatortest.Start(t, cfg), 400)
	b := outcomes(t, emulatortest.Start(t, cfg), 400)
	if a != b {
		t.Errorf("same seed gave different fault sequences:\n%s\n%s", a, b)
	}
	// Throttle 0.2; 5xx 0.25 of the remaining 0.8 = 0.2.
	if n := count(a, 't'); n < 40 || n > 120 {
		t.Errorf("%d of 400 throttled, want about 80", n)
	}
	if n := count(a, 'e'); n < 40 || n > 120 {
		t.Errorf("%d of 400 server errors, want about 80", n)
	}
	cfg.Faults.Seed = 7
	if c := outcomes(t, emulatortest.Start(t, cfg), 400); c == a {
		t.Error("different seeds gave the same fault sequence")
	}
}

func TestFaults_SetRatesAtRunTime(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	if got := outcomes(t, env, 20); count(got, 'o') != 20 {
		t.Fatalf("outcomes %s, want all ok without faults", got)
	}
	env.Server.Faults().SetThrottleRate(1)
	if got := outcomes(t, env, 5); count(got, 't') != 5 {
		t.Errorf("outcomes %s with throttle rate 1, want all throttled", got)
	}
	env.Server.Faults().SetThrottleRate(0)
	env.Server.Faults().SetServerErrorRate(1)
	if got := outcomes(t, env, 5); count(got, 'e') != 5 {
		t.Errorf("outcomes %s with error rate 1, want all 5xx", got)
	}
	env.Server.Faults().Reset()
	if got := outcomes(t, env, 5); count(got, 'o') != 5 {
		t.Errorf("outcomes %s after Reset, want all ok", got)
	}
}

func TestFaults_OpsFilter(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{Faults: emulator.FaultConfig{ThrottleRate: 1, Ops: []string{"PutLogEvents"}}})
	env.CreateStream(t, "g", "s") // not throttled
	_, err := put(context.Background(), env, "g", "s", ev(time.Now().UnixMilli(), "x"))
	if msg := wantErr[throttling]("Rate exceeded")(err); msg != "" {
		t.Fatal(msg)
	}
}

func TestFaults_Latency(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	env.Server.Faults().SetLatency(150 * time.Millisecond)
	start := time.Now()
	if err := createGroup(context.Background(), env, "g"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("CreateLogGroup took %v, want >= 150ms of injected latency", d)
	}
}

// isConnectionError reports whether err is a transport failure rather than
// an AWS API error.
func isConnectionError(err error) bool {
	var ae smithy.APIError
	return err != nil && !errors.As(err, &ae)
}

func TestFaults_OutageClosesConnections(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	ctx := context.Background()
	env.Server.Faults().SetDown(true)
	err := createGroup(ctx, env, "g")
	if !isConnectionError(err) {
		t.Fatalf("during outage: error %v (%T), want a connection error", err, err)
	}
	env.Server.Faults().SetDown(false)
	if err := createGroup(ctx, env, "g"); err != nil {
		t.Fatalf("after outage: %v", err)
	}
	if st := env.Server.Stats(); st.OutageRequests != 1 {
		t.Errorf("OutageRequests %d, want 1", st.OutageRequests)
	}
}

func TestFaults_ScheduledOutage(t *testing.T) {
	clk := testclock.New(t0)
	env := emulatortest.Start(t, emulator.Config{Now: clk.Now})
	env.Server.Faults().Outage(t0.Add(time.Minute), t0.Add(2*time.Minute))
	ctx := context.Background()
	steps := []struct {
		at   time.Time
		down bool
	}{
		{t0, false},
		{t0.Add(time.Minute), true},
		{t0.Add(90 * time.Second), true},
		{t0.Add(2 * time.Minute), false},
	}
	for i, st := range steps {
		clk.Set(st.at)
		_, err := env.Client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
		if got := isConnectionError(err); got != st.down {
			t.Errorf("step %d at %v: error %v, want down=%v", i, st.at, err, st.down)
		}
	}
}

func TestFaults_Outage503(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	env.Server.Faults().SetOutageStatus(true)
	env.Server.Faults().SetDown(true)
	r := rawCall(t, env, "CreateLogGroup", `{"logGroupName":"g"}`, true, nil)
	wantAWSError(t, r, http.StatusServiceUnavailable, "ServiceUnavailableException", "")
	_, err := env.Client.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")})
	if msg := wantErr[unavailable]("")(err); msg != "" {
		t.Fatal(msg)
	}
}

func TestFaults_InvalidConfig(t *testing.T) {
	for _, fc := range []emulator.FaultConfig{{ThrottleRate: 1.5}, {ServerErrorRate: -0.1}, {Latency: -time.Second}} {
		if _, err := emulator.New(emulator.Config{Faults: fc}, nil); err == nil {
			t.Errorf("New with faults %+v: nil error, want an error", fc)
		}
	}
}

func TestFaults_Quota(t *testing.T) {
	clk := testclock.New(t0)
	env := emulatortest.Start(t, emulator.Config{Now: clk.Now, Faults: emulator.FaultConfig{Quotas: map[string]float64{"DescribeLogGroups": 3}}})
	// Burst of one second's worth, then throttled until the clock moves.
	if got := outcomes(t, env, 5); got != "ooott" {
		t.Errorf("outcomes %s at 3/s with a stopped clock, want ooott", got)
	}
	clk.Set(t0.Add(time.Second))
	if got := outcomes(t, env, 4); got != "ooot" {
		t.Errorf("outcomes %s after 1s, want ooot", got)
	}
	env.Server.Faults().SetQuota("DescribeLogGroups", 0)
	if got := outcomes(t, env, 3); got != "ooo" {
		t.Errorf("outcomes %s with the quota removed, want ooo", got)
	}
}

func TestFaults_DefaultQuotas(t *testing.T) {
	q := emulator.DefaultQuotas()
	want := map[string]float64{"PutLogEvents": 5000, "CreateLogStream": 50, "DescribeLogStreams": 25, "DescribeLogGroups": 10}
	for op, tps := range want {
		if q[op] != tps {
			t.Errorf("DefaultQuotas()[%s] = %v, want %v", op, q[op], tps)
		}
	}
}

// connFault puts one event after inject armed a connection fault: the
// client must see a connection error, the stream must then hold want (why
// explains it), and the fault is counted.
func connFault(t *testing.T, inject func(f *emulator.Faults), msg string, want []string, why string) {
	t.Helper()
	env := emulatortest.Start(t, emulator.Config{})
	env.CreateStream(t, "g", "s")
	inject(env.Server.Faults())
	_, err := put(context.Background(), env, "g", "s", ev(time.Now().UnixMilli(), msg))
	if !isConnectionError(err) {
		t.Fatalf("error %v, want a connection error", err)
	}
	if got := env.Messages("g", "s"); !eqStrings(got, want) {
		t.Errorf("stored %q, want %q: %s", got, want, why)
	}
	if st := env.Server.Stats(); st.ConnectionFaults != 1 {
		t.Errorf("ConnectionFaults %d, want 1", st.ConnectionFaults)
	}
}

func TestFaults_ResetNextLosesRequest(t *testing.T) {
	connFault(t, func(f *emulator.Faults) { f.ResetNext(1) }, "lost", nil, "a reset request is not processed")
}

func TestFaults_DropResponseNextStoresThenFails(t *testing.T) {
	connFault(t, func(f *emulator.Faults) { f.DropResponseNext(1) }, "stored", []string{"stored"},
		"the request was processed before the connection dropped")
}

func TestFaults_OmitRequestIDNext(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	env.Server.Faults().OmitRequestIDNext(1)
	r := rawCall(t, env, "CreateLogGroup", `{"logGroupName":"g"}`, true, nil)
	if r.status != 200 || r.header.Get("x-amzn-RequestId") != "" {
		t.Errorf("status %d, x-amzn-RequestId %q: want 200 without the header", r.status, r.header.Get("x-amzn-RequestId"))
	}
	r = rawCall(t, env, "CreateLogGroup", `{"logGroupName":"h"}`, true, nil)
	if r.header.Get("x-amzn-RequestId") == "" {
		t.Error("second response lacks x-amzn-RequestId, want it back")
	}
}
