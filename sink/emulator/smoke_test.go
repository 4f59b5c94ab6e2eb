package emulator_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
)

func TestSmoke(t *testing.T) {
	env := emulatortest.Start(t, emulator.Config{AccessKeyID: "AK", SecretAccessKey: "SK"})
	env.CreateStream(t, "g", "s")
	now := time.Now().UnixMilli()
	out, err := env.Client.PutLogEvents(context.Background(), &cloudwatchlogs.PutLogEventsInput{
		LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String("hello")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v %v", aws.ToString(out.NextSequenceToken), env.Messages("g", "s"))
	g, err := env.Client.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d %s %s", len(g.Events), *g.NextForwardToken, *g.NextBackwardToken)
}
