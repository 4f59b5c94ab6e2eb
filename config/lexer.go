package config

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"unicode/utf8"

	"logship/buffer"
)

// scanner reads one configuration file. Its helpers mirror the regular
// expressions of Fluentd's basic_parser.rb and literal_parser.rb (named in
// the comments), so that whitespace, comments and quoting behave the same.
type scanner struct {
	file  string
	src   []byte
	off   int
	lines []int // byte offset at which each line starts
}

func newScanner(file string, src []byte) *scanner {
	lines := []int{0}
	for i, c := range src {
		if c == '\n' {
			lines = append(lines, i+1)
		}
	}
	return &scanner{file: file, src: src, lines: lines}
}

// pos converts a byte offset to a position.
func (s *scanner) pos(off int) Pos {
	i := sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > off }) - 1
	if i < 0 {
		i = 0
	}
	return Pos{File: s.file, Line: i + 1, Col: off - s.lines[i] + 1}
}

func (s *scanner) errorf(off int, format string, args ...any) *Error {
	return errorAt(s.pos(off), nil, format, args...)
}

func (s *scanner) eof() bool { return s.off >= len(s.src) }

// at returns the byte at off, or 0 past the end.
func (s *scanner) at(off int) byte {
	if off < len(s.src) {
		return s.src[off]
	}
	return 0
}

// skipBlanks returns the offset of the first non-blank byte at or after off.
func (s *scanner) skipBlanks(off int) int {
	for off < len(s.src) && isBlank(s.src[off]) {
		off++
	}
	return off
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }
func isEOL(c byte) bool   { return c == '\r' || c == '\n' }

// skipSpacing skips SPACING = /(?:[ \t\r\n]|\z|\#.*?(?:\z|[\r\n]))+/ from off
// and returns the new offset and whether a newline was crossed.
func (s *scanner) skipSpacing(off int) (int, bool) {
	nl := false
	for off < len(s.src) {
		c := s.src[off]
		switch {
		case isBlank(c) || isEOL(c):
			nl = nl || c == '\n'
			off++
		case c == '#':
			for off < len(s.src) && !isEOL(s.src[off]) {
				off++
			}
			if off < len(s.src) {
				nl = nl || s.src[off] == '\n'
				off++
			}
		default:
			return off, nl
		}
	}
	return off, nl
}

// spacing consumes SPACING and reports whether it crossed a newline.
func (s *scanner) spacing() bool {
	var nl bool
	s.off, nl = s.skipSpacing(s.off)
	return nl
}

// spacingWithoutComment consumes /(?:[ \t\r\n]|\z)+/ and reports whether it
// crossed a newline.
func (s *scanner) spacingWithoutComment() bool {
	nl := false
	for s.off < len(s.src) && (isBlank(s.src[s.off]) || isEOL(s.src[s.off])) {
		nl = nl || s.src[s.off] == '\n'
		s.off++
	}
	return nl
}

// lineEndAt reports whether LINE_END = /(?:[ \t]*(?:\#.*)?(?:\z|[\r\n]))+/
// matches at off, and where its first repetition ends.
func (s *scanner) lineEndAt(off int) (int, bool) {
	for off < len(s.src) && isBlank(s.src[off]) {
		off++
	}
	if off < len(s.src) && s.src[off] == '#' {
		for off < len(s.src) && s.src[off] != '\n' {
			off++
		}
	}
	if off >= len(s.src) {
		return off, true
	}
	if isEOL(s.src[off]) {
		return off + 1, true
	}
	return off, false
}

// lineEnd consumes LINE_END (blank lines and comment lines included) and
// reports whether it matched.
func (s *scanner) lineEnd() bool {
	matched := false
	for {
		end, ok := s.lineEndAt(s.off)
		if !ok {
			return matched
		}
		matched = true
		s.off = end
		if end >= len(s.src) {
			return true
		}
	}
}

// boundary says where a bare string ends.
type boundary int

const (
	boundSpacing  boundary = iota // SPACING: keys
	boundLineEnd                  // LINE_END: values
	boundTagClose                 // /(?:ZERO_OR_MORE_SPACING\>)/: section arguments
)

// boundaryAt reports whether boundary b matches at off. When it does not,
// it also returns an offset before which it cannot match either (the end of
// the run of blanks at off: from any of them the same text follows), so
// scanBare stays linear.
func (s *scanner) boundaryAt(off int, b boundary) (int, bool) {
	switch b {
	case boundSpacing:
		return off + 1, off >= len(s.src) || isBlank(s.src[off]) || isEOL(s.src[off])
	case boundLineEnd:
		if _, ok := s.lineEndAt(off); ok {
			return off, true
		}
		return s.skipBlanks(off), false
	default:
		if end, _ := s.skipSpacing(off); end < len(s.src) && s.src[end] == '>' {
			return off, true
		}
		return s.skipBlanks(off), false
	}
}

// scanBare implements scan_nonquoted_string: '#' is always literal (so a
// comment needs whitespace before it), otherwise characters are taken until
// the boundary matches or the line ends.
func (s *scanner) scanBare(b boundary) string {
	start := s.off
	noMatchBefore := 0
	for s.off < len(s.src) {
		c := s.src[s.off]
		if c == '#' {
			s.off++
			continue
		}
		if c == '\n' {
			break
		}
		if s.off >= noMatchBefore {
			end, ok := s.boundaryAt(s.off, b)
			if ok {
				break
			}
			noMatchBefore = end
		}
		s.off++
	}
	return string(s.src[start:s.off])
}

// scanSingle reads a single-quoted string after its opening quote: only \'
// and \\ are escapes, and the string cannot span lines.
func (s *scanner) scanSingle(open int) (string, error) {
	var b []byte
	for {
		if s.off >= len(s.src) || s.src[s.off] == '\n' {
			return "", s.errorf(open, "unterminated single-quoted string")
		}
		c := s.src[s.off]
		switch {
		case c == '\'':
			s.off++
			return string(b), nil
		case c == '\\' && (s.at(s.off+1) == '\'' || s.at(s.off+1) == '\\'):
			b = append(b, s.src[s.off+1])
			s.off += 2
		default:
			b = append(b, c)
			s.off++
		}
	}
}

// embedFunc evaluates embedded Ruby code found at byte offset off.
type embedFunc func(code string, off int) (string, ValueKind, error)

// scanDouble reads a double-quoted string after its opening quote
// (scan_double_quoted_string): escapes, "#{…}" embedded Ruby, and line
// breaks, which are kept when preceded by a character and removed after a
// backslash.
func (s *scanner) scanDouble(open int, eval embedFunc) (string, ValueKind, error) {
	var b []byte
	kind := KindString
	for {
		if s.off >= len(s.src) {
			return "", 0, s.errorf(open, "unterminated double-quoted string")
		}
		c := s.src[s.off]
		if c == '"' {
			s.off++
			return string(b), kind, nil
		}
		if s.off+1 >= len(s.src) || isEOL(s.src[s.off+1]) {
			// /[^"]#{LINE_END_WITHOUT_SPACING_AND_COMMENT}/
			if c != '\\' {
				b = append(b, c)
				if s.off+1 < len(s.src) {
					b = append(b, s.src[s.off+1])
				}
			}
			s.off += 2
			continue
		}
		switch {
		case c == '\\':
			e := s.src[s.off+1]
			switch e {
			case 'r':
				b = append(b, '\r')
			case 'n':
				b = append(b, '\n')
			case 't':
				b = append(b, '\t')
			case 'f':
				b = append(b, '\f')
			case 'b':
				b = append(b, '\b')
			case '0':
				b = append(b, 0)
			default:
				if e < utf8.RuneSelf && (e >= 'a' && e <= 'z' || e >= 'A' && e <= 'Z' || e >= '0' && e <= '9') {
					return "", 0, s.errorf(s.off, "unexpected back-slash escape character '%c'", e)
				}
				b = append(b, e)
			}
			s.off += 2
		case c == '#' && s.src[s.off+1] == '{':
			codeStart := s.off + 2
			end, err := s.embedEnd(codeStart)
			if err != nil {
				return "", 0, err
			}
			v, k, err := eval(string(s.src[codeStart:end]), codeStart)
			if err != nil {
				return "", 0, err
			}
			switch {
			case k == KindNil:
				kind = KindNil
			case k == KindDefault && kind != KindNil:
				kind = KindDefault
			}
			b = append(b, v...)
			s.off = end + 1
		case c == '\n':
			return "", 0, s.errorf(s.off, "line break in a double-quoted string must follow a character on the same line")
		default:
			b = append(b, c)
			s.off++
		}
	}
}

// embedEnd finds the '}' that closes embedded Ruby code starting at off,
// skipping nested braces, string literals and comments.
func (s *scanner) embedEnd(off int) (int, error) {
	depth := 0
	for i := off; i < len(s.src); i++ {
		switch c := s.src[i]; c {
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i, nil
			}
			depth--
		case '\'', '"':
			j, err := s.rubyStringEnd(i)
			if err != nil {
				return 0, err
			}
			i = j
		case '#':
			for i < len(s.src) && s.src[i] != '\n' {
				i++
			}
		}
	}
	return 0, s.errorf(off-2, "unterminated embedded Ruby code \"#{\"")
}

// rubyStringEnd returns the offset of the closing quote of the Ruby string
// literal opening at off.
func (s *scanner) rubyStringEnd(off int) (int, error) {
	q := s.src[off]
	for i := off + 1; i < len(s.src); i++ {
		switch c := s.src[i]; {
		case c == '\\':
			i++
		case c == q:
			return i, nil
		case q == '"' && c == '#' && s.at(i+1) == '{':
			end, err := s.embedEnd(i + 2)
			if err != nil {
				return 0, err
			}
			i = end
		}
	}
	return 0, s.errorf(off, "unterminated string literal in embedded Ruby code")
}

// scanJSON reads a JSON array or hash whose opening bracket is at open
// (already consumed), possibly spanning lines with '#' comments after
// complete elements, and returns it compacted as Ruby's JSON.dump would.
func (s *scanner) scanJSON(open int) (string, error) {
	what := "array"
	if s.src[open] == '{' {
		what = "hash"
	}
	buf := []byte{s.src[open]}
	depth := 1
	inStr, esc := false, false
	for depth > 0 {
		if s.off >= len(s.src) {
			return "", s.errorf(open, "incomplete JSON %s value (a value starting with %q is read as JSON; quote it if it is not)", what, s.src[open:open+1])
		}
		c := s.src[s.off]
		s.off++
		if inStr {
			buf = append(buf, c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '#':
			for s.off < len(s.src) && s.src[s.off] != '\n' {
				s.off++
			}
			continue
		case '"':
			inStr = true
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		}
		buf = append(buf, c)
	}
	out, err := compactJSON(buf)
	if err != nil {
		return "", errorAt(s.pos(open), nil, "invalid JSON %s value (a value starting with %q is read as JSON; quote it if it is not): %v", what, s.src[open:open+1], err)
	}
	return out, nil
}

// compactJSON re-encodes JSON without insignificant whitespace, keeping key
// order, decoding \u escapes, and escaping only what Ruby's JSON.generate
// escapes.
func compactJSON(src []byte) (string, error) {
	if !json.Valid(src) {
		var v any
		err := json.Unmarshal(src, &v)
		if err == nil {
			err = strconv.ErrSyntax
		}
		return "", err
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var out []byte
	// needComma tracks, per open container, whether a separator is due;
	// inObj whether the container is an object (keys and values alternate).
	type frame struct {
		obj bool
		n   int
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if d, ok := tok.(json.Delim); ok && (d == ']' || d == '}') {
			stack = stack[:len(stack)-1]
			out = append(out, byte(d))
			continue
		}
		if n := len(stack); n > 0 {
			f := &stack[n-1]
			if f.obj {
				if f.n%2 == 1 {
					out = append(out, ':')
				} else if f.n > 0 {
					out = append(out, ',')
				}
			} else if f.n > 0 {
				out = append(out, ',')
			}
			f.n++
		}
		switch v := tok.(type) {
		case json.Delim:
			out = append(out, byte(v))
			stack = append(stack, frame{obj: v == '{'})
		case string:
			out = appendRubyJSONString(out, v)
		case json.Number:
			out = append(out, v...)
		case bool:
			out = strconv.AppendBool(out, v)
		case nil:
			out = append(out, "null"...)
		}
	}
	return string(out), nil
}

// appendRubyJSONString quotes v as Ruby's JSON.generate does: '"', '\\' and
// control characters are escaped; '/' and non-ASCII are kept.
func appendRubyJSONString(out []byte, v string) []byte {
	out = append(out, '"')
	out = buffer.AppendJSONEscaped(out, v, buffer.RubyEscapes)
	return append(out, '"')
}
