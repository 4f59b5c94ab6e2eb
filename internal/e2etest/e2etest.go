// Package e2etest holds what the end-to-end tests of the agent (agent/) and
// of the binary (cmd/logship) share: Fluentd configuration templates whose
// cloudwatch_logs output is pointed at a running emulator, and their
// parsing into a pipeline.
package e2etest

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"logship/config"
	"logship/internal/confgen"
	"logship/sink/emulator/emulatortest"
)

// emulatorParams are the cloudwatch_logs parameters that point an output at
// the emulator: a template writes {{EMULATOR}} for them inside its <match>.
const emulatorParams = `region {{REGION}}
  endpoint {{URL}}
  aws_key_id {{AK}}
  aws_sec_key {{SK}}`

// CRISource is confgen.CRISource: a tail <source> of the CRI container files
// below {{ROOT}}/var/log/containers, with the further parameters given.
func CRISource(params ...string) string { return confgen.CRISource(params...) }

// Output is confgen.Output: a <match **> of every record into the
// emulator's log group group, with a <buffer> of the parameters given.
func Output(group, stream string, buffer ...string) string {
	return confgen.Output(group, stream, buffer...)
}

// Config fills a configuration template: {{EMULATOR}} with the parameters
// that point a cloudwatch_logs output at env (its region, endpoint and
// credentials), {{URL}}, {{AK}} and {{SK}} with env's endpoint and
// credentials, {{ROOT}} with root; more holds further old, new pairs.
func Config(tmpl, root string, env *emulatortest.Env, more ...string) string {
	tmpl = strings.ReplaceAll(tmpl, "{{EMULATOR}}", emulatorParams)
	pairs := append([]string{"{{ROOT}}", root, "{{REGION}}", env.Region, "{{URL}}", env.URL,
		"{{AK}}", env.AccessKeyID, "{{SK}}", env.SecretAccessKey}, more...)
	return strings.NewReplacer(pairs...).Replace(tmpl)
}

// Pipeline parses cfgText as dir/fluent.conf and builds it with opts.
func Pipeline(tb testing.TB, cfgText, dir string, opts config.BuildOptions) *config.Pipeline {
	tb.Helper()
	c, err := config.Parse(filepath.Join(dir, "fluent.conf"), []byte(cfgText), config.Options{})
	if err != nil {
		tb.Fatalf("parse: %v", err)
	}
	p, err := config.Build(c, opts)
	if err != nil {
		tb.Fatalf("build: %v", err)
	}
	return p
}

// FreePort returns a port that was free a moment ago on 127.0.0.1.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// StaticAWS points the AWS SDK's default chain at the static credentials
// keyID, secret and at region (empty: none) alone: no session token or
// profile, no shared config or credentials files, no instance metadata.
func StaticAWS(tb testing.TB, keyID, secret, region string) {
	tb.Helper()
	for _, kv := range [][2]string{
		{"AWS_ACCESS_KEY_ID", keyID}, {"AWS_SECRET_ACCESS_KEY", secret}, {"AWS_SESSION_TOKEN", ""},
		{"AWS_REGION", region}, {"AWS_PROFILE", ""},
		{"AWS_CONFIG_FILE", "/nonexistent"}, {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"},
		{"AWS_EC2_METADATA_DISABLED", "true"},
	} {
		tb.Setenv(kv[0], kv[1])
	}
}
