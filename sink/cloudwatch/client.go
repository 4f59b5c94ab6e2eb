package cloudwatch

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// NewClient builds the CloudWatch Logs client from the standard SDK chain
// (config.LoadDefaultConfig): region from cfg.Region, else AWS_REGION /
// AWS_DEFAULT_REGION / the shared config; credentials from cfg's static keys
// when both are set, else the environment, shared files, web identity
// (IRSA), EKS Pod Identity / container and instance roles; endpoint from
// cfg.Endpoint, else AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, else AWS_ENDPOINT_URL
// (the SDK reads both; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns them off),
// else the regional endpoint. Its retryer is aws.NopRetryer: the buffer owns
// retries (and the sink forces that per call anyway).
func NewClient(ctx context.Context, cfg Config) (*cloudwatchlogs.Client, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" && cfg.SecretAccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	return cloudwatchlogs.NewFromConfig(awsCfg, func(o *cloudwatchlogs.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	}), nil
}
