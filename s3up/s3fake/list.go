package s3fake

import (
	"context"
	"encoding/base64"
	"net/http"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// maxListPage is the most entries a listing page holds, and its default.
const maxListPage = 1000

// pageSize returns the effective page size of a Max* request field.
func pageSize(op, name string, v *int32) (int, error) {
	if v == nil {
		return maxListPage, nil
	}
	if *v < 0 {
		return 0, APIError(op, http.StatusBadRequest, "InvalidArgument", "Argument "+name+" must be an integer between 0 and 2147483647")
	}
	return min(int(*v), maxListPage), nil
}

// ListObjectsV2 lists a bucket's objects in key order: those under Prefix,
// after StartAfter or the ContinuationToken (an opaque token of a previous
// page), at most MaxKeys (default and at most 1,000) a page. With a
// Delimiter, keys with the delimiter after the prefix are rolled up into
// CommonPrefixes, which count toward MaxKeys and KeyCount. Keys are never
// URL-encoded (EncodingType is ignored, and not echoed, so that no client
// decodes them).
func (f *Fake) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	const op = "ListObjectsV2"
	return run(f, ctx, request{op: op, in: in}, func([]byte) (*s3.ListObjectsV2Output, error) {
		b, err := f.bucket(op, in.Bucket)
		if err != nil {
			return nil, err
		}
		max, err := pageSize(op, "max-keys", in.MaxKeys)
		if err != nil {
			return nil, err
		}
		prefix, delim := aws.ToString(in.Prefix), aws.ToString(in.Delimiter)
		after, afterPrefix := aws.ToString(in.StartAfter), ""
		if tok := aws.ToString(in.ContinuationToken); tok != "" {
			raw, err := base64.RawURLEncoding.DecodeString(tok)
			kind, val, ok := strings.Cut(string(raw), ":")
			if err != nil || !ok || (kind != "k" && kind != "p") {
				return nil, APIError(op, http.StatusBadRequest, "InvalidArgument", msgInvalidToken)
			}
			after = val
			if kind == "p" {
				afterPrefix = val
			}
		}
		keys := make([]string, 0, len(b.objects))
		for k := range b.objects {
			if strings.HasPrefix(k, prefix) && k > after && (afterPrefix == "" || !strings.HasPrefix(k, afterPrefix)) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		out := &s3.ListObjectsV2Output{
			Name: aws.String(b.name), Prefix: aws.String(prefix), Delimiter: copyString(in.Delimiter), MaxKeys: aws.Int32(int32(max)),
			StartAfter: copyString(in.StartAfter), ContinuationToken: copyString(in.ContinuationToken),
			IsTruncated: aws.Bool(false), ResultMetadata: resultMetadata(),
		}
		var last string
		n := 0
		for _, k := range keys {
			cp := ""
			if delim != "" {
				if i := strings.Index(k[len(prefix):], delim); i >= 0 {
					cp = k[:len(prefix)+i+len(delim)]
				}
			}
			if cp != "" && cp == last {
				continue // rolled up in the prefix just added
			}
			if n == max {
				out.IsTruncated = aws.Bool(true)
				break
			}
			n++
			if cp != "" {
				out.CommonPrefixes = append(out.CommonPrefixes, types.CommonPrefix{Prefix: aws.String(cp)})
				last = cp
				continue
			}
			last = ""
			o := b.objects[k]
			obj := types.Object{Key: aws.String(k), Size: aws.Int64(int64(len(o.data))), ETag: aws.String(o.etag),
				LastModified: xmlTime(o.modified), StorageClass: types.ObjectStorageClassStandard}
			if o.sum.value != "" {
				obj.ChecksumAlgorithm = []types.ChecksumAlgorithm{o.sum.alg}
				obj.ChecksumType = o.sum.typ
			}
			out.Contents = append(out.Contents, obj)
		}
		out.KeyCount = aws.Int32(int32(n))
		if aws.ToBool(out.IsTruncated) {
			tok := "k:" + aws.ToString(lastKey(out))
			if last != "" {
				tok = "p:" + last
			}
			out.NextContinuationToken = aws.String(base64.RawURLEncoding.EncodeToString([]byte(tok)))
		}
		return out, nil
	})
}

// lastKey is the last object key of a page (nil if it lists none).
func lastKey(out *s3.ListObjectsV2Output) *string {
	if len(out.Contents) == 0 {
		return nil
	}
	return out.Contents[len(out.Contents)-1].Key
}

// ListMultipartUploads lists a bucket's incomplete uploads ordered by key,
// then by initiation: those whose key starts with Prefix, after KeyMarker
// (and, for the uploads of key KeyMarker itself, after the upload
// UploadIdMarker; an id that is not one of them is compared as a string), at
// most MaxUploads a page (default and at most 1,000), with NextKeyMarker
// and NextUploadIdMarker set on a truncated page. Delimiter rolls keys up
// into CommonPrefixes as in ListObjectsV2. EncodingType is ignored.
func (f *Fake) ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, _ ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error) {
	const op = "ListMultipartUploads"
	return run(f, ctx, request{op: op, in: in}, func([]byte) (*s3.ListMultipartUploadsOutput, error) {
		b, err := f.bucket(op, in.Bucket)
		if err != nil {
			return nil, err
		}
		max, err := pageSize(op, "max-uploads", in.MaxUploads)
		if err != nil {
			return nil, err
		}
		prefix, delim := aws.ToString(in.Prefix), aws.ToString(in.Delimiter)
		keyMarker, idMarker := aws.ToString(in.KeyMarker), aws.ToString(in.UploadIdMarker)
		if keyMarker == "" {
			idMarker = ""
		}
		all := sortedUploads(b)
		// Position of the id marker among the marker key's uploads.
		markerPos := -1
		for i, u := range all {
			if u.key == keyMarker && u.id == idMarker {
				markerPos = i
			}
		}
		out := &s3.ListMultipartUploadsOutput{
			Bucket: aws.String(b.name), Prefix: copyString(in.Prefix), Delimiter: copyString(in.Delimiter), KeyMarker: aws.String(keyMarker),
			UploadIdMarker: aws.String(idMarker), MaxUploads: aws.Int32(int32(max)),
			IsTruncated: aws.Bool(false), ResultMetadata: resultMetadata(),
		}
		var lastPrefix string
		n := 0
		for i, u := range all {
			if !strings.HasPrefix(u.key, prefix) || u.key < keyMarker {
				continue
			}
			if u.key == keyMarker {
				switch {
				case idMarker == "":
					continue
				case markerPos >= 0 && i <= markerPos:
					continue
				case markerPos < 0 && u.id <= idMarker:
					continue
				}
			}
			cp := ""
			if delim != "" {
				if j := strings.Index(u.key[len(prefix):], delim); j >= 0 {
					cp = u.key[:len(prefix)+j+len(delim)]
				}
			}
			if cp != "" && (cp == lastPrefix || cp == keyMarker) {
				continue // rolled up in a prefix listed already
			}
			if n == max {
				out.IsTruncated = aws.Bool(true)
				break
			}
			n++
			if cp != "" {
				out.CommonPrefixes = append(out.CommonPrefixes, types.CommonPrefix{Prefix: aws.String(cp)})
				lastPrefix = cp
				out.NextKeyMarker, out.NextUploadIdMarker = aws.String(cp), nil
				continue
			}
			lastPrefix = ""
			mu := types.MultipartUpload{Key: aws.String(u.key), UploadId: aws.String(u.id),
				Initiated: xmlTime(u.initiated), StorageClass: types.StorageClassStandard,
				Initiator: &types.Initiator{ID: aws.String(ownerID), DisplayName: aws.String(ownerName)},
				Owner:     &types.Owner{ID: aws.String(ownerID), DisplayName: aws.String(ownerName)}}
			if !f.cfg.hideChecksums {
				mu.ChecksumAlgorithm, mu.ChecksumType = u.alg, u.typ
			}
			out.Uploads = append(out.Uploads, mu)
			out.NextKeyMarker, out.NextUploadIdMarker = aws.String(u.key), aws.String(u.id)
		}
		if !aws.ToBool(out.IsTruncated) {
			out.NextKeyMarker, out.NextUploadIdMarker = nil, nil
		}
		return out, nil
	})
}

// sortedUploads returns a bucket's uploads by key, then initiation time,
// then creation order. The caller holds f.mu.
func sortedUploads(b *bucket) []*upload {
	all := make([]*upload, 0, len(b.uploads))
	for _, u := range b.uploads {
		all = append(all, u)
	}
	sort.Slice(all, func(i, j int) bool {
		a, c := all[i], all[j]
		if a.key != c.key {
			return a.key < c.key
		}
		if !a.initiated.Equal(c.initiated) {
			return a.initiated.Before(c.initiated)
		}
		return a.seq < c.seq
	})
	return all
}
