// Command s3up uploads large files to S3-compatible object stores with
// multipart upload, and resumes interrupted uploads. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	go func() {
		sig := (<-sigs).(syscall.Signal)
		fmt.Fprintln(os.Stderr, clearLine(tty)+"s3up: "+interruptNotice(sig))
		cancel(signalled{sig})
		sig = (<-sigs).(syscall.Signal)
		// The journal is append-only and written line by line, so stopping
		// now loses at most parts in flight, never the state.
		fmt.Fprintf(os.Stderr, "%ss3up: stopped at once by a second %s; progress is kept: rerun the same command to resume\n", clearLine(tty), signalName(sig))
		os.Exit(signalExit(sig))
	}()
	stopProfile, err := startCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3up:", err)
		os.Exit(exitUsage)
	}
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stopProfile()
	os.Exit(code)
}

// interruptNotice is what s3up says when the first signal arrives. Only
// SIGINT comes from a key a person pressed; a SIGTERM comes from systemd,
// a timeout or kill, and must not speak of Ctrl-C.
func interruptNotice(sig syscall.Signal) string {
	again := "press Ctrl-C again to stop at once"
	if sig != syscall.SIGINT {
		again = "send " + signalName(sig) + " again to stop at once"
	}
	return fmt.Sprintf("interrupted by %s: letting parts in flight finish (%s); progress is kept", signalName(sig), again)
}

// clearLine erases a progress bar the notice would otherwise be written
// into, on a terminal.
func clearLine(tty bool) string {
	if tty {
		return "\r\033[K"
	}
	return ""
}
