package s3fake_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/s3up/s3fake"
)

func TestObjectRoundTrip(t *testing.T) {
	clock := newClock()
	f := newFake(t, s3fake.Clock(clock.now))
	data := payload(1, 1234)
	out := must(f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("a/b.txt"),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		ContentType: aws.String("text/plain"), CacheControl: aws.String("no-cache"),
		Metadata: map[string]string{"Source-Size": "1234"}})).ok(t)
	if aws.ToString(out.ETag) != md5ETag(data) {
		t.Errorf("ETag %s", aws.ToString(out.ETag))
	}
	if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !ok || id == "" {
		t.Error("no request id in ResultMetadata")
	}
	head := must(f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("a/b.txt")})).ok(t)
	stored, _ := f.Object(bkt, "a/b.txt")
	if aws.ToInt64(head.ContentLength) != 1234 || aws.ToString(head.ETag) != md5ETag(data) ||
		aws.ToString(head.ContentType) != "text/plain" || aws.ToString(head.CacheControl) != "no-cache" ||
		head.Metadata["source-size"] != "1234" || head.PartsCount != nil {
		t.Errorf("head %+v", head)
	}
	if !head.LastModified.Equal(stored.LastModified.Truncate(time.Second)) || head.LastModified.Equal(stored.LastModified) {
		t.Errorf("HeadObject LastModified %v, stored %v: want whole seconds", head.LastModified, stored.LastModified)
	}
	get := must(f.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("a/b.txt")})).ok(t)
	if b, _ := io.ReadAll(get.Body); !bytes.Equal(b, data) || aws.ToInt64(get.ContentLength) != 1234 || get.ContentRange != nil {
		t.Error("GetObject body differs")
	}
	must(f.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bkt), Key: aws.String("a/b.txt")})).ok(t)
	must(f.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bkt), Key: aws.String("a/b.txt")})).ok(t)

	_, err := f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("a/b.txt")})
	wantErr(t, err, "HeadObject", 404, "NotFound")
	var nf *types.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("%v is not *types.NotFound", err)
	}
	_, err = f.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("a/b.txt")})
	wantErr(t, err, "GetObject", 404, "NoSuchKey")
	var nsk *types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("%v is not *types.NoSuchKey", err)
	}
}

func TestDefaultContentType(t *testing.T) {
	f := newFake(t)
	put(t, f, "k", []byte("x"))
	head := must(f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("k")})).ok(t)
	if aws.ToString(head.ContentType) != "binary/octet-stream" {
		t.Errorf("content type %q", aws.ToString(head.ContentType))
	}
}

func TestGetObjectRange(t *testing.T) {
	f := newFake(t)
	put(t, f, "k", []byte("0123456789"))
	for _, c := range []struct{ rng, body, cr string }{
		{"bytes=2-4", "234", "bytes 2-4/10"},
		{"bytes=7-", "789", "bytes 7-9/10"},
		{"bytes=-3", "789", "bytes 7-9/10"},
		{"bytes=8-100", "89", "bytes 8-9/10"},
	} {
		out := must(f.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), Range: aws.String(c.rng)})).ok(t)
		b, _ := io.ReadAll(out.Body)
		if string(b) != c.body || aws.ToString(out.ContentRange) != c.cr || aws.ToInt64(out.ContentLength) != int64(len(c.body)) {
			t.Errorf("%s: %q %s", c.rng, b, aws.ToString(out.ContentRange))
		}
	}
	for _, rng := range []string{"bytes=10-", "bytes=5-2", "items=1-2", "bytes=1-2,4-5", "bytes=-0"} {
		_, err := f.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), Range: aws.String(rng)})
		wantErr(t, err, "GetObject", 416, "InvalidRange")
	}
}

func TestGetObjectChecksum(t *testing.T) {
	f := newFake(t)
	data := []byte("checksummed")
	sum := b64(rawSum(types.ChecksumAlgorithmCrc32, data))
	must(f.PutObject(ctx, putInputWithSum("k", data, types.ChecksumAlgorithmCrc32, sum))).ok(t)
	out := must(f.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("k")})).ok(t)
	if out.ChecksumCRC32 != nil {
		t.Error("checksum without ChecksumMode")
	}
	out = must(f.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})).ok(t)
	if aws.ToString(out.ChecksumCRC32) != sum || out.ChecksumType != types.ChecksumTypeFullObject {
		t.Errorf("checksum %q %q", aws.ToString(out.ChecksumCRC32), out.ChecksumType)
	}
	if o, _ := f.Object(bkt, "k"); o.Checksum != sum || o.ChecksumAlgorithm != types.ChecksumAlgorithmCrc32 {
		t.Errorf("stored %+v", o)
	}
}

func TestConditionalPut(t *testing.T) {
	f := newFake(t)
	in := func(body string) *s3.PutObjectInput {
		return &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), Body: strings.NewReader(body)}
	}
	first := in("first")
	first.IfNoneMatch = aws.String("*")
	etag := aws.ToString(must(f.PutObject(ctx, first)).ok(t).ETag)
	second := in("second")
	second.IfNoneMatch = aws.String("*")
	_, err := f.PutObject(ctx, second)
	wantErr(t, err, "PutObject", 412, "PreconditionFailed")
	third := in("third")
	third.IfMatch = aws.String(`"0000"`)
	_, err = f.PutObject(ctx, third)
	wantErr(t, err, "PutObject", 412, "PreconditionFailed")
	third = in("third") // the refused call read the body
	third.IfMatch = aws.String(etag)
	must(f.PutObject(ctx, third)).ok(t)
	if o, _ := f.Object(bkt, "k"); string(o.Data) != "third" {
		t.Errorf("object %q", o.Data)
	}
	// HeadObject honours IfMatch too.
	_, err = f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), IfMatch: aws.String(etag)})
	wantErr(t, err, "HeadObject", 412, "PreconditionFailed")
}

func TestDeleteObjects(t *testing.T) {
	f := newFake(t)
	for _, k := range []string{"a", "b", "c"} {
		put(t, f, k, []byte(k))
	}
	ids := []types.ObjectIdentifier{{Key: aws.String("a")}, {Key: aws.String("missing")}}
	out := must(f.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bkt), Delete: &types.Delete{Objects: ids}})).ok(t)
	if len(out.Deleted) != 2 || len(out.Errors) != 0 {
		t.Errorf("deleted %d, errors %d", len(out.Deleted), len(out.Errors))
	}
	out = must(f.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bkt),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("b")}}, Quiet: aws.Bool(true)}})).ok(t)
	if len(out.Deleted) != 0 {
		t.Error("quiet delete listed keys")
	}
	if keys := f.ObjectKeys(bkt); len(keys) != 1 || keys[0] != "c" {
		t.Errorf("keys left %v", keys)
	}
	_, err := f.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bkt), Delete: &types.Delete{}})
	wantErr(t, err, "DeleteObjects", 400, "MalformedXML")
}

func TestHeadBucket(t *testing.T) {
	f := newFake(t)
	must(f.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bkt)})).ok(t)
	_, err := f.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("other")})
	wantErr(t, err, "HeadBucket", 404, "NotFound")
	f.CreateBucket("other")
	f.CreateBucket("other")
	must(f.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("other")})).ok(t)
}
