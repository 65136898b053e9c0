package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up"
)

// Exit codes (README "Exit codes").
const (
	exitOK          = 0
	exitFailed      = 1   // failed but resumable: state kept, rerun resumes
	exitUsage       = 2   // bad input or usage: nothing was sent
	exitAction      = 3   // failed after the upload started, for a reason a rerun alone cannot fix (credentials, permissions, a refused option): state kept; fix it, then rerun to resume
	exitPartial     = 4   // a tree run stored some files and failed others (or refused to delete): rerun to retry them
	exitInterrupted = 130 // SIGINT: state kept
	exitTerminated  = 143 // SIGTERM: state kept
)

// usageError marks command-line mistakes found before any engine call.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

// needsAction reports whether err is a failure no rerun can fix by itself.
func needsAction(err error) bool {
	return errors.Is(err, s3up.ErrBadInput) || errors.Is(err, s3up.ErrAccess) ||
		errors.Is(err, s3up.ErrNoBucket) || errors.Is(err, s3up.ErrState)
}

// statePath returns the resume state an error left behind ("" for none):
// the error happened after the upload started, so something was sent.
func statePath(err error) string {
	var ue *s3up.UploadError
	if errors.As(err, &ue) {
		return ue.StatePath
	}
	return ""
}

// exitCode is the one place that maps errors to exit codes. The code
// depends on the phase: the same kind of error (access denied, say) is 2
// before anything was sent and 3 once an upload holds parts on the server,
// because then the state is kept and a rerun resumes.
func exitCode(err error) int {
	var ue usageError
	var ce cli.ExitCoder
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, s3up.ErrPartial):
		return exitPartial
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ce):
		return ce.ExitCode()
	case needsAction(err) && statePath(err) != "":
		return exitAction
	case needsAction(err):
		return exitUsage
	}
	return exitFailed
}

// message renders err as one line: what went wrong, then what to do next.
func message(err error) string {
	msg := s3up.Describe(err)
	state := statePath(err)
	switch {
	case errors.Is(err, context.Canceled):
		if state != "" {
			return "interrupted; progress is saved in " + state + "; rerun the same command to resume"
		}
		return "interrupted"
	case errors.Is(err, s3up.ErrBusy):
		msg += "; wait for it to finish, or stop it, then rerun"
	case errors.Is(err, s3up.ErrVerify):
		msg += "; the object is not trustworthy: rerun to upload it again"
	}
	switch {
	case state == "" || errors.Is(err, s3up.ErrVerify):
	case needsAction(err):
		msg += "; progress is saved in " + state + ": fix this, then rerun the same command to resume"
	default:
		msg += "; progress is saved, rerun the same command to resume"
	}
	return strings.ReplaceAll(msg, "\n", " ")
}
