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

// unsetAWS clears LOG_GROUP_NAME and every AWS setting for the test, so the
// built-in configuration runs as on a laptop with nothing configured.
func unsetAWS(t *testing.T) {
	t.Helper()
	for _, name := range []string{"LOG_GROUP_NAME", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "missing-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "missing-credentials"))
}

// writeUniqueCRI writes n CRI lines "replay-<tag>-<i>" with recent
// timestamps into a kubelet-named file and returns its path.
func writeUniqueCRI(t *testing.T, dir, tag string, n int) string {
	t.Helper()
	path := filepath.Join(dir, "web-"+tag+"_default_app-"+strings.Repeat(tag, 64/len(tag))[:64]+".log")
	var b strings.Builder
	start := time.Now().Add(-time.Minute)
	for i := 0; i < n; i++ {
		b.WriteString(start.Add(time.Duration(i) * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000000000Z"))
		b.WriteString(" stdout F replay-" + tag + "-" + strconv.Itoa(i) + "-end\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReplay_BuiltinNoSettings is issue 11 item 6: with the built-in
// configuration, no --config, no LOG_GROUP_NAME and no AWS settings,
// --to stdout prints every line exactly once and --dry-run plans every line.
func TestReplay_BuiltinNoSettings(t *testing.T) {
	unsetAWS(t)
	dir := t.TempDir()
	const n = 250
	files := []string{writeUniqueCRI(t, dir, "a", n), writeUniqueCRI(t, dir, "b", n)}

	t.Run("stdout", func(t *testing.T) {
		code, out, errOut := runCmd(t, append([]string{"replay", "--to", "stdout"}, files...)...)
		if code != 0 {
			t.Fatalf("replay --to stdout: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		seen := map[string]int{}
		for _, m := range regexp.MustCompile(`replay-[ab]-\d+-end`).FindAllString(out, -1) {
			seen[m]++
		}
		for _, tag := range []string{"a", "b"} {
			for i := 0; i < n; i++ {
				key := "replay-" + tag + "-" + strconv.Itoa(i) + "-end"
				if got := seen[key]; got != 1 {
					t.Fatalf("line %s printed %d times, want once\n%s", key, got, errOut)
				}
			}
		}
		if got, want := len(seen), 2*n; got != want {
			t.Fatalf("distinct lines printed = %d, want %d", got, want)
		}
	})
	t.Run("dry-run", func(t *testing.T) {
		code, out, errOut := runCmd(t, append([]string{"replay", "--dry-run"}, files...)...)
		if code != 0 {
			t.Fatalf("replay --dry-run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		m := regexp.MustCompile(`(?m)^(\d+) requests, (\d+) events$`).FindStringSubmatch(out)
		if m == nil || m[2] != strconv.Itoa(2*n) {
			t.Fatalf("dry run should plan %d events:\n%s", 2*n, out)
		}
		if !strings.Contains(out, `group="`+replayPlaceholderGroup+`"`) {
			t.Fatalf("dry run should name the placeholder group %q:\n%s", replayPlaceholderGroup, out)
		}
	})
	t.Run("cloudwatch still needs a group", func(t *testing.T) {
		code, _, errOut := runCmd(t, append([]string{"replay", "--to", "cloudwatch"}, files...)...)
		if code == 0 || !strings.Contains(errOut, "log_group_name") {
			t.Fatalf("replay --to cloudwatch without LOG_GROUP_NAME: exit %d, want the group error\n%s", code, errOut)
		}
	})
}
