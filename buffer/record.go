package buffer

// Record is one log event on its way from a source file to an output. It is the
// only record type in logship: the tailer's lines become Records in enrich, the
// filters edit Fields, an output formats Fields into Message and sets Key, and
// the buffer stores the formatted Record in a Chunk.
//
// Ownership: the byte slices in a Record (Fields values, Message) may alias a
// read block shared with other records; they must not be modified in place once
// the Record has been handed on. Buffer.Add copies Message into chunk-owned
// storage, so a producer may reuse its own buffers after Add returns.
type Record struct {
	// Time is the event time in nanoseconds since the Unix epoch.
	Time int64
	// Tag is the Fluentd tag used for routing (for example
	// "kubernetes.var.log.containers.app_ns_ctr-<id>.log").
	Tag string
	// Fields is the structured body in insertion order. Filters read and edit
	// it; an output clears it once Message is set.
	Fields Fields
	// Key is the destination, set by the output stage; chunks are keyed by it.
	Key StreamKey
	// Message is the formatted event body exactly as it will be sent (for
	// CloudWatch Logs: compact JSON of Fields, or the message_keys values).
	Message []byte
	// Source identifies the file the record was read from; 0 means the record
	// has no source position to acknowledge (replayed or recovered records).
	Source uint64
	// Offset is the byte offset in Source just after the record's last byte.
	Offset int64
	// Piece is set on the pieces of a logical line the tailer cut at its line
	// bound; an output that marks pieces (sink/cloudwatch) numbers them as one
	// line. Zero for a whole line.
	Piece Piece
}

// Piece tells a record that is one piece of a longer line where it stands.
type Piece uint8

const (
	// PieceMore: more pieces of the same line follow.
	PieceMore Piece = 1 << iota
	// PieceCont: the record continues a line whose earlier pieces came just
	// before it (from the same tag and stream).
	PieceCont
)

// StreamKey is a destination: for CloudWatch Logs a log group and stream. Other
// outputs use it as an opaque chunk key (for example Group = tag).
type StreamKey struct {
	Group  string
	Stream string
}

// String returns "group/stream".
func (k StreamKey) String() string { return k.Group + "/" + k.Stream }
