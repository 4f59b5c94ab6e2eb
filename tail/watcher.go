// Package tail follows container log files the way Fluentd's in_tail is
// configured, without losing or duplicating a line across rotation,
// truncation and restarts.
//
// A Watcher discovers files (globs, excludes, /var/log/containers symlinks
// resolved to the real files, rotated siblings such as 0.log.20240101-000000),
// follows each file by identity (device, inode and a head fingerprint), frames
// records (CRI, docker json-file, plain lines), joins runtime fragments per
// container log and stream (also across a rotation), and hands logical lines to
// a Handler in batches:
//
//	w, err := tail.New(cfg, handler, log)
//	go w.Run(ctx)              // discovery, reads, periodic position saves
//	...                        // the pipeline calls w.Ack(line.Source, line.Offset)
//	                           // once a line is delivered or durably buffered
//	w.SavePositions()          // after the pipeline drained, last
//	w.Close()
//
// Positions advance only through Ack, as a per-file low-water mark: a file's
// position is the first fragment of its earliest line not yet acknowledged
// (or, when all are, the end of what was read). Lines may be acknowledged in
// any order. A restart re-reads from there and rebuilds exactly the lines not
// yet acknowledged — never half a line, never one already acknowledged
// (per-stream holds are saved with the position). See design.md for the
// checkpoint model and every rotation case.
//
// Concurrency: Sync, Poll and Run (which calls them) must be called from one
// goroutine at a time; that goroutine owns all follower state and calls the
// Handler. Ack, AckAll, SavePositions and Stats may be called from any
// goroutine at any time.
package tail

// This file holds the Watcher type and its constructor, the clock hook, the
// acknowledgement entry points (Ack, AckAll) and the ack-driven saver, the
// committed-position snapshot of files and lineages, and SavePositions and
// Close. Discovery is in discover.go, reconciliation in sync.go, reading in
// poll.go and the Run loop with notification and the lock in run.go.

import (
	"context"
	"errors"
	"hash/crc64"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// Watcher discovers and follows files. Create it with New.
type Watcher struct {
	cfg     Config
	handler Handler
	log     *zap.Logger
	now     func() time.Time
	// reuse: the handler is Transient, so read blocks whose lines were
	// handed out can be reused (spare, a few of them).
	reuse      bool
	spare      [][]byte
	blocksMade int // read blocks allocated (tests)

	// Owned by the goroutine calling Sync/Poll/Run.
	lineages  map[string]*lineage
	lins      []*lineage
	byIno     map[devIno]*file
	copies    map[devIno]int64 // rotated copies never to be read (copytruncate.go), by size when checked
	byPath    map[string]*file // realPath -> open file, for notifications
	started   bool
	saved     []posEntry       // positions loaded at the first Sync
	savedIdx  map[uint64][]int // saved entries by inode
	takeover  map[devIno]int64 // Fluentd pos_file start offsets (first Sync)
	savedRead bool             // the positions file was read (first Sync)
	haveSaved bool             // it existed and was valid
	fromHead  bool             // it was corrupt: files without a Fluentd position start at 0
	knownLin  map[string]bool  // lineages with a saved position (first Sync)
	batch     []Line
	regs      []reg
	dirty     []*lineage // lineages whose unfinished lines changed since the last flush
	notify    *fsnotify.Watcher
	watched   map[string]bool
	patDirs   []string
	scratch   [fingerprintSize]byte
	snap      []*file // Poll's snapshot of a lineage's files
	pollGen   uint64

	newNotify func() (*fsnotify.Watcher, error)
	debugf    func(format string, args ...any) // tests only
	lock      *os.File                         // positions lock, held from Run until Close

	mu     sync.Mutex // guards files, trackers, fd close, head updates
	files  map[uint64]*file
	nextID uint64
	loaded atomic.Bool // the first Sync applied the saved positions

	// Ack-driven saves: an Ack that finds its line sets ackDirty and
	// signals saveCh (1-buffered, never blocks); Run's saver goroutine
	// writes the positions, at most every SaveCoalesce unless SaveNow set
	// saveUrgent.
	ackDirty   atomic.Bool
	saveUrgent atomic.Bool
	saveCh     chan struct{}
	saveMu     sync.Mutex                           // serialises SavePositions (snapshot and write)
	after      func(time.Duration) <-chan time.Time // the saver's timer (tests inject one)
	onSaved    func()                               // tests only: called after each successful save
	onRead     func(f *file)                        // tests only: called after each file's read in a poll
	capHit     bool                                 // a capped file had data past its cap (pollLineage)

	stats counters

	// Holding files while the Handler blocks (pin.go).
	pins             pinState
	handleSince      atomic.Int64 // start of the Handle call in progress (UnixNano), 0 when none
	heldDeletedBytes atomic.Int64 // sizes of the held deleted files at the last poll
	lostMu           sync.Mutex
	lostList         []LostFile
	fluentdLast      []byte // the Fluentd pos_file as last written (under saveMu)
}

type devIno struct{ dev, ino uint64 }

// New returns a Watcher; it does no I/O and starts nothing.
func New(cfg Config, h Handler, log *zap.Logger) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("tail: nil handler")
	}
	if log == nil {
		log = zap.NewNop()
	}
	cfg.setDefaults()
	w := &Watcher{
		cfg: cfg, handler: h, log: log, now: time.Now,
		lineages:  map[string]*lineage{},
		byIno:     map[devIno]*file{},
		byPath:    map[string]*file{},
		files:     map[uint64]*file{},
		watched:   map[string]bool{},
		newNotify: fsnotify.NewWatcher,
		saveCh:    make(chan struct{}, 1),
		after:     time.After,
		nextID:    cfg.SourceBase,
	}
	_, w.reuse = h.(Transient)
	for _, p := range cfg.Paths {
		w.patDirs = append(w.patDirs, staticDir(p))
	}
	return w, nil
}

// staticDir returns the deepest directory of pattern without glob characters.
func staticDir(pattern string) string {
	d := filepath.Dir(pattern)
	for strings.ContainsAny(d, `*?[\`) {
		d = filepath.Dir(d)
	}
	return d
}

// SetClock replaces the clock (time.Now) used for RotateWait, PartialFlush,
// the held-deleted bounds, LimitRecentlyModified and read times, so tests can
// drive Sync and Poll deterministically. Call it before Sync or Run.
func (w *Watcher) SetClock(now func() time.Time) { w.now = now }

// Ack acknowledges the line (source, offset): it was delivered or durably
// buffered. Unknown pairs (source 0, lines of a file generation already
// dropped) are ignored.
func (w *Watcher) Ack(source uint64, offset int64) {
	w.mu.Lock()
	found := w.ackLocked(source, offset)
	w.mu.Unlock()
	if found {
		w.markDirty()
	}
}

// AckAll acknowledges a batch of (source, offset) pairs under one lock.
func (w *Watcher) AckAll(acks iter.Seq2[uint64, int64]) {
	found := false
	w.mu.Lock()
	for s, o := range acks {
		found = w.ackLocked(s, o) || found
	}
	w.mu.Unlock()
	if found {
		w.markDirty()
	}
}

// markDirty tells the saver that a position may have moved: one atomic load
// per ack batch when the positions are already dirty.
func (w *Watcher) markDirty() {
	if w.ackDirty.Load() {
		return
	}
	w.ackDirty.Store(true)
	select {
	case w.saveCh <- struct{}{}:
	default:
	}
}

// SaveNow makes Run's saver save the positions without waiting out
// SaveCoalesce, if acknowledgements moved them since its last save began.
// The agent calls it when a file buffer has made a round of chunks durable
// and acknowledged them (buffer.Committer): the positions then catch up with
// the segments at once instead of up to SaveCoalesce later. It never blocks;
// without a saver (no PositionsFile, SaveCoalesce negative) it does nothing.
func (w *Watcher) SaveNow() {
	if !w.ackDirty.Load() {
		return // every acknowledgement so far is in a save done or under way
	}
	w.saveUrgent.Store(true)
	select {
	case w.saveCh <- struct{}{}:
	default:
	}
}

func (w *Watcher) ackLocked(source uint64, offset int64) bool {
	f := w.files[source]
	if f == nil {
		return false
	}
	links, ok := f.tr.ack(offset)
	for _, l := range links {
		l.f.tr.ackSeq(l.seq)
	}
	return ok
}

// runSaver saves positions after acknowledgements, at most every
// SaveCoalesce (at once after SaveNow), until ctx is done. Errors are logged
// once per run of failures (a full disk must not flood the log at five lines
// a second).
func (w *Watcher) runSaver(ctx context.Context) {
	var last time.Time
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.saveCh:
		}
		if !last.IsZero() {
			if wait := w.cfg.SaveCoalesce - w.now().Sub(last); wait > 0 && !w.coalesce(ctx, wait) {
				return
			}
		}
		w.ackDirty.Store(false)   // acks from now on signal the next save
		w.saveUrgent.Store(false) // as does a SaveNow from now on
		last = w.now()            // saves start at most every SaveCoalesce
		err := w.SavePositions()
		switch {
		case err != nil && !failing:
			w.log.Error("save positions", zap.String("file", w.cfg.PositionsFile), zap.Error(err))
			failing = true
		case err == nil && failing:
			w.log.Info("positions saved again", zap.String("file", w.cfg.PositionsFile))
			failing = false
		}
	}
}

// coalesce waits up to wait for more acknowledgements to join the next
// save, ending early on SaveNow. It returns false if ctx is done.
func (w *Watcher) coalesce(ctx context.Context, wait time.Duration) bool {
	if w.saveUrgent.Load() {
		return true
	}
	timer := w.after(wait)
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer:
			return true
		case <-w.saveCh:
			if w.saveUrgent.Load() {
				return true
			}
		}
	}
}

// Position returns the committed (acknowledged) position of source.
func (w *Watcher) Position(source uint64) (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.files[source]
	if f == nil {
		return 0, false
	}
	if !f.retired {
		for _, c := range f.lin.committed() {
			if c.f == f {
				return c.pos, true
			}
		}
	}
	pos, _, _ := f.committed()
	return pos, true
}

// fileCommit is one file's committed position within its lineage.
type fileCommit struct {
	f     *file
	pos   int64
	seen  int64
	holds [3]int64
}

// committed returns the committed positions of l's files, oldest first. A
// restart rebuilds, per stream, every line from the first one not yet
// acknowledged on: in files after the one holding that line's first fragment,
// the stream's hold is 0, so a line is always rebuilt (or skipped) in all the
// files it spans, never half. Called with Watcher.mu held.
func (l *lineage) committed() []fileCommit {
	out := make([]fileCommit, 0, len(l.files))
	var held [3]bool
	for _, f := range l.files {
		_, seen, holds := f.committed()
		for s := range holds {
			if f.retired {
				// Nothing of a retired generation can be re-read.
				continue
			}
			if held[s] {
				holds[s] = 0
			} else if holds[s] >= 0 {
				held[s] = true
			}
		}
		pos := seen
		for _, h := range holds {
			if h >= 0 && h < pos {
				pos = h
			}
		}
		out = append(out, fileCommit{f: f, pos: pos, seen: seen, holds: holds})
	}
	return out
}

// committed returns f's committed position. seen is how far f was framed;
// holds, per stream, the first fragment in f of a line not yet acknowledged
// (-1: none); pos = min(seen, holds) is where a restart reads from, and the
// records before seen are then skipped unless they lie at or after their
// stream's hold: exactly the unacknowledged lines are rebuilt, and a line
// acknowledged out of order or completed in a later file is not re-read.
// Called with Watcher.mu held.
func (f *file) committed() (pos, seen int64, holds [3]int64) {
	seen = f.seen
	holds = f.asmHold
	f.tr.holds(&holds)
	pos = seen
	for _, h := range holds {
		if h >= 0 && h < pos {
			pos = h
		}
	}
	return pos, seen, holds
}

// SavePositions writes the committed positions atomically. It may be called
// from any goroutine; the agent calls it last in its drain order. Before the
// first Sync it does nothing (the file still holds the previous run's state).
func (w *Watcher) SavePositions() error {
	if w.cfg.PositionsFile == "" || !w.loaded.Load() {
		return nil // before the first Sync the saved positions were not read yet
	}
	// One save at a time, so an older snapshot never overwrites a newer one.
	w.saveMu.Lock()
	defer w.saveMu.Unlock()
	w.mu.Lock()
	entries := make([]posEntry, 0, len(w.files))
	var fluentd []fluentdEntry
	for _, lin := range w.lins {
		commits := lin.committed()
		if w.cfg.FluentdPosFile != "" {
			fluentd = appendFluentdEntry(fluentd, commits)
		}
		for _, c := range commits {
			f := c.f
			if f.retired {
				continue
			}
			e := posEntry{dev: f.dev, ino: f.ino, pos: c.pos, seen: c.seen, holds: c.holds, size: f.size.Load(), path: f.path, realPath: f.realPath}
			if len(f.head) > 0 {
				e.headLen = len(f.head)
				e.headHash = crc64Sum(f.head)
			}
			if f.fd != nil && e.pos > 0 {
				if f.markPos != e.pos {
					// Only when the position moved: a save every
					// SaveCoalesce must not pread every idle file.
					n := int(min(e.pos, markerSize))
					f.markPos, f.markLen = e.pos, 0
					if h, err := hashAt(f.fd, e.pos-int64(n), n); err == nil {
						f.markLen, f.markHash = n, h
					}
				}
				e.markerLen, e.markerHash = f.markLen, f.markHash
			}
			entries = append(entries, e)
		}
	}
	w.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool { return entries[i].realPath < entries[j].realPath })
	if err := writePositions(w.cfg.PositionsFile, entries); err != nil {
		return err
	}
	if w.cfg.FluentdPosFile != "" {
		if err := w.writeFluentdPos(fluentd); err != nil {
			return err
		}
	}
	w.stats.positionsSaved.Add(1)
	if w.onSaved != nil {
		w.onSaved()
	}
	return nil
}

// Close closes every open file. Call it after Run returned and the final
// SavePositions.
func (w *Watcher) Close() error {
	w.closePins()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.files {
		if f.fd != nil {
			f.fd.Close()
			f.fd = nil
		}
	}
	if w.notify != nil {
		w.notify.Close()
		w.notify = nil
	}
	if w.lock != nil {
		w.lock.Close() // releases the flock
		w.lock = nil
	}
	return nil
}

func crc64Sum(b []byte) uint64 { return crc64.Checksum(b, crcTable) }
