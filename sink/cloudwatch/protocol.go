package cloudwatch

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"logship/buffer"
)

// putProtocol is the client's own protocol (awsJson1_1) with one operation
// serialised differently: the PutLogEvents body is written in one pass into
// a buffer sized up front, with an escaper that copies eight bytes at a
// time, instead of the SDK's generic shape serialiser (which grows its
// buffer by doubling and escapes rune by rune: most of Send's CPU time).
// Everything else (signing, the body hash, retries, response and error
// decoding) stays the SDK's. The request is the same JSON document the SDK
// writes (TestPutProtocol_SameDocument checks that member by member).
//
// The sink installs it per call through cloudwatchlogs.Options.Protocol, an
// exported extension point of the client, only on *cloudwatchlogs.Client.
type putProtocol struct {
	smithyhttp.ClientProtocol
}

// putTarget is the X-Amz-Target of PutLogEvents (targetPrefix plus name).
const putTarget = "Logs_20140328.PutLogEvents"

// SerializeRequest writes PutLogEvents requests itself and hands every other
// operation to the wrapped protocol.
func (p putProtocol) SerializeRequest(ctx context.Context, op *smithy.OperationSchema, in smithy.Serializable, req *smithyhttp.Request) error {
	put, ok := in.(*cloudwatchlogs.PutLogEventsInput)
	if !ok || put.Entity != nil {
		return p.ClientProtocol.SerializeRequest(ctx, op, in, req)
	}
	req.Method = http.MethodPost
	if req.URL.Path == "" {
		req.URL.Path = "/"
	}
	req.Header.Set("X-Amz-Target", putTarget)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	// The buffer comes from the sink's pool when the call carries a
	// bodySlot (putOnce), and goes back to it only once the transport has
	// read the body to its end and the call succeeded (recycle); otherwise
	// it is left to the collector, as the transport may still read the body
	// after the call returns (net/http closes it asynchronously on errors).
	slot, _ := ctx.Value(bodySlotKey{}).(*bodySlot)
	var dst []byte
	if slot != nil {
		dst = slot.pool.get()
	}
	body := &putBody{buf: appendPutLogEvents(dst, put)}
	// The payload hash of SigV4, over the bytes in place (the SDK would read
	// them through the stream); payloadHash hands it to the signer.
	sum := sha256.Sum256(body.buf)
	body.hash = hex.EncodeToString(sum[:])
	sreq, err := req.SetStream(body)
	if err != nil {
		return fmt.Errorf("set stream: %w", err)
	}
	*req = *sreq
	if slot != nil {
		slot.body = body
	}
	return nil
}

// putBody is a PutLogEvents request body: a seekable reader over the
// bytes that notes when it was read to the end, and their SHA-256.
type putBody struct {
	buf  []byte
	off  int64
	hash string      // hex SHA-256 of buf
	eof  atomic.Bool // read to the end since the last Seek
}

// Read implements io.Reader.
func (b *putBody) Read(p []byte) (int, error) {
	if b.off >= int64(len(b.buf)) {
		b.eof.Store(true)
		return 0, io.EOF
	}
	n := copy(p, b.buf[b.off:])
	b.off += int64(n)
	return n, nil
}

// Seek implements io.Seeker.
func (b *putBody) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += b.off
	case io.SeekEnd:
		offset += int64(len(b.buf))
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative position")
	}
	b.off = offset
	b.eof.Store(false)
	return offset, nil
}

// Len is the number of unread bytes (smithy-go takes it as the length).
func (b *putBody) Len() int { return max(len(b.buf)-int(b.off), 0) }

// bodySlot is how a PutLogEvents call (putOnce) lends the serialiser a
// buffer pool and gets the body back.
type bodySlot struct {
	pool *bodyPool
	body *putBody
}

// bodyPool keeps a few request body buffers for the next requests. It is a
// fixed free list rather than a sync.Pool, which the collector empties: at
// the rate a busy agent collects, pooled bodies would rarely survive to be
// reused and every request would grow a fresh megabyte. A nil pool (or one
// without a list) keeps nothing.
type bodyPool struct {
	free chan []byte
}

// maxIdleBodies is how many body buffers a sink keeps: one per flush thread
// of the usual configurations (each body up to maxPooledBody).
const maxIdleBodies = 4

func newBodyPool(n int) *bodyPool { return &bodyPool{free: make(chan []byte, n)} }

// get returns an empty buffer from the list, or nil.
func (p *bodyPool) get() []byte {
	if p == nil {
		return nil
	}
	select {
	case b := <-p.free:
		return b[:0]
	default:
		return nil
	}
}

// put keeps b when the list has room.
func (p *bodyPool) put(b []byte) {
	if p == nil {
		return
	}
	select {
	case p.free <- b[:0]:
	default:
	}
}

type bodySlotKey struct{}

// recycle returns the slot's body buffer to its pool when the transport is
// done with it: the call succeeded and the body was read to its end after
// the last rewind (net/http reads a request body to EOF before it is done
// writing the request, and does not retry a request without GetBody).
func (s *bodySlot) recycle() {
	if s.body == nil || s.pool == nil || !s.body.eof.Load() || cap(s.body.buf) > maxPooledBody {
		return
	}
	buf := s.body.buf
	s.body.buf = nil
	s.pool.put(buf)
}

// maxPooledBody bounds the buffers kept for reuse (a full request is
// MaxBatchBytes of messages plus escapes and framing).
const maxPooledBody = 2 * MaxBatchBytes

// payloadHash gives the signer the body hash putProtocol computed, so that
// the SDK's ComputePayloadHash middleware (which skips when a hash is set)
// does not read the body again.
type payloadHash struct{}

// ID implements middleware.FinalizeMiddleware.
func (payloadHash) ID() string { return "logship.PayloadHash" }

// HandleFinalize implements middleware.FinalizeMiddleware.
func (payloadHash) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	if req, ok := in.Request.(*smithyhttp.Request); ok {
		if b, ok := req.GetStream().(*putBody); ok && b.hash != "" {
			ctx = v4.SetPayloadHash(ctx, b.hash)
		}
	}
	return next.HandleFinalize(ctx, in)
}

// addPayloadHash inserts payloadHash before the SDK's payload hashing; a
// stack without it (another signer) is left as it is.
func addPayloadHash(stack *middleware.Stack) error {
	_ = stack.Finalize.Insert(payloadHash{}, "ComputePayloadHash", middleware.Before) // an error: no hashing to pre-empt
	return nil
}

// appendPutLogEvents appends the JSON body of a PutLogEvents request.
//
// Messages are escaped as JSON strings, and the messages of one request
// mostly begin and end alike: a container's records share their first
// fields and the metadata after their text, already JSON, so full of
// quotes, each escaped again here. Escaping is a byte-by-byte map for valid
// UTF-8, so the escaped form of a shared prefix or suffix is the same in
// every message: the prefix and the suffix a message shares with the one
// before it are escaped once and copied (from the body itself) into every
// following message that begins or ends with them (affixCache).
func appendPutLogEvents(dst []byte, in *cloudwatchlogs.PutLogEventsInput) []byte {
	n := 128 + len(deref(in.LogGroupName)) + len(deref(in.LogStreamName))
	for i := range in.LogEvents {
		// message bytes, room for escapes (a Kubernetes record, JSON
		// holding JSON, grows by about 15 %), and the member names, the
		// timestamp and punctuation (40 bytes).
		n += len(deref(in.LogEvents[i].Message))*5/4 + 48
	}
	dst = slices.Grow(dst, n)
	dst = append(dst, '{')
	sep := false
	if in.LogEvents != nil {
		dst = append(dst, `"logEvents":[`...)
		var sc affixCache
		for i := range in.LogEvents {
			e := &in.LogEvents[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			if e.Message != nil {
				dst = append(dst, `"message":`...)
				dst = sc.appendMessage(dst, *e.Message)
			}
			if e.Timestamp != nil {
				if e.Message != nil {
					dst = append(dst, ',')
				}
				dst = append(dst, `"timestamp":`...)
				dst = strconv.AppendInt(dst, *e.Timestamp, 10)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
		sep = true
	}
	for _, m := range [...]struct {
		name string
		v    *string
	}{{"logGroupName", in.LogGroupName}, {"logStreamName", in.LogStreamName}, {"sequenceToken", in.SequenceToken}} {
		if m.v == nil {
			continue
		}
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, m.name...)
		dst = append(dst, `":`...)
		dst = buffer.AppendJSONString(dst, *m.v)
		sep = true
	}
	return append(dst, '}')
}

// minAffix is the shortest shared prefix or suffix worth caching.
const minAffix = 32

// affixCache remembers, while one body is written, a prefix and a suffix
// shared by consecutive messages and where their escaped forms are in the
// body.
type affixCache struct {
	prev       string // the previous message
	pre, suf   string // the cached prefix and suffix, unescaped
	preA, preB int    // the escaped prefix: dst[preA:preB]
	sufA, sufB int    // the escaped suffix: dst[sufA:sufB]
}

// appendMessage appends s as a JSON string, copying the escaped forms of
// the cached prefix and suffix when s begins or ends with them.
func (c *affixCache) appendMessage(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		c.prev = ""
		return buffer.AppendJSONString(dst, s) // replaces it with U+FFFD
	}
	prev := c.prev
	c.prev = s
	dst = append(dst, '"')
	if n := len(c.pre); n > 0 && len(s) >= n && s[:n] == c.pre {
		dst = append(dst, dst[c.preA:c.preB]...)
		s = s[n:]
	} else if n := commonPrefix(s, prev); n >= minAffix {
		c.pre, c.preA = s[:n], len(dst)
		dst = appendEscaped(dst, c.pre)
		c.preB = len(dst)
		s = s[n:]
	}
	if n := len(c.suf); n > 0 && len(s) >= n && s[len(s)-n:] == c.suf {
		dst = appendEscaped(dst, s[:len(s)-n])
		dst = append(dst, dst[c.sufA:c.sufB]...)
	} else if n := commonSuffix(s, prev); n >= minAffix {
		dst = appendEscaped(dst, s[:len(s)-n])
		c.suf, c.sufA = s[len(s)-n:], len(dst)
		dst = appendEscaped(dst, c.suf)
		c.sufB = len(dst)
	} else {
		dst = appendEscaped(dst, s)
	}
	return append(dst, '"')
}

// commonPrefix returns the length of the longest common prefix of a and b.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i+8 <= n && load64(a[i:]) == load64(b[i:]) {
		i += 8
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// commonSuffix returns the length of the longest common suffix of a and b.
func commonSuffix(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i+8 <= n && load64(a[len(a)-i-8:]) == load64(b[len(b)-i-8:]) {
		i += 8
	}
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	return i
}

// load64 returns the first eight bytes of s (len(s) ≥ 8), little-endian.
func load64(s string) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s), 8))
}

// appendJSONMessage appends s as a JSON string. Valid UTF-8 is copied raw;
// invalid UTF-8 (which cut never produces) takes buffer.AppendJSONString,
// which replaces it with U+FFFD.
func appendJSONMessage(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		return buffer.AppendJSONString(dst, s)
	}
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// appendEscaped appends valid UTF-8 s escaped as the inside of a JSON
// string with the escapes of the SDK's serialiser, so that the body is the
// one the SDK would write. It copies runs that need no escape eight bytes at
// a time; that is the sink's per-byte cost besides the body hash.
func appendEscaped(dst []byte, s string) []byte {
	return buffer.AppendJSONEscaped(dst, s, buffer.SDKEscapes)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
