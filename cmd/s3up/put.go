package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/checkin"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/schedule"
	"github.com/s3up/s3up/s3up/tree"
)

// Flag categories of put --help, shown in alphabetical order.
const (
	catConnection = "Connection"
	catObject     = "Object attributes (fixed when the upload starts)"
	catOutput     = "Output"
	catResume     = "Resume"
	catSealed     = "Sealed backups (age encryption)"
	catStreams    = "Streams (- or --stdin-from-command)"
	catTransfer   = "Transfer"
	catTrees      = "Trees (-r)"
)

func putCommand() *cli.Command {
	rules := &ruleList{}
	return &cli.Command{
		Name:  "put",
		Usage: "upload files, streams and directory trees; rerunning the same command resumes",
		UsageText: `s3up put [options] SOURCE... s3://BUCKET/KEY   (several sources: s3://BUCKET/PREFIX/)
s3up put [options] - s3://BUCKET/KEY
s3up put [options] --stdin-from-command s3://BUCKET/KEY -- COMMAND [ARGS...]
s3up put [options] -r DIR... s3://BUCKET/PREFIX/`,
		ArgsUsage: "SOURCE... s3://BUCKET/KEY",
		Description: `Examples:
  s3up put backup.tar s3://backups/2026/backup.tar
  s3up put --endpoint http://127.0.0.1:9000 big.iso s3://isos/
  s3up put --part-size 64MiB -c 8 db.dump s3://dumps/db.dump
  s3up put --state-dir /var/lib/s3up --bwlimit 20MiB/s /srv/*.tar s3://backups/nightly/
  s3up put --stop-at 06:00 --bwlimit "08:00,1M 19:00,off" big.img s3://backups/big.img
  pg_dump db | gzip | s3up put - s3://backups/db.sql.gz
  s3up put --stdin-from-command s3://backups/srv.tar -- tar -C /srv --sort=name -c .
  s3up put -r --exclude '*.tmp' --exclude 'cache/' /srv/data s3://backups/srv/
  s3up put --encrypt-to age1... db.dump s3://backups/db.dump.age   (restore: age -d -i key.txt)

Rerun the same command after an interruption: s3up asks the server which
parts it holds, checks them against its journal in the state directory, and
sends only the rest. A stream is completed only if it ended well (the command
exited 0, --expected-size matched). A tree (-r) sends only new and changed
files (size and mtime, or --checksum-compare); a failed file does not stop
the others (exit code 4). More in README.md.
` + treeHelp,
		Flags: append(append(append(connFlags(), treeFlags(rules)...), windowFlags()...),
			&cli.StringFlag{Name: "metrics-file", Category: catOutput, Usage: "write the run's outcome as a Prometheus textfile (node_exporter), atomically"},
			&cli.BoolFlag{Name: "stdin-from-command", Category: catStreams, DisableDefaultText: true, Usage: "upload the output of the command after --; complete only if it exits 0"},
			&cli.StringFlag{Name: "expected-size", Category: catStreams, Usage: "the stream's exact size (equal parts); another size is never completed"},
			&cli.StringFlag{Name: "part-size", Category: catTransfer, DefaultText: "16MiB, raised past 10,000 parts", Usage: "every part's size but the last's, e.g. 64MiB"},
			&cli.StringFlag{Name: "multipart-threshold", Category: catTransfer, DefaultText: "the part size", Usage: "smaller files go in one PutObject"},
			&cli.IntFlag{Name: "concurrency", Aliases: []string{"c"}, Category: catTransfer, Value: s3up.DefaultConcurrency, Usage: "requests in flight (parts, small files)"},
			&cli.StringFlag{Name: "checksum", Category: catTransfer, Value: string(checksum.Default), Usage: "per-part checksum: crc32c, crc32, crc64nvme, sha256, sha1, md5, none"},
			&cli.StringFlag{Name: "payload", Category: catTransfer, Value: string(s3up.PayloadAuto), Usage: "SigV4 payload signing: auto, signed, unsigned"},
			&cli.BoolFlag{Name: "trailer-checksum", Category: catTransfer, Value: true, Usage: "over HTTPS, send checksums in an aws-chunked trailer (one read of the file)"},
			&cli.GenericFlag{Name: "verify", Category: catTransfer, Value: &verifyFlag{}, DefaultText: "content",
				Usage: "after completing, compare the object with the bytes sent: content (read it back where the store proves nothing), size (never read back), false"},
			&cli.StringFlag{Name: "bwlimit", Category: catTransfer, Usage: "cap the upload bandwidth: a rate (20MiB/s, 500KB/s) or a timetable in rclone's syntax, applied live (\"08:00,512k 19:00,off\", Mon-08:00,... day prefixes; rclone's units: 10M is 10 MiB/s, a bare number KiB/s)"},
			&cli.StringFlag{Name: "state-dir", Category: catResume, DefaultText: "$XDG_STATE_HOME/s3up or ~/.local/state/s3up", Usage: "directory of the resume state"},
			&cli.BoolFlag{Name: "trust-journal", Category: catResume, DisableDefaultText: true, Usage: "on resume, do not read the kept parts again to check them against the file"},
			&cli.BoolFlag{Name: "fresh", Category: catResume, DisableDefaultText: true, Usage: "discard existing progress (aborting its upload) and start over"},
			&cli.BoolFlag{Name: "force", Category: catResume, DisableDefaultText: true, Usage: "upload a file even when the object at its key has its size and modification time"},
			&cli.StringFlag{Name: "content-type", Category: catObject, DefaultText: "from the file extension", Usage: "Content-Type"},
			&cli.StringSliceFlag{Name: "metadata", Category: catObject, Usage: "user metadata k=v (repeatable)"},
			&cli.StringFlag{Name: "storage-class", Category: catObject, Usage: "storage class, e.g. STANDARD_IA"},
			&cli.StringFlag{Name: "sse", Category: catObject, Usage: "server-side encryption: AES256, aws:kms"},
			&cli.StringFlag{Name: "sse-kms-key-id", Category: catObject, Usage: "KMS key id for --sse aws:kms"},
			&cli.StringFlag{Name: "acl", Category: catObject, Usage: "canned ACL, e.g. private, bucket-owner-full-control"},
			&cli.StringFlag{Name: "cache-control", Category: catObject, Usage: "Cache-Control header"},
			&cli.StringFlag{Name: "retention-mode", Category: catObject, Usage: "Object Lock retention, GOVERNANCE or COMPLIANCE (with --retain-until)"},
			&cli.StringFlag{Name: "retain-until", Category: catObject, Usage: "Object Lock date (2027-01-31, RFC 3339) or duration (30d, 36h)"},
			&cli.BoolFlag{Name: "legal-hold", Category: catObject, DisableDefaultText: true, Usage: "put an Object Lock legal hold on the object"},
			&cli.StringSliceFlag{Name: "encrypt-to", Category: catSealed, Usage: "seal the upload to this age recipient (age1…, ssh-ed25519, ssh-rsa; repeatable): the object is an age file, restored with age -d -i KEY"},
			&cli.StringSliceFlag{Name: "encrypt-to-file", Category: catSealed, Usage: "seal the upload to the recipients in this file, as age -R reads it (repeatable)"},
		),
		Action: func(c *cli.Context) error { return runPut(c, rules) },
	}
}

// putArgs is the typed form of the put command line.
type putArgs struct {
	sources  []string
	bucket   string
	key      string // "" or ending in "/" → prefix
	opts     s3up.Options
	conc     int
	stream   bool      // the source is standard input ("-") or a producer
	producer []string  // --stdin-from-command: the command and its arguments
	expected int64     // --expected-size, -1 if not given
	tree     s3up.Tree // --recursive
	// metrics tallies the run, for --metrics-file (its path, "" without)
	// and the check-in.
	metrics  *metricsFile
	deadline time.Time           // --max-duration, --stop-at: the end of the window (zero: none)
	cutoff   schedule.CutoffMode // --cutoff-mode
	ping     *checkin.Pinger     // --ping-url
}

func parsePut(c *cli.Context, rules *ruleList) (*putArgs, error) {
	args := c.Args().Slice()
	var producer []string
	if c.Bool("stdin-from-command") {
		i := slices.Index(args, "--")
		if i != 1 || len(args) < 3 {
			return nil, usagef("--stdin-from-command needs s3://BUCKET/KEY -- COMMAND [ARGS...] (see s3up put --help)")
		}
		producer = args[2:]
		args = []string{"-", args[0]}
	}
	if len(args) < 2 {
		return nil, usagef("put needs SOURCE and s3://BUCKET/KEY (see s3up put --help)")
	}
	dst := args[len(args)-1]
	bucket, key, err := s3up.ParseURL(dst)
	if err != nil {
		return nil, err
	}
	pa := &putArgs{sources: args[:len(args)-1], bucket: bucket, key: key, producer: producer, expected: -1}
	if slices.Contains(pa.sources, "-") {
		if len(pa.sources) > 1 {
			return nil, usagef("a stream (-) is uploaded on its own, not with other sources")
		}
		if key == "" || strings.HasSuffix(key, "/") {
			return nil, usagef("a stream needs a whole key: s3://%s/%sNAME", bucket, key)
		}
		pa.stream = true
	}
	if s := c.String("expected-size"); s != "" {
		if !pa.stream {
			return nil, usagef("--expected-size is for a stream (- or --stdin-from-command); a file's size is known")
		}
		if pa.expected, err = parseSize("expected-size", s); err != nil {
			return nil, err
		}
	}
	if err := parseTree(c, pa, rules); err != nil {
		return nil, err
	}
	if !c.Bool("recursive") && len(pa.sources) > 1 && key != "" && !strings.HasSuffix(key, "/") {
		return nil, usagef("several sources need a prefix destination ending in \"/\" (got %s)", dst)
	}
	for _, s := range pa.sources {
		if strings.HasPrefix(s, "s3://") {
			return nil, usagef("source %s is an S3 URL; s3up uploads local files (SOURCE... s3://BUCKET/KEY)", s)
		}
	}
	o := &pa.opts
	if s := c.String("part-size"); s != "" {
		if o.PartSize, err = parseSize("part-size", s); err != nil {
			return nil, err
		}
		o.PartSizeExplicit = true
	}
	if s := c.String("multipart-threshold"); s != "" {
		if o.MultipartThreshold, err = parseSize("multipart-threshold", s); err != nil {
			return nil, err
		}
		if o.MultipartThreshold < 1 {
			return nil, usagef("--multipart-threshold must be at least 1 byte")
		}
	}
	pa.conc = c.Int("concurrency")
	if pa.conc < 1 || pa.conc > s3up.MaxConcurrency {
		return nil, usagef("--concurrency %d is out of range 1..%d", pa.conc, s3up.MaxConcurrency)
	}
	o.Concurrency = pa.conc
	if o.Checksum, err = s3up.ParseChecksum(c.String("checksum")); err != nil {
		return nil, err
	}
	if o.Payload, err = s3up.ParsePayloadSigning(c.String("payload")); err != nil {
		return nil, err
	}
	o.Verify = c.Generic("verify").(*verifyFlag).mode
	o.Force = c.Bool("force")
	o.ChecksumCompare = c.Bool("checksum-compare")
	if pa.stream && (o.Force || o.ChecksumCompare) {
		return nil, usagef("--force and --checksum-compare are for files; a stream is always sent")
	}
	o.TrustJournal = c.Bool("trust-journal")
	o.HeaderChecksum = !c.Bool("trailer-checksum")
	o.StateDir = c.String("state-dir")
	o.Fresh = c.Bool("fresh")
	if s := c.String("bwlimit"); s != "" {
		if err := parseBandwidth(o, s); err != nil {
			return nil, err
		}
	}
	if err := parseWindow(c, pa, time.Now()); err != nil {
		return nil, err
	}
	o.Object = s3up.ObjectOptions{
		ContentType:   c.String("content-type"),
		CacheControl:  c.String("cache-control"),
		StorageClass:  c.String("storage-class"),
		ACL:           c.String("acl"),
		SSE:           c.String("sse"),
		SSEKMSKeyID:   c.String("sse-kms-key-id"),
		RetentionMode: strings.ToUpper(c.String("retention-mode")),
		RetainUntil:   c.String("retain-until"),
		LegalHold:     c.Bool("legal-hold"),
	}
	if o.Object.SSEKMSKeyID != "" && !strings.HasPrefix(o.Object.SSE, "aws:kms") {
		return nil, usagef("--sse-kms-key-id needs --sse aws:kms")
	}
	for _, kv := range c.StringSlice("metadata") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--metadata %q must be key=value", kv)
		}
		if o.Object.Metadata == nil {
			o.Object.Metadata = map[string]string{}
		}
		o.Object.Metadata[k] = v
	}
	for k := range maps.Keys(o.Object.Metadata) {
		if c.Bool("recursive") && strings.EqualFold(k, s3up.MTimeKey) {
			return nil, usagef("--metadata %s: a tree run stores each file's modification time there itself", k)
		}
	}
	if err := parseSeal(c, o); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	pa.metrics = newMetricsFile(c.String("metrics-file"), dst)
	return pa, nil
}

// parseSeal reads --encrypt-to and --encrypt-to-file: a recipient that
// does not parse, or a file that cannot be read, is bad input before
// anything is sent.
func parseSeal(c *cli.Context, o *s3up.Options) error {
	values, files := c.StringSlice("encrypt-to"), c.StringSlice("encrypt-to-file")
	if len(values) == 0 && len(files) == 0 {
		if c.IsSet("encrypt-to") || c.IsSet("encrypt-to-file") {
			return usagef("--encrypt-to and --encrypt-to-file need a recipient")
		}
		return nil
	}
	z, skipped, err := s3up.ParseSeal(values, files)
	if err != nil {
		return err
	}
	for _, sk := range skipped {
		newOutput(c).warn(sk.String())
	}
	o.Seal = z
	return nil
}

// parseTree reads the flags of put --recursive, and refuses them without it.
func parseTree(c *cli.Context, pa *putArgs, rules *ruleList) error {
	if !c.Bool("recursive") {
		for _, f := range []string{"exclude", "include", "follow-symlinks", "dry-run", "delete", "max-delete"} {
			if c.IsSet(f) {
				return usagef("--%s is for directory trees: add --recursive (-r)", f)
			}
		}
		return nil
	}
	if pa.stream {
		return usagef("--recursive uploads directories; a stream (- or --stdin-from-command) is uploaded on its own")
	}
	prefix := pa.key
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	filter, err := tree.NewFilter(rules.rules)
	if err != nil {
		return usagef("%v", err)
	}
	if c.Int("max-delete") < 0 {
		return usagef("--max-delete must not be negative")
	}
	if c.IsSet("max-delete") && !c.Bool("delete") {
		return usagef("--max-delete is for --delete")
	}
	for _, s := range pa.sources {
		if _, err := os.Stat(s); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: source %s does not exist", s3up.ErrBadInput, s)
		} else if err != nil {
			return fmt.Errorf("%w: source %s: %w", s3up.ErrBadInput, s, unwrapPathErr(err))
		}
	}
	pa.tree = s3up.Tree{Roots: pa.sources, Bucket: pa.bucket, Prefix: prefix, Filter: filter,
		FollowSymlinks: c.Bool("follow-symlinks"), ChecksumCompare: c.Bool("checksum-compare"),
		DryRun: c.Bool("dry-run"), Delete: c.Bool("delete"), MaxDelete: c.Int("max-delete")}
	return nil
}

func runPut(c *cli.Context, rules *ruleList) (err error) {
	pa, err := parsePut(c, rules)
	if err != nil {
		return err
	}
	if pa.metrics.path != "" {
		if err := checkMetricsPath(pa.metrics.path); err != nil {
			return err
		}
		// Whatever the outcome, from here on the run is recorded.
		defer func() {
			writeMetrics(newOutput(c), pa.metrics, exitCode(withSignal(c.Context, err)))
		}()
	}
	if pa.ping != nil {
		// A check-in never changes the outcome: a ping that fails is only
		// a warning.
		pingStart(c.Context, newOutput(c), pa.ping)
		defer func() {
			err := withSignal(c.Context, err)
			pingFinish(c.Context, newOutput(c), pa.ping, pa.metrics, exitCode(err), err)
		}()
	}
	defer pa.startWindow()()
	switch {
	case c.Bool("recursive"):
		return runPutTree(c, pa)
	case pa.stream:
		return runPutStream(c, pa)
	}
	// Check every source, and that no two go to one key, before anything
	// is sent.
	keys := map[string]string{}
	for _, s := range pa.sources {
		if err := checkSource(s); err != nil {
			return err
		}
		key := s3up.ObjectKey(pa.key, s)
		if other, dup := keys[key]; dup {
			return usagef("%s and %s would both be uploaded to s3://%s/%s; upload them to different keys", other, s, pa.bucket, key)
		}
		keys[key] = s
	}
	cb, err := newClient(c, pa.conc)
	if err != nil {
		return err
	}
	up, err := s3up.NewUploader(cb, pa.opts)
	if err != nil {
		return err
	}
	defer up.Close()
	out := newOutput(c)
	worst := 0
	var last error
	for _, src := range pa.sources {
		key := s3up.ObjectKey(pa.key, src)
		r := out.newPutRenderer(src, pa.bucket, key)
		res, err := up.Put(c.Context, src, pa.bucket, key, func(o *s3up.Options) { o.Listener = r })
		err = withSignal(c.Context, err)
		r.finish(res, err)
		pa.metrics.file(res, err)
		if err != nil {
			if code := exitCode(err); code > worst || errors.Is(err, context.Canceled) {
				worst, last = code, err
			}
			if c.Context.Err() != nil || errors.Is(err, s3up.ErrWindowEnded) {
				break // the files after it wait for the next run
			}
		}
	}
	if last == nil {
		return nil
	}
	return cli.Exit("", worst) // each failure was printed by its renderer
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkSource rejects what cannot be uploaded, with a clear reason.
func checkSource(s string) error {
	fi, err := os.Stat(s)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: source %s does not exist", s3up.ErrBadInput, s)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: source %s: permission denied", s3up.ErrBadInput, s)
	case err != nil:
		return fmt.Errorf("%w: source %s: %w", s3up.ErrBadInput, s, err)
	case fi.IsDir():
		return fmt.Errorf("%w: source %s is a directory: add --recursive (-r) to upload the files under it", s3up.ErrBadInput, s)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: source %s is not a regular file (%s); s3up needs a file it can seek in to resume", s3up.ErrBadInput, s, fi.Mode().Type())
	}
	f, err := os.Open(s)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("%w: source %s is not readable: permission denied", s3up.ErrBadInput, s)
		}
		return fmt.Errorf("%w: source %s: %w", s3up.ErrBadInput, s, err)
	}
	return f.Close()
}

// verifyFlag is --verify: a verification mode, or a boolean as it used to be
// (--verify, --verify=false).
type verifyFlag struct{ mode s3up.VerifyMode }

func (f *verifyFlag) Set(v string) error {
	m, err := s3up.ParseVerifyMode(v)
	if err != nil {
		return fmt.Errorf("--verify %q: choose content, size or false", v)
	}
	f.mode = m
	return nil
}

func (f *verifyFlag) String() string {
	if f == nil || f.mode == s3up.VerifyContent {
		return "content"
	}
	return string(f.mode)
}

// IsBoolFlag lets --verify stand alone, meaning content.
func (f *verifyFlag) IsBoolFlag() bool { return true }
