package tail

// This file holds discovery: the candidate files found by expanding the
// globs (symlinks resolved, excludes applied), the lineage key of a log and its
// rotated siblings, the order of a lineage's files (rotKey), and the rescan of
// a log's directory after a file left its path (syncLineage).

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// candidate is a file found by discovery.
type candidate struct {
	path, realPath string
	dev, ino       uint64
	size           int64
	mtime          time.Time
	current        bool // matched by a glob; false for a rotated sibling
}

// rotatedSuffix matches the suffix of a rotated sibling: the kubelet's
// .<YYYYMMDD-hhmmss> and docker json-file's .<N>.
var rotatedSuffix = regexp.MustCompile(`^\.(\d{8}-\d{6}|\d+)$`)

// isRotated reports whether name is a rotated sibling of base: base followed
// by a rotation suffix.
func isRotated(name, base string) bool {
	return len(name) > len(base) && strings.HasPrefix(name, base) && rotatedSuffix.MatchString(name[len(base):])
}

// lineageKey strips a rotation suffix from a real path.
func lineageKey(realPath string) string {
	ext := filepath.Ext(realPath)
	if ext != "" && rotatedSuffix.MatchString(ext) {
		return strings.TrimSuffix(realPath, ext)
	}
	return realPath
}

// discover expands the globs and finds rotated siblings.
func (w *Watcher) discover() ([]candidate, error) {
	var out []candidate
	seen := map[devIno]bool{}
	dirs := map[string][]string{} // dir -> current base names
	add := func(c candidate) {
		k := devIno{c.dev, c.ino}
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, c)
	}
	for _, pat := range w.cfg.Paths {
		matches, err := filepath.Glob(pat)
		if err != nil {
			return nil, fmt.Errorf("glob %q: %w", pat, err)
		}
		for _, m := range matches {
			if w.excluded(m) {
				continue
			}
			c, ok := statCandidate(m)
			if !ok {
				continue
			}
			// A glob such as 0.log* also matches rotated files: they are
			// siblings of their log (older than its current file, and
			// possibly copies of it), not current files.
			c.current = lineageKey(c.realPath) == c.realPath
			add(c)
			dirs[filepath.Dir(c.realPath)] = append(dirs[filepath.Dir(c.realPath)], filepath.Base(c.realPath))
		}
	}
	// Rotated siblings of current files, with the current file's Path;
	// also of the logs already followed, whose current file may be missing
	// for a moment (renamed, not yet recreated).
	byReal := map[string]string{}
	for _, c := range out {
		byReal[c.realPath] = c.path
	}
	for _, lin := range w.lins {
		if _, ok := byReal[lin.key]; ok || len(lin.files) == 0 {
			continue
		}
		byReal[lin.key] = lin.files[len(lin.files)-1].path
		d := filepath.Dir(lin.key)
		dirs[d] = append(dirs[d], filepath.Base(lin.key))
	}
	if !w.started {
		for _, e := range w.saved {
			key := lineageKey(e.realPath)
			if _, ok := byReal[key]; ok {
				continue
			}
			byReal[key] = e.path
			d := filepath.Dir(key)
			dirs[d] = append(dirs[d], filepath.Base(key))
		}
	}
	for dir, bases := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name := e.Name()
			for _, b := range bases {
				if isRotated(name, b) {
					c, ok := statCandidate(filepath.Join(dir, name))
					if ok {
						c.path = byReal[filepath.Join(dir, b)]
						add(c)
					}
				}
			}
		}
	}
	// Oldest first within a lineage: siblings by name, the current file last.
	sort.SliceStable(out, func(i, j int) bool {
		ki, kj := lineageKey(out[i].realPath), lineageKey(out[j].realPath)
		if ki != kj {
			return ki < kj
		}
		return rotKey(out[i].realPath, out[i].current) < rotKey(out[j].realPath, out[j].current)
	})
	return out, nil
}

// rotKey orders the files of a lineage oldest first: files without a
// rotation suffix that are not current (renamed, name not known yet) first,
// then kubelet siblings by timestamp, docker siblings by descending number
// (.2 is older than .1), the current file last.
func rotKey(realPath string, current bool) string {
	if current {
		return "9"
	}
	ext := filepath.Ext(realPath)
	if ext == "" || !rotatedSuffix.MatchString(ext) {
		return "0"
	}
	if n, err := strconv.ParseUint(ext[1:], 10, 63); err == nil {
		return fmt.Sprintf("1%020d", uint64(1<<63-1)-n)
	}
	return "2" + ext[1:]
}

// syncLineage rescans the directory of f's log after f left its path: files
// rotated in between (never seen) are opened from 0 and renamed ones get
// their names, so the log's files are read in order.
func (w *Watcher) syncLineage(f *file) {
	key := f.lin.key
	dir, base := filepath.Dir(key), filepath.Base(key)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var fresh []candidate
	for _, e := range ents {
		name := e.Name()
		current := name == base
		if !current && !isRotated(name, base) {
			continue
		}
		c, ok := statCandidate(filepath.Join(dir, name))
		if !ok {
			continue
		}
		c.path, c.current = f.path, current
		if g := w.known(c); g != nil {
			if g.realPath != c.realPath {
				w.renamed(g, c.realPath)
			}
			g.current = current
			continue
		}
		if !current && w.copyHandled(c) {
			continue
		}
		fresh = append(fresh, c)
	}
	sort.SliceStable(fresh, func(i, j int) bool {
		return rotKey(fresh[i].realPath, fresh[i].current) < rotKey(fresh[j].realPath, fresh[j].current)
	})
	for _, c := range fresh {
		if g := w.open(c, 0, 0, [3]int64{-1, -1, -1}); g != nil {
			g.discovered, g.current = true, c.current
		}
	}
}

func (w *Watcher) excluded(path string) bool {
	for _, p := range w.cfg.ExcludePaths {
		if ok, _ := filepath.Match(p, path); ok {
			return true
		}
	}
	return false
}

// statCandidate resolves symlinks and stats a regular file.
func statCandidate(path string) (candidate, bool) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return candidate{}, false
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.Mode().IsRegular() {
		return candidate{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return candidate{}, false
	}
	return candidate{path: path, realPath: real, dev: uint64(st.Dev), ino: st.Ino, size: fi.Size(), mtime: fi.ModTime()}, true
}
