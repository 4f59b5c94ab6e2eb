package config

import (
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// resolveInclude turns an @include argument into the files to read, in
// Fluentd's order: a relative path is resolved against the including file's
// directory, the result is expanded as a Ruby Dir.glob (braces, *, ?, [..],
// **) and sorted. A path matching nothing is ignored, as in Fluentd; without
// glob characters that is a warning (or an error with StrictIncludes).
func (fp *fileParser) resolveInclude(uri string, at Pos) ([]string, error) {
	p := uri
	if i := strings.Index(uri, "://"); i > 0 && isScheme(uri[:i]) {
		if !strings.EqualFold(uri[:i], "file") {
			return nil, errorAt(at, ErrUnsupported, "@include %q: including from a URL is not supported by logship; download the file and include it by path", uri)
		}
		u, err := url.Parse(uri)
		if err != nil {
			return nil, errorAt(at, err, "@include %q", uri)
		}
		p = u.Path
	}
	if p == "" {
		return nil, errorAt(at, nil, "@include with an empty path")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(fp.sc.file), p)
	}
	matches, err := rubyGlob(p)
	if err != nil {
		return nil, errorAt(at, err, "@include %q", uri)
	}
	if len(matches) == 0 && !strings.ContainsAny(p, "*?[{") {
		if fp.p.opts.StrictIncludes {
			return nil, errorAt(at, os.ErrNotExist, "@include %q: %s", uri, p)
		}
		fp.p.cfg.Diag.Warnf(at, "@include %q: %s does not exist; ignored as Fluentd does", uri, p)
	}
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.IsDir() {
			return nil, errorAt(at, nil, "@include %q: %s is a directory", uri, m)
		}
	}
	return matches, nil
}

func isScheme(s string) bool {
	if len(s) < 2 { // a single letter is a Windows drive
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// rubyGlob expands pattern like Ruby's Dir.glob without flags: braces are
// expanded first, '*' and '?' do not match a leading dot, and a "**" path
// segment matches any number of directories. The result is sorted and
// free of duplicates.
func rubyGlob(pattern string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, pat := range expandBraces(pattern) {
		if _, err := path.Match(pat, ""); err != nil {
			return nil, err
		}
		var base string
		segs := strings.Split(filepath.ToSlash(pat), "/")
		if filepath.IsAbs(pat) {
			base = "/"
			segs = segs[1:]
		}
		for _, m := range globSegments(base, segs) {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// globSegments matches the remaining pattern segments below dir.
func globSegments(dir string, segs []string) []string {
	// Skip empty segments (from "//" or a trailing slash).
	for len(segs) > 0 && segs[0] == "" {
		segs = segs[1:]
	}
	if len(segs) == 0 {
		if dir == "" {
			return nil
		}
		if _, err := os.Lstat(dir); err != nil {
			return nil
		}
		return []string{dir}
	}
	seg, rest := segs[0], segs[1:]
	join := func(name string) string {
		if dir == "" {
			return name
		}
		return filepath.Join(dir, name)
	}
	if !strings.ContainsAny(seg, "*?[\\") {
		if len(rest) == 0 {
			p := join(seg)
			if _, err := os.Lstat(p); err != nil {
				return nil
			}
			return []string{p}
		}
		return globSegments(join(seg), rest)
	}
	open := dir
	if open == "" {
		open = "."
	}
	entries, err := os.ReadDir(open)
	if err != nil {
		return nil
	}
	var out []string
	if seg == "**" {
		// Zero directories, then each non-hidden subdirectory recursively.
		out = append(out, globSegments(dir, rest)...)
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				out = append(out, globSegments(join(e.Name()), segs)...)
			}
		}
		return out
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") && !strings.HasPrefix(seg, ".") {
			continue
		}
		if ok, _ := path.Match(seg, name); !ok {
			continue
		}
		if len(rest) == 0 {
			out = append(out, join(name))
			continue
		}
		if isDir(join(name)) {
			out = append(out, globSegments(join(name), rest)...)
		}
	}
	return out
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// expandBraces expands {a,b} alternatives (nested allowed), keeping the
// order of the alternatives. An unbalanced brace is literal.
func expandBraces(p string) []string {
	depth, open := 0, -1
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '{':
			if depth == 0 {
				open = i
			}
			depth++
		case '}':
			if depth == 0 {
				continue
			}
			depth--
			if depth > 0 {
				continue
			}
			var alts []string
			d, last := 0, open+1
			for j := open + 1; j < i; j++ {
				switch p[j] {
				case '\\':
					j++
				case '{':
					d++
				case '}':
					d--
				case ',':
					if d == 0 {
						alts = append(alts, p[last:j])
						last = j + 1
					}
				}
			}
			alts = append(alts, p[last:i])
			var out []string
			for _, a := range alts {
				out = append(out, expandBraces(p[:open]+a+p[i+1:])...)
			}
			return out
		}
	}
	return []string{p}
}
