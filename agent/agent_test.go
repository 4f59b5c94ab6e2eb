package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"logship/config"
	"logship/internal/e2etest"
	"logship/internal/kubelog"
	"logship/internal/kubetest"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

// nodeSource is a tail <source> with @id id reading from the head the
// container logs of the node layout under {{ROOT}}/id; rest is the rest of
// its body.
func nodeSource(id, rest string) string {
	return fmt.Sprintf(`<source>
  @type tail
  @id %[1]s
  path {{ROOT}}/%[1]s/var/log/containers/*.log
  pos_file {{ROOT}}/%[1]s.pos
  tag kubernetes.*
  read_from_head true
%[2]s</source>
`, id, rest)
}

// e2eConfig is a v1 configuration with one tail source per node layout (CRI
// files, docker files), path metadata and the cloudwatch_logs output pointed
// at the emulator.
var e2eConfig = "\n" + nodeSource("cri", "  <parse>\n    @type cri\n  </parse>\n") +
	nodeSource("docker", "  refresh_interval 1s\n  <parse>\n    @type json\n    time_format %Y-%m-%dT%H:%M:%S.%NZ\n  </parse>\n") + `<filter kubernetes.**>
  @type kubernetes_metadata
</filter>
` + e2etest.Output("e2e", "", "flush_interval 1s", "flush_thread_count 4",
	"queued_chunks_limit_size 64", "retry_wait 0.2s", "retry_max_interval 1s", "retry_forever true")

// TestAgent_EndToEnd runs the real agent on 20 containers (10 CRI, 10 docker)
// into the emulator over HTTP, with a kubelet rotation and an agent restart
// midway, and checks that every line arrives exactly once, in order per
// container, with its path metadata.
func TestAgent_EndToEnd(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	root := t.TempDir()
	state := t.TempDir()
	start := time.Now().Add(-time.Hour)
	nodes := map[string]*kubelog.Node{
		"cri":    {Root: filepath.Join(root, "cri", "var", "log"), Start: start},
		"docker": {Root: filepath.Join(root, "docker", "var", "log"), Start: start},
	}
	var ctrs []*kubelog.Container
	for i := 0; i < 20; i++ {
		kind := "cri"
		if i%2 == 1 {
			kind = "docker"
		}
		c := addContainer(t, nodes[kind], fmt.Sprintf("ns%d", i%3), fmt.Sprintf("pod-%d", i), "app", kind == "docker")
		ctrs = append(ctrs, c)
	}
	write := func(n int) {
		for _, c := range ctrs {
			node := nodes["cri"]
			if c.Docker {
				node = nodes["docker"]
			}
			if _, err := node.Write(c, n, 200); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := e2etest.Config(e2eConfig, root, env)
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))

	write(100)
	stop := runAgent(t, cfg, state, log)
	waitStreams(t, env, "e2e", ctrs, 100)
	// A kubelet rotation on two containers while the agent runs.
	for _, c := range ctrs[:2] {
		node := nodes["cri"]
		if c.Docker {
			node = nodes["docker"]
		}
		if _, err := node.Write(c, 50, 200); err != nil {
			t.Fatal(err)
		}
		if err := node.Rotate(c, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	write(50)
	waitTotal(t, env, int64(20*150+2*50))
	if err := stop(); err != nil {
		t.Fatalf("agent Run: %v", err)
	}
	// Lines written while the agent is down, then a restart.
	write(100)
	stop = runAgent(t, cfg, state, log)
	want := 20*250 + 2*50
	waitTotal(t, env, int64(want))
	if err := stop(); err != nil {
		t.Fatalf("agent Run after restart: %v", err)
	}

	for _, c := range ctrs {
		stream := tagStream(c)
		evs := env.Server.Events("e2e", stream)
		if len(evs) != c.Lines {
			t.Errorf("%s: %d events, want %d", c.Pod, len(evs), c.Lines)
			continue
		}
		for i, ev := range evs {
			var m seqMsg
			if err := json.Unmarshal([]byte(ev.Message), &m); err != nil {
				t.Fatalf("%s event %d: %v: %s", c.Pod, i, err, ev.Message)
			}
			text := m.Msg
			if c.Docker {
				text = m.Log
			}
			if want := fmt.Sprintf(`"seq":%d,`, i+1); !strings.Contains(text, want) {
				t.Fatalf("%s event %d is %q, want the line with %s (exactly once, in order)", c.Pod, i, text, want)
			}
			if c.Docker && !strings.HasSuffix(m.Log, "\n") {
				t.Fatalf("%s docker log %q lacks its newline", c.Pod, m.Log)
			}
			// No API server: path metadata only, without pod_id or host,
			// as the kubernetes_metadata plugin without kubernetes_url.
			if m.Kube.Pod != c.Pod || m.Kube.Namespace != c.Namespace || m.Kube.Container != c.Name || m.Kube.PodID != "" || m.Kube.Host != "" {
				t.Fatalf("%s metadata %+v, want pod %s ns %s container %s and no pod_id or host", c.Pod, m.Kube, c.Pod, c.Namespace, c.Name)
			}
		}
	}
}

var migrateConfig = e2etest.CRISource("pos_file {{ROOT}}/var/log/fluentd-containers.log.pos") +
	e2etest.Output("migrate", "", "flush_interval 0.2s")

// TestAgent_FluentdCutover switches a node from Fluentd to logship: Fluentd's
// pos_file says how far it shipped each container file, one of them since
// rotated by the kubelet (Fluentd was still reading the inode now named
// 0.log.<timestamp>). logship, started with the same configuration and
// read_from_head, must ship exactly the lines after Fluentd's positions —
// the rest of the rotated file, then the new file — none twice, none skipped.
func TestAgent_FluentdCutover(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	root, state := t.TempDir(), t.TempDir()
	node := &kubelog.Node{Root: filepath.Join(root, "var", "log"), Start: time.Now().Add(-time.Hour)}
	plain := addContainer(t, node, "default", "web", "app", false)
	rotated := addContainer(t, node, "default", "api", "app", false)
	for _, c := range []*kubelog.Container{plain, rotated} {
		if _, err := node.Write(c, 100, 120); err != nil {
			t.Fatal(err)
		}
	}
	// Fluentd shipped 60 lines of each file: its pos_file holds the symlink
	// path, the offset after line 60 and the inode of the real file.
	var pos strings.Builder
	for _, c := range []*kubelog.Container{plain, rotated} {
		off := offsetAfterLine(t, c.Real, 60)
		var st syscall.Stat_t
		if err := syscall.Stat(c.Real, &st); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&pos, "%s\t%016x\t%016x\n", c.Link, off, st.Ino)
	}
	if err := os.WriteFile(filepath.Join(root, "var", "log", "fluentd-containers.log.pos"), []byte(pos.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// Then the kubelet rotated one file, and both containers wrote on.
	if err := node.Rotate(rotated, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*kubelog.Container{plain, rotated} {
		if _, err := node.Write(c, 50, 120); err != nil {
			t.Fatal(err)
		}
	}

	cfg := e2etest.Config(migrateConfig, root, env)
	p := e2etest.Pipeline(t, cfg, root, config.BuildOptions{StateDir: state})
	stop := startPipeline(t, p, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	const want = 2 * (100 - 60 + 50)
	waitTotal(t, env, want)
	time.Sleep(500 * time.Millisecond) // nothing more may arrive
	stop()

	for _, c := range []*kubelog.Container{plain, rotated} {
		evs := env.Server.Events("migrate", config.ExpandTailTag("kubernetes.*", c.Link))
		if len(evs) != 90 {
			t.Errorf("%s: %d events, want 90 (lines 61..150)", c.Pod, len(evs))
			continue
		}
		for i, ev := range evs {
			var m struct {
				Message string `json:"message"`
			}
			if err := json.Unmarshal([]byte(ev.Message), &m); err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf(`"seq":%d,`, 61+i); !strings.Contains(m.Message, want) {
				t.Fatalf("%s event %d is %q, want the line with %s", c.Pod, i, m.Message, want)
			}
		}
	}
	if n := env.Server.Stats().EventsAccepted; n != want {
		t.Errorf("%d events accepted, want %d", n, want)
	}
}

// offsetAfterLine returns the byte offset just after line n of path.
func offsetAfterLine(t *testing.T, path string, n int) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for i := 0; i < n; i++ {
		j := strings.IndexByte(string(b[off:]), '\n')
		if j < 0 {
			t.Fatalf("%s has fewer than %d lines", path, n)
		}
		off += j + 1
	}
	return int64(off)
}

// orderConfig ships every container of a CRI node into ONE static stream
// with two flush threads and small chunks, so that a stream has many chunks
// queued at once.
var orderConfig = e2etest.CRISource("pos_file {{ROOT}}/cri.pos") + `
<filter kubernetes.**>
  @type kubernetes_metadata
</filter>
` + e2etest.Output("order", "node-1", "chunk_limit_size 16k", "flush_interval 0.2s", "flush_thread_count 2",
	"retry_wait 0.1s", "retry_max_interval 0.5s", "retry_forever true")

// TestAgent_OrderOneStreamUnderFaults: 40 containers into one static stream
// with flush_thread_count 2, through a period of throttling and then of 503s
// while lines keep arriving: every line arrives exactly once, and the lines of
// each container arrive in the order they were written.
func TestAgent_OrderOneStreamUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: runs the agent through two fault periods")
	}
	env := emulatortest.Start(t, emulator.Config{})
	env.Server.Faults().SetOps("PutLogEvents")
	root := t.TempDir()
	node := &kubelog.Node{Root: filepath.Join(root, "var", "log"), Start: time.Now().Add(-time.Hour)}
	const nCtr = 40
	var ctrs []*kubelog.Container
	for i := range nCtr {
		c := addContainer(t, node, "ns", fmt.Sprintf("pod-%d", i), "app", false)
		ctrs = append(ctrs, c)
	}
	write := func(n int) {
		t.Helper()
		for _, c := range ctrs {
			if _, err := node.Write(c, n, 200); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := e2etest.Config(orderConfig, root, env)
	log := zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel))

	write(100)
	stop := runAgent(t, cfg, t.TempDir(), log)
	waitTotal(t, env, 1) // the stream exists and delivery has begun
	faults := env.Server.Faults()
	waitStat := func(what string, get func(emulator.Stats) int64, n int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for get(env.Server.Stats()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %d %s", n, what)
			}
			// Lines keep arriving during the faults, at most 300 per
			// container, so that a loaded CI machine drains them through
			// one stream afterwards in a few seconds.
			if ctrs[0].Lines < 400 {
				write(1)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	faults.SetThrottleRate(1)
	waitStat("throttled requests", func(s emulator.Stats) int64 { return s.Throttled }, 10)
	faults.SetThrottleRate(0)
	faults.SetOutageStatus(true)
	faults.SetDown(true)
	waitStat("503 answers", func(s emulator.Stats) int64 { return s.OutageRequests }, 10)
	faults.SetDown(false)
	write(100)
	total := 0
	for _, c := range ctrs {
		total += c.Lines
	}
	waitTotal(t, env, int64(total))
	if err := stop(); err != nil {
		t.Fatalf("agent Run: %v", err)
	}

	evs := env.Server.Events("order", "node-1")
	last := map[string]int{}
	seen := map[string]int{}
	distinct := map[string]struct{}{}
	violations := 0
	var first string
	for i, ev := range evs {
		var m seqMsg
		if err := json.Unmarshal([]byte(ev.Message), &m); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, ev.Message)
		}
		_, rest, ok := strings.Cut(m.Msg, `"seq":`)
		if !ok {
			t.Fatalf("event %d without seq: %s", i, ev.Message)
		}
		num, _, _ := strings.Cut(rest, ",")
		seq, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("event %d seq %q: %v", i, num, err)
		}
		pod := m.Kube.Pod
		seen[pod]++
		distinct[pod+"/"+num] = struct{}{}
		if seq != last[pod]+1 {
			violations++
			if first == "" {
				first = fmt.Sprintf("%s seq %d after %d (event %d)", pod, seq, last[pod], i)
			}
		}
		last[pod] = max(last[pod], seq)
	}
	dups := len(evs) - len(distinct)
	st := env.Server.Stats()
	t.Logf("%d events, %d containers, %d throttled, %d 503s, %d order violations, %d duplicates",
		len(evs), len(seen), st.Throttled, st.OutageRequests, violations, dups)
	if len(evs) != total || dups != 0 || len(seen) != nCtr {
		t.Errorf("%d events (%d duplicates) from %d containers, want %d from %d", len(evs), dups, len(seen), total, nCtr)
	}
	if violations != 0 {
		t.Errorf("%d order violations per container (first: %s), want 0", violations, first)
	}
}

// multiFormatConfig reads container logs with the multi_format parser
// (fluent-plugin-multi-format-parser) as configs for mixed docker and CRI
// nodes do: a json pattern for docker json-file, a regexp for CRI.
var multiFormatConfig = `
<source>
  @type tail
  @id containers
  path {{ROOT}}/var/log/containers/*.log
  tag kubernetes.*
  read_from_head true
  refresh_interval 0.2s
  <parse>
    @type multi_format
    <pattern>
      format json
      time_key time
      time_format %Y-%m-%dT%H:%M:%S.%NZ
    </pattern>
    <pattern>
      format /^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>[FP]) (?<log>.*)$/
      time_format %Y-%m-%dT%H:%M:%S.%N%:z
    </pattern>
  </parse>
</source>
` + e2etest.Output("mf", "", "flush_interval 0.2s", "retry_wait 0.1s")

// TestMultiFormat_DockerPartials: docker json-file lines of 40 KB that the
// runtime wrote as 16 KiB pieces without "\n" (moby
// daemon/logger/copier.go), and the same lines as CRI P pieces closed by an
// F (containerd v1.7 pkg/cri/io/logger.go, redirectLogs), arrive whole, one event each,
// through a multi_format parser, with the short lines around them untouched.
func TestMultiFormat_DockerPartials(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	root, state := t.TempDir(), t.TempDir()
	node := &kubelog.Node{Root: filepath.Join(root, "var", "log")}
	ctr := addContainer(t, node, "default", "web-7d9f", "app", true)
	t0 := time.Now().Add(-time.Hour).UTC()
	want := writeDockerPartials(t, ctr.Real, t0)
	// The same lines in a CRI file, as P pieces closed by an F: the regexp
	// pattern's record, joined.
	cri := addContainer(t, node, "default", "api-5c6b", "app", false)
	var cb strings.Builder
	for i := 0; i < 20; i++ {
		ts := t0.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
		fmt.Fprintf(&cb, "%s stdout F short %d\n", ts, i)
		text := want[2*i+1]
		for off := 0; off < len(text); off += partialPiece {
			end := min(off+partialPiece, len(text))
			tag := "P"
			if end == len(text) {
				tag = "F"
			}
			fmt.Fprintf(&cb, "%s stdout %s %s\n", ts, tag, text[off:end])
		}
	}
	if err := os.WriteFile(cri.Real, []byte(cb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := e2etest.Config(multiFormatConfig, root, env)
	stop := runAgent(t, cfg, state, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	waitTotal(t, env, int64(2*len(want)))
	time.Sleep(500 * time.Millisecond) // any extra pieces arrive
	if err := stop(); err != nil {
		t.Errorf("agent Run: %v", err)
	}

	for _, c := range []struct {
		name, link, logtag string
	}{{"docker", ctr.Link, ""}, {"cri", cri.Link, "F"}} {
		evs := env.Server.Events("mf", config.ExpandTailTag("kubernetes.*", c.link))
		var got []string
		for _, ev := range evs {
			var m struct {
				Log    string `json:"log"`
				Stream string `json:"stream"`
				Logtag string `json:"logtag"`
			}
			if err := json.Unmarshal([]byte(ev.Message), &m); err != nil {
				t.Fatalf("%s event %.80q: %v", c.name, ev.Message, err)
			}
			if m.Stream != "stdout" || m.Logtag != c.logtag {
				t.Errorf("%s event %.60q: stream %q logtag %q, want stdout and %q (the pattern's record)", c.name, ev.Message, m.Stream, m.Logtag, c.logtag)
			}
			got = append(got, strings.TrimSuffix(m.Log, "\n"))
		}
		t.Logf("%s: %d logical lines (20 of ~40 KB in 16 KiB pieces), %d events", c.name, len(want), len(got))
		if len(got) != len(want) {
			t.Fatalf("%s: %d events, want %d", c.name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s event %d: %d bytes %.40q…, want %d bytes %.40q…", c.name, i, len(got[i]), got[i], len(want[i]), want[i])
			}
		}
	}
}

var kubeConfig = e2etest.CRISource("pos_file {{ROOT}}/c.pos") + `
<filter kubernetes.**>
  @type kubernetes_metadata
  kubernetes_url {{API}}
  ca_file {{CA}}
  client_cert {{CERT}}
  client_key {{KEY}}
</filter>
` + e2etest.Output("kube", "", "flush_interval 1s")

// TestAgent_KubernetesMetadata runs the agent with a kubernetes_metadata
// filter against a real kube-apiserver: records carry the pod's labels,
// image and namespace metadata, looked up by the pod UID of the log path.
func TestAgent_KubernetesMetadata(t *testing.T) {
	cl := kubetest.Start(t)
	cs := cl.Client()
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: "shop", Labels: map[string]string{"team": "payments"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := cs.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: "registry.test/web:2"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// No kubelet runs: set the status it would report.
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.9.0.7", ContainerStatuses: []corev1.ContainerStatus{{
		Name: "app", Image: "registry.test/web:2", ImageID: "registry.test/web@sha256:22",
		ContainerID: "containerd://abc", Ready: true}}}
	if pod, err = cs.CoreV1().Pods("shop").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	env := emulatortest.Start(t, emulator.Config{})
	root, state := t.TempDir(), t.TempDir()
	node := &kubelog.Node{Root: filepath.Join(root, "var", "log"), Start: time.Now().Add(-time.Minute)}
	c, err := node.AddContainerUID("shop", "web-1", string(pod.UID), "app", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Write(c, 20, 100); err != nil {
		t.Fatal(err)
	}
	cfg := e2etest.Config(kubeConfig, root, env,
		"{{API}}", cl.URL, "{{CA}}", cl.CAFile, "{{CERT}}", cl.ClientCert, "{{KEY}}", cl.ClientKey)
	stop := runAgent(t, cfg, state, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	waitTotal(t, env, 20)
	if err := stop(); err != nil {
		t.Fatalf("agent: %v", err)
	}
	stream := tagStream(c)
	evs := env.Server.Events("kube", stream)
	if len(evs) != 20 {
		t.Fatalf("%d events, want 20", len(evs))
	}
	var m struct {
		Kube struct {
			Pod       string            `json:"pod_name"`
			PodID     string            `json:"pod_id"`
			Image     string            `json:"container_image"`
			Host      string            `json:"host"`
			Labels    map[string]string `json:"labels"`
			NsLabels  map[string]string `json:"namespace_labels"`
			MasterURL string            `json:"master_url"`
		} `json:"kubernetes"`
	}
	if err := json.Unmarshal([]byte(evs[0].Message), &m); err != nil {
		t.Fatal(err)
	}
	k := m.Kube
	if k.Pod != "web-1" || k.PodID != string(pod.UID) || k.Image != "registry.test/web:2" || k.Host != "node-1" ||
		k.Labels["app"] != "web" || k.NsLabels["team"] != "payments" || k.MasterURL != cl.URL {
		t.Fatalf("kubernetes metadata %+v, want the API server's pod (uid %s)\n%s", k, pod.UID, evs[0].Message)
	}
}
