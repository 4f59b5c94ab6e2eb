package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"logship/internal/fixtures"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// run runs a logship command line and returns its exit code and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCheckConfig_Fixtures(t *testing.T) {
	fx := fixtures.Dir(t)
	t.Setenv("LOG_GROUP_NAME", "fixture-group")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("K8S_NODE_NAME", "node-1")
	t.Setenv("KUBERNETES_SERVICE_HOST", "10.100.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	tests := []struct{ name, file string }{
		{"seed-workshop-2017", "seed-workshop-2017/fluentd-etc/fluentd.conf"},
		{"fluentd-kubernetes-daemonset-v1.19", "fluentd-kubernetes-daemonset-v1.19-cloudwatch/conf/fluent.conf"},
		{"fluentd-kubernetes-daemonset-v0.12", "fluentd-kubernetes-daemonset-v0.12-cloudwatch/conf/fluent.conf"},
	}
	norm := strings.NewReplacer(fx, "FIXTURES")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, "check-config", "--ignore-unsupported", "--state-dir", "/var/lib/logship", filepath.Join(fx, tt.file))
			if code != 0 {
				t.Fatalf("check-config exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			got := norm.Replace(out + "--- warnings\n" + errOut)
			golden := filepath.Join("testdata", "check-config-"+tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("check-config output differs from %s (run with -update to accept):\n%s", golden, got)
			}
		})
	}
}

func TestCheckConfig_Errors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(bad, []byte("<source>\n  @type tail\n  path /x\n</source>\n<match **>\n  @type cloudwatch_logs\n  log_group_name g\n</match>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd(t, "check-config", bad)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	// file:line:col of each problem.
	for _, want := range []string{bad + ":1:1: <source>: tag is required", bad + ":5:1: <match **>"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	unsupported := filepath.Join(dir, "unsupported.conf")
	if err := os.WriteFile(unsupported, []byte("<source>\n  @type forward\n</source>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCmd(t, "check-config", unsupported); code != 1 || !regexp.MustCompile(`unsupported.conf:[0-9]+:[0-9]+: .*forward.* not supported`).MatchString(errOut) {
		t.Fatalf("unsupported directive: exit %d, stderr:\n%s", code, errOut)
	}
}

func TestRun_Usage(t *testing.T) {
	if code, _, _ := runCmd(t); code != 2 {
		t.Errorf("no command: exit %d, want 2", code)
	}
	if code, _, _ := runCmd(t, "nope"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code, out, _ := runCmd(t, "version"); code != 0 || !strings.HasPrefix(out, "logship ") {
		t.Errorf("version: exit %d output %q", code, out)
	}
}
