package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"logship/internal/kubelog"
)

func TestDemo(t *testing.T) {
	code, out, errOut := runCmd(t, "demo", "--pods", "2", "--lines", "50")
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// 2 pods: pod 0 has app + sidecar, pod 1 app: 3 containers × 3 rounds × 50.
	if !strings.Contains(out, "wrote 450 lines to 3 containers") || !strings.Contains(out, "delivered 450 events") ||
		!strings.Contains(out, "every line delivered exactly once.") {
		t.Fatalf("demo summary:\n%s", out)
	}
}

func writeLogs(t *testing.T, n int) (files []string, total int) {
	t.Helper()
	node := &kubelog.Node{Root: filepath.Join(t.TempDir(), "var", "log"), Start: time.Now().Add(-time.Hour)}
	for i, docker := range []bool{false, true} {
		c, err := node.AddContainer("default", "web-"+strconv.Itoa(i), "app", docker)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := node.Write(c, n, 150); err != nil {
			t.Fatal(err)
		}
		files = append(files, c.Link)
		total += n
	}
	return files, total
}

func TestReplay_DryRun(t *testing.T) {
	t.Setenv("LOG_GROUP_NAME", "replayed")
	files, total := writeLogs(t, 300)
	code, out, errOut := runCmd(t, append([]string{"replay", "--dry-run"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	want := regexp.MustCompile(`(?m)^(\d+) requests, (\d+) events$`).FindStringSubmatch(out)
	if want == nil || want[2] != strconv.Itoa(total) || want[1] != "2" {
		t.Fatalf("dry run should plan 2 requests of %d events:\n%s", total, out)
	}
	if !strings.Contains(out, `group="replayed"`) {
		t.Fatalf("dry run lacks the group:\n%s", out)
	}
}

func TestReplay_Emulator(t *testing.T) {
	t.Setenv("LOG_GROUP_NAME", "replayed")
	files, total := writeLogs(t, 200)
	code, out, errOut := runCmd(t, append([]string{"replay", "--to", "emulator"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "emulator: "+strconv.Itoa(total)+" events") {
		t.Fatalf("replay to the emulator should deliver %d events:\n%s", total, out)
	}
}

func TestReplay_DeadLetter(t *testing.T) {
	t.Setenv("LOG_GROUP_NAME", "replayed")
	dl := filepath.Join(t.TempDir(), "chunk-1.jsonl")
	now := time.Now().Add(-time.Minute).UnixNano()
	var b strings.Builder
	for i := 0; i < 5; i++ {
		b.WriteString(`{"time":` + strconv.FormatInt(now+int64(i), 10) + `,"tag":"t","group":"g1","stream":"s1","message":"m` + strconv.Itoa(i) + `","error":"permanent error"}` + "\n")
	}
	if err := os.WriteFile(dl, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "replay", "--to", "stdout", dl)
	if code != 0 || strings.Count(out, " g1/s1 m") != 5 {
		t.Fatalf("replay --to stdout of a dead letter: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "replay", "--to", "emulator", dl)
	if code != 0 || !strings.Contains(out, "emulator: 5 events") {
		t.Fatalf("replay --to emulator of a dead letter: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestReplay_FluentdChunk replays a Fluentd file-buffer chunk (msgpack
// [tag, EventTime, record] events) left behind by a stopped Fluentd.
func TestReplay_FluentdChunk(t *testing.T) {
	t.Setenv("LOG_GROUP_NAME", "replayed")
	var b []byte
	now := uint32(time.Now().Add(-time.Minute).Unix())
	for i := 0; i < 3; i++ {
		msg := "m" + strconv.Itoa(i) + "\n"
		b = append(b, 0x93, 0xa0|byte(len("kube.x")))
		b = append(b, "kube.x"...)
		b = append(b, 0xd7, 0x00, byte(now>>24), byte(now>>16), byte(now>>8), byte(now), 0, 0, 0, byte(i))
		b = append(b, 0x82, 0xa3, 'l', 'o', 'g', 0xa0|byte(len(msg)))
		b = append(b, msg...)
		b = append(b, 0xa6, 's', 't', 'r', 'e', 'a', 'm', 0xa6, 's', 't', 'd', 'o', 'u', 't')
	}
	dir := t.TempDir()
	chunk := filepath.Join(dir, "buffer.q5f1d2a3b4c5d6e7f8091a2b3c4d5e6f7.log")
	if err := os.WriteFile(chunk, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chunk+".meta", []byte{0xc1, 0x00}, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "replay", "--to", "stdout", chunk, chunk+".meta")
	if code != 0 || strings.Count(out, ` replayed/kube.x {"log":"m`) != 3 {
		t.Fatalf("replay --to stdout of a Fluentd chunk: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "replay", "--to", "emulator", chunk)
	if code != 0 || !strings.Contains(out, "emulator: 3 events") {
		t.Fatalf("replay --to emulator of a Fluentd chunk: exit %d\n%s\n%s", code, out, errOut)
	}
}
