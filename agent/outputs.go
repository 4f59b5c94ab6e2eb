package agent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"logship/buffer"
)

// Formatter renders a record's destination and message, appending the
// message to dst and the formatted record (or, for a record larger than an
// event, its pieces) to out (sink/cloudwatch's Formatter implements it). An
// error means the record is skipped (the formatter counts it) and dst and
// out are unchanged.
type Formatter interface {
	AppendRecords(dst []byte, out []buffer.Record, r *buffer.Record) ([]byte, []buffer.Record, error)
}

// Adder is the buffer's hand-off (buffer.Buffer implements it): it copies the
// records' messages, and it is atomic per call.
type Adder interface {
	Add(ctx context.Context, recs []buffer.Record) error
}

// BufferedOutput formats records and adds them to a buffer, which flushes them
// to a sink. Records the formatter skips are acknowledged at once.
type BufferedOutput struct {
	format Formatter
	buf    Adder
	ack    buffer.Acker

	arena   []byte
	recs    []buffer.Record
	skipped []buffer.Record
	// Skipped counts records the formatter rejected.
	Skipped atomic.Uint64
}

// NewBufferedOutput returns an output that formats with f and adds to b.
func NewBufferedOutput(f Formatter, b Adder, ack buffer.Acker) *BufferedOutput {
	return &BufferedOutput{format: f, buf: b, ack: ack}
}

// Emit formats recs and adds them to the buffer in one call.
func (o *BufferedOutput) Emit(ctx context.Context, recs []buffer.Record) error {
	o.arena = o.arena[:0]
	out := o.recs[:0]
	skipped := o.skipped[:0]
	for i := range recs {
		// Messages are written straight into the arena, which lives until
		// Add has copied them (an arena that grows leaves earlier messages in
		// the old array, which stays valid).
		var err error
		if o.arena, out, err = o.format.AppendRecords(o.arena, out, &recs[i]); err != nil {
			skipped = append(skipped, recs[i])
		}
	}
	o.recs, o.skipped = out[:0], skipped[:0]
	if len(out) > 0 {
		if err := o.buf.Add(ctx, out); err != nil {
			return err
		}
	}
	if len(skipped) > 0 {
		o.Skipped.Add(uint64(len(skipped)))
		if o.ack != nil {
			o.ack.Ack(skipped)
		}
	}
	clear(out)
	clear(skipped)
	return nil
}

// NullOutput discards records (Fluentd's null output) and acknowledges them.
type NullOutput struct {
	ack buffer.Acker
	// Count counts discarded records.
	Count atomic.Uint64
}

// NewNullOutput returns a null output.
func NewNullOutput(ack buffer.Acker) *NullOutput {
	return &NullOutput{ack: ack}
}

// Emit discards recs.
func (o *NullOutput) Emit(_ context.Context, recs []buffer.Record) error {
	o.Count.Add(uint64(len(recs)))
	if o.ack != nil {
		o.ack.Ack(recs)
	}
	return nil
}

// StdoutOutput writes records as Fluentd's stdout output does:
// "<time> <tag>: <json>\n", time as "%Y-%m-%d %H:%M:%S.%N %z" in loc.
type StdoutOutput struct {
	w   *bufio.Writer
	loc *time.Location
	ack buffer.Acker
	buf []byte
}

// NewStdoutOutput returns a stdout output writing to w; loc nil means local.
func NewStdoutOutput(w io.Writer, loc *time.Location, ack buffer.Acker) *StdoutOutput {
	if loc == nil {
		loc = time.Local
	}
	return &StdoutOutput{w: bufio.NewWriter(w), loc: loc, ack: ack}
}

// Emit writes recs and flushes.
func (o *StdoutOutput) Emit(_ context.Context, recs []buffer.Record) error {
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
	if o.ack != nil {
		o.ack.Ack(recs)
	}
	return nil
}

// FileOutput appends records to one file as Fluentd's out_file formats them:
// "<time RFC 3339>\t<tag>\t<json>\n". Unlike out_file it writes one file (no
// time-sliced names); each Emit is written and fsynced before the records are
// acknowledged.
type FileOutput struct {
	f   *os.File
	loc *time.Location
	ack buffer.Acker
	buf []byte
}

// OpenFileOutput opens (creating) path for appending.
func OpenFileOutput(path string, loc *time.Location, ack buffer.Acker) (*FileOutput, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("file output: %w", err)
	}
	if loc == nil {
		loc = time.Local
	}
	return &FileOutput{f: f, loc: loc, ack: ack}, nil
}

// Emit appends recs and syncs the file.
func (o *FileOutput) Emit(_ context.Context, recs []buffer.Record) error {
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
	if o.ack != nil {
		o.ack.Ack(recs)
	}
	return nil
}

// Close closes the file.
func (o *FileOutput) Close() error { return o.f.Close() }
