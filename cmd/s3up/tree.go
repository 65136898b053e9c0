package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/tree"
)

// ruleList collects --include and --exclude in the order they were typed:
// the order decides (tree.Filter). Both flags append to one list.
type ruleList struct{ rules []tree.Rule }

// ruleFlag is one of the two flags of a ruleList.
type ruleFlag struct {
	list    *ruleList
	include bool
}

func (f *ruleFlag) Set(v string) error {
	f.list.rules = append(f.list.rules, tree.Rule{Include: f.include, Pattern: v})
	return nil
}

func (f *ruleFlag) String() string {
	if f == nil || f.list == nil {
		return ""
	}
	var out []string
	for _, r := range f.list.rules {
		if r.Include == f.include {
			out = append(out, r.Pattern)
		}
	}
	return strings.Join(out, ", ")
}

// treeFlags are the flags of put --recursive; rules receives the filters.
func treeFlags(rules *ruleList) []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "recursive", Aliases: []string{"r"}, Category: catTrees, DisableDefaultText: true, Usage: "upload trees: each file under DIR to PREFIX + its path; unchanged files are skipped"},
		&cli.GenericFlag{Name: "exclude", Value: &ruleFlag{list: rules}, Category: catTrees, Usage: "leave out files matching GLOB (repeatable; see FILTERS)"},
		&cli.GenericFlag{Name: "include", Value: &ruleFlag{list: rules, include: true}, Category: catTrees, Usage: "upload files matching GLOB (repeatable; see FILTERS)"},
		&cli.BoolFlag{Name: "follow-symlinks", Category: catTrees, DisableDefaultText: true, Usage: "upload what symbolic links point to (loops are skipped)"},
		&cli.BoolFlag{Name: "checksum-compare", Category: catTrees, DisableDefaultText: true, Usage: "decide whether a file is unchanged by its checksums, not its size and mtime (files too)"},
		&cli.BoolFlag{Name: "dry-run", Category: catTrees, DisableDefaultText: true, Usage: "print what would be uploaded and deleted, and why; send nothing"},
		&cli.BoolFlag{Name: "delete", Category: catTrees, DisableDefaultText: true, Usage: "delete objects under PREFIX that no file names any more"},
		&cli.IntFlag{Name: "max-delete", Category: catTrees, DefaultText: "no limit", Usage: "with --delete: delete nothing if more than N objects would go"},
	}
}

const treeHelp = `
FILTERS (-r): --exclude and --include are globs on the path relative to DIR
(* ? ** [abc] {a,b}): without "/" they match a name at any depth ("*.tmp"),
with "/" the path from DIR ("logs/*.gz"), ending in "/" a directory
("cache/"). The last filter that matches decides; if the first is --include,
only what the filters include is uploaded.`

// runPutTree uploads the trees of put --recursive.
func runPutTree(c *cli.Context, pa *putArgs) error {
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
	r := out.newTreeRenderer(pa)
	res, err := up.PutTree(c.Context, pa.tree, func(o *s3up.Options) { o.Listener = r })
	err = withSignal(c.Context, err)
	r.finish(res, err)
	pa.metrics.tree(res, err)
	if err != nil {
		return cli.Exit("", exitCode(err))
	}
	return nil
}

// treeRenderer turns a tree run's events into output.
type treeRenderer struct {
	progressView
	pa    *putArgs
	total int64
	files int
}

func (o *output) newTreeRenderer(pa *putArgs) *treeRenderer {
	return &treeRenderer{progressView: o.newProgressView(), pa: pa}
}

// Event implements s3up.Listener. The engine serialises calls.
func (r *treeRenderer) Event(e s3up.Event) {
	o := r.o
	switch ev := e.(type) {
	case s3up.TreeScanned:
		r.total, r.files = ev.Bytes, ev.Files
		o.emit("scanned", ev)
		excluded := ""
		if ev.Excluded > 0 {
			excluded = fmt.Sprintf(", %d excluded", ev.Excluded)
		}
		o.info("s3up: %s (%s)%s; %s under s3://%s/%s", plural(ev.Files, "file"), ibytes(ev.Bytes), excluded,
			plural(ev.Objects, "object"), r.pa.tree.Bucket, r.pa.tree.Prefix)
		r.startBar()
	case s3up.Skipped:
		if ev.NotFollowed {
			ev.Reason += " (--follow-symlinks follows links)"
		}
		o.emit("skipped", ev)
		r.say("s3up: skipped %s: %s", ev.Path, ev.Reason)
	case s3up.Unreadable:
		o.emit("unreadable", map[string]any{"path": ev.Path, "error": ev.Err.Error()})
		r.clearBar()
		o.fail("cannot read %s: %v; what it holds is not uploaded", ev.Path, ev.Err)
	case s3up.InFile:
		r.inFile(ev)
	case s3up.FileDone:
		r.file(ev)
	case s3up.Deleted:
		m := map[string]any{"key": ev.Key}
		if ev.DryRun {
			m["dry_run"] = true
		}
		if ev.Err != nil {
			m["error"] = ev.Err.Error()
		}
		o.emit("deleted", m)
		r.clearBar()
		switch {
		case ev.Err != nil:
			o.fail("could not delete s3://%s/%s: %v", r.pa.tree.Bucket, ev.Key, ev.Err)
		case ev.DryRun:
			o.result("would delete s3://%s/%s", r.pa.tree.Bucket, ev.Key)
		default:
			o.result("deleted s3://%s/%s", r.pa.tree.Bucket, ev.Key)
		}
	case s3up.Warning:
		ev.Message = warningText(ev)
		o.emit("warning", ev)
		r.say("s3up: warning: %s", ev.Message)
	case s3up.Notice:
		o.emit("notice", ev)
		r.say("s3up: %s", ev.Message)
	case s3up.Retry:
		r.retry(ev)
	case s3up.Progress:
		if r.bar != nil {
			r.bar.Describe(fmt.Sprintf("files %d/%d", ev.FilesDone, ev.Files))
			r.bar.Set64(ev.Bytes)
		}
		r.progressLine(ev)
	}
}

// inFile renders an event of one file's upload.
func (r *treeRenderer) inFile(ev s3up.InFile) {
	o := r.o
	switch in := ev.Event.(type) {
	case s3up.Warning:
		in.Message = warningText(in)
		o.emit("warning", map[string]any{"path": ev.Path, "key": ev.Key, "message": in.Message})
		r.say("s3up: warning: %s: %s", ev.Path, in.Message)
	case s3up.Notice:
		o.emit("notice", map[string]any{"path": ev.Path, "key": ev.Key, "message": in.Message})
	case s3up.Planned:
		o.emit("planned", map[string]any{"path": ev.Path, "key": ev.Key, "size": in.Size, "part_size": in.PartSize, "parts": in.Parts})
		if in.Parts > 1 {
			// Small files (one PutObject) are many; a multipart file is
			// worth a line.
			r.say("s3up: %s: %s in %d parts of %s", ev.Path, ibytes(in.Size), in.Parts, ibytes(in.PartSize))
		}
	case s3up.Superseded:
		o.emit("superseded", map[string]any{"path": ev.Path, "key": ev.Key, "upload_id": in.UploadID, "superseded_source": in.Source, "state": in.State})
		r.say("s3up: %s", supersededText(in, r.pa.bucket, ev.Key))
	case s3up.Resumed:
		o.emit("resumed", map[string]any{"path": ev.Path, "key": ev.Key, "upload_id": in.UploadID, "on_server": in.OnServer, "parts": in.Parts, "to_send": in.ToSend})
		r.say("s3up: %s: resuming upload %s: %d/%d parts on the server, %d to send", ev.Path, in.UploadID, in.OnServer, in.Parts, in.ToSend)
	}
}

func (r *treeRenderer) file(ev s3up.FileDone) {
	o := r.o
	rec := map[string]any{"path": ev.Path, "key": ev.Key, "size": ev.Size, "result": ev.Outcome, "decision": ev.Decision}
	if ev.Detail != "" {
		rec["detail"] = ev.Detail
	}
	if u := ev.Upload; u != nil {
		rec["bytes_sent"] = u.BytesSent
		rec["etag"] = u.ETag
		rec["verified"] = u.Verified
		if u.Resumed {
			rec["resumed"] = true
			rec["parts_kept"] = u.PartsKept
		}
	}
	if ev.Err != nil {
		ev.Err = o.signal(ev.Err)
		rec["error"] = message(ev.Err)
		rec["exit_code"] = exitCode(ev.Err)
	}
	o.emit("file", rec)
	dest := fmt.Sprintf("s3://%s/%s", r.pa.tree.Bucket, ev.Key)
	switch ev.Outcome {
	case s3up.OutcomeFailed:
		r.clearBar()
		o.fail("%s: %s", ev.Path, message(ev.Err))
	case s3up.OutcomeUploaded:
		r.clearBar()
		what := ev.Decision
		if ev.Upload != nil && ev.Upload.Resumed {
			what += fmt.Sprintf(", resumed: %s of it on the server", plural(ev.Upload.PartsKept, "part"))
		}
		o.result("uploaded %s -> %s (%s, %s)", ev.Path, dest, ibytes(ev.Size), what)
	case s3up.OutcomeDryRun:
		if ev.Decision == s3up.DecisionUnchanged || ev.Decision == s3up.DecisionSameContent {
			return
		}
		o.result("would upload %s -> %s (%s, %s)", ev.Path, dest, ibytes(ev.Size), ev.Decision)
	}
}

func (r *treeRenderer) startBar() {
	if !r.pa.tree.DryRun {
		r.progressView.startBar(r.total, 0, fmt.Sprintf("files 0/%d", r.files))
	}
}

// progressLine prints a plain progress line (cron logs) or a JSON progress
// object, at most once per interval.
func (r *treeRenderer) progressLine(p s3up.Progress) {
	now := r.o.now()
	if r.jsonDue(now) {
		r.o.emit("progress", map[string]any{"bytes": p.Bytes, "total": p.Total, "files_done": p.FilesDone, "files": p.Files})
	}
	if !r.lineDue(now) {
		return
	}
	pct := 100.0
	if p.Total > 0 {
		pct = 100 * float64(p.Bytes) / float64(p.Total)
	}
	r.o.info("s3up: progress: %.0f%% %s/%s, %d/%d files", pct, ibytes(p.Bytes), ibytes(p.Total), p.FilesDone, p.Files)
}

// finish prints the summary and, on failure, the one error line.
func (r *treeRenderer) finish(res *s3up.TreeResult, err error) {
	r.clearBar()
	o := r.o
	if res != nil && (res.Files > 0 || err == nil || errors.Is(err, s3up.ErrPartial)) {
		o.emit("summary", res)
		line := summaryLine(res)
		if errors.Is(err, s3up.ErrWindowEnded) {
			line = "stopped at its window" + strings.TrimPrefix(line, "done")
		}
		o.result("%s", line)
	}
	if err != nil {
		printError(o.stdout, o.stderr, o.json, err, exitCode(err))
	}
}

// summaryLine is the last line of a tree run: what was found, sent,
// skipped, failed and deleted.
func summaryLine(res *s3up.TreeResult) string {
	var b strings.Builder
	verb := "done"
	if res.DryRun {
		verb = "dry run"
	}
	fmt.Fprintf(&b, "%s: s3://%s/%s: %s (%s): %d uploaded (%s sent), %d unchanged", verb, res.Bucket, res.Prefix,
		plural(res.Files, "file"), ibytes(res.Bytes), res.Uploaded, ibytes(res.BytesSent), res.Unchanged)
	if res.DryRun {
		b.Reset()
		fmt.Fprintf(&b, "dry run: s3://%s/%s: %s (%s): %d would be uploaded (%s), %d unchanged", res.Bucket, res.Prefix,
			plural(res.Files, "file"), ibytes(res.Bytes), res.Files-res.Unchanged-res.Failed,
			ibytes(res.Bytes-res.BytesUnchanged-res.BytesFailed), res.Unchanged)
	}
	fmt.Fprintf(&b, ", %d failed", res.Failed)
	if res.Unreadable > 0 {
		fmt.Fprintf(&b, ", %d unreadable", res.Unreadable)
	}
	if res.Skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped (links, special files)", res.Skipped)
	}
	switch {
	case res.DeleteRefused != "":
		fmt.Fprintf(&b, "; nothing deleted (%s)", res.DeleteRefused)
	case res.DryRun && res.Deleted > 0:
		fmt.Fprintf(&b, "; %d would be deleted", res.Deleted)
	case res.Deleted > 0 || res.DeleteFailed > 0:
		fmt.Fprintf(&b, "; %d deleted", res.Deleted)
		if res.DeleteFailed > 0 {
			fmt.Fprintf(&b, ", %d could not be", res.DeleteFailed)
		}
	}
	fmt.Fprintf(&b, "; in %s", time.Duration(res.Duration*float64(time.Second)).Round(10*time.Millisecond))
	return b.String()
}
