package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// maxAlternatives bounds the expansion of {a,b} groups in one glob.
const maxAlternatives = 4096

// Pattern is a compiled Fluentd tag pattern: the argument of <match> or
// <filter>, one or more globs separated by spaces, any of which may match
// (Fluentd's OrMatchPattern of GlobMatchPatterns, fluentd lib/fluent/match.rb).
//
// Glob syntax: "*" matches any run of characters without a dot (so exactly
// one tag part, or part of one); "**" matches anything, and "a.**" also
// matches "a" (a dot before "**" is optional), "**.b" also matches "b";
// "{x,y}" matches either alternative (nested, with globs inside); "\c"
// matches c literally. A pattern written /…/ is a regular expression anchored
// at both ends. Match does not allocate.
type Pattern struct {
	src  string
	alts [][]frag         // glob alternatives, each a flat sequence
	res  []*regexp.Regexp // /regexp/ patterns
	any  bool             // some alternative is exactly "**"
}

type fragKind uint8

const (
	fLit       fragKind = iota // literal text
	fStar                      // [^.]*
	fAny                       // .*
	fDotOrEnd                  // (?![^.]): at the end or before a '.'
	fDotPrefix                 // (?:.*\.|\A): after a '.' anywhere ahead, or at the start
)

type frag struct {
	kind fragKind
	lit  string
}

// item is a frag or, when alts is set, an alternation group.
type item struct {
	f    frag
	alts [][]item
}

// CompilePattern compiles the argument of a <match> or <filter> directive.
// An empty argument is "**", as in Fluentd.
func CompilePattern(arg string) (*Pattern, error) {
	p := &Pattern{src: arg}
	globs := strings.Fields(arg)
	if len(globs) == 0 {
		globs = []string{"**"}
	}
	for _, g := range globs {
		if strings.HasPrefix(g, "/") {
			if len(g) < 2 || !strings.HasSuffix(g, "/") {
				return nil, fmt.Errorf("invalid match pattern %q: a regexp pattern must end with '/'", g)
			}
			re, err := regexp.Compile(`\A` + g[1:len(g)-1] + `\z`)
			if err != nil {
				return nil, fmt.Errorf("invalid match pattern %q: %w", g, err)
			}
			p.res = append(p.res, re)
			continue
		}
		alts, err := compileGlob(g)
		if err != nil {
			return nil, fmt.Errorf("invalid match pattern %q: %w", g, err)
		}
		for _, a := range alts {
			if len(a) == 1 && a[0].kind == fAny {
				p.any = true
			}
		}
		p.alts = append(p.alts, alts...)
		if len(p.alts) > maxAlternatives {
			return nil, fmt.Errorf("match pattern %q has more than %d alternatives", arg, maxAlternatives)
		}
	}
	return p, nil
}

// MustCompilePattern is CompilePattern for patterns known to be valid; it
// panics on error.
func MustCompilePattern(arg string) *Pattern {
	p, err := CompilePattern(arg)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

// Match reports whether tag matches the pattern.
func (p *Pattern) Match(tag string) bool {
	if p.any {
		return true
	}
	for _, a := range p.alts {
		if matchAlt(a, tag) {
			return true
		}
	}
	for _, re := range p.res {
		if re.MatchString(tag) {
			return true
		}
	}
	return false
}

// compileGlob translates one glob the way GlobMatchPattern builds its
// regexp, then expands alternation groups into flat sequences.
func compileGlob(pat string) ([][]frag, error) {
	seqs := [][]item{nil} // regex: the sequence being built is the last
	var stack [][][]item  // open groups: their finished alternatives
	escape, dot := false, false
	emit := func(f frag) { seqs[len(seqs)-1] = append(seqs[len(seqs)-1], item{f: f}) }
	lit := func(s string) { emit(frag{kind: fLit, lit: s}) }
	closeGroup := func() {
		alts := append(stack[len(stack)-1], seqs[len(seqs)-1])
		stack = stack[:len(stack)-1]
		seqs = seqs[:len(seqs)-1]
		seqs[len(seqs)-1] = append(seqs[len(seqs)-1], item{alts: alts})
	}
	for i := 0; i < len(pat); {
		c := pat[i]
		if escape {
			lit(pat[i : i+1])
			escape = false
			i++
			continue
		}
		if strings.HasPrefix(pat[i:], "**") {
			if dot {
				emit(frag{kind: fDotOrEnd})
				dot = false
			}
			if i+2 < len(pat) && pat[i+2] == '.' {
				emit(frag{kind: fDotPrefix})
				i += 3
			} else {
				emit(frag{kind: fAny})
				i += 2
			}
			continue
		}
		if dot {
			lit(".")
			dot = false
		}
		switch {
		case c == '\\':
			escape = true
		case c == '.':
			dot = true
		case c == '*':
			emit(frag{kind: fStar})
		case c == '{':
			stack = append(stack, nil)
			seqs = append(seqs, nil)
		case c == '}' && len(stack) > 0:
			closeGroup()
		case c == ',' && len(stack) > 0:
			stack[len(stack)-1] = append(stack[len(stack)-1], seqs[len(seqs)-1])
			seqs[len(seqs)-1] = nil
		default:
			lit(pat[i : i+1])
		}
		i++
	}
	// A trailing dot is dropped, as in Fluentd ("a." matches "a").
	for len(stack) > 0 {
		closeGroup()
	}
	return flatten(seqs[0])
}

var errTooManyAlternatives = errors.New("too many {…} alternatives")

// flatten expands the groups of seq into the list of flat sequences it
// matches, merging adjacent literals.
func flatten(seq []item) ([][]frag, error) {
	out := [][]frag{nil}
	for _, it := range seq {
		if it.alts == nil {
			for i := range out {
				out[i] = appendFrag(out[i], it.f)
			}
			continue
		}
		var tails [][]frag
		for _, a := range it.alts {
			t, err := flatten(a)
			if err != nil {
				return nil, err
			}
			tails = append(tails, t...)
		}
		if len(out)*len(tails) > maxAlternatives {
			return nil, errTooManyAlternatives
		}
		next := make([][]frag, 0, len(out)*len(tails))
		for _, head := range out {
			for _, t := range tails {
				s := append([]frag(nil), head...)
				for _, f := range t {
					s = appendFrag(s, f)
				}
				next = append(next, s)
			}
		}
		out = next
	}
	return out, nil
}

// appendFrag appends f, merging adjacent literals and adjacent wildcards
// ("**" absorbs "*"), which match the same tags.
func appendFrag(s []frag, f frag) []frag {
	if len(s) == 0 {
		return append(s, f)
	}
	last := &s[len(s)-1]
	switch {
	case f.kind == fLit && last.kind == fLit:
		last.lit += f.lit
		return s
	case f.kind == fStar && (last.kind == fStar || last.kind == fAny):
		return s
	case f.kind == fAny && (last.kind == fStar || last.kind == fAny):
		last.kind = fAny
		return s
	}
	return append(s, f)
}

// memoBits is the number of (fragment, position) states Match can remember
// without allocating.
const memoBits = 1024

// matchAlt matches one flat sequence. Sequences with two or more
// variable-width fragments remember failed states, so matching stays
// polynomial (Fluentd's backtracking regexps are exponential on patterns
// like "*a*a*a…").
func matchAlt(fs []frag, tag string) bool {
	vars := 0
	for _, f := range fs {
		if f.kind == fStar || f.kind == fAny || f.kind == fDotPrefix {
			vars++
		}
	}
	if vars < 2 {
		return matchFrags(fs, 0, tag, 0, nil)
	}
	var buf [memoBits / 64]uint64
	n := (len(fs) + 1) * (len(tag) + 1)
	memo := buf[:]
	if n > memoBits {
		memo = make([]uint64, (n+63)/64)
	}
	return matchFrags(fs, 0, tag, 0, memo)
}

// matchFrags matches fs[k:] against tag[i:] to the end, backtracking over
// the variable-width fragments; memo, when set, records failed states.
func matchFrags(fs []frag, k int, tag string, i int, memo []uint64) bool {
	for ; k < len(fs); k++ {
		f := fs[k]
		switch f.kind {
		case fLit:
			if !strings.HasPrefix(tag[i:], f.lit) {
				return false
			}
			i += len(f.lit)
			continue
		case fDotOrEnd:
			if i < len(tag) && tag[i] != '.' {
				return false
			}
			continue
		}
		// A variable-width fragment: try each end position.
		state := k*(len(tag)+1) + i
		if memo != nil && memo[state/64]&(1<<(state%64)) != 0 {
			return false
		}
		ok := false
		switch f.kind {
		case fStar:
			j := i
			for j < len(tag) && tag[j] != '.' {
				j++
			}
			for e := j; e >= i && !ok; e-- {
				ok = matchFrags(fs, k+1, tag, e, memo)
			}
		case fAny:
			if k == len(fs)-1 {
				return true
			}
			for e := len(tag); e >= i && !ok; e-- {
				ok = matchFrags(fs, k+1, tag, e, memo)
			}
		case fDotPrefix:
			for e := len(tag) - 1; e >= i && !ok; e-- {
				ok = tag[e] == '.' && matchFrags(fs, k+1, tag, e+1, memo)
			}
			ok = ok || i == 0 && matchFrags(fs, k+1, tag, 0, memo)
		}
		if !ok && memo != nil {
			memo[state/64] |= 1 << (state % 64)
		}
		return ok
	}
	return i == len(tag)
}
