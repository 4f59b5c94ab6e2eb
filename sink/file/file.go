// Package file is Fluentd's file output, reduced to one file: each record as
// "<time RFC 3339>\t<tag>\t<json>\n".
package file

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"logship/buffer"
	"logship/plugin"
)

// Config is a file output's configuration.
type Config struct {
	// Path is the file appended to. Required.
	Path string
}

// Map reads a <match @type file> section. Unlike out_file it writes one
// file: the time-slicing, compression and format parameters and the buffer
// have no effect.
func Map(p plugin.Params) (*Config, bool) {
	c := &Config{Path: p.String("path", "")}
	if c.Path == "" {
		p.Errorf("path is required")
		return nil, false
	}
	p.Accept("append", "format", "compress", "time_slice_format", "symlink_path", "add_path_suffix", "path_suffix")
	if bs, ok := p.Section("buffer"); ok {
		bs.AcceptAll()
	}
	p.AcceptV012Buffer()
	return c, true
}

// Describe implements plugin.Describer.
func (c *Config) Describe() string { return "path=" + strconv.Quote(c.Path) }

// NewOutput implements plugin.OutputConfig: it opens the file.
func (c *Config) NewOutput(_ context.Context, deps plugin.OutputDeps) (plugin.Output, error) {
	return Open(c.Path, nil, deps.Ack)
}

// Output appends records to one file. Each Emit is written and fsynced
// before the records are acknowledged.
type Output struct {
	f   *os.File
	loc *time.Location
	ack buffer.Acker
	buf []byte
}

// Open opens (creating) path for appending; loc nil means local; ack (nil:
// none) hears about every record written.
func Open(path string, loc *time.Location, ack buffer.Acker) (*Output, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("file output: %w", err)
	}
	if loc == nil {
		loc = time.Local
	}
	return &Output{f: f, loc: loc, ack: buffer.AckerOrNop(ack)}, nil
}

// Emit appends recs and syncs the file.
func (o *Output) Emit(_ context.Context, recs []buffer.Record) error {
	b := o.buf[:0]
	for i := range recs {
		b = time.Unix(0, recs[i].Time).In(o.loc).AppendFormat(b, time.RFC3339)
		b = append(b, '\t')
		b = append(b, recs[i].Tag...)
		b = append(b, '\t')
		b = recs[i].Fields.AppendJSON(b)
		b = append(b, '\n')
	}
	o.buf = b
	if _, err := o.f.Write(b); err != nil {
		return fmt.Errorf("file output: %w", err)
	}
	if err := o.f.Sync(); err != nil {
		return fmt.Errorf("file output: %w", err)
	}
	o.ack.Ack(recs)
	return nil
}

// Close closes the file.
func (o *Output) Close() error { return o.f.Close() }

var (
	_ plugin.OutputConfig = (*Config)(nil)
	_ plugin.Output       = (*Output)(nil)
	_ io.Closer           = (*Output)(nil)
)
