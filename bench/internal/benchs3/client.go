// Package benchs3 builds the S3 client shared by the benchmark helpers
// (bench/rawparts, bench/s3ctl, bench/s3bench) and the bookkeeping they do
// between timed runs. It is not part of s3up: the helpers must not
// depend on the code they measure.
package benchs3

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// NewClient loads the SDK's default configuration chain (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3, AWS_CA_BUNDLE, …)
// and returns a path-style client that only sends checksums an operation
// requires, as MinIO and other S3-compatible stores expect.
//
// The SDK's default HTTP client is kept: it is the buildable client, so
// AWS_CA_BUNDLE works, and it keeps 10 idle connections per host, enough for
// 8 parts in flight.
func NewClient(ctx context.Context) (*s3.Client, error) {
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		os.Setenv("AWS_REGION", "us-east-1")
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
	}), nil
}
