package s3up

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/s3up/s3up/resume"
)

// AbortResult is what Abort did.
type AbortResult struct {
	StatePath string `json:"state_path"`
	// HadState: a sidecar existed (and is now removed). Without one, Abort
	// aborted every incomplete upload of the key.
	HadState bool `json:"had_state"`
	// StateError says why an existing sidecar was unreadable ("" if not).
	StateError string       `json:"state_error,omitempty"`
	Aborted    []UploadInfo `json:"aborted"`        // uploads aborted
	Gone       []string     `json:"gone,omitempty"` // upload ids the server no longer had
	Other      int          `json:"other_uploads"`  // other uploads of the key, left alone (with a sidecar)
}

// Abort gives up the upload of source to bucket/key: it takes the sidecar's
// lock (failing with ErrBusy while a put runs), aborts the sidecar's upload
// (one the server no longer has is fine) and removes the sidecar. Without a
// readable sidecar it aborts every incomplete upload of exactly key.
// stateDir and endpoint locate the sidecar as in Options.
func Abort(ctx context.Context, c S3API, source, bucket, key, stateDir, endpoint string) (*AbortResult, error) {
	if err := ValidateDestination(bucket, key); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(source)
	if err != nil {
		return nil, fmt.Errorf("%w: source %s: %w", ErrBadInput, source, err)
	}
	path := resume.SidecarPath(stateDir, abs, resume.Destination{Endpoint: endpoint, Bucket: bucket, Key: key})
	res := &AbortResult{StatePath: path, Aborted: []UploadInfo{}}
	sc, err := lockState(path, source, bucket, key)
	if err != nil {
		return nil, err
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
		parts, err := ListAllParts(ctx, c, bucket, key, st.UploadID)
		gone := IsNoSuchUpload(err)
		if err == nil {
			for _, p := range parts {
				u.Parts++
				u.Bytes += p.Size
			}
		}
		if !gone {
			if gone, err = abortUpload(ctx, c, bucket, key, st.UploadID); err != nil {
				return nil, err // the sidecar stays: the upload may still exist
			}
		}
		if gone {
			res.Gone = append(res.Gone, st.UploadID)
		} else {
			res.Aborted = append(res.Aborted, u)
		}
		if others, err := listUploads(ctx, c, bucket, key); err == nil {
			for _, o := range others {
				if o.Key == key && o.UploadID != st.UploadID {
					res.Other++
				}
			}
		}
	} else {
		ups, err := UploadsForKey(ctx, c, bucket, key)
		if err != nil {
			return nil, err
		}
		done, _, err := abortAll(ctx, c, bucket, ups)
		res.Aborted = append(res.Aborted, done...)
		if err != nil {
			return res, err
		}
	}
	if err := sc.Remove(); err != nil {
		return res, fmt.Errorf("%w: upload aborted, but its resume state %s could not be removed: %w", ErrState, path, err)
	}
	return res, nil
}

// lockState takes the sidecar lock as put does, with the same errors.
func lockState(path, source, bucket, key string) (*resume.Sidecar, error) {
	sc, err := resume.Lock(path)
	if errors.Is(err, resume.ErrLocked) {
		return nil, withKind(ErrBusy, fmt.Errorf("%s is being uploaded to s3://%s/%s by another s3up process (lock %s.lock)",
			source, bucket, key, path))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cannot lock resume state (%w); pass the --state-dir the upload used", ErrBadInput, unwrapPathErr(err))
	}
	return sc, nil
}
