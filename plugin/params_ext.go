package plugin

import "logship/buffer"

// paramsExt is the part of Params that reads more than one plain value: a
// hash, a regexp, repeated and numbered elements, the output's buffer, and
// the facts a mapper checks against the rest of the configuration.
type paramsExt interface {
	// Hash returns the parameter as a Fluentd hash (JSON or k:v pairs), nil
	// when not set.
	Hash(key string) map[string]string
	// Has reports whether the parameter is written in the section, in any
	// form (embedded Ruby's nil and default included); it marks it used.
	Has(key string) bool
	// Set reports whether the parameter is set to a value of its own (not
	// absent, nil or default); it marks it used.
	Set(key string) bool
	// Regexp returns the parameter written /pattern/flags (flags among i, m,
	// x) or as a bare pattern, in Ruby syntax. ok is false when it is not
	// set, or malformed (reported).
	Regexp(key string) (pattern, flags string, ok bool)
	// Numbered returns the keys of the parameters named prefix followed by
	// a number (v0.12 rewriterule1, regexp2…), by that number.
	Numbered(prefix string) []string
	// Sections returns a reader of every nested section called name, each
	// marked used, in file order.
	Sections(name string) []Params
	// ErrorfAt reports a problem at the parameter key (at the section when
	// key is "" or not written), prefixed with the header of the directive
	// ("<match …>: "), for a nested section too.
	ErrorfAt(key, format string, args ...any)
	// HasLabel reports whether the configuration defines <label name>.
	HasLabel(name string) bool
	// Buffer maps the output's buffer — its <buffer> section, else its
	// v0.12 flat buffer_* parameters renamed as Fluentd's compat helper
	// renames them — with logship's state-directory paths filled in, and
	// validates it. ok is false when it is malformed (reported). For the
	// reader of a <match> directive.
	Buffer() (c buffer.Config, ok bool)
}
