package agent_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"logship/config"
	"logship/internal/fixtures"
	"logship/internal/kubelog"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

var updateSeed = flag.Bool("update-seed", false, "rewrite testdata/seed-e2e.golden")

// seedConf is the seed's entry point among the real-world fixtures (skips
// the test on a bare clone).
const seedConf = "seed-workshop-2017/fluentd-etc/fluentd.conf"

// seedPipeline builds the seed's configuration (FLUENTD_CONFIG unset) with
// its file paths moved under root and the CloudWatch output pointed at the
// emulator. Only the tail sources are kept: the http, monitor_agent and
// prometheus sources listen on fixed ports and are tested with their own
// runtimes.
func seedPipeline(t *testing.T, path, root, state string, env *emulatortest.Env) *config.Pipeline {
	t.Helper()
	t.Setenv("FLUENTD_CONFIG", "")
	os.Unsetenv("FLUENTD_CONFIG")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(path, text, config.Options{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	p, err := config.Build(c, config.BuildOptions{StateDir: state, NodeName: "node-1", Location: time.UTC})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	var tails []*config.Source
	for _, s := range p.Sources {
		if s.Tail == nil {
			continue
		}
		tc := &s.Tail.Tail
		for i, pth := range tc.Paths {
			tc.Paths[i] = filepath.Join(root, pth)
		}
		tc.FluentdPosFile = filepath.Join(root, tc.FluentdPosFile)
		tc.RefreshInterval = 200 * time.Millisecond
		tails = append(tails, s)
	}
	if len(tails) != 2 {
		t.Fatalf("seed has %d tail sources, want 2 (containers, apiserver audit)", len(tails))
	}
	p.Sources = tails
	n := 0
	for _, o := range p.Outputs {
		if o.CloudWatch == nil {
			continue
		}
		n++
		o.CloudWatch.Endpoint, o.CloudWatch.Region = env.URL, env.Region
		o.CloudWatch.AccessKeyID, o.CloudWatch.SecretAccessKey = env.AccessKeyID, env.SecretAccessKey
		o.Buffer.FlushInterval = 200 * time.Millisecond
		o.Buffer.RetryWait = 100 * time.Millisecond
	}
	if n != 1 {
		t.Fatalf("seed has %d cloudwatch outputs, want 1", n)
	}
	return p
}

// TestSeed_EndToEnd runs the seed's Fluentd configuration unchanged (paths
// moved under a temp dir) on docker json-file container logs — a JSON app
// line, a plain line, a kube-system glog line, a kube-system JSON line, a
// file whose name carries no pod metadata — and two apiserver audit lines,
// and compares every CloudWatch event (group, stream, timestamp, message
// bytes) with testdata/seed-e2e.golden (derived from the seed's pipeline,
// docs/fluentd-compat.md "Dialects": metadata from the path, no API server —
// no pod_id, no host). A
// restart then shows that every record was acknowledged, the dropped one
// included.
//
// Unlike testdata/v119-e2e-*.golden this golden cannot come from the real
// Fluentd peer: Fluentd v1.19.3 with fluent-plugin-rewrite-tag-filter v2.4.0
// refuses the seed ConfigMap ("rewriterule<num>" support has been dropped.
// Use <rule> section instead"), and the seed's own Fluentd v0.12 with
// kubernetes_metadata_filter 0.2x is not in the peer.
func TestSeed_EndToEnd(t *testing.T) {
	conf := fixtures.Path(t, seedConf)
	env := emulatortest.Start(t, emulator.Config{})
	root := t.TempDir()
	state := t.TempDir()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	ts := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339Nano) }
	node := &kubelog.Node{Root: filepath.Join(root, "var", "log")}
	web, err := node.AddContainer("default", "web-7d9f", "nginx", true)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := node.AddContainer("kube-system", "kube-proxy-x1", "kube-proxy", true)
	if err != nil {
		t.Fatal(err)
	}
	glogAt := t0.Add(5*time.Second + 123456*time.Microsecond)
	files := map[string]string{
		web.Real: `{"log":"{\"level\":\"info\",\"msg\":\"hi\"}\n","stream":"stdout","time":"` + ts(0) + `"}` + "\n" +
			`{"log":"GET / 200 \"curl\" é\n","stream":"stdout","time":"` + ts(1500*time.Millisecond) + `"}` + "\n",
		proxy.Real: `{"log":"` + glogAt.Format("I0102 15:04:05.000000") + `       1 server.go:42] Using iptables Proxier.\n","stream":"stderr","time":"` + ts(6*time.Second) + `"}` + "\n" +
			`{"log":"{\"msg\":\"json in kube-system\"}\n","stream":"stdout","time":"` + ts(7*time.Second) + `"}` + "\n",
		filepath.Join(node.Root, "containers", "not-a-pod.log"): `{"log":"no metadata\n","stream":"stdout","time":"` + ts(8*time.Second) + `"}` + "\n",
	}
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The audit source reads from the end (no read_from_head): its lines
	// are appended once the agent runs.
	auditPath := filepath.Join(node.Root, "kubernetes", "kube-apiserver-audit.log")
	if err := os.MkdirAll(filepath.Dir(auditPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(auditPath, []byte("2017-02-09T00:15:57.992Z AUDIT: id=\"old\" response=\"200\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	auditLines := t0.Add(9*time.Second).Format("2006-01-02T15:04:05.000Z") +
		` AUDIT: id="90c73c7c-97d6-4b65-9461-f94606ff825f" ip="104.132.1.72" method="GET" user="kubecfg" as="<self>" asgroups="<lookup>" namespace="default" uri="/api/v1/namespaces/default/pods"` + "\n" +
		t0.Add(10*time.Second).Format("2006-01-02T15:04:05.000Z") + ` AUDIT: id="90c73c7c-97d6-4b65-9461-f94606ff825f" response="200"` + "\n"
	const wantEvents = 6
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	run := func() func() { return startPipeline(t, seedPipeline(t, conf, root, state, env), log) }
	stop := run()
	waitSeed(t, env, t0, 4)
	f, err := os.OpenFile(auditPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(auditLines); err != nil {
		t.Fatal(err)
	}
	f.Close()
	waitSeed(t, env, t0, wantEvents)
	time.Sleep(500 * time.Millisecond) // nothing more may arrive (the unnamed file's record is dropped)
	stop()

	got := seedEvents(env, t0)
	golden := filepath.Join("testdata", "seed-e2e.golden")
	glogText := glogAt.Format("I0102 15:04:05.000000")
	if *updateSeed {
		got := strings.ReplaceAll(got, glogText, "{{GLOG_TIME}}")
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-seed)", err)
	}
	// Container ids and pod uids are derived from the names (kubelog); the
	// glog line's own time text is the only run-dependent part.
	want = []byte(strings.ReplaceAll(string(want), "{{GLOG_TIME}}", glogText))
	if got != string(want) {
		t.Errorf("CloudWatch events differ from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
	}

	// Restart: every record was acknowledged (delivered or dropped), so
	// nothing is read again.
	stop = run()
	time.Sleep(1500 * time.Millisecond)
	stop()
	if n := len(env.Server.Events("kubernetes-cluster", "fluentd-cloudwatch-demo")); n != wantEvents {
		t.Errorf("after a restart the stream holds %d events, want %d (no line read twice)", n, wantEvents)
	}
}

// seedEvents renders every event of every stream, sorted, as
// "group<TAB>stream<TAB>+<ms after t0><TAB>message" lines.
func seedEvents(env *emulatortest.Env, t0 time.Time) string {
	var lines []string
	for _, ev := range env.Server.Events("kubernetes-cluster", "fluentd-cloudwatch-demo") {
		lines = append(lines, fmt.Sprintf("kubernetes-cluster\tfluentd-cloudwatch-demo\t+%d\t%s", ev.Timestamp-t0.UnixMilli(), ev.Message))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

// waitSeed waits until the seed's stream holds n events.
func waitSeed(t *testing.T, env *emulatortest.Env, t0 time.Time, n int) {
	t.Helper()
	waitUntil(t, func() bool { return len(env.Server.Events("kubernetes-cluster", "fluentd-cloudwatch-demo")) >= n },
		func() string { return fmt.Sprintf("%d events:\n%s", n, seedEvents(env, t0)) })
}
