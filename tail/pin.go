package tail

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Holding files while reading is blocked (design.md R7).
//
// While the Handler blocks (the pipeline's buffer is full during an outage)
// the Run goroutine does nothing: no Sync, no Poll. The kubelet keeps
// rotating, and deletes the oldest rotated files beyond containerLogMaxFiles;
// a file created, rotated and deleted within the outage would never be seen.
// The pinner, a second goroutine running only while a Handle call is in
// progress, looks at the followed logs' directories and the globs every
// PollInterval and opens (pins) every file not followed yet, within the
// deleted-file bounds; the Run goroutine takes the pinned fds over at its next
// Sync (also for files deleted meanwhile), so they are read like any other.

// pinnedFile is a file opened by the pinner.
type pinnedFile struct {
	fd  *os.File
	c   candidate
	seq uint64 // pin order: older files were pinned first
	at  time.Time
}

// pinState is shared by the pinner and the Run goroutine; mu guards all.
type pinState struct {
	mu      sync.Mutex
	known   map[devIno]string // files the Run goroutine follows (published at each Sync, closes noted at once): "" when open, else the closed file's path
	keys    []pinKey          // followed logs (published at each Sync)
	pinned  map[devIno]*pinnedFile
	skipped map[devIno]skipRec // seen but not pinned (a bound was reached)
	seq     uint64
}

type pinKey struct{ key, path string }

// skipRec is a file the pinner saw but could not hold: its size and complete
// lines when last seen.
type skipRec struct {
	c     candidate
	lines int64
}

// publishPins gives the pinner the followed files and logs. Run goroutine.
func (w *Watcher) publishPins() {
	known := make(map[devIno]string, len(w.byIno))
	for k, f := range w.byIno {
		switch {
		case f.fd != nil:
			known[k] = ""
		case f.discovered:
			known[k] = f.realPath
		}
	}
	keys := make([]pinKey, 0, len(w.lins))
	for _, l := range w.lins {
		if len(l.files) > 0 {
			keys = append(keys, pinKey{key: l.key, path: l.files[len(l.files)-1].path})
		}
	}
	p := &w.pins
	p.mu.Lock()
	p.known, p.keys = known, keys
	p.mu.Unlock()
}

// follows reports whether the Run goroutine follows the file at realPath
// with inode k. A closed file (read to its end, not held open) is that file
// only at its own path: once it is deleted its inode may be reused at once
// by a new file (the next current file after a rotation), which must be
// pinned, not taken for the closed one. Called with mu held.
func (p *pinState) follows(k devIno, realPath string) bool {
	path, ok := p.known[k]
	return ok && (path == "" || path == realPath)
}

// runPinner pins new files every PollInterval while a Handle call is in
// progress, until stop is closed.
func (w *Watcher) runPinner(stop <-chan struct{}) {
	t := time.NewTicker(w.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if since := w.handleSince.Load(); since != 0 && w.now().UnixNano()-since >= int64(w.cfg.PollInterval) {
			w.pinNew()
		}
	}
}

// pinNew opens the files of the globs and of the followed logs' directories
// that are neither followed nor pinned, while the deleted-file bounds allow.
func (w *Watcher) pinNew() {
	p := &w.pins
	p.mu.Lock()
	keys := p.keys
	p.mu.Unlock()
	var cands []candidate
	for _, pat := range w.cfg.Paths {
		matches, _ := filepath.Glob(pat)
		for _, m := range matches {
			if w.excluded(m) {
				continue
			}
			if c, ok := statCandidate(m); ok {
				c.current = true
				cands = append(cands, c)
				keys = append(keys, pinKey{key: c.realPath, path: m})
			}
		}
	}
	// Each directory is read once for all the logs in it (a glob of plain
	// files puts them all in one).
	byDir := map[string][]pinKey{}
	for _, k := range keys {
		dir := filepath.Dir(k.key)
		if !slices.Contains(byDir[dir], k) {
			byDir[dir] = append(byDir[dir], k)
		}
	}
	for dir, ks := range byDir {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name := e.Name()
			for _, k := range ks {
				base := filepath.Base(k.key)
				if name != base && !isRotated(name, base) {
					continue
				}
				if c, ok := statCandidate(filepath.Join(dir, name)); ok {
					c.path, c.current = k.path, name == base
					cands = append(cands, c)
				}
				break
			}
		}
	}
	now := w.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cands {
		k := devIno{c.dev, c.ino}
		if p.follows(k, c.realPath) || p.pinned[k] != nil {
			continue
		}
		if !w.pinRoom(c.size) {
			if p.skipped == nil {
				p.skipped = map[devIno]skipRec{}
			}
			prev, ok := p.skipped[k]
			if ok && prev.c.size == c.size && prev.c.realPath == c.realPath {
				continue
			}
			if ok && c.size < prev.c.size {
				// The inode was freed and reused: the file seen before is gone.
				w.lost(prev.c.path, prev.c.realPath, prev.c.size, prev.lines, "deleted while reading was blocked, beyond the held-file bounds")
			}
			rec := skipRec{c: c, lines: -1}
			if fd, err := os.Open(c.realPath); err == nil {
				rec.lines = countLines(fd, 0, c.size)
				fd.Close()
			}
			p.skipped[k] = rec
			continue
		}
		fd, err := os.Open(c.realPath)
		if err != nil {
			continue
		}
		if fi, err := fd.Stat(); err != nil || fi.Sys().(*syscall.Stat_t).Ino != c.ino {
			fd.Close()
			continue
		}
		if p.pinned == nil {
			p.pinned = map[devIno]*pinnedFile{}
		}
		p.seq++
		p.pinned[k] = &pinnedFile{fd: fd, c: c, seq: p.seq, at: now}
		w.stats.filesPinned.Add(1)
		if w.debugf != nil {
			w.debugf("pinned %s (%d bytes) while the handler blocks", c.realPath, c.size)
		}
	}
}

// pinRoom reports whether one more file of size bytes may be pinned within
// the held-deleted bounds (the files already held deleted count, as they
// stood at the last poll). Called with pins.mu held.
func (w *Watcher) pinRoom(size int64) bool {
	n := w.stats.filesDeletedHeld.Load() + int64(len(w.pins.pinned)) + 1
	if w.cfg.MaxDeletedFiles >= 0 && n > int64(w.cfg.MaxDeletedFiles) {
		return false
	}
	if w.cfg.MaxDeletedBytes >= 0 {
		bytes := w.heldDeletedBytes.Load() + size
		for _, pf := range w.pins.pinned {
			bytes += pf.c.size
		}
		if bytes > w.cfg.MaxDeletedBytes {
			return false
		}
	}
	return true
}

// takePinned returns the pinned fd of c's file, if any, removing it.
// Run goroutine.
func (w *Watcher) takePinned(c candidate) *os.File {
	p := &w.pins
	p.mu.Lock()
	defer p.mu.Unlock()
	k := devIno{c.dev, c.ino}
	pf := p.pinned[k]
	if pf == nil {
		return nil
	}
	delete(p.pinned, k)
	return pf.fd
}

// pinnedFd returns the pinned fd of c's file, if any, keeping the pin.
// Run goroutine.
func (w *Watcher) pinnedFd(c candidate) *os.File {
	p := &w.pins
	p.mu.Lock()
	defer p.mu.Unlock()
	if pf := p.pinned[devIno{c.dev, c.ino}]; pf != nil {
		return pf.fd
	}
	return nil
}

// noteClosed tells the pinner that f was closed (read to its end): from now
// on it is f only at its own path, as publishPins would say at the next Sync.
// Until then the pinner would take a file with f's inode, once the kubelet
// deleted f and the inode was reused, for f at any path. Run goroutine.
func (w *Watcher) noteClosed(f *file) {
	p := &w.pins
	p.mu.Lock()
	defer p.mu.Unlock()
	k := devIno{f.dev, f.ino}
	if _, ok := p.known[k]; !ok {
		return
	}
	if f.discovered {
		p.known[k] = f.realPath
	} else {
		delete(p.known, k)
	}
}

// pinnedCandidates returns, oldest (last written) first, the pinned files that
// discovery did not find (deleted or renamed away meanwhile), as candidates
// for Sync, and reports the files seen but not pinned that are gone now
// (lost: counted and logged). Run goroutine.
func (w *Watcher) pinnedCandidates(cands []candidate) []candidate {
	p := &w.pins
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pinned) == 0 && len(p.skipped) == 0 {
		return nil
	}
	found := make(map[devIno]bool, len(cands))
	for _, c := range cands {
		found[devIno{c.dev, c.ino}] = true
	}
	var pins []*pinnedFile
	for k, pf := range p.pinned {
		if found[k] {
			continue
		}
		if g := w.byIno[k]; g != nil && g.fd != nil {
			pf.fd.Close() // followed meanwhile under another name
			delete(p.pinned, k)
			continue
		}
		pins = append(pins, pf)
	}
	var out []candidate
	for _, pf := range pins {
		c := pf.c
		c.current = false
		if fi, err := pf.fd.Stat(); err == nil {
			c.size, c.mtime = fi.Size(), fi.ModTime()
		}
		if c.size == 0 {
			pf.fd.Close() // nothing to read, and gone from its path
			delete(p.pinned, devIno{c.dev, c.ino})
			continue
		}
		out = append(out, c)
	}
	// Oldest first, by the last write: the kubelet deletes the oldest
	// rotated files, and a renamed file's late writes precede the new
	// file's first write.
	slices.SortStableFunc(out, func(a, b candidate) int { return a.mtime.Compare(b.mtime) })
	for k, r := range p.skipped {
		delete(p.skipped, k)
		if found[k] || w.byIno[k] != nil {
			continue
		}
		w.lost(r.c.path, r.c.realPath, r.c.size, r.lines, "deleted while reading was blocked, beyond the held-file bounds")
	}
	return out
}

// dropPinnedFollowed closes pinned fds of files the Run goroutine follows
// (it opened them itself meanwhile). Run goroutine.
func (w *Watcher) dropPinnedFollowed() {
	p := &w.pins
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, pf := range p.pinned {
		if g := w.byIno[k]; g != nil && g.fd != nil {
			pf.fd.Close()
			delete(p.pinned, k)
		}
	}
}

// closePins closes every pinned fd (Close).
func (w *Watcher) closePins() {
	p := &w.pins
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, pf := range p.pinned {
		pf.fd.Close()
		delete(p.pinned, k)
	}
}

// LostFile is a file whose unread content was lost: given up beyond the held
// deleted-file bounds, or deleted unseen while reading was blocked.
type LostFile struct {
	Path     string    // as discovered (the /var/log/containers name)
	RealPath string    // the file itself
	Bytes    int64     // unread bytes lost
	Lines    int64     // complete lines among them (-1: not known, the file was never opened)
	At       time.Time // when it was found lost
	Reason   string
}

// maxLostFiles is how many LostFile records LostFiles keeps (newest).
const maxLostFiles = 256

// lost counts and logs a lost file. Any goroutine.
func (w *Watcher) lost(path, realPath string, bytes, lines int64, why string) {
	w.stats.lostFiles.Add(1)
	w.stats.lostBytes.Add(max(bytes, 0))
	if lines > 0 {
		w.stats.lostLines.Add(lines)
	}
	w.log.Error("file lost with unread data", zap.String("path", path), zap.String("real_path", realPath),
		zap.Int64("bytes", bytes), zap.Int64("lines", lines), zap.String("reason", why))
	w.lostMu.Lock()
	w.lostList = append(w.lostList, LostFile{Path: path, RealPath: realPath, Bytes: bytes, Lines: lines, At: w.now(), Reason: why})
	if len(w.lostList) > maxLostFiles {
		w.lostList = slices.Delete(w.lostList, 0, len(w.lostList)-maxLostFiles)
	}
	w.lostMu.Unlock()
}

// LostFiles returns the most recent lost files (at most 256), oldest first.
// Safe to call concurrently.
func (w *Watcher) LostFiles() []LostFile {
	w.lostMu.Lock()
	defer w.lostMu.Unlock()
	return slices.Clone(w.lostList)
}

// countLines counts the '\n' in fd from off to size (the unread part of a
// file given up), reading at most maxCount bytes; -1 if not read.
func countLines(fd *os.File, off, size int64) int64 {
	const maxCount = 64 << 20
	if size <= off {
		return 0
	}
	if size-off > maxCount {
		return -1
	}
	buf := make([]byte, 256<<10)
	var n int64
	for off < size {
		m, err := fd.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		for _, b := range buf[:m] {
			if b == '\n' {
				n++
			}
		}
		off += int64(m)
		if err != nil || m == 0 {
			break
		}
	}
	return n
}
