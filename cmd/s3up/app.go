package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up"
)

var version = "dev"

// run builds the app, runs it, prints the failure line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, args)
	code := exitCode(err)
	if err != nil && !errors.Is(err, errReported) {
		var ce cli.ExitCoder
		if errors.As(err, &ce) && ce.Error() == "" {
			return code
		}
		printError(stdout, stderr, jsonRequested(args), err, code)
	}
	return code
}

// errReported wraps an error that a command already printed (several
// sources in one put); run only turns it into an exit code.
var errReported = errors.New("reported")

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:    "s3up",
		Usage:   "upload large files to S3-compatible stores; rerun to resume",
		Version: version,
		Description: `s3up uploads files with S3 multipart upload and resumes an interrupted upload
(dropped link, kill -9, reboot) by sending only the parts the server does not hold.

Exit codes: 0 done; 1 failed but resumable (rerun the same command);
2 bad input or usage (nothing was sent); 130 interrupted (state kept).`,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideHelpCommand:      false,
		Commands: []*cli.Command{
			putCommand(),
		},
		// urfave/cli prints usage errors itself; route them through exitCode.
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usagef("%v (see s3up %s --help)", err, c.Command.Name)
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// connFlags select and reach the store; every command has them.
func connFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "endpoint", Usage: "S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS)", EnvVars: nil},
		&cli.StringFlag{Name: "region", Usage: "region (default: AWS_REGION / shared config, else us-east-1)"},
		&cli.StringFlag{Name: "profile", Usage: "shared config profile (default: AWS_PROFILE)"},
		&cli.BoolFlag{Name: "path-style", Usage: "path-style addressing (default: on for a custom endpoint)"},
		&cli.IntFlag{Name: "retries", Value: s3up.DefaultMaxAttempts - 1, Usage: "retries per request, with exponential backoff"},
		&cli.DurationFlag{Name: "stall-timeout", Value: s3up.DefaultStallTimeout, Usage: "retry a connection that moves no byte for this long"},
		&cli.BoolFlag{Name: "json", Usage: "print one JSON object per line on stdout, nothing else"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only errors"},
	}
}

// connConfig converts the connection flags into the engine's type.
func connConfig(c *cli.Context, concurrency int) (s3up.ClientConfig, error) {
	cc := s3up.ClientConfig{
		Endpoint:     c.String("endpoint"),
		Region:       c.String("region"),
		Profile:      c.String("profile"),
		StallTimeout: c.Duration("stall-timeout"),
		Concurrency:  concurrency,
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

func newClient(c *cli.Context, concurrency int) (*clientBundle, error) {
	cc, err := connConfig(c, concurrency)
	if err != nil {
		return nil, err
	}
	client, info, err := s3up.NewClient(c.Context, cc)
	if err != nil {
		return nil, err
	}
	return &clientBundle{client: client, info: info}, nil
}

type clientBundle struct {
	client s3up.S3API
	info   s3up.ClientInfo
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

// parseAge accepts Go durations and days: 7d, 36h, 90m, 1d12h.
func parseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days int
	if i := strings.Index(s, "d"); i > 0 {
		if _, err := fmt.Sscanf(s[:i], "%d", &days); err != nil || days < 0 {
			return 0, usagef("--older-than %q is not a duration (examples: 7d, 36h)", s)
		}
		s = s[i+1:]
	}
	var d time.Duration
	if s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 {
			return 0, usagef("--older-than %q is not a duration (examples: 7d, 36h)", s)
		}
	}
	return time.Duration(days)*24*time.Hour + d, nil
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
