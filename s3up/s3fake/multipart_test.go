package s3fake_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3up/s3up/s3up/s3fake"
)

func TestMultipartRoundTrip(t *testing.T) {
	clock := newClock()
	f := newFake(t, s3fake.MinPartSize(0), s3fake.Clock(clock.now))
	co := must(f.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bkt), Key: aws.String("dir/obj"),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"Source-Mtime": " 12345 "}})).ok(t)
	id := aws.ToString(co.UploadId)
	if id == "" || aws.ToString(co.Key) != "dir/obj" || aws.ToString(co.Bucket) != bkt {
		t.Fatalf("create answered %+v", co)
	}
	parts := [][]byte{payload(1, 100), payload(2, 100), payload(3, 42)}
	var completed []types.CompletedPart
	for i, p := range parts {
		out := uploadPart(t, f, "dir/obj", id, int32(i+1), p)
		if aws.ToString(out.ETag) != md5ETag(p) {
			t.Errorf("part %d ETag %s, want %s", i+1, aws.ToString(out.ETag), md5ETag(p))
		}
		completed = append(completed, cpart(int32(i+1), aws.ToString(out.ETag)))
	}
	ups := f.Uploads(bkt)
	if len(ups) != 1 || ups[0].ID != id || len(ups[0].Parts) != 3 || ups[0].ContentType != "text/plain" {
		t.Fatalf("uploads %+v", ups)
	}
	lp := must(f.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bkt), Key: aws.String("dir/obj"), UploadId: aws.String(id)})).ok(t)
	if len(lp.Parts) != 3 || aws.ToBool(lp.IsTruncated) || aws.ToString(lp.NextPartNumberMarker) != "3" ||
		aws.ToString(lp.PartNumberMarker) != "0" || aws.ToInt32(lp.MaxParts) != 1000 {
		t.Fatalf("ListParts %+v", lp)
	}
	for i, p := range lp.Parts {
		if aws.ToInt32(p.PartNumber) != int32(i+1) || aws.ToInt64(p.Size) != int64(len(parts[i])) ||
			aws.ToString(p.ETag) != md5ETag(parts[i]) || p.LastModified == nil || p.LastModified.IsZero() {
			t.Errorf("part %d: %+v", i+1, p)
		}
	}
	cout := must(f.CompleteMultipartUpload(ctx, completeInput("dir/obj", id, completed...))).ok(t)
	want := bytes.Join(parts, nil)
	if aws.ToString(cout.ETag) != multipartETag(parts...) {
		t.Errorf("object ETag %s, want %s", aws.ToString(cout.ETag), multipartETag(parts...))
	}
	o, ok := f.Object(bkt, "dir/obj")
	if !ok || !bytes.Equal(o.Data, want) || o.ETag != multipartETag(parts...) || o.Metadata["source-mtime"] != "12345" ||
		len(o.PartSizes) != 3 || o.ContentType != "text/plain" {
		t.Fatalf("object %+v", o)
	}
	if len(f.Uploads(bkt)) != 0 {
		t.Error("the upload is still listed")
	}
	head := must(f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("dir/obj")})).ok(t)
	if aws.ToInt64(head.ContentLength) != int64(len(want)) || aws.ToString(head.ContentType) != "text/plain" ||
		head.Metadata["source-mtime"] != "12345" || aws.ToString(head.ETag) != multipartETag(parts...) {
		t.Errorf("head %+v", head)
	}
	// HeadObject of part 3: its size, and how many parts.
	head = must(f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("dir/obj"), PartNumber: aws.Int32(3)})).ok(t)
	if aws.ToInt64(head.ContentLength) != 42 || aws.ToInt32(head.PartsCount) != 3 || aws.ToString(head.ContentRange) != "bytes 200-241/242" {
		t.Errorf("head part 3: length %d, parts %d, range %s", aws.ToInt64(head.ContentLength), aws.ToInt32(head.PartsCount), aws.ToString(head.ContentRange))
	}
	_, err := f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("dir/obj"), PartNumber: aws.Int32(4)})
	wantErr(t, err, "HeadObject", 416, "RequestedRangeNotSatisfiable")
	get := must(f.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("dir/obj"), PartNumber: aws.Int32(2)})).ok(t)
	if b, _ := io.ReadAll(get.Body); !bytes.Equal(b, parts[1]) {
		t.Error("GetObject of part 2 is not part 2")
	}
}

func TestListPartsPaging(t *testing.T) {
	const n = 2500
	f := newFake(t, s3fake.MinPartSize(0))
	id := create(t, f, "k", "")
	// Upload in a shuffled order: listings are in part order anyway.
	order := rand.Perm(n)
	etags := make([]string, n+1)
	for _, i := range order {
		etags[i+1] = aws.ToString(uploadPart(t, f, "k", id, int32(i+1), []byte(strconv.Itoa(i+1))).ETag)
	}
	in := &s3.ListPartsInput{Bucket: aws.String(bkt), Key: aws.String("k"), UploadId: aws.String(id)}

	// Default pages: 1000, 1000, 500.
	var marker *string
	next := int32(1)
	for page, want := range []int{1000, 1000, 500} {
		in.PartNumberMarker = marker
		out := must(f.ListParts(ctx, in)).ok(t)
		if len(out.Parts) != want {
			t.Fatalf("page %d: %d parts, want %d", page, len(out.Parts), want)
		}
		for _, p := range out.Parts {
			if aws.ToInt32(p.PartNumber) != next || aws.ToString(p.ETag) != etags[next] {
				t.Fatalf("page %d: part %d (%s), want %d (%s)", page, aws.ToInt32(p.PartNumber), aws.ToString(p.ETag), next, etags[next])
			}
			next++
		}
		if last := page == 2; aws.ToBool(out.IsTruncated) == last {
			t.Fatalf("page %d: IsTruncated %v", page, aws.ToBool(out.IsTruncated))
		}
		if got, want := aws.ToString(out.NextPartNumberMarker), strconv.Itoa(int(next-1)); got != want {
			t.Fatalf("page %d: NextPartNumberMarker %s, want %s", page, got, want)
		}
		if got, want := aws.ToString(out.PartNumberMarker), aws.ToString(marker); marker != nil && got != want {
			t.Fatalf("page %d: PartNumberMarker %s, want %s", page, got, want)
		}
		marker = out.NextPartNumberMarker
	}

	// MaxParts above 1,000 is capped; small pages walk every part.
	in.PartNumberMarker, in.MaxParts = nil, aws.Int32(5000)
	if out := must(f.ListParts(ctx, in)).ok(t); len(out.Parts) != 1000 || aws.ToInt32(out.MaxParts) != 1000 {
		t.Fatalf("MaxParts 5000: %d parts, MaxParts %d", len(out.Parts), aws.ToInt32(out.MaxParts))
	}
	in.MaxParts = aws.Int32(333)
	seen := 0
	for pages := 0; ; pages++ {
		out := must(f.ListParts(ctx, in)).ok(t)
		seen += len(out.Parts)
		if !aws.ToBool(out.IsTruncated) {
			if pages != n/333 {
				t.Errorf("%d pages", pages+1)
			}
			break
		}
		in.PartNumberMarker = out.NextPartNumberMarker
	}
	if seen != n {
		t.Fatalf("walked %d parts, want %d", seen, n)
	}
	// Past the end: an empty, complete page.
	in.PartNumberMarker, in.MaxParts = aws.String("2500"), nil
	if out := must(f.ListParts(ctx, in)).ok(t); len(out.Parts) != 0 || aws.ToBool(out.IsTruncated) {
		t.Fatalf("past the end: %+v", out)
	}
	in.PartNumberMarker = aws.String("x")
	_, err := f.ListParts(ctx, in)
	wantErr(t, err, "ListParts", 400, "InvalidArgument")
	in.PartNumberMarker, in.MaxParts = nil, aws.Int32(-1)
	_, err = f.ListParts(ctx, in)
	wantErr(t, err, "ListParts", 400, "InvalidArgument")

	// All 2,500 complete.
	var cps []types.CompletedPart
	for i := 1; i <= n; i++ {
		cps = append(cps, cpart(int32(i), etags[i]))
	}
	must(f.CompleteMultipartUpload(ctx, completeInput("k", id, cps...))).ok(t)
	if o, _ := f.Object(bkt, "k"); len(o.PartSizes) != n || !strings.HasSuffix(o.ETag, "-2500\"") {
		t.Errorf("object of %d parts, ETag %s", len(o.PartSizes), o.ETag)
	}
}

func TestOmitNextPartNumberMarker(t *testing.T) {
	f := newFake(t, s3fake.MinPartSize(0), s3fake.OmitNextPartNumberMarker())
	id := create(t, f, "k", "")
	for i := int32(1); i <= 3; i++ {
		uploadPart(t, f, "k", id, i, []byte{byte(i)})
	}
	out := must(f.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bkt), Key: aws.String("k"), UploadId: aws.String(id), MaxParts: aws.Int32(2)})).ok(t)
	if len(out.Parts) != 2 || !aws.ToBool(out.IsTruncated) || out.NextPartNumberMarker != nil {
		t.Fatalf("page: %d parts, truncated %v, next %v", len(out.Parts), aws.ToBool(out.IsTruncated), out.NextPartNumberMarker)
	}
}

// The default 5 MiB rule of AWS.
func TestMinPartSizeDefault(t *testing.T) {
	f := newFake(t)
	big := make([]byte, s3fake.DefaultMinPartSize)
	small := big[:s3fake.DefaultMinPartSize-1]
	id := create(t, f, "k", "")
	e1 := aws.ToString(uploadPart(t, f, "k", id, 1, small).ETag)
	e2 := aws.ToString(uploadPart(t, f, "k", id, 2, []byte("tail")).ETag)
	_, err := f.CompleteMultipartUpload(ctx, completeInput("k", id, cpart(1, e1), cpart(2, e2)))
	wantErr(t, err, "CompleteMultipartUpload", 400, "EntityTooSmall")
	if len(f.Uploads(bkt)) != 1 {
		t.Fatal("a refused complete removed the upload")
	}
	// A lone small part is the last part: fine.
	id2 := create(t, f, "one", "")
	e := aws.ToString(uploadPart(t, f, "one", id2, 1, []byte("tiny")).ETag)
	must(f.CompleteMultipartUpload(ctx, completeInput("one", id2, cpart(1, e)))).ok(t)
	// 5 MiB exactly, then a small last part.
	e1 = aws.ToString(uploadPart(t, f, "k", id, 1, big).ETag)
	must(f.CompleteMultipartUpload(ctx, completeInput("k", id, cpart(1, e1), cpart(2, e2)))).ok(t)
	if o, _ := f.Object(bkt, "k"); len(o.Data) != s3fake.DefaultMinPartSize+4 {
		t.Errorf("object of %d bytes", len(o.Data))
	}
}

func TestCompleteErrors(t *testing.T) {
	f := newFake(t, s3fake.MinPartSize(0))
	id := create(t, f, "k", "")
	e1 := aws.ToString(uploadPart(t, f, "k", id, 1, []byte("one")).ETag)
	e2 := aws.ToString(uploadPart(t, f, "k", id, 2, []byte("two")).ETag)
	e3 := aws.ToString(uploadPart(t, f, "k", id, 3, []byte("three")).ETag)
	for _, c := range []struct {
		name  string
		parts []types.CompletedPart
		code  string
	}{
		{"descending", []types.CompletedPart{cpart(2, e2), cpart(1, e1)}, "InvalidPartOrder"},
		{"duplicate", []types.CompletedPart{cpart(1, e1), cpart(1, e1)}, "InvalidPartOrder"},
		{"wrong etag", []types.CompletedPart{cpart(1, e1), cpart(2, e1)}, "InvalidPart"},
		{"missing part", []types.CompletedPart{cpart(1, e1), cpart(4, e3)}, "InvalidPart"},
		{"no parts", nil, "MalformedXML"},
	} {
		_, err := f.CompleteMultipartUpload(ctx, completeInput("k", id, c.parts...))
		wantErr(t, err, "CompleteMultipartUpload", 400, c.code)
	}
	// Another key does not find the upload.
	_, err := f.CompleteMultipartUpload(ctx, completeInput("other", id, cpart(1, e1)))
	wantErr(t, err, "CompleteMultipartUpload", 404, "NoSuchUpload")
	// Quotes are optional; a subset with gaps is fine.
	must(f.CompleteMultipartUpload(ctx, completeInput("k", id, cpart(1, strings.Trim(e1, `"`)), cpart(3, e3)))).ok(t)
	if o, _ := f.Object(bkt, "k"); string(o.Data) != "onethree" {
		t.Errorf("object %q", o.Data)
	}

	// The upload is gone for every operation; only Abort models the type.
	_, err = f.UploadPart(ctx, partInput("k", id, 2, []byte("x")))
	wantErr(t, err, "UploadPart", 404, "NoSuchUpload")
	_, err = f.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bkt), Key: aws.String("k"), UploadId: aws.String(id)})
	wantErr(t, err, "ListParts", 404, "NoSuchUpload")
	var nsu *types.NoSuchUpload
	if errors.As(err, &nsu) {
		t.Error("ListParts returned the modelled NoSuchUpload, which the SDK does not")
	}
	_, err = f.CompleteMultipartUpload(ctx, completeInput("k", id, cpart(1, e1)))
	wantErr(t, err, "CompleteMultipartUpload", 404, "NoSuchUpload")
	_, err = f.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bkt), Key: aws.String("k"), UploadId: aws.String(id)})
	wantErr(t, err, "AbortMultipartUpload", 404, "NoSuchUpload")
	if !errors.As(err, &nsu) {
		t.Errorf("Abort: %v is not *types.NoSuchUpload", err)
	}
}

func TestPartNumberRange(t *testing.T) {
	f := newFake(t)
	id := create(t, f, "k", "")
	for _, n := range []int32{0, -1, 10001} {
		body := &countingReader{r: strings.NewReader("data")}
		in := partInput("k", id, n, nil)
		in.Body, in.ContentLength = body, aws.Int64(4)
		_, err := f.UploadPart(ctx, in)
		wantErr(t, err, "UploadPart", 400, "InvalidArgument")
		if body.n != 0 {
			t.Errorf("part %d: the body was read", n)
		}
	}
	uploadPart(t, f, "k", id, 10000, []byte("last"))
	uploadPart(t, f, "k", id, 1, []byte("first"))
	// A missing upload is refused before the body is read too.
	body := &countingReader{r: strings.NewReader("data")}
	in := partInput("k", "nope", 1, nil)
	in.Body = body
	_, err := f.UploadPart(ctx, in)
	wantErr(t, err, "UploadPart", 404, "NoSuchUpload")
	if body.n != 0 || f.BytesReceived() != 9 {
		t.Errorf("read %d bytes of a refused part; %d received", body.n, f.BytesReceived())
	}
}

func TestAbort(t *testing.T) {
	for _, lenient := range []bool{false, true} {
		t.Run(fmt.Sprint("lenient=", lenient), func(t *testing.T) {
			var opts []s3fake.Option
			if lenient {
				opts = append(opts, s3fake.AbortUnknownSucceeds())
			}
			f := newFake(t, opts...)
			id := create(t, f, "k", "")
			uploadPart(t, f, "k", id, 1, []byte("x"))
			in := &s3.AbortMultipartUploadInput{Bucket: aws.String(bkt), Key: aws.String("k"), UploadId: aws.String(id)}
			must(f.AbortMultipartUpload(ctx, in)).ok(t)
			if len(f.Uploads(bkt)) != 0 {
				t.Fatal("aborted upload still there")
			}
			_, err := f.AbortMultipartUpload(ctx, in)
			if lenient {
				if err != nil {
					t.Fatalf("second abort: %v", err)
				}
			} else {
				wantErr(t, err, "AbortMultipartUpload", 404, "NoSuchUpload")
			}
			// The bucket must exist, lenient or not.
			in.Bucket = aws.String("nope")
			_, err = f.AbortMultipartUpload(ctx, in)
			wantErr(t, err, "AbortMultipartUpload", 404, "NoSuchBucket")
		})
	}
}

func TestOpaqueETags(t *testing.T) {
	f := newFake(t, s3fake.MinPartSize(0), s3fake.OpaqueETags(), s3fake.Seed(7))
	data := []byte("same bytes")
	id := create(t, f, "k", "")
	e1 := aws.ToString(uploadPart(t, f, "k", id, 1, data).ETag)
	e1b := aws.ToString(uploadPart(t, f, "k", id, 1, data).ETag)
	if e1 == md5ETag(data) || e1 == e1b || len(e1) != 34 {
		t.Fatalf("ETags %s %s of the same bytes (md5 %s)", e1, e1b, md5ETag(data))
	}
	e2 := aws.ToString(uploadPart(t, f, "k", id, 2, data).ETag)
	cout := must(f.CompleteMultipartUpload(ctx, completeInput("k", id, cpart(1, e1b), cpart(2, e2)))).ok(t)
	if want := etagOfETags(e1b, e2); aws.ToString(cout.ETag) != want {
		t.Errorf("object ETag %s, want %s", aws.ToString(cout.ETag), want)
	}
	if pe := aws.ToString(put(t, f, "p", data).ETag); pe == md5ETag(data) {
		t.Error("PutObject has an MD5 ETag")
	}
	// The same seed gives the same ETags and upload ids.
	g := newFake(t, s3fake.MinPartSize(0), s3fake.OpaqueETags(), s3fake.Seed(7))
	if id2 := create(t, g, "k", ""); id2 != id {
		t.Errorf("upload id %s, want %s", id2, id)
	}
	if e := aws.ToString(uploadPart(t, g, "k", id, 1, data).ETag); e != e1 {
		t.Errorf("ETag %s, want %s", e, e1)
	}
}

// etagOfETags is md5 over the hex-decoded part ETags, "-N".
func etagOfETags(etags ...string) string {
	var raw [][]byte
	for _, e := range etags {
		b := make([]byte, 16)
		fmt.Sscanf(strings.Trim(e, `"`), "%x", &b)
		raw = append(raw, b)
	}
	h := md5Sum(bytes.Join(raw, nil))
	return fmt.Sprintf(`"%x-%d"`, h, len(etags))
}

func TestAPIErrorOnOperationsIsSmithy(t *testing.T) {
	f := newFake(t)
	_, err := f.UploadPart(ctx, partInput("k", "nope", 1, []byte("x")))
	var gen *smithy.GenericAPIError
	if !errors.As(err, &gen) || gen.Code != "NoSuchUpload" {
		t.Fatalf("%v: want a GenericAPIError NoSuchUpload", err)
	}
}
