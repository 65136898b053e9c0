package s3fake_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/s3up/s3fake"
)

func listObjects(t *testing.T, f *s3fake.Fake, in *s3.ListObjectsV2Input) (keys []string, pages int) {
	t.Helper()
	for {
		out := must(f.ListObjectsV2(ctx, in)).ok(t)
		pages++
		if int(aws.ToInt32(out.KeyCount)) != len(out.Contents)+len(out.CommonPrefixes) {
			t.Fatalf("KeyCount %d for %d keys and %d prefixes", aws.ToInt32(out.KeyCount), len(out.Contents), len(out.CommonPrefixes))
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, p := range out.CommonPrefixes {
			keys = append(keys, aws.ToString(p.Prefix))
		}
		if !aws.ToBool(out.IsTruncated) {
			if out.NextContinuationToken != nil {
				t.Fatal("NextContinuationToken on the last page")
			}
			return keys, pages
		}
		if out.NextContinuationToken == nil {
			t.Fatal("truncated page without NextContinuationToken")
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

func TestListObjectsV2(t *testing.T) {
	clock := newClock()
	f := newFake(t, s3fake.Clock(clock.now))
	var all []string
	for i := range 25 {
		k := fmt.Sprintf("data/%02d", i)
		put(t, f, k, []byte(k))
		all = append(all, k)
	}
	for _, k := range []string{"logs/a/1", "logs/a/2", "logs/b/1", "logs/c", "top"} {
		put(t, f, k, []byte(k))
	}

	keys, pages := listObjects(t, f, &s3.ListObjectsV2Input{Bucket: aws.String(bkt), Prefix: aws.String("data/"), MaxKeys: aws.Int32(10)})
	if fmt.Sprint(keys) != fmt.Sprint(all) || pages != 3 {
		t.Errorf("%d pages: %v", pages, keys)
	}
	keys, _ = listObjects(t, f, &s3.ListObjectsV2Input{Bucket: aws.String(bkt), Prefix: aws.String("data/"), StartAfter: aws.String("data/20")})
	if fmt.Sprint(keys) != fmt.Sprint(all[21:]) {
		t.Errorf("StartAfter: %v", keys)
	}
	keys, _ = listObjects(t, f, &s3.ListObjectsV2Input{Bucket: aws.String(bkt), Delimiter: aws.String("/")})
	if want := "[top data/ logs/]"; fmt.Sprint(keys) != want {
		t.Errorf("delimiter: %v, want %s", keys, want)
	}
	// Common prefixes across pages, one entry a page.
	keys, pages = listObjects(t, f, &s3.ListObjectsV2Input{Bucket: aws.String(bkt), Prefix: aws.String("logs/"),
		Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)})
	if want := "[logs/a/ logs/b/ logs/c]"; fmt.Sprint(keys) != want || pages != 3 {
		t.Errorf("paged delimiter: %d pages %v, want %s", pages, keys, want)
	}

	out := must(f.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bkt), Prefix: aws.String("top")})).ok(t)
	o := out.Contents[0]
	stored, _ := f.Object(bkt, "top")
	if aws.ToInt64(o.Size) != 3 || aws.ToString(o.ETag) != md5ETag([]byte("top")) ||
		!o.LastModified.Equal(stored.LastModified.Truncate(time.Millisecond)) || aws.ToInt32(out.MaxKeys) != 1000 {
		t.Errorf("entry %+v", o)
	}
	_, err := f.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bkt), ContinuationToken: aws.String("garbage")})
	wantErr(t, err, "ListObjectsV2", 400, "InvalidArgument")
}

func listUploads(t *testing.T, f *s3fake.Fake, in *s3.ListMultipartUploadsInput) (ids []string, pages int) {
	t.Helper()
	for {
		out := must(f.ListMultipartUploads(ctx, in)).ok(t)
		pages++
		for _, u := range out.Uploads {
			ids = append(ids, aws.ToString(u.Key)+"#"+aws.ToString(u.UploadId))
		}
		for _, p := range out.CommonPrefixes {
			ids = append(ids, aws.ToString(p.Prefix))
		}
		if !aws.ToBool(out.IsTruncated) {
			return ids, pages
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

func TestListMultipartUploads(t *testing.T) {
	clock := newClock()
	f := newFake(t, s3fake.Clock(clock.now))
	// Three uploads of "b", created in order, and some others.
	var want []string
	add := func(key string) string {
		id := create(t, f, key, "")
		return key + "#" + id
	}
	a := add("a")
	b1, b2, b3 := add("b"), add("b"), add("b")
	c := add("c/1")
	d := add("c/2")
	want = append(want, a, b1, b2, b3, c, d)

	all, pages := listUploads(t, f, &s3.ListMultipartUploadsInput{Bucket: aws.String(bkt)})
	if fmt.Sprint(all) != fmt.Sprint(want) || pages != 1 {
		t.Fatalf("all: %v, want %v (by key, then initiation)", all, want)
	}
	for _, max := range []int32{1, 2, 4} {
		got, pages := listUploads(t, f, &s3.ListMultipartUploadsInput{Bucket: aws.String(bkt), MaxUploads: aws.Int32(max)})
		if fmt.Sprint(got) != fmt.Sprint(want) || pages != (len(want)+int(max)-1)/int(max) {
			t.Errorf("MaxUploads %d: %d pages, %v", max, pages, got)
		}
	}
	got, _ := listUploads(t, f, &s3.ListMultipartUploadsInput{Bucket: aws.String(bkt), Prefix: aws.String("c/")})
	if fmt.Sprint(got) != fmt.Sprint([]string{c, d}) {
		t.Errorf("prefix: %v", got)
	}
	// KeyMarker alone lists the keys after it.
	got, _ = listUploads(t, f, &s3.ListMultipartUploadsInput{Bucket: aws.String(bkt), KeyMarker: aws.String("b")})
	if fmt.Sprint(got) != fmt.Sprint([]string{c, d}) {
		t.Errorf("KeyMarker b: %v", got)
	}
	// An id marker that is none of the key's uploads is compared as a string.
	got, _ = listUploads(t, f, &s3.ListMultipartUploadsInput{Bucket: aws.String(bkt), KeyMarker: aws.String("b"), UploadIdMarker: aws.String("~")})
	if fmt.Sprint(got) != fmt.Sprint([]string{c, d}) {
		t.Errorf("id marker ~: %v", got)
	}
	got, _ = listUploads(t, f, &s3.ListMultipartUploadsInput{Bucket: aws.String(bkt), KeyMarker: aws.String("b"), UploadIdMarker: aws.String("!")})
	if fmt.Sprint(got) != fmt.Sprint([]string{b1, b2, b3, c, d}) {
		t.Errorf("id marker !: %v", got)
	}
	got, _ = listUploads(t, f, &s3.ListMultipartUploadsInput{Bucket: aws.String(bkt), Delimiter: aws.String("/")})
	if fmt.Sprint(got) != fmt.Sprint([]string{a, b1, b2, b3, "c/"}) {
		t.Errorf("delimiter: %v", got)
	}
	got, _ = listUploads(t, f, &s3.ListMultipartUploadsInput{Bucket: aws.String(bkt), Delimiter: aws.String("/"), MaxUploads: aws.Int32(1)})
	if fmt.Sprint(got) != fmt.Sprint([]string{a, b1, b2, b3, "c/"}) {
		t.Errorf("paged delimiter: %v", got)
	}

	out := must(f.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bkt), Prefix: aws.String("a")})).ok(t)
	up := out.Uploads[0]
	info := f.Uploads(bkt)[0]
	if !up.Initiated.Equal(info.Initiated.Truncate(time.Millisecond)) || up.Initiated.Equal(info.Initiated) ||
		aws.ToInt32(out.MaxUploads) != 1000 || out.NextKeyMarker != nil {
		t.Errorf("upload %+v (initiated %v), out %+v", up, info.Initiated, out)
	}
}
