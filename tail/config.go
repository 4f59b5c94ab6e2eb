package tail

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Formats for Config.Format.
const (
	FormatAuto   = "auto"   // detect per file from its first record
	FormatCRI    = "cri"    // containerd / CRI-O
	FormatDocker = "docker" // docker json-file
	FormatNone   = "none"   // plain lines
)

// Oversize actions for Config.OversizeAction.
const (
	OversizeSplit    = "split"    // emit MaxLineSize pieces flagged FlagSplit
	OversizeTruncate = "truncate" // emit the first MaxLineSize bytes flagged FlagTruncated, drop the rest
)

// Defaults applied by New to zero Config fields.
const (
	DefaultRefreshInterval = 10 * time.Second
	DefaultPollInterval    = time.Second
	DefaultRotateWait      = 5 * time.Second
	DefaultPartialFlush    = 5 * time.Second
	DefaultMaxLineSize     = 1 << 20 // CloudWatch Logs' event limit is 1 MiB
	DefaultMaxDeletedFiles = 1000
	DefaultMaxDeletedBytes = 1 << 30
	DefaultMaxDeletedAge   = 30 * time.Minute
	DefaultSaveInterval    = 5 * time.Second
	DefaultSaveCoalesce    = 200 * time.Millisecond
	DefaultReadBufferSize  = 64 << 10
	DefaultReadBudget      = 4 << 20
)

// Config configures a Watcher. It maps in_tail's parameters
// (https://docs.fluentd.org/input/tail); the config layer splits in_tail's
// comma lists.
type Config struct {
	// Paths are the glob patterns to tail (filepath.Match syntax), as in
	// in_tail's path. Required.
	Paths []string
	// ExcludePaths are patterns whose matches are not tailed (exclude_path).
	ExcludePaths []string
	// Format is FormatCRI, FormatDocker, FormatNone or FormatAuto. Zero
	// means FormatAuto.
	Format string
	// PositionsFile is where positions are saved. Zero means positions are
	// kept in memory only (every start is a first start).
	PositionsFile string
	// FluentdPosFile is a Fluentd in_tail pos_file whose positions are taken
	// over when PositionsFile does not exist yet. Zero means none.
	FluentdPosFile string
	// ReadFromHead starts files found at the first discovery, that have no
	// saved position, at offset 0 instead of their end (in_tail
	// read_from_head). Files found later always start at 0.
	ReadFromHead bool
	// RefreshInterval is how often the globs are expanded again (in_tail
	// refresh_interval). Zero means DefaultRefreshInterval.
	RefreshInterval time.Duration
	// PollInterval is how often every open file is stat'ed and read even
	// without a notification. Zero means DefaultPollInterval.
	PollInterval time.Duration
	// RotateWait is how long a rotated, deleted or no longer matched file
	// must stay at EOF without growing before it is closed (a quiescence
	// window, not in_tail's hard deadline). Zero means DefaultRotateWait.
	RotateWait time.Duration
	// PartialFlush is how long an unfinished line (CRI P with no F, docker
	// piece with no newline) waits for its end before it is emitted flagged
	// FlagPartial. Zero means DefaultPartialFlush.
	PartialFlush time.Duration
	// LimitRecentlyModified skips newly found files not modified within
	// this duration (in_tail limit_recently_modified). Files already
	// followed are never dropped for their mtime. Zero means no limit.
	LimitRecentlyModified time.Duration
	// MaxLineSize is the longest logical line in bytes; longer lines are
	// handled per OversizeAction and counted. Zero means DefaultMaxLineSize.
	MaxLineSize int
	// OversizeAction is OversizeSplit or OversizeTruncate. Zero means split.
	OversizeAction string
	// MaxDeletedFiles bounds deleted (unlinked) files held open to drain;
	// beyond it the oldest is given up (counted and logged). Zero means
	// DefaultMaxDeletedFiles; negative means no bound.
	MaxDeletedFiles int
	// MaxDeletedBytes bounds the total size in bytes of the deleted files held
	// open (disk space they keep allocated); beyond it the oldest are given
	// up (counted and logged). Zero means DefaultMaxDeletedBytes; negative
	// means no bound.
	MaxDeletedBytes int64
	// MaxDeletedAge bounds how long a deleted file is held open; then it is
	// given up (counted and logged). Zero means DefaultMaxDeletedAge;
	// negative means no bound.
	MaxDeletedAge time.Duration
	// SaveInterval is how often Run saves positions regardless of acks (a
	// fallback: positions follow acks, see SaveCoalesce). Zero means
	// DefaultSaveInterval.
	SaveInterval time.Duration
	// SaveCoalesce is the shortest time between two saves that Run makes
	// because acknowledgements moved a position: an Ack marks the positions
	// dirty and a saver goroutine writes them at most this often, or at once
	// after SaveNow. A kill -9 re-sends what was in flight plus what was
	// acknowledged but not yet saved: with the memory buffer (acks as chunks
	// are delivered) about the last SaveCoalesce of acknowledgements; with
	// the file buffer (acks as segments are fsynced, then SaveNow once per
	// sync round) only a round still being fsynced or saved. Zero means
	// DefaultSaveCoalesce; negative turns ack-driven saves off (SaveInterval
	// only, and SaveNow does nothing).
	SaveCoalesce time.Duration
	// ReadBufferSize is the read block size in bytes. Zero means
	// DefaultReadBufferSize.
	ReadBufferSize int
	// ReadBudget is how many bytes are read from one file before the others
	// get a turn. Zero means DefaultReadBudget.
	ReadBudget int
	// DisableNotify turns fsnotify off: polling only.
	DisableNotify bool
	// SourceBase is where this Watcher's Line.Source ids start: they are
	// SourceBase+1, SourceBase+2, … So Watchers of one process given
	// disjoint ranges (the agent gives its i-th tail source i<<48) issue ids
	// unique in the process, and an id names its Watcher. Zero means ids
	// from 1. It is set by the program, not read from configuration.
	SourceBase uint64
}

func (c *Config) setDefaults() {
	if c.Format == "" {
		c.Format = FormatAuto
	}
	if c.OversizeAction == "" {
		c.OversizeAction = OversizeSplit
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.RefreshInterval, DefaultRefreshInterval)
	def(&c.PollInterval, DefaultPollInterval)
	def(&c.RotateWait, DefaultRotateWait)
	def(&c.PartialFlush, DefaultPartialFlush)
	def(&c.MaxDeletedAge, DefaultMaxDeletedAge)
	def(&c.SaveInterval, DefaultSaveInterval)
	def(&c.SaveCoalesce, DefaultSaveCoalesce)
	if c.MaxLineSize == 0 {
		c.MaxLineSize = DefaultMaxLineSize
	}
	if c.MaxDeletedFiles == 0 {
		c.MaxDeletedFiles = DefaultMaxDeletedFiles
	}
	if c.MaxDeletedBytes == 0 {
		c.MaxDeletedBytes = DefaultMaxDeletedBytes
	}
	if c.ReadBufferSize == 0 {
		c.ReadBufferSize = DefaultReadBufferSize
	}
	if c.ReadBudget == 0 {
		c.ReadBudget = DefaultReadBudget
	}
}

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	if len(c.Paths) == 0 {
		return errors.New("tail: no paths")
	}
	for _, p := range append(append([]string(nil), c.Paths...), c.ExcludePaths...) {
		if _, err := filepath.Match(p, ""); err != nil {
			return fmt.Errorf("tail: pattern %q: %w", p, err)
		}
	}
	switch c.Format {
	case "", FormatAuto, FormatCRI, FormatDocker, FormatNone:
	default:
		return fmt.Errorf("tail: format %q: want cri, docker, none or auto", c.Format)
	}
	switch c.OversizeAction {
	case "", OversizeSplit, OversizeTruncate:
	default:
		return fmt.Errorf("tail: oversize action %q: want split or truncate", c.OversizeAction)
	}
	if c.MaxLineSize < 0 || c.ReadBufferSize < 0 || c.ReadBudget < 0 {
		return errors.New("tail: negative size")
	}
	if c.ReadBufferSize > 0 && c.ReadBufferSize < 4096 {
		return errors.New("tail: read buffer below 4096 bytes")
	}
	return nil
}
