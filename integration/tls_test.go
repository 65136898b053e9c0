package integration

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/s3up/s3up/integration/faultproxy"
	"github.com/s3up/s3up/integration/s3test"
)

// systemBundle is the CA bundle this workplace's machines point
// AWS_CA_BUNDLE at.
const systemBundle = "/etc/ssl/certs/ca-certificates.crt"

// TestTLS uploads to every selected server serving HTTPS with a test CA: with
// AWS_CA_BUNDLE naming the CA the upload works; without it, or with the
// system bundle that does not hold the CA, s3up stops at once with exit 2
// (nothing was sent; rerunning unchanged cannot help) and one line saying
// the certificate is not trusted and how to fix it.
func TestTLS(t *testing.T) {
	for _, kind := range tlsKinds(t) {
		t.Run(kind, func(t *testing.T) {
			srv := s3test.StartTLS(t, kind)
			bucket := srv.NewBucket(t)
			seed := s3test.Seed(t)
			src := s3test.MakeFile(t, t.TempDir(), 5*MiB+999, seed)

			t.Run("with-ca", func(t *testing.T) {
				res := mustPut(t, srv, "--json", "--part-size", "5MiB", src, "s3://"+bucket+"/tls.bin")
				srv.AssertObjectMatchesFile(t, bucket, "tls.bin", src)
				r := findEvent(jsonEvents(t, res.Stdout), "result")
				if v, _ := r["verified"].(string); !strings.Contains(v, "CRC32C checksum") {
					t.Fatalf("verified %q", v)
				}
			})

			noCA := map[string][]string{
				"no-ca-bundle":     {"AWS_CA_BUNDLE="},
				"system-ca-bundle": {"AWS_CA_BUNDLE=" + systemBundle},
			}
			for name, extra := range noCA {
				t.Run(name, func(t *testing.T) {
					if strings.HasSuffix(extra[0], systemBundle) {
						if _, err := os.Stat(systemBundle); err != nil {
							t.Skipf("no system bundle here: %v", err)
						}
					}
					env := withoutEnv(srv.Env(), "AWS_CA_BUNDLE")
					if extra[0] != "AWS_CA_BUNDLE=" {
						env = append(env, extra...)
					}
					key := "untrusted-" + name
					res := s3test.RunCLI(t, t.Context(), env, "put", src, "s3://"+bucket+"/"+key)
					if res.ExitCode != 2 {
						t.Fatalf("untrusted certificate: exit %d, want 2: %s", res.ExitCode, res)
					}
					oneErrorLine(t, res, "certificate")
					oneErrorLine(t, res, "AWS_CA_BUNDLE")
					if srv.ObjectExists(t, bucket, key) {
						t.Fatal("an object was created")
					}
					// The lock file may stay (the engine leaves it when
					// CreateMultipartUpload fails); resume state must not.
					for _, sc := range sidecars(t, srv, src) {
						if !strings.HasSuffix(sc, ".lock") {
							t.Fatalf("resume state left behind although nothing was sent: %s", sc)
						}
					}
				})
			}
		})
	}
}

// withoutEnv drops the variable name from env.
func withoutEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// TestCABundleWithPlainHTTP: AWS_CA_BUNDLE set to a real bundle (as on this
// workplace's machines) must not break uploads to plain-HTTP endpoints.
func TestCABundleWithPlainHTTP(t *testing.T) {
	if _, err := os.Stat(systemBundle); err != nil {
		t.Skipf("no system bundle here: %v", err)
	}
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		src := s3test.MakeFile(t, t.TempDir(), 6*MiB, s3test.Seed(t))
		env := append(srv.Env(), "AWS_CA_BUNDLE="+systemBundle)
		res := s3test.RunCLI(t, t.Context(), env, "put", "--part-size", "5MiB", src, "s3://"+bucket+"/plain.bin")
		if res.ExitCode != 0 {
			t.Fatalf("AWS_CA_BUNDLE=%s with %s: %s", systemBundle, srv.Endpoint, res)
		}
		srv.AssertObjectMatchesFile(t, bucket, "plain.bin", src)
	})
}

// payloadRecorder is a reverse proxy, HTTP or HTTPS, that records the
// x-amz-content-sha256 header of every UploadPart and forwards requests
// unchanged (Host included, so SigV4 signatures stay valid).
type payloadRecorder struct {
	srv    *httptest.Server
	caFile string // PEM of the HTTPS server's certificate, "" for HTTP
	mu     sync.Mutex
	hashes []string
}

func newPayloadRecorder(t *testing.T, target string, tls bool) *payloadRecorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &payloadRecorder{}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host
	}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if faultproxy.IsUploadPart(r) {
			rec.mu.Lock()
			rec.hashes = append(rec.hashes, r.Header.Get("X-Amz-Content-Sha256"))
			rec.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	})
	if !tls {
		rec.srv = httptest.NewServer(h)
	} else {
		rec.srv = httptest.NewTLSServer(h)
		rec.caFile = filepath.Join(t.TempDir(), "recorder-ca.pem")
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rec.srv.Certificate().Raw})
		if err := os.WriteFile(rec.caFile, pemBytes, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *payloadRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.hashes
	r.hashes = nil
	return h
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TestPayloadSigningOnTheWire records what s3up puts in
// x-amz-content-sha256 for its parts. --payload auto sends UNSIGNED-PAYLOAD
// when the part carries a checksum (the server checks the bytes against
// it) and over HTTPS; only a part without a checksum over plain HTTP gets a
// signed SHA-256. signed and unsigned do what they say, on either. Over
// HTTPS an unsigned part with a checksum goes aws-chunked, the checksum in
// a trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
func TestPayloadSigningOnTheWire(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		src := s3test.MakeFile(t, t.TempDir(), 5*MiB+1, s3test.Seed(t)) // two parts
		for _, tls := range []bool{false, true} {
			rec := newPayloadRecorder(t, srv.Endpoint, tls)
			env := append(srv.Env(), "AWS_ENDPOINT_URL_S3="+rec.srv.URL)
			scheme := "http"
			if tls {
				env = append(env, "AWS_CA_BUNDLE="+rec.caFile)
				scheme = "https"
			}
			for _, payload := range []string{"auto", "signed", "unsigned"} {
				for _, checksum := range []string{"crc32c", "none"} {
					name := scheme + "-" + payload + "-" + checksum
					t.Run(name, func(t *testing.T) {
						res := s3test.RunCLI(t, t.Context(), env, "put", "--part-size", "5MiB",
							"--payload", payload, "--checksum", checksum, src, "s3://"+bucket+"/"+name)
						if res.ExitCode != 0 {
							t.Fatalf("%s: %s", name, res)
						}
						srv.AssertObjectMatchesFile(t, bucket, name, src)
						hashes := rec.take()
						if len(hashes) != 2 {
							t.Fatalf("recorded %d UploadPart requests, want 2", len(hashes))
						}
						wantSigned := payload == "signed" || payload == "auto" && !tls && checksum == "none"
						unsigned := "UNSIGNED-PAYLOAD"
						if tls && checksum != "none" {
							unsigned = "STREAMING-UNSIGNED-PAYLOAD-TRAILER" // the checksum follows the bytes
						}
						for _, h := range hashes {
							if signed := hexSHA256.MatchString(h); signed != wantSigned || !signed && h != unsigned {
								t.Fatalf("x-amz-content-sha256 %q; want signed=%v (%s)", h, wantSigned, unsigned)
							}
						}
					})
				}
			}
			if tls {
				// Asked for, the checksum is computed first and sent in a
				// header, over HTTPS too.
				t.Run("https-header-checksum", func(t *testing.T) {
					res := s3test.RunCLI(t, t.Context(), env, "put", "--part-size", "5MiB", "--trailer-checksum=false",
						src, "s3://"+bucket+"/header")
					if res.ExitCode != 0 {
						t.Fatalf("%s", res)
					}
					srv.AssertObjectMatchesFile(t, bucket, "header", src)
					hashes := rec.take()
					if len(hashes) != 2 {
						t.Fatalf("recorded %d UploadPart requests, want 2", len(hashes))
					}
					for _, h := range hashes {
						if h != "UNSIGNED-PAYLOAD" {
							t.Fatalf("x-amz-content-sha256 %q, want UNSIGNED-PAYLOAD", h)
						}
					}
				})
			}
		}
	})
}
