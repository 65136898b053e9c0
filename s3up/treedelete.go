package s3up

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/store"
)

// deleteBatch is how many keys one DeleteObjects names (S3's limit).
const deleteBatch = 1000

// deleteCandidate keeps key, an object of the listing that no file of
// the tree names, for delete: unless the filter excludes it, or it is a
// "directory" marker (a key ending in "/"). Keys come in key order (the
// merge's) and are kept on disk, in a sort that holds them as they come.
func (r *treeRun) deleteCandidate(key string) error {
	rel, ok := strings.CutPrefix(key, r.t.Prefix)
	if !ok || strings.HasSuffix(key, "/") || !r.t.Filter.Match(rel) {
		return nil
	}
	if r.gone == nil {
		r.gone = resume.NewSorter(r.tmp, treeSortBudget)
	}
	if err := r.gone.Add(key, nil); err != nil {
		return fmt.Errorf("%w: keep the keys to delete: %w", ErrState, err)
	}
	r.goneN++
	return nil
}

// delete removes the objects under the prefix that no file of the tree
// names (Tree.Delete). The keys come from the listing taken before the
// upload, so an object written since is never deleted; a key the filter
// excludes is kept, and so is a "directory" marker (a key ending in "/").
// Nothing is deleted after any failure, or when a directory could not be
// read: what is missing locally is then not known.
func (r *treeRun) delete(ctx context.Context) {
	res := &r.res
	if r.goneN == 0 {
		return
	}
	switch {
	case res.Failed > 0:
		res.DeleteRefused = fmt.Sprintf("%d files failed", res.Failed)
	case res.Unreadable > 0:
		res.DeleteRefused = "part of the tree could not be read, so what is missing from it is not known"
	case r.t.MaxDelete > 0 && r.goneN > r.t.MaxDelete:
		res.DeleteRefused = fmt.Sprintf("%d objects would be deleted, more than the %d allowed", r.goneN, r.t.MaxDelete)
	}
	if res.DeleteRefused != "" {
		r.ev.emit(Warning{Message: fmt.Sprintf("deleting: %d objects under s3://%s/%s have no file any more, but nothing is deleted: %s",
			r.goneN, r.t.Bucket, r.t.Prefix, res.DeleteRefused)})
		return
	}
	it, err := r.gone.Sort()
	if err != nil {
		r.deleteUnread(err)
		return
	}
	one := false // the store has no DeleteObjects: delete one by one
	batch := make([]string, 0, deleteBatch)
	send := func() bool {
		defer func() { batch = batch[:0] }()
		if ctx.Err() != nil {
			return false
		}
		if r.t.DryRun {
			for _, key := range batch {
				res.Deleted++
				r.ev.emit(Deleted{Key: key, DryRun: true})
			}
			return true
		}
		if !one {
			failed, err := r.deleteMany(ctx, batch)
			if err == nil {
				r.deleted(batch, failed)
				return true
			}
			if !refusesMultiDelete(err) {
				for _, key := range batch {
					failed[key] = err
				}
				r.deleted(batch, failed)
				return true
			}
			one = true
		}
		failed := map[string]error{}
		for _, key := range batch {
			if _, err := r.u.client.API.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(r.t.Bucket), Key: aws.String(key)}); err != nil {
				failed[key] = store.Classify(err)
			}
		}
		r.deleted(batch, failed)
		return true
	}
	for it.Next() {
		batch = append(batch, string(it.Key()))
		if len(batch) == deleteBatch && !send() {
			return
		}
	}
	if err := it.Err(); err != nil {
		r.deleteUnread(err)
		return
	}
	if len(batch) > 0 {
		send()
	}
}

// deleteUnread reports that the kept keys could not be read back: what is
// left is not deleted.
func (r *treeRun) deleteUnread(err error) {
	r.res.DeleteRefused = fmt.Sprintf("the keys to delete could not be read back (%v)", err)
	r.ev.emit(Warning{Message: fmt.Sprintf("deleting: objects under s3://%s/%s that have no file any more are not all deleted: %s",
		r.t.Bucket, r.t.Prefix, r.res.DeleteRefused)})
}

// deleteMany sends one DeleteObjects; the keys it could not delete are in
// failed.
func (r *treeRun) deleteMany(ctx context.Context, keys []string) (map[string]error, error) {
	ids := make([]types.ObjectIdentifier, len(keys))
	for i, k := range keys {
		ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
	}
	out, err := r.u.client.API.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(r.t.Bucket),
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
	failed := map[string]error{}
	if err != nil {
		return failed, err
	}
	for _, e := range out.Errors {
		failed[aws.ToString(e.Key)] = fmt.Errorf("%s: %s", aws.ToString(e.Code), aws.ToString(e.Message))
	}
	return failed, nil
}

// refusesMultiDelete reports whether err says the store has no
// DeleteObjects (Google Cloud Storage's XML API, some gateways).
func refusesMultiDelete(err error) bool {
	switch store.Code(err) {
	case "NotImplemented", "MethodNotAllowed", "InvalidRequest", "InvalidArgument", "MalformedXML":
		return true
	}
	return errors.Is(store.Classify(err), ErrBadInput)
}

func (r *treeRun) deleted(keys []string, failed map[string]error) {
	for _, key := range keys {
		err := failed[key]
		if err != nil {
			r.res.DeleteFailed++
		} else {
			r.res.Deleted++
		}
		r.ev.emit(Deleted{Key: key, Err: err})
	}
}
