package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.uber.org/zap"
)

// Defaults for Config fields whose zero value means "the default".
const (
	// DefaultMaxAttempts is how many times an item is sent before a
	// retryable failure fails the invocation.
	DefaultMaxAttempts = 5
	// DefaultBackoffBase is the first retry's maximum delay; it doubles per
	// attempt (full jitter).
	DefaultBackoffBase = 200 * time.Millisecond
	// DefaultBackoffMax caps a retry's delay.
	DefaultBackoffMax = 5 * time.Second
	// DefaultMaxBulkBytes caps one _bulk request body; larger payloads are
	// split. Amazon OpenSearch Service accepts at least 10 MiB per request
	// on every instance type.
	DefaultMaxBulkBytes = 5 << 20
	// DefaultMaxPayloadBytes bounds a decompressed payload. CloudWatch Logs
	// delivers about 1 MiB of events per invocation at most (one
	// PutLogEvents batch); 64 MiB keeps a gzip bomb from exhausting the
	// function's memory.
	DefaultMaxPayloadBytes = 64 << 20
	// maxReportedFailures bounds the failed items listed in a Result.
	maxReportedFailures = 20
)

// ErrRetriesExhausted is returned when retryable failures (HTTP 429 or 5xx,
// of the request or of items) remain after MaxAttempts; Lambda's
// asynchronous retry then re-delivers the payload, which is safe because
// documents are indexed by event id.
var ErrRetriesExhausted = errors.New("bulk retries exhausted")

// Config configures a Handler.
type Config struct {
	// IndexPrefix names the daily indices <prefix>-YYYY.MM.DD. Empty means
	// DefaultIndexPrefix ("cwl").
	IndexPrefix string
	// MaxAttempts is how many times an item is sent at most. Zero means
	// DefaultMaxAttempts.
	MaxAttempts int
	// BackoffBase is the maximum delay before the first retry; it doubles per
	// attempt, with full jitter. Zero means DefaultBackoffBase.
	BackoffBase time.Duration
	// BackoffMax caps the delay before a retry. Zero means DefaultBackoffMax.
	BackoffMax time.Duration
	// MaxBulkBytes caps one _bulk request body in bytes (a single larger
	// document is still sent alone). Zero means DefaultMaxBulkBytes.
	MaxBulkBytes int
	// MaxPayloadBytes caps a payload's decompressed size in bytes. Zero
	// means DefaultMaxPayloadBytes.
	MaxPayloadBytes int
}

// Handler indexes CloudWatch Logs subscription payloads into OpenSearch or
// Elasticsearch through the _bulk API. It is safe for concurrent use.
type Handler struct {
	cfg   Config
	bulk  bulker
	log   *zap.Logger
	sleep func(ctx context.Context, d time.Duration) error
}

// NewHandler fills cfg's defaults and returns a Handler that sends with b.
func NewHandler(cfg Config, b bulker, log *zap.Logger) (*Handler, error) {
	if b == nil {
		return nil, errors.New("no bulk client")
	}
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.IndexPrefix == "" {
		cfg.IndexPrefix = DefaultIndexPrefix
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.MaxBulkBytes <= 0 {
		cfg.MaxBulkBytes = DefaultMaxBulkBytes
	}
	if cfg.MaxPayloadBytes <= 0 {
		cfg.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	return &Handler{cfg: cfg, bulk: b, log: log, sleep: sleepCtx}, nil
}

// Result is the invocation's result (returned to Lambda, visible in the
// function's logs and destinations).
type Result struct {
	MessageType string       `json:"messageType"`
	LogGroup    string       `json:"logGroup,omitempty"`
	LogStream   string       `json:"logStream,omitempty"`
	Attempted   int          `json:"attemptedItemsCount"`
	Indexed     int          `json:"successfulItemsCount"`
	Failed      int          `json:"failedItemsCount"`
	Requests    int          `json:"bulkRequests"`
	FailedItems []FailedItem `json:"failedItems,omitempty"`
}

// FailedItem is a document OpenSearch refused for good (for example a
// mapping conflict, HTTP 400).
type FailedItem struct {
	ID     string `json:"id"`
	Index  string `json:"index"`
	Status int    `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// Handle indexes one subscription payload. Control messages are
// acknowledged without a request. Items refused with a retryable status are
// retried with backoff, up to MaxAttempts; the others are counted in
// Result.Failed and logged, and do not fail the invocation (re-sending them
// cannot succeed). It returns ErrRetriesExhausted when retryable failures
// remain, and an error for a payload it cannot decode or a request refused
// as a whole with a non-retryable status (such as 403).
func (h *Handler) Handle(ctx context.Context, ev events.CloudwatchLogsEvent) (Result, error) {
	p, err := decodePayload(ev, h.cfg.MaxPayloadBytes)
	if err != nil {
		return Result{}, err
	}
	res := Result{MessageType: p.MessageType, LogGroup: p.LogGroup, LogStream: p.LogStream}
	if p.MessageType == messageControl {
		h.log.Info("control message skipped")
		return res, nil
	}
	pending := buildItems(p, h.cfg.IndexPrefix)
	res.Attempted = len(pending)
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > 1 {
			if attempt > h.cfg.MaxAttempts {
				h.logResult(res)
				return res, fmt.Errorf("%w: %d of %d items after %d attempts", ErrRetriesExhausted, len(pending), res.Attempted, h.cfg.MaxAttempts)
			}
			if err := h.sleep(ctx, h.backoff(attempt-1)); err != nil {
				return res, err
			}
		}
		var retry []item
		for _, batch := range splitBatches(pending, h.cfg.MaxBulkBytes) {
			again, err := h.send(ctx, batch, &res)
			if err != nil {
				return res, err
			}
			retry = append(retry, again...)
		}
		pending = retry
	}
	h.logResult(res)
	return res, nil
}

// send sends one batch and returns the items to retry.
func (h *Handler) send(ctx context.Context, batch []item, res *Result) ([]item, error) {
	var body []byte
	for _, it := range batch {
		body = append(body, it.lines...)
	}
	res.Requests++
	resp, err := h.bulk.Bulk(ctx, body)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		h.log.Warn("bulk request failed, will retry", zap.Error(err), zap.Int("items", len(batch)))
		return batch, nil
	}
	if resp.status >= 300 {
		if retryable(resp.status) {
			h.log.Warn("bulk request refused, will retry", zap.Int("status", resp.status), zap.Int("items", len(batch)))
			return batch, nil
		}
		return nil, fmt.Errorf("bulk: HTTP %d", resp.status)
	}
	if len(resp.items) != len(batch) {
		return nil, fmt.Errorf("bulk: %d items in the response, %d sent", len(resp.items), len(batch))
	}
	var retry []item
	for i, st := range resp.items {
		switch {
		case st.status >= 200 && st.status < 300:
			res.Indexed++
		case retryable(st.status):
			retry = append(retry, batch[i])
		default:
			res.Failed++
			if len(res.FailedItems) < maxReportedFailures {
				res.FailedItems = append(res.FailedItems, FailedItem{ID: batch[i].id, Index: batch[i].index, Status: st.status, Reason: st.reason})
			}
		}
	}
	return retry, nil
}

func (h *Handler) logResult(res Result) {
	fields := []zap.Field{
		zap.String("log_group", res.LogGroup), zap.String("log_stream", res.LogStream),
		zap.Int("attempted", res.Attempted), zap.Int("indexed", res.Indexed),
		zap.Int("failed", res.Failed), zap.Int("requests", res.Requests),
	}
	if res.Failed > 0 {
		h.log.Error("documents refused", append(fields, zap.Any("failed_items", res.FailedItems))...)
		return
	}
	h.log.Info("indexed", fields...)
}

// backoff returns the delay before retry n (1-based): full jitter over
// BackoffBase·2^(n-1), capped at BackoffMax.
func (h *Handler) backoff(n int) time.Duration {
	d := h.cfg.BackoffBase << (n - 1)
	if d <= 0 || d > h.cfg.BackoffMax {
		d = h.cfg.BackoffMax
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// splitBatches cuts items into consecutive batches of at most maxBytes
// (a single larger item forms its own batch).
func splitBatches(items []item, maxBytes int) [][]item {
	var out [][]item
	start, size := 0, 0
	for i, it := range items {
		if i > start && size+len(it.lines) > maxBytes {
			out = append(out, items[start:i])
			start, size = i, 0
		}
		size += len(it.lines)
	}
	if start < len(items) {
		out = append(out, items[start:])
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
