// Package subscribe makes a CloudWatch Logs group stream into a Lambda
// function (the cwl2es indexer) idempotently: it ensures the log group exists
// with the wanted retention, that CloudWatch Logs may invoke the function for
// that group (a resource-based permission with a fixed statement id, scoped
// to the group's ARN and account), and that the group has the subscription
// filter. Each step reads first and writes only what differs, so a second
// run changes nothing. It is the engine of 'logship subscribe'; the same
// resources in CloudFormation are deploy/aws/cwl-to-opensearch.yaml.
//
// Sources: the CloudWatch Logs guide's Lambda subscription steps
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample:
// lambda add-permission with principal logs.amazonaws.com, source ARN
// arn:aws:logs:<region>:<account>:log-group:<group>:* and source account,
// then put-subscription-filter without a role ARN), and the API references of
// PutSubscriptionFilter
// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutSubscriptionFilter.html:
// create or replace by filter name, at most two per group) and Lambda
// AddPermission and GetPolicy (https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html).
package subscribe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// DefaultFilterName is the subscription filter's name when Config.FilterName
// is empty.
const DefaultFilterName = "logship-to-opensearch"

// logsPrincipal is the service principal CloudWatch Logs invokes Lambda as
// (the later AWS documentation and CDK use the global form).
const logsPrincipal = "logs.amazonaws.com"

// invokeAction is the permission CloudWatch Logs needs on the function.
const invokeAction = "lambda:InvokeFunction"

// Config says what to ensure.
type Config struct {
	// LogGroup is the log group to stream (required).
	LogGroup string
	// RetentionDays is the group's retention in days, one of the values
	// CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, …). Zero means the
	// retention is left as it is (never expire for a new group).
	RetentionDays int32
	// FunctionARN is the destination Lambda function's ARN (required; same
	// account and region as the group).
	FunctionARN string
	// FilterName names the subscription filter. Empty means
	// DefaultFilterName.
	FilterName string
	// FilterPattern is the CloudWatch Logs filter pattern. Empty forwards
	// every event.
	FilterPattern string
	// StatementID is the Lambda permission's statement id. Empty means
	// StatementID(LogGroup), which is stable across runs.
	StatementID string
}

// LogsAPI is the part of the CloudWatch Logs client the Subscriber uses
// (*cloudwatchlogs.Client implements it).
type LogsAPI interface {
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
	DescribeSubscriptionFilters(ctx context.Context, in *cloudwatchlogs.DescribeSubscriptionFiltersInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeSubscriptionFiltersOutput, error)
	PutSubscriptionFilter(ctx context.Context, in *cloudwatchlogs.PutSubscriptionFilterInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutSubscriptionFilterOutput, error)
}

// LambdaAPI is the part of the Lambda client the Subscriber uses
// (*lambda.Client implements it).
type LambdaAPI interface {
	GetPolicy(ctx context.Context, in *lambda.GetPolicyInput, opts ...func(*lambda.Options)) (*lambda.GetPolicyOutput, error)
	AddPermission(ctx context.Context, in *lambda.AddPermissionInput, opts ...func(*lambda.Options)) (*lambda.AddPermissionOutput, error)
	RemovePermission(ctx context.Context, in *lambda.RemovePermissionInput, opts ...func(*lambda.Options)) (*lambda.RemovePermissionOutput, error)
}

var (
	_ LogsAPI   = (*cloudwatchlogs.Client)(nil)
	_ LambdaAPI = (*lambda.Client)(nil)
)

// Subscriber ensures one log group's subscription.
type Subscriber struct {
	cfg    Config
	logs   LogsAPI
	lambda LambdaAPI
}

// New validates cfg and returns a Subscriber.
func New(cfg Config, logs LogsAPI, lam LambdaAPI) (*Subscriber, error) {
	if cfg.LogGroup == "" {
		return nil, errors.New("log group is required")
	}
	if _, _, err := arnAccountRegion(cfg.FunctionARN, "lambda"); err != nil {
		return nil, fmt.Errorf("function arn: %w", err)
	}
	if cfg.RetentionDays < 0 {
		return nil, fmt.Errorf("retention %d days: want 0 (unchanged) or a positive value", cfg.RetentionDays)
	}
	if cfg.FilterName == "" {
		cfg.FilterName = DefaultFilterName
	}
	if cfg.StatementID == "" {
		cfg.StatementID = StatementID(cfg.LogGroup)
	}
	if logs == nil || lam == nil {
		return nil, errors.New("clients are required")
	}
	return &Subscriber{cfg: cfg, logs: logs, lambda: lam}, nil
}

// StatementID returns the Lambda permission statement id for a log group:
// "logship-cwl-" and 16 hex digits of the name's SHA-256, so several groups
// can feed one function and a re-run finds its own statement.
func StatementID(logGroup string) string {
	sum := sha256.Sum256([]byte(logGroup))
	return "logship-cwl-" + hex.EncodeToString(sum[:8])
}

// Step is what Ensure did for one resource.
type Step struct {
	// Resource names the resource ("log group /k8s/c", …).
	Resource string
	// Action is "created", "updated" or "unchanged".
	Action string
	// Detail says what was set or why it was left.
	Detail string
}

// String formats the step as one line of the command's output.
func (s Step) String() string {
	if s.Detail == "" {
		return s.Resource + ": " + s.Action
	}
	return s.Resource + ": " + s.Action + " (" + s.Detail + ")"
}

// Actions of a Step.
const (
	Created   = "created"
	Updated   = "updated"
	Unchanged = "unchanged"
)

// Report lists the steps in order.
type Report struct {
	Steps []Step
}

// Changed reports whether any step created or updated something.
func (r Report) Changed() bool {
	for _, s := range r.Steps {
		if s.Action != Unchanged {
			return true
		}
	}
	return false
}

// Ensure makes the log group, the permission and the filter match the
// Config, in that order (CloudWatch Logs refuses a filter whose function it
// may not invoke), and reports what it did. It stops at the first error; the
// steps done so far are in the returned Report.
func (s *Subscriber) Ensure(ctx context.Context) (Report, error) {
	var rep Report
	groupARN, step, err := s.ensureLogGroup(ctx)
	if err != nil {
		return rep, err
	}
	rep.Steps = append(rep.Steps, step)
	step, err = s.ensurePermission(ctx, groupARN)
	if err != nil {
		return rep, err
	}
	rep.Steps = append(rep.Steps, step)
	step, err = s.ensureFilter(ctx)
	if err != nil {
		return rep, err
	}
	rep.Steps = append(rep.Steps, step)
	return rep, nil
}

// findLogGroup returns the group with exactly the configured name, or nil.
func (s *Subscriber) findLogGroup(ctx context.Context) (*logstypes.LogGroup, error) {
	in := &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(s.cfg.LogGroup)}
	for {
		out, err := s.logs.DescribeLogGroups(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe log groups: %w", err)
		}
		for i := range out.LogGroups {
			if aws.ToString(out.LogGroups[i].LogGroupName) == s.cfg.LogGroup {
				return &out.LogGroups[i], nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return nil, nil
		}
		in.NextToken = out.NextToken
	}
}

// ensureLogGroup creates the group when missing and sets its retention when
// it differs; it returns the group's ARN without the ":*" suffix.
func (s *Subscriber) ensureLogGroup(ctx context.Context) (string, Step, error) {
	step := Step{Resource: "log group " + s.cfg.LogGroup, Action: Unchanged}
	g, err := s.findLogGroup(ctx)
	if err != nil {
		return "", step, err
	}
	if g == nil {
		_, err := s.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(s.cfg.LogGroup)})
		var exists *logstypes.ResourceAlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			return "", step, fmt.Errorf("create log group %s: %w", s.cfg.LogGroup, err)
		}
		if err == nil {
			step.Action = Created
		}
		if g, err = s.findLogGroup(ctx); err != nil {
			return "", step, err
		}
		if g == nil {
			return "", step, fmt.Errorf("log group %s: not found after creation", s.cfg.LogGroup)
		}
	}
	if want := s.cfg.RetentionDays; want > 0 && aws.ToInt32(g.RetentionInDays) != want {
		_, err := s.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(s.cfg.LogGroup), RetentionInDays: aws.Int32(want)})
		if err != nil {
			return "", step, fmt.Errorf("put retention policy %s: %w", s.cfg.LogGroup, err)
		}
		if step.Action == Unchanged {
			step.Action = Updated
		}
		step.Detail = fmt.Sprintf("retention %d days", want)
	} else if want > 0 {
		step.Detail = fmt.Sprintf("retention %d days", want)
	}
	return strings.TrimSuffix(aws.ToString(g.Arn), ":*"), step, nil
}

// policyDoc is a Lambda resource-based policy as GetPolicy returns it.
type policyDoc struct {
	Statement []struct {
		Sid       string          `json:"Sid"`
		Effect    string          `json:"Effect"`
		Principal json.RawMessage `json:"Principal"`
		Action    json.RawMessage `json:"Action"`
		Condition map[string]map[string]json.RawMessage
	} `json:"Statement"`
}

// wantPermission is the statement the function's policy must hold.
type wantPermission struct {
	sid, sourceARN, sourceAccount string
}

// matches reports whether the statement with our Sid grants exactly
// CloudWatch Logs invoke rights for our group and account.
func (w wantPermission) matches(policy string) (found, same bool, err error) {
	var doc policyDoc
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		return false, false, fmt.Errorf("function policy: %w", err)
	}
	for _, st := range doc.Statement {
		if st.Sid != w.sid {
			continue
		}
		var pr struct {
			Service string `json:"Service"`
		}
		_ = json.Unmarshal(st.Principal, &pr)
		var action string
		_ = json.Unmarshal(st.Action, &action)
		same = st.Effect == "Allow" && pr.Service == logsPrincipal && action == invokeAction &&
			conditionValue(st.Condition, "ArnLike", "AWS:SourceArn") == w.sourceARN &&
			conditionValue(st.Condition, "StringEquals", "AWS:SourceAccount") == w.sourceAccount
		return true, same, nil
	}
	return false, false, nil
}

func conditionValue(c map[string]map[string]json.RawMessage, op, key string) string {
	var v string
	if raw, ok := c[op][key]; ok {
		_ = json.Unmarshal(raw, &v)
	}
	return v
}

// ensurePermission makes sure CloudWatch Logs may invoke the function for
// this group: a statement with the fixed id, principal logs.amazonaws.com,
// source ARN <group ARN>:* and the group's account (confused-deputy
// protection). A different statement with the same id is replaced.
func (s *Subscriber) ensurePermission(ctx context.Context, groupARN string) (Step, error) {
	step := Step{Resource: "lambda permission " + s.cfg.StatementID + " on " + s.cfg.FunctionARN, Action: Unchanged}
	account, _, err := arnAccountRegion(groupARN, "logs")
	if err != nil {
		return step, fmt.Errorf("log group arn: %w", err)
	}
	want := wantPermission{sid: s.cfg.StatementID, sourceARN: groupARN + ":*", sourceAccount: account}
	step.Detail = "logs.amazonaws.com from " + want.sourceARN
	out, err := s.lambda.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(s.cfg.FunctionARN)})
	var notFound *lambdatypes.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		// No policy yet: the function exists but has no statements.
	case err != nil:
		return step, fmt.Errorf("get function policy: %w", err)
	default:
		found, same, err := want.matches(aws.ToString(out.Policy))
		if err != nil {
			return step, err
		}
		if same {
			return step, nil
		}
		if found {
			if _, err := s.lambda.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String(s.cfg.FunctionARN), StatementId: aws.String(want.sid)}); err != nil {
				return step, fmt.Errorf("remove outdated permission %s: %w", want.sid, err)
			}
			step.Action = Updated
		}
	}
	_, err = s.lambda.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName:  aws.String(s.cfg.FunctionARN),
		StatementId:   aws.String(want.sid),
		Action:        aws.String(invokeAction),
		Principal:     aws.String(logsPrincipal),
		SourceArn:     aws.String(want.sourceARN),
		SourceAccount: aws.String(want.sourceAccount),
	})
	var conflict *lambdatypes.ResourceConflictException
	switch {
	case errors.As(err, &conflict):
		// Added concurrently by another run with the same statement id.
		return step, nil
	case err != nil:
		return step, fmt.Errorf("add permission: %w", err)
	}
	if step.Action == Unchanged {
		step.Action = Created
	}
	return step, nil
}

// ensureFilter puts the subscription filter unless one with the same name,
// destination and pattern exists.
func (s *Subscriber) ensureFilter(ctx context.Context) (Step, error) {
	step := Step{Resource: "subscription filter " + s.cfg.FilterName + " on " + s.cfg.LogGroup, Action: Unchanged, Detail: "→ " + s.cfg.FunctionARN}
	in := &cloudwatchlogs.DescribeSubscriptionFiltersInput{LogGroupName: aws.String(s.cfg.LogGroup), FilterNamePrefix: aws.String(s.cfg.FilterName)}
	var existing *logstypes.SubscriptionFilter
	for existing == nil {
		out, err := s.logs.DescribeSubscriptionFilters(ctx, in)
		if err != nil {
			return step, fmt.Errorf("describe subscription filters: %w", err)
		}
		for i := range out.SubscriptionFilters {
			if aws.ToString(out.SubscriptionFilters[i].FilterName) == s.cfg.FilterName {
				existing = &out.SubscriptionFilters[i]
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	if existing != nil && aws.ToString(existing.DestinationArn) == s.cfg.FunctionARN && aws.ToString(existing.FilterPattern) == s.cfg.FilterPattern {
		return step, nil
	}
	_, err := s.logs.PutSubscriptionFilter(ctx, &cloudwatchlogs.PutSubscriptionFilterInput{
		LogGroupName:   aws.String(s.cfg.LogGroup),
		FilterName:     aws.String(s.cfg.FilterName),
		FilterPattern:  aws.String(s.cfg.FilterPattern),
		DestinationArn: aws.String(s.cfg.FunctionARN),
	})
	if err != nil {
		return step, fmt.Errorf("put subscription filter %s: %w", s.cfg.FilterName, err)
	}
	step.Action = Created
	if existing != nil {
		step.Action = Updated
	}
	return step, nil
}

// arnAccountRegion checks that arn is an ARN of the given service and
// returns its account and region.
func arnAccountRegion(arn, service string) (account, region string, err error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != service || parts[3] == "" || parts[4] == "" {
		return "", "", fmt.Errorf("%q is not an arn:PARTITION:%s:REGION:ACCOUNT:… ARN", arn, service)
	}
	return parts[4], parts[3], nil
}
