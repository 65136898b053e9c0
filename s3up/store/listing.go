package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
)

// maxPartPages stops a ListParts listing that never ends (a store repeating
// pages). 10,000 parts at the smallest page size S3 allows is well below.
const maxPartPages = 10_000 + 1

// ListAllParts returns every part entry of an upload, following ListParts
// pagination (1,000 parts a page on S3), sorted by part number. It leaves
// MaxParts to the store: MinIO then answers up to 10,000 parts in one page,
// and a page costs it more than the client's share of it
// (BenchmarkListAllParts10000 here, integration.BenchmarkReconcile10000Parts
// against the servers), so fewer, bigger pages are the cheaper. A store that
// keeps several uploads of one part number lists them all (SeaweedFS), and
// so does the result; their relative order is the store's.
func ListAllParts(ctx context.Context, c S3API, bucket, key, uploadID string) ([]resume.Part, error) {
	var parts []resume.Part
	var marker *string
	for page := 0; ; page++ {
		out, err := c.ListParts(ctx, &s3.ListPartsInput{
			Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
			PartNumberMarker: marker,
		})
		if err != nil {
			return nil, fmt.Errorf("list parts of upload %s: %w", uploadID, err)
		}
		for i := range out.Parts {
			p := &out.Parts[i]
			_, sum := checksum.OfListedPart(p).Any()
			parts = append(parts, resume.Part{
				Number: aws.ToInt32(p.PartNumber), Size: aws.ToInt64(p.Size), ETag: aws.ToString(p.ETag),
				Checksum: sum, LastModified: aws.ToTime(p.LastModified),
			})
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		next := aws.ToString(out.NextPartNumberMarker)
		if next == "" && len(out.Parts) > 0 {
			// Some stores omit the marker; the last part number is the marker.
			next = strconv.Itoa(int(aws.ToInt32(out.Parts[len(out.Parts)-1].PartNumber)))
		}
		if next == "" || (marker != nil && next == *marker) || page > maxPartPages {
			return nil, fmt.Errorf("list parts of upload %s: server reported more parts but no usable next marker", uploadID)
		}
		marker = aws.String(next)
	}
	slices.SortStableFunc(parts, func(a, b resume.Part) int { return int(a.Number) - int(b.Number) })
	return parts, nil
}

// Upload is an incomplete multipart upload as the server lists it.
type Upload struct {
	Key       string    `json:"key"`
	UploadID  string    `json:"upload_id"`
	Initiated time.Time `json:"initiated"` // zero if the store did not say
}

// maxUploadPages stops a listing that never ends (a store repeating pages):
// 100,000 pages of 1,000 uploads is beyond any real bucket.
const maxUploadPages = 100_000

// ListUploads lists the incomplete multipart uploads of bucket whose key
// starts with prefix, sorted by key and then initiation time. It follows
// every page and works around the stores' quirks (see quirks.go).
func ListUploads(ctx context.Context, c S3API, bucket, prefix string) ([]Upload, error) {
	ups, err := listUploadPages(ctx, c, bucket, prefix)
	if err == nil && PrefixListingEmpty(prefix, len(ups)) {
		ups, err = listUploadPages(ctx, c, bucket, "")
	}
	if err != nil {
		return nil, Classify(fmt.Errorf("list multipart uploads in %s: %w", bucket, err))
	}
	out := ups[:0]
	for _, u := range ups {
		if strings.HasPrefix(u.Key, prefix) {
			out = append(out, u)
		}
	}
	slices.SortStableFunc(out, func(a, b Upload) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return a.Initiated.Compare(b.Initiated)
	})
	return out, nil
}

// KeyUploads lists the incomplete uploads of exactly key. Prefix=key finds
// them on every store (those that match a prefix as an exact key too), so
// an empty answer is not redone without a prefix as ListUploads does.
func KeyUploads(ctx context.Context, c S3API, bucket, key string) ([]Upload, error) {
	ups, err := listUploadPages(ctx, c, bucket, key)
	if err != nil {
		return nil, Classify(fmt.Errorf("list multipart uploads of %s: %w", key, err))
	}
	ups = slices.DeleteFunc(ups, func(u Upload) bool { return u.Key != key })
	slices.SortStableFunc(ups, func(a, b Upload) int { return a.Initiated.Compare(b.Initiated) })
	return ups, nil
}

// listUploadPages follows the KeyMarker/UploadIdMarker pagination of
// ListMultipartUploads, sending prefix as the Prefix (if not empty).
func listUploadPages(ctx context.Context, c S3API, bucket, prefix string) ([]Upload, error) {
	var (
		out                 []Upload
		seen                = map[string]bool{}
		keyMarker, idMarker string
		noIDMarker          bool // the store refuses UploadIdMarker
	)
	add := func(key, id string, initiated *time.Time) {
		if seen[id] {
			return
		}
		seen[id] = true
		out = append(out, Upload{Key: key, UploadID: id, Initiated: aws.ToTime(initiated)})
	}
	for page := 0; page < maxUploadPages; page++ {
		if idMarker != "" && noIDMarker {
			if err := listKeyUploads(ctx, c, bucket, keyMarker, add); err != nil {
				return nil, err
			}
			idMarker = ""
		}
		in := &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)}
		if prefix != "" {
			in.Prefix = aws.String(prefix)
		}
		if keyMarker != "" {
			in.KeyMarker = aws.String(keyMarker)
		}
		if idMarker != "" {
			in.UploadIdMarker = aws.String(idMarker)
		}
		res, err := c.ListMultipartUploads(ctx, in)
		if err != nil && idMarker != "" && !noIDMarker && RejectsUploadIDMarker(err) {
			noIDMarker = true
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, u := range res.Uploads {
			add(aws.ToString(u.Key), aws.ToString(u.UploadId), u.Initiated)
		}
		if !aws.ToBool(res.IsTruncated) {
			return out, nil
		}
		nextKey, nextID := aws.ToString(res.NextKeyMarker), aws.ToString(res.NextUploadIdMarker)
		if nextKey == "" && len(res.Uploads) > 0 {
			last := res.Uploads[len(res.Uploads)-1]
			nextKey, nextID = aws.ToString(last.Key), aws.ToString(last.UploadId)
		}
		if nextKey == "" || (nextKey == keyMarker && nextID == idMarker) {
			return nil, errors.New("server reported more uploads but no usable next marker")
		}
		keyMarker, idMarker = nextKey, nextID
	}
	return nil, fmt.Errorf("listing did not end after %d pages", maxUploadPages)
}

// listKeyUploads adds every upload of exactly key, for stores that cannot
// resume a listing in the middle of a key's uploads. The key's own uploads
// sort first among those under Prefix=key, so one page holds them unless the
// key alone has more than a page of uploads.
func listKeyUploads(ctx context.Context, c S3API, bucket, key string, add func(key, id string, initiated *time.Time)) error {
	res, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil {
		return err
	}
	for _, u := range res.Uploads {
		if aws.ToString(u.Key) == key {
			add(key, aws.ToString(u.UploadId), u.Initiated)
		}
	}
	if n := len(res.Uploads); aws.ToBool(res.IsTruncated) && n > 0 && aws.ToString(res.Uploads[n-1].Key) == key {
		return fmt.Errorf("key %s has more than %d uploads, and the store cannot page through them", key, n)
	}
	return nil
}

// Abort aborts one multipart upload and reports whether the store said it
// was already gone. An upload that no longer exists is not an error.
func Abort(ctx context.Context, c S3API, bucket, key, uploadID string) (gone bool, err error) {
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID)})
	if g, _ := UploadGone(err); g {
		return true, nil
	}
	if err != nil {
		return false, Classify(&UploadError{Op: "abort upload of " + key, UploadID: uploadID, Err: err})
	}
	return false, nil
}

// Object is one entry of a bucket listing.
type Object struct {
	Key  string
	Size int64
	ETag string
}

// maxObjectPages stops a listing that never ends (a store repeating a
// continuation token): a billion objects at 1,000 a page.
const maxObjectPages = 1_000_000

// ListObjects calls fn for every object under prefix ("" for the whole
// bucket), following ListObjectsV2 pagination.
func ListObjects(ctx context.Context, c S3API, bucket, prefix string, fn func(Object)) error {
	var token *string
	for page := 0; ; page++ {
		in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), ContinuationToken: token}
		if prefix != "" {
			in.Prefix = aws.String(prefix)
		}
		out, err := c.ListObjectsV2(ctx, in)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range out.Contents {
			fn(Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ETag: aws.ToString(o.ETag)})
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		next := out.NextContinuationToken
		if aws.ToString(next) == "" || (token != nil && *next == *token) || page > maxObjectPages {
			return fmt.Errorf("list s3://%s/%s: the server said there is more but gave no usable continuation token", bucket, prefix)
		}
		token = next
	}
}
