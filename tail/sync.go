package tail

// This file holds Sync, which reconciles the followed files with the
// candidates on disk: recognising known files (identity and head), the start
// offset of a new file (saved positions, the Fluentd pos_file takeover,
// ReadFromHead), loading the saved entries and reporting gaps, and opening,
// reopening, renaming, forgetting and pruning files.

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"syscall"
	"time"

	"go.uber.org/zap"
)

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
// to another file). The content is compared unless the file is provably
// unchanged: same path, size and modification time as when last known. Size
// alone proves nothing: rotated files of fixed-size lines all have one size,
// and a closed file deleted while reading was blocked may have its inode
// back as a later file of the log, rotated to the same size (torture 09).
func (w *Watcher) known(c candidate) *file {
	k := devIno{c.dev, c.ino}
	f := w.byIno[k]
	if f == nil || f.fd != nil {
		return f
	}
	unchanged := c.realPath == f.realPath && c.size == f.size.Load() && !f.mtime.IsZero() && c.mtime.Equal(f.mtime)
	if f.deleted || len(f.head) == 0 || (!unchanged && !w.sameHead(f, c)) {
		w.log.Debug("closed file's inode seen with other content: reused, the old file is forgotten",
			zap.String("old", f.realPath), zap.String("new", c.realPath), zap.Bool("same_size", c.size == f.size.Load()), zap.Bool("pinned", w.pinnedFd(c) != nil))
		w.forget(f)
		return nil
	}
	f.mtime = c.mtime
	if c.size <= f.off {
		if fd := w.takePinned(c); fd != nil {
			// Pinned while the Handler blocked (renamed meanwhile):
			// the closed file's state stands, nothing is unread.
			fd.Close()
		}
	}
	return f
}

// sameHead reports whether c's file still starts with f's head: through its
// pinned fd when the pinner holds it (c may be gone from its path), else the
// file at c's path if it still has c's inode.
func (w *Watcher) sameHead(f *file, c candidate) bool {
	fd := w.pinnedFd(c)
	if fd == nil {
		var err error
		if fd, err = os.Open(c.realPath); err != nil {
			return false
		}
		defer fd.Close()
		fi, err := fd.Stat()
		if err != nil || fi.Sys().(*syscall.Stat_t).Ino != c.ino {
			return false
		}
	}
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
	fd := w.takePinned(candidate{dev: f.dev, ino: f.ino}) // held while the Handler blocked (it may be gone from its path)
	if fd == nil {
		var err error
		if fd, err = os.Open(f.realPath); err != nil {
			return
		}
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
