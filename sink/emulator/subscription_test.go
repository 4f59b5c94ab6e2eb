package emulator_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"logship/internal/fixtures"
	"logship/internal/testclock"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

const fixtureDir = "testdata/cwl-subscription"

// receiver is a stand-in Lambda on 127.0.0.1 that records every payload.
type receiver struct {
	srv      *httptest.Server
	bodies   chan []byte
	failNext atomic.Int32 // answer 500 to this many requests first
	calls    atomic.Int32
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{bodies: make(chan []byte, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.calls.Add(1)
		b, _ := io.ReadAll(req.Body)
		if req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("payload Content-Type %q, want application/json", req.Header.Get("Content-Type"))
		}
		if r.failNext.Load() > 0 {
			r.failNext.Add(-1)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		r.bodies <- b
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// next waits (up to 5 s) for the next payload and returns the raw Lambda
// event and its decoded data.
func (r *receiver) next(t *testing.T) (event, data map[string]any) {
	t.Helper()
	select {
	case b := <-r.bodies:
		if err := json.Unmarshal(b, &event); err != nil {
			t.Fatalf("payload %q: %v", b, err)
		}
		return event, decodeAWSLogs(t, b)
	case <-time.After(5 * time.Second):
		t.Fatal("no subscription payload within 5s")
	}
	return nil, nil
}

func (r *receiver) none(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case b := <-r.bodies:
		t.Errorf("unexpected payload %s", decodeAWSLogsRaw(t, b))
	case <-time.After(wait):
	}
}

// decodeAWSLogs decodes {"awslogs":{"data": base64(gzip(JSON))}}.
func decodeAWSLogs(t *testing.T, event []byte) map[string]any {
	t.Helper()
	var data map[string]any
	if err := json.Unmarshal(decodeAWSLogsRaw(t, event), &data); err != nil {
		t.Fatal(err)
	}
	return data
}

func decodeAWSLogsRaw(t *testing.T, event []byte) []byte {
	t.Helper()
	var ev struct {
		AWSLogs struct {
			Data string `json:"data"`
		} `json:"awslogs"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatalf("event %q: %v", event, err)
	}
	z, err := base64.StdEncoding.DecodeString(ev.AWSLogs.Data)
	if err != nil {
		t.Fatalf("awslogs.data is not standard base64: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatalf("awslogs.data is not gzip: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureJSON(t *testing.T, name string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFixture(t, name), &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// shape reduces a decoded JSON value to its structure: objects keep their
// keys with the shapes of their values, arrays the shape of their first
// element, scalars their JSON type.
func shape(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = shape(e)
		}
		return out
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		return []any{shape(x[0])}
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func wantSameShape(t *testing.T, what string, got, fixture any) {
	t.Helper()
	if gs, fs := shape(got), shape(fixture); !reflect.DeepEqual(gs, fs) {
		t.Errorf("%s shape\n got %v\nwant %v (fixture)", what, gs, fs)
	}
}

func TestSubscription_FixtureCopies(t *testing.T) {
	shared := fixtures.Path(t, "cwl-subscription") // the testdata copies serve a bare clone
	names, err := filepath.Glob(filepath.Join(shared, "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no shared fixtures (%v)", err)
	}
	for _, n := range names {
		orig, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if cp := readFixture(t, filepath.Base(n)); !bytes.Equal(cp, orig) {
			t.Errorf("testdata copy of %s differs from the shared fixture", filepath.Base(n))
		}
	}
}

// The fixture's own encoding decodes to its decoded twin: checks the
// decoding used on our payloads.
func TestSubscription_FixtureEncodingRoundTrip(t *testing.T) {
	got := decodeAWSLogsRaw(t, readFixture(t, "awslogs-event-eks-demo-app.json"))
	if want := readFixture(t, "awslogs-event-eks-demo-app.decoded.json"); !bytes.Equal(got, want) {
		t.Errorf("decoded fixture event\n got %s\nwant %s", got, want)
	}
}

func TestSubscription_PayloadGolden(t *testing.T) {
	rcv := newReceiver(t)
	clk := testclock.New(t0)
	env := emulatortest.Start(t, emulator.Config{Now: clk.Now, SubscriptionEndpoint: rcv.srv.URL})
	ctx := context.Background()
	env.CreateStream(t, "/eks/demo/app", "node-a")
	env.CreateStream(t, "/eks/demo/app", "node-b")
	if err := putFilter(ctx, env, "/eks/demo/app", "to-opensearch", ""); err != nil {
		t.Fatal(err)
	}

	// CONTROL_MESSAGE on creation, shaped like the captured fixture.
	ctrlEvent, ctrl := rcv.next(t)
	wantSameShape(t, "control Lambda event", ctrlEvent, fixtureJSON(t, "awslogs-event-eks-demo-app.json"))
	wantSameShape(t, "CONTROL_MESSAGE", ctrl, fixtureJSON(t, "control-message.json"))
	if ctrl["messageType"] != "CONTROL_MESSAGE" || ctrl["owner"] != "CloudwatchLogs" ||
		!strings.HasPrefix(ctrl["logEvents"].([]any)[0].(map[string]any)["message"].(string), "CWL CONTROL MESSAGE: Checking health of destination ") {
		t.Errorf("control message %v", ctrl)
	}

	now := ms(t0)
	if _, err := put(ctx, env, "/eks/demo/app", "node-a", ev(now, `{"level":"info","msg":"GET /healthz 200"}`), ev(now+123, "plain text line")); err != nil {
		t.Fatal(err)
	}
	if _, err := put(ctx, env, "/eks/demo/app", "node-b", ev(now+200, "from b")); err != nil {
		t.Fatal(err)
	}

	// One DATA_MESSAGE per stream per PutLogEvents, in order.
	for _, want := range []struct {
		stream string
		msgs   []string
		tss    []int64
	}{
		{"node-a", []string{`{"level":"info","msg":"GET /healthz 200"}`, "plain text line"}, []int64{now, now + 123}},
		{"node-b", []string{"from b"}, []int64{now + 200}},
	} {
		event, data := rcv.next(t)
		wantSameShape(t, "Lambda event", event, fixtureJSON(t, "awslogs-event-eks-demo-app.json"))
		wantSameShape(t, "DATA_MESSAGE", data, fixtureJSON(t, "awslogs-event-eks-demo-app.decoded.json"))
		wantSameShape(t, "DATA_MESSAGE vs AWS doc example", data, fixtureJSON(t, "data-message.json"))
		if data["messageType"] != "DATA_MESSAGE" || data["owner"] != "123456789012" || data["logGroup"] != "/eks/demo/app" || data["logStream"] != want.stream {
			t.Errorf("payload header %v, want DATA_MESSAGE from 123456789012 /eks/demo/app %s", data, want.stream)
		}
		if f := data["subscriptionFilters"].([]any); len(f) != 1 || f[0] != "to-opensearch" {
			t.Errorf("subscriptionFilters %v, want [to-opensearch]", f)
		}
		les := data["logEvents"].([]any)
		if len(les) != len(want.msgs) {
			t.Fatalf("%s: %d events, want %d", want.stream, len(les), len(want.msgs))
		}
		var ids []string
		for i, le := range les {
			e := le.(map[string]any)
			id := e["id"].(string)
			if len(id) != 56 || strings.Trim(id, "0123456789") != "" {
				t.Errorf("event id %q, want 56 decimal digits", id)
			}
			ids = append(ids, id)
			if e["message"] != want.msgs[i] || int64(e["timestamp"].(float64)) != want.tss[i] {
				t.Errorf("event %d = %v, want %q at %d", i, e, want.msgs[i], want.tss[i])
			}
		}
		if !sort.StringsAreSorted(ids) {
			t.Errorf("event ids %q not increasing", ids)
		}
	}
	rcv.none(t, 50*time.Millisecond)
	st := env.Server.Stats()
	if st.Deliveries != 3 || st.ForwardedLogEvents != 4 || st.DeliveryErrors != 0 {
		t.Errorf("stats deliveries=%d forwarded=%d errors=%d, want 3, 4 (1 control + 3 data), 0", st.Deliveries, st.ForwardedLogEvents, st.DeliveryErrors)
	}
}

func TestSubscription_FilterPatternApplied(t *testing.T) {
	rcv := newReceiver(t)
	env := emulatortest.Start(t, emulator.Config{SubscriptionEndpoint: rcv.srv.URL})
	ctx := context.Background()
	env.CreateStream(t, "g", "s")
	if err := putFilter(ctx, env, "g", "errors", `ERROR -healthz`); err != nil {
		t.Fatal(err)
	}
	rcv.next(t) // control message
	now := time.Now().UnixMilli()
	if _, err := put(ctx, env, "g", "s", ev(now, "INFO fine"), ev(now, "ERROR boom"), ev(now, "ERROR healthz"), ev(now, "ERROR again")); err != nil {
		t.Fatal(err)
	}
	if _, err := put(ctx, env, "g", "s", ev(now, "INFO only")); err != nil {
		t.Fatal(err)
	}
	_, data := rcv.next(t)
	var got []string
	for _, le := range data["logEvents"].([]any) {
		got = append(got, le.(map[string]any)["message"].(string))
	}
	if want := []string{"ERROR boom", "ERROR again"}; !eqStrings(got, want) {
		t.Errorf("delivered %q, want %q", got, want)
	}
	rcv.none(t, 50*time.Millisecond) // nothing matched in the second request
}

func TestSubscription_RetriesFailedDelivery(t *testing.T) {
	rcv := newReceiver(t)
	env := emulatortest.Start(t, emulator.Config{SubscriptionEndpoint: rcv.srv.URL, DeliveryBackoff: time.Millisecond})
	ctx := context.Background()
	env.CreateStream(t, "g", "s")
	if err := putFilter(ctx, env, "g", "f", ""); err != nil {
		t.Fatal(err)
	}
	rcv.next(t) // control message
	rcv.failNext.Store(2)
	if _, err := put(ctx, env, "g", "s", ev(time.Now().UnixMilli(), "x")); err != nil {
		t.Fatal(err)
	}
	_, data := rcv.next(t)
	if data["messageType"] != "DATA_MESSAGE" {
		t.Fatalf("payload %v", data)
	}
	if got := rcv.calls.Load(); got != 4 {
		t.Errorf("receiver saw %d requests, want 4 (control, 2 failures, success)", got)
	}
}

func TestSubscription_DeadDestinationNeverBlocksPuts(t *testing.T) {
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer slow.Close()
	defer close(block)
	env := emulatortest.Start(t, emulator.Config{SubscriptionEndpoint: slow.URL, DeliveryQueue: 2, DeliveryAttempts: 1})
	ctx := context.Background()
	env.CreateStream(t, "g", "s")
	if err := putFilter(ctx, env, "g", "f", ""); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range 10 {
		if _, err := put(ctx, env, "g", "s", ev(time.Now().UnixMilli(), fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("10 PutLogEvents took %v with a stuck destination, want fast", d)
	}
	if st := env.Server.Stats(); st.DeliveryDropped == 0 || st.Payloads != 11 {
		t.Errorf("stats payloads=%d dropped=%d, want 11 payloads and some dropped with a queue of 2", st.Payloads, st.DeliveryDropped)
	}
	if n := len(env.Messages("g", "s")); n != 10 {
		t.Errorf("stored %d events, want 10", n)
	}
}

func TestSubscription_DeliverPendingWithoutRun(t *testing.T) {
	rcv := newReceiver(t)
	srv, err := emulator.New(emulator.Config{SubscriptionEndpoint: rcv.srv.URL, AllowUnsigned: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := emulatortest.Handler(t, srv, emulator.Config{}) // ServeHTTP alone: no delivery loop
	env.CreateStream(t, "g", "s")
	if err := putFilter(context.Background(), env, "g", "f", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := put(context.Background(), env, "g", "s", ev(time.Now().UnixMilli(), "x")); err != nil {
		t.Fatal(err)
	}
	rcv.none(t, 20*time.Millisecond)
	if left := srv.DeliverPending(context.Background()); left != 0 {
		t.Errorf("DeliverPending left %d payloads, want 0", left)
	}
	rcv.next(t)
	if _, data := rcv.next(t); data["messageType"] != "DATA_MESSAGE" {
		t.Errorf("second payload %v, want DATA_MESSAGE", data)
	}
}
