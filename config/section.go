package config

import "strings"

// Section is one element of the configuration: a directive such as
// <match kubernetes.**> or a nested section such as <parse> or
// <buffer tag,time>. Sections and parameters are configuration-time values:
// their accessors record what was consumed (for Config.ReportUnused), so
// they are not safe for concurrent use.
type Section struct {
	// Name is the element name ("source", "match", "parse", ...; "ROOT" for
	// the implicit top level).
	Name string
	// Arg is the text between the name and '>', trailing spaces removed:
	// the patterns of <match>/<filter>, the name of <label @X>, the chunk keys
	// of <buffer tag,time>. Empty when absent.
	Arg string
	// Pos is the position of the opening '<'.
	Pos Pos
	// Params are the parameters in order of first appearance; a repeated key
	// replaces the earlier value in place (Fluentd keeps the last value).
	Params []*Param
	// Nested are the nested sections in file order.
	Nested []*Section
	// Compat marks a section synthesized from v0.12 parameters
	// (CompatBuffer, CompatParse, CompatInject).
	Compat bool

	used bool
}

// Param is one "key value" line.
type Param struct {
	Key string
	// Value is the decoded value: quotes removed, escapes and embedded Ruby
	// evaluated, JSON values compacted. Empty when Kind is not KindString.
	Value string
	// Kind tells whether embedded Ruby asked for nil or the default.
	Kind ValueKind
	// Quote is how the value was written: 0 (bare or no value), '"', '\'',
	// '[' or '{' (a JSON array or hash).
	Quote byte
	// From is the v0.12 key a Compat… conversion renamed this parameter
	// from ("" for parameters written as they are).
	From string
	// Pos is the position of the key; ValuePos that of the value's first byte
	// (the key's when the value is empty).
	Pos      Pos
	ValuePos Pos

	used bool
	diag *Diagnostics
}

// ValueKind says what a parameter's value is.
type ValueKind uint8

const (
	// KindString is an ordinary value (possibly empty).
	KindString ValueKind = iota
	// KindNil is a value whose embedded Ruby evaluated use_nil: Fluentd sets
	// the parameter to nil. Section's typed getters return their default;
	// Param's decoders return an error (check Set first).
	KindNil
	// KindDefault is a value whose embedded Ruby evaluated use_default:
	// Fluentd uses the parameter's default. Section's typed getters return
	// their default; Param's decoders return an error (check Set first).
	KindDefault
)

// Set reports whether p has a value of its own (not use_nil/use_default).
func (p *Param) Set() bool { return p != nil && p.Kind == KindString }

// MarkUsed records that the mapping layer consumed p.
func (p *Param) MarkUsed() { p.used = true }

// Used reports whether p was consumed.
func (p *Param) Used() bool { return p.used }

// MarkUsed records that the mapping layer handled s (and so its nested
// sections are not reported as unused as a whole).
func (s *Section) MarkUsed() { s.used = true }

// Used reports whether s was handled.
func (s *Section) Used() bool { return s.used }

// Param returns the parameter key, or nil, and marks it used.
func (s *Section) Param(key string) *Param {
	return firstUsed(s.Params, func(p *Param) bool { return p.Key == key })
}

// Has reports whether key is present, marking it used.
func (s *Section) Has(key string) bool { return s.Param(key) != nil }

// Sections returns the nested sections named name, marking them used.
func (s *Section) Sections(name string) []*Section {
	var out []*Section
	for _, c := range s.Nested {
		if c.Name == name {
			c.used = true
			out = append(out, c)
		}
	}
	return out
}

// Section returns the first nested section named name, or nil, marking it
// used.
func (s *Section) Section(name string) *Section {
	return firstUsed(s.Nested, func(c *Section) bool { return c.Name == name })
}

// firstUsed returns the first of list that is, marked used, or nil.
func firstUsed[T interface{ MarkUsed() }](list []T, is func(T) bool) T {
	for _, v := range list {
		if is(v) {
			v.MarkUsed()
			return v
		}
	}
	var none T
	return none
}

// reserved returns the value of the first of keys present, marking it used.
func (s *Section) reserved(keys ...string) (string, *Param) {
	for _, k := range keys {
		if p := s.Param(k); p != nil {
			if p.Kind != KindString {
				return "", p
			}
			return p.Value, p
		}
	}
	return "", nil
}

// Type returns the plugin type: @type, or the v0.12 spelling type. The
// returned *Param is nil when neither is present.
func (s *Section) Type() (string, *Param) { return s.reserved("@type", "type") }

// ID returns @id ("" when absent).
func (s *Section) ID() string { v, _ := s.reserved("@id"); return v }

// Label returns @label ("" when absent).
func (s *Section) Label() string { v, _ := s.reserved("@label"); return v }

// LogLevel returns @log_level, or the older spelling log_level.
func (s *Section) LogLevel() string { v, _ := s.reserved("@log_level", "log_level"); return v }

// Patterns splits Arg at whitespace, as Fluentd splits the argument of
// <match>/<filter>; an empty Arg is "**".
func (s *Section) Patterns() []string {
	f := strings.Fields(s.Arg)
	if len(f) == 0 {
		return []string{"**"}
	}
	return f
}

// Header formats the opening tag, e.g. "<match **>".
func (s *Section) Header() string {
	if s.Arg == "" {
		return "<" + s.Name + ">"
	}
	return "<" + s.Name + " " + s.Arg + ">"
}

// setParam appends p or replaces an earlier parameter with the same key.
func (s *Section) setParam(p *Param) (prev *Param) {
	for i, q := range s.Params {
		if q.Key == p.Key {
			s.Params[i] = p
			return q
		}
	}
	s.Params = append(s.Params, p)
	return nil
}
