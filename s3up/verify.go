package s3up

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// objectHead is what HeadObject (or Complete's answer) says about an object.
type objectHead struct {
	size    int64
	etag    string
	sum     string             // checksum of the upload's algorithm, "" if not shown
	sumType types.ChecksumType // COMPOSITE or FULL_OBJECT, "" if not said
	native  store.Native       // the store's own checks (COS/OSS CRC-64, GCS x-goog-hash)
	raw     *s3.HeadObjectOutput
}

// objectCheck is the outcome of comparing an object with the parts it
// should be made of: what matched, what was not comparable and why, and
// the first mismatch.
type objectCheck struct {
	matched  []string // e.g. "size", "CRC32C checksum", "multipart ETag"
	value    string   // the strongest value that matched, for people
	notes    []string // checks that could not run, and why
	mismatch string   // "" when nothing contradicts the parts
}

// checkObject compares an object with the parts it should be made of. Every
// check the store's answers allow runs: the S3 checksum (as the store
// combines part checksums: composite or full object), the store's own
// CRC-64/ECMA (COS, OSS) or whole-object CRC32C (GCS), and the multipart
// ETag where the store's ETags are md5-of-md5s. The multipart ETag is
// evidence only when it matches: stores compute it differently (GCS, COS,
// OSS, R2 before 2023, SSE-KMS objects, a bucket's default encryption), so
// a mismatch never turns a good upload into a failure; it is reported as
// not used, and the other checks carry the proof.
func checkObject(o *objectHead, parts []resume.Part, alg checksum.Algorithm) objectCheck {
	var c objectCheck
	var total int64
	for _, p := range parts {
		total += p.Size
	}
	if o.size != total {
		c.mismatch = fmt.Sprintf("the object has %d bytes, the parts %d", o.size, total)
		return c
	}
	c.matched = append(c.matched, "size")
	if alg.Flexible() && o.sum != "" {
		want, err := objectChecksum(alg, o.sumType, parts)
		if err != nil || !checksum.Same(o.sum, want) {
			c.mismatch = fmt.Sprintf("the object's %s checksum is %s, the parts give %s", alg.Label(), o.sum, want)
			return c
		}
		c.matched, c.value = append(c.matched, alg.Label()+" checksum"), o.sum
	} else if alg.Flexible() {
		c.notes = append(c.notes, fmt.Sprintf("%s checksum not compared: the store does not show it (each part's was sent, and is checked by stores that check it)", alg.Label()))
	}
	if h := o.native.CRC64Header; h != "" {
		want, ok := combinedCRC64(parts)
		switch {
		case !ok:
			c.notes = append(c.notes, fmt.Sprintf("%s not compared: the CRC-64 of some parts kept from an earlier run is not known", h))
		case want != o.native.CRC64:
			c.mismatch = fmt.Sprintf("the store's %s is %d, the parts give %d", h, o.native.CRC64, want)
			return c
		default:
			c.matched = append(c.matched, "CRC-64/ECMA ("+h+")")
			if c.value == "" {
				c.value = strconv.FormatUint(want, 10)
			}
		}
	}
	if g := o.native.GoogCRC32C; g != "" {
		want, ok := fullCRC32C(parts, alg)
		switch {
		case !ok:
			c.notes = append(c.notes, "x-goog-hash crc32c not compared: the CRC32C of some parts is not known")
		case !checksum.Same(g, want):
			c.mismatch = fmt.Sprintf("the store's x-goog-hash crc32c is %s, the parts give %s", g, want)
			return c
		default:
			c.matched = append(c.matched, "CRC32C (x-goog-hash)")
			if c.value == "" {
				c.value = g
			}
		}
	}
	etag := strings.Trim(o.etag, `"`)
	md5s, plain := partMD5s(parts)
	switch {
	case !plain:
		c.notes = append(c.notes, "multipart ETag not compared: the part ETags are not MD5s")
	case checksum.CompositeETag(md5s) == etag:
		c.matched = append(c.matched, "multipart ETag")
		if c.value == "" {
			c.value = etag
		}
	default:
		c.notes = append(c.notes, "multipart ETag not used: it is not md5-of-md5s of the parts (this store computes it otherwise)")
	}
	return c
}

// verified reports whether anything beyond the size was proven.
func (c objectCheck) verified() bool { return c.mismatch == "" && len(c.matched) > 1 }

func (c objectCheck) method() string { return strings.Join(c.matched, ", ") }

// combinedCRC64 is the CRC-64/ECMA of the object made of parts, if every
// part's is known.
func combinedCRC64(parts []resume.Part) (uint64, bool) {
	crcs := make([]uint64, len(parts))
	sizes := make([]int64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p.CRC64ECMA, 10, 64)
		if err != nil {
			return 0, false
		}
		crcs[i], sizes[i] = v, p.Size
	}
	return checksum.CombineCRC64ECMA(crcs, sizes), true
}

// fullCRC32C is the CRC32C of the whole object made of parts, from each
// part's CRC32C: its checksum when that is a CRC32C, else its journalled
// digest.
func fullCRC32C(parts []resume.Part, alg checksum.Algorithm) (string, bool) {
	sums := make([]string, len(parts))
	sizes := make([]int64, len(parts))
	for i, p := range parts {
		switch {
		case alg == checksum.CRC32C && p.Checksum != "":
			sums[i] = p.Checksum
		case digestValue(p.Digest, checksum.CRC32C) != "":
			sums[i] = digestValue(p.Digest, checksum.CRC32C)
		default:
			return "", false
		}
		sizes[i] = p.Size
	}
	s, err := checksum.Object(checksum.CRC32C, types.ChecksumTypeFullObject, sums, sizes)
	return s, err == nil
}

// checkSingle compares an object stored with one PutObject with the part it
// is: its size, its checksum (the part's own), the store's native checks,
// and its ETag, which most stores make the MD5 of the bytes (not with
// SSE-KMS, nor on stores with opaque ETags: then it is not used).
func checkSingle(o *objectHead, p resume.Part, alg checksum.Algorithm, md5 []byte) objectCheck {
	var c objectCheck
	if o.size != p.Size {
		c.mismatch = fmt.Sprintf("the object has %d bytes, the source %d", o.size, p.Size)
		return c
	}
	c.matched = append(c.matched, "size")
	if alg.Flexible() && o.sum != "" {
		if !checksum.Same(o.sum, p.Checksum) {
			c.mismatch = fmt.Sprintf("the object's %s checksum is %s, the source has %s", alg.Label(), o.sum, p.Checksum)
			return c
		}
		c.matched, c.value = append(c.matched, alg.Label()+" checksum"), o.sum
	} else if alg.Flexible() {
		c.notes = append(c.notes, fmt.Sprintf("%s checksum not compared: the store does not show it", alg.Label()))
	}
	if h := o.native.CRC64Header; h != "" {
		if want := strconv.FormatUint(o.native.CRC64, 10); p.CRC64ECMA != "" && want != p.CRC64ECMA {
			c.mismatch = fmt.Sprintf("the store's %s is %s, the source has %s", h, want, p.CRC64ECMA)
			return c
		} else if p.CRC64ECMA != "" {
			c.matched = append(c.matched, "CRC-64/ECMA ("+h+")")
		}
	}
	if g := o.native.GoogCRC32C; g != "" {
		if want := digestValue(p.Digest, checksum.CRC32C); g != want {
			c.mismatch = fmt.Sprintf("the store's x-goog-hash crc32c is %s, the source has %s", g, want)
			return c
		}
		c.matched = append(c.matched, "CRC32C (x-goog-hash)")
	}
	if m, ok := checksum.ETagMD5(o.etag); ok && bytes.Equal(m, md5) {
		c.matched = append(c.matched, "ETag (MD5)")
		if c.value == "" {
			c.value = strings.Trim(o.etag, `"`)
		}
	} else {
		c.notes = append(c.notes, "ETag not used: it is not the MD5 of the bytes (SSE-KMS, or this store's ETags are opaque)")
	}
	return c
}
