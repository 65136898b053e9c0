// Package checksum holds what s3up knows about integrity checks: the per-part
// algorithms a store can verify, how each is carried in the S3 API, one-pass
// hashing of a part, and how part checksums combine into the value a store
// reports for the whole object (composite "sum-N", full-object CRC, the
// multipart ETag), so the object can be checked without reading the file
// again.
package checksum

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Algorithm is a per-part integrity check sent to the server.
type Algorithm string

// The algorithms s3up offers. CRC32C is the default: it is computed in
// hardware (tens of GB/s), every store with flexible checksums accepts it,
// and its composite can be checked after completion.
const (
	CRC32C    Algorithm = "crc32c"
	CRC32     Algorithm = "crc32"
	CRC64NVME Algorithm = "crc64nvme"
	SHA256    Algorithm = "sha256"
	SHA1      Algorithm = "sha1"
	MD5       Algorithm = "md5" // Content-MD5: what every store verifies
	None      Algorithm = "none"

	Default = CRC32C
)

// All lists every accepted --checksum value.
var All = []Algorithm{CRC32C, CRC32, CRC64NVME, SHA256, SHA1, MD5, None}

// spec is one algorithm's row: how the SDK names it, how a store combines
// part checksums for it, and how to compute it.
type spec struct {
	sdk   types.ChecksumAlgorithm
	typ   types.ChecksumType // "" for algorithms that are not S3 flexible checksums
	index int                // position in a Fields set; -1 if not a flexible checksum
	hash  func() hash.Hash   // nil for None
}

var (
	crc32cTable    = crc32.MakeTable(crc32.Castagnoli)
	crc64nvmeTable = crc64.MakeTable(crc64NVMEPoly)
	crc64ecmaTable = crc64.MakeTable(crc64.ECMA)
)

// table is the one place that lists what each algorithm is. CRC64NVME exists
// in S3 only as a full-object checksum; the others are used as composites.
var table = map[Algorithm]spec{
	CRC32C:    {sdk: types.ChecksumAlgorithmCrc32c, typ: types.ChecksumTypeComposite, index: 0, hash: func() hash.Hash { return crc32.New(crc32cTable) }},
	CRC32:     {sdk: types.ChecksumAlgorithmCrc32, typ: types.ChecksumTypeComposite, index: 1, hash: func() hash.Hash { return crc32.NewIEEE() }},
	CRC64NVME: {sdk: types.ChecksumAlgorithmCrc64nvme, typ: types.ChecksumTypeFullObject, index: 2, hash: func() hash.Hash { return crc64.New(crc64nvmeTable) }},
	SHA256:    {sdk: types.ChecksumAlgorithmSha256, typ: types.ChecksumTypeComposite, index: 3, hash: sha256.New},
	SHA1:      {sdk: types.ChecksumAlgorithmSha1, typ: types.ChecksumTypeComposite, index: 4, hash: sha1.New},
	MD5:       {index: -1, hash: md5.New},
	None:      {index: -1},
}

// Parse parses a --checksum value ("" means Default).
func Parse(s string) (Algorithm, error) {
	if s == "" {
		return Default, nil
	}
	a := Algorithm(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := table[a]; ok {
		return a, nil
	}
	names := make([]string, len(All))
	for i, a := range All {
		names[i] = string(a)
	}
	return "", fmt.Errorf("unknown checksum %q (choose one of %s)", s, strings.Join(names, ", "))
}

// Flexible reports whether a is an S3 flexible checksum (x-amz-checksum-*).
func (a Algorithm) Flexible() bool { return table[a].index >= 0 && a != "" }

// SDK is the SDK's name for a flexible checksum ("" otherwise).
func (a Algorithm) SDK() types.ChecksumAlgorithm { return table[a].sdk }

// Type is how a store combines the part checksums of a multipart object:
// COMPOSITE (a checksum of the part checksums, "-N" suffix) or FULL_OBJECT
// (the checksum of the whole object, derived from the parts). "" for
// algorithms that are not flexible checksums.
func (a Algorithm) Type() types.ChecksumType { return table[a].typ }

// Header is the HTTP header that carries a flexible checksum
// (x-amz-checksum-crc32c, ...); "" for the others.
func (a Algorithm) Header() string {
	if !a.Flexible() {
		return ""
	}
	return "x-amz-checksum-" + string(a)
}

// Label is the algorithm's name as people read it, e.g. "CRC32C".
func (a Algorithm) Label() string { return strings.ToUpper(string(a)) }

// New returns a hash computing a (nil for None).
func (a Algorithm) New() hash.Hash {
	if h := table[a].hash; h != nil {
		return h()
	}
	return nil
}

// crc64NVMEPoly is the reflected CRC-64/NVME polynomial.
const crc64NVMEPoly = 0x9a6c9329ac4bc9b5
