package s3up

import "github.com/s3up/s3up/s3up/store"

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
)

// UploadError carries the recovery data of a failed or interrupted upload;
// see store.UploadError.
type UploadError = store.UploadError

// Describe renders an error as one line for people; see store.Describe.
func Describe(err error) string { return store.Describe(err) }
