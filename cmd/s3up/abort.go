package main

import (
	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up/ops"
)

func abortCommand() *cli.Command {
	return &cli.Command{
		Name:      "abort",
		Usage:     "give up an upload: AbortMultipartUpload and remove the resume state",
		ArgsUsage: "SOURCE s3://BUCKET/KEY",
		Description: `Aborts the multipart upload recorded in the resume state of SOURCE ->
s3://BUCKET/KEY, which frees the parts stored on the server, and removes the
state. An upload the server no longer has is fine. abort refuses while a put
of the same upload is running (exit 1): stop the put first.

Without resume state s3up cannot tell which incomplete upload of the key is
SOURCE's: it lists them and refuses (exit 2), unless --all says to abort every
incomplete upload of exactly that key (not of other keys sharing its prefix).

Examples:
  s3up abort backup.tar s3://backups/2026/backup.tar
  s3up abort --state-dir /var/lib/s3up /srv/db.tar s3://backups/nightly/db.tar
  s3up abort --json big.iso s3://isos/big.iso`,
		Flags: append(connFlags(),
			&cli.StringFlag{Name: "state-dir", Usage: "directory holding resume state, as given to put (default: $XDG_STATE_HOME/s3up or ~/.local/state/s3up)"},
			&cli.BoolFlag{Name: "stdin-from-command", Usage: "the upload of a producer's output: s3://BUCKET/KEY -- COMMAND [ARGS...], as given to put"},
			&cli.BoolFlag{Name: "all", Usage: "without resume state, abort every incomplete upload of the key (they may be another host's)"},
		),
		Action: runAbort,
	}
}

func runAbort(c *cli.Context) error {
	src, bucket, key, err := parseSourceDest(c)
	if err != nil {
		return err
	}
	cb, err := newClient(c, 0)
	if err != nil {
		return err
	}
	out := newOutput(c)
	res, err := ops.Abort(out.withRetryLines(c.Context), cb, src, bucket, key, c.String("state-dir"), c.Bool("all"))
	if err != nil {
		return err
	}
	out.emit("aborted", res)
	if res.StateError != "" {
		out.info("s3up: warning: resume state %s was unreadable (%s); removed it", res.StatePath, res.StateError)
	}
	for _, u := range res.Aborted {
		out.result("aborted upload %s of s3://%s/%s (%s, %s)", u.UploadID, bucket, u.Key, plural(u.Parts, "part"), ibytes(u.Bytes))
	}
	for _, id := range res.Gone {
		out.result("upload %s of s3://%s/%s was already gone from the server", id, bucket, key)
	}
	switch {
	case res.HadState:
		out.result("removed resume state %s", res.StatePath)
		if res.Other > 0 {
			are := "are"
			if res.Other == 1 {
				are = "is"
			}
			out.result("%s of this key %s left alone; `s3up abort` without state, or `s3up gc`, removes them", plural(res.Other, "other incomplete upload"), are)
		}
	case len(res.Aborted) == 0:
		out.result("no resume state and no incomplete upload of s3://%s/%s: nothing to abort", bucket, key)
	default:
		out.result("no resume state; aborted %s of s3://%s/%s", plural(len(res.Aborted), "incomplete upload"), bucket, key)
	}
	return nil
}
