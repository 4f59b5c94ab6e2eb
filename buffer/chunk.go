package buffer

import (
	"context"
	"errors"
	"math/bits"
	"sync"
	"time"
)

// ErrPermanent marks an error that retrying cannot fix (a request AWS rejects
// as invalid, access denied, an unknown destination). Senders wrap such errors
// with it: fmt.Errorf("%w: %w", buffer.ErrPermanent, err). The buffer never
// retries a chunk whose Send returned an error that Is ErrPermanent; it moves
// the chunk to the dead-letter directory instead.
var ErrPermanent = errors.New("permanent error")

// Chunk is the unit of flushing, retry and acknowledgement: records for one
// destination, in the order they were added.
type Chunk struct {
	// ID is unique per buffer; for a file buffer it is stable across restarts.
	ID string
	// Key is the destination shared by every record in the chunk.
	Key StreamKey
	// Records are the formatted records (Message set, Fields nil). Their
	// Message bytes are owned by the chunk.
	Records []Record
	// Bytes is the sum of len(Message) over Records.
	Bytes int
	// Sent counts the records at the head of Records that a previous Send
	// attempt already delivered. A Sender that delivers part of a chunk and
	// then fails advances Sent (after putting Records in the order it sends
	// them), so the retry skips what was delivered and nothing is sent twice.
	Sent int
}

// Sender delivers chunks. It is satisfied by the CloudWatch Logs sink and by the
// other outputs. Send returns nil once every record from c.Sent on has been
// delivered or deliberately dropped (and counted); any other error is retried,
// unless it Is ErrPermanent.
type Sender interface {
	Send(ctx context.Context, c *Chunk) error
}

// Acker is told which records are safe: delivered (memory buffer) or durably
// written (file buffer). The tailer implements it (through the agent) to advance
// its checkpoints. recs must not be retained after Ack returns.
type Acker interface {
	Ack(recs []Record)
}

// Committer is an optional interface of an Acker. The file buffer calls
// Commit after a round of segment writes and fsyncs that acknowledged
// records (one chunk at a time), once the round's last Ack returned: the
// acknowledgements so far are a complete durable round, so persist what they
// allow now rather than coalescing them with later ones. A crash before that
// leaves segments on disk whose records are re-read from the files as well
// (sent twice). Commit must not block; it is never called by the memory
// buffer.
type Committer interface {
	Commit()
}

// AckerOrNop returns ack, or for nil an Acker that does nothing, so that a
// stage given no acker can call Ack unconditionally.
func AckerOrNop(ack Acker) Acker {
	if ack == nil {
		return nopAcker{}
	}
	return ack
}

type nopAcker struct{}

func (nopAcker) Ack([]Record) {}

// chunk is the buffer's bookkeeping around a Chunk. Fields other than ioMu
// are guarded by Buffer.mu; the segment file and arena writes-out by ioMu.
type chunk struct {
	c       Chunk
	nrec    int   // records added; len(c.Records) while resident
	cost    int64 // bytes counted against the limits
	created time.Time
	arena   arena

	state chunkState

	failures  int
	firstFail time.Time
	nextTry   time.Time

	acked   int      // records [0:acked] acknowledged
	pendAck []Record // records to acknowledge when the chunk leaves (degraded file chunks)

	// Memory buffer: the records as stored (Records is built from them to
	// send or acknowledge), and the distinct tags they refer to.
	slim    []slimRec
	tags    []string
	lastTag uint32 // index of the last tag used, a cache for tagIndex

	// File buffer only.
	ioMu       sync.Mutex
	synced     int  // records written and fsynced
	onDisk     bool // the segment file exists
	resident   bool // c.Records in memory (always for the memory buffer)
	pin        bool // a ready chunk kept resident (counted in Buffer.pinned)
	diskFailed bool // writing failed: the chunk lives on in memory only
}

// chunkState is where a chunk is in its life. It only moves forward, except
// that a failed Send puts an in-flight chunk back to ready for its retry:
//
//	staged → syncing → ready ⇄ inFlight → gone   (file buffer)
//	staged → ready ⇄ inFlight → gone             (memory buffer, degraded file chunk)
//	staged, ready → gone                         (drop_oldest_chunk)
//
// Where the records live (resident, onDisk, diskFailed, pin) is independent
// of the state and kept in flags.
type chunkState uint8

const (
	chunkStaged   chunkState = iota // open: takes records, in Buffer.open
	chunkSyncing                    // closed, in Buffer.queue; its segment is not yet fsynced
	chunkReady                      // queued and sendable once nextTry has come
	chunkInFlight                   // queued, a Send is running
	chunkGone                       // delivered, dead-lettered or dropped: out of the buffer
)

// slimRec is a record of a memory chunk without pointers: its message is
// arena.blocks[blk][off:off+n], its tag chunk.tags[tag], its key the chunk's.
type slimRec struct {
	time   int64
	source uint64
	offset int64
	blk    uint32
	off    uint32
	n      uint32
	tag    uint32
}

// tagIndex returns the index of tag in ch.tags, adding it if new.
func (ch *chunk) tagIndex(tag string) uint32 {
	if int(ch.lastTag) < len(ch.tags) && ch.tags[ch.lastTag] == tag {
		return ch.lastTag
	}
	for i, t := range ch.tags {
		if t == tag {
			ch.lastTag = uint32(i)
			return ch.lastTag
		}
	}
	ch.tags = append(ch.tags, tag)
	ch.lastTag = uint32(len(ch.tags) - 1)
	return ch.lastTag
}

// arena is chunk-owned storage for record bytes: records are copied into
// blocks that never move, so the Message slices handed out stay valid, and a
// chunk costs a handful of allocations instead of one per record. For the
// file buffer the blocks hold encoded segment frames, written out in order.
type arena struct {
	blocks [][]byte
	wb, wo int // first byte not yet written out: blocks[wb][wo:]
}

const (
	minBlock = 4 << 10
	maxBlock = 1 << 20
)

// alloc returns n bytes of fresh storage at the end of the arena. A new block
// doubles the last one (up to maxBlock) but is no larger than room (the bytes
// the owner may still add) unless n is; block sizes are powers of two, taken
// from pool when it has one (pool may be nil).
func (a *arena) alloc(n, room int, pool *blockPool) []byte {
	b, _, _ := a.allocAt(n, room, pool)
	return b
}

// allocAt is alloc, also returning where the bytes are: blocks[blk][off:].
func (a *arena) allocAt(n, room int, pool *blockPool) (_ []byte, index, off int) {
	if k := len(a.blocks); k > 0 {
		last := a.blocks[k-1]
		if l := len(last); cap(last)-l >= n {
			a.blocks[k-1] = last[:l+n]
			return last[l : l+n : l+n], k - 1, l
		}
	}
	size := minBlock
	if k := len(a.blocks); k > 0 {
		size = min(2*cap(a.blocks[k-1]), maxBlock)
	}
	size = max(min(size, floorPow2(max(room, minBlock))), ceilPow2(n))
	var blk []byte
	if size <= maxBlock {
		blk = pool.get(size)
	}
	if blk == nil {
		blk = make([]byte, 0, size)
	}
	blk = blk[:n]
	a.blocks = append(a.blocks, blk)
	return blk[:n:n], len(a.blocks) - 1, 0
}

func floorPow2(n int) int { return 1 << (bits.Len(uint(n)) - 1) }

func ceilPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}

// blockPool keeps arena blocks of delivered chunks for the next chunks, so a
// steady flow of chunks does not turn into garbage (and collections) at the
// rate of the input. It holds at most limit bytes, and the buffer keeps the
// pool and its chunks together within its memory bound (put's room, trim).
// Guarded by Buffer.mu.
type blockPool struct {
	free  [blockClasses][][]byte // by size class: minBlock << i
	bytes int
	limit int
}

const blockClasses = 9 // minBlock (4 KiB) … maxBlock (1 MiB)

func blockClass(size int) int {
	if size < minBlock || size > maxBlock || size&(size-1) != 0 {
		return -1
	}
	return bits.Len(uint(size/minBlock)) - 1
}

// get returns an empty block of capacity size, or nil.
func (p *blockPool) get(size int) []byte {
	if p == nil {
		return nil
	}
	c := blockClass(size)
	if c < 0 || len(p.free[c]) == 0 {
		return nil
	}
	l := p.free[c]
	blk := l[len(l)-1]
	l[len(l)-1] = nil
	p.free[c] = l[:len(l)-1]
	p.bytes -= cap(blk)
	return blk[:0]
}

// put keeps the blocks of a's arena (which must no longer be used) while
// the pool holds at most min(limit, room) bytes.
func (p *blockPool) put(a *arena, room int) {
	room = min(room, p.limit)
	for _, blk := range a.blocks {
		c := blockClass(cap(blk))
		if c < 0 || p.bytes+cap(blk) > room {
			continue
		}
		p.free[c] = append(p.free[c], blk[:0])
		p.bytes += cap(blk)
	}
	*a = arena{}
}

// trim lets go of free blocks, largest first, until the pool holds at most
// room bytes.
func (p *blockPool) trim(room int) {
	for c := blockClasses - 1; c >= 0 && p.bytes > max(room, 0); c-- {
		l := p.free[c]
		for len(l) > 0 && p.bytes > max(room, 0) {
			p.bytes -= cap(l[len(l)-1])
			l[len(l)-1] = nil
			l = l[:len(l)-1]
		}
		p.free[c] = l
	}
}

// takeUnwritten appends to dst the bytes not yet written out and marks them
// written.
func (a *arena) takeUnwritten(dst [][]byte) [][]byte {
	for i := a.wb; i < len(a.blocks); i++ {
		b := a.blocks[i]
		if i == a.wb {
			b = b[a.wo:]
		}
		if len(b) > 0 {
			dst = append(dst, b)
		}
	}
	if k := len(a.blocks); k > 0 {
		a.wb, a.wo = k-1, len(a.blocks[k-1])
	}
	return dst
}
