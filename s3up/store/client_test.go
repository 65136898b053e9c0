package store

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// flaky answers every request with a 500 and counts them.
func flaky(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(500)
		w.Write([]byte("<Error><Code>InternalError</Code><Message>x</Message></Error>"))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func testConfig() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}}
}

func noBackoff(o *s3.Options) {
	// The client's retryer is the one under test; only its waits go.
	if r, ok := o.Retryer.(notifyingRetryer); ok {
		o.Retryer = notifyingRetryer{retry.AddWithMaxBackoffDelay(r.RetryerV2, 0).(aws.RetryerV2)}
	}
}

// TestFromConfig: a configuration without a retryer gets s3up's
// (DefaultMaxAttempts attempts); one with its own keeps it; the endpoint
// and path style set by an option function are what Info reports.
func TestFromConfig(t *testing.T) {
	srv, n := flaky(t)
	c, err := FromConfig(testConfig(), ClientConfig{}, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(srv.URL+"/"), true })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL, c.Info.Endpoint) || !c.Info.PathStyle || c.Info.TLS || !c.SDK() {
		t.Fatalf("info %+v", c.Info)
	}
	if len(c.LongWait()) == 0 {
		t.Fatal("no HTTP client of s3up's (stall timeout) for a configuration without one")
	}
	_, err = c.API.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("k")}, noBackoff)
	if err == nil || n.Load() != DefaultMaxAttempts {
		t.Fatalf("%d attempts (%v), want s3up's %d", n.Load(), err, DefaultMaxAttempts)
	}

	n.Store(0)
	own := testConfig()
	own.Retryer = func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 2) }
	c, err = FromConfig(own, ClientConfig{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	c.API.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("k")}, noBackoff)
	if n.Load() != 2 {
		t.Fatalf("%d attempts, want the configuration's own 2", n.Load())
	}
}

// TestFromS3: an existing client keeps its retryer and endpoint; s3up's
// middleware runs in its calls (their retries are reported to a notifier).
func TestFromS3(t *testing.T) {
	srv, n := flaky(t)
	sdk := s3.NewFromConfig(testConfig(), func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle = aws.String(srv.URL), true
		o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), 3)
	})
	c, err := FromS3(sdk)
	if err != nil {
		t.Fatal(err)
	}
	if c.Info.Endpoint != srv.URL || !c.Info.PathStyle || !c.SDK() {
		t.Fatalf("info %+v", c.Info)
	}
	var notices atomic.Int32
	ctx := WithRetryNotifier(context.Background(), func(RetryNotice) { notices.Add(1) })
	c.API.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("k")}, noBackoff)
	if n.Load() != 3 || notices.Load() != 2 {
		t.Fatalf("%d attempts, %d retries reported; want the client's 3 attempts, 2 retries", n.Load(), notices.Load())
	}
	if _, err := FromS3(s3.New(s3.Options{BaseEndpoint: aws.String("ftp://x")})); err == nil {
		t.Fatal("an endpoint that is not http(s) was accepted")
	}
}
