// Command s3up uploads large files to S3-compatible object stores with
// multipart upload, and resumes interrupted uploads. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "s3up: interrupted: letting parts in flight finish (press Ctrl-C again to stop at once; state is kept)")
		cancel()
		<-sigs
		// The sidecar is an append-only journal written line by line, so
		// stopping now loses at most parts in flight, never the state.
		fmt.Fprintln(os.Stderr, "s3up: stopped; rerun the same command to resume")
		os.Exit(exitInterrupted)
	}()
	os.Exit(run(ctx, os.Args, os.Stdout, os.Stderr))
}
