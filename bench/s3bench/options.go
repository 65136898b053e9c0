package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

const usageText = `usage: bench/run.sh [options]

  --size SIZE          test file size (default 1GiB). Units: B, KiB/MiB/GiB/TiB
                       and K/M/G/T (binary), KB/MB/GB/TB (decimal)
  --rounds N           rounds (default 5); every round runs every tool once,
                       round-robin, starting one tool later each round
  --tls MODE           both | http | https (default both)
  --tools LIST         comma-separated (default s3up,s3up-header,sdkmanager,sdkmanager-crc32,
                       rawparts,aws,mc,rclone,s3cmd; also available: mcput =
                       ` + "`mc put -P CONC -s PART`" + `). s3up-header is s3up with
                       --trailer-checksum=false, sdkmanager-crc32 the SDK manager with the
                       SDK's default checksums (CRC32 per part). A mode runs the
                       listed tools it knows: --stream and --tree s3up,aws,mc,rclone;
                       --scale s3up,rawparts
  --part-size SIZE     part size for every tool that takes one (default 16MiB)
  --concurrency N      parts in flight for every tool that takes it (default 8)
  --s3up-args "ARGS"   extra flags for s3up put (e.g. "--checksum none")
  --compare            the comparison (the default when no mode is given)
  --resume             the resume benchmark: s3up vs s3cmd --continue-put,
                       each interrupted (kill -9) at half of the parts
  --memory             s3up peak RSS for --memory-sizes x --memory-parts
  --memory-sizes LIST  default 1GiB,8GiB
  --memory-parts LIST  default 16MiB,128MiB
  --stream             a stream from a pipe: s3up put -, aws s3 cp -, mc pipe, rclone rcat
  --stream-size SIZE   the stream's size (default 4GiB)
  --stream-verify HOW  sha256 (default: download each object and compare its SHA-256
                       with the stream's) or size (HeadObject only)
  --tree               a tree of small files: put --recursive, cp --recursive, copy;
                       then an unchanged rerun (s3up again, aws s3 sync, mc mirror, rclone copy)
  --tree-files N       files in the tree (default 1500)
  --tree-file-size SIZE  size of each (default 16KiB)
  --tree-big SIZE      also one big file in the tree (default 0: none)
  --scale              s3up and the raw UploadPart loop as concurrency and part size grow
  --scale-concurrency LIST  default 1,4,8,16 (at --part-size)
  --scale-parts LIST   default 8MiB,16MiB,64MiB,128MiB (at --concurrency)
  --install-peers      go install mc; apt-get install rclone s3cmd
  --workdir DIR        scratch dir for data, servers, logs (default: mktemp -d);
                       the test files are reused from it if present
  --keep               keep the workdir (default: removed on exit)
  --out FILE           also write the markdown report to FILE (raw runs: FILE.tsv)
  -h, --help           this text

Modes combine: ` + "`--compare --resume --memory`" + ` runs all three.
The report (markdown) goes to stdout, progress to stderr:
  bench/run.sh --size 1GiB --rounds 5 > bench-results.md
Quick check of the harness itself (a few minutes):
  bench/run.sh --size 64MiB --rounds 1 --compare --resume --memory \
      --memory-sizes 64MiB --memory-parts 8MiB,16MiB
  bench/run.sh --rounds 1 --stream --stream-size 256MiB --tree --tree-files 200 \
      --scale --size 64MiB

Needs: go. The MinIO binary comes from scripts/install-servers.sh (cached in
${S3UP_CACHE_DIR:-$HOME/.cache/s3up}/bin). Peers that are not installed are
skipped with a note. Everything listens on 127.0.0.1 only; the MinIO servers
are stopped on exit.
`

var knownTools = []string{"s3up", "s3up-header", "sdkmanager", "sdkmanager-crc32", "rawparts", "aws", "mc", "mcput", "rclone", "s3cmd"}

// options is the command line, checked.
type options struct {
	size       int64
	rounds     int
	schemes    []string // http, https
	tools      []string
	part       int64
	conc       int
	s3upArgs   []string
	compare    bool
	resume     bool
	memory     bool
	stream     bool
	tree       bool
	scale      bool
	memSizes   []int64
	memParts   []int64
	streamSize int64
	verifyHash bool
	treeFiles  int
	treeFile   int64
	treeBig    int64
	scaleConcs []int
	scaleParts []int64
	install    bool
	workdir    string
	keep       bool
	out        string
}

// errHelp: -h or --help; the usage has been printed.
var errHelp = errors.New("help")

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		o                                      options
		size, tls, tools, part, s3upArgs       string
		memSizes, memParts, streamSize, verify string
		treeFile, treeBig, scaleConcs, parts   string
	)
	fs.StringVar(&size, "size", "1GiB", "")
	fs.IntVar(&o.rounds, "rounds", 5, "")
	fs.StringVar(&tls, "tls", "both", "")
	fs.StringVar(&tools, "tools", "s3up,s3up-header,sdkmanager,sdkmanager-crc32,rawparts,aws,mc,rclone,s3cmd", "")
	fs.StringVar(&part, "part-size", "16MiB", "")
	fs.IntVar(&o.conc, "concurrency", 8, "")
	fs.StringVar(&s3upArgs, "s3up-args", "", "")
	fs.BoolVar(&o.compare, "compare", false, "")
	fs.BoolVar(&o.resume, "resume", false, "")
	fs.BoolVar(&o.memory, "memory", false, "")
	fs.StringVar(&memSizes, "memory-sizes", "1GiB,8GiB", "")
	fs.StringVar(&memParts, "memory-parts", "16MiB,128MiB", "")
	fs.BoolVar(&o.stream, "stream", false, "")
	fs.StringVar(&streamSize, "stream-size", "4GiB", "")
	fs.StringVar(&verify, "stream-verify", "sha256", "")
	fs.BoolVar(&o.tree, "tree", false, "")
	fs.IntVar(&o.treeFiles, "tree-files", 1500, "")
	fs.StringVar(&treeFile, "tree-file-size", "16KiB", "")
	fs.StringVar(&treeBig, "tree-big", "0", "")
	fs.BoolVar(&o.scale, "scale", false, "")
	fs.StringVar(&scaleConcs, "scale-concurrency", "1,4,8,16", "")
	fs.StringVar(&parts, "scale-parts", "8MiB,16MiB,64MiB,128MiB", "")
	fs.BoolVar(&o.install, "install-peers", false, "")
	fs.StringVar(&o.workdir, "workdir", "", "")
	fs.BoolVar(&o.keep, "keep", false, "")
	fs.StringVar(&o.out, "out", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, errHelp
		}
		fmt.Fprint(stderr, usageText)
		return o, err
	}
	if fs.NArg() > 0 {
		fmt.Fprint(stderr, usageText)
		return o, fmt.Errorf("unknown option %s", fs.Arg(0))
	}
	if !o.compare && !o.resume && !o.memory && !o.stream && !o.tree && !o.scale {
		o.compare = true
	}
	var err error
	sizeOf := func(flag, s string) int64 {
		n, e := parseSize(s)
		if e != nil && err == nil {
			err = fmt.Errorf("--%s: %v", flag, e)
		}
		return n
	}
	o.size = sizeOf("size", size)
	o.part = sizeOf("part-size", part)
	o.streamSize = sizeOf("stream-size", streamSize)
	o.treeFile = sizeOf("tree-file-size", treeFile)
	o.treeBig = sizeOf("tree-big", treeBig)
	if err != nil {
		return o, err
	}
	if o.memSizes, err = parseSizes(memSizes); err != nil {
		return o, fmt.Errorf("--memory-sizes: %v", err)
	}
	if o.memParts, err = parseSizes(memParts); err != nil {
		return o, fmt.Errorf("--memory-parts: %v", err)
	}
	if o.scaleParts, err = parseSizes(parts); err != nil {
		return o, fmt.Errorf("--scale-parts: %v", err)
	}
	if o.scaleConcs, err = parseInts(scaleConcs); err != nil {
		return o, fmt.Errorf("--scale-concurrency: %v", err)
	}
	switch {
	case o.rounds < 1:
		return o, errors.New("--rounds must be a positive integer")
	case o.conc < 1:
		return o, errors.New("--concurrency must be a positive integer")
	case o.size <= 0:
		return o, errors.New("--size must be > 0")
	case o.part < 5<<20:
		return o, errors.New("--part-size must be at least 5MiB (S3 minimum)")
	case o.streamSize <= 0:
		return o, errors.New("--stream-size must be > 0")
	case o.treeFiles < 1:
		return o, errors.New("--tree-files must be a positive integer")
	case o.treeFile <= 0:
		return o, errors.New("--tree-file-size must be > 0")
	case o.treeBig < 0:
		return o, errors.New("--tree-big must not be negative")
	}
	for _, p := range append(append([]int64(nil), o.memParts...), o.scaleParts...) {
		if p < 5<<20 {
			return o, fmt.Errorf("part size %s is below the S3 minimum of 5MiB", human(p))
		}
	}
	switch verify {
	case "sha256":
		o.verifyHash = true
	case "size":
	default:
		return o, errors.New("--stream-verify must be sha256 or size")
	}
	switch tls {
	case "both":
		o.schemes = []string{"http", "https"}
	case "http", "https":
		o.schemes = []string{tls}
	default:
		return o, errors.New("--tls must be both, http or https")
	}
	for _, t := range splitList(tools) {
		if !slices.Contains(knownTools, t) {
			return o, fmt.Errorf("unknown tool %s (known: %s)", t, strings.Join(knownTools, " "))
		}
		if !slices.Contains(o.tools, t) {
			o.tools = append(o.tools, t)
		}
	}
	if len(o.tools) == 0 {
		return o, errors.New("--tools is empty")
	}
	o.s3upArgs = strings.Fields(s3upArgs)
	return o, nil
}
