package s3up

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// retryableCodes are S3 error codes the SDK does not retry by default but
// s3up does, because the fix is simply to send the part again: the bytes
// were damaged on the way (the retry rereads them from the file), or the
// server failed with a code rather than a 5xx status.
var retryableCodes = map[string]struct{}{
	"BadDigest":                   {}, // Content-MD5 mismatch
	"XAmzContentSHA256Mismatch":   {}, // signed payload hash mismatch
	"XAmzContentChecksumMismatch": {}, // flexible checksum mismatch (MinIO)
	"InvalidChecksum":             {},
	"IncompleteBody":              {}, // connection cut mid-body
	"InternalError":               {},
	"ServiceUnavailable":          {},
	"RequestTimeout":              {},
}

// retryables extends the SDK's retry decisions; it is appended after the
// defaults, which still stop on cancellation first.
var retryables = retry.RetryableErrorCode{Codes: retryableCodes}

// errorBody is an S3 <Error> document found in a 200 response.
type errorBody struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// errorIn200 is the error for a 200 response whose body reports a failure.
// The SDK ignores UploadPart's body, so without this check such an answer
// would pass for success (only without an ETag). It is retryable: the part
// is sent again.
type errorIn200 struct{ errorBody }

func (e *errorIn200) Error() string {
	return fmt.Sprintf("server answered 200 OK with error %s: %s", e.Code, e.Message)
}
func (e *errorIn200) ErrorCode() string             { return e.Code }
func (e *errorIn200) ErrorMessage() string          { return e.Message }
func (e *errorIn200) ErrorFault() smithy.ErrorFault { return smithy.FaultServer }
func (e *errorIn200) RetryableError() bool          { return true }

// withErrorBodyCheck makes an operation read a 200 response's body and fail
// (retryably) when it is an S3 error document. Responses that carry an ETag
// stored the part, whatever their body says (some stores answer "part
// already exists" that way), and are left alone.
func withErrorBodyCheck() func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("s3upErrorIn200",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					if err != nil {
						return out, md, err
					}
					resp, ok := out.RawResponse.(*smithyhttp.Response)
					if !ok || resp.StatusCode != 200 || resp.Header.Get("ETag") != "" || resp.Body == nil {
						return out, md, err
					}
					body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
					resp.Body.Close()
					resp.Body = io.NopCloser(bytes.NewReader(body))
					if rerr != nil {
						return out, md, rerr
					}
					if !bytes.Contains(body, []byte("<Error>")) {
						return out, md, err
					}
					var eb errorBody
					if xml.Unmarshal(body, &eb) != nil || eb.Code == "" {
						eb = errorBody{Code: "InternalError", Message: "unparsable error document in a 200 response"}
					}
					return out, md, &errorIn200{eb}
				}), middleware.After)
		})
	}
}
