// Package emulator is a local CloudWatch Logs endpoint that behaves like AWS's
// on the wire: the awsJson1_1 protocol (POST /, X-Amz-Target
// Logs_20140328.<Op>, JSON bodies, {"__type","message"} errors with the
// X-Amzn-ErrorType header and AWS's HTTP status, an x-amzn-RequestId header on
// every response), SigV4 Authorization for service "logs", the validation
// rules and limits of PutLogEvents and the other operations logship and its
// peers use, fault injection (throttling, 5xx, latency, outages) and
// subscription filters that deliver the exact payload CloudWatch Logs hands a
// Lambda function to an HTTP endpoint.
//
// It is the engine of 'logship emulate' and the test double of the sink's
// end-to-end tests (see the emulatortest subpackage). The behaviour follows
// the CloudWatch Logs API Reference and service model; design.md lists the
// sources and, where AWS's behaviour is undocumented, the choice made here.
//
// Lifecycle: New validates the configuration and allocates; it starts no
// goroutine and does no I/O beyond creating DataDir. Run loads persisted state,
// serves a listener, runs subscription delivery and periodic saves, and on
// context cancellation shuts down and saves. ServeHTTP may also be used on its
// own (for example under httptest); subscription payloads are then queued
// until DeliverPending is called.
//
// Operations: CreateLogGroup, DeleteLogGroup, CreateLogStream,
// DeleteLogStream, DescribeLogGroups, DescribeLogStreams, PutLogEvents,
// PutRetentionPolicy, DeleteRetentionPolicy, TagResource, UntagResource,
// ListTagsForResource, TagLogGroup, UntagLogGroup, ListTagsLogGroup,
// PutSubscriptionFilter, DescribeSubscriptionFilters,
// DeleteSubscriptionFilter, GetLogEvents, FilterLogEvents. Any other target
// is UnknownOperationException.
//
// Choices where AWS's behaviour is undocumented (design.md explains each):
//   - the per-event limit counts message bytes + 26 and the error reports that
//     sum ("Log event too large: N bytes exceeds limit of M");
//   - validation messages address list members 1-based
//     ("logEvents.1.member.message"), the Coral convention;
//   - a batch spanning exactly 24 hours is accepted, and so are events exactly
//     14 days old or exactly 2 hours ahead;
//   - ServiceUnavailableException is HTTP 500 (the API reference's status);
//     authentication errors are HTTP 400;
//   - invalid UTF-8 and lone surrogates in messages become U+FFFD and sizes
//     are measured after that replacement;
//   - each subscription filter gets its own payload (AWS invokes each
//     filter's destination separately), named in "subscriptionFilters"; a
//     CONTROL_MESSAGE is sent when a filter is created;
//   - event ids are 56 digits that sort by (timestamp, acceptance order),
//     sequence tokens 56 digits, GetLogEvents tokens "f/" or "b/" + 56 digits.
package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Defaults for Config fields whose zero value means "the default".
const (
	// DefaultRegion is the region the emulator claims to be.
	DefaultRegion = "us-east-1"
	// DefaultAccountID is the account id used in ARNs and subscription payloads.
	DefaultAccountID = "123456789012"
	// DefaultMaxEventSize is AWS's per-event limit since April 2025: 1 MiB,
	// counting the message's UTF-8 bytes plus the 26-byte per-event overhead
	// (design.md, "PutLogEvents").
	DefaultMaxEventSize = 1 << 20
	// LegacyMaxEventSize is the per-event limit before April 2025 (256 KiB).
	LegacyMaxEventSize = 256 << 10
	// DefaultSaveInterval is how often Run saves state to DataDir when it
	// changed (state.json is rewritten whole).
	DefaultSaveInterval = 30 * time.Second
	// DefaultDeliveryAttempts is how many times a subscription payload is
	// POSTed before it is counted as a delivery error and dropped.
	DefaultDeliveryAttempts = 3
	// DefaultDeliveryQueue is how many subscription payloads may wait for
	// delivery; beyond that new payloads are counted as dropped, so
	// PutLogEvents never blocks on a slow destination.
	DefaultDeliveryQueue = 1024
	// DefaultMaxRequestBytes caps a request body. A maximal PutLogEvents
	// request is 1 MiB of messages plus JSON escaping and envelope.
	DefaultMaxRequestBytes = 16 << 20
)

// Config configures a Server. The zero value is a usable emulator in
// us-east-1 that requires a SigV4 Authorization header (any keys), keeps
// events in memory, and delivers no subscription payloads.
type Config struct {
	// Region is the AWS region used in ARNs and expected in the SigV4
	// credential scope. Empty means DefaultRegion.
	Region string
	// AccountID is the 12-digit account id used in ARNs and as the "owner" of
	// subscription payloads. Empty means DefaultAccountID.
	AccountID string
	// AllowUnsigned accepts requests without a SigV4 Authorization header.
	// False (the default) answers them with MissingAuthenticationTokenException,
	// as AWS does.
	AllowUnsigned bool
	// AccessKeyID and SecretAccessKey, when both are set, turn on strict
	// signature verification: a different access key gets
	// UnrecognizedClientException, a wrong signature InvalidSignatureException.
	// Empty means any well-formed SigV4 header for service "logs" is accepted.
	AccessKeyID     string
	SecretAccessKey string
	// DataDir, when set, is where state is persisted (state.json, written
	// atomically) so the emulator can be stopped and restarted. Empty means
	// memory only.
	DataDir string
	// SaveInterval is how often Run saves changed state to DataDir. Zero means
	// DefaultSaveInterval; negative means only on shutdown.
	SaveInterval time.Duration
	// MaxEventSize is the per-event limit in bytes, message UTF-8 bytes plus
	// 26. Zero means DefaultMaxEventSize (1,048,576); LegacyMaxEventSize
	// (262,144) emulates the pre-2025 limit.
	MaxEventSize int
	// CountOnly validates every request fully but keeps only counters and
	// stream statistics, not the events themselves (for benchmarks).
	// GetLogEvents and FilterLogEvents then return no events.
	CountOnly bool
	// OmitSequenceToken leaves nextSequenceToken out of PutLogEvents
	// responses (AWS deprecated it; some clients loop on its absence). False
	// means it is returned, as AWS did in 2023.
	OmitSequenceToken bool
	// Now is the clock for the 14-day / 2-hour / 24-hour rules, creation and
	// ingestion times and outage windows. Nil means time.Now.
	Now func() time.Time
	// SubscriptionEndpoint is the HTTP URL that receives subscription
	// payloads ({"awslogs":{"data":...}}, POSTed as application/json) for
	// every subscription filter, whatever its destinationArn. Empty means
	// filters are stored and described but no payload is built or sent.
	SubscriptionEndpoint string
	// DeliveryAttempts is how many times a payload is POSTed before it is
	// dropped and counted as a delivery error. Zero means
	// DefaultDeliveryAttempts.
	DeliveryAttempts int
	// DeliveryBackoff is the pause between delivery attempts. Zero means 100ms.
	DeliveryBackoff time.Duration
	// DeliveryQueue bounds the payloads waiting for delivery. Zero means
	// DefaultDeliveryQueue.
	DeliveryQueue int
	// MaxRequestBytes caps a request body; larger requests get
	// SerializationException. Zero means DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// Faults are the initial fault-injection settings; Server.Faults changes
	// them at run time.
	Faults FaultConfig
}

// Server is the emulator. It is safe for concurrent use.
type Server struct {
	cfg    Config
	log    *zap.Logger
	now    func() time.Time
	faults *Faults
	stats  *counters

	mu     sync.Mutex // guards st, dirty and loaded
	st     *state
	dirty  bool
	loaded bool // Load succeeded (or there was nothing to load)

	deliveries chan delivery
	httpClient *http.Client
}

// New validates cfg, fills defaults and returns a Server. It starts no
// goroutines; with DataDir set it only creates the directory.
func New(cfg Config, log *zap.Logger) (*Server, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if cfg.MaxEventSize == 0 {
		cfg.MaxEventSize = DefaultMaxEventSize
	}
	if cfg.MaxEventSize < 27 || cfg.MaxEventSize > maxBatchBytes {
		return nil, fmt.Errorf("max event size %d: want 27..%d bytes", cfg.MaxEventSize, maxBatchBytes)
	}
	if cfg.SaveInterval == 0 {
		cfg.SaveInterval = DefaultSaveInterval
	}
	if cfg.DeliveryAttempts <= 0 {
		cfg.DeliveryAttempts = DefaultDeliveryAttempts
	}
	if cfg.DeliveryBackoff <= 0 {
		cfg.DeliveryBackoff = 100 * time.Millisecond
	}
	if cfg.DeliveryQueue <= 0 {
		cfg.DeliveryQueue = DefaultDeliveryQueue
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return nil, errors.New("access key id and secret access key must be set together")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	faults, err := newFaults(cfg.Faults, now)
	if err != nil {
		return nil, err
	}
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	return &Server{
		cfg:        cfg,
		log:        log,
		now:        now,
		faults:     faults,
		stats:      newCounters(),
		st:         newState(),
		deliveries: make(chan delivery, cfg.DeliveryQueue),
		httpClient: &http.Client{Timeout: 10 * time.Second},
	}, nil
}

// Faults returns the fault-injection controls. They are safe for concurrent
// use and take effect on the next request.
func (s *Server) Faults() *Faults { return s.faults }

// Region returns the configured region.
func (s *Server) Region() string { return s.cfg.Region }

// Run loads persisted state (when DataDir is set and Load was not called
// yet), serves ln until ctx is
// done, delivers subscription payloads and saves state periodically. On
// cancellation it stops accepting requests, finishes in-flight ones (up to 5
// s), attempts the queued deliveries once more (up to 2 s) and saves state.
// It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	loaded := s.loaded
	s.mu.Unlock()
	if !loaded {
		if err := s.Load(); err != nil {
			ln.Close()
			return err
		}
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	// Deliveries run under their own context so that shutdown can let the
	// in-flight one finish (bounded by the flush deadline below).
	deliverCtx, cancelDeliver := context.WithCancel(context.Background())
	defer cancelDeliver()
	stopDeliver := make(chan struct{})
	deliverDone := make(chan struct{})
	go func() {
		defer close(deliverDone)
		s.deliverLoop(deliverCtx, stopDeliver)
	}()

	var tick <-chan time.Time
	if s.cfg.DataDir != "" && s.cfg.SaveInterval > 0 {
		t := time.NewTicker(s.cfg.SaveInterval)
		defer t.Stop()
		tick = t.C
	}

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-serveErr:
			runErr = fmt.Errorf("serve: %w", err)
			serveErr = nil
			break loop
		case <-tick:
			if err := s.Save(); err != nil {
				s.log.Error("save state", zap.Error(err))
			}
		}
	}

	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := srv.Shutdown(shutCtx); err != nil {
		srv.Close()
	}
	cancel()
	if serveErr != nil {
		if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) && runErr == nil {
			runErr = fmt.Errorf("serve: %w", err)
		}
	}
	close(stopDeliver)
	flushDeadline := time.AfterFunc(2*time.Second, cancelDeliver)
	<-deliverDone
	if n := s.DeliverPending(deliverCtx); n > 0 {
		s.log.Warn("subscription payloads not delivered at shutdown", zap.Int("payloads", n))
	}
	flushDeadline.Stop()
	if err := s.Save(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}
