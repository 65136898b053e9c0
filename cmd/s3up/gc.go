package main

import (
	"time"

	"github.com/dustin/go-humanize"
	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up"
)

func gcCommand() *cli.Command {
	return &cli.Command{
		Name:      "gc",
		Usage:     "abort incomplete multipart uploads older than a given age",
		ArgsUsage: "s3://BUCKET[/PREFIX] --older-than DURATION",
		Description: `Aborts the incomplete multipart uploads in BUCKET under PREFIX that were
initiated more than DURATION ago, freeing the parts they hold, and reports
how many uploads, parts and bytes it freed. Younger uploads, and uploads whose
start time the store does not report, are never touched. --older-than is
required; --dry-run lists what would be aborted and changes nothing.

An old upload that a long-running put is still driving is aborted too; that
put then fails and its rerun starts over. Ages use the server's start time
and this machine's clock.

Examples:
  s3up gc s3://backups --older-than 7d --dry-run
  s3up gc s3://backups/nightly/ --older-than 36h
  s3up gc --json s3://backups --older-than 1d12h`,
		Flags: append(connFlags(),
			&cli.StringFlag{Name: "older-than", Usage: "abort uploads initiated longer ago than this (required), e.g. 7d, 36h, 90m"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "only list what would be aborted"},
		),
		Action: runGC,
	}
}

func runGC(c *cli.Context) error {
	bucket, prefix, err := parseBucketPrefix(c)
	if err != nil {
		return err
	}
	if !c.IsSet("older-than") {
		return usagef("gc needs --older-than DURATION, e.g. --older-than 7d (see s3up gc --help)")
	}
	age, err := parseAge(c.String("older-than"))
	if err != nil {
		return err
	}
	if age <= 0 {
		return usagef("--older-than must be more than 0 (it would abort uploads running right now)")
	}
	cb, err := newClient(c, 0)
	if err != nil {
		return err
	}
	now := time.Now()
	res, err := s3up.GC(c.Context, cb.client, bucket, prefix, now.Add(-age), c.Bool("dry-run"))
	if res == nil {
		return err
	}
	out := newOutput(c)
	verb := "aborted"
	if res.DryRun {
		verb = "would abort"
	}
	for _, u := range res.Aborted {
		m := uploadJSON(u, now)
		m["action"] = map[bool]string{true: "would_abort", false: "aborted"}[res.DryRun]
		out.emit("upload", m)
		out.result("%s s3://%s/%s upload %s (%s old, %d parts, %s)", verb, bucket, u.Key, u.UploadID,
			ageText(u.Initiated, now), u.Parts, humanize.IBytes(uint64(u.Bytes)))
	}
	for _, u := range res.Failed {
		m := uploadJSON(u, now)
		m["action"] = "failed"
		out.emit("upload", m)
	}
	n, parts, bytes := res.Totals()
	out.emit("gc", map[string]any{"bucket": bucket, "prefix": prefix, "dry_run": res.DryRun,
		"cutoff": res.Cutoff.UTC().Format(time.RFC3339Nano), "aborted": n, "parts": parts, "bytes": bytes,
		"failed": len(res.Failed), "kept": res.Kept})
	out.result("%s %d uploads initiated before %s (older than %s), %d parts, %s; kept %d younger",
		verb, n, res.Cutoff.UTC().Format("2006-01-02 15:04:05Z"), c.String("older-than"), parts, humanize.IBytes(uint64(bytes)), res.Kept)
	return err
}
