package buffer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// The encoder writes what fluent-plugin-cloudwatch-logs sends with its default
// json_handler yajl (out_cloudwatch_logs.rb, v0.15.0,
// https://github.com/fluent-plugins-nursery/fluent-plugin-cloudwatch-logs/blob/v0.15.0/lib/fluent/plugin/out_cloudwatch_logs.rb;
// the encoder is yajl-ruby's ext/yajl/yajl_encode.c,
// https://github.com/brianmario/yajl-ruby/blob/master/ext/yajl/yajl_encode.c): compact JSON, keys
// in insertion order, non-ASCII written raw as UTF-8, '/' and HTML characters not
// escaped, control characters as \b \f \n \r \t or \u00XX (upper-case hex, as
// yajl's encoder writes them), invalid UTF-8 replaced by U+FFFD, one per
// maximal subpart as Ruby's String#scrub does (see maximalSubpart).

// AppendJSON appends the compact JSON object of f to dst.
func (f Fields) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for i := range f {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, f[i].Key)
		dst = append(dst, ':')
		dst = f[i].Value.AppendJSON(dst)
	}
	return append(dst, '}')
}

// AppendJSON appends the compact JSON of v to dst.
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.Kind {
	case String:
		return appendJSONBytes(dst, v.Bytes)
	case Raw:
		if len(v.Bytes) == 0 {
			return append(dst, "null"...)
		}
		return append(dst, v.Bytes...)
	case Map:
		return v.Kids.AppendJSON(dst)
	case Array:
		dst = append(dst, '[')
		for i := range v.Kids {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = v.Kids[i].Value.AppendJSON(dst)
		}
		return append(dst, ']')
	}
	return append(dst, "null"...)
}

// AppendText appends v as Ruby's to_s would render it for the plain values a
// message_keys list names: a string as is (invalid UTF-8 replaced), anything
// else as its JSON text.
func (v Value) AppendText(dst []byte) []byte {
	switch v.Kind {
	case String:
		return AppendValidUTF8(dst, v.Bytes)
	case Raw:
		if string(v.Bytes) == "null" {
			return dst
		}
		return append(dst, v.Bytes...)
	}
	return v.AppendJSON(dst)
}

// AppendJSONString appends s as a JSON string literal.
func AppendJSONString(dst []byte, s string) []byte {
	return appendJSONString(dst, s)
}

// AppendJSONBytes appends b as a JSON string literal.
func AppendJSONBytes(dst, b []byte) []byte {
	return appendJSONBytes(dst, b)
}

const hexDigits = "0123456789ABCDEF"

// noEscape[c] is true for the ASCII bytes copied as they are.
var noEscape = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func appendJSONBytes(dst, s []byte) []byte { return appendJSONText(dst, s) }

func appendJSONString(dst []byte, s string) []byte { return appendJSONText(dst, s) }

// appendJSONText appends s as a JSON string literal. It is generic so that
// strings and byte slices share one escaper without conversions.
func appendJSONText[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) {
			// Eight bytes at a time while none needs a look: jump to the
			// first that does (the lowest flagged byte is always a true
			// match).
			w := load64(s[i:])
			m := specialMask(w)
			if m == 0 {
				i += 8
				continue
			}
			if w&0x8080808080808080 == 0 {
				// ASCII with escapes (JSON in the line): the word at once.
				dst = append(dst, s[start:i]...)
				dst = appendEscapedWord(dst, w, exactEscapeMask(w), YajlEscapes, len(s)-i)
				i += 8
				start = i
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		c := s[i]
		if noEscape[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			if size := validRuneLen(s[i:]); size > 0 {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i += maximalSubpart(s[i:])
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		if c == '"' || c == '\\' {
			dst = append(dst, '\\', c)
		} else {
			dst = YajlEscapes.appendEscape(dst, c)
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// specialMask returns, for the little-endian word w, a mask with the high
// bit set in the bytes that are not copied as they are: control characters,
// '"', '\\' and bytes ≥ 0x80 (checked as UTF-8). A byte below n sets its high
// bit in (w - n) &^ w; borrows run upwards only, so the lowest flagged byte
// is always a true match (higher ones may be false), and the mask is zero
// exactly when no byte is special.
func specialMask(w uint64) uint64 {
	return escapeMask(w) | w&0x8080808080808080
}

// escapeMask returns, for the little-endian word w, a mask with the high bit
// set in the bytes that need an escape: control characters, '"' and '\\'. It
// has specialMask's properties: zero exactly when no byte needs one, and its
// lowest set bit marks a true match.
func escapeMask(w uint64) uint64 {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	q := w ^ (lsb * '"')
	b := w ^ (lsb * '\\')
	return ((w-lsb*0x20)&^w | (q-lsb)&^q | (b-lsb)&^b) & msb
}

// load64 returns the first eight bytes of s (len(s) ≥ 8), little-endian.
func load64[T string | []byte](s T) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// validRuneLen returns the length of the valid UTF-8 sequence at the start of
// s (which starts with a byte ≥ 0x80), or 0 when it is invalid. The ranges
// are Unicode's Table 3-7 (well-formed UTF-8 byte sequences), as in
// maximalSubpart.
func validRuneLen[T string | []byte](s T) int {
	c := s[0]
	lo, hi := byte(0x80), byte(0xBF) // the range of the second byte
	var n int
	switch {
	case c >= 0xC2 && c <= 0xDF:
		if len(s) >= 2 && s[1]&0xC0 == 0x80 {
			return 2
		}
		return 0
	case c >= 0xE0 && c <= 0xEF:
		n = 3
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F
		}
	case c >= 0xF0 && c <= 0xF4:
		n = 4
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
	default:
		return 0
	}
	if len(s) < n || s[1] < lo || s[1] > hi || s[2]&0xC0 != 0x80 || n == 4 && s[3]&0xC0 != 0x80 {
		return 0
	}
	return n
}

// JSONEscapes names how a JSON string literal writes the bytes it cannot
// hold as they are. Every set writes '"' and '\\' as \" and \\, and \n, \r,
// \t as such; they differ in the other control characters.
type JSONEscapes uint8

const (
	// YajlEscapes writes \b and \f, and the other control characters as
	// \u00XX in upper-case hex, as yajl-ruby's encoder does
	// (ext/yajl/yajl_encode.c): AppendJSONString's escapes.
	YajlEscapes JSONEscapes = iota
	// SDKEscapes writes every other control character (\b and \f too) as
	// \u00xx in lower-case hex, as smithy-go's JSON encoder, the AWS SDK's
	// request serialiser, does (encoding/json/escape.go,
	// https://github.com/aws/smithy-go/blob/main/encoding/json/escape.go).
	SDKEscapes
	// RubyEscapes writes \b and \f, and the other control characters as
	// \u00xx in lower-case hex, as Ruby's JSON.generate does.
	RubyEscapes
)

// appendEscape appends the escape of c, a control character, '"' or '\\'.
func (e JSONEscapes) appendEscape(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		if e != SDKEscapes {
			return append(dst, '\\', 'b')
		}
	case '\f':
		if e != SDKEscapes {
			return append(dst, '\\', 'f')
		}
	}
	hex := hexDigitsLower
	if e == YajlEscapes {
		hex = hexDigits
	}
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
}

const hexDigitsLower = "0123456789abcdef"

// AppendJSONEscaped appends s escaped as the inside of a JSON string (no
// quotes) with the escapes e. Bytes ≥ 0x80 are copied as they are: s is
// valid UTF-8, or its bytes are wanted unchanged (AppendJSONString replaces
// invalid UTF-8 instead). It works a word at a time: each eight bytes of s
// are stored into dst's spare capacity whole, the bytes that need an escape
// found by an exact mask, so text with an escape every few bytes (JSON in
// the message) costs neither a copy call nor a reload per escape.
func AppendJSONEscaped(dst []byte, s string, e JSONEscapes) []byte {
	start, i := 0, 0
	for i+8 <= len(s) {
		w := load64(s[i:])
		m := exactEscapeMask(w)
		if m == 0 {
			i += 8
			continue
		}
		if start < i {
			dst = append(dst, s[start:i]...)
		}
		dst = appendEscapedWord(dst, w, m, e, len(s)-i)
		i += 8
		start = i
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			dst = append(dst, s[start:i]...)
			dst = e.appendEscape(dst, c)
			start = i + 1
		}
	}
	return append(dst, s[start:]...)
}

// appendEscapedWord appends the eight bytes of the little-endian word w
// with the bytes m flags (exactEscapeMask(w), not zero) escaped with e.
// When dst must grow it makes room for rest more bytes as well (the caller's
// text still to come).
func appendEscapedWord(dst []byte, w, m uint64, e JSONEscapes, rest int) []byte {
	n := len(dst)
	if cap(dst)-n < maxWordEscaped {
		dst = slices.Grow(dst, rest+maxWordEscaped)
	}
	// out is dst's spare room, at least maxWordEscaped bytes: each store
	// below writes eight bytes within it (o ≤ 6·7 before the last).
	out := unsafe.Pointer(unsafe.SliceData(dst[n:cap(dst)]))
	o := 0
	for j := 0; ; {
		// Store what is left of the word, then keep the bytes up to the
		// next that needs an escape.
		binary.LittleEndian.PutUint64(unsafe.Slice((*byte)(unsafe.Add(out, o)), 8), w>>(8*j))
		if m == 0 {
			o += 8 - j
			break
		}
		p := bits.TrailingZeros64(m) >> 3
		o += p - j
		c := byte(w >> (8 * p))
		if c == '"' || c == '\\' {
			*(*[2]byte)(unsafe.Add(out, o)) = [2]byte{'\\', c}
			o += 2
		} else {
			o += len(e.appendEscape(unsafe.Slice((*byte)(unsafe.Add(out, o)), maxEscape)[:0], c))
		}
		m &= m - 1
		j = p + 1
		if j == 8 {
			break
		}
	}
	return dst[:n+o]
}

// maxWordEscaped is the room one word of AppendJSONEscaped needs: eight
// escapes of six bytes, and the eight bytes stored after the last.
const maxWordEscaped = 8*maxEscape + 8

// maxEscape is the length of the longest escape, \u00XX.
const maxEscape = 6

// exactEscapeMask returns, for the little-endian word w, a mask with the
// high bit set in exactly the bytes that need an escape: control characters,
// '"' and '\\'. Each byte is tested on its own (no carry crosses bytes), so
// unlike escapeMask every flagged byte is a true match.
func exactEscapeMask(w uint64) uint64 {
	const lsb, low7, msb = 0x0101010101010101, 0x7F7F7F7F7F7F7F7F, 0x8080808080808080
	// A byte's high bit stays clear in each term only for its match: below
	// 0x20 (and not ≥ 0x80), equal to '"', equal to '\\'.
	ctrl := (w&low7 + lsb*(0x80-0x20)) | w
	q := w ^ lsb*'"'
	q = (q&low7 + low7) | q
	b := w ^ lsb*'\\'
	b = (b&low7 + low7) | b
	return ^(ctrl & q & b) & msb
}

// AppendValidUTF8 appends b with invalid UTF-8 replaced by U+FFFD, one per
// maximal subpart (see maximalSubpart).
func AppendValidUTF8(dst, b []byte) []byte {
	if utf8.Valid(b) {
		return append(dst, b...)
	}
	start := 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		if n := validRuneLen(b[i:]); n > 0 {
			i += n
			continue
		}
		dst = append(dst, b[start:i]...)
		dst = append(dst, "\uFFFD"...)
		i += maximalSubpart(b[i:])
		start = i
	}
	return append(dst, b[start:]...)
}

// maximalSubpart returns the length of the maximal subpart at the start of
// s, which starts with an ill-formed UTF-8 sequence: the longest prefix of a
// well-formed sequence (Unicode Table 3-7), or 1 when s[0] cannot start one.
// Replacing each maximal subpart with one U+FFFD is the practice the Unicode
// Standard recommends (§3.9, "U+FFFD Substitution of Maximal Subparts",
// https://www.unicode.org/versions/Unicode15.0.0/ch03.pdf#G66453; the W3C
// Encoding Standard's UTF-8 decoder does the same,
// https://encoding.spec.whatwg.org/#utf-8-decoder), and what Ruby's
// String#scrub writes, which fluent-plugin-cloudwatch-logs applies to every
// string (out_cloudwatch_logs.rb, scrub_record!): "\xe2\x82" is one
// subpart, one U+FFFD; "\xc3\x28" is "\xc3" then "(".
func maximalSubpart[T string | []byte](s T) int {
	c := s[0]
	lo, hi := byte(0x80), byte(0xBF) // the range of the second byte
	var n int
	switch {
	case c >= 0xC2 && c <= 0xDF:
		n = 2
	case c == 0xE0:
		n, lo = 3, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		n = 3
	case c == 0xED:
		n, hi = 3, 0x9F
	case c == 0xF0:
		n, lo = 4, 0x90
	case c >= 0xF1 && c <= 0xF3:
		n = 4
	case c == 0xF4:
		n, hi = 4, 0x8F
	default: // 0x80–0xC1, 0xF5–0xFF: never the start of a sequence
		return 1
	}
	i := 1
	for ; i < n && i < len(s); i++ {
		if b := s[i]; b < lo || b > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return i
}

// ErrSyntax is returned (wrapped) by ParseJSON for malformed input.
var ErrSyntax = errors.New("invalid JSON")

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 512

// ParseJSON decodes one JSON value. Objects become Map values (duplicate keys:
// the last value wins, in the first key's position, as Ruby's parser does),
// arrays Array values, strings String values (unescaped), and numbers, true,
// false and null Raw values holding their exact text, so 1.0 and large integers
// survive a round trip. The returned value aliases data only through Raw
// number text; strings are copied when they contain escapes and sliced from
// data otherwise.
func ParseJSON(data []byte) (Value, error) {
	return parseJSON(jsonParser{data: data})
}

// ParseJSONAsRuby is ParseJSON with numbers as Fluentd hands them on after
// parsing a record with Ruby (its json parsers make a Float of every number
// with a fraction or exponent, and the outputs write it with Float#to_s):
// such a number's text is AppendRubyFloat's (1.5e3 → 1500.0, 165.780 →
// 165.78), -0 is 0; integers keep their text. A number too large for a
// float keeps its text. Numbers so rendered are new memory, not data.
func ParseJSONAsRuby(data []byte) (Value, error) {
	return parseJSON(jsonParser{data: data, ruby: true})
}

func parseJSON(p jsonParser) (Value, error) {
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return Value{}, p.errorf("trailing data")
	}
	return v, nil
}

type jsonParser struct {
	data []byte
	pos  int
	ruby bool // numbers as Ruby renders them (ParseJSONAsRuby)
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", ErrSyntax, p.pos, fmt.Sprintf(format, args...))
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, p.errorf("nesting deeper than %d", maxDepth)
	}
	if p.pos >= len(p.data) {
		return Value{}, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return Value{}, err
		}
		return Str(s), nil
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return Value{}, p.errorf("unexpected character %q", c)
	}
}

func (p *jsonParser) literal(lit string) (Value, error) {
	if len(p.data)-p.pos < len(lit) || string(p.data[p.pos:p.pos+len(lit)]) != lit {
		return Value{}, p.errorf("invalid literal")
	}
	v := RawJSON(p.data[p.pos : p.pos+len(lit)])
	p.pos += len(lit)
	return v, nil
}

func (p *jsonParser) number() (Value, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return Value{}, p.errorf("invalid number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return Value{}, p.errorf("invalid number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return Value{}, p.errorf("invalid number")
		}
	}
	tok := p.data[start:p.pos]
	if p.ruby {
		return RawJSON(rubyNumber(tok)), nil
	}
	return RawJSON(tok), nil
}

// rubyNumber returns the text Ruby writes for the valid JSON number tok
// (ParseJSONAsRuby).
func rubyNumber(tok []byte) []byte {
	if bytes.IndexAny(tok, ".eE") < 0 {
		if len(tok) == 2 && tok[0] == '-' && tok[1] == '0' {
			return tok[1:] // Integer 0
		}
		return tok
	}
	// ParseFloat keeps no reference to its argument.
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(tok), len(tok)), 64)
	if err != nil && math.IsInf(f, 0) {
		return tok
	}
	var buf [32]byte
	r := AppendRubyFloat(buf[:0], f)
	if bytes.Equal(r, tok) {
		return tok // already as Ruby writes it (0.5, 165.78): no copy
	}
	return bytes.Clone(r)
}

func (p *jsonParser) object(depth int) (Value, error) {
	kids := Fields{}
	err := p.members('}', "object", func() error {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return p.errorf("expected object key")
		}
		k, err := p.str()
		if err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return p.errorf("expected ':'")
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return err
		}
		kids = kids.Set(string(k), v)
		return nil
	})
	if err != nil {
		return Value{}, err
	}
	return Value{Kind: Map, Kids: kids}, nil
}

func (p *jsonParser) array(depth int) (Value, error) {
	items := Fields{}
	err := p.members(']', "array", func() error {
		v, err := p.value(depth + 1)
		if err != nil {
			return err
		}
		items = append(items, Field{Value: v})
		return nil
	})
	if err != nil {
		return Value{}, err
	}
	return Value{Kind: Array, Kids: items}, nil
}

// members reads the comma-separated members of an object or array from its
// opening byte through end ('}' or ']'), each with member, called at the
// member's first byte. what names the container in errors.
func (p *jsonParser) members(end byte, what string, member func() error) error {
	p.pos++ // '{' or '['
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == end {
		p.pos++
		return nil
	}
	for {
		p.skipSpace()
		if err := member(); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return p.errorf("unterminated %s", what)
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case end:
			p.pos++
			return nil
		default:
			return p.errorf("expected ',' or '%c'", end)
		}
	}
}

// str reads a string literal starting at the opening quote and returns its
// unescaped bytes.
func (p *jsonParser) str() ([]byte, error) {
	p.pos++ // opening quote
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := p.data[start:p.pos]
			p.pos++
			return s, nil
		}
		if c == '\\' {
			return p.strEscaped(start)
		}
		if c < 0x20 {
			return nil, p.errorf("control character in string")
		}
		p.pos++
	}
	return nil, p.errorf("unterminated string")
}

func (p *jsonParser) strEscaped(start int) ([]byte, error) {
	out := make([]byte, 0, p.pos-start+16)
	out = append(out, p.data[start:p.pos]...)
	out, n, err := AppendJSONUnquoted(out, p.data[p.pos:])
	p.pos += n
	if err != nil {
		return nil, p.errorf("%s", err)
	}
	return out, nil
}

// AppendJSONUnquoted decodes the rest of a JSON string literal, src being
// what follows its opening quote (or any point inside it outside an escape),
// and appends the text to dst. It returns dst, how many bytes of src it read
// (through the closing quote; on an error, up to where the error is) and an
// error for an unterminated string, a control character or an invalid
// escape. Invalid UTF-8 is kept as it is; a lone surrogate escape becomes
// U+FFFD, as encoding/json does. The text is never longer than the literal,
// so dst may be src[:0] to decode in place without allocating.
func AppendJSONUnquoted(dst, src []byte) ([]byte, int, error) {
	i := 0
	for i < len(src) {
		// Copy the run up to the next '"', '\\' or control character.
		start := i
		for i+8 <= len(src) {
			m := escapeMask(load64(src[i:]))
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		for i < len(src) && src[i] >= 0x20 && src[i] != '"' && src[i] != '\\' {
			i++
		}
		dst = append(dst, src[start:i]...)
		if i >= len(src) {
			break
		}
		switch c := src[i]; {
		case c == '"':
			return dst, i + 1, nil
		case c < 0x20:
			return dst, i, errControl
		}
		i++
		if i >= len(src) {
			break
		}
		e := src[i]
		i++
		switch e {
		case '"', '\\', '/':
			dst = append(dst, e)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(src[i:])
			if !ok {
				return dst, i, errUEscape
			}
			i += 4
			if r >= 0xD800 && r < 0xDC00 {
				// A high surrogate: pair it with a following low one.
				hi := r
				r = utf8.RuneError
				if i+1 < len(src) && src[i] == '\\' && src[i+1] == 'u' {
					if lo, ok := hex4(src[i+2:]); ok && lo >= 0xDC00 && lo < 0xE000 {
						r = 0x10000 + (hi-0xD800)<<10 + (lo - 0xDC00)
						i += 6
					}
				}
			} else if r >= 0xDC00 && r < 0xE000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, i, fmt.Errorf("invalid escape \\%c", e)
		}
	}
	return dst, len(src), errUnterminated
}

var (
	errControl      = errors.New("control character in string")
	errUEscape      = errors.New("invalid \\u escape")
	errUnterminated = errors.New("unterminated string")
)

// hex4 returns the value of the four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}
