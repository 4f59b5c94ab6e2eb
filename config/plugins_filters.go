package config

import "logship/enrich"

// pluginFilter maps the <filter> plugins other than kubernetes_metadata
// (record_transformer, grep, parser, concat, …). ok is false for a type it
// does not know.
func (b *builder) pluginFilter(s *Section, typ string) (fc enrich.FilterConfig, ok bool) {
	return nil, false
}

// pluginOutput maps the <match> plugins other than cloudwatch_logs, null,
// stdout and file (rewrite_tag_filter, …). ok is false for a type it does
// not know. The result is stored in Output.Plugin for the agent.
func (b *builder) pluginOutput(s *Section, typ string) (plugin any, ok bool) {
	return nil, false
}
