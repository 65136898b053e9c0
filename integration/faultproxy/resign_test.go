package faultproxy

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAccess = "AKIDFAULTPROXYTEST"
	testSecret = "faultproxy-test-secret"
	testRegion = "us-east-1"
)

var testCreds = &Credentials{AccessKey: testAccess, SecretKey: testSecret}

// checkSigV4 verifies the SigV4 header signature of a request as a server
// received it, from the AWS documentation (sig-v4-header-based-auth), with
// nothing of the SDK's signer: the tests hold both the SDK's signatures and
// the proxy's re-signatures to it.
func checkSigV4(r *http.Request, secret string) error {
	auth := r.Header.Get("Authorization")
	const alg = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, alg) {
		return fmt.Errorf("no SigV4 Authorization: %q", auth)
	}
	fields := map[string]string{}
	for _, f := range strings.Split(auth[len(alg):], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 {
		return fmt.Errorf("credential %q", fields["Credential"])
	}
	scope := strings.Join(cred[1:], "/")
	signed := strings.Split(fields["SignedHeaders"], ";")
	var canon strings.Builder
	canon.WriteString(r.Method + "\n" + r.URL.EscapedPath() + "\n")

	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var qs []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			qs = append(qs, awsEscape(k)+"="+awsEscape(v))
		}
	}
	canon.WriteString(strings.Join(qs, "&") + "\n")
	for _, h := range signed {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = r.Header.Get("Content-Length")
			if v == "" {
				v = strconv.FormatInt(r.ContentLength, 10)
			}
		default:
			vals := r.Header.Values(h)
			if len(vals) == 0 {
				return fmt.Errorf("signed header %s is missing", h)
			}
			for i := range vals {
				vals[i] = strings.Join(strings.Fields(vals[i]), " ")
			}
			v = strings.Join(vals, ",")
		}
		canon.WriteString(h + ":" + v + "\n")
	}
	canon.WriteString("\n" + fields["SignedHeaders"] + "\n" + r.Header.Get("X-Amz-Content-Sha256"))
	sum := sha256.Sum256([]byte(canon.String()))
	toSign := alg[:len(alg)-1] + "\n" + r.Header.Get("X-Amz-Date") + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + secret)
	for _, s := range cred[1:] {
		key = hmacSHA256(key, s)
	}
	if got := hex.EncodeToString(hmacSHA256(key, toSign)); got != fields["Signature"] {
		return fmt.Errorf("signature %s, want %s (canonical request:\n%s)", fields["Signature"], got, canon.String())
	}
	return nil
}

func hmacSHA256(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// awsEscape is SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~.
func awsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// clientSign signs req as aws-sdk-go-v2's S3 client does.
func clientSign(t *testing.T, req *http.Request, payloadHash, secret string, when time.Time) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	err := s.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAccess, SecretAccessKey: secret},
		req, payloadHash, "s3", testRegion, when)
	if err != nil {
		t.Fatal(err)
	}
}

// asReceived is the request a server sees for the client request req.
func asReceived(t *testing.T, req *http.Request, body []byte) *http.Request {
	t.Helper()
	r := httptest.NewRequest(req.Method, req.URL.String(), bytes.NewReader(body))
	r.Host = req.URL.Host
	for k, v := range req.Header {
		r.Header[k] = append([]string(nil), v...)
	}
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return r
}

func TestResign(t *testing.T) {
	body := []byte("part bytes")
	when := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:8123/bucket/a%20b+c%2Bd/e?partNumber=3&uploadId=x%2Fy~z", bytes.NewReader(body))
	req.Header.Set("Content-Md5", "bm90IGNoZWNrZWQgaGVyZQ==")
	req.Header.Set("X-Amz-Checksum-Crc32c", "AAAAAA==")
	req.Header.Set("X-Amz-Sdk-Checksum-Algorithm", "CRC32C")
	req.Header.Set("Amz-Sdk-Invocation-Id", "42")
	req.Header.Set("Content-Type", "application/octet-stream")
	clientSign(t, req, shaHex(body), testSecret, when)

	r := asReceived(t, req, body)
	if err := checkSigV4(r, testSecret); err != nil {
		t.Fatalf("the verifier does not accept the SDK's own signature: %v", err)
	}
	clientAuth := r.Header.Get("Authorization")

	// What LaxChecksums and IgnoresMD5 do, together.
	r.Header.Del("X-Amz-Checksum-Crc32c")
	r.Header.Del("X-Amz-Sdk-Checksum-Algorithm")
	r.Header.Del("Content-Md5")
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := checkSigV4(r, testSecret); err == nil {
		t.Fatal("the changed request still verifies: the verifier checks nothing")
	}
	const proxySecret = "the-proxy's-own-secret"
	creds := &Credentials{AccessKey: testAccess, SecretKey: proxySecret}
	if err := creds.resign(r); err != nil {
		t.Fatal(err)
	}
	if err := checkSigV4(r, proxySecret); err != nil {
		t.Fatalf("re-signed request: %v", err)
	}
	if checkSigV4(r, testSecret) == nil {
		t.Fatal("re-signed with the client's secret, not Config.Credentials'")
	}
	if r.Host != "127.0.0.1:8123" || r.Header.Get("X-Amz-Date") != "20250304T050607Z" {
		t.Errorf("Host %q, X-Amz-Date %q: want the client's", r.Host, r.Header.Get("X-Amz-Date"))
	}
	signedOf := func(auth string) string {
		_, after, _ := strings.Cut(auth, "SignedHeaders=")
		list, _, _ := strings.Cut(after, ",")
		return list
	}
	want := strings.NewReplacer("content-md5;", "", "x-amz-checksum-crc32c;", "", "x-amz-sdk-checksum-algorithm", "").Replace(signedOf(clientAuth))
	if got := signedOf(r.Header.Get("Authorization")); strings.TrimSuffix(got, ";") != strings.TrimSuffix(want, ";") {
		t.Errorf("signed headers %q, want the client's less those removed: %q", got, want)
	}
	if !strings.Contains(r.Header.Get("Authorization"), "/20250304/us-east-1/s3/aws4_request") {
		t.Errorf("scope: %s", r.Header.Get("Authorization"))
	}

	// Another region, when configured.
	other := &Credentials{AccessKey: testAccess, SecretKey: proxySecret, Region: "eu-west-3"}
	if err := other.resign(r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Header.Get("Authorization"), "/eu-west-3/s3/") || checkSigV4(r, proxySecret) != nil {
		t.Errorf("region eu-west-3: %s", r.Header.Get("Authorization"))
	}
}

func TestResignStreams(t *testing.T) {
	for hash, ok := range map[string]bool{
		"STREAMING-UNSIGNED-PAYLOAD-TRAILER":         true,
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD":         false,
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": false,
		"UNSIGNED-PAYLOAD":                           true,
	} {
		req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:1/b/k?partNumber=1&uploadId=u", nil)
		clientSign(t, req, hash, testSecret, time.Now())
		r := asReceived(t, req, nil)
		err := testCreds.resign(r)
		if ok && (err != nil || checkSigV4(r, testSecret) != nil) {
			t.Errorf("%s: %v", hash, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), hash)) {
			t.Errorf("%s: re-signed (err %v); a signed-chunk stream cannot be", hash, err)
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	signed, region, err := parseAuthorization("AWS4-HMAC-SHA256 Credential=AK/20250101/eu-north-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
	if err != nil || region != "eu-north-1" || strings.Join(signed, ";") != "host;x-amz-date" {
		t.Fatalf("%v %q %v", signed, region, err)
	}
	for _, bad := range []string{
		"AWS AK:sig",
		"AWS4-HMAC-SHA256 Credential=AK/20250101/s3/aws4_request, SignedHeaders=host, Signature=00",
		"AWS4-HMAC-SHA256 Credential=AK/20250101/r/s3/aws4_request, Signature=00",
	} {
		if _, _, err := parseAuthorization(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	// An anonymous request has nothing to re-sign, and is left alone.
	r := httptest.NewRequest(http.MethodPut, "http://h/b/k", nil)
	if err := testCreds.resign(r); err != nil || r.Header.Get("Authorization") != "" {
		t.Fatalf("anonymous: %v %q", err, r.Header.Get("Authorization"))
	}
}
