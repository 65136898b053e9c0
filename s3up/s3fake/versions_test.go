package s3fake_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/s3up/s3fake"
)

// twoVersions returns two part bodies whose MD5 ETags sort low, high.
func twoVersions() (low, high []byte) {
	a, b := []byte("version a"), []byte("version b")
	if md5ETag(a) > md5ETag(b) {
		a, b = b, a
	}
	return a, b
}

func listAll(t *testing.T, f *s3fake.Fake, key, id string, max int32) []string {
	t.Helper()
	in := &s3.ListPartsInput{Bucket: aws.String(bkt), Key: aws.String(key), UploadId: aws.String(id)}
	if max > 0 {
		in.MaxParts = aws.Int32(max)
	}
	var entries []string
	for {
		out := must(f.ListParts(ctx, in)).ok(t)
		for _, p := range out.Parts {
			entries = append(entries, fmt.Sprintf("%d %s", aws.ToInt32(p.PartNumber), aws.ToString(p.ETag)))
		}
		if !aws.ToBool(out.IsTruncated) {
			return entries
		}
		in.PartNumberMarker = out.NextPartNumberMarker
	}
}

// SeaweedFS keeps every upload of a part number; Complete picks by ETag.
func TestPartVersions(t *testing.T) {
	low, high := twoVersions()
	tail := []byte("tail")
	for _, order := range [][][]byte{{low, high}, {high, low}} {
		for _, pick := range [][]byte{low, high} {
			name := fmt.Sprintf("uploaded %q then %q, completing %q", order[0], order[1], pick)
			t.Run(name, func(t *testing.T) {
				f := newFake(t, s3fake.MinPartSize(0), s3fake.PartVersions())
				id := create(t, f, "k", "")
				uploadPart(t, f, "k", id, 1, order[0])
				uploadPart(t, f, "k", id, 1, order[1])
				uploadPart(t, f, "k", id, 2, tail)
				want := []string{"1 " + md5ETag(low), "1 " + md5ETag(high), "2 " + md5ETag(tail)}
				if got := listAll(t, f, "k", id, 0); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("ListParts %v, want %v (by part number, then ETag)", got, want)
				}
				if u, _ := f.Upload(bkt, id); len(u.Parts) != 3 {
					t.Fatalf("upload has %d part entries", len(u.Parts))
				}
				must(f.CompleteMultipartUpload(ctx, completeInput("k", id, cpart(1, md5ETag(pick)), cpart(2, md5ETag(tail))))).ok(t)
				o, _ := f.Object(bkt, "k")
				if wantData := append(append([]byte{}, pick...), tail...); !bytes.Equal(o.Data, wantData) {
					t.Errorf("object %q, want %q", o.Data, wantData)
				}
				if o.ETag != multipartETag(pick, tail) {
					t.Errorf("ETag %s, want %s", o.ETag, multipartETag(pick, tail))
				}
			})
		}
	}
}

// A page boundary inside the versions of a part number: the next page
// starts after that part number, so the other version is never listed.
func TestPartVersionsPageBoundary(t *testing.T) {
	low, high := twoVersions()
	f := newFake(t, s3fake.MinPartSize(0), s3fake.PartVersions())
	id := create(t, f, "k", "")
	uploadPart(t, f, "k", id, 1, high)
	uploadPart(t, f, "k", id, 1, low)
	uploadPart(t, f, "k", id, 2, []byte("two"))
	got := listAll(t, f, "k", id, 1)
	want := []string{"1 " + md5ETag(low), "2 " + md5ETag([]byte("two"))}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged ListParts %v, want %v", got, want)
	}
}

// Without the option a new upload of a part number replaces the old one.
func TestPartReplaced(t *testing.T) {
	low, high := twoVersions()
	f := newFake(t, s3fake.MinPartSize(0))
	id := create(t, f, "k", "")
	uploadPart(t, f, "k", id, 1, low)
	uploadPart(t, f, "k", id, 1, high)
	if got := listAll(t, f, "k", id, 0); fmt.Sprint(got) != fmt.Sprint([]string{"1 " + md5ETag(high)}) {
		t.Fatalf("ListParts %v", got)
	}
	_, err := f.CompleteMultipartUpload(ctx, completeInput("k", id, cpart(1, md5ETag(low))))
	wantErr(t, err, "CompleteMultipartUpload", 400, "InvalidPart")
	must(f.CompleteMultipartUpload(ctx, completeInput("k", id, cpart(1, md5ETag(high))))).ok(t)
}
