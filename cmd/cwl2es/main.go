// Command cwl2es is an AWS Lambda function (runtime provided.al2023, binary
// "bootstrap") that indexes CloudWatch Logs subscription payloads into
// Amazon OpenSearch Service, OpenSearch or Elasticsearch through the _bulk
// API: the Go replacement for the console's LogsToElasticsearch function
// that the 2017 workshop used.
//
// Each log event becomes one document in the daily index
// <INDEX_PREFIX>-YYYY.MM.DD (event time, UTC) with _id = the event id, so a
// re-delivered payload overwrites instead of duplicating. Documents carry
// @id, @timestamp, @message, @owner, @log_group and @log_stream plus the
// fields of a JSON message. Control messages are skipped. Items refused with
// 429 or 5xx are retried with backoff; other refusals are counted and logged.
//
// Environment:
//
//	OPENSEARCH_ENDPOINT       https://host[:port] of the domain or cluster (required)
//	INDEX_PREFIX              index name prefix (default "cwl")
//	OPENSEARCH_SIGV4_SERVICE  "es" (Amazon OpenSearch Service), "aoss" (Serverless) or "none";
//	                          empty means "es" for *.es.amazonaws.com, "aoss" for
//	                          *.aoss.amazonaws.com, else none
//	OPENSEARCH_USERNAME, OPENSEARCH_PASSWORD
//	                          HTTP basic auth for self-managed clusters (not with SigV4)
//	BULK_MAX_ATTEMPTS         sends per item before the invocation fails (default 5)
//	LOG_LEVEL                 debug, info (default), warn, error
//
// SigV4 credentials and region come from the Lambda execution role
// (AWS_REGION, AWS_ACCESS_KEY_ID, … set by Lambda). Build:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./cmd/cwl2es
//	zip cwl2es-arm64.zip bootstrap
//
// and deploy with deploy/aws/cwl-to-opensearch.yaml.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"github.com/opensearch-project/opensearch-go/v4/signer"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func main() {
	log, err := newLogger(os.Getenv("LOG_LEVEL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cwl2es:", err)
		os.Exit(2)
	}
	h, err := setup(context.Background(), os.Getenv, log)
	if err != nil {
		log.Fatal("setup", zap.Error(err))
	}
	lambda.Start(h.Handle)
}

// settings is the function's environment, parsed.
type settings struct {
	endpoint    string
	sigv4       string // "", "es" or "aoss"
	username    string
	password    string
	handler     Config
	maxAttempts int
}

// parseSettings reads the environment through getenv.
func parseSettings(getenv func(string) string) (settings, error) {
	var s settings
	s.endpoint = strings.TrimRight(getenv("OPENSEARCH_ENDPOINT"), "/")
	if s.endpoint == "" {
		return s, errors.New("OPENSEARCH_ENDPOINT is not set")
	}
	u, err := url.Parse(s.endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return s, fmt.Errorf("OPENSEARCH_ENDPOINT %q: want https://host[:port]", s.endpoint)
	}
	switch v := getenv("OPENSEARCH_SIGV4_SERVICE"); v {
	case "":
		switch host := u.Hostname(); {
		case strings.HasSuffix(host, ".es.amazonaws.com"):
			s.sigv4 = "es"
		case strings.HasSuffix(host, ".aoss.amazonaws.com"):
			s.sigv4 = "aoss"
		}
	case "es", "aoss":
		s.sigv4 = v
	case "none":
	default:
		return s, fmt.Errorf("OPENSEARCH_SIGV4_SERVICE %q: want es, aoss or none", v)
	}
	s.username, s.password = getenv("OPENSEARCH_USERNAME"), getenv("OPENSEARCH_PASSWORD")
	if s.sigv4 != "" && s.username != "" {
		return s, errors.New("OPENSEARCH_USERNAME with SigV4: choose one (fine-grained access control accepts either, not both)")
	}
	s.handler.IndexPrefix = getenv("INDEX_PREFIX")
	if v := getenv("BULK_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return s, fmt.Errorf("BULK_MAX_ATTEMPTS %q: want a positive integer", v)
		}
		s.handler.MaxAttempts = n
	}
	return s, nil
}

// setup builds the Handler from the environment.
func setup(ctx context.Context, getenv func(string) string, log *zap.Logger) (*Handler, error) {
	s, err := parseSettings(getenv)
	if err != nil {
		return nil, err
	}
	var sig signer.Signer
	if s.sigv4 != "" {
		awsCfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("aws config: %w", err)
		}
		sig, err = awsv2.NewSignerWithService(awsCfg, s.sigv4)
		if err != nil {
			return nil, fmt.Errorf("sigv4 signer: %w", err)
		}
	}
	client, err := newClient(s, sig)
	if err != nil {
		return nil, err
	}
	return NewHandler(s.handler, &openSearchBulker{client: client}, log)
}

// newClient returns an opensearch-go client for one endpoint with the
// client's own retries off (the Handler owns retries, per item) and no node
// discovery (a Lambda talks to one endpoint).
func newClient(s settings, sig signer.Signer) (*opensearchapi.Client, error) {
	noDiscovery := false
	c, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{
		Addresses:            []string{s.endpoint},
		Username:             s.username,
		Password:             s.password,
		Signer:               sig,
		DisableRetry:         true,
		DiscoverNodesOnStart: &noDiscovery,
	}})
	if err != nil {
		return nil, fmt.Errorf("opensearch client: %w", err)
	}
	return c, nil
}

func newLogger(level string) (*zap.Logger, error) {
	lvl := zapcore.InfoLevel
	if level != "" {
		var err error
		if lvl, err = zapcore.ParseLevel(level); err != nil {
			return nil, fmt.Errorf("LOG_LEVEL: %w", err)
		}
	}
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	return cfg.Build()
}
