package s3fake_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/s3up/s3fake"
)

// Independent implementations of S3's checksums, for comparison.

func crc32cOf(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

func crc64nvmeOf(b []byte) uint64 { return crc64.Checksum(b, crc64.MakeTable(0x9a6c9329ac4bc9b5)) }

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// rawSum is the raw big-endian digest of b with alg.
func rawSum(alg types.ChecksumAlgorithm, b []byte) []byte {
	var h hash.Hash
	switch alg {
	case types.ChecksumAlgorithmCrc32:
		return be32(crc32.ChecksumIEEE(b))
	case types.ChecksumAlgorithmCrc32c:
		return be32(crc32cOf(b))
	case types.ChecksumAlgorithmCrc64nvme:
		return be64(crc64nvmeOf(b))
	case types.ChecksumAlgorithmSha1:
		h = sha1.New()
	case types.ChecksumAlgorithmSha256:
		h = sha256.New()
	}
	h.Write(b)
	return h.Sum(nil)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

var algs = []types.ChecksumAlgorithm{
	types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme,
	types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256,
}

// setSum sets the checksum field of alg on an SDK struct.
func setSum(alg types.ChecksumAlgorithm, v string, crc32, crc32c, crc64 **string, sha1, sha256 **string) {
	switch alg {
	case types.ChecksumAlgorithmCrc32:
		*crc32 = &v
	case types.ChecksumAlgorithmCrc32c:
		*crc32c = &v
	case types.ChecksumAlgorithmCrc64nvme:
		*crc64 = &v
	case types.ChecksumAlgorithmSha1:
		*sha1 = &v
	case types.ChecksumAlgorithmSha256:
		*sha256 = &v
	}
}

func pick(alg types.ChecksumAlgorithm, crc32, crc32c, crc64, sha1, sha256 *string) string {
	switch alg {
	case types.ChecksumAlgorithmCrc32:
		return aws.ToString(crc32)
	case types.ChecksumAlgorithmCrc32c:
		return aws.ToString(crc32c)
	case types.ChecksumAlgorithmCrc64nvme:
		return aws.ToString(crc64)
	case types.ChecksumAlgorithmSha1:
		return aws.ToString(sha1)
	case types.ChecksumAlgorithmSha256:
		return aws.ToString(sha256)
	}
	return ""
}

func putInputWithSum(key string, data []byte, alg types.ChecksumAlgorithm, v string) *s3.PutObjectInput {
	in := &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String(key), Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data)))}
	setSum(alg, v, &in.ChecksumCRC32, &in.ChecksumCRC32C, &in.ChecksumCRC64NVME, &in.ChecksumSHA1, &in.ChecksumSHA256)
	return in
}

// The check values of the CRC catalogue pin the polynomials.
func TestCRCCheckValues(t *testing.T) {
	f := newFake(t)
	check := []byte("123456789")
	for alg, want := range map[types.ChecksumAlgorithm][]byte{
		types.ChecksumAlgorithmCrc32:     be32(0xCBF43926),
		types.ChecksumAlgorithmCrc32c:    be32(0xE3069283),
		types.ChecksumAlgorithmCrc64nvme: be64(0xAE8B14860A799888),
	} {
		out := must(f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("check"),
			Body: bytes.NewReader(check), ChecksumAlgorithm: alg})).ok(t)
		got := pick(alg, out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256)
		if got != b64(want) {
			t.Errorf("%s of 123456789: %s, want %s", alg, got, b64(want))
		}
	}
}

func TestPutObjectChecksums(t *testing.T) {
	data := payload(1, 1000)
	for _, alg := range algs {
		t.Run(string(alg), func(t *testing.T) {
			f := newFake(t)
			sum := b64(rawSum(alg, data))
			out := must(f.PutObject(ctx, putInputWithSum("k", data, alg, sum))).ok(t)
			if got := pick(alg, out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256); got != sum {
				t.Errorf("PutObject answered %q, want %q", got, sum)
			}
			if out.ChecksumType != types.ChecksumTypeFullObject {
				t.Errorf("PutObject checksum type %q", out.ChecksumType)
			}
			head := must(f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("k")})).ok(t)
			if head.ChecksumCRC32 != nil || head.ChecksumCRC32C != nil || head.ChecksumCRC64NVME != nil ||
				head.ChecksumSHA1 != nil || head.ChecksumSHA256 != nil || head.ChecksumType != "" {
				t.Error("HeadObject without ChecksumMode shows a checksum")
			}
			head = must(f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"),
				ChecksumMode: types.ChecksumModeEnabled})).ok(t)
			if got := pick(alg, head.ChecksumCRC32, head.ChecksumCRC32C, head.ChecksumCRC64NVME, head.ChecksumSHA1, head.ChecksumSHA256); got != sum {
				t.Errorf("HeadObject answered %q, want %q", got, sum)
			}
			if head.ChecksumType != types.ChecksumTypeFullObject {
				t.Errorf("HeadObject checksum type %q", head.ChecksumType)
			}

			// A wrong value is refused and nothing is stored.
			wrong := b64(rawSum(alg, []byte("other")))
			_, err := f.PutObject(ctx, putInputWithSum("k2", data, alg, wrong))
			wantErr(t, err, "PutObject", 400, "XAmzContentChecksumMismatch")
			// A malformed value is InvalidRequest.
			_, err = f.PutObject(ctx, putInputWithSum("k2", data, alg, "not base64!"))
			wantErr(t, err, "PutObject", 400, "InvalidRequest")
			_, err = f.PutObject(ctx, putInputWithSum("k2", data, alg, b64([]byte{1})))
			wantErr(t, err, "PutObject", 400, "InvalidRequest")
			if _, ok := f.Object(bkt, "k2"); ok {
				t.Error("a refused PutObject stored the object")
			}
		})
	}
}

func TestChecksumErrorCode(t *testing.T) {
	f := newFake(t, s3fake.ChecksumErrorCode("BadDigest"))
	_, err := f.PutObject(ctx, putInputWithSum("k", []byte("data"), types.ChecksumAlgorithmCrc32c, b64(be32(1))))
	wantErr(t, err, "PutObject", 400, "BadDigest")
}

func TestChecksumAlgorithmComputed(t *testing.T) {
	f := newFake(t)
	data := payload(2, 777)
	out := must(f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"),
		Body: bytes.NewReader(data), ChecksumAlgorithm: types.ChecksumAlgorithmSha256})).ok(t)
	if want := b64(rawSum(types.ChecksumAlgorithmSha256, data)); aws.ToString(out.ChecksumSHA256) != want {
		t.Errorf("computed %q, want %q", aws.ToString(out.ChecksumSHA256), want)
	}
	// An algorithm other than the value's is refused.
	in := putInputWithSum("k", data, types.ChecksumAlgorithmCrc32, b64(rawSum(types.ChecksumAlgorithmCrc32, data)))
	in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32c
	_, err := f.PutObject(ctx, in)
	wantErr(t, err, "PutObject", 400, "InvalidRequest")
}

func TestContentMD5(t *testing.T) {
	f := newFake(t)
	data := []byte("hello, world")
	sum := md5.Sum(data)
	in := func(md5 string) *s3.PutObjectInput {
		return &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), Body: bytes.NewReader(data), ContentMD5: aws.String(md5)}
	}
	out := must(f.PutObject(ctx, in(b64(sum[:])))).ok(t)
	if aws.ToString(out.ETag) != md5ETag(data) {
		t.Errorf("ETag %s", aws.ToString(out.ETag))
	}
	if out.ChecksumCRC32 != nil || out.ChecksumType != "" {
		t.Error("Content-MD5 stored as a flexible checksum")
	}
	other := md5.Sum([]byte("other"))
	_, err := f.PutObject(ctx, in(b64(other[:])))
	wantErr(t, err, "PutObject", 400, "BadDigest")
	_, err = f.PutObject(ctx, in("short"))
	wantErr(t, err, "PutObject", 400, "InvalidDigest")
	// UploadPart checks it too.
	id := create(t, f, "mp", "")
	pin := partInput("mp", id, 1, data)
	pin.ContentMD5 = aws.String(b64(other[:]))
	_, err = f.UploadPart(ctx, pin)
	wantErr(t, err, "UploadPart", 400, "BadDigest")
}

func TestMultipleAndUnsupportedChecksums(t *testing.T) {
	f := newFake(t)
	data := []byte("x")
	in := putInputWithSum("k", data, types.ChecksumAlgorithmCrc32, b64(rawSum(types.ChecksumAlgorithmCrc32, data)))
	in.ChecksumSHA1 = aws.String(b64(rawSum(types.ChecksumAlgorithmSha1, data)))
	_, err := f.PutObject(ctx, in)
	wantErr(t, err, "PutObject", 400, "InvalidRequest")

	in = putInputWithSum("k", data, "", "")
	in.ChecksumSHA512 = aws.String("AAAA")
	_, err = f.PutObject(ctx, in)
	wantErr(t, err, "PutObject", 501, "NotImplemented")
	_, err = f.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bkt), Key: aws.String("k"),
		ChecksumAlgorithm: types.ChecksumAlgorithmXxhash64})
	wantErr(t, err, "CreateMultipartUpload", 501, "NotImplemented")
}

func TestIncompleteBody(t *testing.T) {
	f := newFake(t)
	for _, c := range []struct {
		body   string
		length int64
	}{{"abc", 4}, {"abcde", 4}, {"", 1}} {
		_, err := f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"),
			Body: strings.NewReader(c.body), ContentLength: aws.Int64(c.length)})
		wantErr(t, err, "PutObject", 400, "IncompleteBody")
	}
	_, err := f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), ContentLength: aws.Int64(3)})
	wantErr(t, err, "PutObject", 400, "IncompleteBody")
	id := create(t, f, "mp", "")
	pin := partInput("mp", id, 1, []byte("abc"))
	pin.ContentLength = aws.Int64(2)
	_, err = f.UploadPart(ctx, pin)
	wantErr(t, err, "UploadPart", 400, "IncompleteBody")
	if len(f.ObjectKeys(bkt)) != 0 || len(f.Uploads(bkt)[0].Parts) != 0 {
		t.Error("an incomplete body was stored")
	}
	// A body without a declared length is read to its end.
	must(f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), Body: strings.NewReader("abc")})).ok(t)
	if o, _ := f.Object(bkt, "k"); string(o.Data) != "abc" {
		t.Errorf("stored %q", o.Data)
	}
	// A body over 5 GiB is refused before it is read.
	_, err = f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("big"),
		Body: strings.NewReader("abc"), ContentLength: aws.Int64(5<<30 + 1)})
	wantErr(t, err, "PutObject", 400, "EntityTooLarge")
}

// errReader fails after returning some bytes.
type errReader struct{ n int }

func (e *errReader) Read(p []byte) (int, error) {
	if e.n == 0 {
		return 0, errFile
	}
	n := min(e.n, len(p))
	e.n -= n
	return n, nil
}

var errFile = &fileError{}

type fileError struct{}

func (*fileError) Error() string { return "input/output error" }

func TestBodyReadError(t *testing.T) {
	f := newFake(t)
	_, err := f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"),
		Body: &errReader{n: 10}, ContentLength: aws.Int64(20)})
	if err == nil || !strings.Contains(err.Error(), "input/output error") || !strings.Contains(err.Error(), "operation error S3: PutObject") {
		t.Fatalf("got %v", err)
	}
	var fe *fileError
	if !errorsAs(err, &fe) {
		t.Errorf("%v does not wrap the reader's error", err)
	}
	if f.BytesReceived() != 10 {
		t.Errorf("received %d bytes, want 10", f.BytesReceived())
	}
}

func TestHideChecksums(t *testing.T) {
	f := newFake(t, s3fake.HideChecksums(), s3fake.MinPartSize(0))
	data := payload(3, 100)
	sum := b64(rawSum(types.ChecksumAlgorithmCrc32c, data))
	out := must(f.PutObject(ctx, putInputWithSum("k", data, types.ChecksumAlgorithmCrc32c, sum))).ok(t)
	if out.ChecksumCRC32C != nil || out.ChecksumType != "" {
		t.Error("PutObject shows the checksum")
	}
	head := must(f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})).ok(t)
	if head.ChecksumCRC32C != nil || head.ChecksumType != "" {
		t.Error("HeadObject shows the checksum")
	}
	// Still verified.
	_, err := f.PutObject(ctx, putInputWithSum("k", data, types.ChecksumAlgorithmCrc32c, b64(be32(7))))
	wantErr(t, err, "PutObject", 400, "XAmzContentChecksumMismatch")

	co := must(f.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bkt), Key: aws.String("mp"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})).ok(t)
	if co.ChecksumAlgorithm != "" || co.ChecksumType != "" {
		t.Error("CreateMultipartUpload shows the algorithm")
	}
	id := aws.ToString(co.UploadId)
	pin := partInput("mp", id, 1, data)
	pin.ChecksumCRC32C = aws.String(sum)
	up := must(f.UploadPart(ctx, pin)).ok(t)
	if up.ChecksumCRC32C != nil {
		t.Error("UploadPart shows the checksum")
	}
	lp := must(f.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bkt), Key: aws.String("mp"), UploadId: aws.String(id)})).ok(t)
	if lp.ChecksumAlgorithm != "" || lp.Parts[0].ChecksumCRC32C != nil {
		t.Error("ListParts shows checksums")
	}
	// Complete needs no part checksum, and the object has none.
	cout := must(f.CompleteMultipartUpload(ctx, completeInput("mp", id, cpart(1, aws.ToString(up.ETag))))).ok(t)
	if cout.ChecksumCRC32C != nil || cout.ChecksumType != "" {
		t.Error("CompleteMultipartUpload shows a checksum")
	}
	if o, _ := f.Object(bkt, "mp"); o.Checksum != "" {
		t.Errorf("object checksum %q", o.Checksum)
	}
}
