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

import (
	"context"
	"errors"
	"fmt"
	"hash/crc64"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
	// writes the positions, at most every SaveCoalesce.
	ackDirty atomic.Bool
	saveCh   chan struct{}
	saveMu   sync.Mutex                           // serialises SavePositions (snapshot and write)
	after    func(time.Duration) <-chan time.Time // the saver's timer (tests inject one)
	onSaved  func()                               // tests only: called after each successful save
	onRead   func(f *file)                        // tests only: called after each file's read in a poll
	capHit   bool                                 // a capped file had data past its cap (pollLineage)

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
	}
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
// SaveCoalesce, until ctx is done. Errors are logged once per run of
// failures (a full disk must not flood the log at five lines a second).
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
			if wait := w.cfg.SaveCoalesce - w.now().Sub(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-w.after(wait):
				}
			}
		}
		w.ackDirty.Store(false) // acks from now on signal the next save
		last = w.now()          // saves start at most every SaveCoalesce
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

// candidate is a file found by discovery.
type candidate struct {
	path, realPath string
	dev, ino       uint64
	size           int64
	mtime          time.Time
	current        bool // matched by a glob; false for a rotated sibling
}

// rotatedSuffix matches the suffix of a rotated sibling: the kubelet's
// .<YYYYMMDD-hhmmss> and docker json-file's .<N>.
var rotatedSuffix = regexp.MustCompile(`^\.(\d{8}-\d{6}|\d+)$`)

// isRotated reports whether name is a rotated sibling of base: base followed
// by a rotation suffix.
func isRotated(name, base string) bool {
	return len(name) > len(base) && strings.HasPrefix(name, base) && rotatedSuffix.MatchString(name[len(base):])
}

// lineageKey strips a rotation suffix from a real path.
func lineageKey(realPath string) string {
	ext := filepath.Ext(realPath)
	if ext != "" && rotatedSuffix.MatchString(ext) {
		return strings.TrimSuffix(realPath, ext)
	}
	return realPath
}

// discover expands the globs and finds rotated siblings.
func (w *Watcher) discover() ([]candidate, error) {
	var out []candidate
	seen := map[devIno]bool{}
	dirs := map[string][]string{} // dir -> current base names
	add := func(c candidate) {
		k := devIno{c.dev, c.ino}
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, c)
	}
	for _, pat := range w.cfg.Paths {
		matches, err := filepath.Glob(pat)
		if err != nil {
			return nil, fmt.Errorf("glob %q: %w", pat, err)
		}
		for _, m := range matches {
			if w.excluded(m) {
				continue
			}
			c, ok := statCandidate(m)
			if !ok {
				continue
			}
			// A glob such as 0.log* also matches rotated files: they are
			// siblings of their log (older than its current file, and
			// possibly copies of it), not current files.
			c.current = lineageKey(c.realPath) == c.realPath
			add(c)
			dirs[filepath.Dir(c.realPath)] = append(dirs[filepath.Dir(c.realPath)], filepath.Base(c.realPath))
		}
	}
	// Rotated siblings of current files, with the current file's Path;
	// also of the logs already followed, whose current file may be missing
	// for a moment (renamed, not yet recreated).
	byReal := map[string]string{}
	for _, c := range out {
		byReal[c.realPath] = c.path
	}
	for _, lin := range w.lins {
		if _, ok := byReal[lin.key]; ok || len(lin.files) == 0 {
			continue
		}
		byReal[lin.key] = lin.files[len(lin.files)-1].path
		d := filepath.Dir(lin.key)
		dirs[d] = append(dirs[d], filepath.Base(lin.key))
	}
	if !w.started {
		for _, e := range w.saved {
			key := lineageKey(e.realPath)
			if _, ok := byReal[key]; ok {
				continue
			}
			byReal[key] = e.path
			d := filepath.Dir(key)
			dirs[d] = append(dirs[d], filepath.Base(key))
		}
	}
	for dir, bases := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name := e.Name()
			for _, b := range bases {
				if isRotated(name, b) {
					c, ok := statCandidate(filepath.Join(dir, name))
					if ok {
						c.path = byReal[filepath.Join(dir, b)]
						add(c)
					}
				}
			}
		}
	}
	// Oldest first within a lineage: siblings by name, the current file last.
	sort.SliceStable(out, func(i, j int) bool {
		ki, kj := lineageKey(out[i].realPath), lineageKey(out[j].realPath)
		if ki != kj {
			return ki < kj
		}
		return rotKey(out[i].realPath, out[i].current) < rotKey(out[j].realPath, out[j].current)
	})
	return out, nil
}

// rotKey orders the files of a lineage oldest first: files without a
// rotation suffix that are not current (renamed, name not known yet) first,
// then kubelet siblings by timestamp, docker siblings by descending number
// (.2 is older than .1), the current file last.
func rotKey(realPath string, current bool) string {
	if current {
		return "9"
	}
	ext := filepath.Ext(realPath)
	if ext == "" || !rotatedSuffix.MatchString(ext) {
		return "0"
	}
	if n, err := strconv.ParseUint(ext[1:], 10, 63); err == nil {
		return fmt.Sprintf("1%020d", uint64(1<<63-1)-n)
	}
	return "2" + ext[1:]
}

// syncLineage rescans the directory of f's log after f left its path: files
// rotated in between (never seen) are opened from 0 and renamed ones get
// their names, so the log's files are read in order.
func (w *Watcher) syncLineage(f *file) {
	key := f.lin.key
	dir, base := filepath.Dir(key), filepath.Base(key)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var fresh []candidate
	for _, e := range ents {
		name := e.Name()
		current := name == base
		if !current && !isRotated(name, base) {
			continue
		}
		c, ok := statCandidate(filepath.Join(dir, name))
		if !ok {
			continue
		}
		c.path, c.current = f.path, current
		if g := w.known(c); g != nil {
			if g.realPath != c.realPath {
				w.renamed(g, c.realPath)
			}
			g.current = current
			continue
		}
		if !current && w.copyHandled(c) {
			continue
		}
		fresh = append(fresh, c)
	}
	sort.SliceStable(fresh, func(i, j int) bool {
		return rotKey(fresh[i].realPath, fresh[i].current) < rotKey(fresh[j].realPath, fresh[j].current)
	})
	for _, c := range fresh {
		if g := w.open(c, 0, 0, [3]int64{-1, -1, -1}); g != nil {
			g.discovered, g.current = true, c.current
		}
	}
}

func (w *Watcher) excluded(path string) bool {
	for _, p := range w.cfg.ExcludePaths {
		if ok, _ := filepath.Match(p, path); ok {
			return true
		}
	}
	return false
}

// statCandidate resolves symlinks and stats a regular file.
func statCandidate(path string) (candidate, bool) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return candidate{}, false
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.Mode().IsRegular() {
		return candidate{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return candidate{}, false
	}
	return candidate{path: path, realPath: real, dev: uint64(st.Dev), ino: st.Ino, size: fi.Size(), mtime: fi.ModTime()}, true
}

// Sync expands the globs and reconciles the followed files with what is on
// disk: new files are opened (the first Sync applies saved positions, the
// Fluentd pos_file takeover and ReadFromHead), renamed files get their new
// real path, closed files that grew again are reopened, and state for files
// gone from disk is dropped.
func (w *Watcher) Sync(ctx context.Context) error {
	first := !w.started
	if first && !w.savedRead {
		// Before discovery, so the logs of saved entries are searched
		// for rotated siblings even when their current file is missing
		// (renamed, not recreated yet, when logship was stopped).
		if err := w.loadSaved(); err != nil {
			return err
		}
		w.savedRead = true
	}
	cands, err := w.discover()
	if err != nil {
		return err
	}
	// Pinned files gone from their paths are older than the log's files
	// still on disk: opened first, so they are read first.
	cands = append(w.pinnedCandidates(cands), cands...)
	if first {
		if err := w.loadFluentd(cands); err != nil {
			return err
		}
	}
	now := w.now()
	for _, f := range w.byIno {
		f.current, f.discovered = false, false
	}
	// Known files first, so new ones are placed relative to the current ones.
	known := make([]bool, len(cands))
	for i, c := range cands {
		f := w.known(c)
		if f == nil {
			continue
		}
		known[i] = true
		f.discovered = true
		f.current = f.current || c.current
		if f.realPath != c.realPath {
			w.renamed(f, c.realPath)
		}
		if f.fd == nil && c.size > f.off {
			w.reopen(f, c.current)
		}
	}
	for i, c := range cands {
		if known[i] {
			continue
		}
		if c.current && w.cfg.LimitRecentlyModified > 0 && now.Sub(c.mtime) > w.cfg.LimitRecentlyModified {
			continue
		}
		if !c.current && w.copyHandled(c) {
			continue
		}
		start, skip, holds, ok := w.startOffset(c, first)
		if !ok {
			continue
		}
		if f := w.open(c, start, skip, holds); f != nil {
			f.discovered, f.current = true, c.current
		}
	}
	if len(w.copies) > 0 {
		present := make(map[devIno]bool, len(cands))
		for _, c := range cands {
			present[devIno{c.dev, c.ino}] = true
		}
		for k := range w.copies {
			if !present[k] {
				delete(w.copies, k)
			}
		}
	}
	if first {
		w.reportGaps()
		w.started = true
		w.loaded.Store(true)
		w.saved, w.savedIdx, w.takeover, w.knownLin = nil, nil, nil, nil
	}
	w.prune()
	w.updateWatches()
	w.dropPinnedFollowed()
	w.publishPins()
	// The saver (another goroutine) reads which file is current for the
	// Fluentd pos_file; it gets a copy taken under mu, as Sync and Poll
	// write current without it.
	w.mu.Lock()
	for _, f := range w.byIno {
		f.savedCurrent = f.current
	}
	w.mu.Unlock()
	return ctx.Err()
}

// known returns the followed file c is, or nil. A closed file whose inode
// shows up again is the same file only if it was not deleted, had content to
// fingerprint, and that content is still there; otherwise the inode was freed
// and reused, and the old state is forgotten (an old offset is never applied
// to another file).
func (w *Watcher) known(c candidate) *file {
	f := w.byIno[devIno{c.dev, c.ino}]
	if f == nil || f.fd != nil {
		return f
	}
	if f.deleted || len(f.head) == 0 || (c.size != f.size.Load() && !w.sameHead(f, c.realPath)) {
		w.forget(f)
		return nil
	}
	return f
}

// sameHead reports whether the file at path still starts with f's head.
func (w *Watcher) sameHead(f *file, path string) bool {
	fd, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fd.Close()
	buf := make([]byte, len(f.head))
	n, _ := fd.ReadAt(buf, 0)
	return n == len(f.head) && string(buf) == string(f.head)
}

// startOffset decides where a newly found file starts (design.md §3): a
// saved position whose identity checks pass; the Fluentd takeover;
// 0 for files found after the first Sync, for files of a log we already had
// positions for, and with ReadFromHead; otherwise the end of the file.
func (w *Watcher) startOffset(c candidate, first bool) (start, skip int64, holds [3]int64, ok bool) {
	holds = [3]int64{-1, -1, -1}
	if !first {
		return 0, 0, holds, true
	}
	if e, ok := w.savedEntry(c); ok {
		fd, err := os.Open(c.realPath)
		if err != nil {
			return 0, 0, holds, false
		}
		ok, why := checkIdentity(fd, c.size, e)
		fd.Close()
		if ok {
			return e.pos, max(e.seen, e.pos), e.holds, true
		}
		w.stats.identityMismatches.Add(1)
		if e.pos < e.size {
			// The saved file's unread data went with it.
			w.stats.gaps.Add(1)
			w.stats.gapBytes.Add(e.size - e.pos)
		}
		if c.size < e.pos || why == "marker mismatch" || why == "fingerprint mismatch" {
			w.stats.truncations.Add(1)
		}
		w.log.Info("saved position rejected, reading from 0", zap.String("path", c.realPath), zap.String("reason", why), zap.Int64("saved", e.pos))
		return 0, 0, holds, true
	}
	if !c.current {
		if e, ok := w.copyEntry(c); ok {
			return e.pos, max(e.seen, e.pos), e.holds, true
		}
	}
	if pos, ok := w.takeover[devIno{c.dev, c.ino}]; ok {
		return pos, pos, holds, true
	}
	if w.knownLin[lineageKey(c.realPath)] || w.cfg.ReadFromHead || w.fromHead {
		return 0, 0, holds, true
	}
	return c.size, c.size, holds, true
}

// savedEntry finds c's saved position: by device and inode, or by inode
// alone when the device number changed (a reboot) and the head still matches.
// A matched entry is marked (ino 0) so it is used once.
func (w *Watcher) savedEntry(c candidate) (posEntry, bool) {
	if w.savedIdx == nil {
		w.savedIdx = map[uint64][]int{}
		for i, e := range w.saved {
			w.savedIdx[e.ino] = append(w.savedIdx[e.ino], i)
		}
	}
	idx := w.savedIdx[c.ino]
	for _, i := range idx {
		if e := w.saved[i]; e.ino == c.ino && e.dev == c.dev {
			w.saved[i].ino = 0
			return e, true
		}
	}
	for _, i := range idx {
		e := w.saved[i]
		if e.ino != c.ino || e.headLen == 0 {
			continue
		}
		fd, err := os.Open(c.realPath)
		if err != nil {
			continue
		}
		h, err := hashAt(fd, 0, e.headLen)
		fd.Close()
		if err == nil && h == e.headHash {
			w.saved[i].ino = 0
			return e, true
		}
	}
	return posEntry{}, false
}

// reportGaps reports saved files that are gone with data unread at the last
// save: rotated and compressed or deleted while logship was down.
func (w *Watcher) reportGaps() {
	for _, e := range w.saved {
		if e.ino == 0 {
			continue
		}
		if e.pos < e.size {
			w.stats.gaps.Add(1)
			w.stats.gapBytes.Add(e.size - e.pos)
			w.log.Warn("file gone with unread data while stopped: gap", zap.String("path", e.path),
				zap.String("real_path", e.realPath), zap.Int64("position", e.pos), zap.Int64("size_at_save", e.size))
		}
	}
}

// loadSaved reads the positions file. A corrupt one (torn by outside
// damage, overwritten) does not stop the start: it is moved aside to
// <file>.bad, counted (PositionsCorrupt) and logged once with its path, and
// every file is read from its start (or from the Fluentd pos_file, when one
// is configured): duplicates, never a loss.
func (w *Watcher) loadSaved() error {
	w.knownLin = map[string]bool{}
	if w.cfg.PositionsFile == "" {
		return nil
	}
	entries, exists, err := readPositions(w.cfg.PositionsFile)
	if errors.Is(err, ErrPositionsCorrupt) {
		w.stats.positionsCorrupt.Add(1)
		w.fromHead = true
		bad := w.cfg.PositionsFile + ".bad"
		if rerr := os.Rename(w.cfg.PositionsFile, bad); rerr != nil {
			w.log.Error("positions file corrupt and could not be moved aside; reading every file from its start (lines may be sent twice)",
				zap.String("file", w.cfg.PositionsFile), zap.Error(err), zap.NamedError("rename", rerr))
			return nil
		}
		w.log.Error("positions file corrupt; moved aside, reading every file from its start or the Fluentd pos_file (lines may be sent twice)",
			zap.String("file", w.cfg.PositionsFile), zap.String("moved_to", bad), zap.Error(err))
		return nil
	}
	if err != nil {
		return err
	}
	if exists {
		w.saved = entries
		w.haveSaved = true
		for _, e := range entries {
			w.knownLin[lineageKey(e.realPath)] = true
		}
	}
	return nil
}

// loadFluentd takes the Fluentd pos_file over when logship has no positions
// of its own.
func (w *Watcher) loadFluentd(cands []candidate) error {
	if w.haveSaved || w.cfg.FluentdPosFile == "" {
		return nil
	}
	entries, err := readFluentdPos(w.cfg.FluentdPosFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	w.takeover = w.planTakeover(entries, cands)
	return nil
}

// open starts following c at start.
// open starts following c at start; records ending at or before skip were
// read in an earlier run and are consumed without being emitted, unless they
// are at or after their stream's hold (a line not acknowledged then).
func (w *Watcher) open(c candidate, start, skip int64, holds [3]int64) *file {
	fd := w.takePinned(c) // opened while the Handler blocked (pin.go)
	if fd == nil {
		var err error
		if fd, err = os.Open(c.realPath); err != nil {
			w.log.Warn("open", zap.String("path", c.realPath), zap.Error(err))
			return nil
		}
	}
	fi, err := fd.Stat()
	if err != nil {
		fd.Close()
		return nil
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Ino != c.ino || uint64(st.Dev) != c.dev {
		fd.Close() // replaced since discovery; the next Sync finds it
		return nil
	}
	if start > fi.Size() {
		start, skip = 0, 0
	}
	if skip <= start {
		skip, holds = 0, [3]int64{-1, -1, -1}
	}
	key := lineageKey(c.realPath)
	lin := w.lineages[key]
	f := &file{dev: c.dev, ino: c.ino, path: c.path, realPath: c.realPath, fd: fd, off: start}
	f.format = detectFormat(nil, w.cfg.Format, false)
	if w.cfg.Format == FormatAuto {
		f.format = formatAuto
	}
	f.size.Store(fi.Size())
	f.head = readHead(fd, fi.Size())
	f.loadPrev()
	f.tr.done, f.seen, f.skipUntil, f.skipHold, f.asmHold = max(start, skip), max(start, skip), skip, holds, [3]int64{-1, -1, -1}
	if skip > start {
		// Until the skipped range is read again, the saved holds stand.
		f.asmHold = holds
	}
	w.mu.Lock() // SavePositions walks lineages and files from other goroutines
	if lin == nil {
		lin = &lineage{key: key}
		w.lineages[key] = lin
		w.lins = append(w.lins, lin)
	}
	f.lin = lin
	w.nextID++
	f.id = w.nextID
	w.files[f.id] = f
	// Oldest first: a rotated file goes before the log's current file.
	at := len(lin.files)
	if !c.current {
		for i, g := range lin.files {
			if g.current {
				at = i
				break
			}
		}
	}
	lin.files = slices.Insert(lin.files, at, f)
	w.mu.Unlock()
	w.byIno[devIno{c.dev, c.ino}] = f
	w.byPath[c.realPath] = f
	if w.debugf != nil {
		w.debugf("open %d %s at %d (index %d of %d, current %v)", f.id, c.realPath, start, at, len(lin.files), c.current)
	}
	// Opened during a poll (a rotation found by check): read only what is
	// there now in this poll, after the older files (pollLineage).
	f.capSize, f.capGen = fi.Size(), w.pollGen
	w.stats.filesOpened.Add(1)
	w.stats.filesOpen.Add(1)
	w.log.Debug("following", zap.String("path", c.path), zap.String("real_path", c.realPath), zap.Int64("offset", start))
	return f
}

func readHead(fd *os.File, size int64) []byte {
	n := min(size, fingerprintSize)
	head := make([]byte, n)
	m, _ := fd.ReadAt(head, 0)
	return head[:m]
}

// reopen opens a closed file again (it grew after it was closed, or a
// rotation was rolled back) and continues at its read offset.
func (w *Watcher) reopen(f *file, current bool) {
	fd, err := os.Open(f.realPath)
	if err != nil {
		return
	}
	fi, err := fd.Stat()
	if err != nil || fi.Sys().(*syscall.Stat_t).Ino != f.ino {
		fd.Close()
		return
	}
	w.mu.Lock()
	f.fd = fd
	w.mu.Unlock()
	f.state = stateRotated
	if current {
		f.state = stateActive
	}
	f.quietSince = time.Time{}
	w.byPath[f.realPath] = f
	w.stats.filesOpen.Add(1)
}

// renamed records a followed file's new real path (found as a sibling).
func (w *Watcher) renamed(f *file, realPath string) {
	if w.byPath[f.realPath] == f {
		delete(w.byPath, f.realPath)
	}
	w.mu.Lock()
	f.realPath = realPath
	w.mu.Unlock()
	if f.fd != nil {
		w.byPath[realPath] = f
	}
}

// forget drops a closed file whose inode now belongs to another file.
func (w *Watcher) forget(f *file) {
	if w.debugf != nil {
		w.debugf("forget %d %s", f.id, f.realPath)
	}
	w.mu.Lock()
	f.retired, f.current = true, false // no positions entry; late acks still accepted
	w.mu.Unlock()
	delete(w.byIno, devIno{f.dev, f.ino})
	// Removed from its lineage by prune (Poll may be iterating it now).
}

// prune drops state for closed files no longer on disk once every line of
// theirs is acknowledged, and lineages left without files.
func (w *Watcher) prune() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, f := range w.byIno {
		if f.fd == nil && !f.discovered && f.tr.pending() == 0 && !w.holds(f) {
			delete(w.byIno, k)
			delete(w.files, f.id)
			f.lin.files = slices.DeleteFunc(f.lin.files, func(g *file) bool { return g == f })
		}
	}
	for id, f := range w.files {
		if f.retired && f.tr.pending() == 0 && !w.holds(f) {
			delete(w.files, id)
		}
	}
	for _, l := range w.lins {
		l.files = slices.DeleteFunc(l.files, func(g *file) bool { return g.retired && g.fd == nil && !w.holds(g) })
	}
	w.lins = slices.DeleteFunc(w.lins, func(l *lineage) bool {
		if len(l.files) == 0 && l.pending == 0 {
			delete(w.lineages, l.key)
			return true
		}
		return false
	})
}

// holds reports whether f has fragments of an unfinished line.
func (w *Watcher) holds(f *file) bool { return f.lin.holdStart(f) >= 0 }

// Poll stats and reads every open file once (up to ReadBudget bytes each),
// detects rotation, truncation and deletion, closes drained files, enforces the
// bounds on held deleted files and emits unfinished lines older than
// PartialFlush. It returns the Handler's error, if any.
func (w *Watcher) Poll(ctx context.Context) error {
	now := w.now()
	w.pollGen++
	for _, lin := range w.lins {
		if err := w.pollLineage(ctx, lin, now); err != nil {
			return err
		}
	}
	if err := w.flushPartials(ctx, now); err != nil {
		return err
	}
	w.enforceDeleted(now)
	return nil
}

// pollLineage polls the open files of one log, oldest first.
//
// Order across a rotation: the writer's late writes into a renamed file
// precede its first write into the new one, but reading the old file, then
// the new one, could see a new-file line written after the old file was read.
// So when a log has several open files, their sizes are taken newest first
// before any is read, and each is read only up to that size in this round:
// everything in a newer file up to its cap was written before the older files
// were read, hence after every late write into them that they then show. A
// round that left data past a cap is followed by another (at most
// maxOrderRounds; the rest waits for the next poll).
func (w *Watcher) pollLineage(ctx context.Context, lin *lineage, now time.Time) error {
	for round := 0; ; round++ {
		w.capHit = false
		w.capLineage(lin)
		if err := w.pollLineageOnce(ctx, lin, now); err != nil {
			return err
		}
		if !w.capHit || round+1 >= maxOrderRounds {
			return nil
		}
		w.pollGen++
	}
}

// maxOrderRounds bounds the rounds of one pollLineage.
const maxOrderRounds = 4

// capLineage records, newest first, the size of every open file of lin but
// the oldest, when more than one is open.
func (w *Watcher) capLineage(lin *lineage) {
	open := 0
	for _, f := range lin.files {
		if f.fd != nil {
			open++
		}
	}
	if open < 2 {
		return
	}
	for i := len(lin.files) - 1; i >= 0 && open > 1; i-- {
		f := lin.files[i]
		if f.fd == nil {
			continue
		}
		open--
		if fi, err := f.fd.Stat(); err == nil {
			f.capSize, f.capGen = fi.Size(), w.pollGen
		}
	}
}

func (w *Watcher) pollLineageOnce(ctx context.Context, lin *lineage, now time.Time) error {
	wait := false
	// Files opened or forgotten while polling (a rotation found by check)
	// change lin.files: poll a snapshot, then the newcomers.
	for more := true; more; {
		more = false
		w.snap = append(w.snap[:0], lin.files...)
		for _, f := range w.snap {
			if f.pollGen == w.pollGen || f.fd == nil {
				continue
			}
			f.pollGen, more = w.pollGen, true
			if wait {
				w.check(f, now) // still notice rotation and deletion
				continue
			}
			n, err := w.pollFile(ctx, f, now)
			if err != nil {
				return err
			}
			// A rotated file that still has data makes the newer files of
			// the same log wait, so lines (and P/F joins) keep their order.
			wait = n >= w.cfg.ReadBudget && f.state != stateActive
		}
	}
	return nil
}

// pollPaths polls the logs of the files at the given real paths (write
// notifications), each log oldest file first.
func (w *Watcher) pollPaths(ctx context.Context, paths map[string]bool) error {
	now := w.now()
	w.pollGen++
	for p := range paths {
		if f := w.byPath[p]; f != nil && f.fd != nil && f.pollGen != w.pollGen {
			if err := w.pollLineage(ctx, f.lin, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// pollFile checks and reads one file; it returns the bytes read.
func (w *Watcher) pollFile(ctx context.Context, f *file, now time.Time) (int, error) {
	w.check(f, now)
	if f.fd == nil {
		return 0, nil
	}
	n := 0
	var err error
	budget := w.cfg.ReadBudget
	if f.capGen == w.pollGen {
		// Read only what was there when the log's newer files were
		// sized (pollLineage).
		if f.size.Load() > f.capSize {
			w.capHit = true
		}
		budget = int(min(int64(budget), max(f.capSize-f.off, 0)))
	}
	if f.size.Load() > f.off && budget > 0 {
		n, err = w.read(ctx, f, budget)
	}
	if w.onRead != nil {
		w.onRead(f)
	}
	if err != nil {
		if errors.Is(err, errHandler) || ctx.Err() != nil {
			return n, err
		}
		w.log.Warn("read", zap.String("path", f.realPath), zap.Error(err))
	}
	if f.state == stateActive {
		return n, nil
	}
	switch {
	case n > 0:
		f.quietSince = time.Time{}
	case f.quietSince.IsZero():
		f.quietSince = now
	case now.Sub(f.quietSince) >= w.cfg.RotateWait:
		return n, w.closeFile(ctx, f, false)
	}
	return n, nil
}

// check detects truncation, deletion and rotation of f.
func (w *Watcher) check(f *file, now time.Time) {
	fi, err := f.fd.Stat()
	if err != nil {
		return
	}
	size := fi.Size()
	st := fi.Sys().(*syscall.Stat_t)
	if why := w.truncation(f, size); why != "" {
		// From here on f is the new generation of the inode.
		f = w.truncated(f, why, size)
	}
	f.size.Store(size)
	if st.Nlink == 0 {
		f.deleted = true
	}
	if st.Nlink == 0 && f.state != stateDeleted {
		if f.state == stateActive {
			w.stats.rotations.Add(1)
		}
		f.state, f.deletedAt, f.quietSince = stateDeleted, now, time.Time{}
		w.stats.filesDeletedHeld.Add(1)
	}
	if !f.current {
		if f.state == stateActive {
			f.state = stateRotated
		}
		return
	}
	if w.notify != nil {
		// Renames and new files at the path come as directory events and
		// are reconciled by Sync (which also sets current); no stat here.
		if f.state == stateRotated {
			f.state, f.quietSince = stateActive, time.Time{}
		}
		return
	}
	pfi, err := os.Stat(f.realPath)
	if err == nil && pfi.Sys().(*syscall.Stat_t).Ino == f.ino {
		if f.state == stateRotated {
			f.state, f.quietSince = stateActive, time.Time{} // rotation rolled back
		}
		return
	}
	// No longer at its path: renamed, or deleted and maybe replaced.
	f.current = false
	if f.state == stateActive {
		f.state = stateRotated
		w.stats.rotations.Add(1)
	}
	// Follow the new file at the path (and any rotated in between) at once.
	w.syncLineage(f)
}

// headOK checks (and extends) f's head fingerprint against the file.
func (w *Watcher) headOK(f *file, size int64) bool {
	n := int(min(size, fingerprintSize))
	if n < len(f.head) {
		return false
	}
	buf := w.scratch[:n]
	m, _ := f.fd.ReadAt(buf, 0)
	buf = buf[:m]
	if len(buf) < len(f.head) || string(buf[:len(f.head)]) != string(f.head) {
		return false
	}
	if len(buf) > len(f.head) {
		w.mu.Lock()
		f.head = append([]byte(nil), buf...)
		w.mu.Unlock()
	}
	return true
}

// recount recomputes pending after fragments were dropped.
func (l *lineage) recount() {
	l.pending = 0
	for i := range l.streams {
		if len(l.streams[i].frags) > 0 {
			l.pending++
		} else {
			l.streams[i].f0()
		}
	}
}

// closeFile closes a drained rotated or deleted file. An unterminated last
// record is emitted first (the writer is gone). With giveUp the file is closed
// without draining.
func (w *Watcher) closeFile(ctx context.Context, f *file, giveUp bool) error {
	if !giveUp && f.end > f.start {
		base := f.off - int64(f.end)
		data := f.buf[f.start:f.end:f.end]
		w.record(f, data, base+int64(f.start), f.off)
		f.start = f.end
		if err := w.flush(ctx, f); err != nil {
			return err
		}
	}
	w.mu.Lock()
	f.fd.Close()
	f.fd = nil
	w.mu.Unlock()
	if f.state == stateDeleted {
		w.stats.filesDeletedHeld.Add(-1)
	}
	f.state = stateClosed
	f.buf, f.start, f.end = nil, 0, 0
	if w.byPath[f.realPath] == f {
		delete(w.byPath, f.realPath)
	}
	w.stats.filesOpen.Add(-1)
	return nil
}

// enforceDeleted gives up deleted files held too long or beyond the count
// or bytes bound (oldest first); each is counted and logged as lost, with its
// unread bytes and lines.
func (w *Watcher) enforceDeleted(now time.Time) {
	var held []*file
	var bytes int64
	for _, lin := range w.lins {
		for _, f := range lin.files {
			if f.fd != nil && f.state == stateDeleted {
				held = append(held, f)
				bytes += f.size.Load()
			}
		}
	}
	sort.Slice(held, func(i, j int) bool { return held[i].deletedAt.Before(held[j].deletedAt) })
	for i, f := range held {
		over := w.cfg.MaxDeletedFiles >= 0 && len(held)-i > w.cfg.MaxDeletedFiles
		big := w.cfg.MaxDeletedBytes >= 0 && bytes > w.cfg.MaxDeletedBytes
		old := w.cfg.MaxDeletedAge >= 0 && now.Sub(f.deletedAt) > w.cfg.MaxDeletedAge
		if !over && !big && !old {
			continue
		}
		framed := f.off - int64(f.end-f.start)
		size := f.size.Load()
		lost := max(size-framed, 0)
		if lost > 0 {
			lines := countLines(f.fd, framed, size)
			w.stats.givenUpFiles.Add(1)
			w.stats.givenUpBytes.Add(lost)
			why := "held longer than the deleted-file age bound"
			switch {
			case over:
				why = "beyond the held deleted-file count bound"
			case big:
				why = "beyond the held deleted-file bytes bound"
			}
			w.lost(f.path, f.realPath, lost, lines, why)
		}
		bytes -= size
		_ = w.closeFile(context.Background(), f, true)
	}
	w.heldDeletedBytes.Store(max(bytes, 0))
}

// flushPartials emits unfinished lines older than PartialFlush.
func (w *Watcher) flushPartials(ctx context.Context, now time.Time) error {
	for _, lin := range w.lins {
		if lin.pending == 0 {
			continue
		}
		for s := range lin.streams {
			st := &lin.streams[s]
			if len(st.frags) == 0 || now.Sub(st.since) < w.cfg.PartialFlush {
				continue
			}
			last := st.frags[len(st.frags)-1]
			if st.discard {
				w.finish(st, last.f, last.end, nil)
				continue
			}
			w.stats.partialFlushed.Add(1)
			line := Line{Time: st.time, TimeText: st.timeText, Text: trimCR(joinFrags(st)), Stream: Stream(s), Flags: st.flags | FlagPartial}
			w.finish(st, last.f, last.end, &line)
		}
	}
	return w.flush(ctx, nil)
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

// acquireLock takes an exclusive lock on PositionsFile + ".lock" so that two
// agents (a DaemonSet rolling update) never read the same files at once; it
// waits, checking every PollInterval, while another process holds it. The lock
// is released by Close, after the final SavePositions.
func (w *Watcher) acquireLock(ctx context.Context) error {
	if w.cfg.PositionsFile == "" || w.lock != nil {
		return nil
	}
	path := w.cfg.PositionsFile + ".lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("positions dir: %w", err)
	}
	fd, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("open positions lock: %w", err)
	}
	warned := false
	for {
		err := syscall.Flock(int(fd.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			w.mu.Lock()
			w.lock = fd
			w.mu.Unlock()
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			fd.Close()
			return fmt.Errorf("lock %s: %w", path, err)
		}
		if !warned {
			w.log.Warn("positions locked by another process; waiting", zap.String("lock", path))
			warned = true
		}
		t := time.NewTimer(w.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			fd.Close()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Run discovers and follows files until ctx is done: Sync every
// RefreshInterval and on directory events, Poll on write events and every
// PollInterval; a saver goroutine saves positions when acknowledgements move
// them (at most every SaveCoalesce), and SavePositions also runs every
// SaveInterval. The saver stops before Run returns; the caller's final
// SavePositions (after the pipeline drained) writes the last acks. It returns nil when ctx is
// canceled, the Handler's error if it fails, or a Sync error (for example a
// corrupt positions file) at start.
func (w *Watcher) Run(ctx context.Context) error {
	if err := w.acquireLock(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	w.startNotify() // before the first Sync: nothing created meanwhile is missed
	if err := w.Sync(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	stopPinner := make(chan struct{})
	var pinner sync.WaitGroup
	pinner.Go(func() { w.runPinner(stopPinner) })
	defer func() { close(stopPinner); pinner.Wait() }()
	if w.cfg.SaveCoalesce > 0 && w.cfg.PositionsFile != "" {
		saveCtx, stopSaver := context.WithCancel(ctx)
		var saver sync.WaitGroup
		saver.Go(func() { w.runSaver(saveCtx) })
		defer func() { stopSaver(); saver.Wait() }()
	}
	poll := time.NewTicker(w.cfg.PollInterval)
	defer poll.Stop()
	refresh := time.NewTicker(w.cfg.RefreshInterval)
	defer refresh.Stop()
	save := time.NewTicker(w.cfg.SaveInterval)
	defer save.Stop()
	var events chan fsnotify.Event
	var errs chan error
	if w.notify != nil {
		events, errs = w.notify.Events, w.notify.Errors
	}
	fail := func(err error) error {
		if ctx.Err() != nil {
			return nil
		}
		w.stats.handlerErrors.Add(1)
		return err
	}
	if err := w.Poll(ctx); err != nil {
		return fail(err)
	}
	dirty := map[string]bool{}
	for {
		needSync := false
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
			if err := w.Poll(ctx); err != nil {
				return fail(err)
			}
			continue
		case <-refresh.C:
			needSync = true
		case <-save.C:
			if err := w.SavePositions(); err != nil {
				w.log.Error("save positions", zap.Error(err))
			}
			continue
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			needSync = w.noteEvent(ev, dirty) || needSync
			// Coalesce what is queued.
			for more := true; more; {
				select {
				case ev, ok := <-events:
					if !ok {
						events, more = nil, false
						break
					}
					needSync = w.noteEvent(ev, dirty) || needSync
				default:
					more = false
				}
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.stats.notifyOverflows.Add(1)
				w.log.Warn("inotify queue overflow: rescanning")
			} else {
				w.log.Warn("inotify", zap.Error(err))
			}
			needSync = true
		}
		if needSync {
			if err := w.Sync(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				w.log.Error("sync", zap.Error(err))
			}
			if err := w.Poll(ctx); err != nil {
				return fail(err)
			}
			clear(dirty)
			continue
		}
		if len(dirty) > 0 {
			if err := w.pollPaths(ctx, dirty); err != nil {
				return fail(err)
			}
			clear(dirty)
		}
	}
}

// noteEvent records a notification; it reports whether a Sync is needed.
func (w *Watcher) noteEvent(ev fsnotify.Event, dirty map[string]bool) bool {
	if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Remove) {
		return true
	}
	if w.byPath[ev.Name] != nil {
		dirty[ev.Name] = true
	}
	return false
}

// startNotify creates the fsnotify watcher; when inotify is unavailable
// (instance limit) logship polls only, with one warning.
func (w *Watcher) startNotify() {
	if w.cfg.DisableNotify || w.notify != nil || w.stats.notifyDisabled.Load() != 0 {
		return
	}
	n, err := w.newNotify()
	if err != nil {
		w.notifyFailed(err)
		return
	}
	w.notify = n
	w.updateWatches()
}

func (w *Watcher) notifyFailed(err error) {
	w.stats.notifyDisabled.Store(1)
	w.log.Warn("inotify unavailable, polling only (raise fs.inotify.max_user_watches / max_user_instances)", zap.Error(err))
	if w.notify != nil {
		w.notify.Close()
		w.notify = nil
	}
}

// updateWatches watches the glob directories and the directories of open
// files (directory watches: file watches vanish on rename).
func (w *Watcher) updateWatches() {
	if w.notify == nil {
		return
	}
	want := map[string]bool{}
	for _, d := range w.patDirs {
		want[d] = true
	}
	for _, lin := range w.lins {
		for _, f := range lin.files {
			if f.fd != nil {
				want[filepath.Dir(f.realPath)] = true
			}
		}
	}
	for d := range want {
		if w.watched[d] {
			continue
		}
		if err := w.notify.Add(d); err != nil {
			if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) {
				w.notifyFailed(err)
				return
			}
			continue // the directory may not exist yet; polling covers it
		}
		w.watched[d] = true
	}
	for d := range w.watched {
		if !want[d] {
			_ = w.notify.Remove(d)
			delete(w.watched, d)
		}
	}
}

func crc64Sum(b []byte) uint64 { return crc64.Checksum(b, crcTable) }
