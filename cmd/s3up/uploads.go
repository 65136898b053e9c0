package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up/ops"
)

func uploadsCommand() *cli.Command {
	return &cli.Command{
		Name:      "uploads",
		Usage:     "list incomplete multipart uploads (age, parts, bytes)",
		ArgsUsage: "s3://BUCKET[/PREFIX]",
		Description: `Lists the incomplete multipart uploads in BUCKET whose key starts with PREFIX:
key, upload id, when it was initiated, its age, and the parts and bytes it
holds (storage you pay for until it is completed or aborted). Every page of
the listing is followed, so buckets with thousands of uploads work.

MinIO lists, without an exact key, only the uploads started since it last
restarted; older ones cannot be seen through the S3 API.

Examples:
  s3up uploads s3://backups
  s3up uploads s3://backups/2026/
  s3up uploads --json s3://backups | jq -r 'select(.event == "upload") | .key'`,
		Flags:  connFlags(),
		Action: runUploads,
	}
}

func runUploads(c *cli.Context) error {
	bucket, prefix, err := parseBucketPrefix(c)
	if err != nil {
		return err
	}
	cb, err := newClient(c, 0)
	if err != nil {
		return err
	}
	out := newOutput(c)
	ups, err := ops.ListUploads(out.withRetryLines(c.Context), cb.API, bucket, prefix)
	if err != nil {
		return err
	}
	now := time.Now()
	var parts int
	var bytes int64
	for _, u := range ups {
		parts += u.Parts
		bytes += u.Bytes
		out.emit("upload", uploadJSON(u, now))
	}
	out.emit("summary", map[string]any{"bucket": bucket, "prefix": prefix, "uploads": len(ups), "parts": parts, "bytes": bytes})
	if out.json || out.quiet {
		return nil
	}
	if len(ups) == 0 {
		out.result("no incomplete uploads in s3://%s/%s", bucket, prefix)
		return nil
	}
	out.mu.Lock()
	tw := tabwriter.NewWriter(out.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tUPLOAD ID\tINITIATED\tAGE\tPARTS\tBYTES")
	for _, u := range ups {
		parts, bytes := fmt.Sprint(u.Parts), ibytes(u.Bytes)
		if u.PartsUnknown {
			parts, bytes = "?", "?"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Key, shortID(u.UploadID), initiatedText(u.Initiated), ageText(u.Initiated, now), parts, bytes)
	}
	tw.Flush()
	out.mu.Unlock()
	note := ""
	for _, u := range ups {
		if shortID(u.UploadID) != u.UploadID {
			note = " (upload ids shortened: --json has them whole)"
			break
		}
	}
	for _, u := range ups {
		if u.PartsUnknown {
			note += "; this store does not list the parts of an upload (no ListParts): their parts and bytes are not known"
			break
		}
	}
	out.result("%s, %s, %s%s", plural(len(ups), "incomplete upload"), plural(parts, "part"), ibytes(bytes), note)
	return nil
}

// uploadJSON is an upload with its age, for JSON output.
func uploadJSON(u ops.UploadInfo, now time.Time) map[string]any {
	m := map[string]any{"key": u.Key, "upload_id": u.UploadID, "parts": u.Parts, "bytes": u.Bytes}
	if u.PartsUnknown {
		// The store does not list an upload's parts: its parts and bytes,
		// and so its last activity, are not known.
		m["parts_unknown"] = true
	}
	if !u.Initiated.IsZero() {
		m["initiated"] = u.Initiated.UTC().Format(time.RFC3339Nano)
		m["age_seconds"] = int64(now.Sub(u.Initiated) / time.Second)
	}
	if !u.LastActivity.IsZero() {
		m["last_activity"] = u.LastActivity.UTC().Format(time.RFC3339Nano)
		m["idle_seconds"] = int64(now.Sub(u.LastActivity) / time.Second)
	}
	return m
}

// shortID is an upload id for a table: some stores' ids are 120
// characters long (MinIO's), which would push the table past any terminal.
// The first 12 characters tell uploads apart; --json has the whole id.
func shortID(id string) string {
	const keep = 12
	if len(id) <= keep+1 {
		return id
	}
	return id[:keep] + "…"
}

func initiatedText(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func ageText(t, now time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return fmtAge(now.Sub(t))
}
