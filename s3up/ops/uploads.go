// Package ops holds the operations around uploads that are not an upload:
// status (the journal against the server, part by part), abort, the list of
// incomplete uploads, and gc of forgotten ones.
package ops

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/s3up/s3up/s3up/store"
)

// UploadInfo is an incomplete multipart upload as the server lists it, with
// its parts counted.
type UploadInfo struct {
	Key       string    `json:"key"`
	UploadID  string    `json:"upload_id"`
	Initiated time.Time `json:"initiated"` // zero if the store did not say
	Parts     int       `json:"parts"`     // parts stored (entries, on stores that keep several per number)
	Bytes     int64     `json:"bytes"`     // bytes in those parts
	// LastActivity is when the newest part was stored, else Initiated.
	LastActivity time.Time `json:"last_activity"`
	// PartsUnknown: the store does not list an upload's parts (no
	// ListParts), so Parts and Bytes are not known and LastActivity is the
	// initiation.
	PartsUnknown bool `json:"parts_unknown,omitempty"`
}

// listPartsConcurrency bounds the ListParts calls in flight when counting the
// parts of many uploads: enough to hide latency, few enough not to be
// throttled.
const listPartsConcurrency = 8

// ListUploads returns the incomplete multipart uploads of bucket whose key
// starts with prefix, with their parts and bytes counted, sorted by key and
// then initiation time.
func ListUploads(ctx context.Context, c store.S3API, bucket, prefix string) ([]UploadInfo, error) {
	ups, err := store.ListUploads(ctx, c, bucket, prefix)
	if err != nil {
		return nil, err
	}
	return countParts(ctx, c, bucket, infos(ups))
}

// UploadsForKey returns the incomplete multipart uploads of exactly key, with
// their parts counted.
func UploadsForKey(ctx context.Context, c store.S3API, bucket, key string) ([]UploadInfo, error) {
	ups, err := store.KeyUploads(ctx, c, bucket, key)
	if err != nil {
		return nil, err
	}
	return countParts(ctx, c, bucket, infos(ups))
}

func infos(ups []store.Upload) []UploadInfo {
	out := make([]UploadInfo, len(ups))
	for i, u := range ups {
		out[i] = UploadInfo{Key: u.Key, UploadID: u.UploadID, Initiated: u.Initiated, LastActivity: u.Initiated}
	}
	return out
}

// countParts fills in Parts, Bytes and LastActivity of each upload with
// ListParts, a few uploads at a time. Uploads that vanished meanwhile
// (completed or aborted by someone else) are dropped.
func countParts(ctx context.Context, c store.S3API, bucket string, ups []UploadInfo) ([]UploadInfo, error) {
	gone := make([]bool, len(ups))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(listPartsConcurrency)
	for i := range ups {
		g.Go(func() error {
			parts, err := store.ListAllParts(gctx, c, bucket, ups[i].Key, ups[i].UploadID, 0)
			if g, _ := store.UploadGone(err); g {
				gone[i] = true
				return nil
			}
			if err != nil && store.Unsupported(err) {
				ups[i].PartsUnknown = true
				return nil
			}
			if err != nil {
				return store.Classify(fmt.Errorf("key %s: %w", ups[i].Key, err))
			}
			ups[i].Parts, ups[i].Bytes = len(parts), 0
			for _, p := range parts {
				ups[i].Bytes += p.Size
				if p.LastModified.After(ups[i].LastActivity) {
					ups[i].LastActivity = p.LastModified
				}
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

// abortAll aborts the given uploads, a few at a time, and returns those
// aborted (or already gone) and those that failed, with the failures joined.
func abortAll(ctx context.Context, c store.S3API, bucket string, ups []UploadInfo) (done, failed []UploadInfo, err error) {
	var (
		mu   sync.Mutex
		errs []error
		ok   = make([]bool, len(ups))
		g    errgroup.Group
	)
	g.SetLimit(listPartsConcurrency)
	for i, u := range ups {
		g.Go(func() error {
			if _, err := store.Abort(ctx, c, bucket, u.Key, u.UploadID); err != nil {
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
