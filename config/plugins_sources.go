package config

// pluginSource maps the <source> plugins other than tail (http,
// monitor_agent, prometheus, systemd, …). ok is false for a type it does
// not know. The result is stored in Source.Plugin for the agent.
func (b *builder) pluginSource(s *Section, typ string) (plugin any, ok bool) {
	return nil, false
}
