package store

import (
	"errors"
	"fmt"

	"github.com/s3up/s3up/s3up/schedule"
)

// Error kinds the CLI must tell apart. Errors returned by s3up wrap exactly
// one of them (test with errors.Is); the chain keeps the original SDK error
// for detail. Package s3up re-exports them.
var (
	// ErrBadInput: the request cannot work as given (missing file, bad part
	// size, malformed destination, an option the store refuses).
	ErrBadInput = errors.New("bad input")
	// ErrAccess: credentials missing, rejected or expired, or access denied.
	ErrAccess = errors.New("access denied")
	// ErrNoBucket: the destination bucket does not exist.
	ErrNoBucket = errors.New("bucket does not exist")
	// ErrState: the local resume state cannot be used (corrupt, from a newer
	// version, or recorded with different options); --fresh discards it.
	ErrState = errors.New("resume state unusable")
	// ErrBusy: another s3up process is driving the same upload.
	ErrBusy = errors.New("upload in progress elsewhere")
	// ErrVerify: the completed object does not match the source.
	ErrVerify = errors.New("verification failed")
	// ErrTransient: the upload failed for a reason a rerun may overcome
	// (network, throttling, server errors after retries). State is kept.
	ErrTransient = errors.New("temporary failure")
	// ErrStreamFailed: a stream ended badly (its producer failed, or it
	// ended at another size than expected). Its upload was aborted and its
	// state removed: nothing of it is stored, there is nothing to resume;
	// a rerun reads the stream anew.
	ErrStreamFailed = errors.New("stream failed")
	// ErrPartial: a tree run did part of its job: some files failed (or a
	// directory could not be read, or a deletion was refused), the others
	// were stored or are unchanged. A rerun retries what failed.
	ErrPartial = errors.New("some files of the tree were not uploaded")
	// ErrWindowEnded: the run stopped at the end of its window (a maximum
	// duration or a stop time): no new part or file started after it, the
	// state is kept, and a rerun continues. It is schedule.ErrWindowEnded,
	// so errors.Is matches either name. Not an error to retry at once.
	ErrWindowEnded = schedule.ErrWindowEnded
)

// Kinds lists every kind, for code that must find the one an error carries.
var Kinds = []error{ErrBadInput, ErrAccess, ErrNoBucket, ErrState, ErrBusy, ErrVerify, ErrTransient, ErrStreamFailed, ErrPartial, ErrWindowEnded}

// UploadError carries the recovery data of a failed or interrupted upload.
// An error whose chain holds an UploadError with a StatePath left resume
// state behind: rerunning resumes once the cause is gone.
type UploadError struct {
	Op        string // what failed, e.g. "upload part 17"
	UploadID  string // multipart upload id, "" if none was created
	StatePath string // sidecar holding the progress, "" if none
	Err       error
}

func (e *UploadError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *UploadError) Unwrap() error { return e.Err }

// kindError attaches a kind to an error without changing its message.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }

// WithKind attaches kind to err (unless err already carries it).
func WithKind(kind, err error) error {
	if err == nil || errors.Is(err, kind) {
		return err
	}
	return &kindError{kind: kind, err: err}
}

// KindOf returns the kind err carries, or nil.
func KindOf(err error) error {
	for _, k := range Kinds {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// UnsupportedError is a store that does not implement an operation s3up
// needs for what was asked (ListParts, ListMultipartUploads): no retry or
// rerun helps. It carries ErrBadInput.
type UnsupportedError struct {
	Op   string // the S3 operation, e.g. "ListMultipartUploads"
	What string // what cannot be done without it
	Err  error  // the store's answer
}

func (e *UnsupportedError) Error() string {
	var ae interface{ ErrorCode() string }
	answer := "it refused"
	if errors.As(e.Err, &ae) {
		answer = "it answered " + ae.ErrorCode()
	}
	return fmt.Sprintf("the store does not implement %s (%s): %s", e.Op, answer, e.What)
}
func (e *UnsupportedError) Unwrap() []error { return []error{e.Err, ErrBadInput} }

func unsupported(op, what string, err error) error {
	return &UnsupportedError{Op: op, What: what, Err: err}
}
