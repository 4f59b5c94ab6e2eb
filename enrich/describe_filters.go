package enrich

import (
	"fmt"
	"strings"
)

// String forms of the filter configurations, for check-config.

func (c *RecordTransformerConfig) String() string {
	var rec []string
	for _, f := range c.Record {
		rec = append(rec, fmt.Sprintf("%s=%q", f.Key, f.Template))
	}
	return fmt.Sprintf("record=[%s] enable_ruby=%v auto_typecast=%v renew_record=%v keep_keys=%q remove_keys=%q renew_time_key=%q",
		strings.Join(rec, " "), c.EnableRuby, c.AutoTypecast, c.RenewRecord, c.KeepKeys, c.RemoveKeys, c.RenewTimeKey)
}

func conds(cs []GrepCondition) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s=~/%s/%s", c.Key, c.Pattern, c.Flags))
	}
	return "[" + strings.Join(out, " ") + "]"
}

func (c *GrepConfig) String() string {
	s := fmt.Sprintf("regexp(all)=%s exclude(any)=%s", conds(c.Regexps), conds(c.Excludes))
	for _, g := range c.And {
		s += fmt.Sprintf(" and{regexp=%s exclude=%s}", conds(g.Regexps), conds(g.Excludes))
	}
	for _, g := range c.Or {
		s += fmt.Sprintf(" or{regexp=%s exclude=%s}", conds(g.Regexps), conds(g.Excludes))
	}
	return s
}

func (c *ParserFilterConfig) String() string {
	p := c.Parse.Type
	if c.Parse.Expression != "" {
		p += fmt.Sprintf(" /%s/", c.Parse.Expression)
	}
	return fmt.Sprintf("key_name=%q parser=%s reserve_data=%v reserve_time=%v remove_key_name_field=%v inject_key_prefix=%q hash_value_field=%q suppress_parse_error_log=%v",
		c.KeyName, p, c.ReserveData, c.ReserveTime, c.RemoveKeyNameField, c.InjectKeyPrefix, c.HashValueField, c.SuppressParseErrorLog)
}

func (c *ConcatConfig) String() string {
	if c.PassThrough {
		return fmt.Sprintf("key=%q partial metadata (joined by the tailer: pass-through)", c.Key)
	}
	return fmt.Sprintf("key=%q separator=%q n_lines=%d start=/%s/ end=/%s/ continuous=/%s/ stream_identity_key=%q flush_interval=%s timeout_label=%q partial_key=%q partial_value=%q",
		c.Key, c.Separator, c.NLines, c.MultilineStart, c.MultilineEnd, c.ContinuousLine, c.StreamIdentityKey, c.FlushInterval,
		c.TimeoutLabel, c.PartialKey, c.PartialValue)
}
