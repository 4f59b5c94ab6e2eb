package emulator

import (
	"strings"
)

// matcher is a compiled filter pattern. The emulator supports the plain-term
// syntax of CloudWatch Logs filter patterns
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):
// the empty pattern matches everything; terms
// separated by spaces must all occur in the message (case-sensitive); a
// "quoted phrase" is one term; ?term makes a term optional such that at least
// one ?term must occur; -term excludes messages containing it. JSON
// patterns ({ $.x = ... }) are supported as jsonpattern.go describes;
// space-delimited ([a, b]) patterns are not.
type matcher struct {
	all  []string
	any  []string
	none []string
	json jsonExpr // non-nil for a JSON pattern
}

// parseFilterPattern compiles p; ok is false for unsupported syntax.
func parseFilterPattern(p string) (matcher, bool) {
	var m matcher
	p = strings.TrimSpace(p)
	if p == "" {
		return m, true
	}
	if p[0] == '{' {
		e, ok := parseJSONPattern(p)
		m.json = e
		return m, ok
	}
	if p[0] == '[' {
		return m, false
	}
	for p != "" {
		var kind byte
		if p[0] == '?' || p[0] == '-' {
			kind, p = p[0], p[1:]
		}
		var term string
		if p != "" && p[0] == '"' {
			end := 1
			var b strings.Builder
			for end < len(p) && p[end] != '"' {
				if p[end] == '\\' && end+1 < len(p) {
					end++
				}
				b.WriteByte(p[end])
				end++
			}
			if end >= len(p) {
				return m, false // unterminated quote
			}
			term, p = b.String(), p[end+1:]
		} else {
			i := strings.IndexAny(p, " \t")
			if i < 0 {
				i = len(p)
			}
			term, p = p[:i], p[i:]
		}
		p = strings.TrimLeft(p, " \t")
		if term == "" {
			if kind != 0 {
				return m, false
			}
			continue
		}
		switch kind {
		case '?':
			m.any = append(m.any, term)
		case '-':
			m.none = append(m.none, term)
		default:
			m.all = append(m.all, term)
		}
	}
	return m, true
}

// match reports whether msg satisfies the pattern.
func (m matcher) match(msg string) bool {
	if m.json != nil {
		return matchJSON(m.json, msg)
	}
	for _, t := range m.all {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	for _, t := range m.none {
		if strings.Contains(msg, t) {
			return false
		}
	}
	if len(m.any) == 0 {
		return true
	}
	for _, t := range m.any {
		if strings.Contains(msg, t) {
			return true
		}
	}
	return false
}
