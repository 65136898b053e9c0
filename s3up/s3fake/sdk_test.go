package s3fake

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestClient: an SDK client on the fake stores and reads objects through
// the fake, and its errors are the fake's.
func TestClient(t *testing.T) {
	f := New()
	f.CreateBucket("b")
	c := f.Client()
	ctx := context.Background()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}
	if o, ok := f.Object("b", "k"); !ok || string(o.Data) != "hello" {
		t.Fatalf("object %q (%v)", o.Data, ok)
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
	if err != nil || aws.ToInt64(head.ContentLength) != 5 {
		t.Fatalf("head %+v %v", head, err)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("nope"), Key: aws.String("k")})
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("head of a missing bucket: %v, want NotFound", err)
	}
	if f.Calls("PutObject") != 1 || f.Calls("HeadObject") != 2 {
		t.Fatalf("calls %v", f.CallCounts())
	}
}
