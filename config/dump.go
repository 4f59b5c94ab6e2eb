package config

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// DumpOptions control Dump.
type DumpOptions struct {
	// Base, when set, is removed from file names (made relative to it), so
	// the output does not depend on where the files are.
	Base string
	// Redact, when set, is called with each parameter key; a true result
	// prints the value as "<redacted>".
	Redact func(key string) bool
}

// RedactSecrets reports whether a parameter key names a credential
// (aws_key_id, aws_sec_key, passwords, tokens, shared keys).
func RedactSecrets(key string) bool {
	k := strings.ToLower(key)
	for _, s := range []string{"aws_key_id", "aws_sec_key", "password", "secret", "token", "shared_key", "private_key", "access_key"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// Dump writes the configuration tree with includes expanded, one line per
// section or parameter, each followed by its file:line:col. The output is
// deterministic: golden tests and check-config use it.
func (c *Config) Dump(w io.Writer, o DumpOptions) error {
	d := &dumper{w: w, o: o}
	d.printf("# files:\n")
	for _, f := range c.Files {
		d.printf("#   %s\n", d.file(f))
	}
	for _, p := range c.Root.Params {
		d.param(p, 0)
	}
	for _, s := range c.Root.Nested {
		d.section(s, 0)
	}
	return d.err
}

type dumper struct {
	w   io.Writer
	o   DumpOptions
	err error
}

func (d *dumper) printf(format string, args ...any) {
	if d.err == nil {
		_, d.err = fmt.Fprintf(d.w, format, args...)
	}
}

func (d *dumper) file(f string) string {
	if d.o.Base == "" {
		return f
	}
	if r, err := filepath.Rel(d.o.Base, f); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return f
}

func (d *dumper) line(depth int, text string, p Pos) {
	s := strings.Repeat("  ", depth) + text
	pad := 56 - len(s)
	if pad < 1 {
		pad = 1
	}
	p.File = d.file(p.File)
	d.printf("%s%s# %s\n", s, strings.Repeat(" ", pad), p)
}

func (d *dumper) section(s *Section, depth int) {
	h := s.Header()
	if s.Compat {
		h += " (converted from v0.12 parameters)"
	}
	d.line(depth, h, s.Pos)
	for _, p := range s.Params {
		d.param(p, depth+1)
	}
	for _, n := range s.Nested {
		d.section(n, depth+1)
	}
	d.printf("%s</%s>\n", strings.Repeat("  ", depth), s.Name)
}

// FormatValue renders a parameter value for display: quoted, or <nil> and
// <default> for use_nil and use_default.
func FormatValue(p *Param) string {
	switch p.Kind {
	case KindNil:
		return "<nil>"
	case KindDefault:
		return "<default>"
	}
	return strconv.Quote(p.Value)
}

func (d *dumper) param(p *Param, depth int) {
	v := FormatValue(p)
	if d.o.Redact != nil && d.o.Redact(p.Key) && p.Kind == KindString {
		v = "<redacted>"
	}
	if p.From != "" && p.From != p.Key {
		v += " (from " + p.From + ")"
	}
	d.line(depth, p.Key+" "+v, p.Pos)
}
