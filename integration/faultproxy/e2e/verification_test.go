package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3up/s3up/integration/faultproxy"
	"github.com/s3up/s3up/integration/s3test"
)

// storeProxy starts a proxy emulating store in front of srv, with the
// server's keys to re-sign what the emulation changes.
func storeProxy(t *testing.T, srv *s3test.Server, seed uint64, store faultproxy.Store) *faultproxy.Proxy {
	t.Helper()
	return newProxy(t, srv, faultproxy.Config{
		Seed: seed, Store: store,
		Credentials: &faultproxy.Credentials{AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Region: srv.Region},
	})
}

// tlsFront is an HTTPS reverse proxy before the fault proxy, so that the
// SDK sends what it sends over HTTPS (aws-chunked bodies with a trailing
// checksum). It records the payload hash of every UploadPart.
type tlsFront struct {
	srv    *httptest.Server
	mu     sync.Mutex
	hashes []string
}

func newTLSFront(t *testing.T, target string) *tlsFront {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &tlsFront{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // the client signed the front's host
		},
		Transport: &http.Transport{Proxy: nil, DisableCompression: true},
	}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if faultproxy.IsUploadPart(r) {
			f.mu.Lock()
			f.hashes = append(f.hashes, r.Header.Get("X-Amz-Content-Sha256"))
			f.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *tlsFront) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hashes
	f.hashes = nil
	return h
}

// client is an SDK client of the front, over HTTPS.
func (f *tlsFront) client(srv *s3test.Server, calc aws.RequestChecksumCalculation) *s3.Client {
	c := newS3(srv, f.srv.URL, 1, calc)
	return s3.New(c.Options(), func(o *s3.Options) { o.HTTPClient = f.srv.Client() })
}

func md5Hex(b []byte) string    { s := md5.Sum(b); return hex.EncodeToString(s[:]) }
func md5B64(b []byte) string    { s := md5.Sum(b); return base64.StdEncoding.EncodeToString(s[:]) }
func crc32IEEE(b []byte) string { return b64BE(crc32.ChecksumIEEE(b)) }
func crc32C(b []byte) string    { return b64BE(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))) }
func b64BE(c uint32) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, c))
}

// multipartETag is the MD5-of-MD5s ETag S3 gives an object of parts.
func multipartETag(parts ...[]byte) string {
	var sums []byte
	for _, p := range parts {
		s := md5.Sum(p)
		sums = append(sums, s[:]...)
	}
	return `"` + md5Hex(sums) + "-" + strconv.Itoa(len(parts)) + `"`
}

// apiError returns err's S3 code, message and HTTP status, failing if err
// is not an S3 error answer.
func apiError(t *testing.T, err error) (code, msg string, status int) {
	t.Helper()
	var ae smithy.APIError
	var re *awshttp.ResponseError
	if !errors.As(err, &ae) || !errors.As(err, &re) {
		t.Fatalf("want an S3 error answer, got %v", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage(), re.HTTPStatusCode()
}

func wantError(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	gotCode, gotMsg, gotStatus := apiError(t, err)
	if gotStatus != status || gotCode != code || msg != "" && gotMsg != msg {
		t.Fatalf("got %d %s %q, want %d %s %q", gotStatus, gotCode, gotMsg, status, code, msg)
	}
}

var opaqueETag = regexp.MustCompile(`^"[0-9a-f]{32}"$`)

// noChecksums fails if any checksum field of an SDK output is set.
func noChecksums(t *testing.T, what string, fields ...*string) {
	t.Helper()
	for i, f := range fields {
		if f != nil && *f != "" {
			t.Errorf("%s shows checksum field %d = %q", what, i, *f)
		}
	}
}

func createUpload(t *testing.T, c *s3.Client, bucket, key string, alg types.ChecksumAlgorithm) *s3.CreateMultipartUploadOutput {
	t.Helper()
	out, err := c.CreateMultipartUpload(t.Context(), &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key, ChecksumAlgorithm: alg})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	return out
}

func uploadPart(ctx context.Context, c *s3.Client, bucket, key, id string, n int32, body []byte, edit func(*s3.UploadPartInput)) (*s3.UploadPartOutput, error) {
	in := &s3.UploadPartInput{
		Bucket: &bucket, Key: &key, UploadId: &id, PartNumber: &n,
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
	}
	if edit != nil {
		edit(in)
	}
	return c.UploadPart(ctx, in)
}

func complete(ctx context.Context, c *s3.Client, bucket, key, id string, parts ...types.CompletedPart) (*s3.CompleteMultipartUploadOutput, error) {
	return c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &bucket, Key: &key, UploadId: &id, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
}

func getObject(t *testing.T, c *s3.Client, bucket, key string) ([]byte, string) {
	t.Helper()
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, aws.ToString(out.ETag)
}

func TestLaxChecksums(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		seed := s3test.Seed(t)
		bucket := srv.NewBucket(t)
		p := storeProxy(t, srv, seed, faultproxy.LaxChecksums)
		c := newS3(srv, p.URL(), 1, aws.RequestChecksumCalculationWhenRequired)
		ctx := t.Context()
		part1, part2 := data(seed, 5<<20), data(seed+1, 1<<20+3)
		const key = "lax"

		// The upload asks for CRC32C: were that forwarded, the server
		// would refuse parts without it and a Complete without theirs.
		cr := createUpload(t, c, bucket, key, types.ChecksumAlgorithmCrc32c)
		noChecksums(t, "Create", (*string)(&cr.ChecksumAlgorithm), (*string)(&cr.ChecksumType))
		wrong := func(in *s3.UploadPartInput) {
			in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
			in.ChecksumCRC32C = aws.String("AAAAAA==")
		}
		o1, err := uploadPart(ctx, c, bucket, key, *cr.UploadId, 1, part1, wrong)
		if err != nil {
			t.Fatalf("UploadPart with a wrong CRC32C: %v", err)
		}
		noChecksums(t, "UploadPart", o1.ChecksumCRC32, o1.ChecksumCRC32C, o1.ChecksumCRC64NVME, o1.ChecksumSHA1, o1.ChecksumSHA256)
		if got := aws.ToString(o1.ETag); got != `"`+md5Hex(part1)+`"` {
			t.Errorf("part ETag %s, want the MD5 %s", got, md5Hex(part1))
		}

		// Content-MD5 still reaches the server, with the flexible checksum
		// (dropped): a right one passes, a wrong one is refused.
		_, err = uploadPart(ctx, c, bucket, key, *cr.UploadId, 2, part2, func(in *s3.UploadPartInput) {
			wrong(in)
			in.ContentMD5 = aws.String(md5B64(part1))
		})
		wantError(t, err, 400, "BadDigest", "")
		o2, err := uploadPart(ctx, c, bucket, key, *cr.UploadId, 2, part2, func(in *s3.UploadPartInput) {
			wrong(in)
			in.ContentMD5 = aws.String(md5B64(part2))
		})
		if err != nil {
			t.Fatalf("UploadPart with the right Content-MD5 and a wrong CRC32C: %v", err)
		}

		lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: cr.UploadId})
		if err != nil || len(lp.Parts) != 2 {
			t.Fatalf("ListParts: %v %+v", err, lp)
		}
		noChecksums(t, "ListParts", (*string)(&lp.ChecksumAlgorithm), (*string)(&lp.ChecksumType), lp.Parts[0].ChecksumCRC32C, lp.Parts[1].ChecksumCRC32C)

		out, err := complete(ctx, c, bucket, key, *cr.UploadId,
			types.CompletedPart{PartNumber: aws.Int32(1), ETag: o1.ETag, ChecksumCRC32C: aws.String("AAAAAA==")},
			types.CompletedPart{PartNumber: aws.Int32(2), ETag: o2.ETag, ChecksumCRC32C: aws.String("AAAAAA==")})
		if err != nil {
			t.Fatalf("Complete with wrong part checksums: %v", err)
		}
		noChecksums(t, "Complete", out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, (*string)(&out.ChecksumType))
		if aws.ToString(out.ETag) != multipartETag(part1, part2) {
			t.Errorf("object ETag %s, want %s", aws.ToString(out.ETag), multipartETag(part1, part2))
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		noChecksums(t, "HEAD", head.ChecksumCRC32, head.ChecksumCRC32C, head.ChecksumCRC64NVME, (*string)(&head.ChecksumType))
		if got, size, err := srv.ObjectSHA256(ctx, bucket, key); err != nil || got != sha(append(part1, part2...)) || size != int64(len(part1)+len(part2)) {
			t.Fatalf("object: %s %d %v", got, size, err)
		}

		// A PutObject with a wrong CRC32C, too.
		small := data(seed+2, 1000)
		po, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("lax-small"), Body: bytes.NewReader(small),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c, ChecksumCRC32C: aws.String("AAAAAA==")})
		if err != nil {
			t.Fatalf("PutObject with a wrong CRC32C: %v", err)
		}
		noChecksums(t, "PutObject", po.ChecksumCRC32, po.ChecksumCRC32C, (*string)(&po.ChecksumType))

		// Over HTTPS the SDK sends the checksum in an aws-chunked trailer:
		// the server gets the payload, and keeps no checksum.
		front := newTLSFront(t, p.URL())
		ct := front.client(srv, aws.RequestChecksumCalculationWhenSupported)
		cr2 := createUpload(t, ct, bucket, "lax-chunked", "")
		o3, err := uploadPart(ctx, ct, bucket, "lax-chunked", *cr2.UploadId, 1, part2, nil)
		if err != nil {
			t.Fatalf("aws-chunked UploadPart: %v", err)
		}
		if h := front.take(); len(h) != 1 || h[0] != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
			t.Fatalf("the SDK sent payload hashes %v, want one aws-chunked part", h)
		}
		noChecksums(t, "aws-chunked UploadPart", o3.ChecksumCRC32, o3.ChecksumCRC32C, o3.ChecksumCRC64NVME)
		if ps := srv.Parts(t, bucket, "lax-chunked", *cr2.UploadId); len(ps) != 1 || ps[0].Size != int64(len(part2)) || strings.Trim(ps[0].ETag, `"`) != md5Hex(part2) || ps[0].ChecksumCRC32 != "" || ps[0].ChecksumCRC32C != "" {
			t.Errorf("the server holds %+v", ps)
		}
		s := p.EmulationStats()
		t.Logf("emulation: %+v", s)
		if s.Resigned < 7 || s.Refused != 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestIgnoresMD5(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		seed := s3test.Seed(t)
		bucket := srv.NewBucket(t)
		p := storeProxy(t, srv, seed, faultproxy.IgnoresMD5)
		c := newS3(srv, p.URL(), 1, aws.RequestChecksumCalculationWhenRequired)
		ctx := t.Context()
		part := data(seed, 5<<20)
		cr := createUpload(t, c, bucket, "md5", "")
		o1, err := uploadPart(ctx, c, bucket, "md5", *cr.UploadId, 1, part, func(in *s3.UploadPartInput) { in.ContentMD5 = aws.String(md5B64([]byte("other"))) })
		if err != nil {
			t.Fatalf("UploadPart with a wrong Content-MD5: %v", err)
		}
		if aws.ToString(o1.ETag) != `"`+md5Hex(part)+`"` {
			t.Errorf("ETag %s", aws.ToString(o1.ETag))
		}
		// Flexible checksums are still the server's to check.
		_, err = uploadPart(ctx, c, bucket, "md5", *cr.UploadId, 2, part, func(in *s3.UploadPartInput) {
			in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
			in.ChecksumCRC32C = aws.String(crc32C([]byte("other")))
		})
		code, _, status := apiError(t, err)
		t.Logf("a wrong CRC32C: %d %s", status, code)
		if status != 400 {
			t.Errorf("a wrong CRC32C: status %d", status)
		}
		// The payload hash is not checked either: a part corrupted on its
		// way, signed with its SHA-256, is stored.
		p.FailNext(faultproxy.CorruptBody)
		o2, err := uploadPart(ctx, c, bucket, "md5", *cr.UploadId, 2, part, nil)
		if err != nil {
			t.Fatalf("corrupted signed part: %v", err)
		}
		if aws.ToString(o2.ETag) == `"`+md5Hex(part)+`"` {
			t.Error("the part was not corrupted")
		}
		if _, err := complete(ctx, c, bucket, "md5", *cr.UploadId, types.CompletedPart{PartNumber: aws.Int32(1), ETag: o1.ETag}); err != nil {
			t.Fatal(err)
		}
		if got, _, err := srv.ObjectSHA256(ctx, bucket, "md5"); err != nil || got != sha(part) {
			t.Fatalf("object: %s %v", got, err)
		}
		small := data(seed+1, 999)
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("md5-small"), Body: bytes.NewReader(small), ContentMD5: aws.String(md5B64(part))}); err != nil {
			t.Fatalf("PutObject with a wrong Content-MD5: %v", err)
		}
		if s := p.EmulationStats(); s.RequestsChanged < 4 || s.Resigned != s.RequestsChanged {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestChecksNothing(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		seed := s3test.Seed(t)
		bucket := srv.NewBucket(t)
		p := storeProxy(t, srv, seed, faultproxy.ChecksNothing)
		c := newS3(srv, p.URL(), 1, aws.RequestChecksumCalculationWhenRequired)
		ctx := t.Context()
		part := data(seed, 1<<20)
		cr := createUpload(t, c, bucket, "nothing", types.ChecksumAlgorithmCrc32c)
		o, err := uploadPart(ctx, c, bucket, "nothing", *cr.UploadId, 1, part, func(in *s3.UploadPartInput) {
			in.ContentMD5 = aws.String(md5B64([]byte("other")))
			in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
			in.ChecksumCRC32C = aws.String("AAAAAA==")
		})
		if err != nil {
			t.Fatalf("UploadPart with a wrong Content-MD5 and CRC32C: %v", err)
		}
		noChecksums(t, "UploadPart", o.ChecksumCRC32, o.ChecksumCRC32C)
		if aws.ToString(o.ETag) != `"`+md5Hex(part)+`"` {
			t.Errorf("ETag %s, want the MD5", aws.ToString(o.ETag))
		}
		if _, err := complete(ctx, c, bucket, "nothing", *cr.UploadId, types.CompletedPart{PartNumber: aws.Int32(1), ETag: o.ETag, ChecksumCRC32C: aws.String("AAAAAA==")}); err != nil {
			t.Fatal(err)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("nothing"), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		noChecksums(t, "HEAD", head.ChecksumCRC32, head.ChecksumCRC32C, (*string)(&head.ChecksumType))
		if aws.ToString(head.ETag) != multipartETag(part) {
			t.Errorf("object ETag %s, want %s", aws.ToString(head.ETag), multipartETag(part))
		}
		if got, _, err := srv.ObjectSHA256(ctx, bucket, "nothing"); err != nil || got != sha(part) {
			t.Fatalf("object: %s %v", got, err)
		}
	})
}

func TestBlind(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		seed := s3test.Seed(t)
		bucket := srv.NewBucket(t)
		p := storeProxy(t, srv, seed, faultproxy.Blind)
		c := newS3(srv, p.URL(), 1, aws.RequestChecksumCalculationWhenRequired)
		ctx := t.Context()
		part1, part2 := data(seed, 5<<20), data(seed+1, 77777)
		const key = "blind"
		cr := createUpload(t, c, bucket, key, types.ChecksumAlgorithmCrc32c)
		var etags []string
		for i, b := range [][]byte{part1, part2} {
			o, err := uploadPart(ctx, c, bucket, key, *cr.UploadId, int32(i+1), b, func(in *s3.UploadPartInput) {
				in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
				in.ChecksumCRC32C = aws.String(crc32C(b))
			})
			if err != nil {
				t.Fatalf("UploadPart %d: %v", i+1, err)
			}
			e := aws.ToString(o.ETag)
			if !opaqueETag.MatchString(e) || e == `"`+md5Hex(b)+`"` {
				t.Fatalf("part %d ETag %s (MD5 %s)", i+1, e, md5Hex(b))
			}
			noChecksums(t, "UploadPart", o.ChecksumCRC32, o.ChecksumCRC32C)
			etags = append(etags, e)
		}
		lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: cr.UploadId})
		if err != nil || len(lp.Parts) != 2 {
			t.Fatalf("ListParts: %v", err)
		}
		for i, pt := range lp.Parts {
			if aws.ToString(pt.ETag) != etags[i] || aws.ToInt64(pt.Size) != int64(len([][]byte{part1, part2}[i])) {
				t.Errorf("ListParts part %d: ETag %s size %d, UploadPart said %s", i+1, aws.ToString(pt.ETag), aws.ToInt64(pt.Size), etags[i])
			}
			noChecksums(t, "ListParts", pt.ChecksumCRC32C)
		}

		// The client's own MD5s are not this store's ETags.
		_, err = complete(ctx, c, bucket, key, *cr.UploadId,
			types.CompletedPart{PartNumber: aws.Int32(1), ETag: aws.String(`"` + md5Hex(part1) + `"`)},
			types.CompletedPart{PartNumber: aws.Int32(2), ETag: aws.String(`"` + md5Hex(part2) + `"`)})
		wantError(t, err, 400, "InvalidPart", "")

		out, err := complete(ctx, c, bucket, key, *cr.UploadId,
			types.CompletedPart{PartNumber: aws.Int32(1), ETag: &etags[0], ChecksumCRC32C: aws.String(crc32C(part1))},
			types.CompletedPart{PartNumber: aws.Int32(2), ETag: &etags[1], ChecksumCRC32C: aws.String(crc32C(part2))})
		if err != nil {
			t.Fatalf("Complete with the opaque ETags: %v", err)
		}
		objETag := aws.ToString(out.ETag)
		if !opaqueETag.MatchString(objETag) {
			t.Fatalf("object ETag %s", objETag)
		}
		noChecksums(t, "Complete", out.ChecksumCRC32, out.ChecksumCRC32C, (*string)(&out.ChecksumType))

		all := append(append([]byte(nil), part1...), part2...)
		got, getETag := getObject(t, c, bucket, key)
		if !bytes.Equal(got, all) || getETag != objETag {
			t.Fatalf("GetObject: %d bytes (sha %s, want %s), ETag %s (Complete said %s)", len(got), sha(got), sha(all), getETag, objETag)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil || aws.ToString(head.ETag) != objETag {
			t.Fatalf("HEAD: %v, ETag %s", err, aws.ToString(head.ETag))
		}
		noChecksums(t, "HEAD", head.ChecksumCRC32, head.ChecksumCRC32C, (*string)(&head.ChecksumType))

		small := data(seed+2, 4321)
		po, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("blind-small"), Body: bytes.NewReader(small)})
		if err != nil {
			t.Fatal(err)
		}
		if e := aws.ToString(po.ETag); !opaqueETag.MatchString(e) || e == `"`+md5Hex(small)+`"` {
			t.Errorf("PutObject ETag %s", e)
		}
		lo, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("blind")})
		if err != nil || len(lo.Contents) != 2 {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		for _, o := range lo.Contents {
			want := map[string]string{key: objETag, "blind-small": aws.ToString(po.ETag)}[aws.ToString(o.Key)]
			if aws.ToString(o.ETag) != want || len(o.ChecksumAlgorithm) != 0 {
				t.Errorf("ListObjectsV2 %s: ETag %s, want %s; algorithms %v", aws.ToString(o.Key), aws.ToString(o.ETag), want, o.ChecksumAlgorithm)
			}
		}
	})
}

func TestNoListParts(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		p := newProxy(t, srv, faultproxy.Config{Seed: s3test.Seed(t), Store: faultproxy.NoListParts})
		c := newS3(srv, p.URL(), 1, aws.RequestChecksumCalculationWhenRequired)
		cr := createUpload(t, c, bucket, "k", "")
		if _, err := uploadPart(t.Context(), c, bucket, "k", *cr.UploadId, 1, []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		_, err := c.ListParts(t.Context(), &s3.ListPartsInput{Bucket: &bucket, Key: aws.String("k"), UploadId: cr.UploadId})
		wantError(t, err, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		if ps := srv.Parts(t, bucket, "k", *cr.UploadId); len(ps) != 1 {
			t.Errorf("the server holds %d parts", len(ps))
		}
		if p.Refused() != 1 {
			t.Errorf("Refused %d", p.Refused())
		}
	})
}

func TestNoListUploads(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		p := newProxy(t, srv, faultproxy.Config{Seed: s3test.Seed(t), Store: faultproxy.NoListUploads})
		c := newS3(srv, p.URL(), 1, aws.RequestChecksumCalculationWhenRequired)
		createUpload(t, c, bucket, "k", "")
		_, err := c.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: &bucket, Prefix: aws.String("k")})
		wantError(t, err, 501, "NotImplemented", "A header you provided implies functionality that is not implemented")
		if len(srv.IncompleteUploads(t, bucket, "k")) != 1 {
			t.Error("the server does not hold the upload")
		}
	})
}

func TestUploadsNoSuchUpload(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		p := newProxy(t, srv, faultproxy.Config{Seed: s3test.Seed(t), Store: faultproxy.UploadsNoSuchUpload})
		c := newS3(srv, p.URL(), 1, aws.RequestChecksumCalculationWhenRequired)
		list := func() (*s3.ListMultipartUploadsOutput, error) {
			return c.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: &bucket, Prefix: aws.String("k")})
		}
		_, err := list()
		wantError(t, err, 404, "NoSuchUpload", "The specified multipart upload does not exist.")
		cr := createUpload(t, c, bucket, "k", "")
		out, err := list()
		if err != nil || len(out.Uploads) != 1 || aws.ToString(out.Uploads[0].UploadId) != *cr.UploadId {
			t.Fatalf("with an upload: %v %+v", err, out)
		}
	})
}

func TestNoPartReplace(t *testing.T) {
	for _, tc := range []struct {
		store  faultproxy.Store
		status int
		code   string
		msg    string
	}{
		{faultproxy.NoPartReplace, 501, "NotImplemented", "part 1 has already been streamed to the backend and cannot be replaced with different contents"},
		{faultproxy.NoPartReplaceOSS, 409, "PartAlreadyExist", "For sequential multipart upload, you can't overwrite uploaded parts."},
	} {
		t.Run(tc.store.String(), func(t *testing.T) {
			s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
				seed := s3test.Seed(t)
				bucket := srv.NewBucket(t)
				p := newProxy(t, srv, faultproxy.Config{Seed: seed, Store: tc.store})
				c := newS3(srv, p.URL(), 1, aws.RequestChecksumCalculationWhenRequired)
				ctx := t.Context()
				first, other := data(seed, 5<<20), data(seed+1, 5<<20)
				cr := createUpload(t, c, bucket, "k", "")
				o1, err := uploadPart(ctx, c, bucket, "k", *cr.UploadId, 1, first, nil)
				if err != nil {
					t.Fatal(err)
				}
				o2, err := uploadPart(ctx, c, bucket, "k", *cr.UploadId, 1, first, nil)
				if err != nil || aws.ToString(o2.ETag) != aws.ToString(o1.ETag) {
					t.Fatalf("the same part again: %v, ETag %s then %s", err, aws.ToString(o1.ETag), aws.ToString(o2.ETag))
				}
				_, err = uploadPart(ctx, c, bucket, "k", *cr.UploadId, 1, other, nil)
				wantError(t, err, tc.status, tc.code, tc.msg)
				_, err = uploadPart(ctx, c, bucket, "k", *cr.UploadId, 1, first[:len(first)-1], nil)
				wantError(t, err, tc.status, tc.code, tc.msg)
				if _, err := complete(ctx, c, bucket, "k", *cr.UploadId, types.CompletedPart{PartNumber: aws.Int32(1), ETag: o1.ETag}); err != nil {
					t.Fatal(err)
				}
				if got, _, err := srv.ObjectSHA256(ctx, bucket, "k"); err != nil || got != sha(first) {
					t.Fatalf("object: %s %v, want the first bytes", got, err)
				}
				if s := p.EmulationStats(); s.ReplacementsRefused != 2 || s.IdenticalReplacements != 1 || s.Refused != 2 {
					t.Errorf("stats %+v", s)
				}
			})
		})
	}
}

func TestCRC32ForCRC32C(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		seed := s3test.Seed(t)
		bucket := srv.NewBucket(t)
		p := storeProxy(t, srv, seed, faultproxy.CRC32ForCRC32C)
		c := newS3(srv, p.URL(), 1, aws.RequestChecksumCalculationWhenRequired)
		ctx := t.Context()
		parts := [][]byte{data(seed, 5<<20), data(seed+1, 12345)}
		const key = "crc"
		cr := createUpload(t, c, bucket, key, types.ChecksumAlgorithmCrc32c)
		if cr.ChecksumAlgorithm != types.ChecksumAlgorithmCrc32 {
			t.Errorf("Create answered algorithm %q, want CRC32", cr.ChecksumAlgorithm)
		}
		var done []types.CompletedPart
		var raw []byte
		for i, b := range parts {
			o, err := uploadPart(ctx, c, bucket, key, *cr.UploadId, int32(i+1), b, func(in *s3.UploadPartInput) {
				in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
				in.ChecksumCRC32C = aws.String(crc32C(b))
			})
			if err != nil {
				t.Fatalf("UploadPart %d: %v", i+1, err)
			}
			if got := aws.ToString(o.ChecksumCRC32); got != crc32IEEE(b) {
				t.Errorf("part %d: CRC32 %q, want the IEEE CRC32 %s", i+1, got, crc32IEEE(b))
			}
			noChecksums(t, "UploadPart", o.ChecksumCRC32C, o.ChecksumCRC64NVME, o.ChecksumSHA256)
			if aws.ToString(o.ETag) != `"`+md5Hex(b)+`"` {
				t.Errorf("part %d ETag %s", i+1, aws.ToString(o.ETag))
			}
			raw = binary.BigEndian.AppendUint32(raw, crc32.ChecksumIEEE(b))
			done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: o.ETag, ChecksumCRC32C: aws.String(crc32C(b))})
		}
		composite := b64BE(crc32.ChecksumIEEE(raw)) + "-2"

		lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: cr.UploadId})
		if err != nil || len(lp.Parts) != 2 {
			t.Fatalf("ListParts: %v", err)
		}
		for i, pt := range lp.Parts {
			if aws.ToString(pt.ChecksumCRC32) != crc32IEEE(parts[i]) || pt.ChecksumCRC32C != nil {
				t.Errorf("ListParts part %d: CRC32 %q CRC32C %v", i+1, aws.ToString(pt.ChecksumCRC32), pt.ChecksumCRC32C)
			}
		}
		if lp.ChecksumAlgorithm != types.ChecksumAlgorithmCrc32 {
			t.Errorf("ListParts algorithm %q", lp.ChecksumAlgorithm)
		}

		out, err := complete(ctx, c, bucket, key, *cr.UploadId, done...)
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ChecksumCRC32) != composite || out.ChecksumType != types.ChecksumTypeComposite {
			t.Errorf("Complete: CRC32 %q type %q, want %s COMPOSITE", aws.ToString(out.ChecksumCRC32), out.ChecksumType, composite)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(head.ChecksumCRC32) != composite || head.ChecksumType != types.ChecksumTypeComposite || head.ChecksumCRC32C != nil {
			t.Errorf("HEAD: CRC32 %q type %q CRC32C %v", aws.ToString(head.ChecksumCRC32), head.ChecksumType, head.ChecksumCRC32C)
		}
		if got, _, err := srv.ObjectSHA256(ctx, bucket, key); err != nil || got != sha(append(append([]byte(nil), parts[0]...), parts[1]...)) {
			t.Fatalf("object: %s %v", got, err)
		}

		small := data(seed+2, 3000)
		po, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("crc-small"), Body: bytes.NewReader(small),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c, ChecksumCRC32C: aws.String(crc32C(small))})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(po.ChecksumCRC32) != crc32IEEE(small) || po.ChecksumCRC32C != nil || po.ChecksumType != types.ChecksumTypeFullObject {
			t.Errorf("PutObject: CRC32 %q CRC32C %v type %q", aws.ToString(po.ChecksumCRC32), po.ChecksumCRC32C, po.ChecksumType)
		}
		head, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("crc-small"), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil || aws.ToString(head.ChecksumCRC32) != crc32IEEE(small) || head.ChecksumType != types.ChecksumTypeFullObject {
			t.Errorf("HEAD of the PutObject: %v CRC32 %q type %q", err, aws.ToString(head.ChecksumCRC32), head.ChecksumType)
		}
	})
}

func TestTrailerNoEcho(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		seed := s3test.Seed(t)
		bucket := srv.NewBucket(t)
		ctx := t.Context()
		part := data(seed, 1<<20+5)
		// Through the proxy as the server, then as the store: the server
		// echoes the trailer's checksum, the store does not.
		for _, store := range []faultproxy.Store{faultproxy.AsServer, faultproxy.TrailerNoEcho} {
			p := newProxy(t, srv, faultproxy.Config{Seed: seed, Store: store})
			front := newTLSFront(t, p.URL())
			c := front.client(srv, aws.RequestChecksumCalculationWhenSupported)
			key := "echo-" + store.String()
			cr := createUpload(t, c, bucket, key, "")
			o, err := uploadPart(ctx, c, bucket, key, *cr.UploadId, 1, part, nil)
			if err != nil {
				t.Fatalf("%s: aws-chunked UploadPart: %v", store, err)
			}
			if h := front.take(); len(h) != 1 || h[0] != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
				t.Fatalf("%s: the SDK sent payload hashes %v, want one aws-chunked part", store, h)
			}
			got := aws.ToString(o.ChecksumCRC32)
			switch {
			case store == faultproxy.AsServer && got != crc32IEEE(part):
				t.Fatalf("the server answered CRC32 %q to the trailer, want %s: the emulation would test nothing", got, crc32IEEE(part))
			case store == faultproxy.TrailerNoEcho:
				noChecksums(t, "aws-chunked UploadPart", o.ChecksumCRC32, o.ChecksumCRC32C, o.ChecksumCRC64NVME)
				// The trailer is still the server's to check: the payload is
				// unsigned, so only the trailer can catch a flipped bit (or,
				// rarely, the framing, if the bit lands there).
				p.FailNext(faultproxy.CorruptBody)
				if _, err := uploadPart(ctx, c, bucket, key, *cr.UploadId, 3, part, nil); err == nil {
					t.Error("a corrupted aws-chunked part was accepted: the trailer is not checked")
				} else {
					t.Logf("a corrupted aws-chunked part: %v", err)
				}
				front.take()
			}
			if store != faultproxy.TrailerNoEcho {
				continue
			}
			o2, err := uploadPart(ctx, c, bucket, key, *cr.UploadId, 2, part, func(in *s3.UploadPartInput) {
				in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
				in.ChecksumCRC32 = aws.String(crc32IEEE(part))
			})
			if err != nil {
				t.Fatalf("header-checksum UploadPart: %v", err)
			}
			if h := front.take(); len(h) != 1 || strings.HasPrefix(h[0], "STREAMING-") {
				t.Fatalf("the part with a precomputed checksum went %v", h)
			}
			if aws.ToString(o2.ChecksumCRC32) != crc32IEEE(part) {
				t.Errorf("header-checksum part answered CRC32 %q, want %s", aws.ToString(o2.ChecksumCRC32), crc32IEEE(part))
			}
			if s := p.EmulationStats(); s.AnswersChanged != 1 || s.RequestsChanged != 0 {
				t.Errorf("stats %+v: want the one aws-chunked part answered changed", s)
			}
		}
	})
}
