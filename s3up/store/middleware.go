package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"

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

// partMismatchError: the store accepted a part (or a small object) but
// what it answered of it (its ETag, a checksum, its native CRC-64) is not
// what s3up computed of the bytes it sent: they were damaged on the way and
// the store did not refuse them. It is retryable, so the SDK sends the part
// again (rereading the source), exactly as when a server refuses a part for
// a bad digest; if every attempt fails the run stops, resumable.
type partMismatchError struct {
	code, msg string // s3up's own code: the server accepted the part
}

func (e *partMismatchError) Error() string                 { return e.code + ": " + e.msg }
func (e *partMismatchError) ErrorCode() string             { return e.code }
func (e *partMismatchError) ErrorMessage() string          { return e.msg }
func (e *partMismatchError) ErrorFault() smithy.ErrorFault { return smithy.FaultServer }
func (e *partMismatchError) Unwrap() error                 { return ErrTransient }
func (e *partMismatchError) RetryableError() bool          { return true }

// withAnswerCheck makes a request fail with judge's error when its 200
// answer's headers contradict what was sent (judge returns nil otherwise).
func withAnswerCheck(name string, judge func(http.Header) error) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc(name,
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					if err != nil {
						return out, md, err
					}
					resp, ok := out.RawResponse.(*smithyhttp.Response)
					if !ok || resp.StatusCode != 200 {
						return out, md, err
					}
					if jerr := judge(resp.Header); jerr != nil {
						return out, md, jerr
					}
					return out, md, err
				}), middleware.After)
		})
	}
}

// ETagMismatch returns the error of a part the store stored with an ETag
// (an MD5) other than md5, the MD5 of the bytes sent.
func ETagMismatch(part int32, etag string, md5 []byte) error {
	return &partMismatchError{code: "PartETagMismatch",
		msg: fmt.Sprintf("the server stored part %d with ETag %s but the bytes sent have MD5 %s: they were damaged on the way", part, etag, hex.EncodeToString(md5))}
}

// WithETagCheck makes UploadPart fail, retryably, when the server answers
// with a plain-MD5 ETag other than want. ETags that are not plain MD5s are
// not judged.
func WithETagCheck(part int32, want []byte) func(*s3.Options) {
	return withAnswerCheck("s3upETagCheck", func(h http.Header) error {
		etag := h.Get("ETag")
		if got, ok := checksum.ETagMD5(etag); ok && !bytes.Equal(got, want) {
			return ETagMismatch(part, etag, want)
		}
		return nil
	})
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

// CRC64Mismatch returns the error of a part whose native CRC-64 (in header)
// is got while the bytes sent have want.
func CRC64Mismatch(part int32, header string, got, want uint64) error {
	return &partMismatchError{code: "PartCRC64Mismatch",
		msg: fmt.Sprintf("the store reports %s %d for part %d, the bytes sent have %d; they were damaged on the way", header, got, part, want)}
}

// WithNativeCRC64Check makes UploadPart fail, retryably, when the store
// answers with a native CRC-64/ECMA other than want. Answers without one
// are not judged.
func WithNativeCRC64Check(part int32, want uint64) func(*s3.Options) {
	return withAnswerCheck("s3upNativeCRC64Check", func(h http.Header) error {
		if n := nativeOfHeader(h); n.CRC64Header != "" && n.CRC64 != want {
			return CRC64Mismatch(part, n.CRC64Header, n.CRC64, want)
		}
		return nil
	})
}

// ChecksumMismatch returns the error of a part the store answered with the
// checksum got in header, while the bytes sent have want.
func ChecksumMismatch(part int32, header, got, want string) error {
	return &partMismatchError{code: "PartChecksumMismatch",
		msg: fmt.Sprintf("the store answered %s %s for part %d, the bytes sent have %s: they were damaged on the way", header, got, part, want)}
}

// WithAnswerChecksumCheck makes UploadPart or PutObject fail, retryably,
// when the answer carries one of the checksum headers in want (by header
// name, e.g. "x-amz-checksum-crc32") with another value than want's.
// Headers the answer does not carry are not judged.
func WithAnswerChecksumCheck(part int32, want map[string]string) func(*s3.Options) {
	return withAnswerCheck("s3upAnswerChecksumCheck", func(h http.Header) error {
		for name, v := range want {
			if got := h.Get(name); got != "" && got != v {
				return ChecksumMismatch(part, name, got, v)
			}
		}
		return nil
	})
}
