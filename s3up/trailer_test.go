package s3up

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/s3up/s3up/s3up/s3fake"
)

// TestTrailerRefusal: a part sent with a trailer falls back to a header
// for any answer of the store's that may mean "I do not take this
// encoding", and for nothing that is about the network, throttling, the
// upload or the bytes.
func TestTrailerRefusal(t *testing.T) {
	t.Parallel()
	part := func(status int, code string) error {
		return s3fake.APIError("UploadPart", status, code, "message")
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		ctx  context.Context
		err  error
		want bool
	}{
		{context.Background(), part(400, "InvalidArgument"), true}, // OSS, COS
		{context.Background(), part(400, "InvalidRequest"), true},
		{context.Background(), part(501, "NotImplemented"), true},
		{context.Background(), part(400, "XAmzContentSHA256Mismatch"), true}, // s3s
		{context.Background(), part(400, "AuthorizationHeaderMalformed"), true},
		{context.Background(), part(403, "SignatureDoesNotMatch"), true}, // GCS; a wrong secret fails the header too
		{context.Background(), part(411, "MissingContentLength"), true},
		{context.Background(), part(500, "MalformedTrailerError"), true},
		{context.Background(), part(503, "SlowDown"), false},
		{context.Background(), part(429, "TooManyRequests"), false},
		{context.Background(), part(404, "NoSuchUpload"), false},
		{context.Background(), part(404, "NoSuchBucket"), false},
		{context.Background(), part(400, "BadDigest"), false},
		{context.Background(), part(400, "XAmzContentChecksumMismatch"), false},
		{context.Background(), part(400, "InvalidChecksum"), false},
		{context.Background(), s3fake.ConnectionReset("UploadPart"), false},
		{context.Background(), fmt.Errorf("upload part 3: %w", context.Canceled), false},
		{cancelled, part(400, "InvalidArgument"), false},
		{context.Background(), errors.New("no answer"), false},
	} {
		if got := trailerRefusal(tc.ctx, tc.err); got != tc.want {
			t.Errorf("%v (ctx %v): refusal %v, want %v", tc.err, tc.ctx.Err(), got, tc.want)
		}
	}
}
