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
	err := withSignal(ctx, app.RunContext(ctx, flagsFirst(app, args)))
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
//
// Flags typed before the command (s3up --endpoint URL put ...) belong to
// the command too: s3up has no global flags but --help and --version, so
// they are moved after the command's name.
func flagsFirst(app *cli.App, args []string) []string {
	args = commandFirst(app, args)
	if len(args) < 3 {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil {
		return args
	}
	takesValue := valueFlags(cmd.Flags)
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

// valueFlags says, by name, which of flags take a value.
func valueFlags(flags []cli.Flag) map[string]bool {
	takesValue := map[string]bool{}
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		if g, ok := f.(*cli.GenericFlag); ok {
			b, ok := g.Value.(interface{ IsBoolFlag() bool })
			isBool = ok && b.IsBoolFlag()
		}
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	return takesValue
}

// commandFirst moves flags typed between "s3up" and the command's name
// after the name. --help, --version and -v stay where they are, as does a
// command line with no command in it.
func commandFirst(app *cli.App, args []string) []string {
	takesValue := map[string]bool{}
	for _, c := range app.Commands {
		for n, v := range valueFlags(c.Flags) {
			takesValue[n] = takesValue[n] || v
		}
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return args
		case len(a) > 1 && a[0] == '-':
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if name == "help" || name == "h" || name == "version" || name == "v" || name == "generate-bash-completion" {
				return args
			}
			if !hasValue && takesValue[name] {
				i++
			}
		case app.Command(a) != nil:
			if i == 1 {
				return args
			}
			out := append([]string{args[0], a}, args[1:i]...)
			return append(out, args[i+1:]...)
		default:
			return args
		}
	}
	return args
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "s3up",
		Usage:   "upload large files, streams and directory trees to S3-compatible stores; rerun to resume",
		Version: currentVersion().Version,
		Description: `s3up uploads files with S3 multipart upload and resumes an interrupted upload
(dropped link, kill -9, reboot) by sending only the parts the server does not hold.

` + exitCodesText(),
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
			if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
				return usagef("%v (see s3up %s --help)", err, c.Command.Name)
			}
			return usagef("%v (see s3up --help; the flags go after the command: s3up put --endpoint URL ...)", err)
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
	// A flag that is off unless given says nothing of its default.
	for _, c := range app.Commands {
		for _, f := range c.Flags {
			if b, ok := f.(*cli.BoolFlag); ok && !b.Value && b.DefaultText == "" {
				b.DisableDefaultText = true
			}
		}
		if c.OnUsageError == nil {
			name := c.Name
			c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
				return usagef("%v (see s3up %s --help)", err, name)
			}
		}
	}
	return app
}

// connFlags select and reach the store, and say how to report; every
// command has them.
func connFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "endpoint", Category: catConnection, DefaultText: "AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS", Usage: "S3 endpoint URL"},
		&cli.StringFlag{Name: "region", Category: catConnection, DefaultText: "AWS_REGION, the profile, else us-east-1", Usage: "region"},
		&cli.StringFlag{Name: "profile", Category: catConnection, DefaultText: "AWS_PROFILE", Usage: "shared config profile"},
		&cli.BoolFlag{Name: "path-style", Category: catConnection, DefaultText: "on for a custom endpoint", Usage: "path-style addressing (=false: virtual-hosted)"},
		&cli.IntFlag{Name: "retries", Category: catConnection, Value: store.DefaultMaxAttempts - 1, Usage: "retries per request, with exponential backoff"},
		&cli.DurationFlag{Name: "stall-timeout", Category: catConnection, Value: store.DefaultStallTimeout, Usage: "retry a connection that moves no byte for this long"},
		&cli.BoolFlag{Name: "json", Category: catOutput, DisableDefaultText: true, Usage: "print one JSON object per line on stdout, nothing else"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Category: catOutput, DisableDefaultText: true, Usage: "print only errors"},
		&cli.BoolFlag{Name: "debug", Category: catOutput, DisableDefaultText: true, Usage: "print the AWS SDK's log on stderr (secrets redacted)"},
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
