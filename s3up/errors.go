package s3up

import (
	"context"
	"errors"

	"github.com/s3up/s3up/s3up/store"
)

// The error kinds of package store, re-exported: every error this package
// returns wraps exactly one of them (test with errors.Is).
var (
	ErrBadInput  = store.ErrBadInput
	ErrAccess    = store.ErrAccess
	ErrNoBucket  = store.ErrNoBucket
	ErrState     = store.ErrState
	ErrBusy      = store.ErrBusy
	ErrVerify    = store.ErrVerify
	ErrTransient = store.ErrTransient
	// ErrStreamFailed: a stream ended badly; nothing of it was stored.
	ErrStreamFailed = store.ErrStreamFailed
	// ErrPartial: a tree run stored some files and failed others.
	ErrPartial = store.ErrPartial
	// ErrWindowEnded: the run stopped at the end of its window
	// (Options.Window); the state is kept and the same call continues. It
	// is schedule.ErrWindowEnded: errors.Is matches either. A *WindowError
	// in the chain says how far the upload got.
	ErrWindowEnded = store.ErrWindowEnded
)

// UploadError carries the recovery data of a failed or interrupted upload;
// see store.UploadError.
type UploadError = store.UploadError

// Describe renders an error as one line for people; see store.Describe.
func Describe(err error) string { return store.Describe(err) }

// kinded makes sure an error the package returns carries a kind: an
// interruption (context.Canceled, a deadline) is ErrTransient, since a rerun
// resumes from the state kept; anything else is classified.
func kinded(err error) error {
	if err == nil || store.KindOf(err) != nil {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return store.WithKind(ErrTransient, err)
	}
	return store.Classify(err)
}
