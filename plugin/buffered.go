package plugin

import (
	"context"
	"sync/atomic"

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
	return &BufferedOutput{format: f, buf: b, ack: buffer.AckerOrNop(ack)}
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
		o.ack.Ack(skipped)
	}
	clear(out)
	clear(skipped)
	return nil
}
