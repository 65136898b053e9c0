package s3fake_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3up/s3up/s3up/s3fake"
)

const bkt = "bkt"

var ctx = context.Background()

// newFake returns a fake with bucket bkt.
func newFake(t testing.TB, opts ...s3fake.Option) *s3fake.Fake {
	t.Helper()
	f := s3fake.New(opts...)
	f.CreateBucket(bkt)
	return f
}

// testClock is a clock that advances one second a reading, from a fixed
// instant.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock {
	return &testClock{t: time.Date(2025, 3, 14, 15, 9, 26, 535_897_932, time.UTC)}
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// wantErr fails unless err is an S3 API error of code and HTTP status,
// from operation op.
func wantErr(t testing.TB, err error, op string, status int, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got success, want %d %s", op, status, code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: %v is not a smithy.APIError", op, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("%s: code %q (%v), want %q", op, ae.ErrorCode(), err, code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%s: %v is not an *awshttp.ResponseError", op, err)
	}
	if re.HTTPStatusCode() != status {
		t.Fatalf("%s: status %d (%v), want %d", op, re.HTTPStatusCode(), err, status)
	}
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || oe.Service() != "S3" || oe.Operation() != op {
		t.Fatalf("%v: not an OperationError of S3 %s", err, op)
	}
}

// result holds an operation's two return values; must(op(...)).ok(t)
// fails the test on an error.
type result[T any] struct {
	v   T
	err error
}

func must[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) ok(t testing.TB) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func md5ETag(data []byte) string {
	s := md5.Sum(data)
	return `"` + hex.EncodeToString(s[:]) + `"`
}

// multipartETag computes the ETag S3 gives an object of these parts.
func multipartETag(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	return fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(h.Sum(nil)), len(parts))
}

// payload returns n deterministic bytes, different for each seed.
func payload(seed, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed*31 + i*7 + i/251)
	}
	return b
}

func create(t testing.TB, f *s3fake.Fake, key string, alg types.ChecksumAlgorithm) string {
	t.Helper()
	out := must(f.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(bkt), Key: aws.String(key), ChecksumAlgorithm: alg})).ok(t)
	return aws.ToString(out.UploadId)
}

func uploadPart(t testing.TB, f *s3fake.Fake, key, id string, n int32, data []byte) *s3.UploadPartOutput {
	t.Helper()
	return must(f.UploadPart(ctx, partInput(key, id, n, data))).ok(t)
}

func partInput(key, id string, n int32, data []byte) *s3.UploadPartInput {
	return &s3.UploadPartInput{Bucket: aws.String(bkt), Key: aws.String(key), UploadId: aws.String(id),
		PartNumber: aws.Int32(n), Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))}
}

func completeInput(key, id string, parts ...types.CompletedPart) *s3.CompleteMultipartUploadInput {
	return &s3.CompleteMultipartUploadInput{Bucket: aws.String(bkt), Key: aws.String(key), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}
}

func cpart(n int32, etag string) types.CompletedPart {
	return types.CompletedPart{PartNumber: aws.Int32(n), ETag: aws.String(etag)}
}

func put(t testing.TB, f *s3fake.Fake, key string, data []byte) *s3.PutObjectOutput {
	t.Helper()
	return must(f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String(key),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))})).ok(t)
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func md5Sum(b []byte) []byte { s := md5.Sum(b); return s[:] }
