package cloudwatch

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/http"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"
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
	// A fresh buffer per request: the transport may still read the body
	// after the call returns (net/http closes it asynchronously on errors).
	sreq, err := req.SetStream(bytes.NewReader(appendPutLogEvents(nil, put)))
	if err != nil {
		return fmt.Errorf("set stream: %w", err)
	}
	*req = *sreq
	return nil
}

// appendPutLogEvents appends the JSON body of a PutLogEvents request.
func appendPutLogEvents(dst []byte, in *cloudwatchlogs.PutLogEventsInput) []byte {
	if dst == nil {
		n := 128 + len(deref(in.LogGroupName)) + len(deref(in.LogStreamName))
		for i := range in.LogEvents {
			// message bytes, a little room for escapes, and the member names,
			// the timestamp and punctuation (40 bytes).
			n += len(deref(in.LogEvents[i].Message))*9/8 + 48
		}
		dst = make([]byte, 0, n)
	}
	dst = append(dst, '{')
	sep := false
	if in.LogEvents != nil {
		dst = append(dst, `"logEvents":[`...)
		for i := range in.LogEvents {
			e := &in.LogEvents[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			if e.Message != nil {
				dst = append(dst, `"message":`...)
				dst = appendJSONMessage(dst, *e.Message)
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

// appendJSONMessage appends s as a JSON string. It copies runs that need no
// escape eight bytes at a time; that is the sink's per-byte cost besides the
// body hash. Valid UTF-8 is copied raw; invalid UTF-8 (which cut never
// produces) takes buffer.AppendJSONString, which replaces it with U+FFFD.
func appendJSONMessage(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		return buffer.AppendJSONString(dst, s)
	}
	dst = append(dst, '"')
	start, i := 0, 0
	for i < len(s) {
		if i+8 <= len(s) {
			m := escapeMask(binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8)))
			if m == 0 {
				i += 8
				continue
			}
			// The lowest flagged byte is always a true match (borrows only
			// run upwards), so jump straight to it.
			i += bits.TrailingZeros64(m) >> 3
		} else if c := s[i]; c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		c := s[i]
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigit = "0123456789abcdef"

// escapeMask returns, for the little-endian word w, a mask with the high bit
// set in bytes that are a control character, '"' or '\\' (bit tricks: a byte
// below n sets its high bit in (w - n) &^ w). It is zero exactly when no byte
// needs escaping, and its lowest set bit marks a true match; bytes above the
// first match may be flagged falsely (borrow propagation).
func escapeMask(w uint64) uint64 {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	q := w ^ (lsb * '"')
	b := w ^ (lsb * '\\')
	return ((w-lsb*0x20)&^w | (q-lsb)&^q | (b-lsb)&^b) & msb
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
