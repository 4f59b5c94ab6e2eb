package torture

import "sync"

// Written is one line as the generator wrote it.
type Written struct {
	// Time is the timestamp written with the line, in nanoseconds since the
	// Unix epoch.
	Time int64
	// Size is the payload size in bytes.
	Size int
	// Lost is set for a line that is on no disk: written to the original
	// between a copytruncate's copy and its truncation.
	Lost bool
}

// Ledger records what the generator actually wrote, per container. It is
// safe for concurrent use.
type Ledger struct {
	mu    sync.Mutex
	lines map[string][]Written // by container; index = sequence number
	order []string
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{lines: make(map[string][]Written)} }

// Add records line seq of container ctr; lines of a container are added in
// sequence order, seq 0 first.
func (l *Ledger) Add(ctr string, w Written) {
	l.mu.Lock()
	if _, ok := l.lines[ctr]; !ok {
		l.order = append(l.order, ctr)
	}
	l.lines[ctr] = append(l.lines[ctr], w)
	l.mu.Unlock()
}

// MarkLost flags line seq of ctr as on no disk.
func (l *Ledger) MarkLost(ctr string, seq int) {
	l.mu.Lock()
	if ls := l.lines[ctr]; seq < len(ls) {
		ls[seq].Lost = true
	}
	l.mu.Unlock()
}

// Total returns the number of lines written and of those on no disk.
func (l *Ledger) Total() (lines, lost int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ls := range l.lines {
		lines += len(ls)
		for _, w := range ls {
			if w.Lost {
				lost++
			}
		}
	}
	return lines, lost
}

// Containers returns the container names in the order they first wrote.
func (l *Ledger) Containers() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.order...)
}

// Lines returns a copy of the lines of ctr.
func (l *Ledger) Lines(ctr string) []Written {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Written(nil), l.lines[ctr]...)
}
