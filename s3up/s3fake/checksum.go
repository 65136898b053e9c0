package s3fake

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// crc64NVMEPoly is the reflected CRC-64/NVME polynomial, as hash/crc64
// takes it.
const crc64NVMEPoly = 0x9a6c9329ac4bc9b5

var (
	crc32cTable    = crc32.MakeTable(crc32.Castagnoli)
	crc64nvmeTable = crc64.MakeTable(crc64NVMEPoly)
)

// newHash returns the hash of a supported flexible-checksum algorithm, nil
// for any other. Their Sum is the big-endian digest S3 encodes in base64.
func newHash(alg types.ChecksumAlgorithm) hash.Hash {
	switch alg {
	case types.ChecksumAlgorithmCrc32:
		return crc32.NewIEEE()
	case types.ChecksumAlgorithmCrc32c:
		return crc32.New(crc32cTable)
	case types.ChecksumAlgorithmCrc64nvme:
		return crc64.New(crc64nvmeTable)
	case types.ChecksumAlgorithmSha1:
		return sha1.New()
	case types.ChecksumAlgorithmSha256:
		return sha256.New()
	}
	return nil
}

// digestLen is the length of the raw digest of alg.
func digestLen(alg types.ChecksumAlgorithm) int { return newHash(alg).Size() }

// checksumOf returns the base64 checksum of data with alg.
func checksumOf(alg types.ChecksumAlgorithm, data []byte) string {
	h := newHash(alg)
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// compositeOf returns S3's COMPOSITE checksum of parts whose base64
// checksums are sums: base64(H(raw1‖…‖rawN))-N.
func compositeOf(alg types.ChecksumAlgorithm, sums []string) string {
	h := newHash(alg)
	for _, s := range sums {
		raw, _ := base64.StdEncoding.DecodeString(s) // stored values are valid
		h.Write(raw)
	}
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(sums))
}

// sum is a stored checksum: the algorithm and its base64 value ("" for
// none).
type sum struct {
	alg   types.ChecksumAlgorithm
	value string
	typ   types.ChecksumType // of an object: FULL_OBJECT or COMPOSITE
}

// sumFields points at the flexible-checksum fields of one SDK struct (an
// input, an output, a types.Part or a types.CompletedPart).
type sumFields struct {
	crc32, crc32c, crc64nvme, sha1, sha256 **string
	// Algorithms the SDK knows and the fake does not implement.
	md5, sha512, xxhash128, xxhash3, xxhash64 **string
}

func (s sumFields) field(alg types.ChecksumAlgorithm) **string {
	switch alg {
	case types.ChecksumAlgorithmCrc32:
		return s.crc32
	case types.ChecksumAlgorithmCrc32c:
		return s.crc32c
	case types.ChecksumAlgorithmCrc64nvme:
		return s.crc64nvme
	case types.ChecksumAlgorithmSha1:
		return s.sha1
	case types.ChecksumAlgorithmSha256:
		return s.sha256
	}
	return nil
}

var supportedAlgs = []types.ChecksumAlgorithm{
	types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme,
	types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256,
}

// set stores v in the field of s.alg (nothing for an empty sum).
func (s sumFields) set(v sum) {
	if v.value == "" {
		return
	}
	if p := s.field(v.alg); p != nil {
		*p = &v.value
	}
}

// given returns the checksums set in s, and whether one of an algorithm
// the fake does not implement is set.
func (s sumFields) given() (sums []sum, unsupported bool) {
	for _, alg := range supportedAlgs {
		if p := s.field(alg); p != nil && *p != nil {
			sums = append(sums, sum{alg: alg, value: **p})
		}
	}
	for _, p := range []**string{s.md5, s.sha512, s.xxhash128, s.xxhash3, s.xxhash64} {
		if p != nil && *p != nil {
			unsupported = true
		}
	}
	return sums, unsupported
}

func supported(alg types.ChecksumAlgorithm) bool { return newHash(alg) != nil }

func lower(alg types.ChecksumAlgorithm) string { return strings.ToLower(string(alg)) }

// checkBody validates the integrity values of a request body as S3 does:
// Content-MD5 (BadDigest), and at most one x-amz-checksum-* value, which
// must be well formed (InvalidRequest) and match the body (the configured
// checksum error code). It returns the flexible checksum to store: the one
// sent, or, when none was sent and alg is set, the one of alg computed from
// the body (the SDK computes and sends it when ChecksumAlgorithm is set and
// no value is; S3 computes a part's checksum with the upload's algorithm).
func (f *Fake) checkBody(op string, data []byte, contentMD5 *string, fields sumFields, alg types.ChecksumAlgorithm) (sum, error) {
	given, unsupported := fields.given()
	if unsupported || (alg != "" && !supported(alg)) {
		return sum{}, APIError(op, http.StatusNotImplemented, "NotImplemented", msgUnsupportedAlgo)
	}
	if len(given) > 1 {
		return sum{}, APIError(op, http.StatusBadRequest, "InvalidRequest", msgMultipleSums)
	}
	if err := f.checkMD5(op, data, contentMD5); err != nil {
		return sum{}, err
	}
	if f.cfg.ownSum != "" {
		return sum{alg: f.cfg.ownSum, value: checksumOf(f.cfg.ownSum, data)}, nil
	}
	if f.cfg.ignoreSums {
		return sum{}, nil
	}
	if len(given) == 0 {
		if alg == "" {
			return sum{}, nil
		}
		return sum{alg: alg, value: checksumOf(alg, data)}, nil
	}
	g := given[0]
	if alg != "" && alg != g.alg {
		return sum{}, APIError(op, http.StatusBadRequest, "InvalidRequest",
			fmt.Sprintf("Value for x-amz-sdk-checksum-algorithm header is invalid: %s, but x-amz-checksum-%s was sent.", alg, lower(g.alg)))
	}
	if raw, err := base64.StdEncoding.DecodeString(g.value); err != nil || len(raw) != digestLen(g.alg) {
		return sum{}, APIError(op, http.StatusBadRequest, "InvalidRequest",
			fmt.Sprintf("Value for x-amz-checksum-%s header is invalid.", lower(g.alg)))
	}
	if checksumOf(g.alg, data) != g.value {
		return sum{}, APIError(op, http.StatusBadRequest, f.cfg.checksumCode,
			fmt.Sprintf("The %s you specified did not match the calculated checksum.", g.alg))
	}
	return g, nil
}

// checkMD5 verifies a Content-MD5 value (unless [IgnoreContentMD5]).
func (f *Fake) checkMD5(op string, data []byte, contentMD5 *string) error {
	if contentMD5 == nil {
		return nil
	}
	want, err := base64.StdEncoding.DecodeString(*contentMD5)
	if err != nil || len(want) != md5.Size {
		return APIError(op, http.StatusBadRequest, "InvalidDigest", msgInvalidDigest)
	}
	if got := md5.Sum(data); string(got[:]) != string(want) && !f.cfg.ignoreMD5 {
		return APIError(op, http.StatusBadRequest, "BadDigest", msgBadDigest)
	}
	return nil
}

// sumsOf returns the checksum fields of v, a pointer to an SDK struct with
// ChecksumCRC32, ChecksumCRC32C, ... fields (inputs, outputs, types.Part,
// types.CompletedPart).
func sumsOf(v any) sumFields {
	rv := reflect.ValueOf(v).Elem()
	field := func(name string) **string {
		f := rv.FieldByName(name)
		if !f.IsValid() {
			return nil
		}
		return f.Addr().Interface().(**string)
	}
	return sumFields{
		crc32: field("ChecksumCRC32"), crc32c: field("ChecksumCRC32C"), crc64nvme: field("ChecksumCRC64NVME"),
		sha1: field("ChecksumSHA1"), sha256: field("ChecksumSHA256"),
		md5: field("ChecksumMD5"), sha512: field("ChecksumSHA512"),
		xxhash128: field("ChecksumXXHASH128"), xxhash3: field("ChecksumXXHASH3"), xxhash64: field("ChecksumXXHASH64"),
	}
}
