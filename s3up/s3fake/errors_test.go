package s3fake_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3up/s3up/s3up/s3fake"
)

func TestAPIErrorShape(t *testing.T) {
	err := s3fake.APIError("UploadPart", 400, "InvalidArgument", "Unsupported header 'x-amz-checksum-crc32' received for this API call.")
	wantErr(t, err, "UploadPart", 400, "InvalidArgument")
	var ae smithy.APIError
	errors.As(err, &ae)
	if ae.ErrorMessage() != "Unsupported header 'x-amz-checksum-crc32' received for this API call." {
		t.Errorf("message %q", ae.ErrorMessage())
	}
	if _, ok := ae.(*smithy.GenericAPIError); !ok {
		t.Errorf("%T, want *smithy.GenericAPIError", ae)
	}
	var re *awshttp.ResponseError
	errors.As(err, &re)
	if re.ServiceRequestID() == "" || re.Response.Header.Get("X-Amz-Request-Id") != re.ServiceRequestID() {
		t.Errorf("request id %q, header %q", re.ServiceRequestID(), re.Response.Header.Get("X-Amz-Request-Id"))
	}
	var sre *smithyhttp.ResponseError
	if !errors.As(err, &sre) || sre.HTTPStatusCode() != 400 {
		t.Errorf("no smithyhttp.ResponseError with status 400 in %v", err)
	}
	var host interface{ ServiceHostID() string }
	if !errors.As(err, &host) || host.ServiceHostID() == "" {
		t.Errorf("no host id in %v", err)
	}
	// The message is the SDK's.
	msg := err.Error()
	if !strings.HasPrefix(msg, "operation error S3: UploadPart, https response error StatusCode: 400, RequestID: ") ||
		!strings.HasSuffix(msg, "api error InvalidArgument: Unsupported header 'x-amz-checksum-crc32' received for this API call.") {
		t.Errorf("message %q", msg)
	}
}

// TestAPIErrorModelled checks which codes are modelled types for which
// operation, as the SDK's deserializers decide.
func TestAPIErrorModelled(t *testing.T) {
	type check func(error) bool
	is := func(target any) check {
		return func(err error) bool { return errors.As(err, target) }
	}
	var (
		nsu *types.NoSuchUpload
		nsk *types.NoSuchKey
		nsb *types.NoSuchBucket
		nf  *types.NotFound
		ir  *types.InvalidRequest
		tmp *types.TooManyParts
		gen *smithy.GenericAPIError
	)
	for _, c := range []struct {
		op, code string
		status   int
		want     check
	}{
		{"AbortMultipartUpload", "NoSuchUpload", 404, is(&nsu)},
		{"UploadPart", "NoSuchUpload", 404, is(&gen)},
		{"ListParts", "NoSuchUpload", 404, is(&gen)},
		{"CompleteMultipartUpload", "NoSuchUpload", 404, is(&gen)},
		{"GetObject", "NoSuchKey", 404, is(&nsk)},
		{"ListObjectsV2", "NoSuchBucket", 404, is(&nsb)},
		{"PutObject", "NoSuchBucket", 404, is(&gen)},
		{"PutObject", "InvalidRequest", 400, is(&ir)},
		{"PutObject", "TooManyParts", 400, is(&tmp)},
		{"HeadObject", "NoSuchKey", 404, is(&nf)},
		{"HeadBucket", "NoSuchBucket", 404, is(&nf)},
	} {
		err := s3fake.APIError(c.op, c.status, c.code, "message")
		if !c.want(err) {
			t.Errorf("%s %s: %T not the modelled type", c.op, c.code, errors.Unwrap(errors.Unwrap(err)))
		}
	}
	// A modelled type keeps the message.
	errors.As(s3fake.APIError("GetObject", 404, "NoSuchKey", "gone"), &nsk)
	if nsk.ErrorMessage() != "gone" {
		t.Errorf("NoSuchKey message %q", nsk.ErrorMessage())
	}
}

// HEAD answers have no body: the SDK derives the code from the status.
func TestAPIErrorHead(t *testing.T) {
	for _, c := range []struct {
		status int
		code   string
	}{{404, "NotFound"}, {403, "Forbidden"}, {400, "BadRequest"}, {412, "PreconditionFailed"}, {301, "MovedPermanently"}} {
		err := s3fake.APIError("HeadObject", c.status, "AccessDenied", "ignored")
		wantErr(t, err, "HeadObject", c.status, c.code)
		var nf *types.NotFound
		if errors.As(err, &nf) != (c.status == 404) {
			t.Errorf("%d: NotFound modelled = %v", c.status, errors.As(err, &nf))
		}
	}
}

func TestAPIErrorWithoutCode(t *testing.T) {
	wantErr(t, s3fake.APIError("ListParts", 404, "", ""), "ListParts", 404, "NotFound")
	wantErr(t, s3fake.APIError("UploadPart", 501, "NotImplemented", "A header you provided implies functionality that is not implemented"),
		"UploadPart", 501, "NotImplemented")
	wantErr(t, s3fake.APIError("CreateMultipartUpload", 403, "ExpiredToken", "The provided token has expired."),
		"CreateMultipartUpload", 403, "ExpiredToken")
}

func TestConnectionReset(t *testing.T) {
	err := s3fake.ConnectionReset("UploadPart")
	var ae smithy.APIError
	if errors.As(err, &ae) {
		t.Errorf("a connection error is an APIError %v", ae)
	}
	var ne net.Error
	if !errors.As(err, &ne) {
		t.Errorf("%v is not a net.Error", err)
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("%v is not ECONNRESET", err)
	}
	var ma *retry.MaxAttemptsError
	if !errors.As(err, &ma) || ma.Attempt != 3 {
		t.Errorf("%v: no MaxAttemptsError of 3 attempts", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 0 {
		t.Errorf("%v: want a response error of status 0", err)
	}
	var se *smithyhttp.RequestSendError
	if !errors.As(err, &se) || !se.ConnectionError() {
		t.Errorf("%v: no RequestSendError", err)
	}
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || oe.Operation() != "UploadPart" {
		t.Errorf("%v: no OperationError of UploadPart", err)
	}
	// The SDK's retryer would count it retryable.
	if !retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool() {
		t.Errorf("%v is not retryable for the SDK", err)
	}
	want := "operation error S3: UploadPart, exceeded maximum number of attempts, 3, https response error StatusCode: 0, RequestID: , HostID: , request send failed, Put \""
	if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "read: connection reset by peer") {
		t.Errorf("message %q", err.Error())
	}
}

func TestExhausted(t *testing.T) {
	err := s3fake.Exhausted(s3fake.APIError("UploadPart", 503, "SlowDown", "Please reduce your request rate."), 10)
	wantErr(t, err, "UploadPart", 503, "SlowDown")
	var ma *retry.MaxAttemptsError
	if !errors.As(err, &ma) || ma.Attempt != 10 {
		t.Errorf("%v: no MaxAttemptsError of 10", err)
	}
	plain := errors.New("plain")
	if s3fake.Exhausted(plain, 3) != plain {
		t.Error("a non-SDK error was rewrapped")
	}
}

func TestCanceledContext(t *testing.T) {
	f := newFake(t)
	c, cancel := context.WithCancel(ctx)
	cancel()
	_, err := f.PutObject(c, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), Body: strings.NewReader("x")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	var ce *smithy.CanceledError
	if !errors.As(err, &ce) {
		t.Errorf("%v: no smithy.CanceledError", err)
	}
	if !strings.HasPrefix(err.Error(), "operation error S3: PutObject, https response error StatusCode: 0") {
		t.Errorf("message %q", err.Error())
	}
	if _, ok := f.Object(bkt, "k"); ok {
		t.Error("a canceled PutObject stored the object")
	}
	if f.Calls("PutObject") != 1 || f.BytesReceived() != 0 {
		t.Errorf("calls %d, bytes %d", f.Calls("PutObject"), f.BytesReceived())
	}
}

// The fake's own answers for missing things, per operation.
func TestMissingBucket(t *testing.T) {
	f := s3fake.New()
	nb := aws.String("nope")
	k := aws.String("k")
	id := aws.String("id")
	var nsb *types.NoSuchBucket
	var nf *types.NotFound
	for _, c := range []struct {
		op   string
		call func() error
	}{
		{"CreateMultipartUpload", func() error {
			_, err := f.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: nb, Key: k})
			return err
		}},
		{"UploadPart", func() error {
			_, err := f.UploadPart(ctx, &s3.UploadPartInput{Bucket: nb, Key: k, UploadId: id, PartNumber: aws.Int32(1)})
			return err
		}},
		{"ListParts", func() error {
			_, err := f.ListParts(ctx, &s3.ListPartsInput{Bucket: nb, Key: k, UploadId: id})
			return err
		}},
		{"CompleteMultipartUpload", func() error {
			_, err := f.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: nb, Key: k, UploadId: id})
			return err
		}},
		{"AbortMultipartUpload", func() error {
			_, err := f.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: nb, Key: k, UploadId: id})
			return err
		}},
		{"ListMultipartUploads", func() error {
			_, err := f.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: nb})
			return err
		}},
		{"PutObject", func() error {
			_, err := f.PutObject(ctx, &s3.PutObjectInput{Bucket: nb, Key: k})
			return err
		}},
		{"GetObject", func() error {
			_, err := f.GetObject(ctx, &s3.GetObjectInput{Bucket: nb, Key: k})
			return err
		}},
		{"ListObjectsV2", func() error {
			_, err := f.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: nb})
			if !errors.As(err, &nsb) {
				t.Errorf("ListObjectsV2: %v is not *types.NoSuchBucket", err)
			}
			return err
		}},
		{"DeleteObject", func() error {
			_, err := f.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: nb, Key: k})
			return err
		}},
		{"DeleteObjects", func() error {
			_, err := f.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: nb, Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: k}}}})
			return err
		}},
	} {
		wantErr(t, c.call(), c.op, http.StatusNotFound, "NoSuchBucket")
	}
	for _, c := range []struct {
		op   string
		call func() error
	}{
		{"HeadObject", func() error { _, err := f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: nb, Key: k}); return err }},
		{"HeadBucket", func() error { _, err := f.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: nb}); return err }},
	} {
		err := c.call()
		wantErr(t, err, c.op, http.StatusNotFound, "NotFound")
		if !errors.As(err, &nf) {
			t.Errorf("%s: %v is not *types.NotFound", c.op, err)
		}
	}
}
