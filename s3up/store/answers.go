package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// answer is how s3up treats one error code a store sends.
type answer struct {
	kind  error  // the kind Classify attaches
	retry bool   // the SDK's retryer sends the request again
	hint  string // what the user should do, appended by Describe ("" for none)
	hints []Hint // the settings it names, for programs that name them their own way (Hints)
}

// answers is the one table of store error codes: Classify and the retryer
// both read it, so a code cannot be transient in one and fatal in the other.
// Codes not listed fall back on the HTTP status (403: access; anything else:
// transient, after the SDK's own retry rules).
var answers = map[string]answer{
	"NoSuchBucket": {kind: ErrNoBucket, hint: "create the bucket first, or check its name and the endpoint", hints: []Hint{HintEndpoint}},

	"AccessDenied":                 {kind: ErrAccess, hint: accessHint, hints: []Hint{HintCredentials}},
	"AllAccessDisabled":            {kind: ErrAccess, hint: accessHint, hints: []Hint{HintCredentials}},
	"AccountProblem":               {kind: ErrAccess, hint: accessHint, hints: []Hint{HintCredentials}},
	"InvalidAccessKeyId":           {kind: ErrAccess, hint: "the access key is unknown to this store", hints: []Hint{HintAccessKey, HintEndpoint}},
	"SignatureDoesNotMatch":        {kind: ErrAccess, hint: "the secret key does not match the access key", hints: []Hint{HintSecretKey}},
	"InvalidToken":                 {kind: ErrAccess, hint: "the session token is not valid: renew the credentials"},
	"ExpiredToken":                 {kind: ErrAccess, hint: "the credentials expired: renew them (a new session token, aws sso login)"},
	"TokenRefreshRequired":         {kind: ErrAccess, hint: "the credentials expired: renew them (a new session token, aws sso login)"},
	"InvalidSecurity":              {kind: ErrAccess, hint: accessHint, hints: []Hint{HintCredentials}},
	"AuthorizationHeaderMalformed": {kind: ErrAccess, hint: "the region does not match the bucket's", hints: []Hint{HintRegion}},
	"XAdminUserNotFound":           {kind: ErrAccess, hint: "the access key is unknown to this store", hints: []Hint{HintAccessKey}}, // versitygw
	"RequestTimeTooSkewed":         {kind: ErrAccess, hint: "this machine's clock is too far from the store's: fix the clock (NTP)"},
	"KMS.DisabledException":        {kind: ErrAccess, hint: "the KMS key is disabled: enable it or choose another", hints: []Hint{HintKMSKey}},
	"KMS.NotFoundException":        {kind: ErrAccess, hint: "the KMS key does not exist", hints: []Hint{HintKMSKey}},
	"KMS.KMSInvalidStateException": {kind: ErrAccess, hint: "the KMS key cannot be used now: check its state"},

	"InvalidBucketName":                  {kind: ErrBadInput},
	"KeyTooLongError":                    {kind: ErrBadInput},
	"InvalidArgument":                    {kind: ErrBadInput},
	"InvalidRequest":                     {kind: ErrBadInput},
	"NotImplemented":                     {kind: ErrBadInput},
	"EntityTooLarge":                     {kind: ErrBadInput},
	"MetadataTooLarge":                   {kind: ErrBadInput},
	"InvalidStorageClass":                {kind: ErrBadInput, hint: "this store does not offer that storage class", hints: []Hint{HintStorageClass}},
	"InvalidEncryptionAlgorithmError":    {kind: ErrBadInput, hint: "the server-side encryption asked for is not known", hints: []Hint{HintSSE}},
	"PermanentRedirect":                  {kind: ErrBadInput, hint: "the bucket is in another region", hints: []Hint{HintRegion, HintEndpoint}},
	"AuthorizationQueryParametersError":  {kind: ErrBadInput},
	"IllegalLocationConstraintException": {kind: ErrBadInput, hint: "the bucket is in another region", hints: []Hint{HintRegion}},
	"ObjectLockConfigurationMissing":     {kind: ErrBadInput, hint: "the bucket has no Object Lock: a retention or legal hold needs a bucket created with Object Lock", hints: []Hint{HintObjectLock}},
	"InvalidRetentionPeriod":             {kind: ErrBadInput},
	"PreconditionFailed":                 {kind: ErrBadInput},

	// The bytes arrived changed (a flipped bit, a proxy): sending the part
	// again, re-read from the source, is the fix.
	"BadDigest":                   {kind: ErrTransient, retry: true},
	"XAmzContentSHA256Mismatch":   {kind: ErrTransient, retry: true},
	"XAmzContentChecksumMismatch": {kind: ErrTransient, retry: true}, // MinIO, flexible checksum
	"InvalidChecksum":             {kind: ErrTransient, retry: true},
	"InvalidDigest":               {kind: ErrTransient, retry: true}, // Garage: part checksum mismatch
	"PartETagMismatch":            {kind: ErrTransient, retry: true}, // s3up's own, see WithETagCheck
	"PartCRC64Mismatch":           {kind: ErrTransient, retry: true}, // s3up's own, see WithNativeCRC64Check
	"PartChecksumMismatch":        {kind: ErrTransient, retry: true}, // s3up's own, see WithAnswerChecksumCheck
	"IncompleteBody":              {kind: ErrTransient, retry: true},
	// The server failed with a code rather than a 5xx status.
	"InternalError":      {kind: ErrTransient, retry: true},
	"ServiceUnavailable": {kind: ErrTransient, retry: true},
	"SlowDown":           {kind: ErrTransient, retry: true},
	"RequestTimeout":     {kind: ErrTransient, retry: true},
	"OperationAborted":   {kind: ErrTransient, retry: true},
	// Complete refused the part list: the journal and the server drifted; a
	// rerun reconciles them and re-sends what is missing.
	"InvalidPart":      {kind: ErrTransient},
	"InvalidPartOrder": {kind: ErrTransient},
	"EntityTooSmall":   {kind: ErrTransient},
	"NoSuchUpload":     {kind: ErrTransient},
}

const accessHint = "check the credentials and the bucket policy"

// retryableCodes are the codes of answers the SDK must retry; its defaults
// cover throttling and 5xx statuses, not these.
func retryableCodes() map[string]struct{} {
	m := map[string]struct{}{}
	for code, a := range answers {
		if a.retry {
			m[code] = struct{}{}
		}
	}
	return m
}

// Code returns the S3 error code of err ("" if err is not an API error).
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// HTTPStatus returns the HTTP status of the answer behind err (0 if none).
func HTTPStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// UploadGone reports whether err says the multipart upload no longer exists
// (completed or aborted). certain is false for answers that only suggest it
// (NoSuchKey, or a bare 404 other than NoSuchBucket, which some gateways and
// proxies send for reasons of their own): the caller must confirm before it
// abandons the upload.
func UploadGone(err error) (gone, certain bool) {
	var nsu *types.NoSuchUpload
	if errors.As(err, &nsu) || Code(err) == "NoSuchUpload" {
		return true, true
	}
	if Code(err) == "NoSuchKey" || HTTPStatus(err) == http.StatusNotFound && Code(err) != "NoSuchBucket" {
		return true, false
	}
	return false, false
}

// IsNotFound reports whether err says an object does not exist.
func IsNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	switch Code(err) {
	case "NoSuchKey", "NotFound":
		return true
	case "NoSuchBucket":
		return false
	}
	return HTTPStatus(err) == http.StatusNotFound
}

// Classify wraps an SDK error with the kind the CLI needs, from the answers
// table. Cancellation is left as it is; an error that already carries a
// kind keeps it.
func Classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if KindOf(err) != nil {
		return err
	}
	var nb *types.NoSuchBucket
	if errors.As(err, &nb) {
		return WithKind(ErrNoBucket, err)
	}
	if a, ok := answers[Code(err)]; ok {
		return WithKind(a.kind, err)
	}
	var cerr interface{ CredentialsError() bool }
	if errors.As(err, &cerr) || noCredentials(err) {
		return WithKind(ErrAccess, err)
	}
	if HTTPStatus(err) == http.StatusForbidden {
		return WithKind(ErrAccess, err)
	}
	if tlsProblem(err) != "" {
		return WithKind(ErrBadInput, err)
	}
	return WithKind(ErrTransient, err)
}

func noCredentials(err error) bool {
	s := err.Error()
	return strings.Contains(s, "failed to retrieve credentials") || strings.Contains(s, "failed to refresh cached credentials")
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

// retryables are s3up's additions to the SDK's retry decisions: TLS
// failures that tlsProblem recognises are never retried (the SDK counts
// them as connection errors), and the table's retryable codes are.
func retryables(defaults []retry.IsErrorRetryable) []retry.IsErrorRetryable {
	noTLS := retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
		if tlsProblem(err) != "" {
			return aws.FalseTernary
		}
		return aws.UnknownTernary
	})
	out := append([]retry.IsErrorRetryable{noTLS}, defaults...)
	return append(out, retry.RetryableErrorCode{Codes: retryableCodes()})
}

// Describe renders err as one line for people: the failed operation, the
// store's error code and message (or the network error) without the SDK's
// request ids, and what to do about it when the answers table knows. It
// never includes credentials or signatures: those are not part of any error
// the SDK returns.
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
	var un *UnsupportedError
	if errors.As(err, &un) {
		return un.Error()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := ae.ErrorMessage()
		if msg == "" {
			msg = http.StatusText(HTTPStatus(err))
		}
		s := fmt.Sprintf("%s: %s", ae.ErrorCode(), msg)
		if h := answers[ae.ErrorCode()].hint; h != "" {
			s += " (" + h + ")"
		}
		return s
	}
	if noCredentials(err) {
		// Before the network: a credential chain that could not reach the
		// metadata service is a credentials problem, not the store's.
		return "no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile)"
	}
	if p, ok := Network(err); ok {
		return p.String()
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

// Kinds of network problems (NetProblem.Kind).
const (
	NetRefused     = "refused"     // nothing listens at the address
	NetDNS         = "dns"         // the host name does not resolve
	NetTLS         = "tls"         // the TLS handshake failed (certificate, a plain-HTTP server)
	NetTimeout     = "timeout"     // no answer in time, or a stalled connection
	NetUnreachable = "unreachable" // no route to the host or network
	NetReset       = "reset"       // the connection broke while in use
)

// NetProblem is a failure to reach the store, in plain words.
type NetProblem struct {
	Kind     string // Net*
	Endpoint string // scheme://host[:port] the request went to, without credentials, path or query; "" if unknown
	Proxy    string // the proxy's address, when the failure was reaching the proxy
	Cause    string // what happened: "connection refused", "the host name s3.example is not found (DNS)"
}

// String is the problem as one line: "cannot connect to
// http://127.0.0.1:1: connection refused".
func (p NetProblem) String() string {
	where := p.Endpoint
	if where == "" {
		where = "the store"
	}
	if p.Proxy != "" {
		where += " through the proxy " + p.Proxy
	}
	switch p.Kind {
	case NetTimeout:
		return "no answer from " + where + ": " + p.Cause
	case NetReset:
		return "the connection to " + where + " broke: " + p.Cause
	}
	return "cannot connect to " + where + ": " + p.Cause
}

// Network reports whether err is a failure to reach the store (refused,
// unknown host, TLS, timeout, unreachable, reset) and describes it. An
// answer of the store (an API error) is not one, nor is a cancellation or
// the caller's own deadline.
func Network(err error) (NetProblem, bool) {
	var ae smithy.APIError
	if err == nil || errors.As(err, &ae) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		noCredentials(err) { // the credential chain could not reach its source: no store was asked
		return NetProblem{}, false
	}
	p := NetProblem{}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			p.Endpoint = u.Scheme + "://" + u.Host // url.Parse keeps user-info out of Host
		}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "proxyconnect" {
		p.Proxy = "(HTTPS_PROXY / HTTP_PROXY)"
		var inner *net.OpError
		if errors.As(op.Err, &inner) && inner.Addr != nil {
			p.Proxy = inner.Addr.String()
		}
	}
	var dns *net.DNSError
	var ne net.Error
	switch {
	case tlsProblem(err) != "":
		p.Kind, p.Cause = NetTLS, tlsProblem(err)
	case errors.As(err, &dns):
		p.Kind = NetDNS
		if dns.IsNotFound {
			p.Cause = fmt.Sprintf("the host name %s is not found (DNS)", dns.Name)
		} else {
			p.Cause = fmt.Sprintf("the host name %s could not be looked up (DNS: %s)", dns.Name, dns.Err)
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		p.Kind, p.Cause = NetRefused, "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		p.Kind, p.Cause = NetUnreachable, "no route to the host"
	case errors.Is(err, syscall.ENETUNREACH):
		p.Kind, p.Cause = NetUnreachable, "the network is unreachable"
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		p.Kind, p.Cause = NetTimeout, "the connection timed out"
	case errors.Is(err, syscall.ECONNRESET):
		p.Kind, p.Cause = NetReset, "connection reset by the other end"
	case errors.Is(err, syscall.EPIPE):
		p.Kind, p.Cause = NetReset, "the other end closed the connection while the request was sent"
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		p.Kind, p.Cause = NetReset, "the other end closed the connection"
	case op != nil && op.Op == "remote error": // a TLS alert from the server
		p.Kind, p.Cause = NetTLS, "the TLS handshake failed ("+op.Err.Error()+")"
	default:
		return NetProblem{}, false
	}
	return p, true
}

// RetryCause is why an attempt failed, in a few words, for a retry notice:
// "connection refused", "503 SlowDown", "InternalError".
func RetryCause(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if st := HTTPStatus(err); st != 0 {
			return fmt.Sprintf("%d %s", st, ae.ErrorCode())
		}
		return ae.ErrorCode()
	}
	if p, ok := Network(err); ok {
		return p.Cause
	}
	if st := HTTPStatus(err); st != 0 {
		return fmt.Sprintf("%d %s", st, http.StatusText(st))
	}
	s := describeInner(err)
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
