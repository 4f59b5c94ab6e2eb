package agent_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"logship/config"
	"logship/internal/kubelog"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

const migrateConfig = `
<source>
  @type tail
  path {{ROOT}}/var/log/containers/*.log
  pos_file {{ROOT}}/var/log/fluentd-containers.log.pos
  tag kubernetes.*
  read_from_head true
  <parse>
    @type cri
  </parse>
</source>
<match **>
  @type cloudwatch_logs
  log_group_name migrate
  use_tag_as_stream true
  auto_create_stream true
  region us-east-1
  endpoint {{URL}}
  aws_key_id {{AK}}
  aws_sec_key {{SK}}
  <buffer>
    flush_interval 0.2s
  </buffer>
</match>
`

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
	plain, err := node.AddContainer("default", "web", "app", false)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := node.AddContainer("default", "api", "app", false)
	if err != nil {
		t.Fatal(err)
	}
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

	cfg := strings.NewReplacer("{{ROOT}}", root, "{{URL}}", env.URL, "{{AK}}", env.AccessKeyID, "{{SK}}", env.SecretAccessKey).Replace(migrateConfig)
	c, err := config.Parse(filepath.Join(root, "fluent.conf"), []byte(cfg), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := config.Build(c, config.BuildOptions{StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
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
