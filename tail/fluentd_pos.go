package tail

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// fluentdUnwatched is in_tail's UNWATCHED_POSITION: the path was dropped
// from the watch list (fluentd lib/fluent/plugin/in_tail/position_file.rb,
// UNWATCHED_POSITION).
const fluentdUnwatched = 0xffffffffffffffff

// fluentdEntry is one pos_file line: path TAB pos TAB inode (16 hex digits
// each when Fluentd writes them; any length and case are accepted).
type fluentdEntry struct {
	path string
	pos  uint64
	ino  uint64
}

var fluentdLine = regexp.MustCompile(`^([^\t]+)\t([0-9a-fA-F]+)\t([0-9a-fA-F]+)`)

// fluentdPos is a parsed pos_file and its modification time.
type fluentdPos struct {
	entries []fluentdEntry
	mtime   time.Time
}

// readFluentdPos parses a Fluentd in_tail pos_file
// (https://docs.fluentd.org/input/tail#pos_file):
// unparsable lines and unwatched (ffffffffffffffff) entries are skipped, and
// for a path listed twice the last entry wins.
func readFluentdPos(path string) (fluentdPos, error) {
	fd, err := os.Open(path)
	if err != nil {
		return fluentdPos{}, fmt.Errorf("open fluentd pos_file: %w", err)
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil {
		return fluentdPos{}, fmt.Errorf("stat fluentd pos_file: %w", err)
	}
	idx := map[string]int{}
	var out []fluentdEntry
	sc := bufio.NewScanner(fd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := fluentdLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		pos, err1 := strconv.ParseUint(m[2], 16, 64)
		ino, err2 := strconv.ParseUint(m[3], 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		e := fluentdEntry{path: m[1], pos: pos, ino: ino}
		if i, ok := idx[e.path]; ok {
			out[i] = e
			continue
		}
		idx[e.path] = len(out)
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return fluentdPos{}, fmt.Errorf("read fluentd pos_file: %w", err)
	}
	// Unwatched entries are dropped after dedup: a later unwatched entry
	// still overrides an earlier live one for the same path.
	live := out[:0]
	for _, e := range out {
		if e.pos != fluentdUnwatched {
			live = append(live, e)
		}
	}
	return fluentdPos{entries: live, mtime: fi.ModTime()}, nil
}

// planTakeover maps Fluentd's positions onto the discovered files
// (design.md §4 F1). For each entry:
//   - the path's current file has the entry's inode: start there at pos;
//   - otherwise the file rotated while Fluentd stopped: the sibling with that
//     inode starts at pos and the current file at 0; if no sibling has it
//     (compressed or deleted) the current file starts at 0 and a gap is counted;
//   - the path is gone: the inode is looked for among all discovered files.
//
// Other rotated siblings of a taken-over log are skipped when Fluentd saw
// them (modified before the pos_file was last written) and read from 0
// otherwise. Files of logs Fluentd did not list get the normal policy.
func (w *Watcher) planTakeover(pf fluentdPos, cands []candidate) map[devIno]int64 {
	out := map[devIno]int64{}
	byIno := map[uint64][]int{}
	byPath := map[string]int{}
	for i, c := range cands {
		byIno[c.ino] = append(byIno[c.ino], i)
		if c.current {
			if _, dup := byPath[c.path]; !dup {
				byPath[c.path] = i
			}
		}
	}
	set := func(c candidate, pos int64) {
		out[devIno{c.dev, c.ino}] = w.validFluentdPos(c, pos)
	}
	for _, e := range pf.entries {
		cur, ok := byPath[e.path]
		if !ok {
			found := false
			for _, i := range byIno[e.ino] {
				set(cands[i], int64(e.pos))
				found = true
				break
			}
			if !found {
				w.log.Info("fluentd pos_file entry: file gone", zap.String("path", e.path), zap.Uint64("inode", e.ino))
			}
			continue
		}
		c := cands[cur]
		if c.ino == e.ino {
			set(c, int64(e.pos))
			w.skipSiblings(cands, c, -1, pf.mtime, out)
			continue
		}
		// Rotated while Fluentd was stopping or down.
		out[devIno{c.dev, c.ino}] = 0
		sib := -1
		for _, i := range byIno[e.ino] {
			if lineageKey(cands[i].realPath) == lineageKey(c.realPath) {
				sib = i
				set(cands[i], int64(e.pos))
				break
			}
		}
		if sib < 0 {
			w.stats.gaps.Add(1)
			w.log.Warn("fluentd pos_file: file Fluentd was reading is gone (rotated and compressed or deleted): possible gap",
				zap.String("path", e.path), zap.Uint64("inode", e.ino), zap.Uint64("position", e.pos))
		}
		w.skipSiblings(cands, c, sib, pf.mtime, out)
	}
	return out
}

// skipSiblings sets start offsets for the rotated siblings of current file c
// other than the one Fluentd was reading (index sib): siblings older than
// that one, or modified before the pos_file was written, were read by Fluentd.
func (w *Watcher) skipSiblings(cands []candidate, c candidate, sib int, posMtime time.Time, out map[devIno]int64) {
	key := lineageKey(c.realPath)
	for i, s := range cands {
		if s.current || i == sib || lineageKey(s.realPath) != key {
			continue
		}
		k := devIno{s.dev, s.ino}
		if _, done := out[k]; done {
			continue
		}
		older := sib >= 0 && s.realPath < cands[sib].realPath
		if older || !s.mtime.After(posMtime) {
			out[k] = s.size
		} else {
			out[k] = 0
		}
	}
}

// validFluentdPos checks a Fluentd position against the file: beyond the end
// means truncated (start at 0, counted); not just after a '\n' means a torn
// value, so it is moved back to the start of that line (at-least-once).
func (w *Watcher) validFluentdPos(c candidate, pos int64) int64 {
	if pos < 0 || pos > c.size {
		w.stats.truncations.Add(1)
		return 0
	}
	if pos == 0 {
		return 0
	}
	fd, err := os.Open(c.realPath)
	if err != nil {
		return 0
	}
	defer fd.Close()
	const step = 4096
	end := pos
	for end > 0 {
		start := max(end-step, 0)
		buf := make([]byte, end-start)
		if _, err := fd.ReadAt(buf, start); err != nil {
			return 0
		}
		if end == pos && buf[len(buf)-1] == '\n' {
			return pos
		}
		for i := len(buf) - 1; i >= 0; i-- {
			if buf[i] == '\n' {
				w.log.Info("fluentd position not at a line start, moved back", zap.String("path", c.realPath),
					zap.Int64("position", pos), zap.Int64("moved_to", start+int64(i)+1))
				return start + int64(i) + 1
			}
		}
		end = start
	}
	return 0
}

// Writing the pos_file (rollback to Fluentd). Fluentd's in_tail pos_file
// has one line per watched path, "<path>\t<pos>\t<inode>\n", position and
// inode as 16 lower-case hex digits (Fluentd in_tail documentation, pos_file:
// https://docs.fluentd.org/input/tail#pos_file; fluentd
// lib/fluent/plugin/in_tail/position_file.rb, POSITION_FILE_ENTRY_FORMAT,
// v1.14+). On start in_tail
// resumes a path at that position when the file at the path still has that
// inode, and reads it from the head otherwise. So for each log logship writes
// its current file (the one at the path) with its acknowledged position:
// a node rolled back to Fluentd re-sends at most what logship had in flight
// and skips nothing of the current files. Rotated files still being drained
// are not listed (in_tail without follow_inodes tracks one file per path):
// their unacknowledged tail would be a gap after a rollback.

// appendFluentdEntry appends the pos_file entry of one log: its current file
// (else its newest file) at its committed position. Called with Watcher.mu
// held.
func appendFluentdEntry(dst []fluentdEntry, commits []fileCommit) []fluentdEntry {
	pick := -1
	for i, c := range commits {
		if c.f.retired {
			continue
		}
		if c.f.savedCurrent || pick < 0 || !commits[pick].f.savedCurrent {
			pick = i
		}
	}
	if pick < 0 {
		return dst
	}
	c := commits[pick]
	for i := range dst {
		if dst[i].path == c.f.path {
			if c.f.savedCurrent {
				dst[i] = fluentdEntry{path: c.f.path, pos: uint64(c.pos), ino: c.f.ino}
			}
			return dst
		}
	}
	return append(dst, fluentdEntry{path: c.f.path, pos: uint64(c.pos), ino: c.f.ino})
}

// writeFluentdPos writes entries as a Fluentd pos_file, atomically, when it
// changed since the last write. Called with saveMu held.
func (w *Watcher) writeFluentdPos(entries []fluentdEntry) error {
	sort.Slice(entries, func(i, j int) bool { return entries[i].path < entries[j].path })
	var b bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&b, "%s\t%016x\t%016x\n", e.path, e.pos, e.ino)
	}
	if w.fluentdLast != nil && bytes.Equal(b.Bytes(), w.fluentdLast) {
		return nil
	}
	if err := savePosFile(w.cfg.FluentdPosFile, b.Bytes()); err != nil {
		return fmt.Errorf("fluentd pos_file: %w", err)
	}
	w.fluentdLast = b.Bytes()
	return nil
}
