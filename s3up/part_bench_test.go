package s3up

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// BenchmarkUploadPart is the whole per-part data path of the engine
// (uploadPart: the reads of the file, the checksum, the request through
// the SDK and the HTTP transport) for a 16 MiB part of a file in the page
// cache, sent to a loopback server that reads the body and answers with the
// checksum it was given (trailer or header). The server shares the process,
// so ns/op includes its read of the body, the same in every case:
//
//	https/trailer  the default over HTTPS: one read, the checksum computed on the way
//	https/header   --trailer-checksum=false: a hashing read, then the send
//	http/header    the default over plain HTTP: a hashing read, then sendfile(2)
//	http/copy      the same with a bandwidth limit (no limit in effect), which copies
//
//	go test ./s3up -run '^$' -bench UploadPart -benchtime 20x
func BenchmarkUploadPart(b *testing.B) {
	const size = 16 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*31 + i>>13)
	}
	path := filepath.Join(b.TempDir(), "part")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tail bytes.Buffer
		buf := make([]byte, 256<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				tail.Write(buf[max(0, n-128):n])
				if tail.Len() > 256 {
					tail.Next(tail.Len() - 256)
				}
			}
			if err != nil {
				break
			}
		}
		sum := r.Header.Get("X-Amz-Checksum-Crc32c")
		if r.Header.Get("X-Amz-Trailer") != "" {
			s := tail.String()
			i := strings.LastIndex(s, "x-amz-checksum-crc32c:")
			sum = strings.TrimSpace(s[i+len("x-amz-checksum-crc32c:"):])
		}
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		w.Header().Set("X-Amz-Checksum-Crc32c", sum)
	})
	plan, _ := PlanParts(size, size, true)
	for _, tc := range []struct {
		name       string
		tls, limit bool
	}{{"https/trailer", true, false}, {"https/header", true, false}, {"http/header", false, false}, {"http/copy", false, true}} {
		b.Run(tc.name, func(b *testing.B) {
			var srv *httptest.Server
			if tc.tls {
				srv = httptest.NewTLSServer(handler)
			} else {
				srv = httptest.NewServer(handler)
			}
			defer srv.Close()
			b.Setenv("AWS_ACCESS_KEY_ID", "k")
			b.Setenv("AWS_SECRET_ACCESS_KEY", "s")
			b.Setenv("AWS_CONFIG_FILE", "/nonexistent")
			b.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
			c, err := store.NewClient(context.Background(), store.ClientConfig{Endpoint: srv.URL, Region: "us-east-1"})
			if err != nil {
				b.Fatal(err)
			}
			if tc.tls {
				// The test server's own CA, in the SDK's client.
				api := c.API.(*s3.Client)
				c.API = s3.New(api.Options(), func(o *s3.Options) {
					o.HTTPClient = srv.Client()
					o.Credentials = credentials.NewStaticCredentialsProvider("k", "s", "")
				})
			}
			opts := Options{HeaderChecksum: tc.name == "https/header"}.withDefaults()
			if tc.limit {
				opts.BandwidthLimit = 1 << 40
			}
			u := mustUploader(b, c, opts)
			s := &session{u: u, opts: opts, ev: newEmitter(nil, Ref{}), res: &Result{},
				dest: resume.Destination{Endpoint: srv.URL, Bucket: "b", Key: "k"}, uploadID: "u",
				data: fileParts{src: f, plan: plan}, w: newWire(opts, checksum.CRC32C, tc.tls),
				parts: map[int32]resume.Part{}}
			if s.useTrailer() != (tc.name == "https/trailer") {
				b.Fatalf("trailer %v", s.useTrailer())
			}
			b.SetBytes(size)
			for b.Loop() {
				p, err := s.uploadPart(context.Background(), 1)
				if err != nil || p.Checksum == "" {
					b.Fatal(p, err)
				}
			}
		})
	}
}
