package cwlogs_test

import (
	"strings"
	"testing"

	"logship/buffer"
	"logship/plugin"
	"logship/sink/cloudwatch"
	"logship/sink/cwlogs"
)

// TestConfig_Describe: check-config's line names the destination and the
// buffer and never shows a credential.
func TestConfig_Describe(t *testing.T) {
	c := &cwlogs.Config{
		CloudWatch: cloudwatch.Config{LogGroupName: "g", LogStreamName: "s", Region: "eu-west-1",
			AccessKeyID: "AKIDSECRETVALUE", SecretAccessKey: "sekrit", SessionToken: "tok"},
		Buffer: buffer.Config{Type: buffer.TypeMemory},
	}
	got := c.Describe()
	for _, secret := range []string{"AKIDSECRETVALUE", "sekrit", "tok"} {
		if strings.Contains(got, secret) {
			t.Errorf("Describe() = %q shows %q", got, secret)
		}
	}
	for _, want := range []string{`group="g"`, `stream="s"`, `region="eu-west-1"`, `aws_key_id="<redacted>"`, " buffer: "} {
		if !strings.Contains(got, want) {
			t.Errorf("Describe() = %q, want it to contain %q", got, want)
		}
	}
	if c.CloudWatch.AccessKeyID != "AKIDSECRETVALUE" {
		t.Error("Describe changed the configuration")
	}
}

// TestConfig_Redirect: demo and replay point the output at the emulator
// through plugin.Redirectable, and tune its buffer through
// plugin.BufferedConfig.
func TestConfig_Redirect(t *testing.T) {
	c := &cwlogs.Config{CloudWatch: cloudwatch.Config{Endpoint: "https://logs.example", Region: "us-east-1"}}
	var cfg plugin.OutputConfig = c
	r, ok := cfg.(plugin.Redirectable)
	if !ok {
		t.Fatal("not Redirectable")
	}
	e := plugin.Endpoint{URL: "http://127.0.0.1:1", Region: "local", AccessKeyID: "a", SecretAccessKey: "b"}
	r.Redirect(e)
	got := plugin.Endpoint{URL: c.CloudWatch.Endpoint, Region: c.CloudWatch.Region,
		AccessKeyID: c.CloudWatch.AccessKeyID, SecretAccessKey: c.CloudWatch.SecretAccessKey}
	if got != e {
		t.Errorf("after Redirect %+v, want %+v", got, e)
	}
	bc, ok := cfg.(plugin.BufferedConfig)
	if !ok || bc.BufferConfig() != &c.Buffer {
		t.Error("BufferConfig does not return the config's buffer")
	}
	if len(c.Differences()) == 0 {
		t.Error("no deliberate differences listed")
	}
}
