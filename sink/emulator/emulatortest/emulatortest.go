// Package emulatortest runs the CloudWatch Logs emulator for tests: a real
// HTTP server on 127.0.0.1 and a real aws-sdk-go-v2 client pointed at it.
package emulatortest

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"logship/sink/emulator"
)

// Credentials the test client signs with when Config.AccessKeyID is empty.
const (
	AccessKeyID     = "AKIDEMULATORTEST"
	SecretAccessKey = "emulator-test-secret"
)

// Env is a running emulator and a client for it.
type Env struct {
	// Server is the emulator (Faults, Events, Stats).
	Server *emulator.Server
	// URL is the endpoint, "http://127.0.0.1:<port>".
	URL string
	// Region is the region the emulator expects in signatures.
	Region string
	// Client is a real aws-sdk-go-v2 CloudWatch Logs client: static
	// credentials (Config's keys, or AccessKeyID/SecretAccessKey), the
	// emulator's region, BaseEndpoint = URL, and retries disabled
	// (aws.NopRetryer), so every call is exactly one HTTP request.
	Client *cloudwatchlogs.Client
	// AccessKeyID and SecretAccessKey are the credentials Client uses.
	AccessKeyID, SecretAccessKey string
}

// Start runs an emulator with cfg on 127.0.0.1:0 until the test ends. The
// emulator logs warnings and errors to the test log.
func Start(tb testing.TB, cfg emulator.Config) *Env {
	tb.Helper()
	srv, err := emulator.New(cfg, zaptest.NewLogger(tb, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		tb.Fatalf("emulator.New: %v", err)
	}
	env, stop := Serve(tb, srv, cfg)
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Errorf("emulator Run: %v", err)
		}
	})
	return env
}

// Serve loads srv's saved state and runs it (Run) on 127.0.0.1:0, with an Env
// for cfg's region and keys (the cfg srv was made with). stop ends Run and
// returns its error (nil when called again); the end of the test stops it
// too.
func Serve(tb testing.TB, srv *emulator.Server, cfg emulator.Config) (env *Env, stop func() error) {
	tb.Helper()
	if err := srv.Load(); err != nil {
		tb.Fatalf("emulator Load: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	return newEnv(srv, "http://"+ln.Addr().String(), cfg), Run(tb, srv, ln)
}

// Run runs srv on ln in the background. stop ends it and returns Run's error,
// or an error if it did not stop within 15 s (nil when called again); the end
// of the test stops it too.
func Run(tb testing.TB, srv *emulator.Server, ln net.Listener) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("emulator did not stop within 15s")
		}
	}
	tb.Cleanup(func() { stop() })
	return stop
}

// Handler serves srv through its ServeHTTP alone (an httptest server: no
// Run, so no delivery loop and no periodic save) until the test ends, with
// an Env for cfg's region and keys.
func Handler(tb testing.TB, srv *emulator.Server, cfg emulator.Config) *Env {
	h := httptest.NewServer(srv)
	tb.Cleanup(h.Close)
	return newEnv(srv, h.URL, cfg)
}

// newEnv is the Env of srv at url: cfg's region (or the default) and keys
// (or AccessKeyID and SecretAccessKey).
func newEnv(srv *emulator.Server, url string, cfg emulator.Config) *Env {
	region := cfg.Region
	if region == "" {
		region = emulator.DefaultRegion
	}
	ak, sk := cfg.AccessKeyID, cfg.SecretAccessKey
	if ak == "" {
		ak, sk = AccessKeyID, SecretAccessKey
	}
	return &Env{
		Server:          srv,
		URL:             url,
		Region:          region,
		Client:          NewClient(url, region, ak, sk),
		AccessKeyID:     ak,
		SecretAccessKey: sk,
	}
}

// NewClient returns an aws-sdk-go-v2 CloudWatch Logs client for an emulator
// at url, signing with the given static keys, with retries disabled.
func NewClient(url, region, accessKeyID, secretAccessKey string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, ""),
		BaseEndpoint: aws.String(url),
		Retryer:      aws.NopRetryer{},
	})
}

// CreateStream creates the log group (if missing) and the log stream (if
// missing), failing the test on any other error.
func (e *Env) CreateStream(tb testing.TB, group, stream string) {
	tb.Helper()
	ctx := context.Background()
	var exists *types.ResourceAlreadyExistsException
	if _, err := e.Client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &group}); err != nil && !errors.As(err, &exists) {
		tb.Fatalf("CreateLogGroup(%q): %v", group, err)
	}
	if _, err := e.Client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: &group, LogStreamName: &stream}); err != nil && !errors.As(err, &exists) {
		tb.Fatalf("CreateLogStream(%q, %q): %v", group, stream, err)
	}
}

// Messages returns the messages stored in a stream, in stored order.
func (e *Env) Messages(group, stream string) []string {
	evs := e.Server.Events(group, stream)
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Message
	}
	return out
}
