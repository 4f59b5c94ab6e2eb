package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"go.uber.org/zap"

	"logship/sink/subscribe"
)

// subscribeTimeout bounds one 'logship subscribe' run (a handful of API
// calls with the SDK's retries).
const subscribeTimeout = 2 * time.Minute

// runSubscribe implements 'logship subscribe': it makes the log group stream
// into the cwl2es Lambda function, idempotently (sink/subscribe). It prints
// one line per resource (created, updated or unchanged) and "no change" when
// a run found everything in place.
func runSubscribe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("subscribe", stderr)
	logGroup := fs.String("log-group", "", "log group to stream (required)")
	retention := fs.Int("retention-days", 0, "log group retention in days (0 leaves it unchanged)")
	functionARN := fs.String("function-arn", "", "ARN of the cwl2es Lambda function (required)")
	filterName := fs.String("filter-name", subscribe.DefaultFilterName, "subscription filter name")
	filterPattern := fs.String("filter-pattern", "", "CloudWatch Logs filter pattern (empty forwards every event)")
	region := fs.String("region", "", "AWS region (default: the SDK's, e.g. AWS_REGION)")
	endpoint := fs.String("endpoint", "", "CloudWatch Logs endpoint URL (for the emulator: logship emulate)")
	lambdaEndpoint := fs.String("lambda-endpoint", "", "Lambda endpoint URL (tests)")
	logf := addLogFlags(fs, "console", "warn")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if *logGroup == "" || *functionARN == "" {
		return usageError{fmt.Errorf("--log-group and --function-arn are required")}
	}
	if *retention < 0 || *retention > 1<<30 {
		return usageError{fmt.Errorf("--retention-days %d: want 0 or a number of days", *retention)}
	}
	log, err := logf.logger(stderr)
	if err != nil {
		return err
	}
	defer log.Sync()

	ctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	defer cancel()
	var opts []func(*config.LoadOptions) error
	if *region != "" {
		opts = append(opts, config.WithRegion(*region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	if awsCfg.Region == "" {
		return usageError{fmt.Errorf("no AWS region: set --region or AWS_REGION")}
	}
	logsClient := cloudwatchlogs.NewFromConfig(awsCfg, func(o *cloudwatchlogs.Options) {
		if *endpoint != "" {
			o.BaseEndpoint = aws.String(*endpoint)
		}
	})
	lambdaClient := lambda.NewFromConfig(awsCfg, func(o *lambda.Options) {
		if *lambdaEndpoint != "" {
			o.BaseEndpoint = aws.String(*lambdaEndpoint)
		}
	})
	s, err := subscribe.New(subscribe.Config{
		LogGroup:      *logGroup,
		RetentionDays: int32(*retention),
		FunctionARN:   *functionARN,
		FilterName:    *filterName,
		FilterPattern: *filterPattern,
	}, logsClient, lambdaClient)
	if err != nil {
		return usageError{err}
	}
	rep, err := s.Ensure(ctx)
	for _, step := range rep.Steps {
		fmt.Fprintln(stdout, step)
	}
	if err != nil {
		return err
	}
	if !rep.Changed() {
		fmt.Fprintln(stdout, "no change")
	}
	log.Debug("subscribe done", zap.Int("steps", len(rep.Steps)), zap.Bool("changed", rep.Changed()))
	return nil
}
