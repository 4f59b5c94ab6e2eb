// Package cloudwatch is logship's AWS CloudWatch Logs output: the
// cloudwatch_logs output of Fluentd (fluent-plugin-cloudwatch-logs) as a
// Formatter, which gives each record its destination and message, and a
// buffer.Sender, CloudWatch, which delivers a buffered chunk with
// PutLogEvents.
//
// Files: format.go (Config and the Formatter), batch.go (pure request
// cutting: sort, split, cut within every limit), limits.go (every AWS limit
// with its source), errors.go (the one error classifier), cloudwatch.go (the
// sender), client.go (the SDK client from the standard chain), protocol.go
// (a one-pass PutLogEvents body writer plugged into the SDK client), stats.go.
//
// # Retries
//
// Exactly one layer retries: the buffer. The SDK's retryer is switched off
// (aws.NopRetryer) on every call the sink makes, whatever client it is given,
// so a throttled or failed request comes straight back to Send, which returns
// it: retryable errors as they are, the rest wrapped with buffer.ErrPermanent.
// The buffer then backs off and calls Send again with the same chunk, and
// chunk.Sent makes sure the requests that already succeeded are not sent
// twice. The one retry inside Send is the request that found its group or
// stream missing: it is sent once more after creating them.
//
// # Delivery
//
// Send sorts the chunk's records by timestamp (stable) in place, cuts them
// into as few requests as the limits allow, and sends them in order. After
// each successful request it advances chunk.Sent past the records that
// request completed. The Formatter splits a JSON record too large for one
// event into whole-record pieces (split.go); a message still too large
// (message_keys text, records from elsewhere) is cut here into several
// events at character boundaries; when those straddle two requests and only the first succeeds, Send
// shortens that record's Message to the part not yet delivered, so the retry
// sends only the rest (and remembers the rest's length by chunk ID, in case a
// file buffer reads the chunk back from disk before the retry). Records the sink cannot send (empty, outside AWS's
// time window) are dropped and counted, never silently; events AWS rejects
// (rejectedLogEventsInfo) are counted and logged once per request.
//
// A missing group or stream is created when Config.AutoCreateStream is set
// (CreateLogStream first, since the group usually exists; CreateLogGroup
// with tags and PutRetentionPolicy only when the group is missing;
// ResourceAlreadyExists counts as success). There are no Describe* calls.
// Without AutoCreateStream a missing group or stream is a permanent error:
// Fluentd skips such events silently, logship dead-letters the chunk.
package cloudwatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"go.uber.org/zap"

	"logship/buffer"
)

// logsAPI is the part of the CloudWatch Logs client the sink uses.
// *cloudwatchlogs.Client implements it; tests pass fakes.
type logsAPI interface {
	PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	CreateLogStream(ctx context.Context, in *cloudwatchlogs.CreateLogStreamInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
}

// CloudWatch delivers chunks to CloudWatch Logs. It is safe for concurrent
// use: the buffer may call Send from several flush goroutines (for different
// chunks).
type CloudWatch struct {
	cfg  Config
	lim  limits
	api  logsAPI
	log  *zap.Logger
	now  func() time.Time
	opts []func(*cloudwatchlogs.Options) // per-call SDK options: no SDK retries
	// invalidate drops the client's cached credentials (auth errors); nil
	// when the client's credentials are not an *aws.CredentialsCache.
	invalidate func()

	plans  sync.Pool // *plan
	bodies *bodyPool // request bodies (protocol.go)

	mu           sync.Mutex
	knownGroups  map[string]struct{}           // exist: created, or found existing on create
	knownStreams map[buffer.StreamKey]struct{} // likewise
	retention    map[string]struct{}           // groups created whose retention is not set yet
	partials     map[string]partial            // by chunk ID
	groups       map[string]GroupStats
	pendingRet   atomic.Int32 // len(retention), read without the lock

	stats counters
}

var _ buffer.Sender = (*CloudWatch)(nil)

// New returns a sink for cfg. api is the CloudWatch Logs client; nil builds
// one from the standard SDK chain with NewClient. New starts nothing.
func New(cfg Config, api logsAPI, log *zap.Logger) (*CloudWatch, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	cfg = cfg.withDefaults()
	if api == nil {
		cl, err := NewClient(context.Background(), cfg)
		if err != nil {
			return nil, err
		}
		api = cl
	}
	c := &CloudWatch{
		cfg:          cfg,
		lim:          limitsFor(cfg),
		api:          api,
		log:          log,
		now:          time.Now,
		opts:         []func(*cloudwatchlogs.Options){noSDKRetries},
		knownGroups:  map[string]struct{}{},
		knownStreams: map[buffer.StreamKey]struct{}{},
		retention:    map[string]struct{}{},
		partials:     map[string]partial{},
		groups:       map[string]GroupStats{},
		bodies:       newBodyPool(maxIdleBodies),
	}
	if cl, ok := api.(*cloudwatchlogs.Client); ok {
		o := cl.Options()
		if cc, ok := o.Credentials.(*aws.CredentialsCache); ok {
			c.invalidate = cc.Invalidate
		}
		if o.Protocol != nil {
			proto := putProtocol{o.Protocol}
			c.opts = append(c.opts, func(o *cloudwatchlogs.Options) {
				o.Protocol = proto
				o.APIOptions = append(o.APIOptions, addPayloadHash)
			})
		}
	}
	c.plans.New = func() any { return new(plan) }
	return c, nil
}

// noSDKRetries switches the SDK's retryer off for one call: the buffer owns
// retries.
func noSDKRetries(o *cloudwatchlogs.Options) {
	o.Retryer = aws.NopRetryer{}
	o.RetryMaxAttempts = 0
}

// Send delivers the records of ch from ch.Sent on. It returns nil once all
// of them are delivered or deliberately dropped (and counted); otherwise an
// error, wrapped with buffer.ErrPermanent when retrying cannot help. On any
// return ch.Sent counts the records delivered so far, ch.Records[ch.Sent:]
// are sorted by time, and ch.Records[ch.Sent].Message may have been shortened
// to the part of a split record not yet delivered. Send does not modify the
// bytes of any Message; it aliases them (without copying) while it runs.
func (c *CloudWatch) Send(ctx context.Context, ch *buffer.Chunk) error {
	if ch.Sent >= len(ch.Records) {
		return nil
	}
	key := ch.Key
	if key == (buffer.StreamKey{}) {
		key = ch.Records[ch.Sent].Key
	}
	if err := validKey(key); err != nil {
		c.stats.errors[classPermanent].Add(1)
		return permanent(fmt.Errorf("send to %s: %w", key, err))
	}
	if c.pendingRet.Load() > 0 {
		c.retryRetention(ctx, key.Group)
	}

	recs := ch.Records[ch.Sent:]
	sortRecords(recs)
	c.resume(ch)
	p := c.plans.Get().(*plan)
	defer func() {
		p.release()
		c.plans.Put(p)
	}()
	cut(recs, c.now().UnixMilli(), c.lim, p)
	if len(p.requests) == 0 {
		c.stats.drops(p.trailing)
		ch.Sent = len(ch.Records)
		c.setPartial(ch.ID, 0, 0)
		return nil
	}
	base := ch.Sent
	for k := range p.requests {
		rq := &p.requests[k]
		out, err := c.put(ctx, key, p.input(k))
		if err != nil {
			if k > 0 && p.requests[k-1].rest != nil {
				// The retry sends the trimmed record's rest as a record of
				// its own; its first event is a split piece all the same.
				c.stats.split.Add(1)
			}
			if errors.Is(err, buffer.ErrPermanent) {
				c.setPartial(ch.ID, 0, 0) // the chunk is dead-lettered
			}
			return err
		}
		c.delivered(key, rq, out)
		ch.Sent = base + rq.recEnd
		c.setPartial(ch.ID, ch.Sent, len(rq.rest))
		if rq.rest != nil {
			r := &ch.Records[ch.Sent]
			if rq.restCopy {
				r.Message = bytes.Clone(rq.rest)
			} else {
				r.Message = rq.rest
			}
		}
	}
	return nil
}

// partial is a chunk whose record Records[sent] was delivered in part: only
// the last rest bytes of its (sanitised) message are still to send.
type partial struct{ sent, rest int }

// maxPartials bounds the partial map; an entry lost to the bound costs a
// duplicate of a record's delivered pieces, never a loss.
const maxPartials = 1024

// setPartial records (rest > 0) or forgets (rest == 0) a chunk's partly
// delivered record.
func (c *CloudWatch) setPartial(id string, sent, rest int) {
	if id == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if rest == 0 {
		delete(c.partials, id)
		return
	}
	if len(c.partials) >= maxPartials {
		clear(c.partials)
	}
	c.partials[id] = partial{sent, rest}
}

// resume shortens the partly delivered record of a retried chunk to its
// undelivered rest. Send already shortens the record in place, but a file
// buffer may have dropped the chunk's records from memory and read them back
// from disk, in their original form; sorting gives them back the same order,
// so the record at Sent is the same one.
func (c *CloudWatch) resume(ch *buffer.Chunk) {
	if ch.ID == "" {
		return
	}
	c.mu.Lock()
	pr, ok := c.partials[ch.ID]
	c.mu.Unlock()
	if !ok || pr.sent != ch.Sent || pr.sent >= len(ch.Records) {
		return
	}
	r := &ch.Records[pr.sent]
	msg := r.Message
	if !utf8.Valid(msg) {
		msg = buffer.AppendValidUTF8(nil, msg)
	}
	if len(msg) > pr.rest {
		r.Message = msg[len(msg)-pr.rest:]
	}
}

// put sends one request; on ResourceNotFoundException with AutoCreateStream it
// creates what is missing and sends it once more.
func (c *CloudWatch) put(ctx context.Context, key buffer.StreamKey, events []types.InputLogEvent) (*cloudwatchlogs.PutLogEventsOutput, error) {
	in := &cloudwatchlogs.PutLogEventsInput{
		LogGroupName:  aws.String(key.Group),
		LogStreamName: aws.String(key.Stream),
		LogEvents:     events,
	}
	out, err := c.putOnce(ctx, in)
	if err == nil {
		return out, nil
	}
	cl := classify(err)
	if cl == classAccepted {
		return &cloudwatchlogs.PutLogEventsOutput{}, nil
	}
	if cl != classNotFound || !c.cfg.AutoCreateStream {
		return nil, c.fail(cl, fmt.Errorf("put log events to %s: %w", key, err))
	}
	c.stats.errors[classNotFound].Add(1)
	if err := c.create(ctx, key); err != nil {
		return nil, err
	}
	out, err = c.putOnce(ctx, in)
	if err == nil {
		return out, nil
	}
	cl = classify(err)
	if cl == classAccepted {
		return &cloudwatchlogs.PutLogEventsOutput{}, nil
	}
	if cl == classNotFound {
		// Just created: AWS is not consistent yet. The buffer retries.
		c.stats.errors[classNotFound].Add(1)
		return nil, fmt.Errorf("put log events to %s after creating it: %w", key, err)
	}
	return nil, c.fail(cl, fmt.Errorf("put log events to %s: %w", key, err))
}

func (c *CloudWatch) putOnce(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput) (*cloudwatchlogs.PutLogEventsOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	slot := &bodySlot{pool: c.bodies}
	ctx = context.WithValue(ctx, bodySlotKey{}, slot)
	out, err := c.api.PutLogEvents(ctx, in, c.opts...)
	if err == nil {
		slot.recycle()
	}
	if err == nil && out == nil {
		out = &cloudwatchlogs.PutLogEventsOutput{}
	}
	return out, err
}

// fail counts an error of class cl and returns it as the buffer should see
// it: retryable classes as they are, the rest wrapped with
// buffer.ErrPermanent.
func (c *CloudWatch) fail(cl class, err error) error {
	c.stats.errors[cl].Add(1)
	switch {
	case cl == classNotFound:
		return permanent(fmt.Errorf("%w (auto_create_stream is off)", err))
	case cl == classAuth:
		if c.invalidate != nil {
			c.invalidate()
		}
		return err
	case cl.retryable():
		return err
	}
	return permanent(err)
}

// delivered accounts for a successful request.
func (c *CloudWatch) delivered(key buffer.StreamKey, rq *request, out *cloudwatchlogs.PutLogEventsOutput) {
	n := rq.end - rq.start
	s := &c.stats
	s.requests.Add(1)
	s.events.Add(uint64(n))
	s.quota.Add(uint64(rq.bytes))
	s.payload.Add(uint64(rq.bytes - n*EventOverhead))
	s.split.Add(uint64(rq.split))
	s.truncated.Add(uint64(rq.truncated))
	s.sanitised.Add(uint64(rq.sanitised))
	s.drops(rq.drops)

	c.mu.Lock()
	g := c.groups[key.Group]
	g.Events += uint64(n)
	g.QuotaBytes += uint64(rq.bytes)
	g.PayloadBytes += uint64(rq.bytes - n*EventOverhead)
	c.groups[key.Group] = g
	c.mu.Unlock()

	if info := out.RejectedLogEventsInfo; info != nil {
		c.rejected(key, n, info)
	}
}

// rejected counts and logs the events AWS rejected in a request of n events.
// tooOldLogEventEndIndex and expiredLogEventEndIndex are exclusive ends of a
// prefix, tooNewLogEventStartIndex the inclusive start of a suffix. When both
// prefixes are given the longer one counts, the part beyond tooOld as
// expired (AWS does not document how they overlap).
func (c *CloudWatch) rejected(key buffer.StreamKey, n int, info *types.RejectedLogEventsInfo) {
	idx := func(p *int32, def int) int {
		if p == nil {
			return def
		}
		return min(max(int(*p), 0), n)
	}
	tooOld := idx(info.TooOldLogEventEndIndex, 0)
	expired := max(idx(info.ExpiredLogEventEndIndex, 0)-tooOld, 0)
	tooNew := n - max(idx(info.TooNewLogEventStartIndex, n), tooOld+expired)
	c.stats.rejOld.Add(uint64(tooOld))
	c.stats.rejExpired.Add(uint64(expired))
	c.stats.rejNew.Add(uint64(tooNew))
	if tooOld+expired+tooNew == 0 {
		return
	}
	level := zap.DebugLevel
	if c.cfg.LogRejectedRequest {
		level = zap.WarnLevel
	}
	c.log.Log(level, "CloudWatch Logs rejected events",
		zap.String("group", key.Group), zap.String("stream", key.Stream),
		zap.Int("events", n), zap.Int("too_old", tooOld), zap.Int("expired", expired), zap.Int("too_new", tooNew))
}

// create makes the stream of key exist, and its group if that is missing.
func (c *CloudWatch) create(ctx context.Context, key buffer.StreamKey) error {
	c.mu.Lock()
	_, knownStream := c.knownStreams[key]
	delete(c.knownStreams, key)
	c.mu.Unlock()
	if knownStream {
		c.log.Warn("log stream disappeared; creating it again", zap.String("group", key.Group), zap.String("stream", key.Stream))
	}
	err := c.createStream(ctx, key)
	if err == nil {
		return nil
	}
	cl := classify(err)
	if cl != classNotFound {
		return c.fail(cl, fmt.Errorf("create log stream %s: %w", key, err))
	}
	c.stats.errors[classNotFound].Add(1)
	c.mu.Lock()
	_, knownGroup := c.knownGroups[key.Group]
	delete(c.knownGroups, key.Group)
	c.mu.Unlock()
	if knownGroup {
		c.log.Warn("log group disappeared; creating it again", zap.String("group", key.Group))
	}
	if err := c.createGroup(ctx, key.Group); err != nil {
		return err
	}
	if err := c.createStream(ctx, key); err != nil {
		err = fmt.Errorf("create log stream %s: %w", key, err)
		if cl := classify(err); cl != classNotFound {
			return c.fail(cl, err)
		}
		c.stats.errors[classNotFound].Add(1)
		return err // the group was just created; the buffer retries
	}
	return nil
}

// createStream creates the stream; it exists afterwards when the result is
// nil. The error is returned unclassified.
func (c *CloudWatch) createStream(ctx context.Context, key buffer.StreamKey) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	_, err := c.api.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
		LogGroupName:  aws.String(key.Group),
		LogStreamName: aws.String(key.Stream),
	}, c.opts...)
	if err == nil {
		c.stats.streamsCreated.Add(1)
		c.log.Info("created log stream", zap.String("group", key.Group), zap.String("stream", key.Stream))
	} else if classify(err) == classExists {
		err = nil
	}
	if err == nil {
		c.mu.Lock()
		c.rememberLocked(key)
		c.mu.Unlock()
	}
	return err
}

// maxKnown bounds the known-streams set (one entry per stream ever created:
// with use_tag_as_stream a stream per container, so it grows with container
// churn). It only serves the "disappeared" log line, so forgetting is safe.
const maxKnown = 1 << 16

// rememberLocked marks key's group and stream as existing.
func (c *CloudWatch) rememberLocked(key buffer.StreamKey) {
	if len(c.knownStreams) >= maxKnown {
		clear(c.knownStreams)
	}
	if len(c.knownGroups) >= maxKnown {
		clear(c.knownGroups)
	}
	c.knownStreams[key] = struct{}{}
	c.knownGroups[key.Group] = struct{}{}
}

// createGroup creates a log group with the configured tags and retention.
func (c *CloudWatch) createGroup(ctx context.Context, group string) error {
	cctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	_, err := c.api.CreateLogGroup(cctx, &cloudwatchlogs.CreateLogGroupInput{
		LogGroupName: aws.String(group),
		Tags:         c.cfg.LogGroupAWSTags,
	}, c.opts...)
	created := err == nil
	if err != nil {
		cl := classify(err)
		if cl != classExists {
			return c.fail(cl, fmt.Errorf("create log group %s: %w", group, err))
		}
	}
	c.mu.Lock()
	if len(c.knownGroups) >= maxKnown {
		clear(c.knownGroups)
	}
	c.knownGroups[group] = struct{}{}
	c.mu.Unlock()
	if !created {
		return nil
	}
	c.stats.groupsCreated.Add(1)
	c.log.Info("created log group", zap.String("group", group))
	if c.cfg.RetentionInDays > 0 {
		c.setRetention(ctx, group)
	}
	return nil
}

// setRetention applies RetentionInDays to a group this sink created. A
// failure does not fail the chunk: it is logged and counted, and unless AWS
// called the value invalid it is tried again on the next Send to the group.
func (c *CloudWatch) setRetention(ctx context.Context, group string) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	_, err := c.api.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{
		LogGroupName:    aws.String(group),
		RetentionInDays: aws.Int32(int32(c.cfg.RetentionInDays)),
	}, c.opts...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		c.dropRetentionLocked(group)
		return
	}
	c.stats.retErrs.Add(1)
	var apiErr interface{ ErrorCode() string }
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidParameterException" {
		c.log.Warn("retention policy rejected; ignored", zap.String("group", group),
			zap.Int("retention_in_days", c.cfg.RetentionInDays), zap.Error(err))
		c.dropRetentionLocked(group)
		return
	}
	c.log.Warn("set retention policy; will try again", zap.String("group", group), zap.Error(err))
	if _, ok := c.retention[group]; !ok {
		c.retention[group] = struct{}{}
		c.pendingRet.Add(1)
	}
}

func (c *CloudWatch) dropRetentionLocked(group string) {
	if _, ok := c.retention[group]; ok {
		delete(c.retention, group)
		c.pendingRet.Add(-1)
	}
}

// retryRetention applies a retention policy that failed earlier, if group
// has one pending.
func (c *CloudWatch) retryRetention(ctx context.Context, group string) {
	c.mu.Lock()
	_, ok := c.retention[group]
	c.mu.Unlock()
	if ok {
		c.setRetention(ctx, group)
	}
}
