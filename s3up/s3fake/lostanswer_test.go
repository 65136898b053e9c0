package s3fake_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/s3up/s3fake"
)

func TestLoseAnswer(t *testing.T) {
	f := newFake(t, s3fake.MinPartSize(0))
	for _, op := range []string{"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "PutObject"} {
		f.FailNext(op, s3fake.LoseAnswer)
	}
	_, err := f.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bkt), Key: aws.String("k")})
	if !isReset(err) {
		t.Fatalf("create: %v", err)
	}
	ups := f.Uploads(bkt)
	if len(ups) != 1 {
		t.Fatalf("%d uploads after a lost create answer", len(ups))
	}
	id := ups[0].ID
	_, err = f.UploadPart(ctx, partInput("k", id, 1, []byte("part")))
	if !isReset(err) {
		t.Fatalf("upload part: %v", err)
	}
	u, _ := f.Upload(bkt, id)
	if len(u.Parts) != 1 {
		t.Fatal("the part of a lost answer was not stored")
	}
	_, err = f.CompleteMultipartUpload(ctx, completeInput("k", id, cpart(1, u.Parts[0].ETag)))
	if !isReset(err) {
		t.Fatalf("complete: %v", err)
	}
	if o, ok := f.Object(bkt, "k"); !ok || string(o.Data) != "part" || len(f.Uploads(bkt)) != 0 {
		t.Fatal("the complete of a lost answer was not applied")
	}
	_, err = f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("p"), Body: strings.NewReader("p")})
	if _, ok := f.Object(bkt, "p"); !isReset(err) || !ok {
		t.Fatalf("put: %v, stored %v", err, ok)
	}
}

func TestLoseAnswerRetried(t *testing.T) {
	t.Run("CompleteMultipartUpload", func(t *testing.T) {
		f := newFake(t, s3fake.MinPartSize(0))
		id := create(t, f, "k", "")
		e := aws.ToString(uploadPart(t, f, "k", id, 1, []byte("data")).ETag)
		f.FailNext("CompleteMultipartUpload", s3fake.LoseAnswerRetried)
		_, err := f.CompleteMultipartUpload(ctx, completeInput("k", id, cpart(1, e)))
		wantErr(t, err, "CompleteMultipartUpload", 404, "NoSuchUpload")
		if o, ok := f.Object(bkt, "k"); !ok || string(o.Data) != "data" {
			t.Fatal("the first complete was not applied")
		}
	})
	t.Run("CreateMultipartUpload", func(t *testing.T) {
		f := newFake(t)
		f.FailNext("CreateMultipartUpload", s3fake.LoseAnswerRetried)
		id := create(t, f, "k", "")
		ups := f.Uploads(bkt)
		if len(ups) != 2 || ups[1].ID != id {
			t.Fatalf("uploads %v, answered %s (want the second)", ups, id)
		}
	})
	for _, versions := range []bool{false, true} {
		t.Run(fmt.Sprint("UploadPart/versions=", versions), func(t *testing.T) {
			opts := []s3fake.Option{s3fake.MinPartSize(0)}
			if versions {
				opts = append(opts, s3fake.PartVersions())
			}
			f := newFake(t, opts...)
			id := create(t, f, "k", "")
			f.FailNext("UploadPart", s3fake.LoseAnswerRetried)
			out := uploadPart(t, f, "k", id, 1, []byte("twice"))
			u, _ := f.Upload(bkt, id)
			want := 1
			if versions {
				want = 2
			}
			if len(u.Parts) != want {
				t.Fatalf("%d part entries, want %d", len(u.Parts), want)
			}
			for _, p := range u.Parts {
				if p.ETag != aws.ToString(out.ETag) {
					t.Errorf("entry ETag %s, answered %s", p.ETag, aws.ToString(out.ETag))
				}
			}
			if f.BytesReceivedBy("UploadPart") != 10 {
				t.Errorf("received %d bytes, want 10 (sent twice)", f.BytesReceivedBy("UploadPart"))
			}
		})
	}
	for _, lenient := range []bool{false, true} {
		t.Run(fmt.Sprint("AbortMultipartUpload/lenient=", lenient), func(t *testing.T) {
			var opts []s3fake.Option
			if lenient {
				opts = append(opts, s3fake.AbortUnknownSucceeds())
			}
			f := newFake(t, opts...)
			id := create(t, f, "k", "")
			f.FailNext("AbortMultipartUpload", s3fake.LoseAnswerRetried)
			_, err := f.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bkt), Key: aws.String("k"), UploadId: aws.String(id)})
			if lenient && err != nil {
				t.Fatal(err)
			}
			if !lenient {
				wantErr(t, err, "AbortMultipartUpload", 404, "NoSuchUpload")
				var nsu *types.NoSuchUpload
				if !errors.As(err, &nsu) {
					t.Errorf("%v is not *types.NoSuchUpload", err)
				}
			}
			if len(f.Uploads(bkt)) != 0 {
				t.Error("not aborted")
			}
		})
	}
	t.Run("PutObject/IfNoneMatch", func(t *testing.T) {
		f := newFake(t)
		f.FailNext("PutObject", s3fake.LoseAnswerRetried)
		_, err := f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"),
			Body: strings.NewReader("once"), IfNoneMatch: aws.String("*")})
		wantErr(t, err, "PutObject", 412, "PreconditionFailed")
		if o, ok := f.Object(bkt, "k"); !ok || string(o.Data) != "once" {
			t.Fatal("the first PUT was not applied")
		}
	})
}
