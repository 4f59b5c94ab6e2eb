package torture

import (
	"hash/crc32"
	"strconv"
)

// A line's text (the payload) is
//
//	TT.<container>.<seq>.<len>.<crc>.<pad>.TE
//
// where len is the payload's length in bytes, crc the CRC-32 (IEEE, 8 hex
// digits) of "<container>.<seq>.<len>", and pad lowercase letters and digits
// derived from crc. The markers are upper case and the pad never is, so a
// payload is found in any event text, a cut one is recognised by its header
// or its pad, and two glued ones show as two headers.
const (
	headMarker = "TT."
	tailMarker = ".TE"
	padChars   = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// MinPayload is the smallest payload size AppendPayload honours.
const MinPayload = 48

func headerSum(ctr string, seq, size int) uint32 {
	var b [64]byte
	h := append(b[:0], ctr...)
	h = append(h, '.')
	h = strconv.AppendInt(h, int64(seq), 10)
	h = append(h, '.')
	h = strconv.AppendInt(h, int64(size), 10)
	return crc32.ChecksumIEEE(h)
}

// AppendPayload appends the payload of line seq of container ctr, size bytes
// long (at least the header and markers).
func AppendPayload(buf []byte, ctr string, seq, size int) []byte {
	sum := headerSum(ctr, seq, size)
	start := len(buf)
	buf = append(buf, headMarker...)
	buf = append(buf, ctr...)
	buf = append(buf, '.')
	buf = strconv.AppendInt(buf, int64(seq), 10)
	buf = append(buf, '.')
	buf = strconv.AppendInt(buf, int64(size), 10)
	buf = append(buf, '.')
	buf = appendHex8(buf, sum)
	buf = append(buf, '.')
	pad := size - (len(buf) - start) - len(tailMarker)
	for i := 0; i < pad; i++ {
		buf = append(buf, padChars[(int(sum)+i*7)%len(padChars)])
	}
	return append(buf, tailMarker...)
}

func appendHex8(b []byte, v uint32) []byte {
	const hex = "0123456789abcdef"
	for i := 28; i >= 0; i -= 4 {
		b = append(b, hex[(v>>uint(i))&0xf])
	}
	return b
}

// header is a parsed payload header.
type header struct {
	ctr       string
	seq, size int
	hdrLen    int // bytes of "TT.<ctr>.<seq>.<len>.<crc>."
}

// parseHeader parses the header at the start of s ("TT." already checked);
// ok is false when it is incomplete or its checksum does not match.
func parseHeader(s string) (h header, ok bool) {
	i := len(headMarker)
	var f [4]string
	for k := 0; k < 4; k++ {
		j := i
		for j < len(s) && s[j] != '.' && j-i < 40 {
			j++
		}
		if j >= len(s) || s[j] != '.' {
			return h, false
		}
		f[k] = s[i:j]
		i = j + 1
	}
	seq, err1 := strconv.Atoi(f[1])
	size, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || len(f[3]) != 8 || f[0] == "" {
		return h, false
	}
	if string(appendHex8(nil, headerSum(f[0], seq, size))) != f[3] {
		return h, false
	}
	return header{ctr: f[0], seq: seq, size: size, hdrLen: i}, true
}

// payloadMatches reports whether s starts with the whole payload h names.
func payloadMatches(s string, h header) bool {
	if len(s) < h.size || s[h.size-len(tailMarker):h.size] != tailMarker {
		return false
	}
	sum := headerSum(h.ctr, h.seq, h.size)
	pad := s[h.hdrLen : h.size-len(tailMarker)]
	if len(pad) != h.size-h.hdrLen-len(tailMarker) {
		return false
	}
	for i := 0; i < len(pad); i++ {
		if pad[i] != padChars[(int(sum)+i*7)%len(padChars)] {
			return false
		}
	}
	return true
}

// isPad reports whether s looks like a piece of pad (lowercase letters and
// digits only, possibly ending in the tail marker or a newline).
func isPad(s string) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == 'T' || c == 'E' || c == '\n') {
			return false
		}
	}
	return true
}
