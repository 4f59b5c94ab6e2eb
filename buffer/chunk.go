package buffer

import (
	"context"
	"errors"
)

// ErrPermanent marks an error that retrying cannot fix (a request AWS rejects
// as invalid, access denied, an unknown destination). Senders wrap such errors
// with it: fmt.Errorf("%w: %w", buffer.ErrPermanent, err). The buffer never
// retries a chunk whose Send returned an error that Is ErrPermanent; it moves
// the chunk to the dead-letter directory instead.
var ErrPermanent = errors.New("permanent error")

// Chunk is the unit of flushing, retry and acknowledgement: records for one
// destination, in the order they were added.
type Chunk struct {
	// ID is unique per buffer; for a file buffer it is stable across restarts.
	ID string
	// Key is the destination shared by every record in the chunk.
	Key StreamKey
	// Records are the formatted records (Message set, Fields nil). Their
	// Message bytes are owned by the chunk.
	Records []Record
	// Bytes is the sum of len(Message) over Records.
	Bytes int
	// Sent counts the records at the head of Records that a previous Send
	// attempt already delivered. A Sender that delivers part of a chunk and
	// then fails advances Sent (after putting Records in the order it sends
	// them), so the retry skips what was delivered and nothing is sent twice.
	Sent int
}

// Sender delivers chunks. It is satisfied by the CloudWatch Logs sink and by the
// other outputs. Send returns nil once every record from c.Sent on has been
// delivered or deliberately dropped (and counted); any other error is retried,
// unless it Is ErrPermanent.
type Sender interface {
	Send(ctx context.Context, c *Chunk) error
}

// Acker is told which records are safe: delivered (memory buffer) or durably
// written (file buffer). The tailer implements it (through the agent) to advance
// its checkpoints. recs must not be retained after Ack returns.
type Acker interface {
	Ack(recs []Record)
}
