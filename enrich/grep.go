package enrich

import (
	"fmt"
	"regexp"
	"strings"

	"logship/buffer"
)

// GrepConfig is Fluentd's grep filter (see NewFilter for how the sections
// combine).
type GrepConfig struct {
	// Regexps must all match (<regexp> sections, v0.12 regexpN).
	Regexps []GrepCondition
	// Excludes drop the record when any matches (<exclude>, v0.12 excludeN).
	Excludes []GrepCondition
	// And sections: their regexps must all match; the record is dropped
	// when all their excludes (of every <and>) match.
	And []GrepGroup
	// Or sections: at least one of their regexps (of every <or>) must match;
	// the record is dropped when any of their excludes matches.
	Or []GrepGroup
}

// GrepGroup is an <and> or <or> section.
type GrepGroup struct {
	Regexps  []GrepCondition
	Excludes []GrepCondition
}

// GrepCondition matches the text of one field (Ruby's to_s; "" when the field
// is missing) against a Ruby regular expression.
type GrepCondition struct {
	// Key is a top-level field or a record accessor ($.a.b).
	Key string
	// Pattern is the expression in Ruby syntax, without slashes.
	Pattern string
	// Flags are the /…/ flags (i, m).
	Flags string
}

// NewFilter compiles the conditions into Fluentd's four lists: regexps that
// must all match (top-level and <and>), regexps of which one must match
// (<or>), excludes that drop when all match (<and>) and excludes that drop
// when any matches (top-level and <or>). Several <and> or <or> sections add
// to the same list, as in filter_grep.
func (c *GrepConfig) NewFilter(FilterDeps) (Filter, error) {
	g := &grep{}
	add := func(dst *[]grepCond, cs []GrepCondition) error {
		out, err := compileConds(cs)
		*dst = append(*dst, out...)
		return err
	}
	if err := add(&g.regexpAnd, c.Regexps); err != nil {
		return nil, err
	}
	if err := add(&g.excludeOr, c.Excludes); err != nil {
		return nil, err
	}
	for _, grp := range c.And {
		if err := add(&g.regexpAnd, grp.Regexps); err != nil {
			return nil, err
		}
		if err := add(&g.excludeAnd, grp.Excludes); err != nil {
			return nil, err
		}
	}
	for _, grp := range c.Or {
		if err := add(&g.regexpOr, grp.Regexps); err != nil {
			return nil, err
		}
		if err := add(&g.excludeOr, grp.Excludes); err != nil {
			return nil, err
		}
	}
	return g, nil
}

type grepCond struct {
	path []string
	re   *regexp.Regexp
}

type grep struct {
	regexpAnd, regexpOr, excludeAnd, excludeOr []grepCond
	buf                                        []byte
}

var _ Filter = (*grep)(nil)

func compileConds(cs []GrepCondition) ([]grepCond, error) {
	out := make([]grepCond, 0, len(cs))
	for _, c := range cs {
		if c.Key == "" {
			return nil, fmt.Errorf("grep: a condition has no key")
		}
		re, err := CompileRuby(c.Pattern, c.Flags)
		if err != nil {
			return nil, fmt.Errorf("grep: %s: %w", c.Key, err)
		}
		out = append(out, grepCond{path: AccessorPath(c.Key), re: re})
	}
	return out, nil
}

// CompileRuby compiles a Ruby regular expression (named groups (?<n>…), ^ and
// $ as line anchors, /i and /m flags) as Go's regexp.
func CompileRuby(pattern, flags string) (*regexp.Regexp, error) {
	f := "m"
	if strings.Contains(flags, "i") {
		f += "i"
	}
	if strings.Contains(flags, "m") {
		f += "s"
	}
	if strings.Contains(flags, "x") {
		return nil, fmt.Errorf("regexp /%s/%s: the x flag is not supported", pattern, flags)
	}
	re, err := regexp.Compile("(?" + f + ")" + RubyRegexp(pattern))
	if err != nil {
		return nil, fmt.Errorf("regexp /%s/: %w", pattern, err)
	}
	return re, nil
}

func (g *grep) match(r *buffer.Record, c *grepCond) bool {
	g.buf, _ = lookupText(g.buf[:0], r.Fields, c.path)
	return c.re.Match(g.buf)
}

// Filter keeps or drops r.
func (g *grep) Filter(r *buffer.Record) bool {
	for i := range g.regexpAnd {
		if !g.match(r, &g.regexpAnd[i]) {
			return false
		}
	}
	if len(g.regexpOr) > 0 {
		any := false
		for i := range g.regexpOr {
			if g.match(r, &g.regexpOr[i]) {
				any = true
				break
			}
		}
		if !any {
			return false
		}
	}
	if len(g.excludeAnd) > 0 {
		all := true
		for i := range g.excludeAnd {
			if !g.match(r, &g.excludeAnd[i]) {
				all = false
				break
			}
		}
		if all {
			return false
		}
	}
	for i := range g.excludeOr {
		if g.match(r, &g.excludeOr[i]) {
			return false
		}
	}
	return true
}
