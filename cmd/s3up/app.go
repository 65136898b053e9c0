package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/store"
)

var version = "dev"

// run builds the app, runs it, prints the failure line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, flagsFirst(app, args))
	code := exitCode(err)
	if err != nil {
		var ce cli.ExitCoder
		if errors.As(err, &ce) && ce.Error() == "" {
			return code
		}
		printError(stdout, stderr, jsonRequested(args), err, code)
	}
	return code
}

// flagsFirst moves flags typed after a command's arguments in front of them:
// urfave/cli v2, like Go's flag package, stops parsing flags at the first
// argument, and the contract has `s3up gc s3://BUCKET --older-than 7d`.
// "--" still ends the flags, and the shell-completion flag stays last, where
// urfave/cli looks for it.
func flagsFirst(app *cli.App, args []string) []string {
	if len(args) < 3 {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var flags, pos, tail []string
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			tail = append(tail, rest[i:]...)
			i = len(rest)
		case a == "--generate-bash-completion" && i == len(rest)-1:
			tail = append(tail, a)
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(rest) {
				flags = append(flags, rest[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	out := append([]string{}, args[:2]...)
	out = append(out, flags...)
	out = append(out, pos...)
	return append(out, tail...)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "s3up",
		Usage:   "upload large files, streams and directory trees to S3-compatible stores; rerun to resume",
		Version: currentVersion().Version,
		Description: `s3up uploads files with S3 multipart upload and resumes an interrupted upload
(dropped link, kill -9, reboot) by sending only the parts the server does not hold.

Exit codes: 0 done; 1 failed but resumable (rerun the same command);
2 bad input or usage (nothing was sent); 3 failed after the upload started,
fix the cause (credentials, permissions) then rerun to resume; 4 a tree
upload (-r) stored some files and failed others (rerun to retry them);
130 / 143 interrupted by SIGINT / SIGTERM (state kept).`,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideHelpCommand:      false,
		Commands: []*cli.Command{
			putCommand(),
			statusCommand(),
			abortCommand(),
			uploadsCommand(),
			gcCommand(),
			completionCommand(),
			versionCommand(),
			gendocsCommand(),
		},
		// urfave/cli prints usage errors itself; route them through exitCode.
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usagef("%v (see s3up %s --help)", err, c.Command.Name)
		},
		ExitErrHandler: func(*cli.Context, error) {},
		// Without a known command: help, or one usage line for a typo.
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("unknown command %q (commands: put, status, abort, uploads, gc, completion, version; see s3up --help)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
	// A command's flag errors bypass the app's handler (and would print the
	// whole help page); give every command the same one-line treatment.
	for _, c := range app.Commands {
		if c.OnUsageError == nil {
			name := c.Name
			c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
				return usagef("%v (see s3up %s --help)", err, name)
			}
		}
	}
	return app
}

// connFlags select and reach the store; every command has them.
func connFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "endpoint", Usage: "S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS)", EnvVars: nil},
		&cli.StringFlag{Name: "region", Usage: "region (default: AWS_REGION / shared config, else us-east-1)"},
		&cli.StringFlag{Name: "profile", Usage: "shared config profile (default: AWS_PROFILE)"},
		&cli.BoolFlag{Name: "path-style", Usage: "path-style addressing (default: on for a custom endpoint)"},
		&cli.IntFlag{Name: "retries", Value: store.DefaultMaxAttempts - 1, Usage: "retries per request, with exponential backoff"},
		&cli.DurationFlag{Name: "stall-timeout", Value: store.DefaultStallTimeout, Usage: "retry a connection that moves no byte for this long"},
		&cli.BoolFlag{Name: "json", Usage: "print one JSON object per line on stdout, nothing else"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only errors"},
		&cli.BoolFlag{Name: "debug", Usage: "print the AWS SDK's log (retries, requests; secrets redacted) on stderr"},
	}
}

// connConfig converts the connection flags into the engine's type.
func connConfig(c *cli.Context, concurrency int) (store.ClientConfig, error) {
	cc := store.ClientConfig{
		Endpoint:     c.String("endpoint"),
		Region:       c.String("region"),
		Profile:      c.String("profile"),
		StallTimeout: c.Duration("stall-timeout"),
		Concurrency:  concurrency,
	}
	if c.Bool("debug") {
		cc.Logger, cc.LogMode = newSDKLogger(c.App.ErrWriter), sdkLogMode
	}
	if c.IsSet("path-style") {
		v := c.Bool("path-style")
		cc.PathStyle = &v
	}
	r := c.Int("retries")
	if r < 0 || r > 100 {
		return cc, usagef("--retries %d is out of range 0..100", r)
	}
	cc.MaxAttempts = r + 1
	if cc.StallTimeout < 0 {
		return cc, usagef("--stall-timeout must not be negative")
	}
	return cc, nil
}

func newClient(c *cli.Context, concurrency int) (*store.Client, error) {
	cc, err := connConfig(c, concurrency)
	if err != nil {
		return nil, err
	}
	return store.NewClient(c.Context, cc)
}

// parseSize accepts 16MiB, 64MB, 8m, 1048576.
func parseSize(flag, s string) (int64, error) {
	n, err := humanize.ParseBytes(strings.TrimSpace(s))
	if err != nil || n > 1<<62 {
		return 0, usagef("--%s %q is not a size (examples: 16MiB, 64MB, 1GiB)", flag, s)
	}
	return int64(n), nil
}

// parseRate accepts 20MiB/s, 20MiB, 500k/s.
func parseRate(s string) (int64, error) {
	v := strings.TrimSuffix(strings.TrimSpace(s), "/s")
	n, err := humanize.ParseBytes(v)
	if err != nil || n == 0 || n > 1<<50 {
		return 0, usagef("--bwlimit %q is not a rate (examples: 20MiB/s, 500KB/s)", s)
	}
	return int64(n), nil
}

// parseAge accepts Go durations and whole days: 7d, 36h, 90m, 1d12h.
func parseAge(s string) (time.Duration, error) {
	d, err := s3up.ParseAge(s)
	if err != nil {
		return 0, usagef("--older-than %q is not a duration (examples: 7d, 36h, 90m, 1d12h)", s)
	}
	return d, nil
}

// parseSourceDest reads the SOURCE s3://BUCKET/KEY arguments of status and
// abort. A KEY ending in "/" gets SOURCE's file name, as with put. A stream
// is "-" (standard input), or --stdin-from-command s3://BUCKET/KEY -- CMD;
// it is returned as its resume-state identity (s3up.StreamID).
func parseSourceDest(c *cli.Context) (src, bucket, key string, err error) {
	if c.Bool("stdin-from-command") {
		args := c.Args().Slice()
		if len(args) < 3 || args[1] != "--" {
			return "", "", "", usagef("%s --stdin-from-command needs s3://BUCKET/KEY -- COMMAND [ARGS...], as given to put", c.Command.Name)
		}
		bucket, key, err = s3up.ParseURL(args[0])
		if err == nil {
			err = s3up.ValidateDestination(bucket, key)
		}
		return s3up.StreamID("command " + quoteArgs(args[2:])), bucket, key, err
	}
	if c.NArg() == 2 && c.Args().Get(0) == "-" {
		bucket, key, err = s3up.ParseURL(c.Args().Get(1))
		if err == nil {
			err = s3up.ValidateDestination(bucket, key)
		}
		return s3up.StreamID("stdin"), bucket, key, err
	}
	if c.NArg() != 2 {
		return "", "", "", usagef("%s needs SOURCE and s3://BUCKET/KEY (see s3up %s --help)", c.Command.Name, c.Command.Name)
	}
	src = c.Args().Get(0)
	if strings.HasPrefix(src, "s3://") {
		return "", "", "", usagef("SOURCE %s is an S3 URL; give the local file that was uploaded, then s3://BUCKET/KEY", src)
	}
	bucket, key, err = s3up.ParseURL(c.Args().Get(1))
	if err != nil {
		return "", "", "", err
	}
	key = s3up.ObjectKey(key, src)
	if err := s3up.ValidateDestination(bucket, key); err != nil {
		return "", "", "", err
	}
	return src, bucket, key, nil
}

// parseBucketPrefix reads the s3://BUCKET[/PREFIX] argument of uploads and gc.
func parseBucketPrefix(c *cli.Context) (bucket, prefix string, err error) {
	if c.NArg() != 1 {
		return "", "", usagef("%s needs one s3://BUCKET[/PREFIX] (see s3up %s --help)", c.Command.Name, c.Command.Name)
	}
	return s3up.ParseURL(c.Args().Get(0))
}

func jsonRequested(args []string) bool {
	for _, a := range args {
		if a == "--json" || a == "-json" || a == "--json=true" {
			return true
		}
		if a == "--" {
			break
		}
	}
	return false
}
