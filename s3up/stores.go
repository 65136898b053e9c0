package s3up

import (
	"strings"
)

// How S3-compatible stores differ in what s3up relies on. This file is the
// one place that knows (error spellings, such as NoSuchUpload versus
// NoSuchKey, are classified in errors.go). Workarounds detect behaviour from
// answers, never from a product name, so an unknown store that behaves like
// one of these gets the same treatment.
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
//     Prefix and filter on the client (prefixListingEmpty);
//   - UploadIdMarker refused: fetch the boundary key's uploads with
//     Prefix=key, then continue with KeyMarker alone, which lists the keys
//     after it (rejectsUploadIDMarker).

// prefixListingEmpty reports whether a listing for prefix that found n
// uploads must be redone without a Prefix and filtered locally, because the
// store may have matched the prefix as an exact key.
func prefixListingEmpty(prefix string, n int) bool {
	return prefix != "" && n == 0
}

// rejectsUploadIDMarker reports whether err is a store refusing the
// UploadIdMarker of a ListMultipartUploads page request.
func rejectsUploadIDMarker(err error) bool {
	if apiCode(err) != "InvalidArgument" {
		return false
	}
	return strings.Contains(strings.ToLower(describe(err)), "marker")
}
