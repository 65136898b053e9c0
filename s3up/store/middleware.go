package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3up/s3up/s3up/checksum"
)

// Per-call options that change how one request is signed or judged.

// WithPayloadHash makes the SigV4 signer use a precomputed payload hash (or
// UNSIGNED-PAYLOAD) instead of reading the body once more to hash it. The
// value must be set inside the operation's stack: stack values set on the
// caller's context are cleared when the operation starts.
func WithPayloadHash(hash string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("s3upPayloadHash",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					return next.HandleFinalize(v4.SetPayloadHash(ctx, hash), in)
				}), "ComputePayloadHash", middleware.Before)
		})
	}
}

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

// WithErrorBodyCheck makes an operation read a 200 response's body and fail
// (retryably) when it is an S3 error document. Responses that carry an ETag
// stored the part, whatever their body says (some stores answer "part
// already exists" that way), and are left alone.
func WithErrorBodyCheck() func(*s3.Options) {
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

// etagMismatchError: the server stored a part whose ETag is not the MD5 of
// the bytes s3up read. It is retryable, so the SDK sends the part again
// (rereading the source), exactly as when a server refuses a part for a bad
// digest; if every attempt fails the run stops, resumable.
type etagMismatchError struct {
	part      int32
	etag, md5 string
}

func (e *etagMismatchError) Error() string { return e.ErrorCode() + ": " + e.ErrorMessage() }
func (e *etagMismatchError) ErrorCode() string {
	return "PartETagMismatch" // s3up's own code: the server accepted the part
}
func (e *etagMismatchError) ErrorMessage() string {
	return fmt.Sprintf("the server stored part %d with ETag %s but the bytes sent have MD5 %s: they were damaged on the way", e.part, e.etag, e.md5)
}
func (e *etagMismatchError) ErrorFault() smithy.ErrorFault { return smithy.FaultServer }
func (e *etagMismatchError) Unwrap() error                 { return ErrTransient }
func (e *etagMismatchError) RetryableError() bool          { return true }

// ETagMismatch returns the error of a part the store stored with an ETag
// (an MD5) other than md5, the MD5 of the bytes sent.
func ETagMismatch(part int32, etag string, md5 []byte) error {
	return &etagMismatchError{part: part, etag: etag, md5: hex.EncodeToString(md5)}
}

// WithETagCheck makes UploadPart fail, retryably, when the server answers
// with a plain-MD5 ETag other than want. ETags that are not plain MD5s are
// not judged.
func WithETagCheck(part int32, want []byte) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("s3upETagCheck",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					if err != nil {
						return out, md, err
					}
					resp, ok := out.RawResponse.(*smithyhttp.Response)
					if !ok || resp.StatusCode != 200 {
						return out, md, err
					}
					etag := resp.Header.Get("ETag")
					if got, ok := checksum.ETagMD5(etag); ok && !bytes.Equal(got, want) {
						return out, md, &etagMismatchError{part: part, etag: etag, md5: hex.EncodeToString(want)}
					}
					return out, md, err
				}), middleware.After)
		})
	}
}

// unsignedAcceptEncoding keeps the Accept-Encoding header out of the SigV4
// signature. The SDK signs every header it sets, Accept-Encoding included,
// and Google Cloud Storage's front end rewrites that header on the way in,
// so every signed request fails with SignatureDoesNotMatch there (rclone's
// sign_accept_encoding quirk; aws/aws-sdk-go-v2#1816). No store needs the
// header signed: it is removed before signing and put back after.
func unsignedAcceptEncoding(st *middleware.Stack) error {
	type key struct{}
	if err := st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("s3upUnsignAcceptEncodingBefore",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				if v := req.Header.Get("Accept-Encoding"); v != "" {
					req.Header.Del("Accept-Encoding")
					ctx = middleware.WithStackValue(ctx, key{}, v)
				}
			}
			return next.HandleFinalize(ctx, in)
		}), "Signing", middleware.Before); err != nil {
		return err
	}
	return st.Finalize.Insert(middleware.FinalizeMiddlewareFunc("s3upUnsignAcceptEncodingAfter",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				if v, ok := middleware.GetStackValue(ctx, key{}).(string); ok {
					req.Header.Set("Accept-Encoding", v)
				}
			}
			return next.HandleFinalize(ctx, in)
		}), "Signing", middleware.After)
}

// crc64MismatchError: the store reported a CRC-64/ECMA of the part it
// stored (x-cos-hash-crc64ecma, x-oss-hash-crc64ecma) other than the one of
// the bytes s3up read. Such a store ignores x-amz-checksum-*, so this is the
// only sign of bytes damaged on the way; it is retryable, so the SDK sends
// the part again.
type crc64MismatchError struct {
	part      int32
	header    string
	got, want uint64
}

func (e *crc64MismatchError) Error() string { return e.ErrorCode() + ": " + e.ErrorMessage() }
func (e *crc64MismatchError) ErrorCode() string {
	return "PartCRC64Mismatch" // s3up's own code: the server accepted the part
}
func (e *crc64MismatchError) ErrorMessage() string {
	return fmt.Sprintf("the store reports %s %d for part %d, the bytes sent have %d; they were damaged on the way", e.header, e.got, e.part, e.want)
}
func (e *crc64MismatchError) ErrorFault() smithy.ErrorFault { return smithy.FaultServer }
func (e *crc64MismatchError) Unwrap() error                 { return ErrTransient }
func (e *crc64MismatchError) RetryableError() bool          { return true }

// CRC64Mismatch returns the error of a part whose native CRC-64 (in header)
// is got while the bytes sent have want.
func CRC64Mismatch(part int32, header string, got, want uint64) error {
	return &crc64MismatchError{part: part, header: header, got: got, want: want}
}

// WithNativeCRC64Check makes UploadPart fail, retryably, when the store
// answers with a native CRC-64/ECMA other than want. Answers without one
// are not judged.
func WithNativeCRC64Check(part int32, want uint64) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("s3upNativeCRC64Check",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					if err != nil {
						return out, md, err
					}
					resp, ok := out.RawResponse.(*smithyhttp.Response)
					if !ok || resp.StatusCode != 200 {
						return out, md, err
					}
					if n := nativeOfHeader(resp.Header); n.CRC64Header != "" && n.CRC64 != want {
						return out, md, CRC64Mismatch(part, n.CRC64Header, n.CRC64, want)
					}
					return out, md, err
				}), middleware.After)
		})
	}
}

// checksumMismatchError: the store answered a part with a checksum (of the
// part's algorithm, or of one it computes whatever it is asked) other than
// the one of the bytes sent: they were damaged on the way and the store did
// not refuse them. It is retryable, so the SDK sends the part again.
type checksumMismatchError struct {
	part      int32
	header    string
	got, want string
}

func (e *checksumMismatchError) Error() string { return e.ErrorCode() + ": " + e.ErrorMessage() }
func (e *checksumMismatchError) ErrorCode() string {
	return "PartChecksumMismatch" // s3up's own code: the server accepted the part
}
func (e *checksumMismatchError) ErrorMessage() string {
	return fmt.Sprintf("the store answered %s %s for part %d, the bytes sent have %s: they were damaged on the way", e.header, e.got, e.part, e.want)
}
func (e *checksumMismatchError) ErrorFault() smithy.ErrorFault { return smithy.FaultServer }
func (e *checksumMismatchError) Unwrap() error                 { return ErrTransient }
func (e *checksumMismatchError) RetryableError() bool          { return true }

// ChecksumMismatch returns the error of a part the store answered with the
// checksum got in header, while the bytes sent have want.
func ChecksumMismatch(part int32, header, got, want string) error {
	return &checksumMismatchError{part: part, header: header, got: got, want: want}
}

// WithAnswerChecksumCheck makes UploadPart or PutObject fail, retryably,
// when the answer carries one of the checksum headers in want (by header
// name, e.g. "x-amz-checksum-crc32") with another value than want's.
// Headers the answer does not carry are not judged.
func WithAnswerChecksumCheck(part int32, want map[string]string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("s3upAnswerChecksumCheck",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					if err != nil {
						return out, md, err
					}
					resp, ok := out.RawResponse.(*smithyhttp.Response)
					if !ok || resp.StatusCode != 200 {
						return out, md, err
					}
					for h, v := range want {
						if got := resp.Header.Get(h); got != "" && got != v {
							return out, md, ChecksumMismatch(part, h, got, v)
						}
					}
					return out, md, err
				}), middleware.After)
		})
	}
}
