// Command s3up uploads large files to S3-compatible object stores with
// multipart upload, and resumes interrupted uploads. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// signalled is the cause of a context cancelled by a signal.
type signalled struct{ sig syscall.Signal }

func (s signalled) Error() string { return "interrupted by " + s.sig.String() }

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := (<-sigs).(syscall.Signal)
		fmt.Fprintln(os.Stderr, "s3up: interrupted: letting parts in flight finish (press Ctrl-C again to stop at once; state is kept)")
		cancel(signalled{sig})
		sig = (<-sigs).(syscall.Signal)
		// The journal is append-only and written line by line, so stopping
		// now loses at most parts in flight, never the state.
		fmt.Fprintln(os.Stderr, "s3up: stopped; rerun the same command to resume")
		os.Exit(128 + int(sig))
	}()
	stopProfile, err := startCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3up:", err)
		os.Exit(exitUsage)
	}
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stopProfile()
	os.Exit(signalCode(code, context.Cause(ctx)))
}

// signalCode turns the interrupted exit code into 128+signal: 130 for
// SIGINT, 143 for SIGTERM.
func signalCode(code int, cause error) int {
	var s signalled
	if code == exitInterrupted && errors.As(cause, &s) {
		return 128 + int(s.sig)
	}
	return code
}
