package emulator

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// putRequest is a decoded PutLogEvents body. Messages alias the request body
// (or a scratch buffer when they contain escapes) and are copied into
// strings only when stored, so CountOnly mode allocates almost nothing per
// event.
type putRequest struct {
	group, stream *string
	eventsSet     bool // "logEvents" present and not null
	events        []putEvent
}

type putEvent struct {
	ts     int64
	hasTS  bool
	msg    []byte
	hasMsg bool
}

// decodePut decodes a PutLogEvents body. A fast scanner handles the shape
// every client sends (the three name members, logEvents of {timestamp,
// message}, unknown members skipped); anything else — invalid UTF-8, numbers
// with fractions, unexpected types, malformed JSON — falls back to
// encoding/json, so the semantics (U+FFFD replacement, error types) are
// encoding/json's in every case.
func decodePut(body []byte) (putRequest, *apiError) {
	if req, ok := fastDecodePut(body); ok {
		return req, nil
	}
	var in putLogEventsInput
	if e := decode(body, &in); e != nil {
		return putRequest{}, e
	}
	req := putRequest{group: in.LogGroupName, stream: in.LogStreamName, eventsSet: in.LogEvents != nil}
	req.events = make([]putEvent, len(in.LogEvents))
	for i, ev := range in.LogEvents {
		pe := &req.events[i]
		if ev.Timestamp != nil {
			pe.ts, pe.hasTS = *ev.Timestamp, true
		}
		if ev.Message != nil {
			pe.msg, pe.hasMsg = []byte(*ev.Message), true
		}
	}
	return req, nil
}

type scanner struct {
	b []byte
	i int
}

func fastDecodePut(body []byte) (putRequest, bool) {
	var req putRequest
	s := scanner{b: body}
	s.space()
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "logGroupName", "logStreamName":
			null, ok := s.null()
			if !ok {
				return false
			}
			var v *string
			if !null {
				b, ok := s.str()
				if !ok {
					return false
				}
				str := string(b)
				v = &str
			}
			if string(key) == "logGroupName" {
				req.group = v
			} else {
				req.stream = v
			}
		case "logEvents":
			null, ok := s.null()
			if !ok {
				return false
			}
			if null {
				req.eventsSet, req.events = false, nil
				break
			}
			evs, ok := s.events()
			if !ok {
				return false
			}
			req.eventsSet, req.events = true, evs
		default:
			// encoding/json matches member names case-insensitively.
			if foldsTo(key, "logGroupName", "logStreamName", "logEvents") || !s.skip(0) {
				return false
			}
		}
		return true
	})
	return req, ok && s.end()
}

func (s *scanner) events() ([]putEvent, bool) {
	if !s.eat('[') {
		return nil, false
	}
	evs := make([]putEvent, 0, 64)
	s.space()
	if s.eat(']') {
		return evs, true
	}
	for {
		var ev putEvent
		ok := s.object(func(key []byte) bool {
			switch string(key) {
			case "timestamp":
				null, ok := s.null()
				if !ok {
					return false
				}
				ev.hasTS = !null
				if null {
					break
				}
				if ev.ts, ok = s.int(); !ok {
					return false
				}
			case "message":
				null, ok := s.null()
				if !ok {
					return false
				}
				ev.msg, ev.hasMsg = nil, !null
				if null {
					break
				}
				if ev.msg, ok = s.str(); !ok {
					return false
				}
			default:
				if foldsTo(key, "timestamp", "message") || !s.skip(0) {
					return false
				}
			}
			return true
		})
		if !ok {
			return nil, false
		}
		evs = append(evs, ev)
		s.space()
		if s.eat(',') {
			s.space()
			continue
		}
		if s.eat(']') {
			return evs, true
		}
		return nil, false
	}
}

// object reads a JSON object at the scanner, calling value with each member's
// key to read the member's value (value reports false on a malformed or
// refused value). ok is false on malformed JSON or a false from value.
func (s *scanner) object(value func(key []byte) bool) (ok bool) {
	if !s.eat('{') {
		return false
	}
	for first := true; ; first = false {
		key, done, ok := s.member(first)
		if !ok {
			return false
		}
		if done {
			return true
		}
		if !value(key) {
			return false
		}
	}
}

// member moves to the next member of an object whose '{' was read (first:
// none read yet) and returns its key, with the value next; done reports the
// object's closing '}' instead. ok is false on malformed JSON.
func (s *scanner) member(first bool) (key []byte, done, ok bool) {
	s.space()
	if s.eat('}') {
		return nil, true, true
	}
	if !first {
		if !s.eat(',') {
			return nil, false, false
		}
		s.space()
	}
	if key, ok = s.str(); !ok {
		return nil, false, false
	}
	s.space()
	if !s.eat(':') {
		return nil, false, false
	}
	s.space()
	return key, false, true
}

// null reads a JSON null if the value next is one (null); ok is false when it
// starts like null but is not.
func (s *scanner) null() (null, ok bool) {
	if s.peek() != 'n' {
		return false, true
	}
	return true, s.lit("null")
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) lit(l string) bool {
	if len(s.b)-s.i >= len(l) && string(s.b[s.i:s.i+len(l)]) == l {
		s.i += len(l)
		return true
	}
	return false
}

// int scans a JSON integer that fits int64 (no fraction or exponent).
func (s *scanner) int() (int64, bool) {
	start := s.i
	if s.eat('-') {
	}
	digits := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == digits || (s.b[digits] == '0' && s.i-digits > 1) {
		return 0, false
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	return n, err == nil
}

// str scans a JSON string and returns its decoded bytes: a sub-slice of the
// body when it has no escapes, else a fresh slice. Invalid UTF-8 or raw
// control characters make it fail (encoding/json then decides).
func (s *scanner) str() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for {
		// Skip the plain ASCII run quickly.
		for s.i < len(s.b) && plainASCII[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			return nil, false
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			out := s.b[start:s.i]
			s.i++
			return out, true
		case c == '\\':
			return s.strEscaped(start)
		case c < 0x20:
			return nil, false
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false
			}
			s.i += size
		}
	}
}

// plainASCII marks the bytes a JSON string may hold unescaped that need no
// further check: printable ASCII except '"' and '\\'.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *scanner) strEscaped(start int) ([]byte, bool) {
	out := append([]byte(nil), s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return out, true
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, false
			}
			e := s.b[s.i+1]
			s.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := s.hex4()
				if !ok {
					return nil, false
				}
				if utf16.IsSurrogate(r) {
					// A valid pair decodes to one rune; anything else is
					// U+FFFD, as encoding/json does.
					if s.i+6 <= len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
						save := s.i
						s.i += 2
						r2, ok := s.hex4()
						if ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								out = utf8.AppendRune(out, dec)
								continue
							}
						}
						s.i = save
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				return nil, false
			}
		case c < 0x20:
			return nil, false
		case c < utf8.RuneSelf:
			out = append(out, c)
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false
			}
			out = append(out, s.b[s.i:s.i+size]...)
			s.i += size
		}
	}
	return nil, false
}

func (s *scanner) hex4() (rune, bool) {
	if s.i+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	s.i += 4
	return r, true
}

// skip skips any JSON value; the fast path gives up on deep nesting.
func (s *scanner) skip(depth int) bool {
	if depth > 64 {
		return false
	}
	switch c := s.peek(); {
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		s.i++
		s.space()
		if s.eat(closer) {
			return true
		}
		for {
			if c == '{' {
				if _, ok := s.str(); !ok {
					return false
				}
				s.space()
				if !s.eat(':') {
					return false
				}
				s.space()
			}
			if !s.skip(depth + 1) {
				return false
			}
			s.space()
			if s.eat(',') {
				s.space()
				continue
			}
			return s.eat(closer)
		}
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return false
}

// number scans a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scanner) number() bool {
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.peek() >= '1' && s.peek() <= '9':
		s.digits()
	default:
		return false
	}
	if s.eat('.') && !s.digits() {
		return false
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}
