package benchs3

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// The bookkeeping operations of the benchmark: never timed.

// WaitReady polls ListBuckets until the endpoint answers or timeout passes.
func WaitReady(ctx context.Context, client *s3.Client, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := client.ListBuckets(c, &s3.ListBucketsInput{})
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not ready after %s: %w", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// MakeBucket creates bucket; one that exists already is no error.
func MakeBucket(ctx context.Context, client *s3.Client, bucket string) error {
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if errors.As(err, &owned) || errors.As(err, &exists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return nil
}

// Remove deletes key and aborts its incomplete uploads.
func Remove(ctx context.Context, client *s3.Client, bucket, key string) error {
	if err := abortUploads(ctx, client, bucket, key); err != nil {
		return err
	}
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Stat returns the object's size and ETag.
func Stat(ctx context.Context, client *s3.Client, bucket, key string) (int64, string, error) {
	out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return 0, "", fmt.Errorf("head %s: %w", key, err)
	}
	return aws.ToInt64(out.ContentLength), aws.ToString(out.ETag), nil
}

// SHA256 downloads the object and returns the SHA-256 of its bytes and its
// size.
func SHA256(ctx context.Context, client *s3.Client, bucket, key string) ([32]byte, int64, error) {
	var sum [32]byte
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return sum, 0, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, out.Body, make([]byte, 1<<20))
	if err != nil {
		return sum, n, fmt.Errorf("read %s: %w", key, err)
	}
	h.Sum(sum[:0])
	return sum, n, nil
}

// Listing sums what a prefix holds.
type Listing struct {
	Objects int
	Bytes   int64
}

// List counts the objects under prefix and their bytes.
func List(ctx context.Context, client *s3.Client, bucket, prefix string) (Listing, error) {
	var l Listing
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return l, fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			l.Objects++
			l.Bytes += aws.ToInt64(o.Size)
		}
	}
	return l, nil
}

// RemovePrefix deletes every object under prefix and aborts every
// incomplete upload under it.
func RemovePrefix(ctx context.Context, client *s3.Client, bucket, prefix string) error {
	ups := s3.NewListMultipartUploadsPaginator(client, &s3.ListMultipartUploadsInput{Bucket: &bucket, Prefix: &prefix})
	for ups.HasMorePages() {
		page, err := ups.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list uploads under %s: %w", prefix, err)
		}
		for _, u := range page.Uploads {
			_, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId})
			if err != nil && !isCode(err, "NoSuchUpload") {
				return fmt.Errorf("abort upload of %s: %w", aws.ToString(u.Key), err)
			}
		}
	}
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, 0, len(page.Contents))
		for _, o := range page.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: o.Key})
		}
		out, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &bucket,
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("delete objects under %s: %w", prefix, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete %s: %s: %s (and %d more)", aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message), len(out.Errors)-1)
		}
	}
	return nil
}

// CountParts returns the number of parts held for key's newest incomplete
// upload (0 if there is none).
func CountParts(ctx context.Context, client *s3.Client, bucket, key string) (int, error) {
	id, err := newestUpload(ctx, client, bucket, key)
	if err != nil || id == "" {
		return 0, err
	}
	n := 0
	p := s3.NewListPartsPaginator(client, &s3.ListPartsInput{Bucket: &bucket, Key: &key, UploadId: &id})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("list parts of %s: %w", key, err)
		}
		n += len(page.Parts)
	}
	return n, nil
}

// newestUpload returns the id of key's most recently initiated incomplete
// upload, or "" if there is none.
func newestUpload(ctx context.Context, client *s3.Client, bucket, key string) (string, error) {
	var id string
	var newest time.Time
	p := s3.NewListMultipartUploadsPaginator(client, &s3.ListMultipartUploadsInput{Bucket: &bucket, Prefix: &key})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list uploads of %s: %w", key, err)
		}
		for _, u := range page.Uploads {
			if aws.ToString(u.Key) != key {
				continue
			}
			if t := aws.ToTime(u.Initiated); id == "" || t.After(newest) {
				id, newest = aws.ToString(u.UploadId), t
			}
		}
	}
	return id, nil
}

func abortUploads(ctx context.Context, client *s3.Client, bucket, key string) error {
	// Bounded: a store that keeps listing an aborted upload must not hang us.
	for range 100 {
		id, err := newestUpload(ctx, client, bucket, key)
		if err != nil || id == "" {
			return err
		}
		_, err = client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: &id})
		if err != nil && !isCode(err, "NoSuchUpload") {
			return fmt.Errorf("abort upload of %s: %w", key, err)
		}
	}
	return fmt.Errorf("incomplete uploads of %s keep appearing after 100 aborts", key)
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
