package s3up

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ChecksumAlgorithm is the per-part integrity check sent to the server.
type ChecksumAlgorithm string

// The algorithms s3up offers. CRC32C is the default: it is computed in
// hardware (several GB/s), every store with flexible checksums accepts it,
// and its composite can be checked after completion.
const (
	ChecksumCRC32C    ChecksumAlgorithm = "crc32c"
	ChecksumCRC32     ChecksumAlgorithm = "crc32"
	ChecksumCRC64NVME ChecksumAlgorithm = "crc64nvme"
	ChecksumSHA256    ChecksumAlgorithm = "sha256"
	ChecksumSHA1      ChecksumAlgorithm = "sha1"
	ChecksumMD5       ChecksumAlgorithm = "md5" // Content-MD5; for stores without flexible checksums
	ChecksumNone      ChecksumAlgorithm = "none"

	DefaultChecksum = ChecksumCRC32C
)

// ChecksumAlgorithms lists every accepted --checksum value.
var ChecksumAlgorithms = []ChecksumAlgorithm{
	ChecksumCRC32C, ChecksumCRC32, ChecksumCRC64NVME, ChecksumSHA256, ChecksumSHA1, ChecksumMD5, ChecksumNone,
}

// ParseChecksum parses a --checksum value ("" means the default).
func ParseChecksum(s string) (ChecksumAlgorithm, error) {
	if s == "" {
		return DefaultChecksum, nil
	}
	a := ChecksumAlgorithm(strings.ToLower(strings.TrimSpace(s)))
	for _, ok := range ChecksumAlgorithms {
		if a == ok {
			return a, nil
		}
	}
	names := make([]string, len(ChecksumAlgorithms))
	for i, a := range ChecksumAlgorithms {
		names[i] = string(a)
	}
	return "", fmt.Errorf("%w: unknown checksum %q (choose one of %s)", ErrBadInput, s, strings.Join(names, ", "))
}

// flexible reports whether a is an S3 flexible checksum (x-amz-checksum-*).
func (a ChecksumAlgorithm) flexible() bool {
	switch a {
	case ChecksumCRC32C, ChecksumCRC32, ChecksumCRC64NVME, ChecksumSHA256, ChecksumSHA1:
		return true
	}
	return false
}

func (a ChecksumAlgorithm) sdk() types.ChecksumAlgorithm {
	switch a {
	case ChecksumCRC32C:
		return types.ChecksumAlgorithmCrc32c
	case ChecksumCRC32:
		return types.ChecksumAlgorithmCrc32
	case ChecksumCRC64NVME:
		return types.ChecksumAlgorithmCrc64nvme
	case ChecksumSHA256:
		return types.ChecksumAlgorithmSha256
	case ChecksumSHA1:
		return types.ChecksumAlgorithmSha1
	}
	return ""
}

// checksumType is how the store combines part checksums: CRC64NVME exists
// only as a full-object checksum, the others are used as composites.
func (a ChecksumAlgorithm) checksumType() types.ChecksumType {
	switch a {
	case ChecksumCRC64NVME:
		return types.ChecksumTypeFullObject
	case "", ChecksumNone, ChecksumMD5:
		return ""
	}
	return types.ChecksumTypeComposite
}

var (
	crc32cTable    = crc32.MakeTable(crc32.Castagnoli)
	crc64nvmeTable = crc64.MakeTable(crc64NVMEPoly)
)

// crc64NVMEPoly is the reflected CRC-64/NVME polynomial.
const crc64NVMEPoly = 0x9a6c9329ac4bc9b5

func (a ChecksumAlgorithm) newHash() hash.Hash {
	switch a {
	case ChecksumCRC32C:
		return crc32.New(crc32cTable)
	case ChecksumCRC32:
		return crc32.NewIEEE()
	case ChecksumCRC64NVME:
		return crc64.New(crc64nvmeTable)
	case ChecksumSHA256:
		return sha256.New()
	case ChecksumSHA1:
		return sha1.New()
	case ChecksumMD5:
		return md5.New()
	}
	return nil
}

// partSums are the digests of one part, all computed in a single read.
type partSums struct {
	Checksum string // base64 of the chosen algorithm ("" for none)
	SHA256   string // hex, for the SigV4 payload hash ("" if not needed)
	MD5      []byte // raw, when asked for (ETag comparison or Content-MD5)
}

type sumRequest struct {
	alg    ChecksumAlgorithm
	sha256 bool // payload hash for signing
	md5    bool
}

// needsRead reports whether any digest must be computed before sending.
func (r sumRequest) needsRead() bool {
	return (r.alg != ChecksumNone && r.alg != "") || r.sha256 || r.md5
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// hashPart reads r once and computes every digest req asks for.
func hashPart(r io.Reader, req sumRequest) (partSums, int64, error) {
	var ws []io.Writer
	var algH, shaH, md5H hash.Hash
	if req.alg != ChecksumNone && req.alg != "" {
		algH = req.alg.newHash()
		ws = append(ws, algH)
	}
	if req.sha256 {
		if req.alg == ChecksumSHA256 {
			shaH = algH
		} else {
			shaH = sha256.New()
			ws = append(ws, shaH)
		}
	}
	if req.md5 {
		if req.alg == ChecksumMD5 {
			md5H = algH
		} else {
			md5H = md5.New()
			ws = append(ws, md5H)
		}
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var n int64
	var err error
	switch len(ws) {
	case 0:
		n, err = io.CopyBuffer(io.Discard, r, *bp)
	case 1:
		n, err = io.CopyBuffer(ws[0], r, *bp)
	default:
		n, err = io.CopyBuffer(io.MultiWriter(ws...), r, *bp)
	}
	if err != nil {
		return partSums{}, n, err
	}
	var s partSums
	if algH != nil {
		s.Checksum = base64.StdEncoding.EncodeToString(algH.Sum(nil))
	}
	if shaH != nil {
		s.SHA256 = hex.EncodeToString(shaH.Sum(nil))
	}
	if md5H != nil {
		s.MD5 = md5H.Sum(nil)
	}
	return s, n, nil
}

// compositeChecksum is what a store reports for a multipart object whose
// parts carried the given base64 checksums, e.g. "AbCd==-3" for a COMPOSITE
// checksum, or the whole-object CRC for CRC64NVME (FULL_OBJECT), which is
// derived from the part CRCs and sizes without rereading the file.
func compositeChecksum(a ChecksumAlgorithm, sums []string, sizes []int64) (string, error) {
	raw := make([][]byte, len(sums))
	for i, s := range sums {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", fmt.Errorf("part %d checksum %q: %w", i+1, s, err)
		}
		raw[i] = b
	}
	if a == ChecksumCRC64NVME {
		var crc uint64
		for i, b := range raw {
			if len(b) != 8 {
				return "", fmt.Errorf("part %d: crc64 of %d bytes", i+1, len(b))
			}
			v := binary.BigEndian.Uint64(b)
			if i == 0 {
				crc = v
			} else {
				crc = crc64Combine(crc, v, sizes[i])
			}
		}
		var out [8]byte
		binary.BigEndian.PutUint64(out[:], crc)
		return base64.StdEncoding.EncodeToString(out[:]), nil
	}
	h := a.newHash()
	if h == nil {
		return "", fmt.Errorf("no composite for checksum %q", a)
	}
	for _, b := range raw {
		h.Write(b)
	}
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(raw)), nil
}

// compositeETag is the multipart ETag S3 and MinIO report:
// md5(md5(p1)‖…‖md5(pN))-N, unquoted.
func compositeETag(md5s [][]byte) string {
	h := md5.New()
	for _, m := range md5s {
		h.Write(m)
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(md5s))
}

// etagMD5 returns the raw MD5 an ETag stands for, if it is a plain MD5 ETag
// (32 hex digits, optionally quoted). Multipart and encrypted-object ETags are not.
func etagMD5(etag string) ([]byte, bool) {
	e := strings.Trim(etag, `"`)
	if len(e) != 32 {
		return nil, false
	}
	b, err := hex.DecodeString(e)
	return b, err == nil
}

// rejectsChecksum reports whether err is a store refusing S3 flexible
// checksums. Backblaze B2 answers InvalidArgument "Unsupported header
// 'x-amz-checksum-crc32' received for this API call" (also for
// x-amz-checksum-algorithm on CreateMultipartUpload); other gateways answer
// NotImplemented. Such a store still verifies Content-MD5 (--checksum md5).
func rejectsChecksum(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "InvalidArgument", "NotImplemented", "InvalidRequest":
	default:
		return false
	}
	m := strings.ToLower(ae.ErrorMessage())
	return strings.Contains(m, "x-amz-checksum") || strings.Contains(m, "x-amz-sdk-checksum") ||
		strings.Contains(m, "checksum algorithm") || strings.Contains(m, "checksumalgorithm")
}

// checkETags reports whether each part's ETag must be compared with the MD5
// of the bytes read from the file. A part with no checksum and an unsigned
// payload is covered by nothing else: a bit flipped between the file and the
// server's disk (a proxy, a NIC, the file changing between the hashing read
// and the sending read) would be stored, and the multipart ETag would
// faithfully describe the damaged object. The MD5 is computed in the read
// that hashes the part anyway, so it costs CPU only (MD5 runs at roughly
// 0.6–0.8 GB/s per core, on as many cores as parts in flight) and no I/O.
// Stores whose part ETags are not MD5s (SSE-KMS) cannot be checked this way.
// Over HTTPS, TLS protects the bytes in transit and the MD5 (over 1 CPU-s
// per GiB) is not spent.
func (o Options) checkETags(alg ChecksumAlgorithm) bool {
	return alg == ChecksumNone && !o.signPayload() && !o.TLS && !strings.HasPrefix(strings.ToLower(o.Object.SSE), "aws:kms")
}

// etagMismatchError: the server stored a part whose ETag is not the MD5 of
// the bytes s3up read. It is retryable, so the SDK sends the part again
// (rereading the file), exactly as when a server refuses a part for a bad
// digest; if every attempt fails the run stops, resumable.
type etagMismatchError struct {
	part      int32
	etag, md5 string
}

func (e *etagMismatchError) Error() string { return e.ErrorCode() + ": " + e.ErrorMessage() }
func (e *etagMismatchError) ErrorCode() string {
	return "PartETagMismatch" // s3up's own code: the server accepted the part
}
func (e *etagMismatchError) ErrorMessage() string {
	return fmt.Sprintf("the server stored part %d with ETag %s but the bytes sent have MD5 %s; "+
		"they were damaged on the way (if this store's ETags are not MD5s use --checksum crc32c or md5, or --payload signed)",
		e.part, e.etag, e.md5)
}
func (e *etagMismatchError) ErrorFault() smithy.ErrorFault { return smithy.FaultServer }
func (e *etagMismatchError) Unwrap() error                 { return ErrTransient }
func (e *etagMismatchError) RetryableError() bool          { return true }

// withETagCheck makes UploadPart fail, retryably, when the server answers
// with a plain-MD5 ETag other than want (see Options.checkETags). ETags that
// are not plain MD5s are not judged.
func withETagCheck(part int32, want []byte) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("s3upETagCheck",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					if err != nil {
						return out, md, err
					}
					resp, ok := out.RawResponse.(*smithyhttp.Response)
					if !ok || resp.StatusCode != 200 {
						return out, md, err
					}
					etag := resp.Header.Get("ETag")
					if got, ok := etagMD5(etag); ok && !bytes.Equal(got, want) {
						return out, md, &etagMismatchError{part: part, etag: etag, md5: hex.EncodeToString(want)}
					}
					return out, md, err
				}), middleware.After)
		})
	}
}

// crc64Combine returns the CRC-64/NVME of A‖B given crc(A), crc(B) and len(B),
// by the zlib crc32_combine method over GF(2) (applied with the NVME poly).
func crc64Combine(crcA, crcB uint64, lenB int64) uint64 {
	if lenB <= 0 {
		return crcA
	}
	var even, odd [64]uint64
	odd[0] = crc64NVMEPoly
	row := uint64(1)
	for i := 1; i < 64; i++ {
		odd[i] = row
		row <<= 1
	}
	gf2Square(&even, &odd) // 2 zero bits
	gf2Square(&odd, &even) // 4 zero bits
	for {
		gf2Square(&even, &odd)
		if lenB&1 != 0 {
			crcA = gf2Times(&even, crcA)
		}
		lenB >>= 1
		if lenB == 0 {
			break
		}
		gf2Square(&odd, &even)
		if lenB&1 != 0 {
			crcA = gf2Times(&odd, crcA)
		}
		lenB >>= 1
		if lenB == 0 {
			break
		}
	}
	return crcA ^ crcB
}

func gf2Times(mat *[64]uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat *[64]uint64) {
	for n := 0; n < 64; n++ {
		square[n] = gf2Times(mat, mat[n])
	}
}
