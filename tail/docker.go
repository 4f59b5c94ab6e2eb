package tail

import "logship/buffer"

// parseDocker parses one docker json-file record without its '\n':
//
//	{"log":"<text, \n-terminated when complete>","stream":"stdout","time":"<RFC3339Nano>"}
//
// with keys in any order and unknown keys (such as "attrs") skipped (moby
// daemon/logger/jsonfilelog writes them; docker's log copier cuts lines at
// 16 KiB, daemon/logger/copier.go). The "log" string is decoded IN PLACE in line (a decoded
// JSON string is never longer than its encoding), so line must be writable and
// not yet shared; it is written only after the whole object and the string's
// escapes were validated, so a malformed line (bad set) is returned unchanged as
// content. A complete entry's trailing "\n" is removed from content; an entry
// without one is a partial (docker cuts lines at 16 KiB).
func parseDocker(line []byte) record {
	p := jsonScanner{b: line}
	var r record
	logS, logE := -1, -1
	p.ws()
	if !p.eat('{') {
		return record{content: line, bad: true}
	}
	for {
		p.ws()
		ks, ke, ok := p.rawString()
		if !ok {
			return record{content: line, bad: true}
		}
		key := line[ks:ke]
		p.ws()
		if !p.eat(':') {
			return record{content: line, bad: true}
		}
		p.ws()
		switch string(key) {
		case "log", "stream", "time":
			s, e, ok := p.rawString()
			if !ok {
				return record{content: line, bad: true}
			}
			switch key[0] {
			case 'l':
				logS, logE = s-1, e+1
			case 's':
				switch string(line[s:e]) {
				case "stdout":
					r.stream = StreamStdout
				case "stderr":
					r.stream = StreamStderr
				}
			default:
				r.timeText = line[s:e]
			}
		default:
			if !p.skipValue(0) {
				return record{content: line, bad: true}
			}
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			break
		}
		return record{content: line, bad: true}
	}
	p.ws()
	if p.i != len(line) || logS < 0 || !validString(line[logS+1:logE-1]) {
		return record{content: line, bad: true}
	}
	// The structure and the escapes are valid: decode the log string in
	// place (the only write to line).
	d := jsonScanner{b: line, i: logS}
	s, e, ok := d.decodeString()
	if !ok {
		return record{content: line, bad: true}
	}
	r.content = line[s:e]
	if n := len(r.content); n > 0 && r.content[n-1] == '\n' {
		r.content = r.content[:n-1]
	} else {
		r.partial = true
	}
	t, ok := parseTimestamp(r.timeText)
	r.time, r.badTime = t, !ok
	return r
}

// validString reports whether raw (a JSON string's bytes between the quotes)
// has only valid escapes and no control characters.
func validString(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c < 0x20 {
			return false
		}
		if c != '\\' {
			continue
		}
		if i+1 >= len(raw) {
			return false
		}
		switch raw[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			if i+6 > len(raw) {
				return false
			}
			for _, h := range raw[i+2 : i+6] {
				if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
					return false
				}
			}
			i += 5
		default:
			return false
		}
	}
	return true
}

// jsonScanner is a minimal JSON reader for docker's three-field objects. It
// never allocates; decodeString rewrites the string in place.
type jsonScanner struct {
	b []byte
	i int
}

func (p *jsonScanner) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonScanner) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// rawString returns the bounds of a string's raw bytes (escapes not decoded)
// and moves past it.
func (p *jsonScanner) rawString() (int, int, bool) {
	if !p.eat('"') {
		return 0, 0, false
	}
	s := p.i
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '"':
			e := p.i
			p.i++
			return s, e, true
		case '\\':
			p.i += 2
		default:
			p.i++
		}
	}
	return 0, 0, false
}

// decodeString decodes a JSON string in place: the decoded bytes are written
// from the string's first byte on, and their bounds returned. Invalid UTF-8 in
// the input is kept as is; lone surrogates become U+FFFD (as encoding/json).
func (p *jsonScanner) decodeString() (int, int, bool) {
	if !p.eat('"') {
		return 0, 0, false
	}
	s := p.i
	text, n, err := buffer.AppendJSONUnquoted(p.b[s:s], p.b[s:])
	if err != nil {
		return 0, 0, false
	}
	p.i = s + n
	return s, s + len(text), true
}

// skipValue moves past one JSON value (used for keys such as "attrs").
func (p *jsonScanner) skipValue(depth int) bool {
	if depth > 64 || p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		_, _, ok := p.rawString()
		return ok
	case c == '{' || c == '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		p.i++
		p.ws()
		if p.eat(end) {
			return true
		}
		for {
			p.ws()
			if c == '{' {
				if _, _, ok := p.rawString(); !ok {
					return false
				}
				p.ws()
				if !p.eat(':') {
					return false
				}
				p.ws()
			}
			if !p.skipValue(depth + 1) {
				return false
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			return p.eat(end)
		}
	default:
		s := p.i
		for p.i < len(p.b) {
			switch p.b[p.i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return p.i > s
			}
			p.i++
		}
		return p.i > s
	}
}
