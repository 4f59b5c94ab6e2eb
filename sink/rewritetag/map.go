package rewritetag

import (
	"regexp"
	"strings"

	"logship/enrich"
	"logship/plugin"
)

var reV012Rule = regexp.MustCompile(`^(\S+)\s+(.+?)\s+(\S+)$`)

// Map reads a <match @type rewrite_tag_filter> section: its v0.12
// rewriteruleN parameters ("key regexp new_tag", a leading '!' inverting),
// then its v1 <rule> sections. Every pattern must compile, and @label must
// name a defined label.
func Map(p plugin.Params) (*Config, bool) {
	c := &Config{Label: p.String("@label", ""), RemoveTagPrefix: p.String("remove_tag_prefix", "")}
	c.CapitalizeBackrefs = p.Bool("capitalize_regex_backreference", false)
	p.Accept("hostname_command", "emit_mode", "remove_tag_regexp")
	for _, key := range p.Numbered("rewriterule") {
		m := reV012Rule.FindStringSubmatch(strings.TrimSpace(p.String(key, "")))
		if m == nil {
			p.ErrorfAt(key, "%s must be \"key regexp new_tag\"", key)
			continue
		}
		r := Rule{Key: m[1], Pattern: m[2], Tag: m[3]}
		if len(r.Pattern) >= 2 && r.Pattern[0] == '"' && r.Pattern[len(r.Pattern)-1] == '"' {
			r.Pattern = r.Pattern[1 : len(r.Pattern)-1] // deprecated "…" quoting
		}
		if strings.HasPrefix(r.Pattern, "!") {
			r.Invert, r.Pattern = true, r.Pattern[1:]
		}
		c.Rules = append(c.Rules, r)
	}
	for _, rp := range p.Sections("rule") {
		r := Rule{Key: rp.String("key", ""), Tag: rp.String("tag", "")}
		if set := rp.Set("pattern"); r.Key == "" || r.Tag == "" || !set {
			rp.ErrorfAt("", "<rule> needs key, pattern and tag")
			continue
		}
		var ok bool
		if r.Pattern, r.Flags, ok = rp.Regexp("pattern"); !ok {
			continue
		}
		r.Invert = rp.Bool("invert", false)
		c.Rules = append(c.Rules, r)
	}
	if p.Failed() {
		return nil, false
	}
	if len(c.Rules) == 0 {
		p.Errorf("no rewriteruleN or <rule>")
		return nil, false
	}
	for _, r := range c.Rules {
		if _, err := enrich.CompileRuby(r.Pattern, r.Flags); err != nil {
			p.Errorf("rule for %s: %v", r.Key, err)
			return nil, false
		}
	}
	if c.Label != "" && !p.HasLabel(c.Label) {
		p.Errorf("@label %s is not defined", c.Label)
		return nil, false
	}
	return c, true
}
