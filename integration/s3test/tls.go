package s3test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeTLSFiles generates a self-signed ECDSA CA and a server certificate for
// 127.0.0.1, ::1 and localhost signed by it, and writes them into dir using
// MinIO's certs-dir layout: public.crt, private.key and CAs/ca.crt.
func writeTLSFiles(dir string) (*tlsFiles, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          randSerial(),
		Subject:               pkix.Name{Organization: []string{"s3up tests"}, CommonName: "s3up test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randSerial(),
		Subject:      pkix.Name{Organization: []string{"s3up tests"}, CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	tf := &tlsFiles{
		caFile:   filepath.Join(dir, "CAs", "ca.crt"),
		certFile: filepath.Join(dir, "public.crt"),
		keyFile:  filepath.Join(dir, "private.key"),
	}
	if err := os.MkdirAll(filepath.Dir(tf.caFile), 0o755); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		path, typ string
		der       []byte
		mode      os.FileMode
	}{
		{tf.caFile, "CERTIFICATE", caDER, 0o644},
		{tf.certFile, "CERTIFICATE", der, 0o644},
		{tf.keyFile, "PRIVATE KEY", keyDER, 0o600},
	} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), f.mode); err != nil {
			return nil, err
		}
	}
	return tf, nil
}

func randSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	return n
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// StartTLS starts an extra server of the given kind (one of Kinds) serving
// HTTPS with a freshly generated self-signed CA (ECDSA P-256; the
// server certificate has SANs 127.0.0.1, ::1 and localhost). The CA's PEM is
// in the returned server's CACertFile. The server is stopped via t.Cleanup.
//
// If the server binary cannot be obtained, the test is skipped, unless
// S3UP_TEST_DISALLOW_SKIP=1, in which case it fails; a server that fails to
// start is treated the same way.
func StartTLS(t testing.TB, kind string) *Server {
	t.Helper()
	if _, ok := binaries[kind]; !ok {
		t.Fatalf("s3test.StartTLS: unknown server kind %q (want one of %s)", kind, knownKinds())
	}
	srv, err := startServer(kind, true)
	if err != nil {
		msg := fmt.Sprintf("s3test.StartTLS(%s): %v", kind, err)
		if disallowSkip() {
			t.Fatalf("%s\n(S3UP_TEST_DISALLOW_SKIP=1: a server that cannot start fails the run)", msg)
		}
		t.Skipf("%s\n(skipping; set S3UP_TEST_DISALLOW_SKIP=1 to fail instead)", msg)
	}
	t.Cleanup(srv.Stop)
	t.Logf("started %s (TLS) at %s in %s (CA %s)", kind, srv.Endpoint, srv.StartupTime.Round(time.Millisecond), srv.CACertFile)
	return srv
}
