package subscribe_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"logship/sink/emulator"
	"logship/sink/emulator/emulatortest"
	"logship/sink/subscribe"
	"logship/sink/subscribe/lambdatest"
)

const (
	group = "/k8s/test/containers"
	fnARN = "arn:aws:lambda:us-east-1:123456789012:function:logship-cwl2es"
)

type env struct {
	em     *emulatortest.Env
	fake   *lambdatest.Server
	lambda *lambda.Client
}

func start(t *testing.T) *env {
	t.Helper()
	em := emulatortest.Start(t, emulator.Config{})
	fake := lambdatest.Start(t)
	lc := lambda.New(lambda.Options{
		Region:       em.Region,
		BaseEndpoint: aws.String(fake.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
	return &env{em: em, fake: fake, lambda: lc}
}

func (e *env) subscriber(t *testing.T, cfg subscribe.Config, lam subscribe.LambdaAPI) *subscribe.Subscriber {
	t.Helper()
	if lam == nil {
		lam = e.lambda
	}
	s, err := subscribe.New(cfg, e.em.Client, lam)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func actions(r subscribe.Report) string {
	var a []string
	for _, s := range r.Steps {
		a = append(a, s.Action)
	}
	return strings.Join(a, ",")
}

func TestSubscriber_TwoRuns(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	cfg := subscribe.Config{LogGroup: group, RetentionDays: 30, FunctionARN: fnARN}

	rep, err := e.subscriber(t, cfg, nil).Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(rep); got != "created,created,created" || !rep.Changed() {
		t.Fatalf("first run %q (%v), want created,created,created", got, rep.Steps)
	}
	rep, err = e.subscriber(t, cfg, nil).Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(rep); got != "unchanged,unchanged,unchanged" || rep.Changed() {
		t.Fatalf("second run %q (%v), want no change", got, rep.Steps)
	}

	// What the first run left behind.
	gs, err := e.em.Client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs.LogGroups) != 1 || aws.ToInt32(gs.LogGroups[0].RetentionInDays) != 30 {
		t.Errorf("log groups %+v, want %s with 30 days", gs.LogGroups, group)
	}
	fs, err := e.em.Client.DescribeSubscriptionFilters(ctx, &cloudwatchlogs.DescribeSubscriptionFiltersInput{LogGroupName: aws.String(group)})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs.SubscriptionFilters) != 1 || aws.ToString(fs.SubscriptionFilters[0].FilterName) != subscribe.DefaultFilterName ||
		aws.ToString(fs.SubscriptionFilters[0].DestinationArn) != fnARN || aws.ToString(fs.SubscriptionFilters[0].FilterPattern) != "" {
		t.Errorf("filters %+v", fs.SubscriptionFilters)
	}
	sts := e.fake.Statements(fnARN)
	if len(sts) != 1 {
		t.Fatalf("statements %+v, want 1", sts)
	}
	st := sts[0]
	if st.Sid != subscribe.StatementID(group) || st.Principal["Service"] != "logs.amazonaws.com" || st.Action != "lambda:InvokeFunction" ||
		st.Condition["ArnLike"]["AWS:SourceArn"] != "arn:aws:logs:us-east-1:123456789012:log-group:"+group+":*" ||
		st.Condition["StringEquals"]["AWS:SourceAccount"] != "123456789012" {
		t.Errorf("statement %+v", st)
	}
	if n := e.fake.Calls("AddPermission"); n != 1 {
		t.Errorf("AddPermission called %d times over two runs, want 1", n)
	}
}

func TestSubscriber_Updates(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	if _, err := e.em.Client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.em.Client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(group), RetentionInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	// A statement with our id but another group's ARN (a stale run).
	e.fake.SetStatements(fnARN, []lambdatest.Statement{{
		Sid: subscribe.StatementID(group), Effect: "Allow", Principal: map[string]string{"Service": "logs.amazonaws.com"}, Action: "lambda:InvokeFunction",
		Condition: map[string]map[string]string{"ArnLike": {"AWS:SourceArn": "arn:aws:logs:us-east-1:123456789012:log-group:other:*"}},
	}, {Sid: "unrelated", Effect: "Allow", Principal: map[string]string{"Service": "s3.amazonaws.com"}, Action: "lambda:InvokeFunction"}})

	cfg := subscribe.Config{LogGroup: group, RetentionDays: 30, FunctionARN: fnARN, FilterPattern: `{ $.level = "error" }`}
	if _, err := e.subscriber(t, cfg, nil).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	// Same filter name, new pattern.
	cfg.FilterPattern = ""
	cfg.RetentionDays = 14
	rep, err := e.subscriber(t, cfg, nil).Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(rep); got != "updated,unchanged,updated" {
		t.Fatalf("actions %q (%v), want updated,unchanged,updated", got, rep.Steps)
	}
	if n := e.fake.Calls("RemovePermission"); n != 1 {
		t.Errorf("RemovePermission called %d times, want 1 (the stale statement)", n)
	}
	sts := e.fake.Statements(fnARN)
	if len(sts) != 2 {
		t.Fatalf("statements %+v, want the unrelated one and ours", sts)
	}
	gs, _ := e.em.Client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	if aws.ToInt32(gs.LogGroups[0].RetentionInDays) != 14 {
		t.Errorf("retention %d, want 14", aws.ToInt32(gs.LogGroups[0].RetentionInDays))
	}
}

// conflictLambda hides the function policy from GetPolicy, as if another
// run added the statement between our read and our write.
type conflictLambda struct{ *lambda.Client }

func (c conflictLambda) GetPolicy(context.Context, *lambda.GetPolicyInput, ...func(*lambda.Options)) (*lambda.GetPolicyOutput, error) {
	return nil, &lambdatypes.ResourceNotFoundException{Message: aws.String("no policy")}
}

func TestSubscriber_PermissionConflictIsNoChange(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	cfg := subscribe.Config{LogGroup: group, FunctionARN: fnARN}
	if _, err := e.subscriber(t, cfg, nil).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := e.subscriber(t, cfg, conflictLambda{e.lambda}).Ensure(ctx)
	if err != nil {
		t.Fatalf("Ensure with a conflicting AddPermission: %v", err)
	}
	if rep.Changed() {
		t.Fatalf("steps %v, want no change", rep.Steps)
	}
	if n := e.fake.Calls("AddPermission"); n != 2 {
		t.Errorf("AddPermission calls %d, want 2 (the second answered ResourceConflictException)", n)
	}
}

func TestSubscriber_Errors(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	// A retention CloudWatch Logs does not accept is the service's error.
	_, err := e.subscriber(t, subscribe.Config{LogGroup: group, RetentionDays: 2, FunctionARN: fnARN}, nil).Ensure(ctx)
	if err == nil || !strings.Contains(err.Error(), "put retention policy") {
		t.Fatalf("Ensure(retention 2)=%v, want a put retention policy error", err)
	}
	var apiErr interface{ ErrorCode() string }
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidParameterException" {
		t.Errorf("error %v, want InvalidParameterException from the service", err)
	}
}

func TestNew_Validation(t *testing.T) {
	e := start(t)
	tests := []struct {
		name string
		cfg  subscribe.Config
		want string
	}{
		{"no group", subscribe.Config{FunctionARN: fnARN}, "log group is required"},
		{"no function", subscribe.Config{LogGroup: group}, "function arn"},
		{"not a lambda arn", subscribe.Config{LogGroup: group, FunctionARN: "arn:aws:logs:us-east-1:1:log-group:x"}, "function arn"},
		{"negative retention", subscribe.Config{LogGroup: group, FunctionARN: fnARN, RetentionDays: -1}, "retention"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := subscribe.New(tt.cfg, e.em.Client, e.lambda)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New()=%v, want error containing %q", err, tt.want)
			}
		})
	}
	if got, want := subscribe.StatementID(group), subscribe.StatementID(group); got != want || !strings.HasPrefix(got, "logship-cwl-") || len(got) != len("logship-cwl-")+16 {
		t.Errorf("StatementID=%q", got)
	}
	if subscribe.StatementID("a") == subscribe.StatementID("b") {
		t.Error("StatementID does not depend on the group")
	}
}
