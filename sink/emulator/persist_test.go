package emulator_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"logship/internal/testclock"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

// runServer runs an emulator on 127.0.0.1 until stop is called; stop returns
// Run's error.
func runServer(t *testing.T, cfg emulator.Config) (env *emulatortest.Env, stop func() error) {
	t.Helper()
	srv, err := emulator.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return emulatortest.Serve(t, srv, cfg)
}

func TestPersist_RestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	clk := testclock.New(t0)
	cfg := emulator.Config{DataDir: dir, Now: clk.Now, SaveInterval: -1}
	ctx := context.Background()
	now := ms(t0)

	env, stop := runServer(t, cfg)
	env.CreateStream(t, "/k8s/app", "node-a")
	if _, err := env.Client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/k8s/app"), RetentionInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.TagLogGroup(ctx, &cloudwatchlogs.TagLogGroupInput{LogGroupName: aws.String("/k8s/app"), Tags: map[string]string{"team": "obs"}}); err != nil {
		t.Fatal(err)
	}
	if err := putFilter(ctx, env, "/k8s/app", "to-es", "ERROR"); err != nil {
		t.Fatal(err)
	}
	first, err := put(ctx, env, "/k8s/app", "node-a", ev(now-1, "one"), ev(now, "two \"quoted\" ü"))
	if err != nil {
		t.Fatal(err)
	}
	env.CreateStream(t, "/k8s/other", "empty")
	env.CreateStream(t, "/k8s/other", "full")
	if _, err := put(ctx, env, "/k8s/other", "full", ev(now, "x\ty\u0001")); err != nil {
		t.Fatal(err)
	}
	if err := createGroup(ctx, env, "/k8s/bare"); err != nil {
		t.Fatal(err)
	}
	before := env.Server.Events("/k8s/app", "node-a")
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "state.json" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("data dir holds %q, want only state.json", names)
	}

	env2, stop2 := runServer(t, cfg)
	defer stop2()
	after := env2.Server.Events("/k8s/app", "node-a")
	if len(after) != len(before) {
		t.Fatalf("after restart %d events, want %d", len(after), len(before))
	}
	for i := range before {
		if after[i] != before[i] {
			t.Errorf("event %d after restart %+v, want %+v", i, after[i], before[i])
		}
	}
	groups, err := env2.Client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups.LogGroups) != 3 || aws.ToInt32(groups.LogGroups[0].RetentionInDays) != 7 || aws.ToInt64(groups.LogGroups[0].CreationTime) != now {
		t.Errorf("groups after restart %+v, want /k8s/app with retention 7, /k8s/bare, /k8s/other", groups.LogGroups)
	}
	other, err := env2.Client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/k8s/other")})
	if err != nil || len(other.LogStreams) != 2 {
		t.Errorf("/k8s/other streams after restart %+v (err %v), want empty and full", other, err)
	}
	if got := env2.Messages("/k8s/other", "full"); !eqStrings(got, []string{"x\ty\u0001"}) {
		t.Errorf("/k8s/other/full after restart %q, want [x\ty\x01]", got)
	}
	tags, err := env2.Client.ListTagsLogGroup(ctx, &cloudwatchlogs.ListTagsLogGroupInput{LogGroupName: aws.String("/k8s/app")})
	if err != nil || tags.Tags["team"] != "obs" {
		t.Errorf("tags after restart %v (err %v), want team=obs", tags, err)
	}
	filters, err := env2.Client.DescribeSubscriptionFilters(ctx, &cloudwatchlogs.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("/k8s/app")})
	if err != nil || len(filters.SubscriptionFilters) != 1 || aws.ToString(filters.SubscriptionFilters[0].FilterPattern) != "ERROR" {
		t.Errorf("filters after restart %+v (err %v), want to-es/ERROR", filters, err)
	}
	streams, err := env2.Client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/k8s/app")})
	if err != nil || len(streams.LogStreams) != 1 || aws.ToInt64(streams.LogStreams[0].LastEventTimestamp) != now {
		t.Errorf("streams after restart %+v (err %v), want node-a with lastEventTimestamp %d", streams, err, now)
	}
	// Numbering continues: new events get later ids, new tokens differ.
	second, err := put(ctx, env2, "/k8s/app", "node-a", ev(now, "three"))
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(second.NextSequenceToken) <= aws.ToString(first.NextSequenceToken) {
		t.Errorf("sequence token after restart %q, want > %q", aws.ToString(second.NextSequenceToken), aws.ToString(first.NextSequenceToken))
	}
	all := env2.Server.Events("/k8s/app", "node-a")
	if last := all[len(all)-1]; last.Seq <= before[len(before)-1].Seq || last.ID <= before[len(before)-1].ID {
		t.Errorf("new event %+v does not follow %+v", last, before[len(before)-1])
	}
}

func TestPersist_PeriodicSave(t *testing.T) {
	dir := t.TempDir()
	env, _ := runServer(t, emulator.Config{DataDir: dir, SaveInterval: 10 * time.Millisecond})
	env.CreateStream(t, "g", "s")
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "state.json"))
		if err == nil && strings.Contains(string(b), `"name":"s"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("state.json not written with stream s within 5s (err %v)", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPersist_CorruptStateIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := emulator.New(emulator.Config{DataDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Load(); err == nil || !strings.Contains(err.Error(), "state.json") {
		t.Errorf("Load of a corrupt state: %v, want an error naming state.json", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Run(context.Background(), ln); err == nil {
		t.Error("Run with a corrupt state: nil error, want an error")
	}
}

func TestPersist_NoDataDirNoFiles(t *testing.T) {
	srv, err := emulator.New(emulator.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Save(); err != nil {
		t.Errorf("Save without DataDir: %v, want nil", err)
	}
	if err := srv.Load(); err != nil {
		t.Errorf("Load without DataDir: %v, want nil", err)
	}
}
