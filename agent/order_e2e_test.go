package agent_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"logship/internal/kubelog"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

// orderConfig ships every container of a CRI node into ONE static stream
// with two flush threads and small chunks, so that a stream has many chunks
// queued at once.
const orderConfig = `
<source>
  @type tail
  path {{ROOT}}/var/log/containers/*.log
  pos_file {{ROOT}}/cri.pos
  tag kubernetes.*
  read_from_head true
  <parse>
    @type cri
  </parse>
</source>
<filter kubernetes.**>
  @type kubernetes_metadata
</filter>
<match **>
  @type cloudwatch_logs
  log_group_name order
  log_stream_name node-1
  auto_create_stream true
  region us-east-1
  endpoint {{URL}}
  aws_key_id {{AK}}
  aws_sec_key {{SK}}
  <buffer>
    chunk_limit_size 16k
    flush_interval 0.2s
    flush_thread_count 2
    retry_wait 0.1s
    retry_max_interval 0.5s
    retry_forever true
  </buffer>
</match>
`

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
		c, err := node.AddContainer("ns", fmt.Sprintf("pod-%d", i), "app", false)
		if err != nil {
			t.Fatal(err)
		}
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
	cfg := strings.NewReplacer("{{ROOT}}", root, "{{URL}}", env.URL, "{{AK}}", env.AccessKeyID,
		"{{SK}}", env.SecretAccessKey).Replace(orderConfig)
	log := zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel))

	write(100)
	stop := runAgent(t, cfg, t.TempDir(), log)
	waitEvents(t, env, nil, 1) // the stream exists and delivery has begun
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
	waitEvents(t, env, nil, total)
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
