package s3up

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Error kinds the CLI must tell apart. Errors returned by this package wrap
// exactly one of them (test with errors.Is); the wrapped chain keeps the
// original SDK error for detail.
var (
	// ErrBadInput: the request cannot work as given (missing file, bad part
	// size, malformed destination). Nothing was sent.
	ErrBadInput = errors.New("bad input")
	// ErrAccess: credentials missing or rejected, or access denied.
	ErrAccess = errors.New("access denied")
	// ErrNoBucket: the destination bucket does not exist.
	ErrNoBucket = errors.New("bucket does not exist")
	// ErrState: the local resume state cannot be used (corrupt, from a newer
	// version, or recorded with different options); --fresh discards it.
	ErrState = errors.New("resume state unusable")
	// ErrBusy: another s3up process is driving the same upload.
	ErrBusy = errors.New("upload in progress elsewhere")
	// ErrVerify: the completed object does not match the source.
	ErrVerify = errors.New("verification failed")
	// ErrTransient: the upload failed for a reason a rerun may overcome
	// (network, throttling, server errors after retries). State is kept.
	ErrTransient = errors.New("upload interrupted")
)

// UploadError carries the recovery data of a failed or interrupted upload.
type UploadError struct {
	Op        string // what failed, e.g. "upload part 17"
	UploadID  string // multipart upload id, "" if none was created
	StatePath string // sidecar holding the progress, "" if none
	Err       error
}

func (e *UploadError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *UploadError) Unwrap() error { return e.Err }

// kindError attaches a kind to an error without changing its message.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

func withKind(kind, err error) error {
	if err == nil || errors.Is(err, kind) {
		return err
	}
	return &kindError{kind: kind, err: err}
}

// apiCode returns the S3 error code of err ("" if err is not an API error).
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// IsNoSuchUpload reports whether err says the multipart upload is gone
// (completed or aborted). Stores disagree on the code: AWS and MinIO send
// NoSuchUpload, some gateways send NoSuchKey or a bare 404 for ListParts.
func IsNoSuchUpload(err error) bool {
	var nsu *types.NoSuchUpload
	if errors.As(err, &nsu) {
		return true
	}
	switch apiCode(err) {
	case "NoSuchUpload", "NoSuchKey":
		return true
	}
	return httpStatus(err) == http.StatusNotFound && apiCode(err) != "NoSuchBucket"
}

// IsNotFound reports whether err says an object (or bucket) does not exist.
func IsNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	switch apiCode(err) {
	case "NoSuchKey", "NotFound":
		return true
	}
	return httpStatus(err) == http.StatusNotFound
}

// classify wraps an SDK error with the kind the CLI needs. It is the one
// place that knows how S3 stores spell their failures.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	for _, k := range []error{ErrBadInput, ErrAccess, ErrNoBucket, ErrState, ErrBusy, ErrVerify, ErrTransient} {
		if errors.Is(err, k) {
			return err
		}
	}
	var nb *types.NoSuchBucket
	if errors.As(err, &nb) {
		return withKind(ErrNoBucket, err)
	}
	switch apiCode(err) {
	case "NoSuchBucket":
		return withKind(ErrNoBucket, err)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
		"ExpiredToken", "TokenRefreshRequired", "AllAccessDisabled", "InvalidSecurity",
		"AuthorizationHeaderMalformed",
		"XAdminUserNotFound": // versitygw's answer to an unknown access key
		return withKind(ErrAccess, err)
	case "InvalidBucketName", "KeyTooLongError", "InvalidArgument", "EntityTooLarge",
		"InvalidStorageClass", "InvalidEncryptionAlgorithmError", "PermanentRedirect",
		"AuthorizationQueryParametersError", "IllegalLocationConstraintException",
		"InvalidRequest", "NotImplemented", "XAmzContentSHA256Mismatch", "BadDigest",
		"InvalidDigest":
		// BadDigest/XAmzContentSHA256Mismatch: the bytes arrived changed;
		// they get ErrTransient below when they come from a part upload,
		// since resending the part is the fix.
		return withKind(ErrBadInput, err)
	}
	var cerr interface{ CredentialsError() bool }
	if errors.As(err, &cerr) {
		return withKind(ErrAccess, err)
	}
	if strings.Contains(err.Error(), "failed to retrieve credentials") ||
		strings.Contains(err.Error(), "failed to refresh cached credentials") {
		return withKind(ErrAccess, err)
	}
	switch httpStatus(err) {
	case http.StatusForbidden:
		return withKind(ErrAccess, err)
	}
	if tlsProblem(err) != "" {
		return withKind(ErrBadInput, err)
	}
	return withKind(ErrTransient, err)
}

// tlsProblem describes a TLS failure that neither a retry nor a rerun can
// fix, because the client's trust settings or the endpoint URL must change:
// an untrusted, expired or misnamed certificate, or an https:// endpoint
// that does not speak TLS. It returns "" for any other error.
func tlsProblem(err error) string {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &ua):
		return "its TLS certificate is signed by an unknown authority; set AWS_CA_BUNDLE to the PEM file of the CA that signed it"
	case errors.As(err, &hn):
		return fmt.Sprintf("its TLS certificate is not valid for this host (%v); use the host name the certificate names", hn)
	case errors.As(err, &ci):
		return fmt.Sprintf("its TLS certificate is not valid (%v); renew it, or set AWS_CA_BUNDLE to the right CA", ci)
	case errors.As(err, &cv):
		return fmt.Sprintf("its TLS certificate is not trusted (%v); set AWS_CA_BUNDLE to the PEM file of its CA", cv.Err)
	case errors.As(err, &rh):
		return "it does not speak TLS; use an http:// endpoint"
	}
	return ""
}

// noRetryTLS stops the SDK from retrying TLS failures that tlsProblem
// recognises: the SDK counts them as connection errors and would retry
// them with backoff before the one clear message.
var noRetryTLS = retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
	if tlsProblem(err) != "" {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
})

// isRetryableNetErr reports connection-level failures (reset, refused,
// timeouts) that a later attempt may overcome.
func isRetryableNetErr(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool()
}

// describe turns an error into one line for a human: the S3 code and message
// when there is one, without request ids or SDK chatter.
func describe(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := ae.ErrorMessage()
		if msg == "" {
			msg = http.StatusText(httpStatus(err))
		}
		if rejectsChecksum(err) {
			msg += " (this store does not accept S3 flexible checksums: rerun with --checksum md5, or none)"
		}
		return fmt.Sprintf("%s: %s", ae.ErrorCode(), msg)
	}
	return err.Error()
}

// Describe renders err as one line for people: the failed operation, then
// the store's error code and message (or the network error), without the
// SDK's request ids. It never includes credentials or signatures: those are
// not part of any error the SDK returns.
func Describe(err error) string {
	if err == nil {
		return ""
	}
	var ue *UploadError
	if errors.As(err, &ue) {
		inner := describeInner(ue.Err)
		if ue.UploadID != "" {
			return fmt.Sprintf("%s (upload %s): %s", ue.Op, ue.UploadID, inner)
		}
		return ue.Op + ": " + inner
	}
	return describeInner(err)
}

func describeInner(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return describe(err)
	}
	if p := tlsProblem(err); p != "" {
		var ue *url.Error
		if errors.As(err, &ue) {
			if u, perr := url.Parse(ue.URL); perr == nil {
				return fmt.Sprintf("cannot connect to %s://%s: %s", u.Scheme, u.Host, p)
			}
		}
		return "cannot connect: " + p
	}
	if strings.Contains(err.Error(), "failed to retrieve credentials") {
		return "no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile)"
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		// "operation error S3: UploadPart, exceeded maximum number of
		// attempts, 3, https response error ..., dial tcp ...: refused"
		s := oe.Err.Error()
		if i := strings.LastIndex(s, ", "); i >= 0 && strings.Contains(s[i:], ":") {
			s = s[i+2:]
		}
		return s
	}
	return err.Error()
}
