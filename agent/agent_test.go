package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"logship/agent"
	"logship/config"
	"logship/internal/kubelog"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

// e2eConfig is a v1 configuration with one tail source per node layout (CRI
// files, docker files), path metadata and the cloudwatch_logs output pointed
// at the emulator.
const e2eConfig = `
<source>
  @type tail
  @id cri
  path {{ROOT}}/cri/var/log/containers/*.log
  pos_file {{ROOT}}/cri.pos
  tag kubernetes.*
  read_from_head true
  <parse>
    @type cri
  </parse>
</source>
<source>
  @type tail
  @id docker
  path {{ROOT}}/docker/var/log/containers/*.log
  pos_file {{ROOT}}/docker.pos
  tag kubernetes.*
  read_from_head true
  refresh_interval 1s
  <parse>
    @type json
    time_format %Y-%m-%dT%H:%M:%S.%NZ
  </parse>
</source>
<filter kubernetes.**>
  @type kubernetes_metadata
</filter>
<match **>
  @type cloudwatch_logs
  log_group_name e2e
  use_tag_as_stream true
  auto_create_stream true
  region us-east-1
  endpoint {{URL}}
  aws_key_id {{AK}}
  aws_sec_key {{SK}}
  <buffer>
    flush_interval 1s
    flush_thread_count 4
    queued_chunks_limit_size 64
    retry_wait 0.2s
    retry_max_interval 1s
    retry_forever true
  </buffer>
</match>
`

// startPipeline runs an agent on p; the returned function stops it and fails
// the test if Run returned an error or did not stop within 60s.
func startPipeline(t *testing.T, p *config.Pipeline, log *zap.Logger) (stop func()) {
	t.Helper()
	a, err := agent.New(p, agent.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("agent did not stop within 60s")
		}
	}
}

// runAgent parses cfg and runs an agent until stop is closed; it returns the
// Run error on done.
func runAgent(t *testing.T, cfgText, stateDir string, log *zap.Logger) (stop func() error) {
	t.Helper()
	c, err := config.Parse(filepath.Join(stateDir, "fluent.conf"), []byte(cfgText), config.Options{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	p, err := config.Build(c, config.BuildOptions{StateDir: stateDir, NodeName: "node-1"})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	a, err := agent.New(p, agent.Options{Log: log})
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := a.Run(ctx)
		if ctx.Err() == nil {
			t.Errorf("agent stopped by itself: %v", err)
		}
		done <- err
	}()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(60 * time.Second):
			t.Fatal("agent did not stop within 60s")
			return nil
		}
	}
}

type seqMsg struct {
	Stream string `json:"stream"`
	Log    string `json:"log"`
	Msg    string `json:"message"`
	Kube   struct {
		Container string `json:"container_name"`
		Namespace string `json:"namespace_name"`
		Pod       string `json:"pod_name"`
		PodID     string `json:"pod_id"`
		Host      string `json:"host"`
	} `json:"kubernetes"`
}

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
		c, err := nodes[kind].AddContainer(fmt.Sprintf("ns%d", i%3), fmt.Sprintf("pod-%d", i), "app", kind == "docker")
		if err != nil {
			t.Fatal(err)
		}
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
	cfg := strings.NewReplacer("{{ROOT}}", root, "{{URL}}", env.URL, "{{AK}}", env.AccessKeyID, "{{SK}}", env.SecretAccessKey).Replace(e2eConfig)
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))

	write(100)
	stop := runAgent(t, cfg, state, log)
	waitEvents(t, env, ctrs, 100)
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
	waitEvents(t, env, nil, 20*150+2*50)
	if err := stop(); err != nil {
		t.Fatalf("agent Run: %v", err)
	}
	// Lines written while the agent is down, then a restart.
	write(100)
	stop = runAgent(t, cfg, state, log)
	want := 20*250 + 2*50
	waitEvents(t, env, nil, want)
	if err := stop(); err != nil {
		t.Fatalf("agent Run after restart: %v", err)
	}

	for _, c := range ctrs {
		stream := "kubernetes." + strings.ReplaceAll(strings.TrimPrefix(c.Link, "/"), "/", ".")
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

// waitEvents waits until the emulator holds at least total events in group
// e2e (or, with ctrs, n per container).
func waitEvents(t *testing.T, env *emulatortest.Env, ctrs []*kubelog.Container, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := env.Server.Stats().EventsAccepted
		if ctrs != nil {
			ok := true
			for _, c := range ctrs {
				stream := "kubernetes." + strings.ReplaceAll(strings.TrimPrefix(c.Link, "/"), "/", ".")
				if len(env.Server.Events("e2e", stream)) < n {
					ok = false
					break
				}
			}
			if ok {
				return
			}
		} else if int(got) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for events: %d accepted", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
