package buffer

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Buffer types (Fluentd's <buffer> @type).
const (
	TypeMemory = "memory"
	TypeFile   = "file"
)

// FlushMode says when staged chunks are enqueued (Fluentd's flush_mode).
type FlushMode string

// Flush modes.
const (
	// FlushModeDefault is interval: logship has no time chunk key, and Fluentd
	// picks interval then (lazy only with a time chunk key; Fluentd v1.19.3
	// lib/fluent/plugin/output.rb, Output#configure).
	FlushModeDefault FlushMode = "default"
	// FlushModeInterval enqueues a staged chunk once it is FlushInterval old.
	FlushModeInterval FlushMode = "interval"
	// FlushModeImmediate enqueues every chunk an Add wrote to at the end of the Add.
	FlushModeImmediate FlushMode = "immediate"
	// FlushModeLazy enqueues chunks only when they are full (and at shutdown).
	FlushModeLazy FlushMode = "lazy"
)

// OverflowAction says what Add does when the buffer holds TotalLimitSize bytes.
type OverflowAction string

// Overflow actions.
const (
	// OverflowBlock makes Add wait until there is room or its ctx is done:
	// back-pressure to the tailer, nothing dropped. logship's default.
	OverflowBlock OverflowAction = "block"
	// OverflowDropOldestChunk discards the oldest chunk that is not being sent
	// (counted in Stats.DroppedOverflowRecords, and acknowledged so the tailer
	// moves on) until the batch fits.
	OverflowDropOldestChunk OverflowAction = "drop_oldest_chunk"
	// OverflowThrowException makes Add return ErrOverflow having accepted
	// nothing, so the producer can retry the same batch later without
	// duplicates. Fluentd's default.
	OverflowThrowException OverflowAction = "throw_exception"
)

// RetryType selects the retry delay formula.
type RetryType string

// Retry types.
const (
	// RetryExponentialBackoff waits min(RetryWait·base^n, RetryMaxInterval)
	// before retry n+1 (the first retry waits RetryWait).
	RetryExponentialBackoff RetryType = "exponential_backoff"
	// RetryPeriodic waits RetryWait before every retry.
	RetryPeriodic RetryType = "periodic"
)

// Defaults filled in by New for zero Config fields. Where logship differs from
// Fluentd v1 the Fluentd value is given in the field's comment.
const (
	DefaultChunkLimitSize       = 8 << 20
	DefaultMemoryTotalLimitSize = 512 << 20
	DefaultFileTotalLimitSize   = 64 << 30
	DefaultChunkFullThreshold   = 0.95
	// DefaultRecordOverhead is a memory chunk's record without its message
	// (40 bytes, and an eighth for its slice's slack) and the tailer's
	// pending-acknowledgement entry with its slice's slack (64).
	DefaultRecordOverhead              = 109
	DefaultFlushInterval               = 60 * time.Second
	DefaultFlushThreadCount            = 1
	DefaultFlushThreadInterval         = time.Second
	DefaultOverflowAction              = OverflowBlock
	DefaultRetryType                   = RetryExponentialBackoff
	DefaultRetryWait                   = time.Second
	DefaultRetryExponentialBackoffBase = 2.0
	DefaultRetryTimeout                = 72 * time.Hour
	DefaultSlowFlushLogThreshold       = 20 * time.Second
	DefaultFsyncInterval               = time.Second
	DefaultShutdownTimeout             = 30 * time.Second
	// DefaultDeadLetterSubdir is the dead-letter directory inside Path when
	// DeadLetterDir is empty and Type is file.
	DefaultDeadLetterSubdir = "dead-letter"
)

// Config is the buffer section of an output, with Fluentd v1 <buffer> names,
// as plain typed values. The zero value is a valid memory buffer with
// Fluentd's defaults (except OverflowAction, which is block). The config
// package builds one from a Fluentd <buffer> section or a v0.12 output's flat
// buffer_* parameters; this package parses no configuration literals.
type Config struct {
	// Type is TypeMemory or TypeFile; "" means memory.
	Type string
	// Path is the directory holding the file buffer's segment files (created
	// if missing; one directory per output). Required when Type is file.
	// logship never reads Fluentd's own chunk files.
	Path string

	// ChunkLimitSize is the most bytes a chunk holds (message bytes for the
	// memory buffer, encoded bytes for the file buffer). A chunk is sent by
	// one Send, which the sink may cut into several requests. 0 means
	// DefaultChunkLimitSize (8 MiB; Fluentd's file buffer default is 256 MiB).
	// A single record larger than the limit gets a chunk of its own.
	ChunkLimitSize int64
	// ChunkLimitRecords is the most records a chunk holds; 0 means no limit.
	ChunkLimitRecords int
	// ChunkFullThreshold is the fraction of ChunkLimitSize (or of
	// ChunkLimitRecords) at which a chunk is enqueued after a write; 0 means
	// DefaultChunkFullThreshold (0.95).
	ChunkFullThreshold float64
	// TotalLimitSize bounds the bytes of all staged, queued and in-flight
	// chunks (for the file buffer: the disk it uses); beyond it
	// OverflowAction applies. 0 means DefaultMemoryTotalLimitSize (512 MiB)
	// or DefaultFileTotalLimitSize (64 GiB). Overridden by QueueLimitLength.
	TotalLimitSize int64
	// RecordOverhead is what each record of the memory buffer counts against
	// TotalLimitSize on top of its message bytes: the memory the agent holds
	// per buffered record besides the message (the buffer's own record, the
	// tailer's pending acknowledgement). 0 means DefaultRecordOverhead;
	// negative means none. Ignored by the file buffer, whose limit is disk.
	RecordOverhead int64
	// QueueLimitLength is Fluentd's legacy queue bound: when > 0,
	// TotalLimitSize = ChunkLimitSize × QueueLimitLength (as Fluentd v1
	// computes it). 0 means unset.
	QueueLimitLength int
	// QueuedChunksLimitSize stops the interval timer from enqueueing staged
	// chunks while this many chunks wait in the queue; 0 means
	// FlushThreadCount (Fluentd's default).
	QueuedChunksLimitSize int

	// FlushMode is when staged chunks are enqueued; "" means FlushModeDefault
	// (interval).
	FlushMode FlushMode
	// FlushInterval is the age at which a staged chunk is enqueued in
	// interval mode; 0 means DefaultFlushInterval (60 s).
	FlushInterval time.Duration
	// FlushThreadCount is the number of chunks sent in parallel; 0 means 1.
	FlushThreadCount int
	// FlushThreadInterval is the granularity of the interval timer: staged
	// chunks are checked every max(FlushThreadInterval, FlushInterval/11), as
	// Fluentd's enqueue thread does. 0 means DefaultFlushThreadInterval (1 s).
	// (Flush threads themselves do not poll: they wake on events.)
	FlushThreadInterval time.Duration
	// FlushThreadBurstInterval is the pause a flush thread takes after a send
	// when more chunks are queued. 0 means no pause (logship's default;
	// Fluentd's is 1 s, which caps each thread at a chunk a second).
	FlushThreadBurstInterval time.Duration
	// FlushAtShutdown makes shutdown enqueue and send every staged and queued
	// chunk within ShutdownTimeout. nil means true for memory and false for
	// file (its chunks are on disk and are sent after the restart).
	FlushAtShutdown *bool

	// OverflowAction is what Add does when TotalLimitSize is reached; ""
	// means DefaultOverflowAction (block; Fluentd's is throw_exception).
	OverflowAction OverflowAction

	// RetryType selects the delay formula; "" means exponential_backoff.
	RetryType RetryType
	// RetryWait is the first retry delay (exponential) or every delay
	// (periodic); 0 means DefaultRetryWait (1 s).
	RetryWait time.Duration
	// RetryExponentialBackoffBase is the base of the exponential delay; 0
	// means 2. Must be ≥ 1.
	RetryExponentialBackoffBase float64
	// RetryMaxInterval caps the delay before randomisation; 0 means no cap.
	RetryMaxInterval time.Duration
	// RetryTimeout is how long a chunk is retried from its first failure;
	// 0 means DefaultRetryTimeout (72 h). Ignored with RetryForever.
	RetryTimeout time.Duration
	// RetryMaxTimes is the most retries of a chunk (attempts = retries + 1);
	// nil means no limit by count, 0 means never retry. Ignored with
	// RetryForever.
	RetryMaxTimes *int
	// RetryForever retries every chunk until it is delivered (errors that Is
	// ErrPermanent still go to the dead letter directory).
	RetryForever bool
	// RetryRandomize multiplies each delay but the first by a random factor
	// in [0.875, 1.125); nil means true.
	RetryRandomize *bool

	// DeadLetterDir receives chunks that failed permanently or ran out of
	// retries, one JSON-lines file per chunk (see deadletter.go). "" means
	// <Path>/dead-letter for the file buffer; for the memory buffer such
	// chunks are counted in Stats.DroppedDeadLetterRecords and logged.
	DeadLetterDir string
	// FsyncInterval is how often the file buffer writes and fsyncs the
	// records of its open chunks and acknowledges them; chunks are also
	// fsynced when they are enqueued. 0 means DefaultFsyncInterval (1 s);
	// negative means only at enqueue.
	FsyncInterval time.Duration
	// SlowFlushLogThreshold logs a warning when one Send takes longer; 0
	// means DefaultSlowFlushLogThreshold (20 s).
	SlowFlushLogThreshold time.Duration
	// ShutdownTimeout bounds the final flush after Run's ctx is done
	// (including sends in flight); 0 means DefaultShutdownTimeout (30 s). Keep
	// it below the pod's terminationGracePeriodSeconds.
	ShutdownTimeout time.Duration
}

// Bool returns a pointer to v, for Config.FlushAtShutdown and RetryRandomize.
func Bool(v bool) *bool { return &v }

// Int returns a pointer to v, for Config.RetryMaxTimes.
func Int(v int) *int { return &v }

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch c.Type {
	case "", TypeMemory:
	case TypeFile:
		if c.Path == "" {
			return errors.New("buffer: path is required for the file buffer")
		}
	default:
		return fmt.Errorf("buffer: unknown @type %q (want memory or file)", c.Type)
	}
	switch c.FlushMode {
	case "", FlushModeDefault, FlushModeInterval, FlushModeImmediate, FlushModeLazy:
	default:
		return fmt.Errorf("buffer: unknown flush_mode %q", c.FlushMode)
	}
	switch c.OverflowAction {
	case "", OverflowBlock, OverflowDropOldestChunk, OverflowThrowException:
	default:
		return fmt.Errorf("buffer: unknown overflow_action %q", c.OverflowAction)
	}
	switch c.RetryType {
	case "", RetryExponentialBackoff, RetryPeriodic:
	default:
		return fmt.Errorf("buffer: unknown retry_type %q", c.RetryType)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"chunk_limit_size", c.ChunkLimitSize},
		{"chunk_limit_records", int64(c.ChunkLimitRecords)},
		{"total_limit_size", c.TotalLimitSize},
		{"queue_limit_length", int64(c.QueueLimitLength)},
		{"queued_chunks_limit_size", int64(c.QueuedChunksLimitSize)},
		{"flush_interval", int64(c.FlushInterval)},
		{"flush_thread_count", int64(c.FlushThreadCount)},
		{"flush_thread_interval", int64(c.FlushThreadInterval)},
		{"flush_thread_burst_interval", int64(c.FlushThreadBurstInterval)},
		{"retry_wait", int64(c.RetryWait)},
		{"retry_max_interval", int64(c.RetryMaxInterval)},
		{"retry_timeout", int64(c.RetryTimeout)},
		{"slow_flush_log_threshold", int64(c.SlowFlushLogThreshold)},
		{"shutdown_timeout", int64(c.ShutdownTimeout)},
	} {
		if f.v < 0 {
			return fmt.Errorf("buffer: %s must not be negative", f.name)
		}
	}
	if c.RetryMaxTimes != nil && *c.RetryMaxTimes < 0 {
		return errors.New("buffer: retry_max_times must not be negative")
	}
	if c.ChunkFullThreshold < 0 || c.ChunkFullThreshold > 1 {
		return fmt.Errorf("buffer: chunk_full_threshold %v not in (0, 1]", c.ChunkFullThreshold)
	}
	if c.RetryExponentialBackoffBase != 0 && c.RetryExponentialBackoffBase < 1 {
		return fmt.Errorf("buffer: retry_exponential_backoff_base %v < 1", c.RetryExponentialBackoffBase)
	}
	d := c.withDefaults()
	if d.TotalLimitSize < d.ChunkLimitSize {
		return fmt.Errorf("buffer: total_limit_size %d < chunk_limit_size %d", d.TotalLimitSize, d.ChunkLimitSize)
	}
	return nil
}

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	c.Type = cmp.Or(c.Type, TypeMemory)
	file := c.Type == TypeFile
	c.ChunkLimitSize = cmp.Or(c.ChunkLimitSize, DefaultChunkLimitSize)
	c.ChunkFullThreshold = cmp.Or(c.ChunkFullThreshold, DefaultChunkFullThreshold)
	c.RecordOverhead = cmp.Or(c.RecordOverhead, DefaultRecordOverhead)
	if c.QueueLimitLength > 0 {
		c.TotalLimitSize = c.ChunkLimitSize * int64(c.QueueLimitLength)
	}
	if c.TotalLimitSize == 0 {
		c.TotalLimitSize = DefaultMemoryTotalLimitSize
		if file {
			c.TotalLimitSize = DefaultFileTotalLimitSize
		}
	}
	if c.FlushMode == "" || c.FlushMode == FlushModeDefault {
		c.FlushMode = FlushModeInterval
	}
	c.FlushInterval = cmp.Or(c.FlushInterval, DefaultFlushInterval)
	c.FlushThreadCount = cmp.Or(c.FlushThreadCount, DefaultFlushThreadCount)
	c.QueuedChunksLimitSize = cmp.Or(c.QueuedChunksLimitSize, c.FlushThreadCount)
	c.FlushThreadInterval = cmp.Or(c.FlushThreadInterval, DefaultFlushThreadInterval)
	if c.FlushAtShutdown == nil {
		c.FlushAtShutdown = Bool(!file)
	}
	c.OverflowAction = cmp.Or(c.OverflowAction, DefaultOverflowAction)
	c.RetryType = cmp.Or(c.RetryType, DefaultRetryType)
	c.RetryWait = cmp.Or(c.RetryWait, DefaultRetryWait)
	c.RetryExponentialBackoffBase = cmp.Or(c.RetryExponentialBackoffBase, DefaultRetryExponentialBackoffBase)
	c.RetryTimeout = cmp.Or(c.RetryTimeout, DefaultRetryTimeout)
	if c.RetryRandomize == nil {
		c.RetryRandomize = Bool(true)
	}
	if c.DeadLetterDir == "" && file {
		c.DeadLetterDir = c.Path + "/" + DefaultDeadLetterSubdir
	}
	c.FsyncInterval = cmp.Or(c.FsyncInterval, DefaultFsyncInterval)
	c.SlowFlushLogThreshold = cmp.Or(c.SlowFlushLogThreshold, DefaultSlowFlushLogThreshold)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout)
	return c
}

// Normalized returns c with every default filled in, as the buffer will run
// it (for printing the effective configuration).
func (c Config) Normalized() Config { return c.withDefaults() }

// String renders the normalised configuration as a Fluentd v1 <buffer>
// section (logship-only parameters as comments).
func (c Config) String() string {
	d := c.withDefaults()
	var sb strings.Builder
	p := func(k string, v any) { fmt.Fprintf(&sb, "  %s %v\n", k, v) }
	sb.WriteString("<buffer>\n")
	p("@type", d.Type)
	if d.Path != "" {
		p("path", d.Path)
	}
	p("chunk_limit_size", d.ChunkLimitSize)
	if d.ChunkLimitRecords > 0 {
		p("chunk_limit_records", d.ChunkLimitRecords)
	}
	p("chunk_full_threshold", d.ChunkFullThreshold)
	p("total_limit_size", d.TotalLimitSize)
	if d.QueueLimitLength > 0 {
		p("queue_limit_length", d.QueueLimitLength)
	}
	p("queued_chunks_limit_size", d.QueuedChunksLimitSize)
	p("flush_mode", d.FlushMode)
	p("flush_interval", fmtSeconds(d.FlushInterval))
	p("flush_thread_count", d.FlushThreadCount)
	p("flush_thread_interval", fmtSeconds(d.FlushThreadInterval))
	p("flush_thread_burst_interval", fmtSeconds(d.FlushThreadBurstInterval))
	p("flush_at_shutdown", *d.FlushAtShutdown)
	p("overflow_action", d.OverflowAction)
	p("retry_type", d.RetryType)
	p("retry_wait", fmtSeconds(d.RetryWait))
	p("retry_exponential_backoff_base", d.RetryExponentialBackoffBase)
	if d.RetryMaxInterval > 0 {
		p("retry_max_interval", fmtSeconds(d.RetryMaxInterval))
	}
	p("retry_timeout", fmtSeconds(d.RetryTimeout))
	if d.RetryMaxTimes != nil {
		p("retry_max_times", *d.RetryMaxTimes)
	}
	p("retry_forever", d.RetryForever)
	p("retry_randomize", *d.RetryRandomize)
	if d.DeadLetterDir != "" {
		p("# dead_letter_dir", d.DeadLetterDir)
	}
	if d.Type == TypeFile {
		p("# fsync_interval", fmtSeconds(d.FsyncInterval))
	}
	p("# shutdown_timeout", fmtSeconds(d.ShutdownTimeout))
	sb.WriteString("</buffer>\n")
	return sb.String()
}

func fmtSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// MemoryBound is the most memory the buffer's records may hold by its
// configuration: TotalLimitSize for the memory buffer (RecordOverhead
// included); for the file buffer, whose limit is disk, the chunks it keeps
// resident — the chunks being sent and kept ready for sending (three per
// flush thread) and two staged — or TotalLimitSize if smaller. The file
// buffer's staged chunks are one per destination, so many destinations can
// exceed its figure.
func (c Config) MemoryBound() int64 {
	d := c.withDefaults()
	if d.Type != TypeFile {
		return d.TotalLimitSize
	}
	return min(d.TotalLimitSize, d.ChunkLimitSize*int64(3*d.FlushThreadCount+2))
}
