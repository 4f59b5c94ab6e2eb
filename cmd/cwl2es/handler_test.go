package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"logship/internal/fixtures"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// encodeEvent builds the Lambda event for a decoded payload, as CloudWatch
// Logs does: base64(gzip(JSON)).
func encodeEvent(t testing.TB, decoded []byte) events.CloudwatchLogsEvent {
	t.Helper()
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	if _, err := zw.Write(decoded); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	var ev events.CloudwatchLogsEvent
	ev.AWSLogs.Data = base64.StdEncoding.EncodeToString(zb.Bytes())
	return ev
}

// readFixture reads one of AWS's documented subscription payloads among the
// real-world fixtures, or skips the test on a bare clone.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixtures.Path(t, "cwl-subscription/"+name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

// readTestdata reads one of our own payloads in testdata/: a DATA_MESSAGE of
// three events (two JSON messages, one plain; ids ending 001-003, all on
// 2026-01-02 UTC) and a CONTROL_MESSAGE.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ownID is the id of event n (1-3) of testdata/subscription-3events.json.
func ownID(n int) string {
	return fmt.Sprintf("37112233445566778899001122334455667788990011223344556%03d", n)
}

// recordingBulker records request bodies and answers from a script.
type recordingBulker struct {
	bodies [][]byte
	answer func(n int, body []byte) (bulkResponse, error)
}

func (r *recordingBulker) Bulk(_ context.Context, body []byte) (bulkResponse, error) {
	r.bodies = append(r.bodies, bytes.Clone(body))
	if r.answer != nil {
		return r.answer(len(r.bodies), body)
	}
	n := bytes.Count(body, []byte("\n")) / 2
	items := make([]itemStatus, n)
	for i := range items {
		items[i].status = 201
	}
	return bulkResponse{status: 200, items: items}, nil
}

func newTestHandler(t *testing.T, cfg Config, b bulker) (*Handler, *[]time.Duration) {
	t.Helper()
	h, err := NewHandler(cfg, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sleeps []time.Duration
	h.sleep = func(_ context.Context, d time.Duration) error {
		sleeps = append(sleeps, d)
		return nil
	}
	return h, &sleeps
}

// TestHandle_Golden feeds our own payload and AWS's documented sample
// payloads through the handler and compares the exact NDJSON bulk body.
func TestHandle_Golden(t *testing.T) {
	tests := []struct {
		name   string
		event  func(t *testing.T) events.CloudwatchLogsEvent
		golden string
		items  int
	}{
		{"own-3-events", func(t *testing.T) events.CloudwatchLogsEvent {
			return encodeEvent(t, readTestdata(t, "subscription-3events.json"))
		}, "subscription-3events.ndjson", 3},
		{"aws-sample-3-events", func(t *testing.T) events.CloudwatchLogsEvent {
			return encodeEvent(t, readFixture(t, "data-message.json"))
		}, "data-message.ndjson", 3},
		{"aws-sample-1-event", func(t *testing.T) events.CloudwatchLogsEvent {
			return encodeEvent(t, readFixture(t, "data-message-1event.json"))
		}, "data-message-1event.ndjson", 1},
		{"eks-demo-app-encoded", func(t *testing.T) events.CloudwatchLogsEvent {
			var ev events.CloudwatchLogsEvent
			if err := json.Unmarshal(readFixture(t, "awslogs-event-eks-demo-app.json"), &ev); err != nil {
				t.Fatal(err)
			}
			return ev
		}, "eks-demo-app.ndjson", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb := &recordingBulker{}
			h, _ := newTestHandler(t, Config{}, rb)
			res, err := h.Handle(context.Background(), tt.event(t))
			if err != nil {
				t.Fatal(err)
			}
			if res.Attempted != tt.items || res.Indexed != tt.items || res.Failed != 0 || res.Requests != 1 {
				t.Errorf("result %+v, want %d items indexed in 1 request", res, tt.items)
			}
			if len(rb.bodies) != 1 {
				t.Fatalf("%d bulk requests, want 1", len(rb.bodies))
			}
			golden := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(golden, rb.bodies[0], 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := rb.bodies[0]; !bytes.Equal(got, want) {
				t.Errorf("bulk body:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestHandle_ControlMessage(t *testing.T) {
	rb := &recordingBulker{}
	h, _ := newTestHandler(t, Config{}, rb)
	res, err := h.Handle(context.Background(), encodeEvent(t, readTestdata(t, "subscription-control.json")))
	if err != nil {
		t.Fatal(err)
	}
	if len(rb.bodies) != 0 || res.MessageType != "CONTROL_MESSAGE" || res.Attempted != 0 {
		t.Fatalf("control message: %d requests, result %+v; want none", len(rb.bodies), res)
	}
}

func TestHandle_BadPayload(t *testing.T) {
	gz := func(s string) string {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write([]byte(s))
		zw.Close()
		return base64.StdEncoding.EncodeToString(zb.Bytes())
	}
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write(make([]byte, 1<<20+1)) // one byte over the test's 1 MiB limit
	zw.Close()
	tests := []struct {
		name, data, want string
		is               error
	}{
		{"not base64", "%%%", "base64", nil},
		{"not gzip", base64.StdEncoding.EncodeToString([]byte("plain")), "gzip", nil},
		{"not json", gz("{"), "json", nil},
		{"unknown type", gz(`{"messageType":"OTHER"}`), `unknown messageType "OTHER"`, nil},
		{"gzip bomb", base64.StdEncoding.EncodeToString(bomb.Bytes()), "too large", errPayloadTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb := &recordingBulker{}
			h, _ := newTestHandler(t, Config{MaxPayloadBytes: 1 << 20}, rb)
			var ev events.CloudwatchLogsEvent
			ev.AWSLogs.Data = tt.data
			_, err := h.Handle(context.Background(), ev)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Handle()=%v, want error containing %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("Handle()=%v, want errors.Is %v", err, tt.is)
			}
			if len(rb.bodies) != 0 {
				t.Fatalf("%d requests for a bad payload", len(rb.bodies))
			}
		})
	}
}

// TestHandle_Retry drives the retry logic with a scripted bulker.
func TestHandle_Retry(t *testing.T) {
	ev := encodeEvent(t, readTestdata(t, "subscription-3events.json"))
	ok := func(n int) []itemStatus {
		s := make([]itemStatus, n)
		for i := range s {
			s[i].status = 201
		}
		return s
	}
	tests := []struct {
		name         string
		answer       func(n int, body []byte) (bulkResponse, error)
		wantErr      error
		wantErrText  string
		wantRequests int
		wantIndexed  int
		wantFailed   int
		wantLastBody int // items in the last request
	}{
		{"item 429 then ok", func(n int, body []byte) (bulkResponse, error) {
			if n == 1 {
				return bulkResponse{status: 200, items: []itemStatus{{status: 201}, {status: 429, reason: "es_rejected_execution_exception: queue full"}, {status: 201}}}, nil
			}
			return bulkResponse{status: 200, items: ok(bytes.Count(body, []byte("\n")) / 2)}, nil
		}, nil, "", 2, 3, 0, 1},
		{"request 503 then ok", func(n int, body []byte) (bulkResponse, error) {
			if n == 1 {
				return bulkResponse{status: 503}, nil
			}
			return bulkResponse{status: 200, items: ok(3)}, nil
		}, nil, "", 2, 3, 0, 3},
		{"transport error then ok", func(n int, body []byte) (bulkResponse, error) {
			if n == 1 {
				return bulkResponse{}, errors.New("connection reset")
			}
			return bulkResponse{status: 200, items: ok(3)}, nil
		}, nil, "", 2, 3, 0, 3},
		{"mapping error is reported, not retried", func(n int, body []byte) (bulkResponse, error) {
			return bulkResponse{status: 200, items: []itemStatus{{status: 201}, {status: 400, reason: "mapper_parsing_exception: failed to parse"}, {status: 200}}}, nil
		}, nil, "", 1, 2, 1, 3},
		{"429 forever exhausts retries", func(n int, body []byte) (bulkResponse, error) {
			return bulkResponse{status: 429}, nil
		}, ErrRetriesExhausted, "", 4, 0, 0, 3},
		{"403 fails at once", func(n int, body []byte) (bulkResponse, error) {
			return bulkResponse{status: 403}, nil
		}, nil, "HTTP 403", 1, 0, 0, 3},
		{"item count mismatch", func(n int, body []byte) (bulkResponse, error) {
			return bulkResponse{status: 200, items: ok(1)}, nil
		}, nil, "1 items in the response, 3 sent", 1, 0, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb := &recordingBulker{answer: tt.answer}
			h, sleeps := newTestHandler(t, Config{MaxAttempts: 4}, rb)
			res, err := h.Handle(context.Background(), ev)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Handle()=%v, want %v", err, tt.wantErr)
				}
			case tt.wantErrText != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErrText) {
					t.Fatalf("Handle()=%v, want error containing %q", err, tt.wantErrText)
				}
			case err != nil:
				t.Fatalf("Handle()=%v", err)
			}
			if len(rb.bodies) != tt.wantRequests || res.Indexed != tt.wantIndexed || res.Failed != tt.wantFailed {
				t.Errorf("requests=%d indexed=%d failed=%d, want %d %d %d", len(rb.bodies), res.Indexed, res.Failed, tt.wantRequests, tt.wantIndexed, tt.wantFailed)
			}
			if got := bytes.Count(rb.bodies[len(rb.bodies)-1], []byte("\n")) / 2; got != tt.wantLastBody {
				t.Errorf("last request has %d items, want %d", got, tt.wantLastBody)
			}
			if len(*sleeps) != max(0, tt.wantRequests-1) {
				t.Errorf("%d backoff sleeps, want %d", len(*sleeps), tt.wantRequests-1)
			}
			for i, d := range *sleeps {
				if limit := DefaultBackoffBase << i; d <= 0 || d > limit {
					t.Errorf("sleep %d = %v, want (0, %v]", i, d, limit)
				}
			}
			if tt.wantFailed > 0 && (len(res.FailedItems) != tt.wantFailed || res.FailedItems[0].Status != 400 || !strings.Contains(res.FailedItems[0].Reason, "mapper_parsing_exception") || res.FailedItems[0].ID != ownID(2)) {
				t.Errorf("failed items %+v", res.FailedItems)
			}
		})
	}
}

func TestSplitBatches(t *testing.T) {
	mk := func(sizes ...int) []item {
		var it []item
		for _, s := range sizes {
			it = append(it, item{lines: make([]byte, s)})
		}
		return it
	}
	tests := []struct {
		name  string
		sizes []int
		max   int
		want  []int // batch lengths
	}{
		{"one batch", []int{10, 10, 10}, 100, []int{3}},
		{"exact fit", []int{50, 50, 50}, 100, []int{2, 1}},
		{"oversized item alone", []int{10, 500, 10}, 100, []int{1, 1, 1}},
		{"empty", nil, 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, b := range splitBatches(mk(tt.sizes...), tt.max) {
				got = append(got, len(b))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("batches %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("batches %v, want %v", got, tt.want)
				}
			}
		})
	}
}
