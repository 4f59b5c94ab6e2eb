package agent_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"logship/agent"
	"logship/config"
	"logship/internal/e2etest"
	"logship/internal/kubelog"
	"logship/sink/emulator/emulatortest"
)

// startPipeline runs an agent on p; the returned function stops it and fails
// the test if Run returned an error (or the agent stopped by itself, or did
// not stop within 60s).
func startPipeline(t *testing.T, p *config.Pipeline, log *zap.Logger) (stop func()) {
	t.Helper()
	a, err := agent.New(p, agent.Options{Log: log})
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	stopRun := agent.StartForTest(t, a)
	return func() {
		if err := stopRun(); err != nil {
			t.Errorf("agent Run: %v", err)
		}
	}
}

// runAgent builds cfgText (state in stateDir, node node-1) and runs an agent
// on it until stop, which returns the Run error.
func runAgent(t *testing.T, cfgText, stateDir string, log *zap.Logger) (stop func() error) {
	t.Helper()
	p := e2etest.Pipeline(t, cfgText, stateDir, config.BuildOptions{StateDir: stateDir, NodeName: "node-1"})
	a, err := agent.New(p, agent.Options{Log: log})
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	return agent.StartForTest(t, a)
}

// seqMsg is a kubelog line as the cloudwatch_logs output sends it, with its
// path metadata.
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

// tagStream is the stream of a kubelog container's records tagged
// kubernetes.* with use_tag_as_stream.
func tagStream(c *kubelog.Container) string {
	return "kubernetes." + strings.ReplaceAll(strings.TrimPrefix(c.Link, "/"), "/", ".")
}

// waitStreams waits until every stream of ctrs in group holds n events.
func waitStreams(t *testing.T, env *emulatortest.Env, group string, ctrs []*kubelog.Container, n int) {
	t.Helper()
	waitUntil(t, func() bool {
		for _, c := range ctrs {
			if len(env.Server.Events(group, tagStream(c))) < n {
				return false
			}
		}
		return true
	}, func() string {
		return fmt.Sprintf("%d events per stream (%d accepted)", n, env.Server.Stats().EventsAccepted)
	})
}

// waitTotal waits until the emulator has accepted at least n events.
func waitTotal(t *testing.T, env *emulatortest.Env, n int64) {
	t.Helper()
	waitUntil(t, func() bool { return env.Server.Stats().EventsAccepted >= n },
		func() string { return fmt.Sprintf("%d events (%d accepted)", n, env.Server.Stats().EventsAccepted) })
}

// waitUntil polls cond for 60s; on a timeout the test fails with what it
// waited for, as want describes it then.
func waitUntil(t *testing.T, cond func() bool, want func() string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", want())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Docker json-file lines the runtime wrote in pieces: partialLong-byte lines
// (and more) cut into partialPiece-byte pieces without "\n", as moby's
// copier writes them (daemon/logger/copier.go).
const partialLong, partialPiece = 40 << 10, 16 << 10

// writeDockerPartials writes to path, in the docker json-file format with
// times from t0 on, 20 lines longer than partialLong as partialPiece pieces,
// each after a short line; it returns the logical lines, in order.
func writeDockerPartials(t *testing.T, path string, t0 time.Time) (want []string) {
	t.Helper()
	var b strings.Builder
	n := 0
	rec := func(text string) {
		ts := t0.Add(time.Duration(n) * time.Millisecond).Format(time.RFC3339Nano)
		fmt.Fprintf(&b, `{"log":%q,"stream":"stdout","time":%q}`+"\n", text, ts)
	}
	for i := 0; i < 20; i++ {
		short := fmt.Sprintf("short %d", i)
		rec(short + "\n")
		want = append(want, short)
		n++
		text := fmt.Sprintf("long %d ", i) + strings.Repeat(string(rune('a'+i)), partialLong+i*100)
		for off := 0; off < len(text); off += partialPiece {
			end := min(off+partialPiece, len(text))
			p := text[off:end]
			if end == len(text) {
				p += "\n"
			}
			rec(p)
		}
		want = append(want, text)
		n++
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return want
}

// addContainer adds a container to node (see kubelog.Node.AddContainer).
func addContainer(t *testing.T, node *kubelog.Node, namespace, pod, name string, docker bool) *kubelog.Container {
	t.Helper()
	c, err := node.AddContainer(namespace, pod, name, docker)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
