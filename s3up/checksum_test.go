package s3up

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

func TestCRC64Combine(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < 50; i++ {
		a := make([]byte, r.IntN(5000))
		b := make([]byte, r.IntN(5000))
		for j := range a {
			a[j] = byte(r.Uint32())
		}
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		whole := crc64.Checksum(append(append([]byte{}, a...), b...), crc64nvmeTable)
		got := crc64Combine(crc64.Checksum(a, crc64nvmeTable), crc64.Checksum(b, crc64nvmeTable), int64(len(b)))
		if got != whole {
			t.Fatalf("combine(len %d, len %d) = %x, want %x", len(a), len(b), got, whole)
		}
	}
}

func TestCRC64NVMEKnownValue(t *testing.T) {
	// Check value of CRC-64/NVME for "123456789" (reveng catalogue).
	if got := crc64.Checksum([]byte("123456789"), crc64nvmeTable); got != 0xae8b14860a799888 {
		t.Fatalf("crc64nvme(123456789) = %x", got)
	}
}

func TestCompositeChecksum(t *testing.T) {
	parts := [][]byte{bytes.Repeat([]byte("a"), 100), bytes.Repeat([]byte("b"), 50)}
	var sums []string
	var concat []byte
	for _, p := range parts {
		s, n, err := hashPart(bytes.NewReader(p), sumRequest{alg: ChecksumCRC32C})
		if err != nil || n != int64(len(p)) {
			t.Fatal(err)
		}
		sums = append(sums, s.Checksum)
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], crc32.Checksum(p, crc32cTable))
		concat = append(concat, b[:]...)
	}
	var want [4]byte
	binary.BigEndian.PutUint32(want[:], crc32.Checksum(concat, crc32cTable))
	got, err := compositeChecksum(ChecksumCRC32C, sums, []int64{100, 50})
	if err != nil {
		t.Fatal(err)
	}
	if exp := base64.StdEncoding.EncodeToString(want[:]) + "-2"; got != exp {
		t.Fatalf("composite = %s, want %s", got, exp)
	}
}

func TestCompositeETag(t *testing.T) {
	a, b := md5.Sum([]byte("x")), md5.Sum([]byte("y"))
	cat := md5.Sum(append(a[:], b[:]...))
	if got, want := compositeETag([][]byte{a[:], b[:]}), fmt.Sprintf("%x-2", cat); got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	if _, ok := etagMD5(`"0123456789abcdef0123456789abcdef"`); !ok {
		t.Fatal("quoted md5 etag not recognised")
	}
	if _, ok := etagMD5(`"0123456789abcdef0123456789abcdef-3"`); ok {
		t.Fatal("multipart etag taken as md5")
	}
}

func TestHashPartOnePassAllDigests(t *testing.T) {
	data := bytes.Repeat([]byte("s3up"), 100000)
	s, n, err := hashPart(bytes.NewReader(data), sumRequest{alg: ChecksumSHA1, sha256: true, md5: true})
	if err != nil || n != int64(len(data)) {
		t.Fatal(n, err)
	}
	m := md5.Sum(data)
	if !bytes.Equal(s.MD5, m[:]) || s.SHA256 == "" || s.Checksum == "" {
		t.Fatalf("sums %+v", s)
	}
}

func TestParseChecksum(t *testing.T) {
	for _, a := range ChecksumAlgorithms {
		if got, err := ParseChecksum(string(a)); err != nil || got != a {
			t.Errorf("%s: %v %v", a, got, err)
		}
	}
	if _, err := ParseChecksum("crc16"); err == nil {
		t.Error("crc16 accepted")
	}
	if got, _ := ParseChecksum(""); got != DefaultChecksum {
		t.Errorf("default = %s", got)
	}
}

func BenchmarkHashPart(b *testing.B) {
	data := make([]byte, 16<<20)
	for _, req := range []sumRequest{
		{alg: ChecksumCRC32C}, {alg: ChecksumCRC64NVME}, {alg: ChecksumCRC32C, sha256: true},
		{alg: ChecksumSHA256}, {alg: ChecksumMD5}, {alg: ChecksumNone, sha256: true},
		{alg: ChecksumNone}, {alg: ChecksumNone, md5: true}, // none+unsigned: ETag check costs one MD5
	} {
		name := string(req.alg)
		if req.sha256 {
			name += "+payload-sha256"
		}
		if req.md5 && req.alg != ChecksumMD5 {
			name += "+etag-md5"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, _, err := hashPart(bytes.NewReader(data), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSignPayload: --payload auto sends UNSIGNED-PAYLOAD over HTTPS and
// whenever a checksum covers the part; it signs the SHA-256 only for a part
// without a checksum over plain HTTP.
func TestSignPayload(t *testing.T) {
	for _, tc := range []struct {
		p    PayloadSigning
		alg  ChecksumAlgorithm
		tls  bool
		want bool
	}{
		{PayloadAuto, ChecksumNone, false, true}, {PayloadAuto, ChecksumNone, true, false},
		{PayloadAuto, ChecksumCRC32C, false, false}, {PayloadAuto, ChecksumMD5, false, false},
		{PayloadAuto, ChecksumCRC32C, true, false}, {"", "", true, false},
		{PayloadSigned, ChecksumNone, true, true}, {PayloadSigned, ChecksumCRC32C, false, true},
		{PayloadUnsigned, ChecksumNone, false, false}, {PayloadUnsigned, ChecksumCRC32C, true, false},
	} {
		if got := (Options{Payload: tc.p, Checksum: tc.alg, TLS: tc.tls}).withDefaults().signPayload(); got != tc.want {
			t.Errorf("payload %q checksum %q tls %v: sign %v, want %v", tc.p, tc.alg, tc.tls, got, tc.want)
		}
	}
}

// TestTrailer: a trailing checksum only when asked for, over HTTPS, for a
// flexible checksum, unsigned payload, and parts no bigger than MinIO's
// 16 MiB chunk limit.
func TestTrailer(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		alg  ChecksumAlgorithm
		size int64
		want bool
	}{
		{Options{TLS: true, TrailerChecksum: true}, ChecksumCRC32C, 16 << 20, true},
		{Options{TLS: true, TrailerChecksum: true}, ChecksumCRC64NVME, 5 << 20, true},
		{Options{TLS: true, TrailerChecksum: true}, ChecksumCRC32C, 16<<20 + 1, false},
		{Options{TLS: false, TrailerChecksum: true}, ChecksumCRC32C, 16 << 20, false},
		{Options{TLS: true, TrailerChecksum: true}, ChecksumNone, 16 << 20, false},
		{Options{TLS: true, TrailerChecksum: true}, ChecksumMD5, 16 << 20, false},
		{Options{TLS: true}, ChecksumCRC32C, 16 << 20, false},
		{Options{TLS: true, TrailerChecksum: true, Payload: PayloadSigned}, ChecksumCRC32C, 16 << 20, false},
	} {
		if got := tc.o.withDefaults().trailer(tc.alg, tc.size); got != tc.want {
			t.Errorf("%+v %s %d: trailer %v, want %v", tc.o, tc.alg, tc.size, got, tc.want)
		}
	}
}

// TestCheckETags: only a part with neither a checksum nor a signed payload
// needs its ETag compared with the local MD5.
func TestCheckETags(t *testing.T) {
	for _, alg := range ChecksumAlgorithms {
		for _, p := range []PayloadSigning{PayloadAuto, PayloadSigned, PayloadUnsigned} {
			for _, tls := range []bool{false, true} {
				o := Options{Payload: p, Checksum: alg, TLS: tls}.withDefaults()
				want := alg == ChecksumNone && !o.signPayload() && !tls
				if got := o.checkETags(alg); got != want {
					t.Errorf("%s %s tls=%v: %v, want %v", alg, p, tls, got, want)
				}
			}
		}
	}
	o := Options{Payload: PayloadUnsigned, Object: ObjectOptions{SSE: "aws:kms"}}
	if o.checkETags(ChecksumNone) {
		t.Error("SSE-KMS ETags are not MD5s but are checked")
	}
}

// TestETagCheckRetries: a part whose ETag is not the MD5 of the bytes sent
// is sent again by the SDK's retryer, and fails as ErrTransient when every
// attempt is damaged.
func TestETagCheckRetries(t *testing.T) {
	data := []byte("the part's bytes")
	sum := md5.Sum(data)
	good := `"` + hex.EncodeToString(sum[:]) + `"`
	bad := `"00112233445566778899aabbccddeeff"`
	for _, tc := range []struct {
		name    string
		etags   []string
		wantErr bool
	}{
		{"right-first", []string{good}, false},
		{"damaged-once", []string{bad, good}, false},
		{"damaged-always", []string{bad, bad, bad}, true},
		{"not-an-md5", []string{`"abc-3"`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				i := int(calls.Add(1)) - 1
				w.Header().Set("ETag", tc.etags[min(i, len(tc.etags)-1)])
			}))
			defer srv.Close()
			client := s3.New(s3.Options{
				Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
				Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
				Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts = 3
					o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				}),
			})
			_, err := client.UploadPart(context.Background(), &s3.UploadPartInput{
				Bucket: aws.String("b"), Key: aws.String("k"), UploadId: aws.String("u"), PartNumber: aws.Int32(1),
				Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
			}, withPayloadHash("UNSIGNED-PAYLOAD"), withETagCheck(1, sum[:]))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v (after %d calls)", err, tc.wantErr, calls.Load())
			}
			if want := int32(min(len(tc.etags), 3)); calls.Load() != want {
				t.Fatalf("%d UploadPart calls, want %d", calls.Load(), want)
			}
			if err != nil {
				if !errors.Is(err, ErrTransient) || apiCode(err) != "PartETagMismatch" {
					t.Fatalf("error %v: not ErrTransient/PartETagMismatch", err)
				}
				t.Logf("error: %s", Describe(err))
			}
		})
	}
}

// TestRejectsChecksum: a store that refuses flexible checksums (Backblaze
// B2's wording) gets a one-line hint to use --checksum md5, and is bad
// input (exit 2: rerunning unchanged cannot help).
func TestRejectsChecksum(t *testing.T) {
	b2 := &smithy.GenericAPIError{Code: "InvalidArgument", Message: "Unsupported header 'x-amz-checksum-crc32' received for this API call."}
	err := classify(&UploadError{Op: "upload part 1", Err: fmt.Errorf("operation error S3: UploadPart: %w", b2)})
	if !rejectsChecksum(err) || !errors.Is(err, ErrBadInput) {
		t.Fatalf("not recognised: %v", err)
	}
	if d := Describe(err); !bytes.Contains([]byte(d), []byte("--checksum md5")) {
		t.Fatalf("no hint: %s", d)
	}
	other := &smithy.GenericAPIError{Code: "InvalidArgument", Message: "Part number must be an integer between 1 and 10000"}
	if rejectsChecksum(other) {
		t.Fatal("an unrelated InvalidArgument taken for a checksum refusal")
	}
}
