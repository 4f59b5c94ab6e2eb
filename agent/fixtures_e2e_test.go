package agent_test

import (
	"context"
	"encoding/json"
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
	"logship/internal/fidelity"
	"logship/internal/fixtures"
	"logship/internal/kubelog"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

var (
	updateV119 = flag.Bool("update-v119", false, "rewrite testdata/v119-e2e-*.golden from logship's output")
	// fluentdV119 regenerates the goldens from the real Fluentd peer
	// (../shared/peers/fluentd) run on the same files with the same
	// configuration: go test ./agent -run TestV119 -fluentd-v119.
	fluentdV119 = flag.Bool("fluentd-v119", false, "rewrite testdata/v119-e2e-*.golden from the real Fluentd's output")
)

// v119Peer is what produced testdata/v119-e2e-*.golden (with
// -fluentd-v119), as named in the peer's VERSIONS file: Fluentd v1.19.3
// (43c860907e), fluent-plugin-cloudwatch-logs v0.15.0 (7ba7bb820c),
// fluent-plugin-kubernetes_metadata_filter v3.7.1 (c5047ca880, path only: no
// API server), fluent-plugin-parser-cri v0.1.1 (a965111895) and the parsers
// of fluentd-kubernetes-daemonset 849b9e1ecd (v1.19 debian-cloudwatch), run by
// Debian's ruby 3.1.
var v119Peer = []string{
	"fluent+fluentd v1.19.3 43c860907e3d6a92c922233fd16eb2ed9ea16b69",
	"fluent-plugins-nursery+fluent-plugin-cloudwatch-logs v0.15.0 7ba7bb820c7c9335b6d591af3d64e1a5cbd7a909",
	"fabric8io+fluent-plugin-kubernetes_metadata_filter v3.7.1 c5047ca880caf87449248b5bce1d84ba385d2ba1",
	"fluent+fluent-plugin-parser-cri v0.1.1 a9651118956505ba6ef5ada0039a5ed7b3780195",
	"fluent+fluentd-kubernetes-daemonset 849b9e1e 849b9e1ecd84813462574706b145147107ac24ce",
}

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
// with a golden file written by the real Fluentd (v119Peer) on the same
// files (path metadata: no API server). A restart then reads nothing twice.
func TestV119_EndToEnd(t *testing.T) {
	for _, parser := range []string{"json", "cri"} {
		t.Run(parser, func(t *testing.T) { testV119(t, parser) })
	}
}

func testV119(t *testing.T, parser string) {
	conf := fixtures.Path(t, v119Conf)
	env := emulatortest.Start(t, emulator.Config{})
	root, state := t.TempDir(), t.TempDir()
	// Off the whole second: RFC3339Nano writes a whole-second time without
	// a fraction, which Fluentd's time_format "%S.%N" rejects (the line
	// is dropped; logship parses it — a deliberate difference the fidelity
	// suite covers).
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second).Add(250 * time.Millisecond).UTC()
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
	p, c := v119Pipeline(t, conf, vars, root, state, env)
	if len(p.Sources) == 0 || c.Diag.Err() != nil {
		t.Fatalf("the v1.19 configuration should build with no errors: %v", c.Diag.Err())
	}
	for _, s := range p.Sources {
		if s.Tail == nil {
			t.Fatalf("source %s %s: only tail sources are expected with journald and Prometheus disabled", s.Type, s.Section.Pos)
		}
	}

	// Container logs (read from the head).
	node := &kubelog.Node{Root: filepath.Join(root, "var", "log")}
	web := addContainer(t, node, "default", "web-7d9f", "nginx", parser == "json")
	proxy := addContainer(t, node, "kube-system", "kube-proxy-x1", "kube-proxy", parser == "json")
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

	// 3 container lines, 1 kubelet record (two lines), 1 etcd line, 2 audit
	// records (the multi-line sources flush after multiline_flush_interval 5s).
	const want = 7
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	runStart := time.Now()
	run := func() func() { return startPipeline(t, p, log) }
	// ready: the node-log sources have found their files; done: all is
	// delivered.
	ready := func() {
		waitTotal(t, env, 3)
		time.Sleep(500 * time.Millisecond)
	}
	done := func() {
		waitTotal(t, env, want)
		time.Sleep(500 * time.Millisecond)
	}
	if *fluentdV119 {
		run, ready, done = v119Fluentd(t, conf, vars, node.Root, env, filepath.Join(root, "fluentd"), []string{web.Link, proxy.Link}, appends)
	}
	stop := run()
	ready()
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
	done()
	stop()

	rootTag, links := config.ExpandTailTag("*", root), []string{web.Link, proxy.Link}
	if *fluentdV119 {
		// Fluentd read the files as /var/log (its own mount namespace).
		rootTag = "ROOT"
		for i, l := range links {
			links[i] = filepath.Join("/var/log/containers", filepath.Base(l))
		}
	}
	got := v119Events(env, t0, runStart, rootTag, links)
	got = strings.ReplaceAll(got, "kubernetes.var.log.", "kubernetes.ROOT.var.log.")
	got = strings.NewReplacer(glog, "{{GLOG_TIME}}", kubeletGlog, "{{KUBELET_TIME}}",
		at(0).Format(time.RFC3339Nano), "{{T0}}", at(1500*time.Millisecond).Format(time.RFC3339Nano), "{{T1.5}}",
		at(6*time.Second).Format(time.RFC3339Nano), "{{T6}}").Replace(got)
	golden := filepath.Join("testdata", "v119-e2e-"+parser+".golden")
	if *updateV119 || *fluentdV119 {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantText, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -fluentd-v119)", err)
	}
	if got != string(wantText) {
		t.Errorf("CloudWatch events differ from %s:\n got:\n%s\nwant:\n%s", golden, got, wantText)
	}
	if *fluentdV119 {
		return
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

// v119Fluentd returns run/ready/done for the real Fluentd peer in place of
// logship: the configuration unchanged, run in its own mount namespace with
// nodeRoot on /var/log, shipping to env. Fluentd flushes its memory buffer
// at shutdown, so done waits for its pos files to reach the end of every
// file (and the multi-line flush interval), and stop is SIGTERM.
func v119Fluentd(t *testing.T, conf string, vars map[string]string, nodeRoot string, env *emulatortest.Env, tmp string, links []string, appends map[string]string) (run func() func(), ready, done func()) {
	fd := fidelity.FindFluentd(t)
	versions, err := fd.Versions()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range v119Peer {
		if !strings.Contains(versions, v) {
			t.Fatalf("the peer's VERSIONS lacks %q: update v119Peer with what it holds now:\n%s", v, versions)
		}
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	argv, rubyEnv, err := fd.Command(tmp, "-c", conf, "--no-supervisor")
	if err != nil {
		t.Fatal(err)
	}
	envs := append(rubyEnv, "TZ=UTC", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS="+env.URL, "AWS_REGION="+env.Region,
		"AWS_ACCESS_KEY_ID="+env.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+env.SecretAccessKey)
	for k, v := range vars {
		envs = append(envs, k+"="+v)
	}
	// sizes maps the paths Fluentd watches (under /var/log) to the sizes of
	// the files behind them.
	sizes := func() map[string]int64 {
		m := map[string]int64{}
		for _, l := range links {
			fi, err := os.Stat(filepath.Join(nodeRoot, "containers", filepath.Base(l)))
			if err != nil {
				t.Fatal(err)
			}
			m["/var/log/containers/"+filepath.Base(l)] = fi.Size()
		}
		for name := range appends {
			fi, err := os.Stat(filepath.Join(nodeRoot, name))
			if err != nil {
				t.Fatal(err)
			}
			m["/var/log/"+name] = fi.Size()
		}
		return m
	}
	var proc *fidelity.Proc
	wait := func(what string, m map[string]int64) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := proc.WaitFor(ctx, what, func() bool { return fidelity.PosCaughtUp(nodeRoot, m) }); err != nil {
			t.Fatalf("%v\n%s", err, readFile(filepath.Join(tmp, "fluentd.log")))
		}
	}
	run = func() func() {
		proc, err = fidelity.StartInNamespace("fluentd", nodeRoot, filepath.Join(tmp, "fluentd.log"), argv, envs)
		if err != nil {
			t.Fatal(err)
		}
		p := proc
		t.Cleanup(func() { _ = p.Stop(10 * time.Second) }) // after a failure
		return func() {
			if err := proc.Stop(2 * time.Minute); err != nil {
				t.Fatal(err)
			}
		}
	}
	ready = func() { wait("its pos files to list every file", sizes()) }
	done = func() {
		wait("its pos files to reach the end of every file", sizes())
		time.Sleep(7 * time.Second) // multiline_flush_interval 5s
	}
	return run, ready, done
}

// v119Pipeline builds the v1.19 configuration conf with vars on node-1
// (state in state) and points it at the test rig: the tail sources' paths not
// already under root, their exclusions and pos files moved under root, polled
// every 200ms; the CloudWatch outputs pointed at env, flushing every 200ms.
func v119Pipeline(t *testing.T, conf string, vars map[string]string, root, state string, env *emulatortest.Env) (*config.Pipeline, *config.Config) {
	t.Helper()
	c, err := config.ParseFile(conf, config.Options{Env: config.MapEnv(vars), Hostname: func() (string, error) { return "node-1", nil }})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	p, err := config.Build(c, config.BuildOptions{StateDir: state, NodeName: "node-1", Location: time.UTC})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	for _, s := range p.Sources {
		if s.Tail == nil {
			continue
		}
		tc := &s.Tail.Tail
		for i, pth := range tc.Paths {
			if !strings.HasPrefix(pth, root) {
				tc.Paths[i] = filepath.Join(root, pth) // away from the real /var/log
			}
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
	return p, c
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// TestV119_DockerPartials runs the fluentd-kubernetes-daemonset v1.19
// CloudWatch configuration unchanged, with its container path pointed at a
// temp dir through the image's own FLUENT_CONTAINER_TAIL_PATH (as an operator
// or a test rig does — not under /var/log/containers) and the default
// `<parse> @type json`, on docker json-file logs whose 40 KB lines the runtime
// wrote as 16 KiB pieces without "\n" (moby daemon/logger/jsonfilelog, pieces
// of at most 16 KiB from daemon/logger/copier.go): every logical line must
// arrive whole in one event, with the lines around it untouched.
func TestV119_DockerPartials(t *testing.T) {
	conf := fixtures.Path(t, v119Conf)
	env := emulatortest.Start(t, emulator.Config{})
	root, state := t.TempDir(), t.TempDir()
	node := &kubelog.Node{Root: filepath.Join(root, "node", "log")}
	vars := map[string]string{
		"LOG_GROUP_NAME":                    "v119",
		"FLUENTD_SYSTEMD_CONF":              "disable",
		"FLUENTD_PROMETHEUS_CONF":           "disable",
		"FLUENT_FILTER_KUBERNETES_URL":      "",
		"FLUENT_CONTAINER_TAIL_PARSER_TYPE": "json",
		"FLUENT_CONTAINER_TAIL_PATH":        filepath.Join(node.Root, "containers", "*.log"),
	}
	p, _ := v119Pipeline(t, conf, vars, root, state, env)
	ctr := addContainer(t, node, "default", "web-7d9f", "app", true)
	// 20 lines of ~40 KB as 16 KiB pieces, each between two short lines.
	want := writeDockerPartials(t, ctr.Real, time.Now().Add(-time.Hour).UTC())
	stop := startPipeline(t, p, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	waitTotal(t, env, int64(len(want)))
	time.Sleep(500 * time.Millisecond) // any extra pieces arrive
	stop()

	stream := config.ExpandTailTag("kubernetes.*", ctr.Link)
	evs := env.Server.Events("v119", stream)
	var got []string
	for _, ev := range evs {
		var m struct {
			Log string `json:"log"`
		}
		if err := json.Unmarshal([]byte(ev.Message), &m); err != nil {
			t.Fatalf("event %.80q: %v", ev.Message, err)
		}
		got = append(got, strings.TrimSuffix(m.Log, "\n"))
	}
	cut := 0
	for _, g := range got {
		if !strings.HasPrefix(g, "short ") && !strings.HasPrefix(g, "long ") {
			cut++
		}
	}
	t.Logf("%d logical lines (20 of %d–%d bytes in 16 KiB pieces), %d events, %d cut pieces", len(want), partialLong+8, partialLong+8+1900, len(got), cut)
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d (lines cut into pieces: %d)", len(got), len(want), cut)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d: %d bytes %.40q…, want %d bytes %.40q…", i, len(got[i]), got[i], len(want[i]), want[i])
		}
	}
}

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
	web := addContainer(t, node, "default", "web-7d9f", "nginx", true)
	proxy := addContainer(t, node, "kube-system", "kube-proxy-x1", "kube-proxy", true)
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
