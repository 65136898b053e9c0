package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/store"
)

// TestExitCodeByPhase (review 3.3): the same kind of error is 2 before
// anything was sent and 3 once the upload holds state: then it is
// resumable, once the cause is fixed.
func TestExitCodeByPhase(t *testing.T) {
	withState := func(kind error) error {
		return store.WithKind(kind, &s3up.UploadError{Op: "upload part 9", UploadID: "u", StatePath: "/state/x.s3up", Err: errors.New("ExpiredToken")})
	}
	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{nil, exitOK, ""},
		{fmt.Errorf("%w: no such file", s3up.ErrBadInput), exitUsage, ""},
		{store.WithKind(s3up.ErrAccess, errors.New("denied")), exitUsage, ""},
		{withState(s3up.ErrAccess), exitAction, "fix this, then rerun"},
		{withState(s3up.ErrBadInput), exitAction, "fix this, then rerun"},
		{withState(s3up.ErrTransient), exitFailed, "rerun the same command to resume"},
		{withState(s3up.ErrVerify), exitFailed, "not trustworthy"},
		{store.WithKind(s3up.ErrBusy, errors.New("busy")), exitFailed, "wait for it"},
		{&s3up.UploadError{Op: "upload interrupted", StatePath: "/s", Err: context.Canceled}, exitInterrupted, "progress is saved"},
		{usagef("bad flag"), exitUsage, ""},
	} {
		if got := exitCode(tc.err); got != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.err, got, tc.code)
		}
		if tc.msg != "" && !strings.Contains(message(tc.err), tc.msg) {
			t.Errorf("%v: message %q does not say %q", tc.err, message(tc.err), tc.msg)
		}
	}
	if got := signalCode(exitInterrupted, signalled{syscall.SIGTERM}); got != 143 {
		t.Errorf("SIGTERM: %d, want 143", got)
	}
	if got := signalCode(exitInterrupted, signalled{syscall.SIGINT}); got != 130 {
		t.Errorf("SIGINT: %d, want 130", got)
	}
	if got := signalCode(exitFailed, signalled{syscall.SIGTERM}); got != exitFailed {
		t.Errorf("a failure during shutdown keeps its code: %d", got)
	}
}

// TestPutRefusesSameKey (review 2.2): two sources with one file name to one
// prefix would overwrite each other: refused before anything is sent,
// naming both.
func TestPutRefusesSameKey(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	dir := t.TempDir()
	var paths []string
	for _, sub := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
		p := filepath.Join(dir, sub, "db.tar")
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	code, _, stderr := runArgs(t, "put", "--endpoint", "http://127.0.0.1:9", paths[0], paths[1], "s3://bucket/p/")
	if code != exitUsage || !strings.Contains(stderr, paths[0]) || !strings.Contains(stderr, paths[1]) || !strings.Contains(stderr, "p/db.tar") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
