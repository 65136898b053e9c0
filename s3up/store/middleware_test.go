package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestETagCheckRetries: a part whose ETag is not the MD5 of the bytes sent
// is sent again by the SDK's retryer, and fails as ErrTransient when every
// attempt is damaged.
func TestETagCheckRetries(t *testing.T) {
	data := []byte("the part's bytes")
	sum := md5.Sum(data)
	good := `"` + hex.EncodeToString(sum[:]) + `"`
	bad := `"00112233445566778899aabbccddeeff"`
	for _, tc := range []struct {
		name    string
		etags   []string
		wantErr bool
	}{
		{"right-first", []string{good}, false},
		{"damaged-once", []string{bad, good}, false},
		{"damaged-always", []string{bad, bad, bad}, true},
		{"not-an-md5", []string{`"abc-3"`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				i := int(calls.Add(1)) - 1
				w.Header().Set("ETag", tc.etags[min(i, len(tc.etags)-1)])
			}))
			defer srv.Close()
			client := s3.New(s3.Options{
				Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
				Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
				Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts = 3
					o.Retryables = retryables(o.Retryables)
					o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				}),
			})
			_, err := client.UploadPart(context.Background(), &s3.UploadPartInput{
				Bucket: aws.String("b"), Key: aws.String("k"), UploadId: aws.String("u"), PartNumber: aws.Int32(1),
				Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
			}, WithPayloadHash("UNSIGNED-PAYLOAD"), WithETagCheck(1, sum[:]))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v (after %d calls)", err, tc.wantErr, calls.Load())
			}
			if want := int32(min(len(tc.etags), 3)); calls.Load() != want {
				t.Fatalf("%d UploadPart calls, want %d", calls.Load(), want)
			}
			if err != nil && (!errors.Is(Classify(err), ErrTransient) || Code(err) != "PartETagMismatch") {
				t.Fatalf("error %v: not ErrTransient/PartETagMismatch", err)
			}
		})
	}
}

// TestErrorIn200: a 200 answer whose body is an S3 error document is a
// failure (retried), not a stored part.
func TestErrorIn200(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if calls.Add(1) == 1 {
			io.WriteString(w, `<?xml version="1.0"?><Error><Code>InternalError</Code><Message>oops</Message></Error>`)
			return
		}
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
	}))
	defer srv.Close()
	c := testClient(t, srv.URL, time.Minute)
	_, err := c.API.UploadPart(context.Background(), &s3.UploadPartInput{
		Bucket: aws.String("b"), Key: aws.String("k"), UploadId: aws.String("u"), PartNumber: aws.Int32(1),
		Body: strings.NewReader("x"), ContentLength: aws.Int64(1)}, WithErrorBodyCheck())
	if err != nil || calls.Load() != 2 {
		t.Fatalf("err %v after %d calls; want success on the second", err, calls.Load())
	}
}

func testClient(t *testing.T, endpoint string, stall time.Duration) *Client {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	c, err := NewClient(context.Background(), ClientConfig{Endpoint: endpoint, Region: "us-east-1", StallTimeout: stall, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCompleteWaitIsNotAStall: a store that takes longer than the stall
// timeout to answer CompleteMultipartUpload (assembling a big object) is
// not cut off when the call uses LongWait, while any other request that
// waits as long is (review 1.2).
func TestCompleteWaitIsNotAStall(t *testing.T) {
	const stall = 300 * time.Millisecond
	release := make(chan struct{})
	var completes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost && r.URL.Query().Has("uploadId") {
			completes.Add(1)
			select { // assemble for longer than the stall timeout
			case <-release:
			case <-time.After(4 * stall):
			}
			io.WriteString(w, `<?xml version="1.0"?><CompleteMultipartUploadResult><ETag>"e-1"</ETag></CompleteMultipartUploadResult>`)
			return
		}
		<-time.After(4 * stall) // any other call: silent for as long
		w.WriteHeader(200)
	}))
	defer srv.Close()
	defer close(release)
	c := testClient(t, srv.URL, stall)
	in := &s3.CompleteMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("k"), UploadId: aws.String("u"),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(`"e"`)}}}}
	if _, err := c.API.CompleteMultipartUpload(context.Background(), in, c.LongWait()...); err != nil {
		t.Fatalf("Complete cut off while the store assembles: %v", err)
	}
	if completes.Load() != 1 {
		t.Fatalf("Complete sent %d times, want once", completes.Load())
	}
	_, err := c.API.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("a silent HeadObject was not cut by the stall timer: %v", err)
	}
}
