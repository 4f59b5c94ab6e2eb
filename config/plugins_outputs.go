package config

// The <match> plugins: one registry table from @type to the mapper that
// reads the section into the plugin's typed configuration (a
// plugin.OutputConfig the agent builds the runtime from). Each plugin
// package exports its mapper, Map(plugin.Params) (*Config, bool): adding an
// output is that package plus one line in outputTypes.

import (
	"logship/plugin"
	"logship/sink/cwlogs"
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
		"cloudwatch_logs":    cloudwatchOutput,
		"null":               mapWith(null.Map),
		"stdout":             mapWith(stdout.Map),
		"file":               mapWith(file.Map),
		"rewrite_tag_filter": mapWith(rewritetag.Map),
	}
}

// mapWith adapts a plugin package's mapper.
func mapWith[C plugin.OutputConfig](m func(plugin.Params) (C, bool)) outputMapper {
	return func(b *builder, s *Section, o *Output) bool {
		r := b.reader(s)
		r.id = o.ID
		c, ok := m(r)
		if !r.done() || !ok {
			return false
		}
		o.Plugin = c
		return true
	}
}

// cloudwatchOutput maps cloudwatch_logs (sink/cwlogs), and points
// Output.CloudWatch and Output.Buffer into its configuration.
func cloudwatchOutput(b *builder, s *Section, o *Output) bool {
	if !mapWith(cwlogs.Map)(b, s, o) {
		return false
	}
	c := o.Plugin.(*cwlogs.Config)
	o.CloudWatch, o.Buffer = &c.CloudWatch, &c.Buffer
	return true
}
