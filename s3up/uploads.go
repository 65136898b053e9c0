package s3up

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"
)

// UploadInfo is an incomplete multipart upload as the server lists it.
type UploadInfo struct {
	Key       string    `json:"key"`
	UploadID  string    `json:"upload_id"`
	Initiated time.Time `json:"initiated"` // zero if the store did not say
	Parts     int       `json:"parts"`     // parts stored (after CountParts)
	Bytes     int64     `json:"bytes"`     // bytes in those parts (after CountParts)
}

// listPartsConcurrency bounds the ListParts calls in flight when counting the
// parts of many uploads: enough to hide latency, few enough not to be
// throttled.
const listPartsConcurrency = 8

// ListUploads returns the incomplete multipart uploads of bucket whose key
// starts with prefix, with their parts and bytes counted, sorted by key and
// then initiation time. It follows every page of ListMultipartUploads and
// works around stores that match Prefix as an exact key (see stores.go).
func ListUploads(ctx context.Context, c S3API, bucket, prefix string) ([]UploadInfo, error) {
	ups, err := listUploads(ctx, c, bucket, prefix)
	if err != nil {
		return nil, err
	}
	return CountParts(ctx, c, bucket, ups)
}

// UploadsForKey returns the incomplete multipart uploads of exactly key, with
// their parts counted.
func UploadsForKey(ctx context.Context, c S3API, bucket, key string) ([]UploadInfo, error) {
	ups, err := listUploads(ctx, c, bucket, key)
	if err != nil {
		return nil, err
	}
	exact := ups[:0]
	for _, u := range ups {
		if u.Key == key {
			exact = append(exact, u)
		}
	}
	return CountParts(ctx, c, bucket, exact)
}

// CountParts fills in Parts and Bytes of each upload with ListParts, a few
// uploads at a time. Uploads that vanished meanwhile (completed or aborted by
// someone else) are dropped from the returned slice.
func CountParts(ctx context.Context, c S3API, bucket string, ups []UploadInfo) ([]UploadInfo, error) {
	gone := make([]bool, len(ups))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(listPartsConcurrency)
	for i := range ups {
		g.Go(func() error {
			parts, err := ListAllParts(gctx, c, bucket, ups[i].Key, ups[i].UploadID)
			if IsNoSuchUpload(err) {
				gone[i] = true
				return nil
			}
			if err != nil {
				return classify(fmt.Errorf("key %s: %w", ups[i].Key, err))
			}
			ups[i].Parts = len(parts)
			ups[i].Bytes = 0
			for _, p := range parts {
				ups[i].Bytes += p.Size
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := ups[:0]
	for i, u := range ups {
		if !gone[i] {
			out = append(out, u)
		}
	}
	return out, nil
}

// listUploads lists uploads under prefix without counting parts.
func listUploads(ctx context.Context, c S3API, bucket, prefix string) ([]UploadInfo, error) {
	ups, err := listUploadPages(ctx, c, bucket, prefix)
	if err == nil && prefixListingEmpty(prefix, len(ups)) {
		ups, err = listUploadPages(ctx, c, bucket, "")
	}
	if err != nil {
		return nil, classify(fmt.Errorf("list multipart uploads in %s: %w", bucket, err))
	}
	out := ups[:0]
	for _, u := range ups {
		if strings.HasPrefix(u.Key, prefix) {
			out = append(out, u)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].Initiated.Before(out[j].Initiated)
	})
	return out, nil
}

// maxUploadPages stops a listing that never ends (a store repeating pages):
// 100,000 pages of 1,000 uploads is beyond any real bucket.
const maxUploadPages = 100_000

// listUploadPages follows the KeyMarker/UploadIdMarker pagination of
// ListMultipartUploads, sending prefix as the Prefix (if not empty).
func listUploadPages(ctx context.Context, c S3API, bucket, prefix string) ([]UploadInfo, error) {
	var (
		out                 []UploadInfo
		seen                = map[string]bool{}
		keyMarker, idMarker string
		noIDMarker          bool // the store refuses UploadIdMarker
	)
	add := func(key, id string, initiated *time.Time) {
		if seen[id] {
			return
		}
		seen[id] = true
		out = append(out, UploadInfo{Key: key, UploadID: id, Initiated: aws.ToTime(initiated)})
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
		if err != nil && idMarker != "" && !noIDMarker && rejectsUploadIDMarker(err) {
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

// AbortUpload aborts one multipart upload. An upload that no longer exists
// is not an error.
func AbortUpload(ctx context.Context, c S3API, bucket, key, uploadID string) error {
	_, err := abortUpload(ctx, c, bucket, key, uploadID)
	return err
}

// abortUpload aborts an upload and reports whether it was already gone.
func abortUpload(ctx context.Context, c S3API, bucket, key, uploadID string) (gone bool, err error) {
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID)})
	if IsNoSuchUpload(err) {
		return true, nil
	}
	if err != nil {
		return false, classify(&UploadError{Op: "abort upload of " + key, UploadID: uploadID, Err: err})
	}
	return false, nil
}

// abortAll aborts the given uploads, a few at a time, and returns those
// aborted (or already gone) and those that failed, with the failures joined.
func abortAll(ctx context.Context, c S3API, bucket string, ups []UploadInfo) (done, failed []UploadInfo, err error) {
	var (
		mu   sync.Mutex
		errs []error
		ok   = make([]bool, len(ups))
		g    errgroup.Group
	)
	g.SetLimit(listPartsConcurrency)
	for i, u := range ups {
		g.Go(func() error {
			if _, err := abortUpload(ctx, c, bucket, u.Key, u.UploadID); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return nil
			}
			ok[i] = true
			return nil
		})
	}
	_ = g.Wait()
	for i, u := range ups {
		if ok[i] {
			done = append(done, u)
		} else {
			failed = append(failed, u)
		}
	}
	if len(errs) > 0 {
		err = fmt.Errorf("%d of %d aborts failed; first: %w", len(errs), len(ups), errs[0])
	}
	return done, failed, err
}
