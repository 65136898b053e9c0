package ops

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/store"
)

// GCResult is what GC did, or with DryRun would do.
type GCResult struct {
	Cutoff  time.Time    `json:"cutoff"`  // uploads with no activity since this were selected
	DryRun  bool         `json:"dry_run"` // nothing was aborted
	Aborted []UploadInfo `json:"aborted"` // aborted (DryRun: would be), with parts counted
	Failed  []UploadInfo `json:"failed,omitempty"`
	Kept    int          `json:"kept"` // recently active uploads, and uploads of unknown age, left alone
	// Local are stale uploads that a journal in the state directory still
	// drives: a rerun of their put resumes them, so gc leaves them alone.
	Local []UploadInfo `json:"local,omitempty"`
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
// have been idle since before cutoff, freeing their stored parts. An upload
// is idle from its newest part's LastModified (ListParts), or from its
// initiation when it has no part: a put that needs more than the cutoff to
// finish keeps adding parts and is never taken for forgotten. An upload whose
// age the store does not report is never aborted, nor is one that a journal
// in stateDir (if not "") still records: its put resumes it. With dryRun GC
// only lists what it would abort.
//
// Ages come from the server's clock compared with cutoff from the local
// clock: skew between the two shifts the threshold.
//
// On a partial failure GC returns the result so far and an error; the
// failed uploads are in Failed.
func GC(ctx context.Context, c store.S3API, bucket, prefix string, cutoff time.Time, stateDir string, dryRun bool) (*GCResult, error) {
	ups, err := ListUploads(ctx, c, bucket, prefix)
	if err != nil {
		return nil, err
	}
	local := localUploads(stateDir)
	res := &GCResult{Cutoff: cutoff, DryRun: dryRun, Aborted: []UploadInfo{}}
	var stale []UploadInfo
	for _, u := range ups {
		switch {
		case u.LastActivity.IsZero() || !u.LastActivity.Before(cutoff):
			res.Kept++
		case local[u.UploadID]:
			res.Local = append(res.Local, u)
		default:
			stale = append(stale, u)
		}
	}
	if dryRun {
		res.Aborted = append(res.Aborted, stale...)
		return res, nil
	}
	done, failed, err := abortAll(ctx, c, bucket, stale)
	res.Aborted = append(res.Aborted, done...)
	res.Failed = failed
	return res, err
}

// localUploads returns the upload ids the journals in stateDir record.
func localUploads(stateDir string) map[string]bool {
	ids := map[string]bool{}
	if stateDir == "" {
		return ids
	}
	entries, err := os.ReadDir(stateDir)
	if err != nil {
		return ids
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".s3up") {
			continue
		}
		if st, err := resume.Peek(filepath.Join(stateDir, e.Name())); err == nil {
			ids[st.UploadID] = true
		}
	}
	return ids
}
