package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/ops"
)

func gcCommand() *cli.Command {
	return &cli.Command{
		Name:      "gc",
		Usage:     "abort incomplete multipart uploads idle for longer than a given age",
		ArgsUsage: "s3://BUCKET[/PREFIX] --older-than DURATION",
		Description: `Aborts the incomplete multipart uploads in BUCKET under PREFIX that have been
idle for more than DURATION, freeing the parts they hold, and reports how many
uploads, parts and bytes it freed. An upload is idle since its newest part was
stored (or since it was initiated, if it has no part yet), so a put that needs
longer than DURATION but keeps sending parts is never aborted. --older-than is
required; --dry-run lists what would be aborted and changes nothing.

Never touched: uploads whose age the store does not report, and uploads that
this host's resume state still records (a rerun of their put resumes them;
` + "`s3up abort`" + ` gives one up). Ages use the server's clock and this machine's.

Examples:
  s3up gc s3://backups --older-than 7d --dry-run
  s3up gc s3://backups/nightly/ --older-than 36h
  s3up gc --json s3://backups --older-than 1d12h`,
		Flags: append(connFlags(),
			&cli.StringFlag{Name: "older-than", Usage: "abort uploads idle for longer than this (required), e.g. 7d, 36h, 90m"},
			&cli.StringFlag{Name: "state-dir", Usage: "this host's resume state: uploads it records are kept (default: $XDG_STATE_HOME/s3up or ~/.local/state/s3up)"},
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
	stateDir := c.String("state-dir")
	if stateDir == "" {
		stateDir, _ = resume.DefaultStateDir()
	}
	now := time.Now()
	out := newOutput(c)
	res, err := ops.GC(out.withRetryLines(c.Context), cb.API, bucket, prefix, now.Add(-age), stateDir, c.Bool("dry-run"))
	if res == nil {
		return err
	}
	verb := "aborted"
	if res.DryRun {
		verb = "would abort"
	}
	for _, u := range res.Aborted {
		m := uploadJSON(u, now)
		m["action"] = map[bool]string{true: "would_abort", false: "aborted"}[res.DryRun]
		out.emit("upload", m)
		out.result("%s s3://%s/%s upload %s (idle %s, %s, %s)", verb, bucket, u.Key, u.UploadID,
			ageText(u.LastActivity, now), plural(u.Parts, "part"), ibytes(u.Bytes))
	}
	for _, u := range res.Local {
		m := uploadJSON(u, now)
		m["action"] = "kept_local"
		out.emit("upload", m)
		out.info("s3up: kept s3://%s/%s upload %s (idle %s): resume state in %s still records it; rerun its put, or `s3up abort` it",
			bucket, u.Key, u.UploadID, ageText(u.LastActivity, now), stateDir)
	}
	for _, u := range res.Failed {
		m := uploadJSON(u, now)
		m["action"] = "failed"
		out.emit("upload", m)
	}
	n, parts, bytes := res.Totals()
	out.emit("gc", map[string]any{"bucket": bucket, "prefix": prefix, "dry_run": res.DryRun,
		"cutoff": res.Cutoff.UTC().Format(time.RFC3339Nano), "aborted": n, "parts": parts, "bytes": bytes,
		"failed": len(res.Failed), "kept": res.Kept, "kept_local": len(res.Local)})
	out.result("%s %s idle since before %s (for more than %s), %s, %s; kept %d recently active",
		verb, plural(n, "upload"), res.Cutoff.UTC().Format("2006-01-02 15:04:05Z"), c.String("older-than"), plural(parts, "part"), ibytes(bytes), res.Kept)
	return err
}
