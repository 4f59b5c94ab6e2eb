// Package cwlogs is the cloudwatch_logs output (fluent-plugin-cloudwatch-logs):
// sink/cloudwatch's Formatter renders each record's group, stream and
// message, a buffer.Buffer keeps them in chunks, and sink/cloudwatch's sink
// flushes the chunks with PutLogEvents. Map reads the section; the buffer's
// Fluentd dialects are read by config's parameter reader (plugin.Params
// Buffer), one place for every buffered output.
package cwlogs

import (
	"context"
	"fmt"

	"logship/buffer"
	"logship/plugin"
	"logship/sink/cloudwatch"
)

// Config is a cloudwatch_logs output's configuration.
type Config struct {
	CloudWatch cloudwatch.Config
	Buffer     buffer.Config
}

// BufferConfig implements plugin.BufferedConfig.
func (c *Config) BufferConfig() *buffer.Config { return &c.Buffer }

// Redirect implements plugin.Redirectable: the output sends to e.
func (c *Config) Redirect(e plugin.Endpoint) {
	c.CloudWatch.Endpoint, c.CloudWatch.Region = e.URL, e.Region
	c.CloudWatch.AccessKeyID, c.CloudWatch.SecretAccessKey = e.AccessKeyID, e.SecretAccessKey
}

// Describe implements plugin.Describer; credentials are redacted.
func (c *Config) Describe() string {
	red := c.CloudWatch
	if red.AccessKeyID != "" {
		red.AccessKeyID = "<redacted>"
	}
	if red.SecretAccessKey != "" {
		red.SecretAccessKey = "<redacted>"
	}
	if red.SessionToken != "" {
		red.SessionToken = "<redacted>"
	}
	return fmt.Sprintf("group=%q stream=%q use_tag_as_group=%v use_tag_as_stream=%v group_key=%q stream_key=%q auto_create_stream=%v retention_in_days=%d message_keys=%q drop_empty=%v region=%q endpoint=%q aws_key_id=%q buffer: %s",
		red.LogGroupName, red.LogStreamName, red.UseTagAsGroup, red.UseTagAsStream, red.LogGroupNameKey,
		red.LogStreamNameKey, red.AutoCreateStream, red.RetentionInDays, red.MessageKeys,
		red.DropEmptyTopLevel, red.Region, red.Endpoint, red.AccessKeyID, c.Buffer.String())
}

// Differences implements plugin.Differ.
func (c *Config) Differences() []string {
	return []string{
		"a chunk retried after a partial success never re-sends the requests that already succeeded (Fluentd re-sends the whole chunk)",
		"a chunk that fails permanently or runs out of retries is dead-lettered (replay with 'logship replay'); Fluentd drops the whole queue",
		"an event over the size limit is split (or truncated) and counted; Fluentd drops the rest of the stream or backs the chunk up",
		"events with equal timestamps keep their order (stable sort)",
		"a missing group or stream without auto_create_stream dead-letters the chunk instead of skipping its events silently",
		"rejected events (too old/new, expired) are counted by reason and logged with their index ranges",
	}
}

// NewOutput implements plugin.OutputConfig: the client, the sink, the
// formatter and the buffer. The buffer's flush threads start with Run.
func (c *Config) NewOutput(ctx context.Context, deps plugin.OutputDeps) (plugin.Output, error) {
	newAPI := deps.NewCloudWatchAPI
	if newAPI == nil {
		newAPI = cloudwatch.NewClient
	}
	api, err := newAPI(ctx, c.CloudWatch)
	if err != nil {
		return nil, err
	}
	o := &Output{}
	if o.sink, err = cloudwatch.New(c.CloudWatch, api, deps.Log); err != nil {
		return nil, err
	}
	if o.format, err = cloudwatch.NewFormatter(c.CloudWatch); err != nil {
		return nil, err
	}
	if o.buf, err = buffer.New(c.Buffer, o.sink, deps.Ack, deps.Log, deps.Clock); err != nil {
		return nil, err
	}
	o.BufferedOutput = plugin.NewBufferedOutput(o.format, o.buf, deps.Ack)
	return o, nil
}

// Output is a running cloudwatch_logs output.
type Output struct {
	*plugin.BufferedOutput
	buf    *buffer.Buffer
	sink   *cloudwatch.CloudWatch
	format *cloudwatch.Formatter
}

// Run runs the buffer's flush threads until ctx is done, then its final
// flush.
func (o *Output) Run(ctx context.Context) error { return o.buf.Run(ctx) }

// Buffer implements plugin.Buffered.
func (o *Output) Buffer() *buffer.Buffer { return o.buf }

var (
	_ plugin.OutputConfig   = (*Config)(nil)
	_ plugin.BufferedConfig = (*Config)(nil)
	_ plugin.Redirectable   = (*Config)(nil)
	_ plugin.Output         = (*Output)(nil)
	_ plugin.Runner         = (*Output)(nil)
	_ plugin.Buffered       = (*Output)(nil)
	_ plugin.Collector      = (*Output)(nil)
)
