// Package confgen writes the Fluentd configuration text that the end-to-end
// harnesses run an agent with: a tail <source> of CRI container files and a
// cloudwatch_logs <match> into an emulator. It imports no testing, so the
// logship binary's bench uses it as the tests (internal/e2etest) do.
package confgen

import "strings"

// CRISource is a tail <source> of the CRI container files below
// {{ROOT}}/var/log/containers, read from their head and tagged
// kubernetes.*, with the further parameters given (@id, pos_file, …).
func CRISource(params ...string) string {
	var b strings.Builder
	b.WriteString("\n<source>\n  @type tail\n  path {{ROOT}}/var/log/containers/*.log\n")
	for _, p := range params {
		b.WriteString("  " + p + "\n")
	}
	b.WriteString("  tag kubernetes.*\n  read_from_head true\n  <parse>\n    @type cri\n  </parse>\n</source>\n")
	return b.String()
}

// Output is a <match **> of every record into the emulator's log group
// group: cloudwatch_logs creating its streams, one stream per tag (or the
// one named stream, when stream is not empty), with a <buffer> of the
// parameters given. It writes {{EMULATOR}} where the parameters that point
// the output at the emulator (region, endpoint, credentials) go.
func Output(group, stream string, buffer ...string) string {
	var b strings.Builder
	b.WriteString("<match **>\n  @type cloudwatch_logs\n  log_group_name " + group + "\n")
	if stream != "" {
		b.WriteString("  log_stream_name " + stream + "\n")
	} else {
		b.WriteString("  use_tag_as_stream true\n")
	}
	b.WriteString("  auto_create_stream true\n  {{EMULATOR}}\n  <buffer>\n")
	for _, p := range buffer {
		b.WriteString("    " + p + "\n")
	}
	b.WriteString("  </buffer>\n</match>\n")
	return b.String()
}
