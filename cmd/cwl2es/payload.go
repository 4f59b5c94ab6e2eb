package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-lambda-go/events"
)

// Message types of a subscription payload
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html;
// aws-lambda-go events/cloudwatch_logs.go).
const (
	messageData    = "DATA_MESSAGE"
	messageControl = "CONTROL_MESSAGE"
)

// errPayloadTooLarge is returned when the decompressed payload exceeds
// Config.MaxPayloadBytes.
var errPayloadTooLarge = errors.New("payload too large")

// payload is the decoded subscription payload. It is
// events.CloudwatchLogsData plus extractedFields, which CloudWatch Logs adds
// when the filter pattern extracts fields ("[ip, user, …]").
type payload struct {
	Owner               string     `json:"owner"`
	LogGroup            string     `json:"logGroup"`
	LogStream           string     `json:"logStream"`
	SubscriptionFilters []string   `json:"subscriptionFilters"`
	MessageType         string     `json:"messageType"`
	LogEvents           []logEvent `json:"logEvents"`
}

type logEvent struct {
	ID              string            `json:"id"`
	Timestamp       int64             `json:"timestamp"`
	Message         string            `json:"message"`
	ExtractedFields map[string]string `json:"extractedFields,omitempty"`
}

// decodePayload decodes awslogs.data: base64, then gzip (at most maxBytes
// decompressed), then JSON.
func decodePayload(ev events.CloudwatchLogsEvent, maxBytes int) (*payload, error) {
	raw, err := base64.StdEncoding.DecodeString(ev.AWSLogs.Data)
	if err != nil {
		return nil, fmt.Errorf("awslogs.data base64: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("awslogs.data gzip: %w", err)
	}
	defer zr.Close()
	js, err := io.ReadAll(io.LimitReader(zr, int64(maxBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("awslogs.data gzip: %w", err)
	}
	if len(js) > maxBytes {
		return nil, fmt.Errorf("awslogs.data: %w (over %d bytes decompressed)", errPayloadTooLarge, maxBytes)
	}
	var p payload
	if err := json.Unmarshal(js, &p); err != nil {
		return nil, fmt.Errorf("awslogs.data json: %w", err)
	}
	switch p.MessageType {
	case messageData, messageControl:
	default:
		return nil, fmt.Errorf("awslogs.data: unknown messageType %q", p.MessageType)
	}
	return &p, nil
}
