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
	"logship/internal/kubelog"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

// multiFormatConfig reads container logs with the multi_format parser
// (fluent-plugin-multi-format-parser) as configs for mixed docker and CRI
// nodes do: a json pattern for docker json-file, a regexp for CRI.
const multiFormatConfig = `
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
<match **>
  @type cloudwatch_logs
  log_group_name mf
  use_tag_as_stream true
  auto_create_stream true
  region us-east-1
  endpoint {{URL}}
  aws_key_id {{AK}}
  aws_sec_key {{SK}}
  <buffer>
    flush_interval 0.2s
    retry_wait 0.1s
  </buffer>
</match>
`

// TestMultiFormat_DockerPartials: docker json-file lines of 40 KB that the
// runtime wrote as 16 KiB pieces without "\n" (moby
// daemon/logger/copier.go), and the same lines as CRI P pieces closed by an
// F (containerd v1.7 pkg/cri/io/logger.go, redirectLogs), arrive whole, one event each,
// through a multi_format parser, with the short lines around them untouched.
func TestMultiFormat_DockerPartials(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{})
	root, state := t.TempDir(), t.TempDir()
	node := &kubelog.Node{Root: filepath.Join(root, "var", "log")}
	ctr, err := node.AddContainer("default", "web-7d9f", "app", true)
	if err != nil {
		t.Fatal(err)
	}
	const long, piece = 40 << 10, 16 << 10
	t0 := time.Now().Add(-time.Hour).UTC()
	var b strings.Builder
	var want []string
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
		text := fmt.Sprintf("long %d ", i) + strings.Repeat(string(rune('a'+i)), long+i*100)
		for off := 0; off < len(text); off += piece {
			end := min(off+piece, len(text))
			p := text[off:end]
			if end == len(text) {
				p += "\n"
			}
			rec(p)
		}
		want = append(want, text)
		n++
	}
	if err := os.WriteFile(ctr.Real, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same lines in a CRI file, as P pieces closed by an F: the regexp
	// pattern's record, joined.
	cri, err := node.AddContainer("default", "api-5c6b", "app", false)
	if err != nil {
		t.Fatal(err)
	}
	var cb strings.Builder
	for i := 0; i < 20; i++ {
		ts := t0.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
		fmt.Fprintf(&cb, "%s stdout F short %d\n", ts, i)
		text := want[2*i+1]
		for off := 0; off < len(text); off += piece {
			end := min(off+piece, len(text))
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
	cfg := strings.NewReplacer("{{ROOT}}", root, "{{URL}}", env.URL, "{{AK}}", env.AccessKeyID, "{{SK}}", env.SecretAccessKey).Replace(multiFormatConfig)
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
