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
	exitInterrupted = 130 // interrupted by a signal: state kept
)

// usageError marks command-line mistakes found before any engine call.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode is the one place that maps errors to exit codes.
func exitCode(err error) int {
	var ue usageError
	var ce cli.ExitCoder
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ce):
		return ce.ExitCode()
	case errors.Is(err, s3up.ErrBadInput), errors.Is(err, s3up.ErrAccess),
		errors.Is(err, s3up.ErrNoBucket), errors.Is(err, s3up.ErrState):
		return exitUsage
	}
	return exitFailed
}

// message renders err as one line: what went wrong, then what to do next.
func message(err error) string {
	msg := s3up.Describe(err)
	var ue *s3up.UploadError
	hasState := errors.As(err, &ue) && ue.StatePath != ""
	switch {
	case errors.Is(err, context.Canceled):
		if hasState {
			return "interrupted; progress is saved in " + ue.StatePath + "; rerun the same command to resume"
		}
		return "interrupted"
	case errors.Is(err, s3up.ErrAccess):
		msg += " (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, --profile, and the bucket policy)"
	case errors.Is(err, s3up.ErrNoBucket):
		msg += " (create the bucket first, or check the name and --endpoint)"
	case errors.Is(err, s3up.ErrBusy):
		msg += "; wait for it to finish, or stop it, then rerun"
	case errors.Is(err, s3up.ErrVerify):
		msg += "; the object is not trustworthy: rerun to upload it again"
	}
	if hasState && !errors.Is(err, s3up.ErrState) && !errors.Is(err, s3up.ErrVerify) {
		msg += "; progress is saved, rerun the same command to resume"
	}
	return strings.ReplaceAll(msg, "\n", " ")
}
