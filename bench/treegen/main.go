// Command treegen writes a benchmark tree (bench/internal/benchdata.Tree):
// FILES files of SIZE bytes, 50 to a directory, under DIR. Files already
// there with the right size are kept, so a second run costs a walk.
//
//	treegen DIR FILES [SIZE]
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/s3up/s3up/bench/internal/benchdata"
)

func main() {
	if len(os.Args) < 3 || len(os.Args) > 4 {
		fmt.Fprintln(os.Stderr, "usage: treegen DIR FILES [SIZE]")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	size := int64(0)
	if err == nil && len(os.Args) == 4 {
		size, err = strconv.ParseInt(os.Args[3], 10, 64)
	}
	if err != nil || n < 0 || size < 0 {
		fmt.Fprintln(os.Stderr, "treegen: FILES and SIZE are non-negative integers")
		os.Exit(2)
	}
	if err := (benchdata.Tree{Files: n, FileSize: size, Seed: "tree-scale"}).Write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "treegen:", err)
		os.Exit(1)
	}
}
