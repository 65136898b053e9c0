// Command s3bench is the s3up benchmark harness behind bench/run.sh: it
// uploads the same data with s3up and with the tools people already use
// (aws-cli, mc, rclone, s3cmd, the AWS SDK for Go's upload manager) and with
// a bare UploadPart loop (the ceiling), against a local MinIO over plain
// HTTP and over HTTPS, and prints a markdown report of medians and ratios.
//
// # Modes
//
//   - compare: one file, every tool, round-robin over the rounds.
//   - resume: s3up and s3cmd --continue-put, each killed half-way, then the
//     timed resume.
//   - memory: s3up's peak RSS over file sizes x part sizes.
//   - stream: a deterministic stream (bench/datagen) piped into each tool;
//     the object's SHA-256 is checked against the stream's.
//   - tree: a directory of small files uploaded recursively, then the same
//     again unchanged (the tools that skip unchanged files).
//   - scale: s3up and the raw loop as concurrency and part size grow.
//
// # Measurement
//
// Each timed run is a child process: wall time from start to exit; CPU
// (user+sys) and peak RSS from its rusage (wait4: the process and its reaped
// descendants, as GNU time reports them); bytes read from the harness's own
// /proc/self/io before and after, because Linux adds a reaped child's I/O
// counters to its parent's (the harness reads nothing else meanwhile); the
// server's CPU from /proc/PID/stat before and after. A run counts only if
// the stored object (or prefix) is then checked to be what was sent.
//
// # Isolation
//
// Every tool sees only the benchmark's random credentials and endpoint
// (AWS_* variables, empty config files, MC_HOST_bench, RCLONE_CONFIG_BENCH_*,
// an s3cmd config per server), never the user's profiles. Everything listens
// on 127.0.0.1; the servers are stopped however the harness exits.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// fatalError is a stop the user can act on (a missing program, a server
// that does not start, no disk): exit 2, as the shell script's die did.
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

func fatalf(format string, args ...any) error { return &fatalError{fmt.Sprintf(format, args...)} }

// note prints progress to stderr.
func note(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }

func run(ctx context.Context, args []string) int {
	// bench/run.sh says where the checkout is; run by hand from inside it,
	// the harness finds it.
	repo := os.Getenv("S3BENCH_REPO")
	if repo == "" {
		var err error
		if repo, err = findRepo(); err != nil {
			note("error: %v", err)
			return 2
		}
	}
	opts, err := parseOptions(args, os.Stderr)
	if errors.Is(err, errHelp) {
		fmt.Print(usageText)
		return 0
	}
	if err != nil {
		note("error: %v", err)
		return 2
	}
	err = runBench(ctx, repo, opts)
	switch {
	case ctx.Err() != nil:
		note("interrupted")
		return 130
	case err != nil:
		note("error: %v", err)
		var fe *fatalError
		if errors.As(err, &fe) {
			return 2
		}
		return 1
	}
	return 0
}

func runBench(ctx context.Context, repo string, opts options) (err error) {
	if opts.install {
		installPeers(ctx)
	}
	h, err := newHarness(ctx, repo, opts)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := h.close(); err == nil {
			err = cerr
		}
	}()
	h.header(ctx)
	modes := []struct {
		on  bool
		run func(context.Context) error
	}{
		{opts.compare, h.runCompare},
		{opts.resume, h.runResume},
		{opts.memory, h.runMemory},
		{opts.stream, h.runStream},
		{opts.tree, h.runTree},
		{opts.scale, h.runScale},
	}
	for _, m := range modes {
		if !m.on {
			continue
		}
		if err := m.run(ctx); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if opts.out != "" {
		if err := h.writeOut(opts.out); err != nil {
			return err
		}
		note("report written to %s (runs: %s.tsv)", opts.out, opts.out)
	}
	note("done")
	return nil
}
