package tail

import "context"

// Line is one logical log line: a CRI record (its P fragments joined with the
// closing F), a docker json-file entry (16 KiB pieces joined), or a plain line.
//
// Ownership: Text and TimeText point into a read block that the tailer
// allocated for this read and never writes again once lines from it have been
// handed out, so they stay valid (and unchanged) after Handle returns and may be
// retained without copying — unless the Handler implements Transient, when
// they are valid until Handle returns. They must not be modified. The []Line slice passed
// to Handle is reused by the tailer after Handle returns: copy the Line values
// (not their bytes) if they are needed later.
type Line struct {
	// Source identifies the file (one content generation of one inode) the
	// line's last physical record was read from. It is nonzero and stable for
	// the life of the process, above Config.SourceBase; acknowledge with
	// (*Watcher).Ack(Source, Offset).
	Source uint64
	// Offset is the byte offset in Source just after the line's last physical
	// record (after its '\n'). Offsets never decrease within a Source; the
	// pieces of one oversize record (FlagSplit) may share it, and each Ack
	// of (Source, Offset) acknowledges one line.
	Offset int64
	// Path is the path the file was discovered under, exactly as the glob
	// produced it (for Kubernetes the /var/log/containers/<pod>_<ns>_<ctr>-<id>.log
	// symlink name). Tags and file-name metadata are derived from it. Rotated
	// siblings carry the Path of the file they were rotated from.
	Path string
	// RealPath is the resolved file the line was read from, as discovered
	// (for Kubernetes /var/log/pods/<ns>_<pod>_<uid>/<ctr>/<restart>.log, or
	// the rotated sibling's name).
	RealPath string
	// Time is the record time in nanoseconds since the Unix epoch, from the
	// CRI or docker timestamp of the line's first fragment. For format none,
	// and for records whose timestamp is malformed (FlagBadTime), it is the
	// time the line was read.
	Time int64
	// TimeText is the timestamp exactly as written in the file (nil for format
	// none). Fluentd's cri parser keeps it as the record's "time" field.
	TimeText []byte
	// Text is the logical line without its trailing newline (and without one
	// trailing '\r'). Invalid UTF-8 is passed through unchanged.
	Text []byte
	// Stream is the container stream the line was written to.
	Stream Stream
	// Flags describe how the line was framed.
	Flags Flags
}

// LogTag returns the CRI logtag Fluentd's cri parser would record for the
// line: "P" for a line flagged FlagPartial, otherwise "F".
func (l *Line) LogTag() string {
	if l.Flags&FlagPartial != 0 {
		return "P"
	}
	return "F"
}

// Stream is a container output stream.
type Stream uint8

// Streams. StreamNone is used for format none and malformed records.
const (
	StreamNone Stream = iota
	StreamStdout
	StreamStderr
)

// String returns "stdout", "stderr" or "".
func (s Stream) String() string {
	switch s {
	case StreamStdout:
		return "stdout"
	case StreamStderr:
		return "stderr"
	}
	return ""
}

// Flags describe a Line's framing.
type Flags uint8

// Line flags.
const (
	// FlagPartial marks a line whose runtime fragments never saw their final
	// piece (a CRI P with no F, a docker piece with no '\n') and that was
	// flushed after Config.PartialFlush or when its file was closed. Fluentd's
	// cri parser would record logtag "P" for it.
	FlagPartial Flags = 1 << iota
	// FlagSplit marks a piece of a logical line longer than
	// Config.MaxLineSize (OversizeSplit): more pieces of the same line follow.
	FlagSplit
	// FlagTruncated marks a line cut at Config.MaxLineSize (OversizeTruncate);
	// the rest of the line was read and discarded (counted in Stats).
	FlagTruncated
	// FlagBadTime marks a record whose timestamp could not be parsed; Time is
	// the read time.
	FlagBadTime
	// FlagMalformed marks a physical record that does not follow the file's
	// format (not a CRI record, not a docker JSON object). Text is the raw
	// record and Time the read time; nothing is dropped.
	FlagMalformed
	// FlagPlain marks a line of a file that Config.Format FormatAuto found to
	// be neither CRI nor docker json-file (its first record decided): Text is
	// the physical line as is and Time the read time, for the source's own
	// parser (for example an application's JSON lines read with
	// <parse> @type json).
	FlagPlain
	// FlagDocker marks a line framed from docker json-file records (Text is
	// the decoded "log" value), so a parser that tries several formats
	// (multi_format) can tell it from a CRI line.
	FlagDocker
	// FlagSplitCont marks a piece that continues a line cut at
	// Config.MaxLineSize: its earlier pieces were emitted just before it, in
	// the same stream. The line's last piece has FlagSplitCont without
	// FlagSplit.
	FlagSplitCont
)

// Handler consumes lines. The Watcher calls Handle from its Run goroutine with
// the lines of one read, in file order per file; blocking in Handle is the
// back-pressure (nothing more is read while it blocks). Handle returns an error
// only when it took none of the lines (typically because ctx is done); Run then
// stops and returns the error (nil when ctx was canceled), and since those
// lines are never acknowledged their positions never advance.
type Handler interface {
	Handle(ctx context.Context, lines []Line) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, lines []Line) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, lines []Line) error { return f(ctx, lines) }

// Transient is implemented by a Handler that keeps no reference to a line's
// Text or TimeText once Handle returns (it copies what it keeps). The Watcher
// then reuses its read blocks instead of allocating one per read: the
// ownership rule on Line is relaxed to "valid until Handle returns".
type Transient interface {
	TransientLines()
}

// TransientHandlerFunc is a HandlerFunc that implements Transient.
type TransientHandlerFunc func(ctx context.Context, lines []Line) error

// Handle calls f.
func (f TransientHandlerFunc) Handle(ctx context.Context, lines []Line) error { return f(ctx, lines) }

// TransientLines implements Transient.
func (TransientHandlerFunc) TransientLines() {}
