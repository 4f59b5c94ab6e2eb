package tail

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Copytruncate (logrotate's copytruncate, see design.md T1): the rotator
// copies 0.log to a rotated name (a new inode holding the old content), then
// truncates 0.log in place; the writer keeps its fd and goes on writing at
// offset 0. The copy is recognised by content, as OpenTelemetry's
// fileconsumer recognises a file by the fingerprint of its first bytes
// (pkg/stanza/fileconsumer/internal/fingerprint): its head must equal the
// original's head and the bytes just before the offset already read from the
// original must be there too. The copy then continues the original's old
// generation (same Source, tracker, read offset and unfinished fragments), so
// only what lies past the offset already read is read from it, and the
// truncated original is a new generation read from 0.

// truncation reports why f (size bytes now) no longer holds the content it
// was read from, or "".
func (w *Watcher) truncation(f *file, size int64) string {
	switch {
	case size < f.off:
		return "size below offset"
	case size != f.size.Load() && !w.headOK(f, size):
		return "head changed"
	}
	return ""
}

// truncated starts a new generation of f's inode at offset 0 and returns the
// file that follows the inode from now on. f itself stays the old
// generation: when a rotated copy of its content is found next to it (a
// copytruncate), f continues in the copy from its read offset; otherwise it is
// retired (its tracker keeps taking late acks, and its unfinished fragments
// stay in the lineage so a CRI P before the truncation joins the F written
// after it).
func (w *Watcher) truncated(f *file, why string, size int64) *file {
	w.stats.truncations.Add(1)
	n := &file{
		dev: f.dev, ino: f.ino, path: f.path, realPath: f.realPath, lin: f.lin, format: f.format,
		fd: f.fd, state: f.state, discovered: f.discovered, current: f.current, deleted: f.deleted,
		quietSince: f.quietSince, deletedAt: f.deletedAt, readTime: f.readTime, markPos: -1,
		skipHold: [3]int64{-1, -1, -1}, asmHold: [3]int64{-1, -1, -1},
	}
	n.size.Store(size)
	n.capSize, n.capGen = size, w.pollGen // after the copy (pollLineage)
	copyC, copyFd, takeover := w.findCopy(f)
	w.mu.Lock()
	w.nextID++
	n.id = w.nextID
	w.files[n.id] = n
	n.head = readHead(n.fd, size)
	at := slices.Index(f.lin.files, f)
	f.lin.files = slices.Insert(f.lin.files, at+1, n)
	if takeover {
		f.fd, f.dev, f.ino, f.realPath = copyFd, copyC.dev, copyC.ino, copyC.realPath
		f.markPos = -1
		f.capGen = 0 // the original's read cap does not apply to the copy, which is read before n
	} else {
		f.fd = nil
		f.retired = true
	}
	w.mu.Unlock()
	w.byIno[devIno{n.dev, n.ino}] = n
	if w.byPath[n.realPath] == f {
		w.byPath[n.realPath] = n
	}
	f.current, f.quietSince = false, time.Time{}
	if takeover {
		delete(w.copies, devIno{copyC.dev, copyC.ino})
		w.byIno[devIno{copyC.dev, copyC.ino}] = f
		w.byPath[copyC.realPath] = f
		f.size.Store(copyC.size)
		f.state, f.deleted, f.discovered = stateRotated, false, true
		w.stats.filesOpened.Add(1)
		w.stats.filesOpen.Add(1)
		w.log.Info("file truncated; its rotated copy continues where reading stopped (copytruncate)",
			zap.String("path", n.realPath), zap.String("copy", copyC.realPath), zap.String("reason", why),
			zap.Int64("offset", f.off), zap.Int64("copy_size", copyC.size))
	} else {
		f.state = stateClosed // a deleted state (and its count) moved to n with the fd
		f.buf, f.start, f.end = nil, 0, 0
		w.log.Info("file truncated, reading from 0", zap.String("path", n.realPath), zap.String("reason", why), zap.Int64("offset", f.off))
	}
	if w.debugf != nil {
		w.debugf("truncated %d -> new generation %d %s: %s (copy taken over: %v)", f.id, n.id, n.realPath, why, takeover)
	}
	return n
}

// findCopy looks, among the not yet followed rotated siblings of f's log,
// for a copy of the content f was read from. A copy at least as long as f's
// read offset is opened and returned with takeover set; a shorter one holds
// only bytes already read and is remembered as a copy (never read).
func (w *Watcher) findCopy(f *file) (candidate, *os.File, bool) {
	key := f.lin.key
	dir, base := filepath.Dir(key), filepath.Base(key)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return candidate{}, nil, false
	}
	for _, e := range ents {
		name := e.Name()
		if !isRotated(name, base) {
			continue
		}
		c, ok := statCandidate(filepath.Join(dir, name))
		if !ok || (c.dev == f.dev && c.ino == f.ino) {
			continue
		}
		if w.byIno[devIno{c.dev, c.ino}] != nil {
			continue // followed already (or read and closed)
		}
		if size, ok := w.copies[devIno{c.dev, c.ino}]; ok && size == c.size && c.size < f.off {
			continue // a copy of content already read
		}
		fd, err := os.Open(c.realPath)
		if err != nil {
			continue
		}
		fi, err := fd.Stat()
		if err != nil || fi.Sys().(*syscall.Stat_t).Ino != c.ino {
			fd.Close()
			continue
		}
		c.size = fi.Size()
		match, longer := w.copyOf(f, fd, c.size)
		if w.debugf != nil {
			w.debugf("findCopy %s (%d bytes) for %d (off %d, head %d): match %v longer %v", c.realPath, c.size, f.id, f.off, len(f.head), match, longer)
		}
		if !match {
			fd.Close()
			continue
		}
		if longer {
			return c, fd, true
		}
		fd.Close()
		w.noteCopy(c)
		w.log.Info("rotated copy holds only lines already read; not read again", zap.String("path", c.realPath), zap.String("of", f.realPath))
	}
	return candidate{}, nil, false
}

// noteCopy remembers c as a copy that must not be read.
func (w *Watcher) noteCopy(c candidate) {
	if w.copies == nil {
		w.copies = map[devIno]int64{}
	}
	w.copies[devIno{c.dev, c.ino}] = c.size
}

// copyOf reports whether fd (size bytes) is a copy of the content f was read
// from: its head equals f's head and the bytes before min(size, f.off) equal
// what f read there (as far as that is still in memory). longer reports that
// the copy reaches f's read offset.
func (w *Watcher) copyOf(f *file, fd *os.File, size int64) (match, longer bool) {
	if len(f.head) == 0 || size == 0 {
		return false, false
	}
	n := min(int64(len(f.head)), size)
	buf := make([]byte, n)
	if _, err := fd.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, f.head[:n]) {
		return false, false
	}
	at := min(size, f.off)
	want := f.bytesBefore(at)
	if want == nil && at > int64(len(f.head)) && size >= f.off {
		return false, false // the bytes before the offset are not known: not verifiable
	}
	if want != nil {
		got := make([]byte, len(want))
		if _, err := fd.ReadAt(got, at-int64(len(want))); err != nil || !bytes.Equal(got, want) {
			return false, false
		}
	}
	return true, size >= f.off
}

// bytesBefore returns the (up to markerSize) bytes of f just before file
// offset at, if they are still in memory (the read block and the tail of the
// previous one), else nil.
func (f *file) bytesBefore(at int64) []byte {
	n := min(int64(markerSize), at)
	if n == 0 {
		return []byte{}
	}
	blockStart := f.off - int64(f.end) // file offset of buf[0]
	if at <= f.off && at-n >= blockStart {
		return f.buf[at-n-blockStart : at-blockStart]
	}
	// Window: prev (the bytes before buf[0]) then buf[:end].
	winStart := blockStart - int64(f.prevLen)
	if at > f.off || at-n < winStart {
		return nil
	}
	win := make([]byte, 0, f.prevLen+f.end)
	win = append(append(win, f.prev[:f.prevLen]...), f.buf[:f.end]...)
	return win[at-n-winStart : at-winStart]
}

// keepPrev records the markerSize bytes before the new read block's first
// byte (file offset off-pending) when the block holding them is replaced.
func (f *file) keepPrev(pending int) {
	old := f.buf[:f.end-pending]
	if len(old) >= markerSize {
		copy(f.prev[:], old[len(old)-markerSize:])
		f.prevLen = markerSize
		return
	}
	var tmp [2 * markerSize]byte
	joined := append(append(tmp[:0], f.prev[:f.prevLen]...), old...)
	if len(joined) > markerSize {
		joined = joined[len(joined)-markerSize:]
	}
	f.prevLen = copy(f.prev[:], joined)
}

// loadPrev reads the bytes before f's start offset (a file opened at a saved
// position), so a copy can be verified before anything was read.
func (f *file) loadPrev() {
	n := min(int64(markerSize), f.off)
	if n == 0 {
		return
	}
	if m, err := f.fd.ReadAt(f.prev[:n], f.off-n); err == nil && int64(m) == n {
		f.prevLen = int(n)
	}
}

// copyHandled is called before a newly found rotated sibling c is opened. It
// reports whether c is a copy of a followed file's content, which must not be
// read from 0: either the followed file was truncated meanwhile (c is then
// taken over by its old generation, see truncated), or c is a copy of the
// file at the log's path that has not been truncated yet (everything in c is
// also there; c is remembered and never read).
//
// An empty new sibling is not opened yet: it has no content to recognise
// (a copy being created); the next Sync looks at it again.
func (w *Watcher) copyHandled(c candidate) bool {
	if w.isCopy(c) {
		if fd := w.takePinned(c); fd != nil {
			fd.Close() // pinned while the Handler blocked; the copy has its own fd or is never read
		}
		return true
	}
	return false
}

// isCopy is copyHandled without the pinned-fd cleanup.
func (w *Watcher) isCopy(c candidate) bool {
	if fi, err := os.Stat(c.realPath); err == nil && fi.Sys().(*syscall.Stat_t).Ino == c.ino {
		c.size = fi.Size() // discovery's size may be older (a copy still being written then)
	}
	if c.size == 0 {
		return true
	}
	k := devIno{c.dev, c.ino}
	if size, ok := w.copies[k]; ok && size == c.size {
		return true
	}
	// A truncation of a followed file of c's log, found now, makes
	// findCopy look at c (taking it over or remembering it).
	detect := func() bool {
		lin := w.lineages[lineageKey(c.realPath)]
		if lin == nil {
			return false
		}
		for _, g := range slices.Clone(lin.files) {
			if g.fd == nil || g.retired || g.state == stateDeleted {
				continue
			}
			fi, err := g.fd.Stat()
			if err != nil {
				continue
			}
			if why := w.truncation(g, fi.Size()); why != "" {
				w.truncated(g, why, fi.Size())
			}
		}
		if g := w.byIno[k]; g != nil && g.fd != nil {
			return true
		}
		_, ok := w.copies[k]
		return ok
	}
	if detect() {
		return true
	}
	if w.prefixCopy(c) {
		w.noteCopy(c)
		return true
	}
	// The original may have been truncated while it was compared.
	if detect() {
		return true
	}
	if w.debugf != nil {
		w.debugf("sibling %s (%d bytes) is not a copy", c.realPath, c.size)
	}
	return false
}

// prefixCopy reports whether c is a copy of the beginning of the file at its
// log's path (another inode): same head, same bytes before c's end.
func (w *Watcher) prefixCopy(c candidate) bool {
	orig := lineageKey(c.realPath)
	if orig == c.realPath || c.size == 0 {
		return false
	}
	ofd, err := os.Open(orig)
	if err != nil {
		return false
	}
	defer ofd.Close()
	ofi, err := ofd.Stat()
	if err != nil || ofi.Size() < c.size {
		return false
	}
	if st := ofi.Sys().(*syscall.Stat_t); st.Ino == c.ino && uint64(st.Dev) == c.dev {
		return false
	}
	cfd, err := os.Open(c.realPath)
	if err != nil {
		return false
	}
	defer cfd.Close()
	same := func(off, n int64) bool {
		a, b := make([]byte, n), make([]byte, n)
		_, e1 := ofd.ReadAt(a, off)
		_, e2 := cfd.ReadAt(b, off)
		return e1 == nil && e2 == nil && bytes.Equal(a, b)
	}
	n := min(c.size, fingerprintSize)
	m := min(c.size, markerSize)
	return same(0, n) && same(c.size-m, m)
}

// copyEntry finds, at the first Sync, the saved position of a file that was
// copied and truncated while logship was down: an unused saved entry of c's
// log whose head fingerprint and marker (the bytes before the saved position)
// c has, while the saved file itself no longer passes its identity check. The
// entry is marked used.
func (w *Watcher) copyEntry(c candidate) (posEntry, bool) {
	key := lineageKey(c.realPath)
	for i, e := range w.saved {
		if e.ino == 0 || e.headLen == 0 || lineageKey(e.realPath) != key || c.size < e.pos {
			continue
		}
		if e.ino == c.ino && e.dev == c.dev {
			continue
		}
		cfd, err := os.Open(c.realPath)
		if err != nil {
			continue
		}
		ok, _ := checkIdentity(cfd, c.size, e)
		cfd.Close()
		if !ok || e.markerLen == 0 && e.pos > int64(e.headLen) {
			continue
		}
		// The saved file must be gone from its content: truncated (or
		// replaced) while down.
		if ofd, err := os.Open(key); err == nil {
			fi, err := ofd.Stat()
			intact := false
			if err == nil {
				if st := fi.Sys().(*syscall.Stat_t); st.Ino == e.ino {
					intact, _ = checkIdentity(ofd, fi.Size(), e)
				}
			}
			ofd.Close()
			if intact {
				continue
			}
		}
		w.saved[i].ino = 0
		w.stats.truncations.Add(1)
		w.log.Info("file copied and truncated while stopped; its rotated copy resumes at the saved position",
			zap.String("path", e.realPath), zap.String("copy", c.realPath), zap.Int64("position", e.pos))
		return e, true
	}
	return posEntry{}, false
}
