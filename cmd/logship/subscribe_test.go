package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"logship/internal/e2etest"
	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
	"logship/sink/subscribe"
	"logship/sink/subscribe/lambdatest"
)

// subscribeEnv points the SDK's default chain at static test credentials
// only (no shared files, no IMDS).
func subscribeEnv(t *testing.T) {
	t.Helper()
	e2etest.StaticAWS(t, emulatortest.AccessKeyID, emulatortest.SecretAccessKey, "")
}

// TestSubscribe_Idempotent runs 'logship subscribe' twice against the
// emulator and a fake Lambda API: the first run creates the log group, the
// permission and the filter; the second reports no change.
func TestSubscribe_Idempotent(t *testing.T) {
	subscribeEnv(t)
	em := emulatortest.Start(t, emulator.Config{})
	fake := lambdatest.Start(t)
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:logship-cwl2es"
	args := []string{
		"--region", em.Region, "--endpoint", em.URL, "--lambda-endpoint", fake.URL,
		"--log-group", "/k8s/demo/containers", "--retention-days", "30",
		"--function-arn", fn, "--filter-name", "to-opensearch", "--filter-pattern", "",
	}
	run := func() string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := runSubscribe(context.Background(), args, &out, &errOut); err != nil {
			t.Fatalf("runSubscribe: %v\nstderr: %s", err, errOut.String())
		}
		return out.String()
	}
	first := run()
	for _, want := range []string{
		"log group /k8s/demo/containers: created (retention 30 days)",
		"lambda permission " + subscribe.StatementID("/k8s/demo/containers") + " on " + fn + ": created",
		"subscription filter to-opensearch on /k8s/demo/containers: created",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("first run output lacks %q:\n%s", want, first)
		}
	}
	if strings.Contains(first, "no change") {
		t.Errorf("first run says no change:\n%s", first)
	}
	second := run()
	if !strings.HasSuffix(second, "no change\n") || strings.Contains(second, "created") || strings.Contains(second, "updated") || strings.Count(second, ": unchanged") != 3 {
		t.Errorf("second run output:\n%s\nwant three unchanged lines and no change", second)
	}
	if n := fake.Calls("AddPermission"); n != 1 {
		t.Errorf("AddPermission calls %d, want 1", n)
	}
	fs, err := em.Client.DescribeSubscriptionFilters(context.Background(), &cloudwatchlogs.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("/k8s/demo/containers")})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs.SubscriptionFilters) != 1 || aws.ToString(fs.SubscriptionFilters[0].DestinationArn) != fn {
		t.Errorf("filters %+v", fs.SubscriptionFilters)
	}
}

func TestSubscribe_UsageErrors(t *testing.T) {
	subscribeEnv(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing log group", []string{"--function-arn", "arn:aws:lambda:us-east-1:1:function:f", "--region", "us-east-1"}, "--log-group and --function-arn are required"},
		{"bad function arn", []string{"--log-group", "g", "--function-arn", "f", "--region", "us-east-1"}, "function arn"},
		{"no region", []string{"--log-group", "g", "--function-arn", "arn:aws:lambda:us-east-1:1:function:f"}, "no AWS region"},
		{"extra argument", []string{"--log-group", "g", "extra"}, "unexpected arguments"},
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runSubscribe(context.Background(), tt.args, &out, &errOut)
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("runSubscribe()=%v, want a usage error containing %q", err, tt.want)
			}
		})
	}
}
