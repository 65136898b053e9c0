package s3up

import (
	"context"
	"time"
)

// GCResult is what GC did, or with DryRun would do.
type GCResult struct {
	Cutoff  time.Time    `json:"cutoff"`  // uploads initiated before this were selected
	DryRun  bool         `json:"dry_run"` // nothing was aborted
	Aborted []UploadInfo `json:"aborted"` // aborted (DryRun: would be), with parts counted
	Failed  []UploadInfo `json:"failed,omitempty"`
	Kept    int          `json:"kept"` // younger uploads, and uploads of unknown age, left alone
}

// Totals returns the number of uploads, parts and bytes in Aborted.
func (r *GCResult) Totals() (uploads, parts int, bytes int64) {
	for _, u := range r.Aborted {
		parts += u.Parts
		bytes += u.Bytes
	}
	return len(r.Aborted), parts, bytes
}

// GC aborts the incomplete multipart uploads of bucket under prefix that
// were initiated before cutoff, freeing their stored parts. An upload whose
// initiation time the store does not report is never aborted. With dryRun it
// only lists what it would abort.
//
// Ages come from the server's clock (Initiated) compared with cutoff from
// the local clock: skew between the two shifts the threshold. An upload
// still being driven by a long-running put elsewhere is aborted like any
// other; that put then fails and a rerun starts over.
//
// On a partial failure GC returns the result so far and an error; the
// failed uploads are in Failed.
func GC(ctx context.Context, c S3API, bucket, prefix string, cutoff time.Time, dryRun bool) (*GCResult, error) {
	ups, err := listUploads(ctx, c, bucket, prefix)
	if err != nil {
		return nil, err
	}
	res := &GCResult{Cutoff: cutoff, DryRun: dryRun}
	var stale []UploadInfo
	for _, u := range ups {
		if !u.Initiated.IsZero() && u.Initiated.Before(cutoff) {
			stale = append(stale, u)
		} else {
			res.Kept++
		}
	}
	if stale, err = CountParts(ctx, c, bucket, stale); err != nil {
		return nil, err
	}
	if dryRun {
		res.Aborted = stale
		return res, nil
	}
	res.Aborted, res.Failed, err = abortAll(ctx, c, bucket, stale)
	return res, err
}
