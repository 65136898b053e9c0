package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/store"
)

// AbortResult is what Abort did.
type AbortResult struct {
	StatePath string `json:"state_path"`
	// HadState: a journal existed (and is now removed). Without one, Abort
	// aborted every incomplete upload of the key (only when asked to).
	HadState bool `json:"had_state"`
	// StateError says why an existing journal was unreadable ("" if not).
	StateError string       `json:"state_error,omitempty"`
	Aborted    []UploadInfo `json:"aborted"`        // uploads aborted
	Gone       []string     `json:"gone,omitempty"` // upload ids the server no longer had
	Other      int          `json:"other_uploads"`  // other uploads of the key, left alone
}

// Abort gives up the upload of source to bucket/key: it takes the journal's
// lock (failing with ErrBusy while a put runs), aborts the journal's upload
// (one the server no longer has is fine) and removes the journal. Without a
// readable journal it does not know which upload is this source's: it then
// aborts every incomplete upload of exactly key if all is set, and
// otherwise refuses (ErrBadInput) naming them, since they may be another
// host's.
func Abort(ctx context.Context, c *store.Client, source, bucket, key, stateDir string, all bool) (*AbortResult, error) {
	if err := s3up.ValidateDestination(bucket, key); err != nil {
		return nil, err
	}
	dest := resume.Destination{Endpoint: c.Info.Endpoint, Bucket: bucket, Key: key}
	path, err := Where(stateDir, source, dest)
	if err != nil {
		return nil, err
	}
	res := &AbortResult{StatePath: path, Aborted: []UploadInfo{}}
	sc, err := resume.Lock(path)
	if errors.Is(err, resume.ErrLocked) {
		return nil, store.WithKind(s3up.ErrBusy, fmt.Errorf("%s is being uploaded to s3://%s/%s by another s3up process (lock %s.lock)", source, bucket, key, path))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cannot lock resume state: %w", s3up.ErrState, err)
	}
	defer sc.Close() // after Remove, a no-op
	st, err := sc.Load()
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		res.StateError = err.Error()
	default:
		res.HadState = true
	}
	if st != nil {
		// Ask first: some stores (MinIO) answer an abort of a vanished
		// upload with success, and the server's part list is the truth
		// about what the abort frees.
		u := UploadInfo{Key: key, UploadID: st.UploadID, Initiated: st.CreatedAt}
		parts, err := store.ListAllParts(ctx, c.API, bucket, key, st.UploadID, st.LastPart())
		gone, _ := store.UploadGone(err)
		if err == nil {
			for _, p := range parts {
				u.Parts++
				u.Bytes += p.Size
			}
		}
		if !gone {
			if gone, err = store.Abort(ctx, c.API, bucket, key, st.UploadID); err != nil {
				return nil, err // the journal stays: the upload may still exist
			}
		}
		if gone {
			res.Gone = append(res.Gone, st.UploadID)
		} else {
			res.Aborted = append(res.Aborted, u)
		}
		if others, err := store.KeyUploads(ctx, c.API, bucket, key); err == nil {
			for _, o := range others {
				if o.UploadID != st.UploadID {
					res.Other++
				}
			}
		}
	} else {
		ups, err := UploadsForKey(ctx, c.API, bucket, key)
		if err != nil {
			return nil, err
		}
		if len(ups) > 0 && !all {
			ids := make([]string, len(ups))
			for i, u := range ups {
				ids[i] = u.UploadID
			}
			sc.Remove()
			return nil, store.WithHint(fmt.Errorf("%w: no resume state for %s at %s, so it is not known which of the %d incomplete upload(s) of s3://%s/%s is its own (%s)",
				s3up.ErrBadInput, source, path, len(ups), bucket, key, strings.Join(ids, ", ")), store.HintStateDir, store.HintAbortAll)
		}
		done, _, err := abortAll(ctx, c.API, bucket, ups)
		res.Aborted = append(res.Aborted, done...)
		if err != nil {
			return res, err
		}
	}
	if err := sc.Remove(); err != nil {
		return res, fmt.Errorf("%w: upload aborted, but its resume state %s could not be removed: %w", s3up.ErrState, path, err)
	}
	return res, nil
}
