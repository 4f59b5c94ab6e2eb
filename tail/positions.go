package tail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"logship/internal/atomicfile"
)

// ErrPositionsCorrupt is returned (wrapped) when the positions file exists but
// is not a complete positions file. logship never writes such a file (writes
// are atomic), so it means outside damage; the operator decides whether to
// delete it (and re-read per ReadFromHead) rather than the tailer guessing.
var ErrPositionsCorrupt = errors.New("positions file corrupt")

// Positions file format, version 1 (text, one entry per line, tab separated):
//
//	logship-tail-positions	1
//	f	<dev>	<ino>	<pos>	<seen>	<holds>	<size>	<head len>	<head crc64>	<marker len>	<marker crc64>	<path>	<real path>
//	...
//	end	<entries>	<crc32 of all preceding bytes>
//
// Numbers are decimal, hashes lower-case hex (CRC-64/ECMA), paths Go-quoted.
// seen is how far the file had been read into lines. holds is
// "<none>,<stdout>,<stderr>": per stream, the start of the first fragment (in
// this file) of a line not yet acknowledged (-1: none) — an unfinished
// runtime line, or a line still in flight. pos = min(seen, holds) is where a
// restart reads from; records ending at or before seen are then skipped
// unless they are at or after their stream's hold, so exactly the
// unacknowledged lines are rebuilt and nothing acknowledged is sent again
// (every line whose records lie before seen and before its stream's hold was
// acknowledged). size is the file size when the entry was written. The head fingerprint
// covers the first <head len> bytes of the file, the marker the <marker len>
// bytes just before pos (0: not checked). The trailer makes a torn or
// truncated file detectable.
const positionsMagic = "logship-tail-positions"

// positionsVersion is the format version written.
const positionsVersion = 1

var crcTable = crc64.MakeTable(crc64.ECMA)

// posEntry is one file's saved position.
type posEntry struct {
	dev, ino   uint64
	pos, size  int64
	seen       int64
	holds      [3]int64
	headLen    int
	headHash   uint64
	markerLen  int
	markerHash uint64
	path       string
	realPath   string
}

// writePositions writes entries to path atomically: a temp file in the same
// directory, fsync, close, rename, directory fsync.
func writePositions(path string, entries []posEntry) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\t%d\n", positionsMagic, positionsVersion)
	for _, e := range entries {
		fmt.Fprintf(&b, "f\t%d\t%d\t%d\t%d\t%d,%d,%d\t%d\t%d\t%x\t%d\t%x\t%s\t%s\n", e.dev, e.ino, e.pos, e.seen,
			e.holds[0], e.holds[1], e.holds[2], e.size,
			e.headLen, e.headHash, e.markerLen, e.markerHash, strconv.Quote(e.path), strconv.Quote(e.realPath))
	}
	fmt.Fprintf(&b, "end\t%d\t%08x\n", len(entries), crc32.ChecksumIEEE(b.Bytes()))
	return savePosFile(path, b.Bytes())
}

// savePosFile replaces path (the positions file or the Fluentd pos_file)
// with data atomically, mode 0600, creating its directory first.
func savePosFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("positions dir: %w", err)
	}
	return atomicfile.Write(path, data, 0o600)
}

// readPositions reads a positions file. A missing file is (nil, false, nil).
func readPositions(path string) ([]posEntry, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read positions: %w", err)
	}
	entries, err := parsePositions(data)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", path, err)
	}
	return entries, true, nil
}

func parsePositions(data []byte) ([]posEntry, error) {
	i := bytes.LastIndex(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if i < 0 || len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("%w: no trailer", ErrPositionsCorrupt)
	}
	body, trailer := data[:i+1], strings.TrimSuffix(string(data[i+1:]), "\n")
	tf := strings.Split(trailer, "\t")
	if len(tf) != 3 || tf[0] != "end" {
		return nil, fmt.Errorf("%w: bad trailer", ErrPositionsCorrupt)
	}
	if sum := fmt.Sprintf("%08x", crc32.ChecksumIEEE(body)); sum != tf[2] {
		return nil, fmt.Errorf("%w: checksum %s, want %s", ErrPositionsCorrupt, tf[2], sum)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var entries []posEntry
	first := true
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if first {
			first = false
			if len(fs) != 2 || fs[0] != positionsMagic {
				return nil, fmt.Errorf("%w: bad header", ErrPositionsCorrupt)
			}
			if v, _ := strconv.Atoi(fs[1]); v != positionsVersion {
				return nil, fmt.Errorf("positions version %s not supported", fs[1])
			}
			continue
		}
		if len(fs) != 13 || fs[0] != "f" {
			return nil, fmt.Errorf("%w: bad entry %q", ErrPositionsCorrupt, sc.Text())
		}
		var e posEntry
		var errs [12]error
		e.dev, errs[0] = strconv.ParseUint(fs[1], 10, 64)
		e.ino, errs[1] = strconv.ParseUint(fs[2], 10, 64)
		e.pos, errs[2] = strconv.ParseInt(fs[3], 10, 64)
		e.seen, errs[10] = strconv.ParseInt(fs[4], 10, 64)
		e.holds, errs[11] = parseHolds(fs[5])
		e.size, errs[3] = strconv.ParseInt(fs[6], 10, 64)
		e.headLen, errs[4] = strconv.Atoi(fs[7])
		e.headHash, errs[5] = strconv.ParseUint(fs[8], 16, 64)
		e.markerLen, errs[6] = strconv.Atoi(fs[9])
		e.markerHash, errs[7] = strconv.ParseUint(fs[10], 16, 64)
		e.path, errs[8] = strconv.Unquote(fs[11])
		e.realPath, errs[9] = strconv.Unquote(fs[12])
		if err := errors.Join(errs[:]...); err != nil {
			return nil, fmt.Errorf("%w: entry %q: %w", ErrPositionsCorrupt, sc.Text(), err)
		}
		entries = append(entries, e)
	}
	if first {
		return nil, fmt.Errorf("%w: no header", ErrPositionsCorrupt)
	}
	if n, _ := strconv.Atoi(tf[1]); n != len(entries) {
		return nil, fmt.Errorf("%w: %d entries, trailer says %s", ErrPositionsCorrupt, len(entries), tf[1])
	}
	return entries, nil
}

func parseHolds(s string) ([3]int64, error) {
	var h [3]int64
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return h, fmt.Errorf("holds %q", s)
	}
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil || v < -1 {
			return h, fmt.Errorf("holds %q", s)
		}
		h[i] = v
	}
	return h, nil
}

// checkIdentity reports whether fd (size bytes long) is the file e was saved
// for: the head fingerprint matches, pos is within the file, and the marker
// before pos matches. why names the first failed check.
func checkIdentity(fd *os.File, size int64, e posEntry) (ok bool, why string) {
	if size < e.pos {
		return false, "size below position"
	}
	if e.headLen > 0 {
		if size < int64(e.headLen) {
			return false, "shorter than fingerprint"
		}
		h, err := hashAt(fd, 0, e.headLen)
		if err != nil || h != e.headHash {
			return false, "fingerprint mismatch"
		}
	}
	if e.markerLen > 0 {
		h, err := hashAt(fd, e.pos-int64(e.markerLen), e.markerLen)
		if err != nil || h != e.markerHash {
			return false, "marker mismatch"
		}
	}
	return true, ""
}

func hashAt(fd *os.File, off int64, n int) (uint64, error) {
	if off < 0 || n <= 0 {
		return 0, errors.New("bad range")
	}
	buf := make([]byte, n)
	if _, err := fd.ReadAt(buf, off); err != nil {
		return 0, err
	}
	return crc64.Checksum(buf, crcTable), nil
}
