package config

import (
	"regexp"
	"strings"

	"logship/enrich"
)

// multiFormat reads the <pattern> sections of a `<parse> @type
// multi_format` (fluent-plugin-multi-format-parser,
// https://github.com/repeatedly/fluent-plugin-multi-format-parser#configuration):
// each names its parser with `format` (json, none, regexp with `expression`,
// syslog, or `format /re/`) and takes that parser's parameters.
func (b *builder) multiFormat(src, ps *Section, pc *enrich.ParseConfig) bool {
	if ps == nil {
		b.d.Errorf(src.Pos, "%s: multi_format needs a <parse> section with <pattern> sections", src.Header())
		return false
	}
	pats := ps.Sections("pattern")
	if len(pats) == 0 {
		b.d.Errorf(ps.Pos, "%s: multi_format needs at least one <pattern>", ps.Header())
		return false
	}
	good := true
	for _, s := range pats {
		q := enrich.ParseConfig{}
		typeP := s.Param("format")
		if typeP == nil {
			_, typeP = s.Type()
		}
		if typeP == nil {
			b.d.Errorf(s.Pos, "<pattern>: no format")
			good = false
			continue
		}
		q.Type = typeP.Value
		// The regexp is format's value (format /re/), else expression's.
		re := typeP
		if !strings.HasPrefix(q.Type, "/") {
			if re = s.Param("expression"); re != nil {
				q.Expression = re.Value
			}
		}
		if re != nil && strings.HasPrefix(re.Value, "/") {
			if err := setRegexp(&q, re); err != nil {
				b.d.Add(re.Pos, err)
				good = false
				continue
			}
			if re == typeP {
				q.Type = "regexp"
			}
		}
		switch q.Type {
		case "json", "none", "regexp", "syslog":
		default:
			b.d.Unsupported(typeP.ValuePos, "parser %q in a multi_format <pattern>", q.Type)
			good = false
			continue
		}
		q.TimeKey = s.String("time_key", "")
		q.TimeFormat = s.String("time_format", "")
		var err error
		if q.KeepTimeKey, err = s.Bool("keep_time_key", false); err != nil {
			b.d.Add(s.Pos, err)
			good = false
		}
		q.MessageKey = s.String("message_key", "")
		accept(s, "time_type", "estimate_current_event", "types", "null_value_pattern", "null_empty_string",
			"localtime", "utc", "timezone", "json_parser", "time_format_fallbacks")
		for _, f := range []struct {
			key string
			v   *bool
		}{{"ignorecase", &q.IgnoreCase}, {"multiline", &q.Multiline}} {
			if v, err := s.Bool(f.key, false); err != nil {
				b.d.Add(s.Pos, err)
				good = false
			} else if v {
				*f.v = true
			}
		}
		if q.Type == "regexp" {
			if _, err := regexp.Compile(enrich.RubyRegexp(q.Expression)); err != nil || q.Expression == "" {
				b.d.Errorf(typeP.ValuePos, "regexp parser in a multi_format <pattern>: bad or empty expression %q", q.Expression)
				good = false
				continue
			}
		}
		pc.Patterns = append(pc.Patterns, q)
	}
	return good
}
