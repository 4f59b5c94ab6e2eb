package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// This file evaluates the embedded Ruby of "#{…}" in double-quoted values.
// Fluentd evaluates the code with instance_eval and interpolates the result
// with to_s (nil becomes ""). logship implements the subset that real
// configurations use and refuses everything else with an error naming the
// expression and its position (Fluentd v1.19.3
// lib/fluent/config/literal_parser.rb evaluates "#{…}" in double-quoted
// strings; docs/fluentd-compat.md, "Embedded Ruby", says why a subset):
//
//	literals      'single', "double", true, false, nil
//	environment   ENV['X'], ENV["X"], ENV.fetch('X'), ENV.fetch('X', d),
//	              ENV.fetch('X') { d }
//	functions     File.join(a, b, …), Socket.gethostname,
//	              IPAddr.new(s).ipv6?, IPAddr.new(s).ipv4?
//	variables     hostname, worker_id (predefined by Fluentd), local
//	              variables assigned with =
//	operators     a || b, a + b (strings), c ? a : b, (…), a; b,
//	              x rescue y (modifier)
//	Fluentd       use_default (the parameter's default), use_nil (nil)

// rubyRaise is a Ruby exception that a rescue modifier can catch.
type rubyRaise struct {
	class, msg string
}

func (r *rubyRaise) Error() string { return r.class + ": " + r.msg }

// Sentinels for use_nil / use_default: they abort the evaluation and are not
// caught by rescue (Fluentd raises them outside StandardError).
var (
	errUseNil     = errors.New("use_nil")
	errUseDefault = errors.New("use_default")
)

type rtok struct {
	kind byte // 'i' identifier, 'c' constant, 's' string, 'p' punctuation, 0 EOF
	text string
	off  int // byte offset in the file
}

// rubyParser parses and evaluates one embedded code fragment.
type rubyParser struct {
	sc   *scanner
	code string
	base int // file offset of code[0]
	toks []rtok
	i    int
	vars map[string]bool // local variables assigned so far (parse time)
}

type rnode interface{}

type (
	rLit    struct{ v any }
	rVar    struct{ name string }
	rConst  struct{ name string }
	rAssign struct {
		name string
		val  rnode
	}
	rSeq  struct{ stmts []rnode }
	rOr   struct{ l, r rnode }
	rPlus struct {
		l, r rnode
		off  int
	}
	rTernary struct{ c, a, b rnode }
	rRescue  struct{ body, alt rnode }
	rIndex   struct {
		recv, idx rnode
		off       int
	}
	rCall struct {
		recv  rnode
		name  string
		args  []rnode
		block rnode
		off   int
	}
)

func (p *rubyParser) unsupported(off int, format string, args ...any) *Error {
	return errorAt(p.sc.pos(off), ErrUnsupported, "unsupported Ruby in \"#{%s}\": %s", strings.TrimSpace(p.code), fmt.Sprintf(format, args...))
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func (p *rubyParser) lex() error {
	s := p.code
	for i := 0; i < len(s); {
		c := s[i]
		off := p.base + i
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case isIdentStart(c):
			j := i + 1
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			// A method name may end in ? or ! right after a '.'.
			if j < len(s) && (s[j] == '?' || s[j] == '!') && len(p.toks) > 0 && p.toks[len(p.toks)-1].text == "." {
				j++
			}
			kind := byte('i')
			if c >= 'A' && c <= 'Z' {
				kind = 'c'
			}
			p.toks = append(p.toks, rtok{kind: kind, text: s[i:j], off: off})
			i = j
		case c == '\'' || c == '"':
			v, n, err := p.lexString(s[i:], off)
			if err != nil {
				return err
			}
			p.toks = append(p.toks, rtok{kind: 's', text: v, off: off})
			i += n
		default:
			two := ""
			if i+1 < len(s) {
				two = s[i : i+2]
			}
			switch two {
			case "||", "==", "!=", "&&", "::", "**", "<<", ">>", "<=", ">=", "=>", "+=", "-=", "|=", "&=":
				if two != "||" {
					return p.unsupported(off, "operator %q", two)
				}
				p.toks = append(p.toks, rtok{kind: 'p', text: two, off: off})
				i += 2
				continue
			}
			if strings.IndexByte("()[]{},.;?:=+", c) < 0 {
				return p.unsupported(off, "%q", string(c))
			}
			p.toks = append(p.toks, rtok{kind: 'p', text: string(c), off: off})
			i++
		}
	}
	p.toks = append(p.toks, rtok{off: p.base + len(s)})
	return nil
}

// lexString reads a Ruby string literal at the start of s, returning its
// value and length.
func (p *rubyParser) lexString(s string, off int) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s):
			i++
			e := s[i]
			if q == '\'' {
				if e != '\'' && e != '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(e)
				continue
			}
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case 's':
				b.WriteByte(' ')
			case 'e':
				b.WriteByte(0x1b)
			case 'a', 'b', 'f', 'v', 'x', 'u', 'c', 'C', 'M':
				return "", 0, p.unsupported(off+i-1, "escape \\%c in a string literal", e)
			default:
				b.WriteByte(e)
			}
		case q == '"' && c == '#' && i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '@' || s[i+1] == '$'):
			return "", 0, p.unsupported(off+i, "interpolation inside a string literal")
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, p.unsupported(off, "unterminated string literal")
}

func (p *rubyParser) peek() rtok { return p.toks[p.i] }

func (p *rubyParser) next() rtok {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *rubyParser) isPunct(text string) bool {
	t := p.peek()
	return t.kind == 'p' && t.text == text
}

func (p *rubyParser) expect(text string) error {
	if !p.isPunct(text) {
		return p.unexpected()
	}
	p.next()
	return nil
}

func (p *rubyParser) unexpected() *Error {
	t := p.peek()
	if t.kind == 0 {
		return p.unsupported(t.off, "unexpected end of code")
	}
	return p.unsupported(t.off, "unexpected %q", t.text)
}

// parseProgram parses statements separated by ';' until a closing token.
func (p *rubyParser) parseProgram() (rnode, error) {
	var seq rSeq
	for {
		for p.isPunct(";") {
			p.next()
		}
		t := p.peek()
		if t.kind == 0 || t.kind == 'p' && (t.text == ")" || t.text == "}") {
			break
		}
		n, err := p.parseStmt()
		if err != nil {
			return nil, err
		}
		seq.stmts = append(seq.stmts, n)
		if !p.isPunct(";") {
			break
		}
	}
	if len(seq.stmts) == 1 {
		return seq.stmts[0], nil
	}
	return seq, nil
}

func (p *rubyParser) parseStmt() (rnode, error) {
	t := p.peek()
	if t.kind == 'i' && p.toks[p.i+1].kind == 'p' && p.toks[p.i+1].text == "=" {
		if isRubyKeyword(t.text) || t.text == "use_nil" || t.text == "use_default" {
			return nil, p.unsupported(t.off, "assignment to %s", t.text)
		}
		p.next()
		p.next()
		p.vars[t.text] = true
		v, err := p.parseStmt()
		if err != nil {
			return nil, err
		}
		return rAssign{name: t.text, val: v}, nil
	}
	isRescue := func() bool { t := p.peek(); return t.kind == 'i' && t.text == "rescue" }
	return p.parseLeft(p.parseExpr, isRescue, func(body, alt rnode, _ int) rnode { return rRescue{body: body, alt: alt} })
}

// parseLeft parses operand (op operand)* and joins the operands from the
// left: at is true at an op, which join receives with its offset.
func (p *rubyParser) parseLeft(operand func() (rnode, error), at func() bool, join func(l, r rnode, off int) rnode) (rnode, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for at() {
		off := p.next().off
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = join(l, r, off)
	}
	return l, nil
}

func (p *rubyParser) parseExpr() (rnode, error) {
	c, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if !p.isPunct("?") {
		return c, nil
	}
	p.next()
	a, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expect(":"); err != nil {
		return nil, err
	}
	b, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	return rTernary{c: c, a: a, b: b}, nil
}

func (p *rubyParser) parseOr() (rnode, error) {
	return p.parseLeft(p.parsePlus, func() bool { return p.isPunct("||") }, func(l, r rnode, _ int) rnode { return rOr{l: l, r: r} })
}

func (p *rubyParser) parsePlus() (rnode, error) {
	return p.parseLeft(p.parsePostfix, func() bool { return p.isPunct("+") }, func(l, r rnode, off int) rnode { return rPlus{l: l, r: r, off: off} })
}

func (p *rubyParser) parsePostfix() (rnode, error) {
	n, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isPunct("["):
			off := p.next().off
			if c, ok := n.(rConst); !ok || c.name != "ENV" {
				return nil, p.unsupported(off, "indexing other than ENV[...]")
			}
			idx, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			n = rIndex{recv: n, idx: idx, off: off}
		case p.isPunct("."):
			p.next()
			m := p.next()
			if m.kind != 'i' {
				return nil, p.unsupported(m.off, "method name %q", m.text)
			}
			call := rCall{recv: n, name: m.text, off: m.off}
			if p.isPunct("(") {
				p.next()
				for !p.isPunct(")") {
					a, err := p.parseExpr()
					if err != nil {
						return nil, err
					}
					call.args = append(call.args, a)
					if !p.isPunct(",") {
						break
					}
					p.next()
				}
				if err := p.expect(")"); err != nil {
					return nil, err
				}
			}
			if p.isPunct("{") {
				p.next()
				b, err := p.parseProgram()
				if err != nil {
					return nil, err
				}
				if err := p.expect("}"); err != nil {
					return nil, err
				}
				call.block = b
			}
			if err := p.checkCall(call); err != nil {
				return nil, err
			}
			n = call
		default:
			return n, nil
		}
	}
}

// checkCall accepts only the methods logship implements.
func (p *rubyParser) checkCall(c rCall) error {
	recv := ""
	if k, ok := c.recv.(rConst); ok {
		recv = k.name
	}
	nargs := len(c.args)
	ok := false
	switch {
	case recv == "ENV" && c.name == "fetch":
		ok = nargs == 2 && c.block == nil || nargs == 1
	case recv == "File" && c.name == "join":
		ok = c.block == nil
	case recv == "Socket" && c.name == "gethostname":
		ok = nargs == 0 && c.block == nil
	case recv == "IPAddr" && c.name == "new":
		ok = nargs == 1 && c.block == nil
	case recv == "" && (c.name == "ipv6?" || c.name == "ipv4?"):
		ok = nargs == 0 && c.block == nil
	}
	if !ok {
		name := c.name
		if recv != "" {
			name = recv + "." + name
		}
		return p.unsupported(c.off, "method %s with %d argument(s)", name, nargs)
	}
	return nil
}

func isRubyKeyword(s string) bool {
	switch s {
	case "true", "false", "nil", "rescue", "if", "unless", "else", "elsif", "end", "and", "or", "not",
		"do", "while", "until", "case", "when", "def", "class", "module", "begin", "ensure", "self",
		"yield", "return", "then", "defined?", "lambda", "proc":
		return true
	}
	return false
}

func (p *rubyParser) parsePrimary() (rnode, error) {
	t := p.next()
	switch t.kind {
	case 's':
		return rLit{v: t.text}, nil
	case 'c':
		switch t.text {
		case "ENV", "File", "Socket", "IPAddr":
			return rConst{name: t.text}, nil
		}
		return nil, p.unsupported(t.off, "constant %s", t.text)
	case 'i':
		switch t.text {
		case "true":
			return rLit{v: true}, nil
		case "false":
			return rLit{v: false}, nil
		case "nil":
			return rLit{v: nil}, nil
		case "hostname", "worker_id", "use_nil", "use_default":
			if !p.vars[t.text] {
				return rVar{name: t.text}, nil
			}
		}
		if p.vars[t.text] {
			return rVar{name: t.text}, nil
		}
		if isRubyKeyword(t.text) {
			return nil, p.unsupported(t.off, "keyword %s", t.text)
		}
		return nil, p.unsupported(t.off, "undefined name %s", t.text)
	case 'p':
		if t.text == "(" {
			n, err := p.parseProgram()
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return n, nil
		}
	}
	p.i--
	return nil, p.unexpected()
}

// rubyEnv is the evaluation state of one fragment.
type rubyEnv struct {
	opts   *Options
	locals map[string]any
}

type ipAddr struct{ a netip.Addr }

func rubyClass(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case bool:
		return "true/false"
	case string:
		return "String"
	case ipAddr:
		return "IPAddr"
	}
	return "Object"
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	}
	return true
}

func (e *rubyEnv) eval(n rnode) (any, error) {
	switch n := n.(type) {
	case rLit:
		return n.v, nil
	case rSeq:
		var v any
		for _, s := range n.stmts {
			var err error
			if v, err = e.eval(s); err != nil {
				return nil, err
			}
		}
		return v, nil
	case rAssign:
		v, err := e.eval(n.val)
		if err != nil {
			return nil, err
		}
		e.locals[n.name] = v
		return v, nil
	case rVar:
		if v, ok := e.locals[n.name]; ok {
			return v, nil
		}
		switch n.name {
		case "use_nil":
			return nil, errUseNil
		case "use_default":
			return nil, errUseDefault
		case "hostname":
			return e.hostname()
		case "worker_id":
			if v, ok := e.env("SERVERENGINE_WORKER_ID"); ok {
				return v, nil
			}
			return "", nil
		}
		return nil, nil // assigned later in the code: nil, as in Ruby
	case rConst:
		return n, nil
	case rOr:
		l, err := e.eval(n.l)
		if err != nil || truthy(l) {
			return l, err
		}
		return e.eval(n.r)
	case rTernary:
		c, err := e.eval(n.c)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return e.eval(n.a)
		}
		return e.eval(n.b)
	case rRescue:
		v, err := e.eval(n.body)
		var r *rubyRaise
		if errors.As(err, &r) {
			return e.eval(n.alt)
		}
		return v, err
	case rPlus:
		l, err := e.eval(n.l)
		if err != nil {
			return nil, err
		}
		r, err := e.eval(n.r)
		if err != nil {
			return nil, err
		}
		ls, ok1 := l.(string)
		rs, ok2 := r.(string)
		if !ok1 {
			return nil, &rubyRaise{"NoMethodError", "undefined method '+' for " + rubyClass(l)}
		}
		if !ok2 {
			return nil, &rubyRaise{"TypeError", "no implicit conversion of " + rubyClass(r) + " into String"}
		}
		return ls + rs, nil
	case rIndex:
		k, err := e.evalString(n.idx)
		if err != nil {
			return nil, err
		}
		if v, ok := e.env(k); ok {
			return v, nil
		}
		return nil, nil
	case rCall:
		return e.call(n)
	}
	return nil, fmt.Errorf("internal: unknown Ruby node %T", n)
}

func (e *rubyEnv) evalString(n rnode) (string, error) {
	v, err := e.eval(n)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", &rubyRaise{"TypeError", "no implicit conversion of " + rubyClass(v) + " into String"}
	}
	return s, nil
}

func (e *rubyEnv) env(name string) (string, bool) {
	if e.opts.Env == nil {
		return "", false
	}
	return e.opts.Env(name)
}

func (e *rubyEnv) hostname() (any, error) {
	if e.opts.Hostname == nil {
		return nil, errors.New("hostname is not available (no Options.Hostname)")
	}
	h, err := e.opts.Hostname()
	if err != nil {
		return nil, fmt.Errorf("hostname: %w", err)
	}
	return h, nil
}

func (e *rubyEnv) call(c rCall) (any, error) {
	recv := ""
	if k, ok := c.recv.(rConst); ok {
		recv = k.name
	}
	switch recv + "." + c.name {
	case "ENV.fetch":
		k, err := e.evalString(c.args[0])
		if err != nil {
			return nil, err
		}
		if v, ok := e.env(k); ok {
			return v, nil
		}
		switch {
		case c.block != nil:
			return e.eval(c.block)
		case len(c.args) == 2:
			return e.eval(c.args[1])
		}
		return nil, &rubyRaise{"KeyError", fmt.Sprintf("key not found: %q", k)}
	case "File.join":
		var out string
		for i, a := range c.args {
			s, err := e.evalString(a)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				out = s
				continue
			}
			out = fileJoin(out, s)
		}
		return out, nil
	case "Socket.gethostname":
		return e.hostname()
	case "IPAddr.new":
		s, err := e.evalString(c.args[0])
		if err != nil {
			return nil, err
		}
		a, ok := parseIPAddr(s)
		if !ok {
			return nil, &rubyRaise{"IPAddr::InvalidAddressError", "invalid address: " + s}
		}
		return ipAddr{a}, nil
	}
	v, err := e.eval(c.recv)
	if err != nil {
		return nil, err
	}
	ip, ok := v.(ipAddr)
	if !ok {
		return nil, &rubyRaise{"NoMethodError", "undefined method '" + c.name + "' for " + rubyClass(v)}
	}
	if c.name == "ipv6?" {
		return ip.a.Is6(), nil
	}
	return ip.a.Is4(), nil
}

// fileJoin appends s to a path the way Ruby's File.join does: exactly one
// '/' at the joint unless s itself starts with '/'.
func fileJoin(a, s string) string {
	trimmed := strings.TrimRight(a, "/")
	hasSep := len(trimmed) < len(a)
	switch {
	case strings.HasPrefix(s, "/"):
		return trimmed + s
	case hasSep:
		return a + s
	}
	return a + "/" + s
}

func parseIPAddr(s string) (netip.Addr, bool) {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Addr{}, false
		}
		return p.Addr(), true
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

// rubyToS converts a result to a string as Ruby's interpolation does.
func rubyToS(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	case string:
		return v, true
	case ipAddr:
		return v.a.String(), true
	}
	return "", false
}
