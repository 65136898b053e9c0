package s3fake_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3up/s3up/s3up/s3fake"
)

// retryable reports what a client would retry: a lost connection or a 500.
func retryable(err error) bool {
	var ae smithy.APIError
	return isReset(err) || (errors.As(err, &ae) && ae.ErrorCode() == "InternalError")
}

// Uploads run concurrently, several parts at a time, under chaos, while
// other goroutines list and inspect: the outcome is exact and -race clean.
func TestConcurrentUploads(t *testing.T) {
	const uploads, parts, workers, partSize = 6, 40, 4, 512
	seed := uint64(time.Now().UnixNano())
	t.Logf("chaos seed %d", seed)
	f := newFake(t, s3fake.MinPartSize(0), s3fake.PartVersions())
	f.SetChaos(s3fake.Chaos{Seed: seed, Rate: 0.2, Ops: []string{"UploadPart", "ListParts"}})
	var hooked atomic.Int64
	f.SetOnCall(func(ctx context.Context, op string, in any) error {
		hooked.Add(1)
		return nil
	})

	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, u := range f.Uploads(bkt) {
					f.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bkt), Key: aws.String(u.Key), UploadId: aws.String(u.ID)})
				}
				f.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bkt)})
				f.CallCounts()
			}
		}()
	}

	var wg sync.WaitGroup
	errs := make(chan error, uploads*(parts+1)) // room for every error: no send blocks
	for u := range uploads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("obj/%d", u)
			co, err := f.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bkt), Key: aws.String(key),
				ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
			if err != nil {
				errs <- err
				return
			}
			id := aws.ToString(co.UploadId)
			etags := make([]string, parts)
			sums := make([]string, parts)
			next := make(chan int)
			var pw sync.WaitGroup
			for range workers {
				pw.Add(1)
				go func() {
					defer pw.Done()
					for n := range next {
						data := payload(u*1000+n, partSize)
						for {
							out, err := f.UploadPart(ctx, partInput(key, id, int32(n+1), data))
							if err == nil {
								etags[n], sums[n] = aws.ToString(out.ETag), aws.ToString(out.ChecksumCRC32C)
								break
							}
							if !retryable(err) {
								errs <- err
								break // keep draining next: the sender must not block
							}
						}
					}
				}()
			}
			for n := range parts {
				next <- n
			}
			close(next)
			pw.Wait()
			var cps []types.CompletedPart
			for n := range parts {
				cp := cpart(int32(n+1), etags[n])
				cp.ChecksumCRC32C = aws.String(sums[n])
				cps = append(cps, cp)
			}
			if _, err := f.CompleteMultipartUpload(ctx, completeInput(key, id, cps...)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for u := range uploads {
		var want [][]byte
		for n := range parts {
			want = append(want, payload(u*1000+n, partSize))
		}
		o, ok := f.Object(bkt, fmt.Sprintf("obj/%d", u))
		if !ok || !bytes.Equal(o.Data, bytes.Join(want, nil)) || o.ETag != multipartETag(want...) {
			t.Errorf("object %d wrong (stored %v)", u, ok)
		}
	}
	if len(f.Uploads(bkt)) != 0 {
		t.Errorf("%d uploads left", len(f.Uploads(bkt)))
	}
	if int(hooked.Load()) != sum(f.CallCounts()) {
		t.Errorf("hook saw %d calls, counted %d", hooked.Load(), sum(f.CallCounts()))
	}
	if f.BytesReceivedBy("UploadPart") < uploads*parts*partSize {
		t.Errorf("received %d bytes", f.BytesReceivedBy("UploadPart"))
	}
	t.Logf("%d UploadPart calls, %d faults", f.Calls("UploadPart"), f.FaultsInjected("UploadPart"))
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Writers of one key race; every reader sees a whole object.
func TestConcurrentPuts(t *testing.T) {
	f := newFake(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := bytes.Repeat([]byte{byte('a' + i)}, 4096)
			for range 20 {
				if _, err := f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), Body: bytes.NewReader(data)}); err != nil {
					t.Error(err)
					return
				}
				if o, ok := f.Object(bkt, "k"); ok && !bytes.Equal(o.Data, bytes.Repeat(o.Data[:1], 4096)) {
					t.Error("torn object")
				}
			}
		}()
	}
	wg.Wait()
	if f.Calls("PutObject") != 160 {
		t.Errorf("%d calls", f.Calls("PutObject"))
	}
}
