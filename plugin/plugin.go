// Package plugin declares what the agent, the configuration mapping and the
// plugin packages (outputs sink/null, sink/stdout, sink/file, sink/cwlogs,
// sink/rewritetag; sources source/httpsource, source/journal,
// source/monitor, source/prometheus) share, so that none of them imports
// another's internals:
//
//   - config maps a <match> section onto a plugin's typed configuration with
//     the plugin's mapper, which reads the section through Params (config's
//     one parameter reader implements it); the mapper and its @type are one
//     line of config's registry table (config/plugins_outputs.go);
//   - the typed configuration is an OutputConfig (a SourceConfig): the agent
//     builds the runtime with NewOutput (NewSource), giving it OutputDeps
//     (SourceDeps), and never names the type;
//   - the optional interfaces below (Runner, Buffered, Collector on the
//     runtime; BufferedConfig, Redirectable, Describer, Differ on the
//     configuration) are how the agent's metrics, check-config, demo and
//     replay pick up a new output without naming it;
//   - the sources that report the agent itself read it through Inventory
//     (its plugins, their counters, the tail files) and Metrics (its
//     registry and ops listener), which the agent passes in SourceDeps.
package plugin

import (
	"context"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"logship/buffer"
	"logship/sink/cloudwatch"
)

// Output receives the records of a <match>. Emit takes ownership of nothing:
// it must copy what it keeps (buffer.Add copies messages). It is atomic per
// call: on error none of recs was accepted. Records an output is done with
// (delivered, written, deliberately dropped) are given to OutputDeps.Ack.
type Output interface {
	Emit(ctx context.Context, recs []buffer.Record) error
}

// OutputConfig is an output plugin's typed configuration, as its mapper made
// it from the <match> section. NewOutput builds the runtime; it starts no
// goroutine (a Runner's loop is started by the agent).
type OutputConfig interface {
	NewOutput(ctx context.Context, deps OutputDeps) (Output, error)
}

// OutputDeps are what the agent gives an output's runtime.
type OutputDeps struct {
	// ID names the output in logs, metrics and paths.
	ID string
	// Log is the output's logger (never nil).
	Log *zap.Logger
	// Ack is told about every record the output is done with; nil means
	// nobody listens.
	Ack buffer.Acker
	// Stdout is the process's standard output (the stdout output).
	Stdout io.Writer
	// Clock drives buffers; nil means the system clock.
	Clock buffer.Clock
	// Hostname is the node's host name (rewrite_tag_filter's ${hostname}).
	Hostname string
	// Reemit routes records again from the top of a label (RootLabel "" for
	// the top level): rewrite_tag_filter re-emits its retagged records. It is
	// called from within the output's Emit, under the router's lock.
	Reemit func(ctx context.Context, label string, recs []buffer.Record) error
	// NewCloudWatchAPI builds a CloudWatch Logs client; nil means
	// cloudwatch.NewClient (the SDK's standard chain).
	NewCloudWatchAPI func(ctx context.Context, cfg cloudwatch.Config) (*cloudwatchlogs.Client, error)
}

// Source is a running source other than tail: Run emits records (through
// SourceDeps.Emit) until ctx is done.
type Source interface {
	Run(ctx context.Context) error
}

// SourceConfig is a source plugin's typed configuration. NewSource builds
// the runtime; it starts nothing.
type SourceConfig interface {
	NewSource(deps SourceDeps) (Source, error)
}

// SourceDeps are what the agent gives a source's runtime.
type SourceDeps struct {
	// Name identifies the source in logs and metrics (@id, else its
	// position).
	Name string
	// Log is the source's logger (never nil).
	Log *zap.Logger
	// Emit hands records to the router (into the source's @label). It
	// blocks while the pipeline is back-pressured.
	Emit func(ctx context.Context, recs []buffer.Record) error
	// Inventory and Metrics are the agent itself, for the sources that
	// report it (monitor_agent, prometheus and its monitors); other sources
	// ignore them.
	Inventory Inventory
	Metrics   Metrics
}

// Runner is an output with a loop (a buffer's flush threads). The agent runs
// it under the outputs' context, canceled after every source has stopped;
// Run returns after the final flush.
type Runner interface {
	Run(ctx context.Context) error
}

// Buffered is an output that keeps a buffer.Buffer; the agent exports its
// statistics (logship_buffer_*, monitor_agent, prometheus_output_monitor).
type Buffered interface {
	Buffer() *buffer.Buffer
}

// Collector is an output or a source with metrics of its own. Collect
// sends them with the output's id (the source's name) as the first label
// value.
type Collector interface {
	Describe(ch chan<- *prometheus.Desc)
	Collect(id string, ch chan<- prometheus.Metric)
}

// BufferedConfig is an output configuration with a buffer section: replay
// switches it to memory, demo shortens its flush interval, run sums its
// memory bound.
type BufferedConfig interface {
	BufferConfig() *buffer.Config
}

// Endpoint is where a Redirectable output sends instead of its configured
// destination.
type Endpoint struct {
	URL, Region, AccessKeyID, SecretAccessKey string
}

// Redirectable is the configuration of an output that speaks the CloudWatch
// Logs protocol: demo and replay --to emulator point it at the emulator.
type Redirectable interface {
	Redirect(e Endpoint)
}

// Describer renders an output configuration's effective parameters for
// check-config ("" for none). Secrets are redacted.
type Describer interface {
	Describe() string
}

// Differ lists, one line each, where an output deliberately behaves
// differently from its Fluentd plugin (check-config).
type Differ interface {
	Differences() []string
}

// Params reads the parameters of one configuration section for a plugin's
// mapper. A parameter read is marked used; a parameter never read is
// reported as unused. Errors (a malformed value, Errorf) are reported with
// the section's position; Failed says whether any was.
type Params interface {
	paramsExt // params_ext.go

	// String returns the parameter's value, def when it is not set.
	String(key, def string) string
	// Bool returns the parameter as a Fluentd boolean, def when not set.
	Bool(key string, def bool) bool
	// Int returns the parameter as an integer, def when not set.
	Int(key string, def int64) int64
	// Duration returns the parameter as a Fluentd time, def when not set.
	Duration(key string, def time.Duration) time.Duration
	// Strings returns the parameter as a Fluentd array (JSON or commas).
	Strings(key string) []string
	// Accept marks parameters read elsewhere or deliberately ignored.
	Accept(keys ...string)
	// Section returns the first nested section called name, marked used.
	Section(name string) (Params, bool)
	// AcceptAll marks every parameter of the section used.
	AcceptAll()
	// AcceptV012Buffer marks the v0.12 flat buffer_* parameters used (an
	// output without a buffer).
	AcceptV012Buffer()
	// Errorf reports a problem with the section ("<header>: " prefixed).
	Errorf(format string, args ...any)
	// Failed reports whether an error was reported through this reader.
	Failed() bool
	// V012 reports whether the file is written for Fluentd v0.12.
	V012() bool
	// Location is the zone for times without an offset.
	Location() *time.Location
}
