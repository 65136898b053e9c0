package s3fake

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// DefaultMinPartSize is AWS S3's minimum size of every part but the last of
// a multipart upload: 5 MiB.
const DefaultMinPartSize = 5 << 20

// DefaultChecksumErrorCode is the error code of a flexible-checksum
// mismatch (x-amz-checksum-* not matching the body): MinIO's spelling.
// AWS S3 and versitygw answer BadDigest; see [ChecksumErrorCode].
const DefaultChecksumErrorCode = "XAmzContentChecksumMismatch"

// An Option changes one behaviour of a [Fake] from AWS S3's to another
// store's. Options are given to [New] and fixed for the fake's life.
type Option func(*settings)

type settings struct {
	minPartSize    int64
	checksumCode   string
	hideChecksums  bool
	ignoreSums     bool
	ignoreMD5      bool
	ownSum         types.ChecksumAlgorithm
	noPartReplace  bool
	opaqueETags    bool
	partVersions   bool
	omitNextMarker bool
	lenientAbort   bool
	clock          func() time.Time
	seed           uint64
	seeded         bool
	hook           Hook
}

func defaults() settings {
	return settings{
		minPartSize:  DefaultMinPartSize,
		checksumCode: DefaultChecksumErrorCode,
		clock:        time.Now,
	}
}

// MinPartSize sets the minimum size of every part but the last that
// CompleteMultipartUpload accepts (EntityTooSmall below it). The default is
// [DefaultMinPartSize]; 0 accepts parts of any size, which keeps tests of
// many parts fast.
func MinPartSize(n int64) Option { return func(s *settings) { s.minPartSize = n } }

// ChecksumErrorCode sets the error code answered (status 400) when an
// x-amz-checksum-* value does not match the body. The default is
// [DefaultChecksumErrorCode], MinIO's; AWS S3 and versitygw answer
// "BadDigest".
func ChecksumErrorCode(code string) Option { return func(s *settings) { s.checksumCode = code } }

// HideChecksums makes the fake behave as Tencent COS and Alibaba OSS do:
// x-amz-checksum-* request values are accepted (and still verified against
// the body) but never stored or shown: UploadPart, PutObject,
// CompleteMultipartUpload, ListParts, HeadObject and GetObject report no
// checksum, CreateMultipartUpload and ListParts no checksum algorithm or
// type, and CompleteMultipartUpload requires no part checksums.
func HideChecksums() Option { return func(s *settings) { s.hideChecksums = true } }

// IgnoreChecksums makes the fake behave as a gateway that accepts any
// x-amz-checksum-* value without checking it: the values are neither
// verified against the body nor stored, and no answer shows a checksum (as
// [HideChecksums]). A body damaged on the way is stored as it arrived.
func IgnoreChecksums() Option {
	return func(s *settings) { s.hideChecksums, s.ignoreSums = true, true }
}

// IgnoreContentMD5 makes the fake accept any Content-MD5 without checking
// it, as some gateways do.
func IgnoreContentMD5() Option { return func(s *settings) { s.ignoreMD5 = true } }

// OwnChecksum makes the fake compute alg of every part and object whatever
// algorithm the request asked for or sent: checksums sent are not verified,
// every answer shows the checksum of alg (an object's as a COMPOSITE), and
// CompleteMultipartUpload requires no part checksums. Some stores answer a
// CRC32 where CRC32C was asked.
func OwnChecksum(alg types.ChecksumAlgorithm) Option { return func(s *settings) { s.ownSum = alg } }

// NoPartReplace makes UploadPart refuse a part number already stored with
// other bytes (501 NotImplemented "part N has already been streamed to the
// backend and cannot be replaced with different contents"), as rclone's
// serve s3 does when it streams parts to its backend; the same bytes again
// are accepted.
func NoPartReplace() Option { return func(s *settings) { s.noPartReplace = true } }

// OpaqueETags makes every part and object ETag a random 32-digit hex string
// instead of the MD5 of its bytes, as GCS, Tencent COS and SSE-KMS objects
// on AWS have. A multipart object's ETag is still
// "hex(md5(etag1‖…‖etagN))-N" over the (hex-decoded) part ETags.
func OpaqueETags() Option { return func(s *settings) { s.opaqueETags = true } }

// PartVersions makes multipart uploads keep every upload of a part number,
// as SeaweedFS does: ListParts lists each of them (entries of one part
// number ordered by ETag string), and CompleteMultipartUpload uses the one
// whose ETag the request names. Pages of ListParts count entries, and the
// next page starts after the part number of the last entry, so the other
// versions of a part number cut by a page boundary are never listed.
// Without this option a part number's new upload replaces the old one, as
// on AWS.
func PartVersions() Option { return func(s *settings) { s.partVersions = true } }

// OmitNextPartNumberMarker makes ListParts leave NextPartNumberMarker unset,
// even on a truncated page, as some stores do; clients must then continue
// after the last part listed.
func OmitNextPartNumberMarker() Option { return func(s *settings) { s.omitNextMarker = true } }

// AbortUnknownSucceeds makes AbortMultipartUpload of an unknown (aborted,
// completed or never created) upload id succeed, as MinIO does, instead of
// failing with NoSuchUpload as AWS does.
func AbortUnknownSucceeds() Option { return func(s *settings) { s.lenientAbort = true } }

// Clock sets the source of LastModified and Initiated times (default
// time.Now). It is called with the fake's lock held and must not call the
// fake.
func Clock(now func() time.Time) Option { return func(s *settings) { s.clock = now } }

// Seed seeds the generator of upload ids and opaque ETags, so that a test
// can reproduce them. Without it the seed
// is random. (Fault injection has its own seed: see [Chaos].)
func Seed(seed uint64) Option { return func(s *settings) { s.seed, s.seeded = seed, true } }

// OnCall installs the hook called before every operation; see
// [Fake.SetOnCall].
func OnCall(h Hook) Option { return func(s *settings) { s.hook = h } }
