package tail

// This file holds Poll, one read pass over the open files: per-lineage reads
// oldest file first (pollLineage*, capLineage), the stat and read of one file
// (pollFile), rotation, truncation and deletion checks (check, headOK),
// closing drained files, the bounds on held deleted files (enforceDeleted) and
// the flush of unfinished lines older than PartialFlush.

import (
	"context"
	"errors"
	"os"
	"sort"
	"syscall"
	"time"

	"go.uber.org/zap"
)

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
	if fi, err := f.fd.Stat(); err == nil {
		f.mtime = fi.ModTime() // known() finds it unchanged by this
	}
	w.mu.Lock()
	f.fd.Close()
	f.fd = nil
	w.mu.Unlock()
	w.noteClosed(f)
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
