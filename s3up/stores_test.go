package s3up

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc64"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/s3fake"
	"github.com/s3up/s3up/s3up/store"
)

// carriesChecksum reports whether an input of the fake carries a flexible
// checksum or declares an algorithm.
func carriesChecksum(in any) bool {
	switch v := in.(type) {
	case *s3.CreateMultipartUploadInput:
		return v.ChecksumAlgorithm != ""
	case *s3.UploadPartInput:
		_, sum := checksum.OfUploadPart(v).Any()
		return sum != "" || v.ChecksumAlgorithm != ""
	case *s3.PutObjectInput:
		_, sum := checksum.OfPutObject(v).Any()
		return sum != "" || v.ChecksumAlgorithm != ""
	}
	return false
}

// refuser refuses, as a store does, every request of ops that carries a
// flexible checksum, with the answer given; it counts the refusals.
func refuser(refused *atomic.Int32, answer func(op string) error, ops ...string) s3fake.Hook {
	return func(_ context.Context, op string, in any) error {
		for _, o := range ops {
			if o == op && carriesChecksum(in) {
				refused.Add(1)
				return answer(op)
			}
		}
		return nil
	}
}

// b2 answers as Backblaze B2 does (400 InvalidArgument).
func b2(op string) error {
	return s3fake.APIError(op, 400, "InvalidArgument", "Unsupported header 'x-amz-checksum-crc32c' received for this API call.")
}

// gcs answers an UploadPart with a checksum as Google Cloud Storage does.
func gcs(op string) error {
	return s3fake.APIError(op, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
}

// TestStoreRefusingChecksums (issue 11): a store that refuses flexible
// checksums, at Create (B2) or at the first part (GCS), gets Content-MD5
// parts without a flag; the choice is journalled, remembered per endpoint
// so the next run does not fail first, and the object is verified.
func TestStoreRefusingChecksums(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		answer func(string) error
		ops    []string
	}{
		{"b2-at-create", b2, []string{"CreateMultipartUpload", "UploadPart", "PutObject"}},
		{"gcs-at-part", gcs, []string{"UploadPart", "PutObject"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := seeded(t)
			f := newFake()
			var refused atomic.Int32
			f.SetOnCall(refuser(&refused, tc.answer, tc.ops...))
			stateDir := t.TempDir()
			ev := &events{}
			u := testUploader(t, f, Options{StateDir: stateDir, Listener: ev})
			data := randomBytes(r, 3*testPart+1)
			res := mustPut(t, u, newMemSource(data), "k")
			assertObject(t, f, u, "k", data)
			if refused.Load() == 0 {
				t.Fatal("the store refused nothing: the test tested nothing")
			}
			if !strings.Contains(res.Verified, "multipart ETag") {
				t.Fatalf("verified %q", res.Verified)
			}
			if w := strings.Join(warnings(ev), "\n"); !strings.Contains(w, "refuses S3 flexible checksums") {
				t.Fatalf("the user was not told: %q", w)
			}
			if p := store.OpenProfiles(stateDir).Get("http://fake.test"); !p.RefusesChecksums {
				t.Fatalf("not remembered: %+v", p)
			}
			// The next upload, small and big, starts with Content-MD5: no
			// request is refused.
			refused.Store(0)
			for i, size := range []int{2*testPart + 9, 100} {
				data := randomBytes(r, size)
				key := "next" + string(rune('0'+i))
				mustPut(t, u, newMemSource(data), key)
				if o, _ := f.Object(testBucket, key); string(o.Data) != string(data) {
					t.Fatalf("%s differs", key)
				}
			}
			if refused.Load() != 0 {
				t.Fatalf("%d requests refused on the next run: the store was not remembered", refused.Load())
			}
			if len(f.Uploads(testBucket)) != 0 {
				t.Fatal("an upload was left behind")
			}
		})
	}
}

// TestStoreRefusingChecksumsSmall: one PutObject refused for its checksum
// is sent again with Content-MD5.
func TestStoreRefusingChecksumsSmall(t *testing.T) {
	t.Parallel()
	f := newFake()
	var refused atomic.Int32
	f.SetOnCall(refuser(&refused, b2, "PutObject"))
	u := testUploader(t, f, Options{})
	data := randomBytes(seeded(t), 1000)
	res := mustPut(t, u, newMemSource(data), "small")
	assertObject(t, f, u, "small", data)
	if refused.Load() != 1 || !strings.Contains(res.Verified, "ETag (MD5)") {
		t.Fatalf("refused %d, verified %q", refused.Load(), res.Verified)
	}
}

// TestSmallFilesAreOnePut (issue 11): below one part, one PutObject with the
// checksum: no multipart upload, a plain MD5 ETag, verified.
func TestSmallFilesAreOnePut(t *testing.T) {
	t.Parallel()
	f := newFake()
	u := testUploader(t, f, Options{})
	data := randomBytes(seeded(t), testPart-1)
	res := mustPut(t, u, newMemSource(data), "small")
	assertObject(t, f, u, "small", data)
	if f.Calls("CreateMultipartUpload") != 0 || f.Calls("PutObject") != 1 {
		t.Fatalf("calls %v", f.CallCounts())
	}
	o, _ := f.Object(testBucket, "small")
	if _, ok := checksum.ETagMD5(o.ETag); !ok || !strings.Contains(res.Verified, "CRC32C checksum") || !strings.Contains(res.Verified, "ETag (MD5)") {
		t.Fatalf("etag %s, verified %q", o.ETag, res.Verified)
	}
	// At the threshold, multipart.
	mustPut(t, u, newMemSource(randomBytes(seeded(t), testPart)), "big")
	if f.Calls("CreateMultipartUpload") != 1 {
		t.Fatal("a source of one part size was not a multipart upload")
	}
}

// TestStoreHidingChecksums: a store that accepts flexible checksums and never
// shows them (COS, OSS) still ends verified where its ETags allow, and the
// result says the checksum was not compared.
func TestStoreHidingChecksums(t *testing.T) {
	t.Parallel()
	f := newFake(s3fake.HideChecksums())
	ev := &events{}
	u := testUploader(t, f, Options{Listener: ev})
	data := randomBytes(seeded(t), 3*testPart)
	res := mustPut(t, u, newMemSource(data), "k")
	assertObject(t, f, u, "k", data)
	v, _ := find[Verified](ev)
	if strings.Contains(res.Verified, "CRC32C") || !strings.Contains(res.Verified, "multipart ETag") ||
		!strings.Contains(strings.Join(v.NotChecked, ";"), "does not show it") {
		t.Fatalf("verified %q, not checked %v", res.Verified, v.NotChecked)
	}
}

// TestCheckObject: every check the store's answers allow runs; a multipart
// ETag that is not md5-of-md5s fails an upload only where the part ETags are
// known to be the parts' MD5s (Content-MD5 parts); elsewhere it says the
// store's ETags are opaque, and another check must carry the proof.
func TestCheckObject(t *testing.T) {
	t.Parallel()
	data := [][]byte{[]byte("part one"), []byte("part two"), []byte("3")}
	var parts, md5parts, noMD5, damaged []resume.Part
	for i, b := range data {
		s := checksum.HashBytes(b, checksum.Request{Alg: checksum.CRC32C, MD5: true, CRC64ECMA: true})
		m := checksum.HashBytes(b, checksum.Request{Alg: checksum.MD5, CRC32C: true})
		etag := fmt.Sprintf(`"%x"`, s.MD5)
		p := resume.Part{Number: int32(i + 1), Size: int64(len(b)), ETag: etag, Checksum: s.Checksum, CRC64ECMA: fmt.Sprint(s.CRC64ECMA),
			Digest: "md5:" + b64(s.MD5)}
		parts = append(parts, p)
		md5parts = append(md5parts, resume.Part{Number: int32(i + 1), Size: int64(len(b)), ETag: etag, Checksum: m.Checksum, Digest: "crc32c:" + m.CRC32C})
		p.Digest = ""
		noMD5 = append(noMD5, p)
		// The store holds other bytes than the ones sent: its ETag is theirs.
		d := p
		d.Digest = "md5:" + b64(s.MD5)
		if i == 1 {
			other := checksum.HashBytes([]byte("part tw0"), checksum.Request{MD5: true})
			d.ETag = fmt.Sprintf(`"%x"`, other.MD5)
		}
		damaged = append(damaged, d)
	}
	whole := bytes.Join(data, nil)
	size := int64(len(whole))
	md5s, _ := serverMD5s(parts)
	etag := `"` + checksum.CompositeETag(md5s) + `"`
	damagedMD5s, _ := serverMD5s(damaged)
	damagedETag := `"` + checksum.CompositeETag(damagedMD5s) + `"`
	sums, sizes, _ := localSums(parts, checksum.CRC32C, checksum.CRC32C)
	composite, _ := checksum.Object(checksum.CRC32C, types.ChecksumTypeComposite, sums, sizes)
	fullCRC := checksum.HashBytes(whole, checksum.Request{Alg: checksum.CRC32C}).Checksum
	crc32s := make([]string, len(data))
	for i, b := range data {
		crc32s[i] = checksum.HashBytes(b, checksum.Request{Alg: checksum.CRC32}).Checksum
	}
	crc32composite, _ := checksum.Object(checksum.CRC32, types.ChecksumTypeComposite, crc32s, sizes)
	withCRC32 := slices.Clone(parts)
	for i := range withCRC32 {
		withCRC32[i].Digest += ",crc32:" + crc32s[i]
	}
	crc64 := crc64.Checksum(whole, crc64.MakeTable(crc64.ECMA))
	shows := func(a checksum.Algorithm, v string) map[checksum.Algorithm]string {
		return map[checksum.Algorithm]string{a: v}
	}
	for _, tc := range []struct {
		name     string
		o        objectHead
		parts    []resume.Part
		alg      checksum.Algorithm
		prove    bool // the store's ETags are known to be MD5s
		matched  string
		mismatch string
		opaque   bool // the ETag is reported as not used
	}{
		{"aws-like", objectHead{size: size, etag: etag, shown: shows(checksum.CRC32C, composite)}, parts, checksum.CRC32C, false, "size, CRC32C checksum, multipart ETag", "", false},
		{"checksum only: no local MD5s, the ETag is not compared", objectHead{size: size, etag: etag, shown: shows(checksum.CRC32C, composite)}, noMD5, checksum.CRC32C, false, "size, CRC32C checksum", "", false},
		{"the server's own ETags prove nothing: no checksum, no local MD5s", objectHead{size: size, etag: etag}, noMD5, checksum.CRC32C, true, "size", "", false},
		{"wrong size", objectHead{size: size - 1, etag: etag}, parts, checksum.CRC32C, false, "", "bytes", false},
		{"wrong checksum", objectHead{size: size, etag: etag, shown: shows(checksum.CRC32C, "AAAAAA==-3")}, parts, checksum.CRC32C, false, "", "checksum", false},
		{"ceph full-object crc32c", objectHead{size: size, shown: shows(checksum.CRC32C, fullCRC), sumType: "FULL_OBJECT", etag: etag}, parts, checksum.CRC32C, false, "size, CRC32C checksum, multipart ETag", "", false},
		{"a store that computed CRC32 for CRC32C", objectHead{size: size, shown: shows(checksum.CRC32, crc32composite), etag: etag}, withCRC32, checksum.CRC32C, false, "size, CRC32 checksum, multipart ETag", "", false},
		{"a store that computed CRC32: local CRC32s unknown", objectHead{size: size, shown: shows(checksum.CRC32, crc32composite)}, noMD5, checksum.CRC32C, false, "size", "", false},
		{"a store that hides checksums, MD5 ETags", objectHead{size: size, etag: etag}, parts, checksum.CRC32C, true, "size, multipart ETag", "", false},
		{"a store that hides checksums holds a damaged part", objectHead{size: size, etag: damagedETag}, damaged, checksum.CRC32C, true, "", "MD5s are not those of the bytes sent", false},
		{"damaged part, ETags not known to be MD5s: not used", objectHead{size: size, etag: damagedETag}, damaged, checksum.CRC32C, false, "size", "", true},
		{"cos: hidden checksum, native crc64, opaque etag", objectHead{size: size, etag: `"opaque-etag-3"`,
			native: store.Native{CRC64Header: "x-cos-hash-crc64ecma", CRC64: crc64}}, parts, checksum.CRC32C, false, "size, CRC-64/ECMA (x-cos-hash-crc64ecma)", "", true},
		{"cos: wrong native crc64", objectHead{size: size, native: store.Native{CRC64Header: "x-cos-hash-crc64ecma", CRC64: crc64 + 1}}, parts, checksum.CRC32C, false, "", "x-cos-hash-crc64ecma", false},
		{"gcs after md5 fallback: x-goog-hash crc32c, opaque etag", objectHead{size: size, etag: `"CJ2a1uHq-3"`,
			native: store.Native{GoogCRC32C: fullCRC}}, md5parts, checksum.MD5, false, "size, CRC32C (x-goog-hash)", "", true},
		{"content-md5 parts: multipart ETag from the MD5s sent", objectHead{size: size, etag: etag}, md5parts, checksum.MD5, true, "size, multipart ETag", "", false},
		{"content-md5 parts, multipart etag of another formula: not a failure", objectHead{size: size, etag: `"00112233445566778899aabbccddeeff-3"`}, md5parts, checksum.MD5, true, "size", "", true},
		{"content-md5 parts, etag of another form", objectHead{size: size, etag: `"not-md5-based"`}, md5parts, checksum.MD5, false, "size", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := checkObject(&tc.o, tc.parts, judging{wire: tc.alg, etagsProve: tc.prove})
			if tc.mismatch != "" {
				if !strings.Contains(c.mismatch, tc.mismatch) {
					t.Fatalf("mismatch %q, want one about %q", c.mismatch, tc.mismatch)
				}
				return
			}
			opaque := strings.Contains(strings.Join(c.notes, ";"), "ETag not used")
			if c.mismatch != "" || c.method() != tc.matched || opaque != tc.opaque {
				t.Fatalf("matched %q (mismatch %q, notes %v); want %q, ETag not used %v", c.method(), c.mismatch, c.notes, tc.matched, tc.opaque)
			}
		})
	}
}

// TestWrongSecretIsNotARefusal: a wrong secret answers SignatureDoesNotMatch,
// as GCS answers a part with a checksum; trying Content-MD5 fails the same
// way, so nothing is learned about the store, and the error is an access
// error.
func TestWrongSecretIsNotARefusal(t *testing.T) {
	t.Parallel()
	for _, size := range []int{100, 3 * testPart} {
		f := newFake()
		f.SetOnCall(func(_ context.Context, op string, _ any) error {
			if op == "UploadPart" || op == "PutObject" {
				return gcs(op)
			}
			return nil
		})
		stateDir := t.TempDir()
		u := testUploader(t, f, Options{StateDir: stateDir})
		_, err := u.putSrc(context.Background(), newMemSource(randomBytes(seeded(t), size)), testBucket, "k")
		if !errors.Is(err, ErrAccess) {
			t.Fatalf("%d bytes: err %v, want ErrAccess", size, err)
		}
		if p := store.OpenProfiles(stateDir).Get("http://fake.test"); p.RefusesChecksums {
			t.Fatalf("%d bytes: a wrong secret was learned as a checksum refusal", size)
		}
	}
}
