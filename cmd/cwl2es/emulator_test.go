package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"go.uber.org/zap/zaptest"

	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

// fakeLambda stands in for the Lambda service: it receives the emulator's
// subscription payloads over HTTP on 127.0.0.1 and invokes the handler,
// answering 500 when the handler fails (the emulator then re-delivers).
type fakeLambda struct {
	h        *Handler
	mu       sync.Mutex
	results  []Result
	failures int
}

func (f *fakeLambda) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev events.CloudwatchLogsEvent
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	res, err := f.h.Handle(r.Context(), ev)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.failures++
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	f.results = append(f.results, res)
	json.NewEncoder(w).Encode(res)
}

// TestEndToEnd_Emulator: PutLogEvents into the emulator → subscription
// payload → handler → OpenSearch _bulk, with every item throttled once.
func TestEndToEnd_Emulator(t *testing.T) {
	fake, osSrv := newFakeOpenSearch(t)
	h, err := setup(context.Background(), env(map[string]string{"OPENSEARCH_ENDPOINT": osSrv.URL}), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	h.sleep = func(context.Context, time.Duration) error { return nil }
	fl := &fakeLambda{h: h}
	lambdaSrv := httptest.NewServer(fl)
	t.Cleanup(lambdaSrv.Close)

	// Throttle every document the first time it is seen.
	fake.mu.Lock()
	fake.throttleFirst = true
	fake.mu.Unlock()

	em := emulatortest.Start(t, emulator.Config{SubscriptionEndpoint: lambdaSrv.URL, DeliveryBackoff: 10 * time.Millisecond})
	ctx := context.Background()
	group, stream := "/k8s/test/containers", "kubernetes.var.log.containers.web-7d9c_default_web-0123.log"
	if _, err := em.Client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := em.Client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil {
		t.Fatal(err)
	}
	if _, err := em.Client.PutSubscriptionFilter(ctx, &cloudwatchlogs.PutSubscriptionFilterInput{
		LogGroupName:   aws.String(group),
		FilterName:     aws.String("to-opensearch"),
		FilterPattern:  aws.String(""),
		DestinationArn: aws.String("arn:aws:lambda:us-east-1:123456789012:function:logship-cwl2es"),
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	msgs := []string{
		`{"log":"GET /healthz 200","stream":"stdout","kubernetes":{"pod_name":"web-7d9c","namespace_name":"default"}}`,
		`plain text line`,
		`{"log":"POST /api 500","stream":"stderr","level":"error"}`,
	}
	var evs []types.InputLogEvent
	for i, m := range msgs {
		evs = append(evs, types.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(now + int64(i))})
	}
	if _, err := em.Client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		fl.mu.Lock()
		n := len(fl.results) // the control message's and the data message's
		fl.mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	fake.mu.Lock()
	defer fake.mu.Unlock()
	for _, p := range fake.problems {
		t.Error(p)
	}
	if len(fake.docs) != len(msgs) {
		t.Fatalf("%d documents indexed, want %d", len(fake.docs), len(msgs))
	}
	byMessage := map[string]map[string]any{}
	for key, doc := range fake.docs {
		if fake.writes[key] != 1 {
			t.Errorf("%s written %d times, want once", key, fake.writes[key])
		}
		if doc["@log_group"] != group || doc["@log_stream"] != stream || doc["@owner"] != emulator.DefaultAccountID {
			t.Errorf("document %s: group/stream/owner %v %v %v", key, doc["@log_group"], doc["@log_stream"], doc["@owner"])
		}
		byMessage[doc["@message"].(string)] = doc
	}
	if d := byMessage[msgs[0]]; d == nil || d["log"] != "GET /healthz 200" || d["kubernetes"].(map[string]any)["pod_name"] != "web-7d9c" {
		t.Errorf("JSON message document %v", d)
	}
	if d := byMessage[msgs[1]]; d == nil || len(d) != len(reservedFields) {
		t.Errorf("plain message document %v, want only the @ fields", d)
	}
	for id, n := range fake.seen {
		if n != 2 {
			t.Errorf("_id %s sent %d times, want 2 (throttled once)", id, n)
		}
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	var control, data int
	for _, r := range fl.results {
		switch r.MessageType {
		case messageControl:
			control++
		case messageData:
			data++
			if !strings.HasPrefix(r.LogGroup, "/k8s/") || r.Indexed != len(msgs) {
				t.Errorf("data result %+v", r)
			}
		}
	}
	if control != 1 || data != 1 || fl.failures != 0 {
		t.Errorf("invocations: %d control, %d data, %d failed; want 1, 1, 0", control, data, fl.failures)
	}
}
