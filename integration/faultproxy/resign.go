package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Credentials are the keys the proxy signs with when an emulation changes
// a request the client signed: the server's, as the client has them. They
// are used only for the requests an emulation changed.
type Credentials struct {
	AccessKey    string
	SecretKey    string
	SessionToken string // optional
	// Region is the signing region; "" takes the one in the client's own
	// signature, which the server already accepted.
	Region string
}

func (c *Credentials) usable() bool { return c != nil && c.AccessKey != "" && c.SecretKey != "" }

const amzDateFormat = "20060102T150405Z"

// signedStream reports whether hash names a body whose chunks are signed
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, -TRAILER, the ECDSA variants): each
// chunk signature chains from the seed signature, so the headers cannot be
// re-signed without re-signing the whole body. The unsigned-chunk stream
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER) has only the seed signature, over
// the headers, and can be.
func signedStream(hash string) bool {
	return strings.HasPrefix(hash, "STREAMING-") && hash != "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
}

// resign replaces the SigV4 Authorization of r, whose headers or body an
// emulation changed, by one with c over the same headers as the client
// signed (less those the emulation removed), the Host as received and the
// payload hash in r's x-amz-content-sha256. The client's signing time is
// kept, so the request is as fresh as the client made it.
func (c *Credentials) resign(r *http.Request) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return nil // anonymous: nothing was signed
	}
	signed, scopeRegion, err := parseAuthorization(auth)
	if err != nil {
		return err
	}
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		return errors.New("the request has no x-amz-content-sha256 to sign")
	}
	if signedStream(hash) {
		return fmt.Errorf("its body is a signed-chunk stream (%s): every chunk signature chains from the one the proxy would replace", hash)
	}
	when, err := time.Parse(amzDateFormat, r.Header.Get("X-Amz-Date"))
	if err != nil {
		when = time.Now().UTC()
	}
	region := c.Region
	if region == "" {
		region = scopeRegion
	}

	// A request of its own, holding only what the client signed, so that
	// the signer (which signs every header it is given) signs the same set.
	sr := &http.Request{
		Method:        r.Method,
		URL:           &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Host:          r.Host,
		Header:        http.Header{},
		ContentLength: r.ContentLength,
	}
	for _, h := range signed {
		switch h {
		case "host", "content-length", "authorization":
			continue // the signer takes Host and ContentLength from the request
		}
		if v := r.Header.Values(h); len(v) > 0 {
			sr.Header[textproto.CanonicalMIMEHeaderKey(h)] = v
		}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) {
		// S3 signs the path as sent, not escaped again; the client did so.
		o.DisableURIPathEscaping = true
	})
	creds := aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey, SessionToken: c.SessionToken}
	if err := signer.SignHTTP(context.Background(), creds, sr, hash, "s3", region, when); err != nil {
		return err
	}
	r.Header.Set("Authorization", sr.Header.Get("Authorization"))
	r.Header.Set("X-Amz-Date", sr.Header.Get("X-Amz-Date"))
	if c.SessionToken != "" {
		r.Header.Set("X-Amz-Security-Token", c.SessionToken)
	}
	return nil
}

// parseAuthorization returns the SignedHeaders and the credential scope's
// region of a SigV4 Authorization header.
func parseAuthorization(auth string) (signed []string, region string, err error) {
	const alg = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, alg) {
		return nil, "", fmt.Errorf("Authorization %q is not SigV4 (AWS4-HMAC-SHA256)", truncate(auth, 40))
	}
	for _, f := range strings.Split(auth[len(alg):], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Credential":
			// access-key/date/region/service/aws4_request
			parts := strings.Split(v, "/")
			if len(parts) != 5 {
				return nil, "", fmt.Errorf("Authorization credential %q is not key/date/region/service/aws4_request", v)
			}
			region = parts[2]
		case "SignedHeaders":
			signed = strings.Split(v, ";")
		}
	}
	if signed == nil || region == "" {
		return nil, "", fmt.Errorf("Authorization %q lacks Credential or SignedHeaders", truncate(auth, 80))
	}
	return signed, region, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
