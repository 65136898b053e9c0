package store

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// apiErr builds an error as the SDK returns it for an answer with status
// and code.
func apiErr(status int, code, msg string) error {
	var inner error = &smithy.GenericAPIError{Code: code, Message: msg}
	if code == "NoSuchUpload" {
		inner = &types.NoSuchUpload{Message: &msg}
	}
	return &smithy.OperationError{ServiceID: "S3", OperationName: "Op", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: inner}}}
}

// TestAnswersOneTable: the classifier and the retryer read the same table,
// so a code is never transient in one and fatal in the other (the review
// found BadDigest bad input in one place and transient in another, and
// XAmzChecksumMismatch where MinIO sends XAmzContentChecksumMismatch).
func TestAnswersOneTable(t *testing.T) {
	codes := retryableCodes()
	for code, a := range answers {
		got := KindOf(Classify(apiErr(400, code, "m")))
		if got != a.kind {
			t.Errorf("%s: classified %v, table says %v", code, got, a.kind)
		}
		if _, retried := codes[code]; retried != a.retry {
			t.Errorf("%s: retried %v, table says %v", code, retried, a.retry)
		}
		if a.retry && a.kind != ErrTransient {
			t.Errorf("%s: retried by the SDK but %v when the retries run out", code, a.kind)
		}
	}
	for _, code := range []string{"BadDigest", "XAmzContentChecksumMismatch", "XAmzContentSHA256Mismatch", "InvalidDigest"} {
		if !errors.Is(Classify(apiErr(400, code, "")), ErrTransient) {
			t.Errorf("%s: a damaged part is sent again on the next run, not bad input", code)
		}
	}
}

func TestClassifyFallbacks(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{apiErr(403, "Forbidden", ""), ErrAccess},
		{apiErr(500, "WeirdServerThing", ""), ErrTransient},
		{apiErr(404, "NoSuchBucket", ""), ErrNoBucket},
		{fmt.Errorf("operation error S3: failed to retrieve credentials: x"), ErrAccess},
		{errors.New("dial tcp: connection refused"), ErrTransient},
	} {
		if got := KindOf(Classify(tc.err)); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.err, got, tc.want)
		}
	}
	kept := WithKind(ErrVerify, errors.New("x"))
	if KindOf(Classify(kept)) != ErrVerify {
		t.Error("Classify replaced an existing kind")
	}
}

// TestUploadGone: NoSuchUpload is certain; NoSuchKey and a bare 404 only
// suggest the upload is gone and must be confirmed (review 1.4).
func TestUploadGone(t *testing.T) {
	for _, tc := range []struct {
		err           error
		gone, certain bool
	}{
		{apiErr(404, "NoSuchUpload", "gone"), true, true},
		{apiErr(404, "NoSuchKey", ""), true, false},
		{apiErr(404, "NotFound", ""), true, false},
		{apiErr(404, "NoSuchBucket", ""), false, false},
		{apiErr(500, "InternalError", ""), false, false},
		{nil, false, false},
	} {
		g, c := UploadGone(tc.err)
		if g != tc.gone || c != tc.certain {
			t.Errorf("%v: gone %v certain %v, want %v %v", tc.err, g, c, tc.gone, tc.certain)
		}
	}
}

func TestDescribeHints(t *testing.T) {
	d := Describe(&UploadError{Op: "upload part 3", UploadID: "u1", StatePath: "/s", Err: apiErr(400, "ExpiredToken", "The provided token has expired.")})
	if !strings.HasPrefix(d, "upload part 3 (upload u1): ExpiredToken: The provided token has expired.") || !strings.Contains(d, "renew") {
		t.Fatalf("describe: %s", d)
	}
}

func TestRejectsChecksum(t *testing.T) {
	b2 := apiErr(400, "InvalidArgument", "Unsupported header 'x-amz-checksum-crc32' received for this API call.")
	if !RejectsChecksum(b2) {
		t.Fatal("B2's refusal not recognised")
	}
	r2 := apiErr(501, "NotImplemented", "Header 'x-amz-checksum-algorithm' with value 'CRC32' not implemented")
	if !RejectsChecksum(r2) {
		t.Fatal("R2's refusal not recognised")
	}
	if RejectsChecksum(apiErr(400, "InvalidArgument", "Part number must be an integer between 1 and 10000")) {
		t.Fatal("an unrelated InvalidArgument taken for a checksum refusal")
	}
}

func TestNormalizeEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://h:9000":            "http://h:9000",
		"http://h:9000/":           "http://h:9000",
		"HTTP://H:9000//":          "http://h:9000",
		"http://h:80/":             "http://h",
		"https://h:443":            "https://h",
		"https://user:pw@h:8443/":  "https://h:8443",
		"http://[::1]:9000/":       "http://[::1]:9000",
		"https://h/base/":          "https://h/base",
		" https://s3.example.com ": "https://s3.example.com",
	} {
		got, err := NormalizeEndpoint(in)
		if err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"localhost:9000", "ftp://h", "http://", "http://h/?x=1"} {
		if _, err := NormalizeEndpoint(bad); !errors.Is(err, ErrBadInput) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
	if _, err := NormalizeEndpoint("ftp://user:secret@h"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("credentials in an endpoint error: %v", err)
	}
}
