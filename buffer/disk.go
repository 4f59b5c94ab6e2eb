package buffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// The file buffer keeps one append-only segment file per chunk in
// Config.Path. On-disk format, version 1 (integers big-endian):
//
//	file name: <chunk id>.chunk, the id being 16 hex digits of the chunk's
//	creation time in Unix nanoseconds and 8 hex digits of a per-process
//	counter with a random start, so names sort in creation order. Quarantined files are renamed <chunk id>.chunk.bad.
//
//	header:
//	  magic      [4]byte  "LSBC"
//	  version    uint16   1
//	  hdrLen     uint16   header length in bytes, CRC included
//	  created    int64    creation time, Unix nanoseconds
//	  groupLen   uint16, group bytes   (StreamKey.Group)
//	  streamLen  uint16, stream bytes  (StreamKey.Stream)
//	  crc        uint32   CRC-32C (Castagnoli) of the header bytes before it
//	record, repeated to the end of the file:
//	  length     uint32   payload length
//	  crc        uint32   CRC-32C of the payload
//	  payload:
//	    time     int64    event time, Unix nanoseconds
//	    tagLen   uvarint, tag bytes
//	    message  the remaining payload bytes
//
// A record is written by one write(2) together with its neighbours and fsynced
// before it is acknowledged. On recovery a short or CRC-failing final record is
// a torn tail (the file is truncated before it and the loss counted; those
// records were never acknowledged, so the tailer sends them again); a bad
// record followed by more data, a bad header or an unknown version makes the
// whole file corrupt: it is renamed .bad and counted, and the records before
// the damage are re-queued in a new segment named <chunk id>s.chunk.

const (
	segMagic      = "LSBC"
	segVersion    = 1
	segSuffix     = ".chunk"
	badSuffix     = ".bad"
	lockName      = ".lock"
	frameOverhead = 8 // length + crc
	// maxPayload bounds one record's payload; larger lengths are garbage.
	maxPayload = 1 << 30
	// maxKeyLen bounds a group or stream name (uint16 length field).
	maxKeyLen = 1<<16 - 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	errTornHeader = errors.New("torn segment header")
	errTornTail   = errors.New("torn tail record")
	errCorrupt    = errors.New("corrupt segment")
)

// appendSegmentHeader appends the header of a segment to dst.
func appendSegmentHeader(dst []byte, created int64, key StreamKey) ([]byte, error) {
	if len(key.Group) > maxKeyLen || len(key.Stream) > maxKeyLen {
		return dst, fmt.Errorf("segment header: key %q too long", key.String())
	}
	start := len(dst)
	n := 4 + 2 + 2 + 8 + 2 + len(key.Group) + 2 + len(key.Stream) + 4
	dst = append(dst, segMagic...)
	dst = binary.BigEndian.AppendUint16(dst, segVersion)
	dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	dst = binary.BigEndian.AppendUint64(dst, uint64(created))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(key.Group)))
	dst = append(dst, key.Group...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(key.Stream)))
	dst = append(dst, key.Stream...)
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
	return dst, nil
}

// frameLen is the encoded size of r in a segment.
func frameLen(r *Record) int {
	return frameOverhead + 8 + uvarintLen(uint64(len(r.Tag))) + len(r.Tag) + len(r.Message)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// putFrame encodes r into dst, which must be exactly frameLen(r) bytes, and
// returns the part of dst holding the message.
func putFrame(dst []byte, r *Record) []byte {
	p := dst[frameOverhead:]
	binary.BigEndian.PutUint64(p, uint64(r.Time))
	i := 8 + binary.PutUvarint(p[8:], uint64(len(r.Tag)))
	i += copy(p[i:], r.Tag)
	copy(p[i:], r.Message)
	binary.BigEndian.PutUint32(dst, uint32(len(p)))
	binary.BigEndian.PutUint32(dst[4:], crc32.Checksum(p, castagnoli))
	return p[i:len(p):len(p)]
}

// encodeRecords encodes a whole segment holding seg's header and records.
func encodeRecords(seg segment) []byte {
	data, _ := appendSegmentHeader(nil, seg.created, seg.key) // the key came from a header
	for i := range seg.recs {
		n := len(data)
		data = append(data, make([]byte, frameLen(&seg.recs[i]))...)
		putFrame(data[n:], &seg.recs[i])
	}
	return data
}

// segment is a decoded segment file.
type segment struct {
	created int64
	key     StreamKey
	recs    []Record
	bytes   int   // sum of len(Message)
	cost    int64 // encoded size of the records
}

// decodeSegment decodes a segment file. Records alias data. good is the
// length of the valid prefix. err is nil, or wraps errTornHeader (the file
// ends inside the header), errTornTail (the last record is incomplete or
// fails its CRC: the records before it are returned) or errCorrupt.
func decodeSegment(data []byte) (seg segment, good int, err error) {
	const fixed = 4 + 2 + 2 + 8 + 2
	if len(data) < fixed {
		if !strings.HasPrefix(segMagic, string(data[:min(len(data), 4)])) {
			return seg, 0, fmt.Errorf("%w: bad magic", errCorrupt)
		}
		return seg, 0, errTornHeader
	}
	if string(data[:4]) != segMagic {
		return seg, 0, fmt.Errorf("%w: bad magic", errCorrupt)
	}
	if v := binary.BigEndian.Uint16(data[4:]); v != segVersion {
		return seg, 0, fmt.Errorf("%w: unknown version %d", errCorrupt, v)
	}
	hl := int(binary.BigEndian.Uint16(data[6:]))
	if hl < fixed+2+4 {
		return seg, 0, fmt.Errorf("%w: header length %d", errCorrupt, hl)
	}
	if len(data) < hl {
		return seg, 0, errTornHeader
	}
	if crc32.Checksum(data[:hl-4], castagnoli) != binary.BigEndian.Uint32(data[hl-4:]) {
		return seg, 0, fmt.Errorf("%w: header checksum", errCorrupt)
	}
	seg.created = int64(binary.BigEndian.Uint64(data[8:]))
	h := data[16 : hl-4]
	gl := int(binary.BigEndian.Uint16(h))
	if 2+gl+2 > len(h) {
		return seg, 0, fmt.Errorf("%w: header group length", errCorrupt)
	}
	seg.key.Group = string(h[2 : 2+gl])
	h = h[2+gl:]
	sl := int(binary.BigEndian.Uint16(h))
	if 2+sl != len(h) {
		return seg, 0, fmt.Errorf("%w: header stream length", errCorrupt)
	}
	seg.key.Stream = string(h[2:])

	off := hl
	for off < len(data) {
		rest := data[off:]
		if len(rest) < frameOverhead {
			return seg, off, errTornTail
		}
		n := int(binary.BigEndian.Uint32(rest))
		if n > maxPayload || frameOverhead+n > len(rest) {
			return seg, off, errTornTail
		}
		p := rest[frameOverhead : frameOverhead+n]
		last := frameOverhead+n == len(rest)
		if crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(rest[4:]) {
			if last {
				return seg, off, errTornTail
			}
			return seg, off, fmt.Errorf("%w: record checksum at offset %d", errCorrupt, off)
		}
		r, ok := decodePayload(p)
		if !ok {
			return seg, off, fmt.Errorf("%w: malformed record at offset %d", errCorrupt, off)
		}
		r.Key = seg.key
		seg.recs = append(seg.recs, r)
		seg.bytes += len(r.Message)
		seg.cost += int64(frameOverhead + n)
		off += frameOverhead + n
	}
	return seg, off, nil
}

func decodePayload(p []byte) (Record, bool) {
	if len(p) < 9 {
		return Record{}, false
	}
	var r Record
	r.Time = int64(binary.BigEndian.Uint64(p))
	tl, k := binary.Uvarint(p[8:])
	if k <= 0 || tl > uint64(len(p)-8-k) {
		return Record{}, false
	}
	i := 8 + k
	r.Tag = string(p[i : i+int(tl)])
	i += int(tl)
	r.Message = p[i:len(p):len(p)]
	return r, true
}

// disk performs the file buffer's file operations in its directory. A chunk's
// file is only touched under that chunk's ioMu.
type disk struct {
	dir string
	// lockFile holds the directory's flock; nil when not locked.
	lockMu   sync.Mutex
	lockFile *os.File
	// dirty is set when files were removed since the directory was last
	// fsynced.
	dirty atomic.Bool
	// writeHook, if set (tests), is called before each segment write with
	// the bytes to write; an error fails the write as the filesystem would.
	writeHook func(id string, n int) error
}

// lock takes an exclusive, non-blocking flock on <dir>/.lock, so two
// processes never share a buffer directory.
func (d *disk) lock() error {
	d.lockMu.Lock()
	defer d.lockMu.Unlock()
	if d.lockFile != nil {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(d.dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("buffer lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%w: %s", ErrLocked, d.dir)
		}
		return fmt.Errorf("buffer lock: %w", err)
	}
	d.lockFile = f
	return nil
}

// unlock releases the directory lock (closing the file drops the flock).
func (d *disk) unlock() {
	d.lockMu.Lock()
	defer d.lockMu.Unlock()
	if d.lockFile != nil {
		d.lockFile.Close()
		d.lockFile = nil
	}
}

func (d *disk) path(id string) string { return filepath.Join(d.dir, id+segSuffix) }

// write appends bufs to the chunk's segment, creating it with hdr first when
// create is set, then fsyncs it (and the directory for a new file).
func (d *disk) write(id string, create bool, hdr []byte, bufs [][]byte) (err error) {
	if d.writeHook != nil {
		n := len(hdr)
		for _, b := range bufs {
			n += len(b)
		}
		if err := d.writeHook(id, n); err != nil {
			return fmt.Errorf("write segment: %w", err)
		}
	}
	flag := os.O_WRONLY | os.O_APPEND
	if create {
		flag |= os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(d.path(id), flag, 0o644)
	if create && errors.Is(err, os.ErrNotExist) {
		// Add before Recover: the directory may not exist yet.
		if err = os.MkdirAll(d.dir, 0o755); err == nil {
			f, err = os.OpenFile(d.path(id), flag, 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("open segment: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close segment: %w", cerr)
		}
	}()
	if create {
		if _, err := f.Write(hdr); err != nil {
			return fmt.Errorf("write segment: %w", err)
		}
	}
	for _, b := range bufs {
		if _, err := f.Write(b); err != nil {
			return fmt.Errorf("write segment: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync segment: %w", err)
	}
	if create {
		return d.syncDir()
	}
	return nil
}

// remove deletes a delivered chunk's segment. The directory is fsynced later
// (Sync); until then a crash may bring the chunk back: a duplicate, not a loss.
func (d *disk) remove(id string) error {
	if err := os.Remove(d.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove segment: %w", err)
	}
	d.dirty.Store(true)
	return nil
}

// quarantine renames a corrupt segment to .bad.
func (d *disk) quarantine(id string) error {
	p := d.path(id)
	if err := os.Rename(p, p+badSuffix); err != nil {
		return fmt.Errorf("quarantine segment: %w", err)
	}
	return d.syncDir()
}

// syncDir fsyncs the directory so creations, renames and removals persist.
func (d *disk) syncDir() error {
	d.dirty.Store(false)
	f, err := os.Open(d.dir)
	if err != nil {
		return fmt.Errorf("open buffer dir: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync buffer dir: %w", err)
	}
	return nil
}

// list returns the ids of the segments in the directory, oldest first.
func (d *disk) list() ([]string, error) {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("read buffer dir: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if n := e.Name(); e.Type().IsRegular() && strings.HasSuffix(n, segSuffix) {
			ids = append(ids, strings.TrimSuffix(n, segSuffix))
		}
	}
	sort.Strings(ids)
	return ids, nil
}
