package enrich

import (
	"fmt"
	"regexp"
	"strings"

	"logship/buffer"
)

// GrepConfig is Fluentd's grep filter. A record is kept when every Regexps
// condition matches, every And group holds and every Or group holds, and no
// Excludes condition matches.
type GrepConfig struct {
	// Regexps must all match (<regexp> sections, v0.12 regexpN).
	Regexps []GrepCondition
	// Excludes drop the record when any matches (<exclude>, v0.12 excludeN).
	Excludes []GrepCondition
	// And groups: their regexps must all match; the record is dropped when
	// all their excludes match.
	And []GrepGroup
	// Or groups: at least one of their regexps must match; the record is
	// dropped when any of their excludes matches.
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

// NewFilter compiles the conditions.
func (c *GrepConfig) NewFilter(FilterDeps) (Filter, error) {
	g := &grep{}
	var err error
	if g.regexps, err = compileConds(c.Regexps); err != nil {
		return nil, err
	}
	if g.excludes, err = compileConds(c.Excludes); err != nil {
		return nil, err
	}
	for _, grp := range c.And {
		var cg grepGroup
		if cg.regexps, err = compileConds(grp.Regexps); err != nil {
			return nil, err
		}
		if cg.excludes, err = compileConds(grp.Excludes); err != nil {
			return nil, err
		}
		g.and = append(g.and, cg)
	}
	for _, grp := range c.Or {
		var cg grepGroup
		if cg.regexps, err = compileConds(grp.Regexps); err != nil {
			return nil, err
		}
		if cg.excludes, err = compileConds(grp.Excludes); err != nil {
			return nil, err
		}
		g.or = append(g.or, cg)
	}
	return g, nil
}

type grepCond struct {
	path []string
	re   *regexp.Regexp
}

type grepGroup struct{ regexps, excludes []grepCond }

type grep struct {
	regexps, excludes []grepCond
	and, or           []grepGroup
	buf               []byte
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
	for i := range g.regexps {
		if !g.match(r, &g.regexps[i]) {
			return false
		}
	}
	for i := range g.excludes {
		if g.match(r, &g.excludes[i]) {
			return false
		}
	}
	for _, grp := range g.and {
		for i := range grp.regexps {
			if !g.match(r, &grp.regexps[i]) {
				return false
			}
		}
		if len(grp.excludes) > 0 {
			all := true
			for i := range grp.excludes {
				if !g.match(r, &grp.excludes[i]) {
					all = false
					break
				}
			}
			if all {
				return false
			}
		}
	}
	for _, grp := range g.or {
		if len(grp.regexps) > 0 {
			any := false
			for i := range grp.regexps {
				if g.match(r, &grp.regexps[i]) {
					any = true
					break
				}
			}
			if !any {
				return false
			}
		}
		for i := range grp.excludes {
			if g.match(r, &grp.excludes[i]) {
				return false
			}
		}
	}
	return true
}
