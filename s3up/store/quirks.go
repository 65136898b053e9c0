package store

import (
	"net/http"
	"strings"
)

// How S3-compatible stores differ in what s3up relies on. This file and the
// answers table (answers.go) are the one place that knows. Workarounds
// detect behaviour from answers, never from a product name, so an unknown
// store that behaves like one of these gets the same treatment.
//
// ListMultipartUploads (s3up uploads, s3up gc, status/abort without state):
//
//	store              Prefix                 pagination (MaxUploads, KeyMarker, UploadIdMarker)
//	AWS S3, Ceph RGW,  key prefix             pages of ≤ 1,000; both markers honoured
//	Tencent COS
//	MinIO              exact object key only  one answer with every upload; markers and
//	                   ("a/" finds no upload  MaxUploads ignored, IsTruncated false.
//	                   of "a/one")            Without a Prefix it lists only uploads
//	                                          started since the server last restarted;
//	                                          older ones are invisible to s3up
//	versitygw (posix)  key prefix             pages of ≤ 1,000 and NextUploadIdMarker, but
//	                                          a request with UploadIdMarker is refused
//	                                          (InvalidArgument "Invalid uploadId marker");
//	                                          KeyMarker alone works
//
// Initiated times: AWS and MinIO report milliseconds; versitygw whole seconds.
//
// The workarounds, applied to every store:
//   - prefix listing: when a non-empty Prefix finds nothing, list without a
//     Prefix and filter on the client (PrefixListingEmpty);
//   - UploadIdMarker refused: fetch the boundary key's uploads with
//     Prefix=key, then continue with KeyMarker alone, which lists the keys
//     after it (RejectsUploadIDMarker).
//
// ListParts: an upload may list several entries for one part number
// (SeaweedFS keeps every upload of a part, ordered by ETag, and Complete
// takes the one it names); resume.Reconcile considers all of them. SeaweedFS
// skips parts when an upload holding part 10000 is listed in pages smaller
// than the upload, so ListAllParts leaves MaxParts to the store. Some
// stores omit NextPartNumberMarker (ListAllParts uses the last part number)
// and some answer a bare 404 for an upload that exists (UploadGone says
// such an answer is not certain).
//
// Flexible checksums (x-amz-checksum-*): refused by Backblaze B2 (400
// InvalidArgument "Unsupported header 'x-amz-checksum-crc32' received for
// this API call") and by R2 before 2025 (501 NotImplemented "Header
// 'x-amz-checksum-algorithm' ... not implemented"): RejectsChecksum.

// PrefixListingEmpty reports whether a listing for prefix that found n
// uploads must be redone without a Prefix and filtered locally, because the
// store may have matched the prefix as an exact key.
func PrefixListingEmpty(prefix string, n int) bool {
	return prefix != "" && n == 0
}

// RejectsUploadIDMarker reports whether err is a store refusing the
// UploadIdMarker of a ListMultipartUploads page request.
func RejectsUploadIDMarker(err error) bool {
	return Code(err) == "InvalidArgument" && strings.Contains(strings.ToLower(describeInner(err)), "marker")
}

// RejectsChecksum reports whether err is a store refusing S3 flexible
// checksums (the x-amz-checksum-* and x-amz-sdk-checksum-algorithm headers).
// Such a store still verifies Content-MD5.
func RejectsChecksum(err error) bool {
	switch Code(err) {
	case "InvalidArgument", "NotImplemented", "InvalidRequest":
	default:
		return false
	}
	m := strings.ToLower(describeInner(err))
	return strings.Contains(m, "x-amz-checksum") || strings.Contains(m, "x-amz-sdk-checksum") ||
		strings.Contains(m, "checksum algorithm") || strings.Contains(m, "checksumalgorithm")
}

// Unsupported reports whether err is a store saying it does not implement
// the operation itself (ListParts, ListMultipartUploads on some gateways):
// 501 NotImplemented or 405 MethodNotAllowed, by code or by status. For an
// operation that carried flexible checksums, RejectsChecksum decides first.
func Unsupported(err error) bool {
	switch Code(err) {
	case "NotImplemented", "MethodNotAllowed", "NotSupported":
		return true
	}
	st := HTTPStatus(err)
	return st == http.StatusNotImplemented || st == http.StatusMethodNotAllowed
}

// RefusesPartReplace reports whether err is a store refusing to replace a
// part of a multipart upload that it already holds with other bytes:
// rclone's serve s3 streaming to its backend ("NotImplemented: part 2 has
// already been streamed to the backend and cannot be replaced with
// different contents"), Alibaba OSS's sequential uploads (409
// PartAlreadyExist).
func RefusesPartReplace(err error) bool {
	switch Code(err) {
	case "PartAlreadyExist":
		return true
	case "NotImplemented", "InvalidRequest", "InvalidPart":
		m := strings.ToLower(describeInner(err))
		return strings.Contains(m, "cannot be replaced") || strings.Contains(m, "already been streamed") ||
			strings.Contains(m, "overwrite uploaded parts")
	}
	return false
}
