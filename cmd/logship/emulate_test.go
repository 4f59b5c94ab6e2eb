package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"logship/internal/e2etest"
	"logship/sink/emulator/emulatortest"
)

var endpointRE = regexp.MustCompile(`logship emulate: CloudWatch Logs endpoint (https?://127\.0\.0\.1:\d+) \(region us-east-1\)`)

// startEmulate runs 'logship emulate' with args until the returned stop is
// called; stop returns the command's error.
func startEmulate(t *testing.T, args ...string) (url string, stdout *e2etest.SyncBuffer, stop func() error) {
	t.Helper()
	stdout = &e2etest.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runEmulate(ctx, args, stdout, io.Discard) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := endpointRE.FindStringSubmatch(stdout.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("emulate exited early: %v (stdout %q)", err, stdout.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no endpoint line within 10s; stdout %q", stdout.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(15 * time.Second):
				runErr = errors.New("emulate did not stop within 15s")
			}
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	return url, stdout, stop
}

func TestEmulate_ServesPersistsAndStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	url, stdout, stop := startEmulate(t, "--listen", "127.0.0.1:0", "--data", dir, "--log-format", "json")
	c := emulatortest.NewClient(url, "us-east-1", "AK", "SK")
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("hello")}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("emulate after cancel: %v, want nil (exit 0)", err)
	}
	if !strings.Contains(stdout.String(), "1 events accepted") {
		t.Errorf("stdout %q, want the shutdown summary", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
		t.Fatalf("state not persisted: %v", err)
	}

	url2, _, _ := startEmulate(t, "--listen", "127.0.0.1:0", "--data", dir)
	c2 := emulatortest.NewClient(url2, "us-east-1", "AK", "SK")
	out, err := c2.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 1 || aws.ToString(out.Events[0].Message) != "hello" {
		t.Errorf("after restart events %+v, want [hello]", out.Events)
	}
}

func TestEmulate_FaultFlags(t *testing.T) {
	url, _, _ := startEmulate(t, "--listen", "127.0.0.1:0", "--throttle-rate", "1", "--fault-ops", "CreateLogGroup")
	c := emulatortest.NewClient(url, "us-east-1", "AK", "SK")
	_, err := c.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")})
	var th *types.ThrottlingException
	if !errors.As(err, &th) {
		t.Fatalf("CreateLogGroup with --throttle-rate 1: %v, want ThrottlingException", err)
	}
	if _, err := c.DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{}); err != nil {
		t.Fatalf("DescribeLogGroups (not in --fault-ops): %v", err)
	}
}

func TestEmulate_TLS(t *testing.T) {
	url, _, _ := startEmulate(t, "--listen", "127.0.0.1:0", "--tls")
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("endpoint %q, want https://", url)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Post(url+"/", "application/x-amz-json-1.1", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("HTTPS request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") == "" {
		t.Errorf("unsigned request without target: status %d, X-Amzn-ErrorType %q, want an AWS 400", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}

func TestEmulate_UsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--throttle-rate", "2"},
		{"--outage-after", "1s"},
		{"--access-key", "AK"},
		{"--log-format", "xml"},
		{"--max-event-size", "10"},
		{"extra"},
	} {
		err := runEmulate(context.Background(), append([]string{"--listen", "127.0.0.1:0"}, args...), io.Discard, io.Discard)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("emulate %q: %v, want a usage error", args, err)
		}
	}
}

// TestEmulateHelperProcess is not a test: it is 'logship' itself when run as
// a child process by TestEmulate_SIGTERMExitsZero.
func TestEmulateHelperProcess(t *testing.T) {
	if os.Getenv("LOGSHIP_EMULATE_HELPER") != "1" {
		t.Skip("helper process for TestEmulate_SIGTERMExitsZero")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func TestEmulate_SIGTERMExitsZero(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEmulateHelperProcess$", "--",
		"emulate", "--listen", "127.0.0.1:0", "--data", dir)
	cmd.Env = append(os.Environ(), "LOGSHIP_EMULATE_HELPER=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr e2etest.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	urlc := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if m := endpointRE.FindStringSubmatch(lines.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	var url string
	select {
	case url = <-urlc:
	case <-time.After(20 * time.Second):
		t.Fatalf("no endpoint line within 20s; stderr %q", stderr.String())
	}
	c := emulatortest.NewClient(url, "us-east-1", "AK", "SK")
	if _, err := c.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	sigterm(t, cmd, "emulate", 20*time.Second)
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil || !strings.Contains(string(b), `"name":"g"`) {
		t.Errorf("state.json after SIGTERM: %q (err %v), want group g saved", b, err)
	}
}
