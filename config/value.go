package config

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file decodes parameter values the way Fluentd's config/types.rb
// does. Where Fluentd silently coerces a malformed value (integer "abc" is 0,
// size "1.5m" is 5 MiB, bool "True" is nil), logship returns the same value
// and records a warning in the Config's Diagnostics, so a drop-in config
// keeps working and the surprise is visible.

// String returns the value ("" for use_nil/use_default).
func (p *Param) String() string { return p.Value }

// name is the key as written (the v0.12 key of a converted parameter).
func (p *Param) name() string {
	if p.From != "" {
		return p.From
	}
	return p.Key
}

// literal marks p used (every decoder starts with it) and returns the error
// of decoding a use_nil/use_default value.
func (p *Param) literal() error {
	p.used = true
	if p.Kind == KindString {
		return nil
	}
	return p.errorf("the value is %s, not a %s", FormatValue(p), "literal (check Param.Set, or use the Section getters)")
}

func (p *Param) errorf(format string, args ...any) *Error {
	return errorAt(p.ValuePos, nil, "%s: "+format, append([]any{p.name()}, args...)...)
}

func (p *Param) warnf(format string, args ...any) {
	if p.diag != nil {
		p.diag.Warnf(p.ValuePos, "%s: "+format, append([]any{p.name()}, args...)...)
	}
}

// Bool decodes a bool: true/yes, false/no, and the empty value (a bare
// flag such as disable_retry_limit) is true. A value starting with '#'
// (a comment Fluentd's parser passes as the value) is true. Anything else is
// false with a warning (Fluentd yields nil).
func (p *Param) Bool() (bool, error) {
	if err := p.literal(); err != nil {
		return false, err
	}
	switch v := p.Value; {
	case v == "true" || v == "yes" || v == "":
		return true, nil
	case v == "false" || v == "no":
		return false, nil
	case strings.HasPrefix(v, "#"):
		return true, nil
	}
	p.warnf("%q is not a boolean (true, false, yes, no); Fluentd treats it as false", p.Value)
	return false, nil
}

// rubyInt parses the longest integer prefix as Ruby's String#to_i does
// (leading whitespace, sign, digits with single underscores), reporting
// whether the whole string was consumed.
func rubyInt(s string) (v int64, clean bool, err error) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v') {
		i++
	}
	lead := i
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	digits := 0
	var u uint64
	for i < len(s) {
		c := s[i]
		if c == '_' && digits > 0 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			i++
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		if u > (math.MaxInt64-uint64(c-'0'))/10 {
			return 0, false, strconv.ErrRange
		}
		u = u*10 + uint64(c-'0')
		digits++
		i++
	}
	v = int64(u)
	if neg {
		v = -v
	}
	return v, digits > 0 && lead == 0 && i == len(s), nil
}

// rubyFloat parses the longest float prefix as String#to_f does.
func rubyFloat(s string) (float64, bool) {
	t := strings.TrimLeft(s, " \t\n\r\f\v")
	i := 0
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '_' && n > 0 && i+1 < len(t) && t[i+1] >= '0' && t[i+1] <= '9') {
			i++
			n++
		}
		return n
	}
	intDigits := digits()
	if intDigits > 0 && i+1 < len(t) && t[i] == '.' && t[i+1] >= '0' && t[i+1] <= '9' {
		i++
		digits()
	}
	if intDigits > 0 && i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		j := i
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		if digits() == 0 {
			i = j
		}
	}
	if intDigits == 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(t[:i], "_", ""), 64)
	if err != nil {
		return 0, false
	}
	return f, len(t) == len(s) && i == len(t)
}

// Int decodes an integer with Ruby's lenient to_i ("nil" is 0, "10x" is 10;
// both with a warning). Overflow is an error.
func (p *Param) Int() (int64, error) {
	if err := p.literal(); err != nil {
		return 0, err
	}
	return p.toI("integer", "an integer", "")
}

// toI decodes p's value with Ruby's to_i: overflow is an error, a value
// that is not all integer is read as its prefix with a warning. what ("size")
// and aWhat ("a size") name the value, unit (" bytes") its number.
func (p *Param) toI(what, aWhat, unit string) (int64, error) {
	v, clean, err := rubyInt(p.Value)
	if err != nil {
		return 0, p.errorf("%s %q out of range", what, p.Value)
	}
	if !clean {
		p.warnf("%q is not %s; Fluentd reads it as %d%s", p.Value, aWhat, v, unit)
	}
	return v, nil
}

// Float decodes a float with Ruby's lenient to_f.
func (p *Param) Float() (float64, error) {
	if err := p.literal(); err != nil {
		return 0, err
	}
	v, clean := rubyFloat(p.Value)
	if !clean {
		p.warnf("%q is not a number; Fluentd reads it as %g", p.Value, v)
	}
	return v, nil
}

// suffixed finds the first run of digits immediately followed by one of
// suffixes (compared case-insensitively when fold is set), trying the
// suffixes in order, as Fluentd's unanchored /([0-9]+)k/ regexps do. It
// returns the digits' value, the suffix index and whether the match spans the
// whole string.
func suffixed(s, suffixes string, fold bool) (n int64, which int, whole bool, ok bool, err error) {
	for w := 0; w < len(suffixes); w++ {
		want := suffixes[w]
		for i := 0; i < len(s); {
			if s[i] < '0' || s[i] > '9' {
				i++
				continue
			}
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j < len(s) && (s[j] == want || fold && s[j]|0x20 == want) {
				v, _, err := rubyInt(s[i:j])
				return v, w, i == 0 && j+1 == len(s), true, err
			}
			i = j
		}
	}
	return 0, 0, false, false, nil
}

// Size decodes a byte size: an integer with an optional k, m, g or t suffix
// (either case, powers of 1024: "2M" is 2097152), else an integer.
func (p *Param) Size() (int64, error) {
	if err := p.literal(); err != nil {
		return 0, err
	}
	n, w, whole, ok, err := suffixed(p.Value, "kmgt", true)
	if err != nil {
		return 0, p.errorf("size %q out of range", p.Value)
	}
	if !ok {
		return p.toI("size", "a size", " bytes")
	}
	shift := uint(10 * (w + 1))
	if n > math.MaxInt64>>shift {
		return 0, p.errorf("size %q out of range", p.Value)
	}
	v := n << shift
	if !whole {
		p.warnf("%q is not a size like 8m; Fluentd reads it as %d bytes", p.Value, v)
	}
	return v, nil
}

// Duration decodes a time: an integer with an s, m, h or d suffix (lower
// case only), else float seconds ("0.5", "30").
func (p *Param) Duration() (time.Duration, error) {
	if err := p.literal(); err != nil {
		return 0, err
	}
	n, w, whole, ok, err := suffixed(p.Value, "smhd", false)
	if err != nil {
		return 0, p.errorf("time %q out of range", p.Value)
	}
	if ok {
		unit := [...]time.Duration{time.Second, time.Minute, time.Hour, 24 * time.Hour}[w]
		if n > int64(math.MaxInt64/unit) {
			return 0, p.errorf("time %q out of range", p.Value)
		}
		if !whole {
			p.warnf("%q is not a time like 10s; Fluentd reads it as %v", p.Value, time.Duration(n)*unit)
		}
		return time.Duration(n) * unit, nil
	}
	f, clean := rubyFloat(p.Value)
	if f*float64(time.Second) > math.MaxInt64 || f*float64(time.Second) < math.MinInt64 {
		return 0, p.errorf("time %q out of range", p.Value)
	}
	d := time.Duration(math.Round(f * float64(time.Second)))
	if !clean {
		p.warnf("%q is not a time like 10s; Fluentd reads it as %v", p.Value, d)
	}
	return d, nil
}

// jsonText renders a decoded JSON scalar as a string element: strings as
// themselves, everything else as its JSON text.
func jsonText(v json.RawMessage) string {
	var s string
	if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// Strings decodes an array: a JSON array when the value starts with '['
// (non-string elements become their JSON text), else a comma-separated list
// with spaces around commas removed and trailing empty elements dropped.
func (p *Param) Strings() ([]string, error) {
	if err := p.literal(); err != nil {
		return nil, err
	}
	v := p.Value
	if strings.HasPrefix(v, "[") {
		var raw []json.RawMessage
		if err := json.Unmarshal([]byte(v), &raw); err != nil {
			return nil, p.errorf("invalid JSON array %q: %v", v, err)
		}
		out := make([]string, len(raw))
		for i, r := range raw {
			out[i] = jsonText(r)
		}
		return out, nil
	}
	return splitList(v, ','), nil
}

// splitList splits like Ruby's str.strip.split(/\s*,\s*/).
func splitList(v string, sep byte) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return []string{}
	}
	parts := strings.Split(v, string(sep))
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// Hash decodes a hash: a JSON object when the value starts with '{'
// (non-string values become their JSON text), else "k1:v1,k2:v2" split at
// the first ':' of each element.
func (p *Param) Hash() (map[string]string, error) {
	if err := p.literal(); err != nil {
		return nil, err
	}
	v := p.Value
	out := map[string]string{}
	if strings.HasPrefix(v, "{") {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(v), &raw); err != nil {
			return nil, p.errorf("invalid JSON hash %q: %v", v, err)
		}
		for k, r := range raw {
			out[k] = jsonText(r)
		}
		return out, nil
	}
	for _, kv := range splitList(v, ',') {
		k, val, ok := strings.Cut(kv, ":")
		if !ok {
			return nil, p.errorf("hash element %q has no ':' (want k1:v1,k2:v2 or JSON)", kv)
		}
		out[k] = val
	}
	return out, nil
}

// Regexp splits a regexp value written /pattern/flags (flags among i, m, x)
// or as a bare pattern. The pattern is Ruby syntax; translating it is the
// caller's job.
func (p *Param) Regexp() (pattern, flags string, err error) {
	if err := p.literal(); err != nil {
		return "", "", err
	}
	v := p.Value
	if !strings.HasPrefix(v, "/") {
		return v, "", nil
	}
	r := strings.LastIndexByte(v, '/')
	if r == 0 || r < len(v)-4 || strings.Trim(v[r+1:], "imx") != "" {
		return "", "", p.errorf("invalid regexp %q: missing closing '/' or unknown flags", v)
	}
	return v[1:r], v[r+1:], nil
}

// Enum returns the value if it is one of allowed.
func (p *Param) Enum(allowed ...string) (string, error) {
	if err := p.literal(); err != nil {
		return "", err
	}
	for _, a := range allowed {
		if p.Value == a {
			return a, nil
		}
	}
	return "", p.errorf("%q is not one of %s", p.Value, strings.Join(allowed, ", "))
}

// value returns the parameter key when it is set to a value of its own:
// absent, use_nil and use_default all mean "use the default".
func (s *Section) value(key string) *Param {
	p := s.Param(key)
	if !p.Set() {
		return nil
	}
	return p
}

// String returns the value of key, or def when absent (or use_nil,
// use_default).
func (s *Section) String(key, def string) string {
	if p := s.value(key); p != nil {
		return p.String()
	}
	return def
}

// decoded returns p decoded by decode, or def when p is nil (absent, or
// not set to a value of its own).
func decoded[T any](p *Param, def T, decode func(*Param) (T, error)) (T, error) {
	if p == nil {
		return def, nil
	}
	return decode(p)
}

// Bool returns key decoded by Param.Bool, or def.
func (s *Section) Bool(key string, def bool) (bool, error) {
	return decoded(s.value(key), def, (*Param).Bool)
}

// Int returns key decoded by Param.Int, or def.
func (s *Section) Int(key string, def int64) (int64, error) {
	return decoded(s.value(key), def, (*Param).Int)
}

// Float returns key decoded by Param.Float, or def.
func (s *Section) Float(key string, def float64) (float64, error) {
	return decoded(s.value(key), def, (*Param).Float)
}

// Size returns key decoded by Param.Size, or def.
func (s *Section) Size(key string, def int64) (int64, error) {
	return decoded(s.value(key), def, (*Param).Size)
}

// Duration returns key decoded by Param.Duration, or def.
func (s *Section) Duration(key string, def time.Duration) (time.Duration, error) {
	return decoded(s.value(key), def, (*Param).Duration)
}

// Strings returns key decoded by Param.Strings, or def.
func (s *Section) Strings(key string, def []string) ([]string, error) {
	return decoded(s.value(key), def, (*Param).Strings)
}

// Hash returns key decoded by Param.Hash, or def.
func (s *Section) Hash(key string, def map[string]string) (map[string]string, error) {
	return decoded(s.value(key), def, (*Param).Hash)
}
