package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// parser holds the state shared by a file and the files it includes.
type parser struct {
	opts Options
	cfg  *Config
}

// fileParser parses one file (parse_element of v1_parser.rb).
type fileParser struct {
	p     *parser
	sc    *scanner
	stack []string // absolute paths of the files being included, outermost first
}

// parseFile parses src, the contents of name, as a root element whose
// parameters and sections are added to into.
func (p *parser) parseFile(name, abs string, src []byte, into *Section, stack []string) error {
	p.cfg.Files = append(p.cfg.Files, name)
	src = bytes.TrimPrefix(src, []byte(utf8BOM))
	fp := &fileParser{p: p, sc: newScanner(name, src), stack: append(stack[:len(stack):len(stack)], abs)}
	return fp.parseElement(into, true)
}

func (fp *fileParser) eval(code string, off int) (string, ValueKind, error) {
	return evalEmbedded(fp.sc, &fp.p.opts, code, off)
}

func isNameChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// scanName reads ELEMENT_NAME = /[a-zA-Z0-9_]+/.
func (fp *fileParser) scanName() string {
	sc := fp.sc
	start := sc.off
	for sc.off < len(sc.src) && isNameChar(sc.src[sc.off]) {
		sc.off++
	}
	return string(sc.src[start:sc.off])
}

// parseElement reads parameters and nested sections into sec until its end
// tag, or until the end of the file when root is set.
func (fp *fileParser) parseElement(sec *Section, root bool) error {
	sc := fp.sc
	for {
		sc.spacing()
		if sc.eof() {
			if root {
				return nil
			}
			return sc.errorf(sc.off, "expected end tag '</%s>' for %s at %s but got end of file", sec.Name, sec.Header(), sec.Pos)
		}
		start := sc.off
		switch {
		case sc.src[start] == '<' && sc.at(start+1) == '/':
			sc.off += 2
			name := fp.scanName()
			sc.spacing()
			if sc.at(sc.off) != '>' {
				return sc.errorf(sc.off, "expected '>' to close end tag </%s", name)
			}
			sc.off++
			if !sc.lineEnd() {
				return sc.errorf(sc.skipBlanks(sc.off), "expected end of line after end tag </%s>", name)
			}
			if root || name != sec.Name {
				if root {
					return sc.errorf(start, "unmatched end tag </%s>", name)
				}
				return sc.errorf(start, "unmatched end tag </%s>: open section is %s at %s", name, sec.Header(), sec.Pos)
			}
			return nil

		case sc.src[start] == '<':
			sc.off++
			name := fp.scanName()
			if name == "" {
				return sc.errorf(sc.off, "expected a section name after '<'")
			}
			sc.spacing()
			// The argument may be quoted, with embedded Ruby in double
			// quotes: <match "app.#{ENV['TAG']}"> (Fluentd v1.4+).
			arg, _, _, err := fp.scanString(boundTagClose)
			if err != nil {
				return err
			}
			sc.spacing()
			if sc.at(sc.off) != '>' {
				return sc.errorf(start, "expected '>' to close <%s", name)
			}
			sc.off++
			if !sc.lineEnd() {
				return sc.errorf(sc.skipBlanks(sc.off), "expected end of line after <%s>", name)
			}
			child := &Section{Name: name, Arg: arg, Pos: sc.pos(start)}
			if err := fp.parseElement(child, false); err != nil {
				return err
			}
			sec.Nested = append(sec.Nested, child)

		case root && fp.includeKeyword():
			if err := fp.parseInclude(sec); err != nil {
				return err
			}

		default:
			if err := fp.parseParam(sec, start, root); err != nil {
				return err
			}
		}
	}
}

// includeKeyword consumes /(\@include|include)#{SPACING}/ at the top level
// of a file.
func (fp *fileParser) includeKeyword() bool {
	sc := fp.sc
	off := sc.off
	legacy := true
	if sc.at(off) == '@' {
		off++
		legacy = false
	}
	const kw = "include"
	if len(sc.src)-off < len(kw) || string(sc.src[off:off+len(kw)]) != kw {
		return false
	}
	off += len(kw)
	if c := sc.at(off); off < len(sc.src) && !isBlank(c) && !isEOL(c) && c != '#' {
		return false
	}
	if legacy {
		fp.p.cfg.Diag.Warnf(sc.pos(sc.off), "'include' is deprecated; use '@include'")
	}
	sc.off, _ = sc.skipSpacing(off)
	return true
}

// reservedParam reports whether key is one of Fluentd's reserved
// parameters (RESERVED_PARAMS).
func reservedParam(key string) bool {
	switch key {
	case "@type", "@id", "@label", "@log_level":
		return true
	}
	return false
}

// parseParam reads one "key value" line; root is set at the top level of a
// file.
func (fp *fileParser) parseParam(sec *Section, start int, root bool) error {
	sc := fp.sc
	key, _, _, err := fp.scanString(boundSpacing)
	if err != nil {
		return err
	}
	if sc.spacingWithoutComment() || sc.eof() {
		// A key alone on its line has the empty value (a bare flag).
		fp.setParam(sec, &Param{Key: key, Pos: sc.pos(start), ValuePos: sc.pos(start)})
		return nil
	}
	if key == "@include" {
		return fp.parseInclude(sec)
	}
	if strings.HasPrefix(key, "@") && !reservedParam(key) {
		// v1_parser.rb: an error at the top level and directly in
		// <match>/<source>/<filter>/<system>, a warning deeper.
		if root || sec.Name == "match" || sec.Name == "source" || sec.Name == "filter" || sec.Name == "system" {
			return sc.errorf(start, "'@' is Fluentd's reserved prefix; %s is not a parameter (reserved: @type, @id, @label, @log_level)", key)
		}
		fp.p.cfg.Diag.Warnf(sc.pos(start), "'@' is Fluentd's reserved prefix; Fluentd accepts %s in a nested section for now but will reject it", key)
	}
	valOff := sc.off
	var (
		val   string
		kind  ValueKind
		quote byte
	)
	if c := sc.src[valOff]; c == '[' || c == '{' {
		sc.off++
		quote = c
		val, err = sc.scanJSON(valOff)
	} else {
		val, kind, quote, err = fp.scanString(boundLineEnd)
	}
	if err != nil {
		return err
	}
	if !sc.lineEnd() {
		return sc.errorf(sc.skipBlanks(sc.off), "expected end of line after the value of %q", key)
	}
	p := &Param{Key: key, Value: val, Kind: kind, Quote: quote, Pos: sc.pos(start), ValuePos: sc.pos(valOff)}
	if quote == 0 && len(val) > 0 && val[0] == '#' {
		fp.p.cfg.Diag.Warnf(p.ValuePos, "value of %q is %q: Fluentd reads a '#' after the key as the value, not as a comment", key, val)
	}
	fp.setParam(sec, p)
	return nil
}

func (fp *fileParser) setParam(sec *Section, p *Param) {
	p.diag = fp.p.cfg.Diag
	if prev := sec.setParam(p); prev != nil {
		fp.p.cfg.Diag.Warnf(p.Pos, "parameter %q repeated in %s: this value replaces the one at %s", p.Key, sec.Header(), prev.Pos)
	}
}

// scanString implements scan_string: a double- or single-quoted string or a
// bare one ending at the boundary.
func (fp *fileParser) scanString(b boundary) (string, ValueKind, byte, error) {
	sc := fp.sc
	open := sc.off
	switch sc.at(open) {
	case '"':
		sc.off++
		v, k, err := sc.scanDouble(open, fp.eval)
		return v, k, '"', err
	case '\'':
		sc.off++
		v, err := sc.scanSingle(open)
		return v, KindString, '\'', err
	}
	return sc.scanBare(b), KindString, 0, nil
}

// parseInclude reads the path of an @include (after the keyword) and parses
// every file it names into sec.
func (fp *fileParser) parseInclude(sec *Section) error {
	sc := fp.sc
	pathOff := sc.off
	uri, kind, _, err := fp.scanString(boundLineEnd)
	if err != nil {
		return err
	}
	at := sc.pos(pathOff)
	if kind != KindString {
		return errorAt(at, nil, "@include path evaluates to nil or default")
	}
	if !sc.lineEnd() {
		return sc.errorf(sc.skipBlanks(sc.off), "expected end of line after @include path")
	}
	files, err := fp.resolveInclude(uri, at)
	if err != nil {
		return err
	}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			abs = f
		}
		for _, s := range fp.stack {
			if s == abs {
				return errorAt(at, nil, "@include %q: include cycle through %s", uri, f)
			}
		}
		if len(fp.stack) >= fp.p.opts.MaxIncludeDepth {
			return errorAt(at, nil, "@include %q: includes nested deeper than %d", uri, fp.p.opts.MaxIncludeDepth)
		}
		src, err := os.ReadFile(f)
		if err != nil {
			return errorAt(at, err, "@include %q", uri)
		}
		if err := fp.p.parseFile(f, abs, src, sec, fp.stack); err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.IncludedFrom = append(e.IncludedFrom, at)
			}
			return err
		}
	}
	return nil
}

// evalEmbedded evaluates the code of one "#{…}" found at file offset off.
func evalEmbedded(sc *scanner, opts *Options, code string, off int) (string, ValueKind, error) {
	p := &rubyParser{sc: sc, code: code, base: off, vars: map[string]bool{}}
	if err := p.lex(); err != nil {
		return "", 0, err
	}
	n, err := p.parseProgram()
	if err != nil {
		return "", 0, err
	}
	if p.peek().kind != 0 {
		return "", 0, p.unexpected()
	}
	if n == nil {
		return "", KindString, nil
	}
	env := &rubyEnv{opts: opts, locals: map[string]any{}}
	v, err := env.eval(n)
	switch {
	case errors.Is(err, errUseNil):
		return "", KindNil, nil
	case errors.Is(err, errUseDefault):
		return "", KindDefault, nil
	case err != nil:
		var r *rubyRaise
		if errors.As(err, &r) {
			return "", 0, errorAt(sc.pos(off-2), nil, "embedded Ruby \"#{%s}\" raised %s", strings.TrimSpace(code), r)
		}
		return "", 0, errorAt(sc.pos(off-2), err, "embedded Ruby \"#{%s}\"", strings.TrimSpace(code))
	}
	s, ok := rubyToS(v)
	if !ok {
		return "", 0, p.unsupported(off, "result of class %s", rubyClass(v))
	}
	return s, KindString, nil
}
