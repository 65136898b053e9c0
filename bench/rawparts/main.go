// Command rawparts is the "raw ceiling" of the s3up benchmark: the least work
// a client can do to put a file into S3 with multipart upload. It sends the
// file as fixed-size parts, -concurrency at a time, each body an
// io.SectionReader over the file, with UNSIGNED-PAYLOAD (no SHA-256 of the
// body) and no checksum, then completes the upload. No resume state, no
// verification, no progress: whatever s3up spends beyond this is its
// overhead.
//
//	rawparts [-part-size 16777216] [-concurrency 8] FILE BUCKET KEY
//
// Configuration comes from the SDK's chain (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3, AWS_CA_BUNDLE, AWS_REGION).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/bench/internal/benchs3"
)

func main() {
	partSize := flag.Int64("part-size", 16<<20, "part size in bytes")
	concurrency := flag.Int("concurrency", 8, "parts in flight")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: rawparts [-part-size N] [-concurrency N] FILE BUCKET KEY")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 3 || *partSize < 5<<20 || *concurrency < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), flag.Arg(0), flag.Arg(1), flag.Arg(2), *partSize, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "rawparts:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path, bucket, key string, partSize int64, concurrency int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	client, err := benchs3.NewClient(ctx)
	if err != nil {
		return err
	}
	created, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return fmt.Errorf("create multipart upload: %w", err)
	}
	uploadID := created.UploadId
	nparts := int32(max((size+partSize-1)/partSize, 1))

	unsigned := s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	var (
		mu       sync.Mutex
		parts    = make([]types.CompletedPart, 0, nparts)
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan int32)
	)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range next {
				off := int64(n-1) * partSize
				length := min(partSize, size-off)
				out, err := client.UploadPart(ctx, &s3.UploadPartInput{
					Bucket:        &bucket,
					Key:           &key,
					UploadId:      uploadID,
					PartNumber:    aws.Int32(n),
					ContentLength: aws.Int64(length),
					Body:          io.NewSectionReader(f, off, length),
				}, unsigned)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("upload part %d: %w", n, err)
				} else if err == nil {
					parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag})
				}
				mu.Unlock()
			}
		}()
	}
	for n := int32(1); n <= nparts; n++ {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		next <- n
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		_, _ = client.AbortMultipartUpload(context.Background(), &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: uploadID})
		return firstErr
	}
	sort.Slice(parts, func(i, j int) bool { return *parts[i].PartNumber < *parts[j].PartNumber })
	_, err = client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          &bucket,
		Key:             &key,
		UploadId:        uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return fmt.Errorf("complete multipart upload: %w", err)
	}
	return nil
}
