// Package null is Fluentd's null output: it discards records and
// acknowledges them.
package null

import (
	"context"
	"sync/atomic"

	"logship/buffer"
	"logship/plugin"
)

// Config is a null output's configuration (it has none).
type Config struct{}

// Map reads a <match @type null> section. Its <buffer> has no effect.
func Map(p plugin.Params) (*Config, bool) {
	p.Section("buffer")
	return &Config{}, true
}

// Describe implements plugin.Describer: nothing to add.
func (*Config) Describe() string { return "" }

// NewOutput implements plugin.OutputConfig.
func (*Config) NewOutput(_ context.Context, deps plugin.OutputDeps) (plugin.Output, error) {
	return New(deps.Ack), nil
}

// Output discards records and acknowledges them.
type Output struct {
	ack buffer.Acker
	// Count counts discarded records.
	Count atomic.Uint64
}

// New returns a null output; ack (nil: none) hears about every record.
func New(ack buffer.Acker) *Output { return &Output{ack: buffer.AckerOrNop(ack)} }

// Emit discards recs.
func (o *Output) Emit(_ context.Context, recs []buffer.Record) error {
	o.Count.Add(uint64(len(recs)))
	o.ack.Ack(recs)
	return nil
}

var (
	_ plugin.OutputConfig = (*Config)(nil)
	_ plugin.Output       = (*Output)(nil)
)
