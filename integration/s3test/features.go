package s3test

import (
	"fmt"
	"testing"
)

// Lacking lists, per server of the matrix, the features it is known not to
// support, with what it does instead. It is the one place where a test may
// learn that a server lacks something: SkipUnsupported skips only for the
// features listed here, and fails the test anywhere else, so a skip can
// never hide a regression on a server that should pass. Keep it in step
// with the README's compatibility table.
var Lacking = map[string]map[string]string{
	"minio": {
		"sse-s3": "refuses SSE-S3 without a configured KMS (NotImplemented)",
	},
	"versitygw": {
		"storage-class-REDUCED_REDUNDANCY": "accepts REDUCED_REDUNDANCY but stores and reports STANDARD",
		"sse-s3":                           "accepts x-amz-server-side-encryption: AES256 but neither encrypts nor reports it",
		"versioning":                       "started without a versioning directory (--versioning-dir), it refuses PutBucketVersioning: \"Versioning has not been configured for the gateway\"",
	},
	"seaweedfs": {
		"part-replace": "a part uploaded again is kept beside the first: ListParts lists every upload of a part number, and Complete takes the one it names",
	},
}

// Lacks reports whether srv is listed in Lacking as without feature, for a
// test that then checks what the server does instead (rather than skip).
func Lacks(srv *Server, feature string) bool {
	_, ok := Lacking[srv.Name][feature]
	return ok
}

// SkipUnsupported skips t because srv lacks feature, after the caller has
// proved it (how the server behaves is in detail). If the server is expected
// to support the feature, the test fails instead. An external server
// (S3UP_TEST_ENDPOINT) is not in the table, so its gaps are skipped with the
// reason printed.
func SkipUnsupported(t testing.TB, srv *Server, feature, detail string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(detail, args...)
	if srv.Name == "external" {
		t.Skipf("external server lacks %s: %s", feature, what)
	}
	why, ok := Lacking[srv.Name][feature]
	if !ok {
		t.Fatalf("%s should support %s, but: %s (if the server really lacks it, add it to s3test.Lacking and the README's compatibility table)", srv.Name, feature, what)
	}
	t.Skipf("%s lacks %s (%s): %s", srv.Name, feature, why, what)
}
