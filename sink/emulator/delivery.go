package emulator

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Subscription delivery: the payload CloudWatch Logs hands a Lambda function
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html;
// aws-lambda-go events/cloudwatch_logs.go), built after each accepted
// PutLogEvents and POSTed
// to Config.SubscriptionEndpoint by Run's delivery loop, asynchronously and
// with bounded retries, so PutLogEvents never waits for a destination.

// subscriptionBatch is the accepted events of one PutLogEvents request and
// the filters of its group at that moment.
type subscriptionBatch struct {
	group, stream string
	filters       []*subscriptionFilter
	events        []storedEvent
}

// logsData is the decoded payload (aws-lambda-go events.CloudwatchLogsData).
type logsData struct {
	MessageType         string     `json:"messageType"`
	Owner               string     `json:"owner"`
	LogGroup            string     `json:"logGroup"`
	LogStream           string     `json:"logStream"`
	SubscriptionFilters []string   `json:"subscriptionFilters"`
	LogEvents           []logEvent `json:"logEvents"`
}

type logEvent struct {
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

// lambdaEvent is what the destination receives:
// {"awslogs":{"data":"<base64(gzip(JSON))>"}}.
type lambdaEvent struct {
	AWSLogs struct {
		Data string `json:"data"`
	} `json:"awslogs"`
}

// delivery is one payload waiting to be POSTed.
type delivery struct {
	body   []byte
	events int
}

// fanOut builds one DATA_MESSAGE payload per subscription filter that
// matches at least one event of the batch (each filter has its own
// destination in AWS, so each gets its own invocation; "subscriptionFilters"
// names that filter) and queues it. Without an endpoint nothing is built.
func (s *Server) fanOut(b *subscriptionBatch) {
	if s.cfg.SubscriptionEndpoint == "" {
		return
	}
	for _, f := range b.filters {
		d := logsData{
			MessageType:         "DATA_MESSAGE",
			Owner:               s.cfg.AccountID,
			LogGroup:            b.group,
			LogStream:           b.stream,
			SubscriptionFilters: []string{f.name},
		}
		for _, ev := range b.events {
			if f.matcher.match(ev.msg) {
				d.LogEvents = append(d.LogEvents, logEvent{ID: eventID(ev.ts, ev.seq), Timestamp: ev.ts, Message: ev.msg})
			}
		}
		if len(d.LogEvents) == 0 {
			continue
		}
		s.enqueue(d)
	}
}

// sendControlMessage queues the CONTROL_MESSAGE AWS sends to check that a
// new destination is reachable (design.md, "Subscriptions"): owner
// CloudwatchLogs, empty group and stream, one health-check event.
func (s *Server) sendControlMessage(destinationArn string) {
	if s.cfg.SubscriptionEndpoint == "" {
		return
	}
	s.enqueue(logsData{
		MessageType:         "CONTROL_MESSAGE",
		Owner:               "CloudwatchLogs",
		SubscriptionFilters: []string{},
		LogEvents: []logEvent{{
			Timestamp: s.nowMs(),
			Message:   "CWL CONTROL MESSAGE: Checking health of destination " + destinationKind(destinationArn) + ".",
		}},
	})
}

func destinationKind(arn string) string {
	switch {
	case strings.HasPrefix(arn, "arn:aws:firehose:"):
		return "Firehose"
	case strings.HasPrefix(arn, "arn:aws:kinesis:"):
		return "Kinesis"
	case strings.HasPrefix(arn, "arn:aws:logs:"):
		return "Destination"
	}
	return "Lambda"
}

func (s *Server) enqueue(d logsData) {
	body, err := encodeLambdaEvent(d)
	if err != nil {
		s.stats.dropped.Add(1)
		return
	}
	s.stats.payloads.Add(1)
	select {
	case s.deliveries <- delivery{body: body, events: len(d.LogEvents)}:
	default:
		s.stats.dropped.Add(1)
	}
}

// encodeLambdaEvent returns {"awslogs":{"data": base64(gzip(json(d)))}}.
func encodeLambdaEvent(d logsData) ([]byte, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode payload: %w", err)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("gzip payload: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip payload: %w", err)
	}
	var ev lambdaEvent
	ev.AWSLogs.Data = base64.StdEncoding.EncodeToString(zb.Bytes())
	return json.Marshal(ev)
}

// deliverLoop POSTs queued payloads until stop is closed or ctx is done;
// ctx bounds each delivery.
func (s *Server) deliverLoop(ctx context.Context, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case d := <-s.deliveries:
			if err := s.deliver(ctx, d); err != nil {
				s.log.Warn("subscription delivery failed", zap.Error(err), zap.Int("events", d.events))
			}
		}
	}
}

// DeliverPending synchronously delivers the queued subscription payloads
// until the queue is empty or ctx is done, and returns how many were left
// undelivered (still queued or failed after all attempts; failures are
// counted in Stats.DeliveryErrors).
func (s *Server) DeliverPending(ctx context.Context) int {
	failed := 0
	for {
		if ctx.Err() != nil {
			return failed + len(s.deliveries)
		}
		select {
		case d := <-s.deliveries:
			if s.deliver(ctx, d) != nil {
				failed++
			}
		default:
			return failed
		}
	}
}

// deliver POSTs one payload, retrying up to DeliveryAttempts times.
func (s *Server) deliver(ctx context.Context, d delivery) error {
	if s.cfg.SubscriptionEndpoint == "" {
		s.stats.dropped.Add(1)
		return nil
	}
	var last error
	for attempt := 1; attempt <= s.cfg.DeliveryAttempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(s.cfg.DeliveryBackoff * time.Duration(attempt-1))
			select {
			case <-ctx.Done():
				t.Stop()
				s.stats.deliveryErrors.Add(1)
				return fmt.Errorf("deliver: %w (last error: %v)", ctx.Err(), last)
			case <-t.C:
			}
		}
		if last = s.post(ctx, d.body); last == nil {
			s.stats.deliveries.Add(1)
			s.stats.forwardedEvents.Add(int64(d.events))
			s.stats.forwardedBytes.Add(int64(len(d.body)))
			return nil
		}
	}
	s.stats.deliveryErrors.Add(1)
	return fmt.Errorf("deliver to %s after %d attempts: %w", s.cfg.SubscriptionEndpoint, s.cfg.DeliveryAttempts, last)
}

func (s *Server) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.SubscriptionEndpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.httpClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
