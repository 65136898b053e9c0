package s3test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

const cleanupTimeout = 60 * time.Second

var (
	bucketSeq     atomic.Uint64
	bucketInvalid = regexp.MustCompile(`[^a-z0-9]+`)
)

// bucketName returns a unique valid bucket name derived from the test name:
// lowercase letters, digits and single hyphens, 3..63 characters, starting and
// ending with a letter or digit.
func bucketName(testName string) string {
	base := strings.Trim(bucketInvalid.ReplaceAllString(strings.ToLower(testName), "-"), "-")
	suffix := fmt.Sprintf("%s%d", hex.EncodeToString(randBytes(4)), bucketSeq.Add(1))
	const max = 63
	room := max - len("s3up-") - len(suffix) - 1
	if len(base) > room {
		base = strings.Trim(base[:room], "-")
	}
	if base == "" {
		return "s3up-" + suffix
	}
	return "s3up-" + base + "-" + suffix
}

// NewBucket creates a bucket with a unique valid name (lowercase, 3-63
// characters, derived from the test name) through minio-go and returns its
// name. At cleanup it aborts the bucket's incomplete multipart uploads,
// removes its objects and removes the bucket; a failure there fails the test.
func (s *Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := bucketName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Minio.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		t.Fatalf("%s: create bucket %s: %v", s.Name, name, err)
	}
	t.Cleanup(func() {
		if err := s.RemoveBucket(name); err != nil {
			t.Errorf("%s: cleanup of bucket %s: %v", s.Name, name, err)
		}
	})
	return name
}

// RemoveBucket aborts every incomplete multipart upload in bucket, removes
// every object and removes the bucket, retrying until it succeeds or a
// deadline passes (a process still writing to the bucket may race it).
func (s *Server) RemoveBucket(bucket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	var err error
	for {
		if err = s.emptyBucket(ctx, bucket); err == nil {
			err = s.Minio.RemoveBucket(ctx, bucket)
			if err == nil || minio.ToErrorResponse(err).Code == "NoSuchBucket" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond): // retry pace, not synchronisation
		}
	}
}

func (s *Server) emptyBucket(ctx context.Context, bucket string) error {
	// Abort page by page, always listing from the start: no page markers,
	// because versitygw refuses the UploadIdMarker it hands out, so a
	// bucket with more than one page of uploads could not be cleaned.
	core := s.Core()
	for {
		res, err := core.ListMultipartUploads(ctx, bucket, "", "", "", "", 1000)
		if err != nil {
			return fmt.Errorf("list multipart uploads: %w", err)
		}
		if len(res.Uploads) == 0 {
			break
		}
		for _, u := range res.Uploads {
			if err := core.AbortMultipartUpload(ctx, bucket, u.Key, u.UploadID); err != nil &&
				minio.ToErrorResponse(err).Code != "NoSuchUpload" {
				return fmt.Errorf("abort upload %s of %s: %w", u.UploadID, u.Key, err)
			}
		}
	}
	for obj := range s.Minio.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("list objects: %w", obj.Err)
		}
		err := s.Minio.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{VersionID: obj.VersionID})
		if err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey" {
			return fmt.Errorf("remove object %s: %w", obj.Key, err)
		}
	}
	return nil
}

// ObjectSHA256 streams the object through minio-go and returns the hex
// SHA-256 of its content and its size.
func (s *Server) ObjectSHA256(ctx context.Context, bucket, key string) (sum string, size int64, err error) {
	obj, err := s.Minio.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return "", 0, err
	}
	defer obj.Close()
	h := sha256.New()
	size, err = io.CopyBuffer(h, obj, make([]byte, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// AssertObjectMatchesFile fails the test (t.Fatalf, with both sizes and
// digests) unless the object's size and SHA-256 equal the local file's.
func (s *Server) AssertObjectMatchesFile(t testing.TB, bucket, key, path string) {
	t.Helper()
	wantSum, wantSize := fileSHA256(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	gotSum, gotSize, err := s.ObjectSHA256(ctx, bucket, key)
	if err != nil {
		t.Fatalf("%s: s3://%s/%s: %v (want the content of %s: %d bytes, sha256 %s)",
			s.Name, bucket, key, err, path, wantSize, wantSum)
	}
	if gotSum != wantSum || gotSize != wantSize {
		t.Fatalf("%s: s3://%s/%s does not match %s:\n  object: %d bytes, sha256 %s\n  file:   %d bytes, sha256 %s",
			s.Name, bucket, key, path, gotSize, gotSum, wantSize, wantSum)
	}
}

// ObjectExists reports whether the object exists (HEAD via minio-go).
func (s *Server) ObjectExists(t testing.TB, bucket, key string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.Minio.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err == nil {
		return true
	}
	if code := minio.ToErrorResponse(err).Code; code == "NoSuchKey" || code == "NotFound" {
		return false
	}
	t.Fatalf("%s: stat s3://%s/%s: %v", s.Name, bucket, key, err)
	return false
}

// IncompleteUploads lists the incomplete multipart uploads in bucket whose
// key starts with prefix, following every page (minio-go Core
// ListMultipartUploads). It fails the test on error.
//
// The prefix is applied here, on the client: MinIO treats the Prefix of
// ListMultipartUploads as an exact object key (prefix "a/" finds no upload of
// "a/one"), so the server is asked for every upload in the bucket.
func (s *Server) IncompleteUploads(t testing.TB, bucket, prefix string) []minio.ObjectMultipartInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	uploads, err := s.listUploads(ctx, bucket, prefix)
	if err != nil {
		t.Fatalf("%s: list multipart uploads of %s/%s: %v", s.Name, bucket, prefix, err)
	}
	return uploads
}

func (s *Server) listUploads(ctx context.Context, bucket, prefix string) ([]minio.ObjectMultipartInfo, error) {
	core := s.Core()
	var out []minio.ObjectMultipartInfo
	keyMarker, idMarker := "", ""
	for {
		res, err := core.ListMultipartUploads(ctx, bucket, "", keyMarker, idMarker, "", 1000)
		if err != nil {
			return nil, err
		}
		for _, u := range res.Uploads {
			if strings.HasPrefix(u.Key, prefix) {
				out = append(out, u)
			}
		}
		if !res.IsTruncated {
			return out, nil
		}
		nextKey, nextID := res.NextKeyMarker, res.NextUploadIDMarker
		if nextKey == "" && len(res.Uploads) > 0 {
			last := res.Uploads[len(res.Uploads)-1]
			nextKey, nextID = last.Key, last.UploadID
		}
		if nextKey == keyMarker && nextID == idMarker {
			return nil, errors.New("ListMultipartUploads: truncated listing without progress")
		}
		keyMarker, idMarker = nextKey, nextID
	}
}

// Parts lists the parts the server holds for an incomplete upload, following
// every page (ListParts). It fails the test on error.
func (s *Server) Parts(t testing.TB, bucket, key, uploadID string) []minio.ObjectPart {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	parts, err := s.ListParts(ctx, bucket, key, uploadID)
	if err != nil {
		t.Fatalf("%s: list parts of upload %s of %s/%s: %v", s.Name, uploadID, bucket, key, err)
	}
	return parts
}

// ListParts is Parts returning the error (for polling, e.g. with Eventually).
func (s *Server) ListParts(ctx context.Context, bucket, key, uploadID string) ([]minio.ObjectPart, error) {
	core := s.Core()
	var out []minio.ObjectPart
	marker := 0
	for {
		res, err := core.ListObjectParts(ctx, bucket, key, uploadID, marker, 1000)
		if err != nil {
			return nil, err
		}
		out = append(out, res.ObjectParts...)
		if !res.IsTruncated {
			return out, nil
		}
		next := res.NextPartNumberMarker
		if next == 0 && len(res.ObjectParts) > 0 {
			next = res.ObjectParts[len(res.ObjectParts)-1].PartNumber
		}
		if next <= marker {
			return nil, errors.New("ListParts: truncated listing without progress")
		}
		marker = next
	}
}
