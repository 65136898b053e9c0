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
		{withState(s3up.ErrVerify), exitFailed, "rerun the same command to upload it again"},
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
}

// TestExitCodeOfSignals: a run stopped by SIGINT exits 130, by SIGTERM 143,
// whatever source was interrupted and however the engine wrapped the
// cancellation (PutTree wraps it with the cause, a file's session in an
// UploadError); the message names the signal.
func TestExitCodeOfSignals(t *testing.T) {
	file := &s3up.UploadError{Op: "upload interrupted", StatePath: "/s", Err: context.Canceled}
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(signalled{tc.sig})
		tree := fmt.Errorf("tree upload stopped: %w: %w", ctx.Err(), context.Cause(ctx))
		for _, err := range []error{file, tree, withSignal(ctx, tree), fmt.Errorf("stream: %w", context.Canceled)} {
			err := withSignal(ctx, err)
			if got := exitCode(err); got != tc.code {
				t.Errorf("%v: %v: exit %d, want %d", tc.sig, err, got, tc.code)
			}
			if msg := message(err); !strings.Contains(msg, signalName(tc.sig)) || (tc.sig != syscall.SIGINT && strings.Contains(msg, "Ctrl-C")) {
				t.Errorf("%v: message %q", tc.sig, msg)
			}
		}
		if got := exitCode(withSignal(ctx, errors.New("a failure during shutdown"))); got != exitFailed {
			t.Errorf("a failure during shutdown keeps its code: %d", got)
		}
		if n := interruptNotice(tc.sig); !strings.Contains(n, signalName(tc.sig)) || (tc.sig == syscall.SIGINT) != strings.Contains(n, "Ctrl-C") {
			t.Errorf("notice %q", n)
		}
	}
	if got := exitCode(withSignal(context.Background(), context.Canceled)); got != exitInterrupted {
		t.Errorf("cancelled without a signal: %d", got)
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

// TestExitCodesDocumented: the table of exit codes names every code exitCode
// returns, the help shows it, and the README's table has every code.
func TestExitCodesDocumented(t *testing.T) {
	listed := map[int]bool{}
	for _, e := range exitCodes {
		for _, c := range e.codes {
			listed[c] = true
		}
	}
	for _, c := range []int{exitOK, exitFailed, exitUsage, exitAction, exitPartial, exitWindow, exitStream, exitInterrupted, exitTerminated} {
		if !listed[c] {
			t.Errorf("exit code %d is not in exitCodes", c)
		}
	}
	_, stdout, _ := runArgs(t, "--help")
	if !strings.Contains(strings.Join(strings.Fields(stdout), " "), strings.Join(strings.Fields(exitCodesText()), " ")) {
		t.Errorf("--help does not show the exit codes:\n%s", stdout)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := readmeWithExitCodes(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if want != string(readme) {
		t.Errorf("README's exit code table is not the one exit.go makes: go run ./cmd/s3up gendocs --readme README.md")
	}
	for c := range listed {
		if !strings.Contains(exitCodesMarkdown(), fmt.Sprint(c)) {
			t.Errorf("the exit code table has no row for %d", c)
		}
	}
}

// TestEveryHintHasText: every hint the library can attach is said in the
// CLI's terms, on errors and warnings alike.
func TestEveryHintHasText(t *testing.T) {
	for _, h := range store.AllHints() {
		if hintText[h] == "" {
			t.Errorf("hint %d has no text", h)
		}
	}
	w := s3up.Warning{Message: "discarding unreadable resume state", Hint: store.HintGC}
	if got := warningText(w); got != "discarding unreadable resume state; run s3up gc s3://BUCKET to remove forgotten uploads" {
		t.Errorf("warning %q", got)
	}
	if got := warningText(s3up.Warning{Message: "plain"}); got != "plain" {
		t.Errorf("warning without a hint %q", got)
	}
}
