package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// listingStore fakes ListMultipartUploads with the behaviours of stores.go.
type listingStore struct {
	S3API          // nil: other calls panic
	uploads        []types.MultipartUpload
	pageSize       int
	exactPrefix    bool // MinIO: Prefix matches one key
	rejectIDMarker bool // versitygw: UploadIdMarker refused
	calls          int
}

func newListingStore(n int, key func(i int) string) *listingStore {
	s := &listingStore{pageSize: 1000}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		s.uploads = append(s.uploads, types.MultipartUpload{Key: aws.String(key(i)),
			UploadId: aws.String(fmt.Sprintf("id%05d", i)), Initiated: aws.Time(t0.Add(time.Duration(i) * time.Second))})
	}
	sort.Slice(s.uploads, func(i, j int) bool {
		a, b := s.uploads[i], s.uploads[j]
		return *a.Key < *b.Key || *a.Key == *b.Key && *a.UploadId < *b.UploadId
	})
	return s
}

func (s *listingStore) ListMultipartUploads(_ context.Context, in *s3.ListMultipartUploadsInput, _ ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error) {
	s.calls++
	prefix, km, im := aws.ToString(in.Prefix), aws.ToString(in.KeyMarker), aws.ToString(in.UploadIdMarker)
	if im != "" && s.rejectIDMarker {
		return nil, &smithy.GenericAPIError{Code: "InvalidArgument", Message: "Invalid uploadId marker"}
	}
	out := &s3.ListMultipartUploadsOutput{}
	for _, u := range s.uploads {
		k, id := *u.Key, *u.UploadId
		if s.exactPrefix && prefix != "" && k != prefix || !strings.HasPrefix(k, prefix) {
			continue
		}
		if km != "" && (k < km || k == km && (im == "" || id <= im)) {
			continue
		}
		if len(out.Uploads) == s.pageSize {
			last := out.Uploads[len(out.Uploads)-1]
			out.IsTruncated, out.NextKeyMarker, out.NextUploadIdMarker = aws.Bool(true), last.Key, last.UploadId
			break
		}
		out.Uploads = append(out.Uploads, u)
	}
	return out, nil
}

func TestListUploadsPagesAndQuirks(t *testing.T) {
	key := func(i int) string { return fmt.Sprintf("a/k%04d", i/3) } // three uploads a key
	for _, c := range []struct {
		name                 string
		exact, rejectMarkers bool
		prefix               string
		want                 int
	}{
		{"aws", false, false, "a/", 2500},
		{"aws whole bucket", false, false, "", 2503},
		{"minio exact-key prefix", true, false, "a/", 2500},
		{"versitygw no id marker", false, true, "a/", 2500},
		{"both", true, true, "a/", 2500},
		{"exact key", true, true, "a/k0400", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newListingStore(2500, key)
			for _, u := range newListingStore(3, func(i int) string { return fmt.Sprintf("b/%d", i) }).uploads {
				u.UploadId = aws.String("b-" + *u.UploadId)
				s.uploads = append(s.uploads, u)
			}
			s.pageSize, s.exactPrefix, s.rejectIDMarker = 7*3+1, c.exact, c.rejectMarkers // pages end inside a key
			if c.name == "aws" || c.name == "aws whole bucket" {
				s.pageSize = 1000
			}
			got, err := ListUploads(context.Background(), s, "b", c.prefix)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for i, u := range got {
				if seen[u.UploadID] || !strings.HasPrefix(u.Key, c.prefix) || u.Initiated.IsZero() {
					t.Fatalf("upload %d: %+v (duplicate, outside the prefix, or no time)", i, u)
				}
				seen[u.UploadID] = true
				if i > 0 && got[i-1].Key > u.Key {
					t.Fatalf("not sorted by key at %d", i)
				}
			}
			if len(got) != c.want {
				t.Fatalf("listed %d uploads, want %d (%d calls)", len(got), c.want, s.calls)
			}
		})
	}
}

func TestListUploadsStuckMarker(t *testing.T) {
	s := &stuckStore{}
	if _, err := ListUploads(context.Background(), s, "b", ""); err == nil || !strings.Contains(err.Error(), "marker") {
		t.Fatalf("a store repeating its page: err %v, want a marker error", err)
	}
}

// stuckStore always answers the same truncated page.
type stuckStore struct{ S3API }

func (stuckStore) ListMultipartUploads(context.Context, *s3.ListMultipartUploadsInput, ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error) {
	return &s3.ListMultipartUploadsOutput{IsTruncated: aws.Bool(true), NextKeyMarker: aws.String("k"), NextUploadIdMarker: aws.String("i"),
		Uploads: []types.MultipartUpload{{Key: aws.String("k"), UploadId: aws.String("i")}}}, nil
}

// partsStore fakes ListParts pages, optionally without NextPartNumberMarker.
type partsStore struct {
	S3API
	parts    int
	page     int
	noMarker bool
}

func (s *partsStore) ListParts(_ context.Context, in *s3.ListPartsInput, _ ...func(*s3.Options)) (*s3.ListPartsOutput, error) {
	start := 1
	if in.PartNumberMarker != nil {
		fmt.Sscan(*in.PartNumberMarker, &start)
		start++
	}
	out := &s3.ListPartsOutput{}
	for n := start; n <= s.parts && len(out.Parts) < s.page; n++ {
		out.Parts = append(out.Parts, types.Part{PartNumber: aws.Int32(int32(n)), Size: aws.Int64(5), ETag: aws.String(fmt.Sprintf(`"%d"`, n)),
			ChecksumCRC32C: aws.String("c="), LastModified: aws.Time(time.Unix(int64(n), 0))})
	}
	if last := start + len(out.Parts) - 1; last < s.parts {
		out.IsTruncated = aws.Bool(true)
		if !s.noMarker {
			out.NextPartNumberMarker = aws.String(fmt.Sprint(last))
		}
	}
	return out, nil
}

// TestListAllPartsPaginates: 10,000 parts in pages of 1,000 (S3) or fewer,
// with or without NextPartNumberMarker, every part once and in order.
func TestListAllPartsPaginates(t *testing.T) {
	for _, s := range []*partsStore{{parts: 10000, page: 1000}, {parts: 2500, page: 100, noMarker: true}, {parts: 3, page: 1000}} {
		got, err := ListAllParts(context.Background(), s, "b", "k", "u", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != s.parts {
			t.Fatalf("%+v: %d parts", s, len(got))
		}
		for i, p := range got {
			if p.Number != int32(i+1) || p.Checksum != "c=" || p.LastModified.Unix() != int64(i+1) {
				t.Fatalf("part %d: %+v", i, p)
			}
		}
	}
}
