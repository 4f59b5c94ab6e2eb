package agent

import (
	"sync"
	"time"

	"logship/tail"
)

// lagTracker measures the delivery lag of a tail source: the age of the
// oldest line read but not yet acknowledged (delivered, or fsynced into a
// file buffer). For every file (tail Source) it queues the batches of lines
// handed to the router as spans {read time, end offset of the span's last
// line}. The tailer's committed position of a file (Watcher.Position) is its
// acknowledged low-water mark: every line ending at or before it is
// acknowledged, and the first line not acknowledged ends after it. So the
// oldest span of a file ending past its committed position holds the file's
// oldest unacknowledged line, whatever order acknowledgements arrive in
// (other files' chunks delivered first, retried chunks, dropped lines). The
// lag is the oldest such span over all files; it stays the age of the first
// line still undelivered through an outage and the recovery after it, and
// falls only as that line's file is acknowledged.
//
// emit is called on the source's read path (one span per file per batch),
// and drops acknowledged spans at most every lagPruneEvery; lag at scrape
// time. A file the tailer no longer knows (Position reports false: its lines
// were acknowledged and the file forgotten) is dropped. While nothing is
// acknowledged (an outage) a file's queue is kept to maxLagSpans by merging
// neighbours into the older one's time: the lag is then coarser, never
// smaller than the truth.
type lagTracker struct {
	mu     sync.Mutex
	files  map[uint64]*lagSpans
	pruned time.Time
}

const (
	lagPruneEvery = time.Second
	maxLagSpans   = 1024
)

// position is Watcher.Position: a file's committed offset, false if unknown.
type position func(source uint64) (int64, bool)

// lagSpans is one file's queue of spans, oldest first from head.
type lagSpans struct {
	q    []lagSpan
	head int
}

type lagSpan struct {
	at  time.Time
	end int64 // offset just after the span's last line
}

// emit records the lines of one batch, read at t. It must not be called
// with the tailer's lock held (pos takes it).
func (l *lagTracker) emit(lines []tail.Line, t time.Time, pos position) {
	if len(lines) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.Sub(l.pruned) >= lagPruneEvery {
		l.pruneLocked(pos)
		l.pruned = t
	}
	if l.files == nil {
		l.files = make(map[uint64]*lagSpans)
	}
	// Batches are mostly runs of one file: one span per run.
	for i := 0; i < len(lines); {
		src := lines[i].Source
		j := i + 1
		for j < len(lines) && lines[j].Source == src {
			j++
		}
		end := lines[j-1].Offset
		f := l.files[src]
		if f == nil {
			f = &lagSpans{}
			l.files[src] = f
		}
		if n := len(f.q); n > f.head && f.q[n-1].at.Equal(t) {
			f.q[n-1].end = max(f.q[n-1].end, end)
		} else {
			f.q = append(f.q, lagSpan{at: t, end: end})
		}
		if len(f.q)-f.head > maxLagSpans {
			f.merge()
		}
		i = j
	}
}

// merge halves a file's queue: each pair of spans becomes one with the
// older read time and the later end.
func (f *lagSpans) merge() {
	q := f.q[f.head:]
	n := 0
	for i := 0; i < len(q); i += 2 {
		sp := q[i]
		if i+1 < len(q) {
			sp.end = q[i+1].end
		}
		q[n] = sp
		n++
	}
	f.q, f.head = append(f.q[:0], q[:n]...), 0
}

// lag returns the age at now of the oldest line not yet acknowledged (0 when
// every line read is), given each file's committed position.
func (l *lagTracker) lag(now time.Time, pos position) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	oldest := l.pruneLocked(pos)
	if oldest.IsZero() {
		return 0
	}
	return max(now.Sub(oldest), 0)
}

// pruneLocked drops the acknowledged spans and returns the read time of the
// oldest span left (zero if none).
func (l *lagTracker) pruneLocked(position position) time.Time {
	var oldest time.Time
	for src, f := range l.files {
		pos, ok := position(src)
		if !ok {
			delete(l.files, src)
			continue
		}
		for f.head < len(f.q) && f.q[f.head].end <= pos {
			f.head++
		}
		if f.head == len(f.q) {
			delete(l.files, src)
			continue
		}
		if f.head > 64 && f.head*2 > len(f.q) {
			n := copy(f.q, f.q[f.head:])
			f.q, f.head = f.q[:n], 0
		}
		if at := f.q[f.head].at; oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	return oldest
}
