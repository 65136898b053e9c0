package integration

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/s3up/s3up/integration/s3test"
)

// checksumCase is one --checksum value and what a successful upload with it
// must report and store.
type checksumCase struct {
	alg      string
	verified string // must appear in the result's "verified" field
	// newHash computes the algorithm independently of s3up (nil: the
	// object carries no flexible checksum).
	newHash func() hash.Hash
	// fullObject: the store's object checksum is the checksum of the
	// whole content (CRC64NVME), not a composite of the part checksums.
	fullObject bool
}

var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

var checksumCases = []checksumCase{
	{"crc32c", "CRC32C checksum", func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }, false},
	{"crc32", "CRC32 checksum", func() hash.Hash { return crc32.NewIEEE() }, false},
	{"crc64nvme", "CRC64NVME checksum", func() hash.Hash { return crc64.New(crc64NVME) }, true},
	{"sha256", "SHA256 checksum", sha256.New, false},
	{"sha1", "SHA1 checksum", sha1.New, false},
	{"md5", "multipart ETag", nil, false},
	{"none", "multipart ETag", nil, false},
}

// fileDigests returns, for a file cut into parts of partSize, the raw
// digest of every part under newHash, the raw digest of the whole file,
// and every part's MD5.
func fileDigests(t *testing.T, path string, partSize int64, newHash func() hash.Hash) (parts [][]byte, whole []byte, md5s [][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	var w hash.Hash
	if newHash != nil {
		w = newHash()
	}
	for off := int64(0); off < fi.Size(); off += partSize {
		sec := io.NewSectionReader(f, off, min(partSize, fi.Size()-off))
		m := md5.New()
		ws := []io.Writer{m}
		var p hash.Hash
		if newHash != nil {
			p = newHash()
			ws = append(ws, p, w)
		}
		if _, err := io.Copy(io.MultiWriter(ws...), sec); err != nil {
			t.Fatal(err)
		}
		md5s = append(md5s, m.Sum(nil))
		if p != nil {
			parts = append(parts, p.Sum(nil))
		}
	}
	if w != nil {
		whole = w.Sum(nil)
	}
	return parts, whole, md5s
}

// expectedChecksum is the object checksum an S3 store reports for a
// multipart upload with parts of partSize: the composite
// base64(H(h1‖…‖hN))-N, or for a full-object algorithm, or a file of one
// part (one PutObject), the checksum of the content.
func expectedChecksum(t *testing.T, c checksumCase, path string, partSize int64) string {
	t.Helper()
	parts, whole, _ := fileDigests(t, path, partSize, c.newHash)
	if c.fullObject || len(parts) == 1 {
		return base64.StdEncoding.EncodeToString(whole)
	}
	h := c.newHash()
	for _, p := range parts {
		h.Write(p)
	}
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(parts))
}

// expectedETag is the multipart ETag md5(md5(p1)‖…‖md5(pN))-N, or for a file
// of one part (one PutObject) its MD5.
func expectedETag(t *testing.T, path string, partSize int64) string {
	t.Helper()
	_, _, md5s := fileDigests(t, path, partSize, nil)
	if len(md5s) == 1 {
		return hex.EncodeToString(md5s[0])
	}
	h := md5.New()
	for _, m := range md5s {
		h.Write(m)
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(md5s))
}

// storedChecksum returns the object's checksum for alg as the server
// reports it on a HEAD with x-amz-checksum-mode: ENABLED, and the checksum
// type it reports (COMPOSITE, FULL_OBJECT or "").
func storedChecksum(t *testing.T, srv *s3test.Server, bucket, key, alg string) (sum, typ string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	oi, err := srv.Minio.StatObject(ctx, bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		t.Fatalf("stat s3://%s/%s: %v", bucket, key, err)
	}
	switch alg {
	case "crc32c":
		sum = oi.ChecksumCRC32C
	case "crc32":
		sum = oi.ChecksumCRC32
	case "crc64nvme":
		sum = oi.ChecksumCRC64NVME
	case "sha256":
		sum = oi.ChecksumSHA256
	case "sha1":
		sum = oi.ChecksumSHA1
	}
	return sum, oi.ChecksumMode
}

// sameSum compares checksums ignoring a "-N" part-count suffix, which some
// stores omit.
func sameSum(got, want string) bool {
	g, _, _ := strings.Cut(got, "-")
	w, _, _ := strings.Cut(want, "-")
	return g != "" && g == w
}

// TestChecksumAlgorithms uploads a multi-part and a one-part file with every
// --checksum value and proves the object byte-identical, the result's
// "verified" field honest, and the checksum stored where the server keeps
// one.
func TestChecksumAlgorithms(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		dir := t.TempDir()
		const partSize = 5 * MiB
		multi := s3test.MakeFile(t, dir, 3*partSize+12345, seed) // 3 parts of 5 MiB + a short one
		single := s3test.MakeFile(t, dir, 1*MiB+17, seed+1)
		for _, c := range checksumCases {
			t.Run(c.alg, func(t *testing.T) {
				for _, f := range []struct {
					name, path string
					parts      int
				}{{"multi", multi, 4}, {"single", single, 1}} {
					// A file below one part goes in one PutObject: its ETag is
					// its MD5, its checksum the content's.
					want := c.verified
					if f.parts == 1 && c.newHash == nil {
						want = "ETag (MD5)"
					}
					key := c.alg + "/" + f.name
					res := mustPut(t, srv, "--json", "--part-size", "5MiB", "--checksum", c.alg, f.path, "s3://"+bucket+"/"+key)
					r := findEvent(jsonEvents(t, res.Stdout), "result")
					if r == nil {
						t.Fatalf("no result event: %s", res)
					}
					srv.AssertObjectMatchesFile(t, bucket, key, f.path)
					verified, _ := r["verified"].(string)
					if !strings.Contains(verified, "size") || !strings.Contains(verified, want) {
						t.Fatalf("%s: verified %q, want size and %q", f.name, verified, want)
					}
					etag := strings.Trim(r["etag"].(string), `"`)
					if want := expectedETag(t, f.path, partSize); etag != want && strings.Contains(verified, "ETag") {
						t.Fatalf("%s: verified by ETag, but the ETag %s is not the file's %s", f.name, etag, want)
					}
					if c.newHash == nil {
						continue
					}
					want = expectedChecksum(t, c, f.path, partSize)
					got, typ := storedChecksum(t, srv, bucket, key, c.alg)
					t.Logf("%s: stored %s %q type %q, result checksum %v, want %s", f.name, c.alg, got, typ, r["checksum"], want)
					if !sameSum(got, want) {
						t.Fatalf("%s: server stored %s checksum %q (type %q), want %s", f.name, c.alg, got, typ, want)
					}
					if rc, _ := r["checksum"].(string); !sameSum(rc, want) {
						t.Fatalf("%s: result checksum %q, want %s", f.name, rc, want)
					}
				}
			})
		}
	})
}

// TestChecksumResume kills an upload with SIGKILL after two parts, for every
// --checksum value, and resumes it: the rerun must keep the parts the
// server holds, finish, and verify with the algorithm the upload started
// with.
func TestChecksumResume(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		seed := s3test.Seed(t)
		dir := t.TempDir()
		for _, c := range checksumCases {
			t.Run(c.alg, func(t *testing.T) {
				src := s3test.MakeFile(t, dir, 4*5*MiB+321, seed) // 4 parts of 5 MiB + a short one
				dst := "s3://" + bucket + "/resume/" + c.alg
				interruptAfter(t, srv.Env(), 2, "--part-size", "5MiB", "--checksum", c.alg, src, dst)
				res := mustPut(t, srv, "--json", "--checksum", c.alg, src, dst)
				evs := jsonEvents(t, res.Stdout)
				r := findEvent(evs, "result")
				if r == nil || r["resumed"] != true {
					t.Fatalf("did not resume: %s", res.Stdout)
				}
				if kept, _ := r["parts_kept"].(float64); kept < 2 {
					t.Fatalf("kept %v parts, want at least 2: %s", kept, res.Stdout)
				}
				if v, _ := r["verified"].(string); !strings.Contains(v, c.verified) {
					t.Fatalf("verified %q, want %q", v, c.verified)
				}
				srv.AssertObjectMatchesFile(t, bucket, "resume/"+c.alg, src)
				if sc := sidecars(t, srv, src); len(sc) != 0 {
					t.Fatalf("state left behind: %v", sc)
				}
				os.Remove(src)
			})
		}
	})
}
