package config

// The <match> plugins: one registry table from @type to the mapper that
// reads the section into the plugin's typed configuration (a
// plugin.OutputConfig the agent builds the runtime from). A plugin package
// that maps its own section exports Map(plugin.Params) (*Config, bool):
// adding an output is that package plus one line in outputTypes.

import (
	"regexp"
	"strings"

	"logship/enrich"
	"logship/plugin"
	"logship/sink/file"
	"logship/sink/null"
	"logship/sink/rewritetag"
	"logship/sink/stdout"
)

// outputMapper maps s onto o.Plugin; false means the mapping failed (the
// problems are recorded in b.d).
type outputMapper func(b *builder, s *Section, o *Output) bool

// outputTypes is the registry of <match> types.
func outputTypes() map[string]outputMapper {
	return map[string]outputMapper{
		"cloudwatch_logs":    (*builder).cloudwatchOutput,
		"null":               mapWith(null.Map),
		"stdout":             mapWith(stdout.Map),
		"file":               mapWith(file.Map),
		"rewrite_tag_filter": (*builder).rewriteTagOutput,
	}
}

// mapWith adapts a plugin package's mapper.
func mapWith[C plugin.OutputConfig](m func(plugin.Params) (C, bool)) outputMapper {
	return func(b *builder, s *Section, o *Output) bool {
		r := b.reader(s)
		c, ok := m(r)
		if !r.done() || !ok {
			return false
		}
		o.Plugin = c
		return true
	}
}

// RewriteTagConfig is rewrite_tag_filter's configuration (sink/rewritetag).
type RewriteTagConfig = rewritetag.Config

// RewriteRule is one rewrite_tag_filter rule (sink/rewritetag).
type RewriteRule = rewritetag.Rule

var reV012Rule = regexp.MustCompile(`^(\S+)\s+(.+?)\s+(\S+)$`)

// rewriteTagOutput maps rewrite_tag_filter (its rules need the routing
// table's labels, and share numbered parameters with grep).
func (b *builder) rewriteTagOutput(s *Section, o *Output) bool {
	c, ok := b.rewriteTag(s)
	if ok {
		o.Plugin = c
	}
	return ok
}

func (b *builder) rewriteTag(s *Section) (*RewriteTagConfig, bool) {
	{
		c := &RewriteTagConfig{Label: s.Label(), RemoveTagPrefix: s.String("remove_tag_prefix", "")}
		good := true
		var err error
		if c.CapitalizeBackrefs, err = s.Bool("capitalize_regex_backreference", false); err != nil {
			b.d.Add(s.Pos, err)
			good = false
		}
		accept(s, "hostname_command", "emit_mode", "remove_tag_regexp")
		for _, n := range numbered(s, "rewriterule") {
			p := s.Param(n.key)
			m := reV012Rule.FindStringSubmatch(strings.TrimSpace(p.Value))
			if m == nil {
				b.d.Errorf(p.Pos, "%s: %s must be \"key regexp new_tag\"", s.Header(), n.key)
				good = false
				continue
			}
			r := RewriteRule{Key: m[1], Pattern: m[2], Tag: m[3]}
			if len(r.Pattern) >= 2 && r.Pattern[0] == '"' && r.Pattern[len(r.Pattern)-1] == '"' {
				r.Pattern = r.Pattern[1 : len(r.Pattern)-1] // deprecated "…" quoting
			}
			if strings.HasPrefix(r.Pattern, "!") {
				r.Invert, r.Pattern = true, r.Pattern[1:]
			}
			c.Rules = append(c.Rules, r)
		}
		for _, rs := range s.Sections("rule") {
			r := RewriteRule{Key: rs.String("key", ""), Tag: rs.String("tag", "")}
			pp := rs.Param("pattern")
			if r.Key == "" || r.Tag == "" || !pp.Set() {
				b.d.Errorf(rs.Pos, "%s: <rule> needs key, pattern and tag", s.Header())
				good = false
				continue
			}
			if r.Pattern, r.Flags, err = pp.Regexp(); err != nil {
				b.d.Add(rs.Pos, err)
				good = false
				continue
			}
			if r.Invert, err = rs.Bool("invert", false); err != nil {
				b.d.Add(rs.Pos, err)
				good = false
				continue
			}
			c.Rules = append(c.Rules, r)
		}
		if !good {
			return nil, false
		}
		if len(c.Rules) == 0 {
			b.d.Errorf(s.Pos, "%s: no rewriteruleN or <rule>", s.Header())
			return nil, false
		}
		for _, r := range c.Rules {
			if _, err := enrich.CompileRuby(r.Pattern, r.Flags); err != nil {
				b.d.Errorf(s.Pos, "%s: rule for %s: %v", s.Header(), r.Key, err)
				return nil, false
			}
		}
		if c.Label != "" && b.p.Router.Label(c.Label) == nil {
			b.d.Errorf(s.Pos, "%s: @label %s is not defined", s.Header(), c.Label)
			return nil, false
		}
		return c, true
	}
}
