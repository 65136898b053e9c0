// Package e2e checks faultproxy against real S3 servers (MinIO, versitygw)
// with the aws-sdk-go-v2 client: SigV4 signatures must survive the proxy,
// and injected faults must look to the SDK like the real thing.
package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3up/s3up/integration/faultproxy"
	"github.com/s3up/s3up/integration/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

func newProxy(t *testing.T, srv *s3test.Server, cfg faultproxy.Config) *faultproxy.Proxy {
	t.Helper()
	cfg.Logf = t.Logf
	if srv.CACertFile != "" {
		pem, err := os.ReadFile(srv.CACertFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		cfg.TargetTLS = &tls.Config{RootCAs: pool}
	}
	p, err := faultproxy.New(srv.Endpoint, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func newS3(srv *s3test.Server, endpoint string, maxAttempts int, calc aws.RequestChecksumCalculation) *s3.Client {
	return s3.New(s3.Options{
		Region:                     srv.Region,
		BaseEndpoint:               aws.String(endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
		RequestChecksumCalculation: calc,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			o.RateLimiter = noRateLimit{}
		}),
	})
}

type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }

func data(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := s3test.NewRand(seed)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// upload does a multipart upload of parts through c and returns the
// UploadPart errors by part (nil where the part succeeded).
func upload(t *testing.T, c *s3.Client, bucket, key string, parts [][]byte, complete bool) (uploadID string, errs []error) {
	t.Helper()
	ctx := t.Context()
	cr, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	var done []types.CompletedPart
	for i, p := range parts {
		n := int32(i + 1)
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: &bucket, Key: &key, UploadId: cr.UploadId, PartNumber: &n,
			Body: bytes.NewReader(p), ContentLength: aws.Int64(int64(len(p))),
		})
		errs = append(errs, err)
		if err == nil {
			done = append(done, types.CompletedPart{PartNumber: &n, ETag: out.ETag})
		}
	}
	if complete {
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: &bucket, Key: &key, UploadId: cr.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
		})
		if err != nil {
			t.Fatalf("CompleteMultipartUpload: %v", err)
		}
	}
	return *cr.UploadId, errs
}

func TestSignaturesSurviveProxy(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		seed := s3test.Seed(t)
		bucket := srv.NewBucket(t)
		p := newProxy(t, srv, faultproxy.Config{Seed: seed})
		parts := [][]byte{data(seed, 5<<20), data(seed+1, 3<<20+11)}
		var all []byte
		for _, b := range parts {
			all = append(all, b...)
		}
		for _, calc := range []aws.RequestChecksumCalculation{aws.RequestChecksumCalculationWhenRequired, aws.RequestChecksumCalculationWhenSupported} {
			key := fmt.Sprintf("dir/a b+c=%d", calc)
			c := newS3(srv, p.URL(), 1, calc)
			_, errs := upload(t, c, bucket, key, parts, true)
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("checksum mode %d: %v", calc, err)
			}
			got, size, err := srv.ObjectSHA256(t.Context(), bucket, key)
			if err != nil || got != sha(all) || size != int64(len(all)) {
				t.Fatalf("object %s: sha %s size %d err %v, want %s %d", key, got, size, err, sha(all), len(all))
			}
		}
		s := p.Stats()
		if s.UploadParts != 4 || s.UploadPartBytes < 2*int64(len(all)) {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestSDKSeesFaults(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		seed := s3test.Seed(t)
		bucket := srv.NewBucket(t)
		p := newProxy(t, srv, faultproxy.Config{Seed: seed})
		part := data(seed, 5<<20)

		// Retryable faults: the SDK retries through them.
		p.FailNext(faultproxy.SlowDown, faultproxy.InternalError, faultproxy.ResetMidBody)
		c := newS3(srv, p.URL(), 4, aws.RequestChecksumCalculationWhenRequired)
		if _, errs := upload(t, c, bucket, "retried", [][]byte{part}, true); errs[0] != nil {
			t.Fatalf("UploadPart with retries: %v", errs[0])
		}
		if got, _, err := srv.ObjectSHA256(t.Context(), bucket, "retried"); err != nil || got != sha(part) {
			t.Fatalf("object: %s %v", got, err)
		}
		if f := p.Stats().Faults; f[faultproxy.SlowDown] != 1 || f[faultproxy.InternalError] != 1 || f[faultproxy.ResetMidBody] != 1 {
			t.Errorf("faults %v", f)
		}

		// Without retries the SDK surfaces the S3 error code.
		var ae smithy.APIError
		c1 := newS3(srv, p.URL(), 1, aws.RequestChecksumCalculationWhenRequired)
		p.FailNext(faultproxy.SlowDown)
		_, errs := upload(t, c1, bucket, "slow", [][]byte{part}, false)
		if !errors.As(errs[0], &ae) || ae.ErrorCode() != "SlowDown" {
			t.Errorf("want SlowDown API error, got %v", errs[0])
		}

		// DropResponse: the client sees a failure, the server holds the part.
		p.FailNext(faultproxy.DropResponse)
		id, errs := upload(t, c1, bucket, "dropped", [][]byte{part}, false)
		if errs[0] == nil {
			t.Fatal("DropResponse: UploadPart succeeded")
		}
		t.Logf("DropResponse: SDK saw %v", errs[0])
		if ps := srv.Parts(t, bucket, "dropped", id); len(ps) != 1 || ps[0].Size != int64(len(part)) {
			t.Errorf("server parts after DropResponse: %+v", ps)
		}

		// CorruptBody. Over plain HTTP the SDK signs the payload hash, so the
		// server rejects the corrupted part; with UNSIGNED-PAYLOAD and no
		// checksum the server stores wrong bytes of the right length (only
		// the ETag gives it away); with a CRC checksum it rejects the part.
		p.FailNext(faultproxy.CorruptBody)
		_, errs = upload(t, c1, bucket, "corrupt-signed", [][]byte{part}, false)
		if !errors.As(errs[0], &ae) {
			t.Errorf("CorruptBody, signed payload: want an API error, got %v", errs[0])
		} else {
			t.Logf("CorruptBody, signed payload: %s", ae.ErrorCode())
		}

		p.FailNext(faultproxy.CorruptBody)
		unsigned := s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
		cr, err := c1.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: aws.String("corrupt")})
		if err != nil {
			t.Fatal(err)
		}
		out, err := c1.UploadPart(t.Context(), &s3.UploadPartInput{
			Bucket: &bucket, Key: aws.String("corrupt"), UploadId: cr.UploadId, PartNumber: aws.Int32(1),
			Body: bytes.NewReader(part), ContentLength: aws.Int64(int64(len(part))),
		}, unsigned)
		if err != nil {
			t.Fatalf("CorruptBody, unsigned payload: %v", err)
		}
		md := md5.Sum(part)
		if *out.ETag == `"`+hex.EncodeToString(md[:])+`"` {
			t.Errorf("CorruptBody, unsigned payload: ETag %s is md5 of the original part", *out.ETag)
		}
		_, err = c1.CompleteMultipartUpload(t.Context(), &s3.CompleteMultipartUploadInput{
			Bucket: &bucket, Key: aws.String("corrupt"), UploadId: cr.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: out.ETag}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, size, err := srv.ObjectSHA256(t.Context(), bucket, "corrupt"); err != nil || got == sha(part) || size != int64(len(part)) {
			t.Errorf("corrupt object: sha %s size %d err %v", got, size, err)
		}

		cs := newS3(srv, p.URL(), 1, aws.RequestChecksumCalculationWhenSupported)
		cr, err = cs.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: aws.String("corrupt-crc")})
		if err != nil {
			t.Fatal(err)
		}
		p.FailNext(faultproxy.CorruptBody)
		_, err = cs.UploadPart(t.Context(), &s3.UploadPartInput{
			Bucket: &bucket, Key: aws.String("corrupt-crc"), UploadId: cr.UploadId, PartNumber: aws.Int32(1),
			Body: bytes.NewReader(part), ContentLength: aws.Int64(int64(len(part))),
		}, unsigned)
		if !errors.As(err, &ae) {
			t.Errorf("CorruptBody, unsigned payload with CRC checksum: want an API error, got %v", err)
		} else {
			t.Logf("CorruptBody, unsigned payload with CRC checksum: %s", ae.ErrorCode())
		}
	})
}
