package s3fake_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/s3up/s3fake"
)

// checksumUpload uploads parts with checksums of alg to an upload created
// with alg and typ, and returns the upload id and the completed parts
// (with their checksums).
func checksumUpload(t *testing.T, f *s3fake.Fake, key string, alg types.ChecksumAlgorithm, typ types.ChecksumType, parts [][]byte) (string, []types.CompletedPart) {
	t.Helper()
	co := must(f.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bkt), Key: aws.String(key),
		ChecksumAlgorithm: alg, ChecksumType: typ})).ok(t)
	id := aws.ToString(co.UploadId)
	var cps []types.CompletedPart
	for i, p := range parts {
		in := partInput(key, id, int32(i+1), p)
		sum := b64(rawSum(alg, p))
		setSum(alg, sum, &in.ChecksumCRC32, &in.ChecksumCRC32C, &in.ChecksumCRC64NVME, &in.ChecksumSHA1, &in.ChecksumSHA256)
		out := must(f.UploadPart(ctx, in)).ok(t)
		if got := pick(alg, out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256); got != sum {
			t.Fatalf("part %d: UploadPart answered checksum %q, want %q", i+1, got, sum)
		}
		cp := cpart(int32(i+1), aws.ToString(out.ETag))
		setSum(alg, sum, &cp.ChecksumCRC32, &cp.ChecksumCRC32C, &cp.ChecksumCRC64NVME, &cp.ChecksumSHA1, &cp.ChecksumSHA256)
		cps = append(cps, cp)
	}
	return id, cps
}

func TestCompositeChecksums(t *testing.T) {
	parts := [][]byte{payload(1, 300), payload(2, 300), payload(3, 17)}
	for _, alg := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
		types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256} {
		t.Run(string(alg), func(t *testing.T) {
			f := newFake(t, s3fake.MinPartSize(0))
			id, cps := checksumUpload(t, f, "k", alg, "", parts)
			lp := must(f.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bkt), Key: aws.String("k"), UploadId: aws.String(id)})).ok(t)
			if lp.ChecksumAlgorithm != alg || lp.ChecksumType != types.ChecksumTypeComposite {
				t.Errorf("ListParts algorithm %q type %q", lp.ChecksumAlgorithm, lp.ChecksumType)
			}
			for i, p := range lp.Parts {
				if got := pick(alg, p.ChecksumCRC32, p.ChecksumCRC32C, p.ChecksumCRC64NVME, p.ChecksumSHA1, p.ChecksumSHA256); got != b64(rawSum(alg, parts[i])) {
					t.Errorf("ListParts part %d checksum %q", i+1, got)
				}
			}
			// Independently: the digest of the concatenated raw part digests, "-N".
			var raws []byte
			for _, p := range parts {
				raws = append(raws, rawSum(alg, p)...)
			}
			want := fmt.Sprintf("%s-%d", b64(rawSum(alg, raws)), len(parts))
			cout := must(f.CompleteMultipartUpload(ctx, completeInput("k", id, cps...))).ok(t)
			if got := pick(alg, cout.ChecksumCRC32, cout.ChecksumCRC32C, cout.ChecksumCRC64NVME, cout.ChecksumSHA1, cout.ChecksumSHA256); got != want {
				t.Errorf("Complete checksum %q, want %q", got, want)
			}
			if cout.ChecksumType != types.ChecksumTypeComposite {
				t.Errorf("Complete checksum type %q", cout.ChecksumType)
			}
			head := must(f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})).ok(t)
			if got := pick(alg, head.ChecksumCRC32, head.ChecksumCRC32C, head.ChecksumCRC64NVME, head.ChecksumSHA1, head.ChecksumSHA256); got != want || head.ChecksumType != types.ChecksumTypeComposite {
				t.Errorf("HeadObject checksum %q type %q, want %q COMPOSITE", got, head.ChecksumType, want)
			}
		})
	}
}

// The CRC32C composite, spelled out as the brief of the fake states it.
func TestCompositeCRC32CByHand(t *testing.T) {
	f := newFake(t, s3fake.MinPartSize(0))
	p1, p2 := []byte("hello "), []byte("world")
	id, cps := checksumUpload(t, f, "k", types.ChecksumAlgorithmCrc32c, "", [][]byte{p1, p2})
	cout := must(f.CompleteMultipartUpload(ctx, completeInput("k", id, cps...))).ok(t)
	concat := append(be32(crc32cOf(p1)), be32(crc32cOf(p2))...)
	if want := b64(be32(crc32cOf(concat))) + "-2"; aws.ToString(cout.ChecksumCRC32C) != want {
		t.Errorf("composite %q, want %q", aws.ToString(cout.ChecksumCRC32C), want)
	}
}

func TestFullObjectChecksums(t *testing.T) {
	parts := [][]byte{payload(4, 500), payload(5, 500), payload(6, 1)}
	whole := bytes.Join(parts, nil)
	for _, c := range []struct {
		alg types.ChecksumAlgorithm
		typ types.ChecksumType // as created
	}{
		{types.ChecksumAlgorithmCrc64nvme, ""},
		{types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeFullObject},
		{types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject},
		{types.ChecksumAlgorithmCrc32c, types.ChecksumTypeFullObject},
	} {
		t.Run(string(c.alg)+"/"+string(c.typ), func(t *testing.T) {
			f := newFake(t, s3fake.MinPartSize(0))
			id, cps := checksumUpload(t, f, "k", c.alg, c.typ, parts)
			if u, _ := f.Upload(bkt, id); u.ChecksumType != types.ChecksumTypeFullObject {
				t.Errorf("upload type %q", u.ChecksumType)
			}
			want := b64(rawSum(c.alg, whole))
			in := completeInput("k", id, cps...)
			in.ChecksumType = types.ChecksumTypeFullObject
			setSum(c.alg, want, &in.ChecksumCRC32, &in.ChecksumCRC32C, &in.ChecksumCRC64NVME, &in.ChecksumSHA1, &in.ChecksumSHA256)
			cout := must(f.CompleteMultipartUpload(ctx, in)).ok(t)
			if got := pick(c.alg, cout.ChecksumCRC32, cout.ChecksumCRC32C, cout.ChecksumCRC64NVME, nil, nil); got != want || cout.ChecksumType != types.ChecksumTypeFullObject {
				t.Errorf("Complete checksum %q type %q, want %q FULL_OBJECT", got, cout.ChecksumType, want)
			}
			if o, _ := f.Object(bkt, "k"); o.Checksum != want || o.ChecksumAlgorithm != c.alg {
				t.Errorf("object checksum %s %q", o.ChecksumAlgorithm, o.Checksum)
			}
		})
	}
}

func TestCreateChecksumCombinations(t *testing.T) {
	f := newFake(t)
	for _, c := range []struct {
		alg  types.ChecksumAlgorithm
		typ  types.ChecksumType
		want types.ChecksumType // "" for refused
	}{
		{"", "", ""},
		{types.ChecksumAlgorithmCrc32, "", types.ChecksumTypeComposite},
		{types.ChecksumAlgorithmCrc32c, types.ChecksumTypeFullObject, types.ChecksumTypeFullObject},
		{types.ChecksumAlgorithmSha256, "", types.ChecksumTypeComposite},
		{types.ChecksumAlgorithmCrc64nvme, "", types.ChecksumTypeFullObject},
		{types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeComposite, ""},
		{types.ChecksumAlgorithmSha1, types.ChecksumTypeFullObject, ""},
		{"", types.ChecksumTypeComposite, ""},
		{types.ChecksumAlgorithmCrc32, "PARTIAL", ""},
	} {
		out, err := f.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bkt), Key: aws.String("k"),
			ChecksumAlgorithm: c.alg, ChecksumType: c.typ})
		refused := c.want == "" && (c.alg != "" || c.typ != "")
		if refused {
			wantErr(t, err, "CreateMultipartUpload", 400, "InvalidRequest")
			continue
		}
		if err != nil {
			t.Fatalf("%s/%s: %v", c.alg, c.typ, err)
		}
		if out.ChecksumAlgorithm != c.alg || out.ChecksumType != c.want {
			t.Errorf("%s/%s: answered %s/%s", c.alg, c.typ, out.ChecksumAlgorithm, out.ChecksumType)
		}
	}
}

func TestCompleteChecksumRules(t *testing.T) {
	parts := [][]byte{payload(7, 64), payload(8, 64)}
	f := newFake(t, s3fake.MinPartSize(0))
	id, cps := checksumUpload(t, f, "k", types.ChecksumAlgorithmCrc32c, "", parts)

	// A part without its checksum.
	missing := []types.CompletedPart{cps[0], cpart(2, aws.ToString(cps[1].ETag))}
	_, err := f.CompleteMultipartUpload(ctx, completeInput("k", id, missing...))
	wantErr(t, err, "CompleteMultipartUpload", 400, "InvalidRequest")
	if want := "The upload was created using a crc32c checksum. The complete request must include the checksum for each part. It was missing for part 2 in the request."; !strings.HasSuffix(err.Error(), want) {
		t.Errorf("message %q", err)
	}
	// A part with a checksum of another algorithm counts as missing.
	other := cpart(1, aws.ToString(cps[0].ETag))
	other.ChecksumCRC32 = aws.String(b64(rawSum(types.ChecksumAlgorithmCrc32, parts[0])))
	_, err = f.CompleteMultipartUpload(ctx, completeInput("k", id, other, cps[1]))
	wantErr(t, err, "CompleteMultipartUpload", 400, "InvalidRequest")
	// A wrong checksum.
	wrong := cps[0]
	wrong.ChecksumCRC32C = aws.String(b64(be32(12345)))
	_, err = f.CompleteMultipartUpload(ctx, completeInput("k", id, wrong, cps[1]))
	wantErr(t, err, "CompleteMultipartUpload", 400, "InvalidPart")
	// Another checksum mode.
	in := completeInput("k", id, cps...)
	in.ChecksumType = types.ChecksumTypeFullObject
	_, err = f.CompleteMultipartUpload(ctx, in)
	wantErr(t, err, "CompleteMultipartUpload", 400, "InvalidRequest")
	// A wrong object checksum.
	in = completeInput("k", id, cps...)
	in.ChecksumCRC32C = aws.String(b64(be32(1)) + "-2")
	_, err = f.CompleteMultipartUpload(ctx, in)
	wantErr(t, err, "CompleteMultipartUpload", 400, "BadDigest")
	// An object checksum of another algorithm.
	in = completeInput("k", id, cps...)
	in.ChecksumSHA256 = aws.String(b64(rawSum(types.ChecksumAlgorithmSha256, nil)))
	_, err = f.CompleteMultipartUpload(ctx, in)
	wantErr(t, err, "CompleteMultipartUpload", 400, "InvalidRequest")
	// The right object checksum, with or without its -N.
	raws := append(rawSum(types.ChecksumAlgorithmCrc32c, parts[0]), rawSum(types.ChecksumAlgorithmCrc32c, parts[1])...)
	in = completeInput("k", id, cps...)
	in.ChecksumCRC32C = aws.String(b64(rawSum(types.ChecksumAlgorithmCrc32c, raws)))
	in.ChecksumType = types.ChecksumTypeComposite
	must(f.CompleteMultipartUpload(ctx, in)).ok(t)
}

// S3 computes a part's checksum with the upload's algorithm when the part
// has none; a part checksum of another algorithm is refused unread.
func TestPartChecksumAlgorithm(t *testing.T) {
	f := newFake(t, s3fake.MinPartSize(0))
	id := create(t, f, "k", types.ChecksumAlgorithmCrc32c)
	data := payload(9, 99)
	out := uploadPart(t, f, "k", id, 1, data)
	if want := b64(be32(crc32cOf(data))); aws.ToString(out.ChecksumCRC32C) != want {
		t.Errorf("computed part checksum %q, want %q", aws.ToString(out.ChecksumCRC32C), want)
	}
	body := &countingReader{r: bytes.NewReader(data)}
	in := partInput("k", id, 2, nil)
	in.Body, in.ContentLength = body, aws.Int64(int64(len(data)))
	in.ChecksumCRC32 = aws.String(b64(be32(1)))
	_, err := f.UploadPart(ctx, in)
	wantErr(t, err, "UploadPart", 400, "InvalidRequest")
	if want := "Checksum Type mismatch occurred, expected checksum Type: crc32c, actual checksum Type: crc32"; !strings.HasSuffix(err.Error(), want) {
		t.Errorf("message %q", err)
	}
	if body.n != 0 {
		t.Error("the body of a mismatched part was read")
	}
	// An upload without an algorithm takes no part checksum (AWS).
	plain := create(t, f, "plain", "")
	in = partInput("plain", plain, 1, data)
	in.ChecksumAlgorithm = types.ChecksumAlgorithmSha1
	_, err = f.UploadPart(ctx, in)
	wantErr(t, err, "UploadPart", 400, "InvalidRequest")
	if !strings.Contains(err.Error(), "expected checksum Type: null, actual checksum Type: sha1") {
		t.Errorf("message %q", err)
	}
	// ... and keeps none.
	if out := uploadPart(t, f, "plain", plain, 1, data); out.ChecksumCRC32 != nil || out.ChecksumCRC32C != nil {
		t.Error("a part of an upload without algorithm has a checksum")
	}
}

func TestCompleteConditions(t *testing.T) {
	f := newFake(t, s3fake.MinPartSize(0))
	id := create(t, f, "k", "")
	e := aws.ToString(uploadPart(t, f, "k", id, 1, []byte("abc")).ETag)
	in := completeInput("k", id, cpart(1, e))
	in.MpuObjectSize = aws.Int64(4)
	_, err := f.CompleteMultipartUpload(ctx, in)
	wantErr(t, err, "CompleteMultipartUpload", 400, "InvalidRequest")

	old := put(t, f, "k", []byte("existing"))
	in = completeInput("k", id, cpart(1, e))
	in.IfNoneMatch = aws.String("*")
	_, err = f.CompleteMultipartUpload(ctx, in)
	wantErr(t, err, "CompleteMultipartUpload", 412, "PreconditionFailed")
	if len(f.Uploads(bkt)) != 1 {
		t.Fatal("a failed precondition removed the upload")
	}
	in = completeInput("k", id, cpart(1, e))
	in.IfMatch = aws.String(`"0123"`)
	_, err = f.CompleteMultipartUpload(ctx, in)
	wantErr(t, err, "CompleteMultipartUpload", 412, "PreconditionFailed")
	in.IfMatch, in.MpuObjectSize = old.ETag, aws.Int64(3)
	must(f.CompleteMultipartUpload(ctx, in)).ok(t)
	if o, _ := f.Object(bkt, "k"); string(o.Data) != "abc" {
		t.Errorf("object %q", o.Data)
	}
	// IfMatch on a missing key.
	id = create(t, f, "new", "")
	e = aws.ToString(uploadPart(t, f, "new", id, 1, []byte("abc")).ETag)
	in = completeInput("new", id, cpart(1, e))
	in.IfMatch = aws.String(e)
	_, err = f.CompleteMultipartUpload(ctx, in)
	wantErr(t, err, "CompleteMultipartUpload", 404, "NoSuchKey")
	in.IfMatch, in.IfNoneMatch = nil, aws.String("*")
	must(f.CompleteMultipartUpload(ctx, in)).ok(t)
}
