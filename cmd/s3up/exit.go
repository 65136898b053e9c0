package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/store"
)

// Exit codes (README "Exit codes").
const (
	exitOK          = 0
	exitFailed      = 1   // failed but resumable: state kept, rerun resumes
	exitUsage       = 2   // bad input or usage: nothing was sent
	exitAction      = 3   // failed after the upload started, for a reason a rerun alone cannot fix (credentials, permissions, a refused option): state kept; fix it, then rerun to resume
	exitPartial     = 4   // a tree run stored some files and failed others (or refused to delete): rerun to retry them
	exitWindow      = 5   // stopped at the end of its window (--max-duration, --stop-at): state kept, rerun continues
	exitStream      = 6   // a stream ended badly (its producer failed, another size than expected): nothing was stored
	exitInterrupted = 130 // SIGINT: state kept
	exitTerminated  = 143 // SIGTERM: state kept
)

// exitCodes says what each exit code means: the one source of the app's
// help and the man page (exitCodesText) and of the README's table
// (exitCodesMarkdown, written by `s3up gendocs --readme README.md` and
// checked by a test).
var exitCodes = []struct {
	codes   []int
	meaning string // for the help: one line
	detail  string // for the README: when it happens and what to do
}{
	{[]int{exitOK}, "done", "done (and verified, unless `--verify=false`; an unchanged file: nothing sent)"},
	{[]int{exitFailed}, "failed but resumable (rerun the same command)",
		"failed but resumable: network, server errors after retries, the file changed during the upload, an object that failed verification (deleted: the rerun uploads it again), or another s3up already driving the same upload. State is kept; rerun the same command"},
	{[]int{exitUsage}, "bad input or usage (nothing was sent)",
		"bad input or usage, found before anything was sent: a missing or unreadable file, a directory without `-r` or a special file, a malformed `s3://` URL, two sources for one key, a missing bucket, rejected credentials, invalid flags or recipients, unusable resume state (corrupt, newer format, or different object options; `--fresh` discards it), an operation the store does not implement (`uploads` and `gc` without ListMultipartUploads)"},
	{[]int{exitAction}, "failed after the upload started: fix the cause (credentials, permissions), rerun to resume",
		"failed after the upload started, for a reason a rerun alone cannot fix: credentials expired or revoked, access denied (a bucket policy, a KMS key), an option the store refuses. The state is kept: fix the cause, then rerun the same command to resume"},
	{[]int{exitPartial}, "a tree upload (-r) stored some files and failed others (rerun to retry them)",
		"a tree run (`-r`) stored or skipped some files and failed others, or could not read part of the tree, or refused `--delete`: the summary and the error lines say which; rerun to retry them"},
	{[]int{exitWindow}, "stopped at the end of its window; progress is saved; rerun to continue",
		"stopped at the end of its window (`--max-duration`, `--stop-at`): no part or file started after it, parts in flight finished (`--cutoff-mode soft`) or were cancelled (`hard`). Progress is saved: the line says how far it got (bytes, percent) and about how many more windows it needs; rerun the same command to continue. Not a failure: with systemd, `SuccessExitStatus=5`"},
	{[]int{exitStream}, "a stream ended badly: nothing was stored (fix the producer, then rerun)",
		"a stream (`-`, `--stdin-from-command`) ended badly: its producer exited non-zero or was killed, or it ended at another size than `--expected-size`. Its upload was aborted and its state removed: nothing of it is stored. Fix the producer, then rerun"},
	{[]int{exitInterrupted, exitTerminated}, "interrupted by SIGINT / SIGTERM (state kept; rerun to resume)",
		"interrupted by SIGINT / SIGTERM, whatever the source (a file, a stream, a tree); the message names the signal. In-flight parts get 5 s to finish, the state is durable, and the upload is never aborted. A second signal stops at once"},
}

// exitCodesText is exitCodes as a list for the help.
func exitCodesText() string {
	var b strings.Builder
	b.WriteString("Exit codes:")
	for _, e := range exitCodes {
		fmt.Fprintf(&b, "\n  %-9s %s", codesText(e.codes, "/"), e.meaning)
	}
	return b.String()
}

// exitCodesMarkdown is exitCodes as the README's table.
func exitCodesMarkdown() string {
	var b strings.Builder
	b.WriteString("| code | meaning |\n|---|---|\n")
	for _, e := range exitCodes {
		fmt.Fprintf(&b, "| %s | %s |\n", codesText(e.codes, " / "), e.detail)
	}
	return b.String()
}

func codesText(codes []int, sep string) string {
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = fmt.Sprint(c)
	}
	return strings.Join(s, sep)
}

// signalled is the cause of a context cancelled by a signal (main).
type signalled struct{ sig syscall.Signal }

func (s signalled) Error() string { return "interrupted by " + signalName(s.sig) }

// signalName is how messages name a signal: SIGINT, SIGTERM.
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// signalExit is the exit code of a run stopped by sig.
func signalExit(sig syscall.Signal) int {
	if sig == syscall.SIGTERM {
		return exitTerminated
	}
	return exitInterrupted
}

// withSignal adds to err, when it is the cancellation of ctx by a signal,
// which signal it was (the engine returns context.Canceled, not the cause),
// so that exitCode and message can tell SIGINT from SIGTERM.
func withSignal(ctx context.Context, err error) error {
	var s signalled
	if err == nil || !errors.Is(err, context.Canceled) || errors.As(err, &s) || !errors.As(context.Cause(ctx), &s) {
		return err
	}
	return fmt.Errorf("%w: %w", err, s)
}

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
		var s signalled
		if errors.As(err, &s) {
			return signalExit(s.sig)
		}
		return exitInterrupted
	case errors.Is(err, s3up.ErrWindowEnded):
		return exitWindow
	case errors.Is(err, s3up.ErrPartial):
		return exitPartial
	case errors.Is(err, s3up.ErrStreamFailed):
		return exitStream
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
	if we := windowOf(err); we != nil {
		return windowMessage(we)
	}
	msg := s3up.Describe(err)
	if h := hintsText(err); h != "" {
		msg += "; " + h
	}
	state := statePath(err)
	switch {
	case errors.Is(err, context.Canceled):
		what := "interrupted"
		var s signalled
		if errors.As(err, &s) {
			what = s.Error()
		}
		if state != "" {
			return what + "; progress is saved in " + state + "; rerun the same command to resume"
		}
		return what + "; what is done is kept: rerun the same command to continue"
	case errors.Is(err, s3up.ErrBusy):
		msg += "; wait for it to finish, or stop it, then rerun"
	case errors.Is(err, s3up.ErrVerify):
		msg += "; rerun the same command to upload it again"
	case errors.As(err, new(*store.UnsupportedError)):
		msg += "; s3up status SOURCE s3://BUCKET/KEY still shows an upload this machine started, and s3up abort ends it"
	default:
		if p, ok := store.Network(err); ok {
			msg += "; " + networkHint(p)
		}
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

// hintText says, with the CLI's flags, what a store.Hint names.
var hintText = map[store.Hint]string{
	store.HintFresh:           "rerun with --fresh to discard it and start over",
	store.HintOriginalOptions: "rerun with the options the upload started with, or with --fresh to start over",
	store.HintStateDir:        "pass --state-dir DIR",
	store.HintPartSize:        "choose a larger --part-size, or leave it out",
	store.HintEndpoint:        "check --endpoint / AWS_ENDPOINT_URL_S3",
	store.HintRegion:          "pass --region (or set AWS_REGION)",
	store.HintCredentials:     "credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or --profile",
	store.HintAccessKey:       "the access key comes from AWS_ACCESS_KEY_ID or --profile",
	store.HintSecretKey:       "the secret key comes from AWS_SECRET_ACCESS_KEY or --profile",
	store.HintKMSKey:          "check --sse-kms-key-id",
	store.HintStorageClass:    "choose another --storage-class",
	store.HintSSE:             "check --sse",
	store.HintObjectLock:      "--retention-mode with --retain-until, and --legal-hold, need a bucket with Object Lock",
	store.HintExpectedSize:    "check --expected-size",
	store.HintRetainUntil:     "check --retain-until",
	store.HintAbortAll:        "pass --state-dir if the upload used one, or --all to abort them all",
	store.HintGC:              "run s3up gc s3://BUCKET to remove forgotten uploads",
	store.HintDeleteEmpty:     "--delete with an empty tree would remove every object under the prefix: check the source path",
	store.HintRecipients:      "check --encrypt-to (age1…, ssh-ed25519 or ssh-rsa public keys, as age -r takes them) and --encrypt-to-file (a file as age -R reads it)",
}

// hintsText is what err's hints say to do, with the CLI's flags.
func hintsText(err error) string {
	var out []string
	for _, h := range store.Hints(err) {
		if t := hintText[h]; t != "" {
			out = append(out, t)
		}
	}
	return strings.Join(out, "; ")
}

// networkHint is what to check when the store cannot be reached: the flags
// and variables that choose the endpoint, and what stands between.
func networkHint(p store.NetProblem) string {
	const endpoint = "--endpoint / AWS_ENDPOINT_URL_S3"
	if p.Proxy != "" {
		return "check the proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) and that it is running"
	}
	switch p.Kind {
	case store.NetRefused:
		return "check " + endpoint + " (host and port) and that the server is running"
	case store.NetDNS:
		return "check the host name in " + endpoint + ", and DNS"
	case store.NetTLS:
		return "check " + endpoint + " (https:// or http://, the host name)"
	case store.NetTimeout, store.NetUnreachable:
		return "check " + endpoint + ", that the server is reachable from here (a firewall, HTTPS_PROXY), and --stall-timeout"
	}
	return "rerun; if it persists, check what stands between here and the store (a proxy: HTTPS_PROXY, a firewall)"
}

// warningText is a warning's message with what its hint names, in the
// CLI's terms (BUCKET: the warning's bucket).
func warningText(w s3up.Warning) string {
	h, ok := hintText[w.Hint]
	if !ok {
		return w.Message
	}
	if b := w.Ref().Bucket; b != "" {
		h = strings.ReplaceAll(h, "BUCKET", b)
	}
	return w.Message + "; " + h
}
