package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
)

// maxPartPages stops a ListParts listing that never ends (a store repeating
// pages). 10,000 parts at the smallest page size S3 allows is well below.
const maxPartPages = 10_000 + 1

// partPagesAhead is how many ListParts pages ListAllParts has in flight at
// once when the caller expects more parts than the first page held.
const partPagesAhead = 4

// ListAllParts returns every part entry of an upload, following ListParts
// pagination, sorted by part number. A store that keeps several uploads of
// one part number lists them all (SeaweedFS), and so does the result; their
// relative order is the store's.
//
// expect is the highest part number the caller expects the upload to have
// (0: unknown). The first page is asked alone, so an upload that fits in it
// costs one request: MinIO and SeaweedFS answer up to 10,000 parts a page,
// AWS and versitygw 1,000. When it is truncated short of expect, the next
// partPagesAhead pages are asked at once, at the markers they would have if
// each spanned as many part numbers as the first, and the window moves on
// as pages arrive. The listing still follows the store's markers page by
// page: a page fetched ahead is used only if it was asked at exactly the
// marker the previous page gave; a page that ends elsewhere (cut short,
// say, by duplicate entries) moves the window there and drops the pages
// that no longer fit. So the result is the sequential listing's, and a
// listing that ends before expect wastes at most the pages in flight.
//
// MaxParts is left to the store. MinIO reads the metadata of every part
// after the marker whatever MaxParts asks, and its per-part quorum check
// allocates a map sized for all of them (readParts in
// cmd/erasure-multipart.go), so a page costs it time quadratic in the parts
// after the marker: its one page of 10,000 is the cheapest listing there is
// (about 2 s on the benchmark machine), and more pages only add to it.
// versitygw also reads every part after the marker, but caps a page at
// 1,000: there the pages fetched ahead cut the listing by about a quarter
// (BenchmarkReconcile10000Parts in bench/README.md). SeaweedFS lists part
// files in name order, so part 10000 comes right after 999: a page of
// 1,000 ends with it, and the next, after marker 10000, drops 1000-9999;
// its default page of 10,000 entries holds a whole upload of distinct parts.
func ListAllParts(ctx context.Context, c S3API, bucket, key, uploadID string, expect int32) ([]resume.Part, error) {
	list := func(ctx context.Context, marker *string) (*s3.ListPartsOutput, error) {
		out, err := c.ListParts(ctx, &s3.ListPartsInput{
			Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
			PartNumberMarker: marker,
		})
		if err != nil {
			return nil, fmt.Errorf("list parts of upload %s: %w", uploadID, err)
		}
		return out, nil
	}
	var (
		parts  []resume.Part
		marker *string
		ahead  *pagesAhead
	)
	defer func() {
		if ahead != nil {
			ahead.stop()
		}
	}()
	for page := 0; ; page++ {
		var out *s3.ListPartsOutput
		var err error
		if p := ahead.take(marker); p != nil {
			select {
			case <-p.done:
				out, err = p.out, p.err
			case <-ctx.Done():
				err = fmt.Errorf("list parts of upload %s: %w", uploadID, ctx.Err())
			}
			p.cancel()
		} else {
			out, err = list(ctx, marker)
		}
		if err != nil {
			return nil, err
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
		if page == 0 {
			ahead = newPagesAhead(ctx, list, next, expect)
		}
		ahead.move(next)
		marker = aws.String(next)
	}
	slices.SortStableFunc(parts, func(a, b resume.Part) int { return int(a.Number) - int(b.Number) })
	return parts, nil
}

// pagesAhead fetches the ListParts pages a listing is expected to ask next.
// A nil *pagesAhead fetches nothing.
type pagesAhead struct {
	ctx          context.Context
	list         func(context.Context, *string) (*s3.ListPartsOutput, error)
	span, expect int
	pages        map[int]*partPage // by marker
	wg           sync.WaitGroup
}

// partPage is a page fetched ahead: out and err are set when done is closed.
type partPage struct {
	out    *s3.ListPartsOutput
	err    error
	done   chan struct{}
	cancel context.CancelFunc
}

// newPagesAhead returns the pages ahead of a listing whose first page ended
// at marker first (the part numbers each page is expected to span), or nil
// if the caller expects no page beyond it.
func newPagesAhead(ctx context.Context, list func(context.Context, *string) (*s3.ListPartsOutput, error),
	first string, expect int32) *pagesAhead {
	span, err := strconv.Atoi(first)
	if err != nil || span < 1 || span >= int(expect) {
		return nil
	}
	return &pagesAhead{ctx: ctx, list: list, span: span, expect: int(expect), pages: map[int]*partPage{}}
}

// move sets the window to the partPagesAhead pages from marker (the one
// the listing asks next) on, each spanning a.span part numbers, below
// a.expect: it starts fetching those not yet asked and cancels the pages
// outside it.
func (a *pagesAhead) move(marker string) {
	if a == nil {
		return
	}
	from, err := strconv.Atoi(marker)
	if err != nil {
		from = a.expect // not a number: no page ahead
	}
	want := func(m int) bool {
		d := m - from
		return m < a.expect && d >= 0 && d%a.span == 0 && d/a.span < partPagesAhead
	}
	for m, p := range a.pages {
		if !want(m) {
			p.cancel()
			delete(a.pages, m)
		}
	}
	for m := from; want(m); m += a.span {
		if a.pages[m] != nil {
			continue
		}
		ctx, cancel := context.WithCancel(a.ctx)
		p := &partPage{done: make(chan struct{}), cancel: cancel}
		a.pages[m] = p
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer close(p.done)
			p.out, p.err = a.list(ctx, aws.String(strconv.Itoa(m)))
		}()
	}
}

// take returns the page fetched at marker, nil if none was.
func (a *pagesAhead) take(marker *string) *partPage {
	if a == nil || marker == nil {
		return nil
	}
	m, err := strconv.Atoi(*marker)
	if err != nil || strconv.Itoa(m) != *marker {
		return nil
	}
	p := a.pages[m]
	delete(a.pages, m)
	return p
}

// stop cancels the pages still being fetched and waits for them.
func (a *pagesAhead) stop() {
	for _, p := range a.pages {
		p.cancel()
	}
	a.wg.Wait()
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
		if gone, certain := UploadGone(err); gone && certain && page == 0 {
			// A gateway seen answering NoSuchUpload for a bucket with no
			// upload at all: an empty list, not a failure.
			return nil, nil
		}
		if err != nil && Unsupported(err) {
			return nil, unsupported("ListMultipartUploads", "incomplete multipart uploads cannot be listed", err)
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
