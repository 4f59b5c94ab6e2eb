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

var updateV119 = flag.Bool("update-v119", false, "rewrite testdata/v119-e2e-*.golden")

// v119Conf is the upstream image's entry point among the real-world
// fixtures (skips the test on a bare clone).
const v119Conf = "fluentd-kubernetes-daemonset-v1.19-cloudwatch/conf/fluent.conf"

// TestV119_EndToEnd runs the CloudWatch configuration of
// fluent/fluentd-kubernetes-daemonset v1.19 unchanged (its file paths moved
// under a temp dir; journald and Prometheus switched off with the image's own
// FLUENTD_SYSTEMD_CONF/FLUENTD_PROMETHEUS_CONF=disable) on node files — docker
// json-file or CRI container logs (FLUENT_CONTAINER_TAIL_PARSER_TYPE), kubelet
// glog lines, an apiserver audit log, etcd and docker daemon logs — and
// compares every CloudWatch event (group, stream, timestamp, message bytes)
// with a golden file derived from fluentd-dropin.md §4.8, §5.3 and §6 (path
// metadata: no API server). A restart then reads nothing twice.
func TestV119_EndToEnd(t *testing.T) {
	for _, parser := range []string{"json", "cri"} {
		t.Run(parser, func(t *testing.T) { testV119(t, parser) })
	}
}

func testV119(t *testing.T, parser string) {
	conf := fixtures.Path(t, v119Conf)
	env := emulatortest.Start(t, emulator.Config{})
	root, state := t.TempDir(), t.TempDir()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	vars := map[string]string{
		"LOG_GROUP_NAME":                    "v119",
		"FLUENTD_SYSTEMD_CONF":              "disable",
		"FLUENTD_PROMETHEUS_CONF":           "disable",
		"FLUENT_FILTER_KUBERNETES_URL":      "",
		"FLUENT_CONTAINER_TAIL_PARSER_TYPE": parser,
	}
	if parser == "cri" {
		vars["FLUENT_CONTAINER_TAIL_PARSER_TIME_FORMAT"] = "%Y-%m-%dT%H:%M:%S.%N%:z"
	}
	c, err := config.ParseFile(conf, config.Options{Env: config.MapEnv(vars), Hostname: func() (string, error) { return "node-1", nil }})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	p, err := config.Build(c, config.BuildOptions{StateDir: state, NodeName: "node-1", Location: time.UTC})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if len(p.Sources) == 0 || c.Diag.Err() != nil {
		t.Fatalf("the v1.19 configuration should build with no errors: %v", c.Diag.Err())
	}
	for _, s := range p.Sources {
		if s.Tail == nil {
			t.Fatalf("source %s %s: only tail sources are expected with journald and Prometheus disabled", s.Type, s.Section.Pos)
		}
		tc := &s.Tail.Tail
		for i, pth := range tc.Paths {
			tc.Paths[i] = filepath.Join(root, pth)
		}
		for i, pth := range tc.ExcludePaths {
			tc.ExcludePaths[i] = filepath.Join(root, pth)
		}
		tc.FluentdPosFile = filepath.Join(root, tc.FluentdPosFile)
		tc.RefreshInterval = 200 * time.Millisecond
	}
	for _, o := range p.Outputs {
		if o.CloudWatch != nil {
			o.CloudWatch.Endpoint, o.CloudWatch.Region = env.URL, env.Region
			o.CloudWatch.AccessKeyID, o.CloudWatch.SecretAccessKey = env.AccessKeyID, env.SecretAccessKey
			o.Buffer.FlushInterval = 200 * time.Millisecond
			o.Buffer.RetryWait = 100 * time.Millisecond
		}
	}

	// Container logs (read from the head).
	node := &kubelog.Node{Root: filepath.Join(root, "var", "log")}
	web, err := node.AddContainer("default", "web-7d9f", "nginx", parser == "json")
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := node.AddContainer("kube-system", "kube-proxy-x1", "kube-proxy", parser == "json")
	if err != nil {
		t.Fatal(err)
	}
	line := func(text, stream string, ts time.Time) string {
		if parser == "json" {
			return `{"log":"` + strings.ReplaceAll(text, `"`, `\"`) + `\n","stream":"` + stream + `","time":"` + ts.Format(time.RFC3339Nano) + `"}` + "\n"
		}
		return ts.Format(time.RFC3339Nano) + " " + stream + " F " + text + "\n"
	}
	glogAt := at(5*time.Second + 123456*time.Microsecond)
	glog := glogAt.Format("I0102 15:04:05.000000")
	files := map[string]string{
		web.Real:   line(`{"level":"info","msg":"hi"}`, "stdout", at(0)) + line(`GET / 200 "curl" é`, "stdout", at(1500*time.Millisecond)),
		proxy.Real: line(glog+`       1 server.go:42] Using iptables Proxier.`, "stderr", at(6*time.Second)),
	}
	for p, content := range files {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Node logs: those sources start at the end of existing files, so the
	// files exist (with a line that must not be shipped) and the rest is
	// appended once the agent runs.
	kubeletAt := at(11*time.Second + 5*time.Millisecond)
	kubeletGlog := kubeletAt.Format("I0102 15:04:05.000000")
	appends := map[string]string{
		"kubelet.log": kubeletGlog + `    4242 kubelet.go:1234] SyncLoop (ADD, "api"): "web-7d9f"` + "\n" +
			"  continuation of the same record\n",
		"etcd.log": "etcd started\n",
		"kubernetes/kube-apiserver-audit.log": at(9*time.Second).Format("2006-01-02T15:04:05.000Z") +
			` AUDIT: id="90c73c7c" ip="104.132.1.72" method="GET" user="kubecfg" namespace="default" uri="/api/v1/namespaces/default/pods"` + "\n" +
			at(10*time.Second).Format("2006-01-02T15:04:05.000Z") + ` AUDIT: id="90c73c7c" response="200"` + "\n",
	}
	for name := range appends {
		pth := filepath.Join(node.Root, name)
		if err := os.MkdirAll(filepath.Dir(pth), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pth, []byte("old line, before the agent started\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	runStart := time.Now()
	run := func() func() { return startPipeline(t, p, log) }
	stop := run()
	waitTotal(t, env, 3)
	time.Sleep(500 * time.Millisecond) // the node-log sources have found their files
	for name, content := range appends {
		f, err := os.OpenFile(filepath.Join(node.Root, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(content); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// 3 container lines, 1 kubelet record (two lines), 1 etcd line, 2 audit
	// records (the multi-line sources flush after multiline_flush_interval 5s).
	const want = 7
	waitTotal(t, env, want)
	time.Sleep(500 * time.Millisecond)
	stop()

	rootTag := config.ExpandTailTag("*", root)
	got := v119Events(env, t0, runStart, rootTag, []string{web.Link, proxy.Link})
	got = strings.NewReplacer(glog, "{{GLOG_TIME}}", kubeletGlog, "{{KUBELET_TIME}}",
		at(0).Format(time.RFC3339Nano), "{{T0}}", at(1500*time.Millisecond).Format(time.RFC3339Nano), "{{T1.5}}",
		at(6*time.Second).Format(time.RFC3339Nano), "{{T6}}").Replace(got)
	golden := filepath.Join("testdata", "v119-e2e-"+parser+".golden")
	if *updateV119 {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantText, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-v119)", err)
	}
	if got != string(wantText) {
		t.Errorf("CloudWatch events differ from %s:\n got:\n%s\nwant:\n%s", golden, got, wantText)
	}

	stop = run()
	time.Sleep(1500 * time.Millisecond)
	stop()
	if n := env.Server.Stats().EventsAccepted; n != want {
		t.Errorf("after a restart %d events were accepted, want %d (no line read twice)", n, want)
	}
}

// v119Events renders every event of group v119 as
// "stream<TAB>+<ms after t0><TAB>message" lines, sorted, with the temp dir
// in stream names written ROOT. Events stamped with the time they were read
// (format none: the line has no time) show "now" instead of an offset.
func v119Events(env *emulatortest.Env, t0, runStart time.Time, rootTag string, links []string) string {
	streams := []string{"kubelet", "etcd", "kube-apiserver-audit", "docker", "salt", "startupscript"}
	for _, l := range links {
		streams = append(streams, config.ExpandTailTag("kubernetes.*", l))
	}
	var lines []string
	for _, s := range streams {
		for _, ev := range env.Server.Events("v119", s) {
			at := fmt.Sprintf("+%d", ev.Timestamp-t0.UnixMilli())
			if ev.Timestamp >= runStart.UnixMilli() {
				at = "now"
			}
			lines = append(lines, fmt.Sprintf("%s\t%s\t%s", strings.ReplaceAll(s, rootTag, "ROOT"), at, ev.Message))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

func waitTotal(t *testing.T, env *emulatortest.Env, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for env.Server.Stats().EventsAccepted < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d events (%d accepted)", n, env.Server.Stats().EventsAccepted)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
