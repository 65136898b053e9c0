//go:build unix

// Command s3ctl is the benchmark's bookkeeping client, for use by hand (the
// harness, bench/s3bench, calls the same bench/internal/benchs3 functions
// in-process): wait for the server, create the bucket, delete objects,
// check an object, watch the parts of an upload in progress. It is never
// timed.
//
//	s3ctl ready [TIMEOUT]             wait until the endpoint answers ListBuckets
//	s3ctl mb BUCKET                   create BUCKET (no error if it exists)
//	s3ctl rm BUCKET KEY               delete KEY and abort its incomplete uploads
//	s3ctl rmprefix BUCKET PREFIX      delete every object and incomplete upload under PREFIX
//	s3ctl size BUCKET KEY             print the object's size (exit 1 if missing)
//	s3ctl stat BUCKET KEY             print the object's size and ETag (exit 1 if missing)
//	s3ctl sha256 BUCKET KEY           download the object, print its SHA-256 and size
//	s3ctl ls BUCKET PREFIX            print the number of objects under PREFIX and their bytes
//	s3ctl parts BUCKET KEY            print the parts held for KEY's newest incomplete upload
//	s3ctl waitparts BUCKET KEY N [TIMEOUT [PID]]
//	                                  poll until KEY's incomplete upload holds >= N parts;
//	                                  exit 3 early if process PID has ended
//
// Configuration comes from the SDK's chain (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3, AWS_CA_BUNDLE, AWS_REGION).
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/s3up/s3up/bench/internal/benchs3"
)

const usage = `usage: s3ctl ready [TIMEOUT] | mb BUCKET | rm BUCKET KEY | rmprefix BUCKET PREFIX |
       size|stat|sha256 BUCKET KEY | ls BUCKET PREFIX | parts BUCKET KEY |
       waitparts BUCKET KEY N [TIMEOUT [PID]]`

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "s3ctl:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	client, err := benchs3.NewClient(ctx)
	if err != nil {
		return err
	}
	need := func(n int) {
		if len(args) < n+1 {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
	}
	switch args[0] {
	case "ready":
		timeout := 30 * time.Second
		if len(args) > 1 {
			if timeout, err = time.ParseDuration(args[1]); err != nil {
				return err
			}
		}
		return benchs3.WaitReady(ctx, client, timeout)
	case "mb":
		need(1)
		return benchs3.MakeBucket(ctx, client, args[1])
	case "rm":
		need(2)
		return benchs3.Remove(ctx, client, args[1], args[2])
	case "rmprefix":
		need(2)
		return benchs3.RemovePrefix(ctx, client, args[1], args[2])
	case "size", "stat":
		need(2)
		size, etag, err := benchs3.Stat(ctx, client, args[1], args[2])
		if err != nil {
			return err
		}
		if args[0] == "stat" {
			fmt.Println(size, etag)
		} else {
			fmt.Println(size)
		}
		return nil
	case "sha256":
		need(2)
		sum, n, err := benchs3.SHA256(ctx, client, args[1], args[2])
		if err != nil {
			return err
		}
		fmt.Printf("%x %d\n", sum, n)
		return nil
	case "ls":
		need(2)
		l, err := benchs3.List(ctx, client, args[1], args[2])
		if err != nil {
			return err
		}
		fmt.Println(l.Objects, l.Bytes)
		return nil
	case "parts":
		need(2)
		n, err := benchs3.CountParts(ctx, client, args[1], args[2])
		if err != nil {
			return err
		}
		fmt.Println(n)
		return nil
	case "waitparts":
		need(3)
		want, err := strconv.Atoi(args[3])
		if err != nil {
			return err
		}
		timeout := 10 * time.Minute
		if len(args) > 4 {
			if timeout, err = time.ParseDuration(args[4]); err != nil {
				return err
			}
		}
		pid := 0
		if len(args) > 5 {
			if pid, err = strconv.Atoi(args[5]); err != nil {
				return err
			}
		}
		deadline := time.Now().Add(timeout)
		for {
			n, err := benchs3.CountParts(ctx, client, args[1], args[2])
			if err == nil && n >= want {
				fmt.Println(n)
				return nil
			}
			if pid > 0 && syscall.Kill(pid, 0) != nil {
				fmt.Println(n)
				fmt.Fprintf(os.Stderr, "s3ctl: process %d ended with %d parts on the server\n", pid, n)
				os.Exit(3)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%d parts after %s, wanted %d (last error: %v)", n, timeout, want, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	fmt.Fprintln(os.Stderr, usage)
	os.Exit(2)
	return nil
}
