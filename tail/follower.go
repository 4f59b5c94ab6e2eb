package tail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"go.uber.org/zap"
)

// fileState is where a followed file is in its life (design.md §4).
type fileState uint8

const (
	stateActive  fileState = iota // the file is at its discovered path
	stateRotated                  // renamed away, or no longer matched: drain to a quiescent EOF
	stateDeleted                  // nlink 0: drain, bounded by count and age
	stateClosed                   // fd closed; the tracker may still hold unacked lines
)

// format of a file's records.
type format uint8

const (
	formatAuto format = iota
	formatCRI
	formatDocker
	formatNone
)

// fingerprintSize is how many head bytes identify a file's content.
const fingerprintSize = 256

// markerSize is how many bytes before a saved position are checked on restore.
const markerSize = 64

// file is one followed file generation: one inode's content from one start.
// A copytruncate starts a new generation (new Source id) of the same inode.
// The follower fields are owned by the Run goroutine (or whoever calls Sync and
// Poll); tr, fd close and head updates are guarded by Watcher.mu.
type file struct {
	id       uint64
	dev, ino uint64
	path     string // as discovered (symlink name)
	realPath string
	lin      *lineage
	format   format

	fd    *os.File
	off   int64  // file offset of buf[end]
	buf   []byte // read block; buf[start:end] not yet framed
	start int
	end   int
	head  []byte // first bytes of the file (fingerprint), up to fingerprintSize
	// prev holds the prevLen bytes just before buf[0] (from the previous
	// read block), so a rotated copy can be checked against the bytes
	// before the read offset (copytruncate.go).
	prev    [markerSize]byte
	prevLen int

	size         atomic.Int64 // last size seen by fstat
	state        fileState
	discovered   bool      // matched by the latest Sync
	current      bool      // matched by a glob itself (not as a rotated sibling)
	savedCurrent bool      // current as of the last Sync, written under Watcher.mu for the saver
	deleted      bool      // seen with no links: its inode may be reused once closed
	mtime        time.Time // a closed file's modification time when last known unchanged (sync.go known)
	retired      bool      // an old generation kept only for late acks
	pollGen      uint64
	capGen       uint64 // capSize applies while capGen is the poll generation
	capSize      int64  // read at most up to here in this poll (pollLineage)
	quietSince   time.Time
	deletedAt    time.Time
	readTime     int64
	inNUL        bool
	seen         int64    // records before it were framed (fed to the assembler); guarded by Watcher.mu
	skipUntil    int64    // records ending at or before it were read before a restart...
	skipHold     [3]int64 // ...and are skipped unless at or after their stream's hold (-1: none)
	asmHold      [3]int64 // per stream, first fragment of an unfinished line in the assembler (-1: none); guarded by Watcher.mu
	cont         contState

	// The marker of the last save (hash of the bytes before markPos),
	// reused while the position stays; guarded by Watcher.mu.
	markPos  int64
	markLen  int
	markHash uint64

	tr tracker
}

// contState is set while a physical record longer than the read limit is
// being cut into fragments: the rest of the record, up to its '\n', is content
// of the same stream.
type contState struct {
	active  bool
	skip    bool // docker: the record cannot be decoded in pieces; discard it
	stream  Stream
	partial bool // the record's own tag was P
	time    int64
	start   int64 // offset of the record's first byte
}

// lineage groups the files of one log: the current file and its rotated
// siblings (0.log, 0.log.20240101-000000, ...). Runtime fragments are joined
// per lineage and stream, so a P at the end of a rotated file joins the F at
// the start of the new one.
type lineage struct {
	key     string
	files   []*file // oldest first
	streams [3]streamState
	pending int  // streams with fragments or a discard hold
	dirty   bool // fragments changed since the last publishHolds
}

// streamState is an unfinished logical line of one stream.
type streamState struct {
	frags    []frag
	size     int
	time     int64
	timeText []byte
	flags    Flags
	since    time.Time
	discard  bool // truncate mode: the line was emitted; drop pieces until the final one
}

type frag struct {
	data       []byte
	f          *file
	start, end int64 // the physical record's offsets in f
}

// holdStart returns the lowest record start, in f, of a fragment that is not
// yet part of an emitted line, or -1.
func (l *lineage) holdStart(f *file) int64 {
	if l.pending == 0 {
		return -1
	}
	min := int64(-1)
	for i := range l.streams {
		for _, fr := range l.streams[i].frags {
			if fr.f == f && (min < 0 || fr.start < min) {
				min = fr.start
			}
		}
	}
	return min
}

// publishHolds records, for every file of l, the first fragment per stream of
// the unfinished lines in the assembler (asmHold, read by SavePositions).
// Called with Watcher.mu held.
func (l *lineage) publishHolds() {
	for _, f := range l.files {
		f.asmHold = [3]int64{-1, -1, -1}
		// Holds saved by the previous run stand until the re-read reaches
		// them (then the fragment is in the assembler or emitted).
		framed := f.off - int64(f.end-f.start)
		for s, h := range f.skipHold {
			if h >= 0 && framed <= h {
				f.asmHold[s] = h
			}
		}
	}
	for s := range l.streams {
		for _, fr := range l.streams[s].frags {
			if h := &fr.f.asmHold[s]; *h < 0 || fr.start < *h {
				*h = fr.start
			}
		}
	}
	l.dirty = false
}

// touch marks l's unfinished lines as changed.
func (w *Watcher) touch(l *lineage) {
	if !l.dirty {
		l.dirty = true
		w.dirty = append(w.dirty, l)
	}
}

// errHandler wraps an error returned by the Handler.
var errHandler = errors.New("handler")

// read reads f from its offset to EOF (or until budget bytes were read),
// frames what it read and hands the lines to the handler, one batch per read
// call. It returns the number of bytes read.
func (w *Watcher) read(ctx context.Context, f *file, budget int) (int, error) {
	total := 0
	for total < budget {
		if f.fd == nil {
			return total, nil
		}
		if f.end == len(f.buf) {
			w.newBlock(f)
		}
		room := f.buf[f.end:]
		if r := budget - total; len(room) > r {
			room = room[:r]
		}
		n, err := f.fd.ReadAt(room, f.off)
		if n > 0 {
			f.end += n
			f.off += int64(n)
			total += n
			w.stats.bytesRead.Add(int64(n))
			f.readTime = w.now().UnixNano()
			if len(f.head) < fingerprintSize {
				w.growHead(f)
			}
			w.frame(f)
			if err := w.flush(ctx, f); err != nil {
				return total, err
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return total, nil
			}
			return total, fmt.Errorf("read %s: %w", f.realPath, err)
		}
		if n < len(room) || n == 0 {
			return total, nil
		}
	}
	return total, nil
}

// growHead extends f's head fingerprint with the bytes just read, so the
// head always covers what was read of the first fingerprintSize bytes (a
// short head, taken when the file was nearly empty, would match any content
// starting with the same timestamp digits).
func (w *Watcher) growHead(f *file) {
	blockStart := f.off - int64(f.end)
	h := int64(len(f.head))
	if blockStart > h {
		return
	}
	upto := min(f.off, fingerprintSize)
	if upto <= h {
		return
	}
	w.mu.Lock()
	f.head = append(f.head[:h:h], f.buf[h-blockStart:upto-blockStart]...)
	w.mu.Unlock()
}

// newBlock gives f a fresh read block holding its unframed bytes. An
// unframed record longer than the read limit is cut first (cutOversize).
// Lines handed out point into blocks, so a block is reused only for a
// Transient handler, and only once nothing points into it any more
// (spareBlock).
func (w *Watcher) newBlock(f *file) {
	pending := f.end - f.start
	if pending >= w.physLimit() {
		w.cutOversize(f)
		pending = f.end - f.start
	}
	if f.buf != nil {
		f.keepPrev(pending)
	}
	size := w.cfg.ReadBufferSize
	for size < 2*pending {
		size *= 2
	}
	var nb []byte
	if n := len(w.spare); n > 0 && size == w.cfg.ReadBufferSize {
		nb = w.spare[n-1]
		w.spare[n-1] = nil
		w.spare = w.spare[:n-1]
	} else {
		nb = make([]byte, size)
		w.blocksMade++
	}
	copy(nb, f.buf[f.start:f.end])
	old := f.buf
	f.buf, f.start, f.end = nb, 0, pending
	w.spareBlock(f, old)
}

// maxSpareBlocks is how many read blocks a Watcher keeps for reuse.
const maxSpareBlocks = 2

// spareBlock keeps old, f's previous read block, for reuse when the handler
// is Transient and nothing points into old: no line waits in the batch (all
// were handed to the handler, which has returned) and no unfinished line of
// f's lineage holds a fragment or a timestamp in it.
func (w *Watcher) spareBlock(f *file, old []byte) {
	if !w.reuse || len(w.spare) >= maxSpareBlocks || len(old) != w.cfg.ReadBufferSize || len(w.batch) > 0 {
		return
	}
	if l := f.lin; l != nil && l.pending > 0 {
		for s := range l.streams {
			st := &l.streams[s]
			if within(old, st.timeText) {
				return
			}
			for _, fr := range st.frags {
				if within(old, fr.data) {
					return
				}
			}
		}
	}
	w.spare = append(w.spare, old)
}

// within reports whether b points into blk.
func within(blk, b []byte) bool {
	if cap(b) == 0 || len(blk) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(blk)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= start && p < start+uintptr(cap(blk))
}

// physLimit is the longest unterminated record kept in memory before it is cut.
func (w *Watcher) physLimit() int { return w.cfg.MaxLineSize + 64<<10 }

// frame splits buf[start:end] into records and feeds them to the assembler.
func (w *Watcher) frame(f *file) {
	buf := f.buf
	i := f.start
	base := f.off - int64(f.end) // file offset of buf[0]
	for i < f.end {
		if buf[i] == 0 && !f.cont.active {
			j := i
			for j < f.end && buf[j] == 0 {
				j++
			}
			if !f.inNUL {
				w.stats.nulRuns.Add(1)
			}
			f.inNUL = true
			w.stats.nulBytes.Add(int64(j - i))
			i = j
			continue
		}
		f.inNUL = false
		nl := bytes.IndexByte(buf[i:f.end], '\n')
		if nl < 0 {
			break
		}
		e := i + nl
		w.record(f, buf[i:e:e], base+int64(i), base+int64(e+1))
		i = e + 1
	}
	f.start = i
}

// cutOversize handles an unterminated record that reached the read limit:
// CRI and plain records are cut into fragments (header parsed once), a docker
// record is discarded up to its '\n' (docker itself never writes one).
func (w *Watcher) cutOversize(f *file) {
	base := f.off - int64(f.end)
	data := f.buf[f.start:f.end:f.end]
	start, end := base+int64(f.start), f.off
	if !f.cont.active {
		if f.format == formatAuto {
			f.format = detectFormat(data, w.cfg.Format, true)
		}
		f.cont = contState{active: true, start: start}
		switch f.format {
		case formatCRI:
			r := parseCRI(data)
			if !r.bad {
				f.cont.stream, f.cont.partial = r.stream, r.partial
				f.cont.time = r.time
				if r.badTime {
					f.cont.time = f.readTime
				}
				r.partial = true
				w.assemble(f, &r, start, end)
				f.start = f.end
				return
			}
			f.cont.time = f.readTime
		case formatDocker:
			f.cont.skip = true
		default:
			f.cont.time = f.readTime
		}
	}
	if f.cont.skip {
		w.stats.oversizeDroppedBytes.Add(int64(len(data)))
		f.start = f.end
		return
	}
	r := record{content: data, stream: f.cont.stream, partial: true, time: f.cont.time}
	w.assemble(f, &r, f.cont.start, end)
	f.start = f.end
}

// detectFormat guesses a file's format from its first record (cut: only the
// start of a record longer than the read limit).
func detectFormat(data []byte, configured string, cut bool) format {
	switch configured {
	case FormatCRI:
		return formatCRI
	case FormatDocker:
		return formatDocker
	case FormatNone:
		return formatNone
	}
	if cut && bytes.HasPrefix(data, []byte(`{"log":"`)) {
		// The start of an oversize docker record (docker writes "log"
		// first, then "stream" and "time").
		return formatDocker
	}
	if len(data) > 0 && data[0] == '{' {
		// A docker json-file record: a JSON object with "log", "stream" and
		// a valid "time" (docker's jsonfilelog driver writes all three,
		// moby daemon/logger/jsonfilelog). Other JSON lines (an application
		// log read with <parse> @type json) are plain.
		if r := parseDocker(bytes.Clone(data)); !r.bad && !r.badTime && r.stream != StreamNone {
			return formatDocker
		}
		return formatNone
	}
	if r := parseCRI(data); !r.bad && !r.badTime {
		return formatCRI
	}
	return formatNone
}

// record parses one physical record (without '\n') spanning [start, end).
func (w *Watcher) record(f *file, data []byte, start, end int64) {
	if f.cont.active {
		c := f.cont
		f.cont = contState{}
		if c.skip {
			w.stats.oversizeDropped.Add(1) // one record, counted at its end
			w.stats.oversizeDroppedBytes.Add(int64(len(data)))
			w.log.Warn("docker record over the size limit dropped", zap.String("path", f.realPath), zap.Int64("offset", c.start), zap.Int64("bytes", end-c.start))
			w.regs = append(w.regs, reg{f: f, off: end, done: true})
			return
		}
		r := record{content: data, stream: c.stream, partial: c.partial, time: c.time}
		w.assemble(f, &r, c.start, end)
		return
	}
	if f.format == formatAuto {
		f.format = detectFormat(data, w.cfg.Format, false)
	}
	var r record
	switch f.format {
	case formatCRI:
		r = parseCRI(data)
	case formatDocker:
		r = parseDocker(data)
	default:
		r = record{content: data, time: f.readTime}
	}
	if r.bad {
		w.stats.malformed.Add(1)
		r = record{content: data, time: f.readTime, bad: true}
	} else if r.badTime {
		w.stats.badTime.Add(1)
		r.time = f.readTime
	}
	w.assemble(f, &r, start, end)
}

// assemble adds one record to its stream's logical line and emits the lines
// that completes. start and end are the record's offsets in f.
func (w *Watcher) assemble(f *file, r *record, start, end int64) {
	if end <= f.skipUntil {
		// Read again after a restart: only the unfinished (or unacknowledged)
		// lines of each stream are rebuilt; the rest was acknowledged.
		if h := f.skipHold[r.stream]; h < 0 || start < h {
			w.regs = append(w.regs, reg{f: f, off: end, first: end, done: true})
			return
		}
	}
	l := f.lin
	st := &l.streams[r.stream]
	var flags Flags
	if r.bad {
		flags |= FlagMalformed
	}
	if r.badTime {
		flags |= FlagBadTime
	}
	if f.format == formatNone && w.cfg.Format == FormatAuto {
		flags |= FlagPlain
	}
	if f.format == formatDocker && !r.bad {
		flags |= FlagDocker
	}
	if len(st.frags) == 0 && !r.partial && len(r.content) <= w.cfg.MaxLineSize {
		// The common case: one full record is one line, no copy.
		w.emit(f, start, end, Line{Time: r.time, TimeText: r.timeText, Text: trimCR(r.content), Stream: r.stream, Flags: flags}, nil)
		return
	}
	w.touch(l)
	if len(st.frags) == 0 {
		st.time, st.timeText, st.flags, st.since = r.time, r.timeText, flags, w.now()
		l.pending++
	} else {
		st.flags |= flags
	}
	if st.discard {
		// Truncate mode, rest of an emitted line: hold its first record
		// (frags[0], data nil) until the final piece.
		w.stats.truncatedBytes.Add(int64(len(r.content)))
		st.frags = append(st.frags, frag{f: f, start: start, end: end})
		if !r.partial {
			w.finish(st, f, end, nil)
		}
		return
	}
	st.frags = append(st.frags, frag{data: r.content, f: f, start: start, end: end})
	st.size += len(r.content)
	for st.size > w.cfg.MaxLineSize {
		w.cutLine(st, r.stream)
		if st.discard {
			if !r.partial {
				w.finish(st, f, end, nil)
			}
			return
		}
	}
	if r.partial || len(st.frags) == 0 {
		return
	}
	line := Line{Time: st.time, TimeText: st.timeText, Text: trimCR(joinFrags(st)), Stream: r.stream, Flags: st.flags}
	w.finish(st, f, end, &line)
}

// cutLine emits the first MaxLineSize bytes of st's pending line as a piece
// (OversizeSplit) or as the truncated line (OversizeTruncate, after which the
// rest is discarded up to the final fragment).
func (w *Watcher) cutLine(st *streamState, stream Stream) {
	max := w.cfg.MaxLineSize
	text := make([]byte, 0, max)
	n := 0 // fragments fully consumed
	for n < len(st.frags) && len(text)+len(st.frags[n].data) <= max {
		text = append(text, st.frags[n].data...)
		n++
	}
	last := st.frags[len(st.frags)-1]
	if n > 0 {
		last = st.frags[n-1]
	}
	if n < len(st.frags) && len(text) < max {
		k := max - len(text)
		text = append(text, st.frags[n].data[:k]...)
		st.frags[n].data = st.frags[n].data[k:]
		last = st.frags[n]
	}
	w.touch(last.f.lin)
	line := Line{Time: st.time, TimeText: st.timeText, Text: text, Stream: stream, Flags: st.flags}
	consumed := st.frags[:min(n+1, len(st.frags))]
	links := otherFiles(consumed, last.f, nil)
	first := firstIn(consumed, last.f)
	if w.cfg.OversizeAction == OversizeTruncate {
		line.Flags |= FlagTruncated
		w.stats.oversizeTruncated.Add(1)
		for _, fr := range st.frags[n:] {
			w.stats.truncatedBytes.Add(int64(len(fr.data)))
		}
		// Keep holding the line's first record until its final piece is
		// read, so a restart re-emits the truncated line rather than ship
		// its tail as a line of its own.
		hold := st.frags[0]
		hold.data = nil
		clear(st.frags)
		st.frags = append(st.frags[:0], hold)
		st.size = 0
		st.discard = true
		w.emit(last.f, first, last.end, line, links)
		return
	}
	line.Flags |= FlagSplit
	st.flags |= FlagSplitCont // the line's later pieces continue this one
	w.stats.oversizeSplit.Add(1)
	rest := copy(st.frags, st.frags[n:])
	clear(st.frags[rest:])
	st.frags = st.frags[:rest]
	st.size = 0
	for _, fr := range st.frags {
		st.size += len(fr.data)
	}
	if len(st.frags) == 0 {
		st.f0()
		last.f.lin.pending--
	}
	w.emit(last.f, first, last.end, line, links)
}

// firstIn returns the lowest start of the fragments in f.
func firstIn(frags []frag, f *file) int64 {
	first := int64(-1)
	for _, fr := range frags {
		if fr.f == f && (first < 0 || fr.start < first) {
			first = fr.start
		}
	}
	return first
}

// f0 resets a stream state that has no fragments left.
func (st *streamState) f0() {
	st.size, st.discard, st.flags, st.timeText = 0, false, 0, nil
}

// otherFiles appends, for each file other than last that holds fragments in
// frags, the start of its first and the end of its last fragment.
func otherFiles(frags []frag, last *file, dst []fragEnd) []fragEnd {
	for _, fr := range frags {
		if fr.f == last {
			continue
		}
		found := false
		for i := range dst {
			if dst[i].f == fr.f {
				dst[i].end = max(dst[i].end, fr.end)
				dst[i].start = min(dst[i].start, fr.start)
				found = true
			}
		}
		if !found {
			dst = append(dst, fragEnd{f: fr.f, start: fr.start, end: fr.end})
		}
	}
	return dst
}

// fragEnd is where a line's fragments lie in an earlier file of the lineage.
type fragEnd struct {
	f          *file
	start, end int64
}

// joinFrags concatenates st's fragments (a new slice unless there is one).
func joinFrags(st *streamState) []byte {
	if len(st.frags) == 1 {
		return st.frags[0].data
	}
	text := make([]byte, 0, st.size)
	for _, fr := range st.frags {
		text = append(text, fr.data...)
	}
	return text[:len(text):len(text)]
}

// finish completes st's pending line, whose last record ends at end in f: it
// emits line (or, when line is nil, records the bytes as consumed), links the
// other files that held fragments of it, and resets st.
func (w *Watcher) finish(st *streamState, f *file, end int64, line *Line) {
	links := otherFiles(st.frags, f, nil)
	first := firstIn(st.frags, f)
	clear(st.frags)
	st.frags = st.frags[:0]
	st.f0()
	f.lin.pending--
	w.touch(f.lin)
	if line != nil {
		w.emit(f, first, end, *line, links)
		return
	}
	w.regs = append(w.regs, reg{f: f, off: end, first: end, done: true, links: links})
}

// emit queues one line of f ending at end whose first fragment in f starts
// at first (-1: none in f). links are the earlier files that held fragments.
func (w *Watcher) emit(f *file, first, end int64, line Line, links []fragEnd) {
	if first < 0 {
		first = end
	}
	line.Source, line.Offset, line.Path, line.RealPath = f.id, end, f.path, f.realPath
	w.batch = append(w.batch, line)
	w.regs = append(w.regs, reg{f: f, off: end, first: first, stream: line.Stream, links: links})
}

// reg is a tracker entry waiting to be queued with the batch.
type reg struct {
	f      *file
	off    int64
	first  int64
	stream Stream
	done   bool
	links  []fragEnd
}

// flush queues the batch's tracker entries, publishes the unfinished lines
// and how far f was framed (all under one lock, so a concurrent
// SavePositions sees them together), then hands the lines to the handler.
func (w *Watcher) flush(ctx context.Context, f *file) error {
	if len(w.regs) == 0 && len(w.dirty) == 0 && f == nil {
		return nil
	}
	w.mu.Lock()
	for i := range w.regs {
		r := &w.regs[i]
		var links []linkRef
		for _, fe := range r.links {
			seq := fe.f.tr.push(fe.end, fe.start, r.stream, r.done, !r.done, nil)
			if !r.done {
				links = append(links, linkRef{f: fe.f, seq: seq})
			}
		}
		r.f.tr.push(r.off, r.first, r.stream, r.done, false, links)
	}
	for _, l := range w.dirty {
		l.publishHolds()
	}
	w.dirty = w.dirty[:0]
	if f != nil {
		framed := f.off - int64(f.end-f.start)
		f.seen = max(f.seen, framed)
		if f.skipUntil > 0 {
			// Re-reading after a restart: the saved holds give way to
			// the assembler's view as the reading passes them.
			if framed >= f.skipUntil {
				f.skipUntil, f.skipHold = 0, [3]int64{-1, -1, -1}
			}
			f.lin.publishHolds()
		}
	}
	w.mu.Unlock()
	w.regs = w.regs[:0] // not cleared: stale pointers live at most one batch
	if len(w.batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w.stats.linesRead.Add(int64(len(w.batch)))
	w.handleSince.Store(w.now().UnixNano()) // the pinner holds new files while this blocks (pin.go)
	err := w.handler.Handle(ctx, w.batch)
	w.handleSince.Store(0)
	w.batch = w.batch[:0] // not cleared: stale pointers live at most one batch
	if err != nil {
		return fmt.Errorf("%w: %w", errHandler, err)
	}
	return nil
}

// trimCR removes one trailing '\r' (containerd strips it, conmon and docker
// keep it; Fluentd's in_tail chomps it).
func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[: n-1 : n-1]
	}
	return b
}
