// Package stdout is Fluentd's stdout output: each record as
// "<time> <tag>: <json>\n".
package stdout

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"

	"logship/buffer"
	"logship/plugin"
)

// Config is a stdout output's configuration.
type Config struct{}

// Map reads a <match @type stdout> section. Its output_type, <format> type
// and <buffer> have no effect: the output always writes Fluentd's default
// format, unbuffered.
func Map(p plugin.Params) (*Config, bool) {
	p.Accept("output_type")
	if f, ok := p.Section("format"); ok {
		f.Accept("@type", "type")
	}
	p.Section("buffer")
	return &Config{}, true
}

// Describe implements plugin.Describer: nothing to add.
func (*Config) Describe() string { return "" }

// NewOutput implements plugin.OutputConfig: it writes to deps.Stdout.
func (*Config) NewOutput(_ context.Context, deps plugin.OutputDeps) (plugin.Output, error) {
	return New(deps.Stdout, nil, deps.Ack), nil
}

// Output writes records as Fluentd's stdout output does:
// "<time> <tag>: <json>\n", time as "%Y-%m-%d %H:%M:%S.%N %z" in loc.
type Output struct {
	w   *bufio.Writer
	loc *time.Location
	ack buffer.Acker
	buf []byte
}

// New returns a stdout output writing to w; loc nil means local; ack (nil:
// none) hears about every record written.
func New(w io.Writer, loc *time.Location, ack buffer.Acker) *Output {
	if loc == nil {
		loc = time.Local
	}
	return &Output{w: bufio.NewWriter(w), loc: loc, ack: buffer.AckerOrNop(ack)}
}

// Emit writes recs and flushes.
func (o *Output) Emit(_ context.Context, recs []buffer.Record) error {
	for i := range recs {
		b := time.Unix(0, recs[i].Time).In(o.loc).AppendFormat(o.buf[:0], "2006-01-02 15:04:05.000000000 -0700")
		b = append(b, ' ')
		b = append(b, recs[i].Tag...)
		b = append(b, ':', ' ')
		b = recs[i].Fields.AppendJSON(b)
		b = append(b, '\n')
		o.buf = b
		if _, err := o.w.Write(b); err != nil {
			return fmt.Errorf("stdout: %w", err)
		}
	}
	if err := o.w.Flush(); err != nil {
		return fmt.Errorf("stdout: %w", err)
	}
	o.ack.Ack(recs)
	return nil
}

var (
	_ plugin.OutputConfig = (*Config)(nil)
	_ plugin.Output       = (*Output)(nil)
)
