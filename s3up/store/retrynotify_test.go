package store

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// cliClient is a Client built by NewClient, as the CLI builds it, for
// endpoint, with static credentials and no shared configuration.
func cliClient(t *testing.T, endpoint string, attempts int) *Client {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	c, err := NewClient(context.Background(), ClientConfig{Endpoint: endpoint, Region: "us-east-1", MaxAttempts: attempts})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// refusingEndpoint is a loopback URL where nothing listens.
func refusingEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// notices collects retry notices with the time each arrived.
type notices struct {
	mu    sync.Mutex
	start time.Time
	got   []RetryNotice
	at    []time.Duration
}

func (n *notices) ctx() context.Context {
	n.start = time.Now()
	return WithRetryNotifier(context.Background(), func(r RetryNotice) {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.got = append(n.got, r)
		n.at = append(n.at, time.Since(n.start))
	})
}

// TestRetryNoticeRefused: through a real *s3.Client built by NewClient, a
// request to an endpoint that refuses connections is reported before each
// retry, at once (before the wait, not after it), with the right attempt
// numbers, the maximum, the operation and the cause; the waits announced
// are the waits made, once (the SDK's own sleep is 0); the final error
// names the endpoint in plain words.
func TestRetryNoticeRefused(t *testing.T) {
	endpoint := refusingEndpoint(t)
	c := cliClient(t, endpoint, 4)
	var n notices
	ctx := n.ctx()
	_, err := c.API.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bucket"), Key: aws.String("key")})
	elapsed := time.Since(n.start)
	if err == nil {
		t.Fatal("a refused connection succeeded")
	}
	if len(n.got) != 3 {
		t.Fatalf("%d notices for 4 attempts, want 3: %+v", len(n.got), n.got)
	}
	var waited time.Duration
	for i, r := range n.got {
		if r.Attempt != i+2 || r.MaxAttempts != 4 || r.Op != "create multipart upload" || RetryCause(r.Err) != "connection refused" {
			t.Errorf("notice %d: %+v (cause %q)", i, r, RetryCause(r.Err))
		}
		if r.Delay < 0 || r.Delay > maxBackoff {
			t.Errorf("notice %d: delay %v", i, r.Delay)
		}
		// Each notice comes when its attempt failed: after the waits
		// before it, and well before its own wait is over.
		if lag := n.at[i] - waited; lag < 0 || lag > time.Second {
			t.Errorf("notice %d came %v after the failure (at %v, waits before it %v)", i, lag, n.at[i], waited)
		}
		waited += r.Delay
	}
	// The waits announced were made, and not twice.
	if elapsed < waited || elapsed > waited+2*time.Second {
		t.Errorf("the request took %v; the waits announced sum to %v", elapsed, waited)
	}
	want := "cannot connect to " + endpoint + ": connection refused"
	if got := Describe(err); got != want {
		t.Errorf("Describe: %q, want %q", got, want)
	}
	p, ok := Network(err)
	if !ok || p.Kind != NetRefused || p.Endpoint != endpoint {
		t.Errorf("Network: %+v, %v", p, ok)
	}
}

// TestRetryNoticeServerError: a 500 answer is retried and reported with its
// status and code; an X-Amz-Retry-After header lengthens the wait as the
// SDK's middleware does, and the notice announces the whole wait.
func TestRetryNoticeServerError(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.Header().Set("X-Amz-Retry-After", "700")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`<?xml version="1.0"?><Error><Code>InternalError</Code><Message>boom</Message></Error>`))
			return
		}
		w.Write([]byte(`<?xml version="1.0"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>`))
	}))
	defer srv.Close()
	c := cliClient(t, srv.URL, 5)
	var n notices
	out, err := c.API.CreateMultipartUpload(n.ctx(), &s3.CreateMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("k")})
	elapsed := time.Since(n.start)
	if err != nil || aws.ToString(out.UploadId) != "u1" {
		t.Fatalf("%v, %v", out, err)
	}
	if len(n.got) != 2 {
		t.Fatalf("%d notices, want 2: %+v", len(n.got), n.got)
	}
	var waited time.Duration
	for i, r := range n.got {
		if r.Attempt != i+2 || r.MaxAttempts != 5 || RetryCause(r.Err) != "500 InternalError" {
			t.Errorf("notice %d: %+v, cause %q", i, r, RetryCause(r.Err))
		}
		if r.Delay < 700*time.Millisecond {
			t.Errorf("notice %d: delay %v, shorter than the X-Amz-Retry-After of 700ms", i, r.Delay)
		}
		waited += r.Delay
	}
	if elapsed < waited || elapsed > waited+2*time.Second {
		t.Errorf("the request took %v; the waits announced sum to %v", elapsed, waited)
	}
}

// TestRetryCancelledWhileWaiting: a cancellation during the wait ends the
// request at once with the context's error, as the SDK's own sleep does.
func TestRetryCancelledWhileWaiting(t *testing.T) {
	c := cliClient(t, refusingEndpoint(t), 10)
	ctx, cancel := context.WithCancel(context.Background())
	ctx = WithRetryNotifier(ctx, func(RetryNotice) { cancel() })
	start := time.Now()
	_, err := c.API.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("k")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v after the cancellation", d)
	}
}

// TestRetryStop: once the stop channel is closed, a failed attempt is not
// retried: the request ends with its error and the stop's cause, and a
// wait for a retry ends when the channel closes (a window's end never
// waits for, nor starts, another attempt).
func TestRetryStop(t *testing.T) {
	cause := errors.New("window over")
	c := cliClient(t, refusingEndpoint(t), 10)

	closed := make(chan struct{})
	close(closed)
	var n notices
	_, err := c.API.CreateMultipartUpload(WithRetryStop(n.ctx(), closed, cause), &s3.CreateMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("k")})
	if !errors.Is(err, cause) || len(n.got) != 0 {
		t.Fatalf("err %v after %d retries, want the cause and no retry", err, len(n.got))
	}

	stop := make(chan struct{})
	ctx := WithRetryStop(WithRetryNotifier(context.Background(), func(RetryNotice) { close(stop) }), stop, cause)
	start := time.Now()
	_, err = c.API.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("b"), Key: aws.String("k")})
	if !errors.Is(err, cause) {
		t.Fatalf("err %v, want the cause", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v after the stop", d)
	}
}

// TestRetryerKeepsAdaptiveMode: the notifying retryer wraps the adaptive
// mode, so throttling answers still slow the whole client down (attempt
// tokens are the adaptive mode's), with the configured maximum.
func TestRetryerKeepsAdaptiveMode(t *testing.T) {
	c := cliClient(t, refusingEndpoint(t), 7)
	r, ok := c.API.(*s3.Client).Options().Retryer.(notifyingRetryer)
	if !ok {
		t.Fatalf("retryer %T, want notifyingRetryer", c.API.(*s3.Client).Options().Retryer)
	}
	if _, ok := r.RetryerV2.(*retry.AdaptiveMode); !ok {
		t.Fatalf("wrapped retryer %T, want *retry.AdaptiveMode", r.RetryerV2)
	}
	if r.MaxAttempts() != 7 {
		t.Errorf("max attempts %d", r.MaxAttempts())
	}
}

func TestOperationWords(t *testing.T) {
	for in, want := range map[string]string{"CreateMultipartUpload": "create multipart upload", "UploadPart": "upload part", "": "request"} {
		if got := operationWords(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	if !strings.HasPrefix(operationWords("ListObjectsV2"), "list objects") {
		t.Error(operationWords("ListObjectsV2"))
	}
}
