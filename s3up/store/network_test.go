package store

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sdkNetErr wraps a dial or transport failure as the SDK returns it after
// its retries: operation error, attempts exhausted, send error, url.Error.
func sdkNetErr(rawURL string, err error) error {
	return &UploadError{Op: "create multipart upload", Err: &smithy.OperationError{ServiceID: "S3", OperationName: "CreateMultipartUpload",
		Err: &retry.MaxAttemptsError{Attempt: 10, Err: &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: rawURL, Err: err}}}}}
}

func dialErr(addr string, err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.ParseIP(addr), Port: 9000}, Err: err}
}

// TestNetworkProblems: every way of not reaching the store is named in
// plain words with the endpoint (scheme, host and port; never user-info,
// path or query) and none of the SDK's URL soup.
func TestNetworkProblems(t *testing.T) {
	const u = "http://user:secret@10.0.0.9:9000/bucket/key?uploads="
	for _, tc := range []struct {
		name string
		err  error
		kind string
		want string
	}{
		{"refused", sdkNetErr(u, dialErr("10.0.0.9", &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED})), NetRefused,
			"create multipart upload: cannot connect to http://10.0.0.9:9000: connection refused"},
		{"dns", sdkNetErr("https://nosuch.example/b/k", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nosuch.example", IsNotFound: true}}), NetDNS,
			"create multipart upload: cannot connect to https://nosuch.example: the host name nosuch.example is not found (DNS)"},
		{"dns-server", sdkNetErr("https://s3.example/b/k", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "server misbehaving", Name: "s3.example"}}), NetDNS,
			"cannot connect to https://s3.example: the host name s3.example could not be looked up (DNS: server misbehaving)"},
		{"tls", sdkNetErr("https://10.0.0.9:9000/b/k", x509.UnknownAuthorityError{}), NetTLS,
			"cannot connect to https://10.0.0.9:9000: its TLS certificate is signed by an unknown authority"},
		{"timeout", sdkNetErr(u, dialErr("10.0.0.9", os.ErrDeadlineExceeded)), NetTimeout,
			"no answer from http://10.0.0.9:9000: the connection timed out"},
		{"unreachable", sdkNetErr(u, dialErr("10.0.0.9", &os.SyscallError{Syscall: "connect", Err: syscall.EHOSTUNREACH})), NetUnreachable,
			"cannot connect to http://10.0.0.9:9000: no route to the host"},
		{"reset", sdkNetErr(u, &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}), NetReset,
			"the connection to http://10.0.0.9:9000 broke: connection reset by the other end"},
		{"eof", sdkNetErr(u, io.ErrUnexpectedEOF), NetReset, "the connection to http://10.0.0.9:9000 broke"},
		{"proxy", sdkNetErr(u, &net.OpError{Op: "proxyconnect", Net: "tcp", Err: dialErr("127.0.0.1", &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED})}), NetRefused,
			"cannot connect to http://10.0.0.9:9000 through the proxy 127.0.0.1:9000: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := Network(tc.err)
			if !ok || p.Kind != tc.kind {
				t.Fatalf("Network: %+v, %v; want kind %s", p, ok, tc.kind)
			}
			got := Describe(tc.err)
			if !strings.Contains(got, tc.want) {
				t.Errorf("Describe:\n got %q\nwant %q", got, tc.want)
			}
			for _, soup := range []string{"secret", "user:", "/bucket", "uploads=", "dial tcp", "Post \"", "operation error"} {
				if strings.Contains(got, soup) {
					t.Errorf("Describe %q shows %q", got, soup)
				}
			}
		})
	}
	// An answer of the store, a cancellation and a credentials problem are
	// not network problems.
	for _, err := range []error{apiErr(503, "SlowDown", "slow"), sdkNetErr(u, context.Canceled),
		fmt.Errorf("failed to refresh cached credentials, %w", dialErr("169.254.169.254", syscall.ECONNREFUSED))} {
		if p, ok := Network(err); ok {
			t.Errorf("%v: a network problem %+v", err, p)
		}
	}
	if got := RetryCause(apiErr(503, "SlowDown", "slow")); got != "503 SlowDown" {
		t.Errorf("RetryCause: %q", got)
	}
}
