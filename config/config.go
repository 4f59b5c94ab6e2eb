// Package config reads Fluentd configuration files (v1 syntax, which Fluentd
// v0.12 also uses by default) into a tree of sections and parameters, and
// routes tags the way Fluentd does.
//
// The language follows Fluentd v1.19.3's lib/fluent/config/v1_parser.rb and
// literal_parser.rb (https://docs.fluentd.org/configuration/config-file):
// <section arg> … </section>
// elements, "key value" parameters, @include with globs relative to the
// including file, single-, double-quoted and bare values, multi-line JSON
// arrays and hashes, and "#{…}" embedded Ruby in double-quoted strings, of
// which logship evaluates the subset real configurations use (ruby.go).
//
// The result is a *Config: a root *Section holding the top-level directives
// (<source>, <filter>, <match>, <label>, <system>, …) in file order, with
// @include expanded in place. Typed accessors (value.go) decode Fluentd's
// literal forms (sizes, durations, booleans, arrays, hashes) and report errors
// with the parameter's file:line:col. Every accessor marks the parameter as
// consumed, so the mapping layer can report the ones it ignored
// (Config.ReportUnused) and unknown plugin types (Diagnostics.Unsupported).
//
// Routing (route.go, pattern.go) implements Fluentd's tag patterns, the
// filter chain and first-match-wins rule, and <label> scoping; tag.go expands
// in_tail's "tag kubernetes.*".
package config

import (
	"os"
	"path/filepath"
)

// DefaultMaxIncludeDepth is the include nesting depth beyond which parsing
// fails (an include cycle).
const DefaultMaxIncludeDepth = 32

// Options control parsing. The zero value parses with no environment
// variables set and no hostname.
type Options struct {
	// Env looks up an environment variable for "#{ENV['X']}". Pass
	// os.LookupEnv in production and MapEnv(m) in tests. Nil means every
	// variable is unset.
	Env func(name string) (value string, ok bool)
	// Hostname returns the host name for "#{Socket.gethostname}" and the
	// predefined Ruby variable hostname. Nil makes those an error.
	Hostname func() (string, error)
	// StrictIncludes makes an @include of a path without glob characters that
	// matches no file an error. False follows Fluentd, which silently
	// ignores it; logship then records a warning.
	StrictIncludes bool
	// IgnoreUnsupported downgrades Diagnostics.Unsupported from an error to a
	// warning (the --ignore-unsupported flag).
	IgnoreUnsupported bool
	// MaxIncludeDepth bounds include nesting; zero means
	// DefaultMaxIncludeDepth.
	MaxIncludeDepth int
}

// utf8BOM is skipped at the start of a file (Fluentd would read it as part
// of the first key).
const utf8BOM = "\xEF\xBB\xBF"

// MapEnv returns an Options.Env that looks names up in m.
func MapEnv(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// Config is a parsed configuration.
type Config struct {
	// Root is the implicit top-level section (Name "ROOT"): its Sections are
	// the top-level directives in file order, includes expanded.
	Root *Section
	// Files lists every file read, the main file first, in reading order.
	Files []string
	// Diag collects parse warnings and, later, the mapping layer's errors and
	// warnings.
	Diag *Diagnostics
}

// ParseFile reads and parses the configuration file at path, following its
// @include directives.
func ParseFile(path string, opts Options) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "read config", Err: err}
	}
	return Parse(path, src, opts)
}

// Parse parses src as the contents of the file name; relative @include paths
// resolve against name's directory.
func Parse(name string, src []byte, opts Options) (*Config, error) {
	if opts.MaxIncludeDepth <= 0 {
		opts.MaxIncludeDepth = DefaultMaxIncludeDepth
	}
	c := &Config{Diag: &Diagnostics{IgnoreUnsupported: opts.IgnoreUnsupported}}
	c.Root = &Section{Name: "ROOT", Pos: Pos{File: name, Line: 1, Col: 1}, used: true}
	p := &parser{opts: opts, cfg: c}
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = name
	}
	if err := p.parseFile(name, abs, src, c.Root, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// Directives returns the top-level sections named name (for example
// "source"), marking them used.
func (c *Config) Directives(name string) []*Section { return c.Root.Sections(name) }
