package tail

// This file holds Run, the loop that calls Sync and Poll, with the positions
// lock that keeps two agents off the same files (acquireLock) and the fsnotify
// plumbing: starting it, falling back to polling when it fails, mapping events
// to dirty paths and keeping the watched directories up to date.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

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
// them (at most every SaveCoalesce, at once after SaveNow), and
// SavePositions also runs every SaveInterval. The saver stops before Run returns; the caller's final
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
