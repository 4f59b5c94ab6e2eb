package agent

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"logship/enrich"
	"logship/tail"
)

// This file holds the run-time hooks for records that are held across
// batches: multi-line tail parsers (enrich.Converter.ConvertLine/FlushIdle)
// and filters that hold records (enrich.Flusher: concat).
//
// Wiring (agent.go):
//   - tail sources hand their lines to handleLines
//     (tail.HandlerFunc(s.handleLines)); a source whose converter groups lines
//     and has a multiline_flush_interval also runs runIdleFlush(ctx) next to
//     its watcher;
//   - filters get enrich.FilterDeps.Ack = a.Ack; those implementing
//     enrich.Flusher are collected and runFilterFlush(ctx, flushers) runs
//     while the sources run; after the sources stop, flushFilters(ctx, all)
//     once more with all=true, before the outputs' final flush.

// DefaultFlushTick is how often held records are checked for their timeout.
const DefaultFlushTick = time.Second

// handleLines converts a batch of lines and routes it; the Watcher calls it
// from its Run goroutine only. It converts with ConvertLine, which for a
// multi-line parser may hold a line (the first line of a pending record),
// absorb it (acknowledged at once: the pending record's first line keeps the
// position) or return records of earlier lines; other parsers make one
// record per line.
func (s *tailSource) handleLines(ctx context.Context, lines []tail.Line) error {
	s.conv.Reset()
	s.lag.emit(lines, time.Now(), s.w.Position)
	recs := s.recs[:0]
	drops := s.drops[:0]
	for i := range lines {
		l := &lines[i]
		if l.Source != s.last {
			s.a.paths.note(l.Source, l.RealPath)
			s.last = l.Source
		}
		recs, drops = s.conv.ConvertLine(recs, drops, l)
	}
	// Absorbed continuation lines are acknowledged as drops but are not
	// unmatched: count from the converter.
	before, bad := s.conv.GroupStats()
	s.unmatched.Store(s.conv.Unmatched + before + bad)
	s.recs, s.drops = recs[:0], drops[:0]
	if len(drops) > 0 {
		s.ack(drops)
	}
	if len(recs) == 0 {
		return nil
	}
	err := s.a.router.Emit(ctx, s.label, recs)
	clear(recs)
	return err
}

// flushIdle emits the pending multi-line records idle for the source's
// multiline_flush_interval (all of them when all is set). It may run
// concurrently with handleLines (the converter locks its pending records;
// the records it returns own their memory).
func (s *tailSource) flushIdle(ctx context.Context, now time.Time, all bool) error {
	recs, drops := s.conv.FlushIdle(nil, nil, now, all)
	if len(drops) > 0 {
		s.ack(drops)
	}
	if len(recs) == 0 {
		return nil
	}
	return s.a.router.Emit(ctx, s.label, recs)
}

// runIdleFlush calls flushIdle every tick until ctx is done; it returns at
// once for a source without a flush interval.
func (s *tailSource) runIdleFlush(ctx context.Context) error {
	iv := s.conv.FlushInterval()
	if iv <= 0 {
		return nil
	}
	tick := min(DefaultFlushTick, iv/2)
	return everyTick(ctx, max(tick, 10*time.Millisecond), func(now time.Time) error { return s.flushIdle(ctx, now, false) })
}

// flushFilters runs Flush of every holding filter under the router's lock and
// routes the timed-out records into the filter's timeout label. Records of a
// filter without one are handled as Fluentd handles error events with no
// @ERROR label: logged and dropped (acknowledged) — except at shutdown (all),
// where they stay unacknowledged and are re-read after the restart.
func (a *Agent) flushFilters(ctx context.Context, fs []enrich.Flusher, now time.Time, all bool) error {
	rt := a.router
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var firstErr error
	for _, f := range fs {
		recs := f.Flush(now, all)
		if len(recs) == 0 {
			continue
		}
		label := f.TimeoutLabel()
		if label == "" && all {
			// Shutdown: leave them unacknowledged; each group's first line
			// holds its file position, so the restart re-reads the group.
			continue
		}
		if label == "" {
			a.log.Warn("held records timed out with no timeout_label; dropped as Fluentd drops error events",
				zap.Int("records", len(recs)), zap.String("tag", recs[0].Tag))
			rt.ack.Ack(recs)
			continue
		}
		if err := rt.emitLocked(ctx, label, recs); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// runFilterFlush calls flushFilters every DefaultFlushTick until ctx is done.
func (a *Agent) runFilterFlush(ctx context.Context, fs []enrich.Flusher) error {
	if len(fs) == 0 {
		return nil
	}
	return everyTick(ctx, DefaultFlushTick, func(now time.Time) error { return a.flushFilters(ctx, fs, now, false) })
}

// everyTick calls flush every tick until ctx is done; a flush error other
// than a cancellation ends the loop with that error.
func everyTick(ctx context.Context, tick time.Duration, flush func(now time.Time) error) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			if err := flush(now); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
		}
	}
}

// filterDeps returns the dependencies of plugin filters.
func (a *Agent) filterDeps(hostname, typ string) enrich.FilterDeps {
	return enrich.FilterDeps{Hostname: hostname, Log: a.log.With(zap.String("filter", typ)), Ack: a.Ack}
}
