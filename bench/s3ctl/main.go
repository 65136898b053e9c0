//go:build unix

// Command s3ctl is the benchmark's bookkeeping client: it waits for the
// server, creates the bucket, deletes objects between runs, checks that an
// upload produced an object of the right size, and watches the parts of an
// upload in progress (to interrupt a peer at a given point). It is never
// timed.
//
//	s3ctl ready [TIMEOUT]             wait until the endpoint answers ListBuckets
//	s3ctl mb BUCKET                   create BUCKET (no error if it exists)
//	s3ctl rm BUCKET KEY               delete KEY and abort its incomplete uploads
//	s3ctl size BUCKET KEY             print the object's size (exit 1 if missing)
//	s3ctl stat BUCKET KEY             print the object's size and ETag (exit 1 if missing)
//	s3ctl parts BUCKET KEY            print the parts held for KEY's newest incomplete upload
//	s3ctl waitparts BUCKET KEY N [TIMEOUT [PID]]
//	                                  poll until KEY's incomplete upload holds >= N parts;
//	                                  exit 3 early if process PID has ended
//
// Configuration comes from the SDK's chain (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3, AWS_CA_BUNDLE, AWS_REGION).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3up/s3up/bench/internal/benchs3"
)

const usage = `usage: s3ctl ready [TIMEOUT] | mb BUCKET | rm BUCKET KEY | size|stat BUCKET KEY |
       parts BUCKET KEY | waitparts BUCKET KEY N [TIMEOUT [PID]]`

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "s3ctl:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	client, err := benchs3.NewClient(ctx)
	if err != nil {
		return err
	}
	need := func(n int) {
		if len(args) < n+1 {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
	}
	switch args[0] {
	case "ready":
		timeout := 30 * time.Second
		if len(args) > 1 {
			if timeout, err = time.ParseDuration(args[1]); err != nil {
				return err
			}
		}
		deadline := time.Now().Add(timeout)
		for {
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := client.ListBuckets(c, &s3.ListBucketsInput{})
			cancel()
			if err == nil {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("server not ready after %s: %w", timeout, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	case "mb":
		need(1)
		_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &args[1]})
		var owned *types.BucketAlreadyOwnedByYou
		var exists *types.BucketAlreadyExists
		if errors.As(err, &owned) || errors.As(err, &exists) {
			return nil
		}
		return err
	case "rm":
		need(2)
		if err := abortUploads(ctx, client, args[1], args[2]); err != nil {
			return err
		}
		_, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &args[1], Key: &args[2]})
		return err
	case "size", "stat":
		need(2)
		out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &args[1], Key: &args[2]})
		if err != nil {
			return err
		}
		if args[0] == "stat" {
			fmt.Println(aws.ToInt64(out.ContentLength), aws.ToString(out.ETag))
		} else {
			fmt.Println(aws.ToInt64(out.ContentLength))
		}
		return nil
	case "parts":
		need(2)
		n, err := countParts(ctx, client, args[1], args[2])
		if err != nil {
			return err
		}
		fmt.Println(n)
		return nil
	case "waitparts":
		need(3)
		want, err := strconv.Atoi(args[3])
		if err != nil {
			return err
		}
		timeout := 10 * time.Minute
		if len(args) > 4 {
			if timeout, err = time.ParseDuration(args[4]); err != nil {
				return err
			}
		}
		pid := 0
		if len(args) > 5 {
			if pid, err = strconv.Atoi(args[5]); err != nil {
				return err
			}
		}
		deadline := time.Now().Add(timeout)
		for {
			n, err := countParts(ctx, client, args[1], args[2])
			if err == nil && n >= want {
				fmt.Println(n)
				return nil
			}
			if pid > 0 && syscall.Kill(pid, 0) != nil {
				fmt.Println(n)
				fmt.Fprintf(os.Stderr, "s3ctl: process %d ended with %d parts on the server\n", pid, n)
				os.Exit(3)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%d parts after %s, wanted %d (last error: %v)", n, timeout, want, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	fmt.Fprintln(os.Stderr, usage)
	os.Exit(2)
	return nil
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
			return "", err
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

func countParts(ctx context.Context, client *s3.Client, bucket, key string) (int, error) {
	id, err := newestUpload(ctx, client, bucket, key)
	if err != nil || id == "" {
		return 0, err
	}
	n := 0
	p := s3.NewListPartsPaginator(client, &s3.ListPartsInput{Bucket: &bucket, Key: &key, UploadId: &id})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, err
		}
		n += len(page.Parts)
	}
	return n, nil
}

func abortUploads(ctx context.Context, client *s3.Client, bucket, key string) error {
	// Bounded: a store that keeps listing an aborted upload must not hang us.
	for range 100 {
		id, err := newestUpload(ctx, client, bucket, key)
		if err != nil || id == "" {
			return err
		}
		_, err = client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: &id})
		var ae smithy.APIError
		if err != nil && !(errors.As(err, &ae) && ae.ErrorCode() == "NoSuchUpload") {
			return err
		}
	}
	return fmt.Errorf("incomplete uploads of %s keep appearing after 100 aborts", key)
}
