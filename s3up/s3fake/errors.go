package s3fake

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// APIError returns the error the S3 client of aws-sdk-go-v2 returns when
// operation op gets an error answer with the given HTTP status, S3 error code
// and message, after a single attempt (a non-retryable answer, or retries
// turned off; see [Exhausted] for the shape after retries).
//
// The chain is the SDK's:
//
//	*smithy.OperationError{ServiceID: "S3", OperationName: op}
//	  → S3 response error (the SDK's s3shared.ResponseError: RequestID, HostID)
//	    → *awshttp.ResponseError → *smithyhttp.ResponseError (the *http.Response)
//	      → the deserialized error
//
// so errors.As finds a [smithy.APIError] (ErrorCode, ErrorMessage), an
// [*awshttp.ResponseError] (HTTPStatusCode, ServiceRequestID) and a
// [*smithy.OperationError]. The deserialized error is what the SDK's
// deserializer for op produces: a modelled type where the SDK models that
// code for that operation (*types.NoSuchUpload only for
// AbortMultipartUpload, *types.NoSuchKey only for GetObject,
// *types.NoSuchBucket only for ListObjectsV2, *types.NotFound for
// HeadObject and HeadBucket, *types.InvalidRequest, *types.TooManyParts,
// *types.EncryptionTypeMismatch and *types.InvalidWriteOffset for
// PutObject, *types.InvalidObjectState for GetObject), and a
// *smithy.GenericAPIError (Fault unset, as the SDK leaves it) otherwise. In
// particular NoSuchUpload from UploadPart, ListParts or
// CompleteMultipartUpload is a GenericAPIError with code "NoSuchUpload",
// exactly as the real client reports it.
//
// HeadObject and HeadBucket answers have no body, so the SDK derives the
// code and message from the status ("NotFound"/"Not Found",
// "Forbidden"/"Forbidden", "BadRequest"/"Bad Request", ...): for those two
// operations code and message are ignored and derived the same way.
func APIError(op string, status int, code, message string) error {
	id := requestID()
	header := http.Header{}
	header.Set("Content-Type", "application/xml")
	header.Set("X-Amz-Request-Id", id.request)
	header.Set("X-Amz-Id-2", id.host)
	return &smithy.OperationError{
		ServiceID:     "S3",
		OperationName: op,
		Err: &responseError{
			ResponseError: &awshttp.ResponseError{
				ResponseError: &smithyhttp.ResponseError{
					Response: &smithyhttp.Response{Response: &http.Response{
						StatusCode: status,
						Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
						Header:     header,
						Body:       http.NoBody,
					}},
					Err: deserializedError(op, status, code, message),
				},
				RequestID: id.request,
			},
			HostID: id.host,
		},
	}
}

// ConnectionReset returns what the SDK returns for operation op when every
// attempt (3, the SDK's default) failed with a connection reset by the peer:
// an OperationError wrapping a *retry.MaxAttemptsError wrapping an S3
// response error of status 0 wrapping a *smithyhttp.RequestSendError
// wrapping a *url.Error wrapping a *net.OpError with syscall.ECONNRESET. It
// satisfies net.Error; it is not an API error. This is the error the
// [LoseAnswer] and [LoseRequest] faults return.
func ConnectionReset(op string) error {
	reset := &net.OpError{
		Op:     "read",
		Net:    "tcp",
		Source: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 49152},
		Addr:   &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9000},
		Err:    &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET},
	}
	send := &smithyhttp.RequestSendError{Err: &url.Error{Op: opMethod(op), URL: fakeURL(op), Err: reset}}
	return Exhausted(transportError(op, send), 3)
}

// Exhausted rewraps err, an error built by [APIError] or the fake, as the
// SDK's retryer returns it once attempts attempts all failed with it: the
// OperationError's inner error wrapped in a *retry.MaxAttemptsError
// ("exceeded maximum number of attempts, N, ..."). Any other error is
// returned unchanged.
func Exhausted(err error, attempts int) error {
	var oe *smithy.OperationError
	if !errors.As(err, &oe) {
		return err
	}
	return &smithy.OperationError{ServiceID: oe.ServiceID, OperationName: oe.OperationName,
		Err: &retry.MaxAttemptsError{Attempt: attempts, Err: oe.Err}}
}

// responseError mirrors the S3 client's s3shared.ResponseError (an internal
// package of the SDK): the awshttp.ResponseError plus the x-amz-id-2 host id.
type responseError struct {
	*awshttp.ResponseError
	HostID string
}

// ServiceHostID returns the host id, as s3shared.ResponseError does.
func (e *responseError) ServiceHostID() string { return e.HostID }

func (e *responseError) Error() string {
	return fmt.Sprintf("https response error StatusCode: %d, RequestID: %s, HostID: %s, %v",
		e.Response.StatusCode, e.RequestID, e.HostID, e.Err)
}

// As lets errors.As find the embedded *awshttp.ResponseError and what it
// wraps, as s3shared.ResponseError does.
func (e *responseError) As(target any) bool { return errors.As(e.ResponseError, target) }

// transportError is the SDK's error for a request that got no HTTP answer
// (status 0, empty request id), as its error-wrapping middleware builds it.
func transportError(op string, err error) error {
	return &smithy.OperationError{
		ServiceID:     "S3",
		OperationName: op,
		Err: &responseError{ResponseError: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{Header: http.Header{}, Body: http.NoBody}},
				Err:      err,
			},
		}},
	}
}

// canceledError is what the SDK returns when ctx ends before the request
// is sent: "operation error S3: Op, https response error StatusCode: 0,
// RequestID: , HostID: , canceled, context canceled".
func canceledError(op string, ctxErr error) error {
	return transportError(op, &smithy.CanceledError{Err: ctxErr})
}

// bodyReadError is the SDK's error when reading the request body fails
// while the request is being sent.
func bodyReadError(op string, err error) error {
	return transportError(op, &smithyhttp.RequestSendError{Err: &url.Error{Op: opMethod(op), URL: fakeURL(op), Err: err}})
}

// deserializedError builds the error value the SDK's deserializer for op
// returns for an answer with that status, code and message.
func deserializedError(op string, status int, code, message string) error {
	if op == "HeadObject" || op == "HeadBucket" {
		text := http.StatusText(status)
		code, message = strings.ReplaceAll(text, " ", ""), text
		if strings.EqualFold(code, "NotFound") {
			return &types.NotFound{} // the SDK decodes nothing from an empty body
		}
		return &smithy.GenericAPIError{Code: code, Message: message}
	}
	if code == "" && message == "" {
		text := http.StatusText(status)
		code, message = strings.ReplaceAll(text, " ", ""), text
	}
	if mk, ok := modelled[op][strings.ToLower(code)]; ok {
		return mk(message)
	}
	return &smithy.GenericAPIError{Code: code, Message: message}
}

// modelled lists, per operation, the error codes the SDK's deserializer for
// that operation turns into a modelled type (matched case-insensitively).
var modelled = map[string]map[string]func(msg string) error{
	"AbortMultipartUpload": {
		"nosuchupload": func(m string) error { return &types.NoSuchUpload{Message: &m} },
	},
	"GetObject": {
		"nosuchkey":          func(m string) error { return &types.NoSuchKey{Message: &m} },
		"invalidobjectstate": func(m string) error { return &types.InvalidObjectState{Message: &m} },
	},
	"ListObjectsV2": {
		"nosuchbucket": func(m string) error { return &types.NoSuchBucket{Message: &m} },
	},
	"PutObject": {
		"encryptiontypemismatch": func(m string) error { return &types.EncryptionTypeMismatch{Message: &m} },
		"invalidrequest":         func(m string) error { return &types.InvalidRequest{Message: &m} },
		"invalidwriteoffset":     func(m string) error { return &types.InvalidWriteOffset{Message: &m} },
		"toomanyparts":           func(m string) error { return &types.TooManyParts{Message: &m} },
	},
}

type ids struct{ request, host string }

// requestID makes an x-amz-request-id and x-amz-id-2 pair shaped like S3's.
func requestID() ids {
	host := make([]byte, 48)
	for i := range host {
		host[i] = byte(rand.Uint32())
	}
	return ids{
		request: strings.ToUpper(fmt.Sprintf("%016x", rand.Uint64())),
		host:    base64.StdEncoding.EncodeToString(host),
	}
}

// opMethod is the HTTP method the SDK uses for op.
func opMethod(op string) string {
	switch op {
	case "UploadPart", "PutObject":
		return "Put"
	case "CreateMultipartUpload", "CompleteMultipartUpload", "DeleteObjects":
		return "Post"
	case "AbortMultipartUpload", "DeleteObject":
		return "Delete"
	case "HeadObject", "HeadBucket":
		return "Head"
	}
	return "Get"
}

func fakeURL(op string) string {
	return "https://s3fake.invalid/bucket/key?x-id=" + op
}

// Error codes and messages the fake answers with, as AWS S3 words them.
const (
	msgNoSuchBucket    = "The specified bucket does not exist"
	msgNoSuchUpload    = "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
	msgNoSuchKey       = "The specified key does not exist."
	msgIncompleteBody  = "You did not provide the number of bytes specified by the Content-Length HTTP header."
	msgBadDigest       = "The Content-MD5 you specified did not match what we received."
	msgInvalidPart     = "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
	msgInvalidOrder    = "The list of parts was not in ascending order. The parts list must be specified in order by part number."
	msgEntityTooSmall  = "Your proposed upload is smaller than the minimum allowed object size."
	msgEntityTooLarge  = "Your proposed upload exceeds the maximum allowed object size."
	msgPrecondition    = "At least one of the pre-conditions you specified did not hold"
	msgMalformedXML    = "The XML you provided was not well-formed or did not validate against our published schema"
	msgPartNumber      = "Part number must be an integer between 1 and 10000, inclusive"
	msgInvalidDigest   = "The Content-MD5 you specified is not valid."
	msgInvalidToken    = "The continuation token provided is incorrect"
	msgInvalidRange    = "The requested range is not satisfiable"
	msgInvalidPartNum  = "The requested partnumber is not satisfiable"
	msgMultipleSums    = "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
	msgUnsupportedAlgo = "s3fake does not implement this checksum algorithm"
)
