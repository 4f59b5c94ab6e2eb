package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"logship/sink/emulator"
)

// runEmulate implements 'logship emulate': a local CloudWatch Logs endpoint
// (package sink/emulator) until SIGINT/SIGTERM.
func runEmulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("emulate", stderr)
	listen := fs.String("listen", "127.0.0.1:4566", "`address` to listen on")
	dataDir := fs.String("data", "", "`dir`ectory to persist state in (empty: memory only)")
	region := fs.String("region", emulator.DefaultRegion, "AWS `region` the emulator claims (and expects in signatures)")
	account := fs.String("account", emulator.DefaultAccountID, "AWS account `id` used in ARNs and subscription payloads")
	throttle := fs.Float64("throttle-rate", 0, "probability (0..1) of answering ThrottlingException")
	errRate := fs.Float64("error-rate", 0, "probability (0..1) of answering ServiceUnavailableException (HTTP 500)")
	latency := fs.Duration("latency", 0, "latency added to every request")
	outageAfter := fs.Duration("outage-after", 0, "start an outage this long after start (with --outage-for)")
	outageFor := fs.Duration("outage-for", 0, "length of the outage; connections are closed without a response")
	outage503 := fs.Bool("outage-503", false, "during an outage answer HTTP 503 instead of closing connections")
	faultOps := fs.String("fault-ops", "", "comma-separated operations the throttle/error rates apply to (empty: all)")
	seed := fs.Uint64("seed", 1, "seed of the fault-injection random generator")
	quotas := fs.Bool("quotas", false, "enforce AWS's account-wide request-rate quotas (PutLogEvents 5000/s, CreateLogStream 50/s, DescribeLogStreams 25/s, ...)")
	useTLS := fs.Bool("tls", false, "serve HTTPS with a fresh self-signed certificate instead of HTTP")
	subEndpoint := fs.String("subscription-endpoint", "", "HTTP `URL` that receives subscription filter payloads")
	countOnly := fs.Bool("count-only", false, "validate fully but keep only counters, not events (benchmarks)")
	maxEvent := fs.Int("max-event-size", emulator.DefaultMaxEventSize, "per-event limit in `bytes` (message + 26); 262144 for the pre-2025 limit")
	accessKey := fs.String("access-key", "", "verify signatures strictly against this access key id (with --secret-key)")
	secretKey := fs.String("secret-key", "", "secret access key for strict signature verification")
	allowUnsigned := fs.Bool("allow-unsigned", false, "accept requests without a SigV4 Authorization header")
	omitToken := fs.Bool("omit-sequence-token", false, "leave nextSequenceToken out of PutLogEvents responses")
	logf := addLogFlags(fs, "console", "info")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if (*outageAfter != 0 || *outageFor != 0) && *outageFor <= 0 {
		return usageError{errors.New("--outage-after needs a positive --outage-for")}
	}
	if (*accessKey == "") != (*secretKey == "") {
		return usageError{errors.New("--access-key and --secret-key go together")}
	}
	log, err := logf.logger(stderr)
	if err != nil {
		return err
	}
	defer log.Sync()

	cfg := emulator.Config{
		Region:               *region,
		AccountID:            *account,
		AllowUnsigned:        *allowUnsigned,
		AccessKeyID:          *accessKey,
		SecretAccessKey:      *secretKey,
		DataDir:              *dataDir,
		MaxEventSize:         *maxEvent,
		CountOnly:            *countOnly,
		OmitSequenceToken:    *omitToken,
		SubscriptionEndpoint: *subEndpoint,
		Faults: emulator.FaultConfig{
			ThrottleRate:    *throttle,
			ServerErrorRate: *errRate,
			Latency:         *latency,
			Seed:            *seed,
		},
	}
	if *quotas {
		cfg.Faults.Quotas = emulator.DefaultQuotas()
	}
	if *faultOps != "" {
		cfg.Faults.Ops = strings.Split(*faultOps, ",")
	}
	if *outageFor > 0 {
		start := time.Now().Add(*outageAfter)
		cfg.Faults.OutageFrom, cfg.Faults.OutageTo = start, start.Add(*outageFor)
	}
	srv, err := emulator.New(cfg, log)
	if err != nil {
		return usageError{err}
	}
	srv.Faults().SetOutageStatus(*outage503)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if *useTLS {
		host, _, _ := net.SplitHostPort(ln.Addr().String())
		tlsCfg, err := emulator.SelfSignedTLS(host, "localhost")
		if err != nil {
			ln.Close()
			return err
		}
		ln, scheme = tls.NewListener(ln, tlsCfg), "https"
	}
	fmt.Fprintf(stdout, "logship emulate: CloudWatch Logs endpoint %s://%s (region %s)\n", scheme, ln.Addr(), cfg.Region)
	if err := srv.Run(ctx, ln); err != nil {
		return err
	}
	st := srv.Stats()
	fmt.Fprintf(stdout, "logship emulate: stopped; %d events accepted (%d bytes)\n", st.EventsAccepted, st.BytesAccepted)
	return nil
}
