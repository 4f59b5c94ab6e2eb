package emulator

import (
	"encoding/json"
	"path"
	"strconv"
	"strings"
)

// JSON filter patterns
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):
// "{ $.level = "error" && ($.latency > 500 || $.code != 200) }". Supported:
// selectors $.a.b and $.a[0]; = and != on strings (with * wildcards) and
// numbers; <, <=, >, >= on numbers; IS NULL, IS TRUE, IS FALSE, NOT EXISTS;
// && and || with parentheses (&& binds tighter). A message that is not a
// JSON object matches nothing.

type jsonExpr interface {
	eval(doc any) bool
}

type jsonAnd struct{ l, r jsonExpr }
type jsonOr struct{ l, r jsonExpr }

func (e jsonAnd) eval(doc any) bool { return e.l.eval(doc) && e.r.eval(doc) }
func (e jsonOr) eval(doc any) bool  { return e.l.eval(doc) || e.r.eval(doc) }

// jsonCond is "selector op value" or "selector IS NULL" etc.
type jsonCond struct {
	path    []pathStep
	op      string // "=", "!=", "<", "<=", ">", ">=", "null", "true", "false", "notexists"
	str     string // string operand (glob)
	num     float64
	numeric bool // operand is a number
}

type pathStep struct {
	key   string
	index int // -1: object key
}

func (c jsonCond) eval(doc any) bool {
	v, ok := lookup(doc, c.path)
	switch c.op {
	case "notexists":
		return !ok
	case "null":
		return ok && v == nil
	case "true", "false":
		b, isBool := v.(bool)
		return ok && isBool && b == (c.op == "true")
	}
	if !ok {
		return false
	}
	if n, isNum := v.(json.Number); isNum {
		f, err := n.Float64()
		if err != nil || !c.numeric {
			// A number compared with a string operand: compare the text.
			return c.strMatch(string(n))
		}
		switch c.op {
		case "=":
			return f == c.num
		case "!=":
			return f != c.num
		case "<":
			return f < c.num
		case "<=":
			return f <= c.num
		case ">":
			return f > c.num
		case ">=":
			return f >= c.num
		}
		return false
	}
	s, isStr := v.(string)
	if !isStr {
		return false
	}
	return c.strMatch(s)
}

func (c jsonCond) strMatch(s string) bool {
	var eq bool
	if strings.Contains(c.str, "*") {
		eq, _ = path.Match(strings.ReplaceAll(escapeGlob(c.str), `\*`, "*"), s)
	} else {
		eq = s == c.str
	}
	switch c.op {
	case "=":
		return eq
	case "!=":
		return !eq
	}
	return false
}

// escapeGlob escapes path.Match metacharacters, including '*' (unescaped
// again by the caller, since '*' is the pattern's only wildcard).
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\*?[]`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func lookup(doc any, steps []pathStep) (any, bool) {
	v := doc
	for _, st := range steps {
		if st.index >= 0 {
			arr, ok := v.([]any)
			if !ok || st.index >= len(arr) {
				return nil, false
			}
			v = arr[st.index]
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[st.key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// matchJSON evaluates e on msg, which must be a JSON object.
func matchJSON(e jsonExpr, msg string) bool {
	t := strings.TrimSpace(msg)
	if !strings.HasPrefix(t, "{") {
		return false
	}
	d := json.NewDecoder(strings.NewReader(t))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return false
	}
	return e.eval(doc)
}

// parseJSONPattern parses "{ ... }"; ok is false for anything unsupported.
func parseJSONPattern(p string) (jsonExpr, bool) {
	p = strings.TrimSpace(p)
	if len(p) < 2 || p[0] != '{' || p[len(p)-1] != '}' {
		return nil, false
	}
	jp := &jsonParser{s: p[1 : len(p)-1]}
	e, ok := jp.or()
	jp.space()
	if !ok || jp.i != len(jp.s) {
		return nil, false
	}
	return e, true
}

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *jsonParser) eat(tok string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

// eatWord consumes a case-insensitive keyword followed by a delimiter.
func (p *jsonParser) eatWord(w string) bool {
	p.space()
	end := p.i + len(w)
	if end > len(p.s) || !strings.EqualFold(p.s[p.i:end], w) {
		return false
	}
	if end < len(p.s) && !strings.ContainsRune(" \t\n)&|", rune(p.s[end])) {
		return false
	}
	p.i = end
	return true
}

func (p *jsonParser) or() (jsonExpr, bool) {
	return p.binary("||", p.and, func(l, r jsonExpr) jsonExpr { return jsonOr{l, r} })
}

func (p *jsonParser) and() (jsonExpr, bool) {
	return p.binary("&&", p.primary, func(l, r jsonExpr) jsonExpr { return jsonAnd{l, r} })
}

// binary parses operands (next) joined by op, left-associative (join makes
// the node of two).
func (p *jsonParser) binary(op string, next func() (jsonExpr, bool), join func(l, r jsonExpr) jsonExpr) (jsonExpr, bool) {
	l, ok := next()
	for ok && p.eat(op) {
		var r jsonExpr
		if r, ok = next(); ok {
			l = join(l, r)
		}
	}
	return l, ok
}

func (p *jsonParser) primary() (jsonExpr, bool) {
	if p.eat("(") {
		e, ok := p.or()
		if !ok || !p.eat(")") {
			return nil, false
		}
		return e, true
	}
	return p.cond()
}

func (p *jsonParser) cond() (jsonExpr, bool) {
	steps, ok := p.selector()
	if !ok {
		return nil, false
	}
	c := jsonCond{path: steps}
	switch {
	case p.eatWord("IS"):
		switch {
		case p.eatWord("NULL"):
			c.op = "null"
		case p.eatWord("TRUE"):
			c.op = "true"
		case p.eatWord("FALSE"):
			c.op = "false"
		default:
			return nil, false
		}
		return c, true
	case p.eatWord("NOT"):
		if !p.eatWord("EXISTS") {
			return nil, false
		}
		c.op = "notexists"
		return c, true
	}
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if p.eat(op) {
			c.op = op
			break
		}
	}
	if c.op == "" {
		return nil, false
	}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '"' {
		end := strings.IndexByte(p.s[p.i+1:], '"')
		if end < 0 {
			return nil, false
		}
		c.str = p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
	} else {
		start := p.i
		for p.i < len(p.s) && !strings.ContainsRune(" \t\n)&|", rune(p.s[p.i])) {
			p.i++
		}
		c.str = p.s[start:p.i]
		if c.str == "" {
			return nil, false
		}
		if f, err := strconv.ParseFloat(c.str, 64); err == nil {
			c.num, c.numeric = f, true
		}
	}
	if !c.numeric && c.op != "=" && c.op != "!=" {
		return nil, false // ordering needs a number
	}
	return c, true
}

// selector parses $.a.b[0].c.
func (p *jsonParser) selector() ([]pathStep, bool) {
	p.space()
	if !strings.HasPrefix(p.s[p.i:], "$") {
		return nil, false
	}
	p.i++
	var steps []pathStep
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '.':
			p.i++
			start := p.i
			for p.i < len(p.s) && isSelectorChar(p.s[p.i]) {
				p.i++
			}
			if p.i == start {
				return nil, false
			}
			steps = append(steps, pathStep{key: p.s[start:p.i], index: -1})
		case '[':
			end := strings.IndexByte(p.s[p.i:], ']')
			if end < 0 {
				return nil, false
			}
			n, err := strconv.Atoi(p.s[p.i+1 : p.i+end])
			if err != nil || n < 0 {
				return nil, false
			}
			steps = append(steps, pathStep{index: n})
			p.i += end + 1
		default:
			return steps, len(steps) > 0
		}
	}
	return steps, len(steps) > 0
}

func isSelectorChar(c byte) bool {
	return c == '_' || c == '-' || c == '@' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
