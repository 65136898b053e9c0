package checksum

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Object is what a store reports for a multipart object whose parts carried
// the given base64 checksums (in part order, with the parts' sizes): for a
// COMPOSITE checksum the digest of the concatenated raw part digests with a
// "-N" suffix ("AbCd==-3"); for FULL_OBJECT the CRC of the whole object,
// derived from the part CRCs and sizes without reading the file again.
func Object(a Algorithm, typ types.ChecksumType, sums []string, sizes []int64) (string, error) {
	if len(sums) != len(sizes) {
		return "", fmt.Errorf("%d checksums for %d parts", len(sums), len(sizes))
	}
	raw := make([][]byte, len(sums))
	for i, s := range sums {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || s == "" {
			return "", fmt.Errorf("part %d checksum %q is not base64", i+1, s)
		}
		raw[i] = b
	}
	if typ == types.ChecksumTypeFullObject {
		return fullObject(a, raw, sizes)
	}
	h := a.New()
	if h == nil || !a.Flexible() {
		return "", fmt.Errorf("no composite checksum for %q", a)
	}
	for _, b := range raw {
		h.Write(b)
	}
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(raw)), nil
}

func fullObject(a Algorithm, raw [][]byte, sizes []int64) (string, error) {
	switch a {
	case CRC64NVME:
		crcs := make([]uint64, len(raw))
		for i, b := range raw {
			if len(b) != 8 {
				return "", fmt.Errorf("part %d: %s of %d bytes", i+1, a, len(b))
			}
			crcs[i] = binary.BigEndian.Uint64(b)
		}
		return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, CombineCRC64(crc64NVMEPoly, crcs, sizes))), nil
	case CRC32, CRC32C:
		poly := uint32(crc32.IEEE)
		if a == CRC32C {
			poly = crc32.Castagnoli
		}
		crcs := make([]uint32, len(raw))
		for i, b := range raw {
			if len(b) != 4 {
				return "", fmt.Errorf("part %d: %s of %d bytes", i+1, a, len(b))
			}
			crcs[i] = binary.BigEndian.Uint32(b)
		}
		return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, CombineCRC32(poly, crcs, sizes))), nil
	}
	return "", fmt.Errorf("no full-object checksum for %q", a)
}

// Same compares checksums, tolerating a store that omits (or adds) the "-N"
// part-count suffix of a composite.
func Same(got, want string) bool {
	if got == want {
		return got != ""
	}
	g, _, _ := strings.Cut(got, "-")
	w, _, _ := strings.Cut(want, "-")
	return g == w && g != ""
}

// CompositeETag is the multipart ETag S3 and most compatible stores report:
// md5(md5(p1)‖…‖md5(pN))-N, unquoted.
func CompositeETag(md5s [][]byte) string {
	h := md5.New()
	for _, m := range md5s {
		h.Write(m)
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(md5s))
}

// ETagMD5 returns the raw MD5 an ETag stands for, if it is a plain MD5 ETag
// (32 hex digits, optionally quoted). Multipart, encrypted-object and
// opaque ETags are not.
func ETagMD5(etag string) ([]byte, bool) {
	e := strings.Trim(etag, `"`)
	if len(e) != 32 {
		return nil, false
	}
	b, err := hex.DecodeString(e)
	return b, err == nil
}

// IsMultipartETag reports whether etag has the md5-of-md5s form with n parts.
func IsMultipartETag(etag string, n int) bool {
	e := strings.Trim(etag, `"`)
	h, count, ok := strings.Cut(e, "-")
	if !ok || count != fmt.Sprint(n) || len(h) != 32 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// CombineCRC64ECMA returns the CRC-64/ECMA (Go's crc64.ECMA, the variant
// Tencent COS and Alibaba OSS report as x-cos-hash-crc64ecma and
// x-oss-hash-crc64ecma) of the concatenated parts.
func CombineCRC64ECMA(crcs []uint64, sizes []int64) uint64 {
	return CombineCRC64(crc64.ECMA, crcs, sizes)
}

// CombineCRC64 returns the CRC of the concatenation of parts whose CRCs
// (reflected polynomial poly, initial value and final xor all ones, as Go's
// hash/crc64 computes them) and sizes are given.
func CombineCRC64(poly uint64, crcs []uint64, sizes []int64) uint64 {
	if len(crcs) == 0 {
		return 0
	}
	crc := crcs[0]
	for i := 1; i < len(crcs); i++ {
		crc = combine(64, poly, crc, crcs[i], sizes[i])
	}
	return crc
}

// CombineCRC32 is CombineCRC64 for 32-bit CRCs (hash/crc32's convention).
func CombineCRC32(poly uint32, crcs []uint32, sizes []int64) uint32 {
	if len(crcs) == 0 {
		return 0
	}
	crc := crcs[0]
	for i := 1; i < len(crcs); i++ {
		crc = uint32(combine(32, uint64(poly), uint64(crc), uint64(crcs[i]), sizes[i]))
	}
	return crc
}

// combine returns crc(A‖B) from crc(A), crc(B) and len(B), for a reflected
// CRC of the given width: zlib's crc32_combine, applying len(B) zero bytes
// to crc(A) by repeated squaring of the one-zero-bit operator over GF(2).
func combine(width int, poly, crcA, crcB uint64, lenB int64) uint64 {
	if lenB <= 0 {
		return crcA
	}
	var even, odd [64]uint64
	odd[0] = poly // the operator for one zero bit
	row := uint64(1)
	for i := 1; i < width; i++ {
		odd[i] = row
		row <<= 1
	}
	square(width, &even, &odd) // two zero bits
	square(width, &odd, &even) // four zero bits
	for {
		square(width, &even, &odd)
		if lenB&1 != 0 {
			crcA = times(&even, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
		square(width, &odd, &even)
		if lenB&1 != 0 {
			crcA = times(&odd, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
	}
	return crcA ^ crcB
}

func times(mat *[64]uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func square(width int, sq, mat *[64]uint64) {
	for n := 0; n < width; n++ {
		sq[n] = times(mat, mat[n])
	}
}
