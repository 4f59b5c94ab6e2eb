package agent_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
				tc.Paths[i] = filepath.Join(root, pth) // the node-log sources: away from the real /var/log
			}
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
	ctr, err := node.AddContainer("default", "web-7d9f", "app", true)
	if err != nil {
		t.Fatal(err)
	}
	// 20 lines of ~40 KB as 16 KiB pieces, each between two short lines.
	const long, piece = 40 << 10, 16 << 10
	t0 := time.Now().Add(-time.Hour).UTC()
	var b strings.Builder
	var want []string
	rec := func(text string, i int) {
		ts := t0.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
		fmt.Fprintf(&b, `{"log":%q,"stream":"stdout","time":%q}`+"\n", text, ts)
	}
	n := 0
	for i := 0; i < 20; i++ {
		short := fmt.Sprintf("short %d", i)
		rec(short+"\n", n)
		want = append(want, short)
		n++
		text := fmt.Sprintf("long %d ", i) + strings.Repeat(string(rune('a'+i)), long+i*100)
		for off := 0; off < len(text); off += piece {
			end := min(off+piece, len(text))
			p := text[off:end]
			if end == len(text) {
				p += "\n"
			}
			rec(p, n)
		}
		want = append(want, text)
		n++
	}
	if err := os.WriteFile(ctr.Real, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
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
	t.Logf("%d logical lines (20 of %d–%d bytes in 16 KiB pieces), %d events, %d cut pieces", len(want), long+8, long+8+1900, len(got), cut)
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d (lines cut into pieces: %d)", len(got), len(want), cut)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d: %d bytes %.40q…, want %d bytes %.40q…", i, len(got[i]), got[i], len(want[i]), want[i])
		}
	}
}
