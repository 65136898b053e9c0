// Command datagen writes the benchmark's deterministic test bytes to
// standard output: SIZE bytes of an AES-128-CTR keystream keyed by -seed
// (bench/internal/benchdata). It is the producer of the stream benchmark,
// the same program at the same cost in front of every tool:
//
//	datagen [-seed S] SIZE | s3up put - s3://bench/KEY
//
// SIZE is a number of bytes.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/s3up/s3up/bench/internal/benchdata"
)

func main() {
	seed := flag.String("seed", "stream", "seed of the bytes")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: datagen [-seed S] SIZE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	size, err := strconv.ParseInt(flag.Arg(0), 10, 64)
	if err != nil || size < 0 {
		fmt.Fprintf(os.Stderr, "datagen: SIZE %q is not a number of bytes\n", flag.Arg(0))
		os.Exit(2)
	}
	// A reader that closes the pipe early kills us with SIGPIPE, which
	// the harness sees as the producer failing.
	if _, err := benchdata.WriteTo(os.Stdout, *seed, size); err != nil {
		fmt.Fprintln(os.Stderr, "datagen:", err)
		os.Exit(1)
	}
}
