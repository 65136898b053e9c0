package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/s3up/s3up/s3up"
)

// output renders what commands report: JSON lines (--json), nothing but
// errors (--quiet), a live progress bar (stderr is a terminal), or plain
// timestamp-free lines suitable for a cron log.
type output struct {
	stdout, stderr io.Writer
	json, quiet    bool
	tty            bool
	interval       time.Duration // plain progress lines
	mu             sync.Mutex
}

func newOutput(c *cli.Context) *output {
	o := &output{stdout: c.App.Writer, stderr: c.App.ErrWriter, json: c.Bool("json"), quiet: c.Bool("quiet"), interval: 10 * time.Second}
	if f, ok := o.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		o.tty = true
	}
	if v := os.Getenv("S3UP_PROGRESS_INTERVAL"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			o.interval = d
		}
	}
	return o
}

// info prints a human line on stderr (unless quiet or json).
func (o *output) info(format string, args ...any) {
	if o.quiet || o.json {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.stderr, format+"\n", args...)
}

// fail prints an error line on stderr, even with --quiet (not with
// --json: the record says it).
func (o *output) fail(format string, args ...any) {
	if o.json {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.stderr, "s3up: error: "+format+"\n", args...)
}

// warn prints a warning line on stderr, or a JSON warning event.
func (o *output) warn(msg string) {
	if o.json {
		o.emit("warning", map[string]any{"message": msg})
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.stderr, "s3up: warning: %s\n", msg)
}

// result prints a human line on stdout (unless quiet or json).
func (o *output) result(format string, args ...any) {
	if o.quiet || o.json {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.stdout, format+"\n", args...)
}

// emit prints one JSON object on stdout (json mode only).
func (o *output) emit(event string, v any) {
	if !o.json {
		return
	}
	m := map[string]any{}
	if v != nil {
		b, _ := json.Marshal(v)
		_ = json.Unmarshal(b, &m)
	}
	m["event"] = event
	b, _ := json.Marshal(m)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stdout.Write(append(b, '\n'))
}

// printError prints the one-line failure report.
func printError(stdout, stderr io.Writer, asJSON bool, err error, code int) {
	msg := message(err)
	if asJSON {
		b, _ := json.Marshal(map[string]any{"event": "error", "message": msg, "exit_code": code})
		stdout.Write(append(b, '\n'))
		return
	}
	fmt.Fprintf(stderr, "s3up: error: %s\n", msg)
}

// progressView is what the renderers share: the live bar on a terminal,
// and the pace of plain progress lines (cron logs) and JSON progress
// records.
type progressView struct {
	o                         *output
	bar                       *progressbar.ProgressBar
	start, lastLine, lastJSON time.Time
}

func (o *output) newProgressView() progressView {
	now := time.Now()
	return progressView{o: o, start: now, lastLine: now}
}

// startBar draws the bar, on a terminal only, once.
func (v *progressView) startBar(total, done int64, desc string) {
	if !v.o.tty || v.o.quiet || v.o.json || v.bar != nil {
		return
	}
	v.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(v.o.stderr),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionClearOnFinish(),
	)
	v.bar.Set64(done)
}

func (v *progressView) clearBar() {
	if v.bar != nil {
		v.bar.Clear()
	}
}

// jsonDue reports whether a JSON progress record is due (at most one a
// second, --json only).
func (v *progressView) jsonDue(now time.Time) bool {
	if !v.o.json || now.Sub(v.lastJSON) < time.Second {
		return false
	}
	v.lastJSON = now
	return true
}

// lineDue reports whether a plain progress line is due (one per interval,
// not on a terminal, not quiet, not JSON).
func (v *progressView) lineDue(now time.Time) bool {
	if v.o.json || v.o.tty || v.o.quiet || now.Sub(v.lastLine) < v.o.interval {
		return false
	}
	v.lastLine = now
	return true
}

// putRenderer turns one file's engine events into output.
type putRenderer struct {
	progressView
	src, bucket, key string
	total, done      int64
	partsDone        int
	parts            int32
}

func (o *output) newPutRenderer(src, bucket, key string) *putRenderer {
	return &putRenderer{progressView: o.newProgressView(), src: src, bucket: bucket, key: key}
}

// Event implements s3up.Listener. The engine serialises calls.
func (r *putRenderer) Event(e s3up.Event) {
	o := r.o
	switch ev := e.(type) {
	case s3up.Planned:
		r.total, r.parts = ev.Size, ev.Parts
		o.emit("planned", ev)
		raised := ""
		if ev.Raised {
			raised = " (part size raised to stay within 10,000 parts)"
		}
		if ev.Size < 0 {
			o.info("s3up: %s -> s3://%s/%s: a stream, read once; parts grow with it", r.src, ev.Bucket, ev.Key)
			return
		}
		if ev.Size == 0 {
			o.info("s3up: %s -> s3://%s/%s: empty, one PutObject", r.src, ev.Bucket, ev.Key)
			return
		}
		shape := fmt.Sprintf("%d parts of %s", ev.Parts, humanize.IBytes(uint64(ev.PartSize)))
		if ev.Parts == 1 {
			shape = "1 part"
		}
		o.info("s3up: %s -> s3://%s/%s: %s in %s%s", r.src, ev.Bucket, ev.Key,
			humanize.IBytes(uint64(ev.Size)), shape, raised)
	case s3up.Started:
		o.emit("started", ev)
		if ev.Reason != "" {
			o.info("s3up: starting a new upload %s: %s", ev.UploadID, ev.Reason)
		} else {
			o.info("s3up: started upload %s", ev.UploadID)
		}
		r.startBar()
	case s3up.Resumed:
		o.emit("resumed", ev)
		extra := ""
		if ev.Adopted > 0 {
			extra += fmt.Sprintf(", %d adopted after checking local bytes", ev.Adopted)
		}
		if ev.Mismatched > 0 {
			extra += fmt.Sprintf(", %d mismatched", ev.Mismatched)
		}
		if ev.Parts == 0 { // a stream, read again
			o.info("s3up: resuming upload %s: the first %d parts (%s) are as before and on the server; sending the rest", ev.UploadID, ev.OnServer, humanize.IBytes(uint64(ev.BytesOnServer)))
		} else {
			o.info("s3up: resuming upload %s: %d/%d parts on server, %d to send%s", ev.UploadID, ev.OnServer, ev.Parts, ev.ToSend, extra)
		}
		r.done = ev.BytesOnServer
		r.partsDone = ev.OnServer
		r.startBar()
	case s3up.Rechecked:
		o.emit("rechecked", ev)
		what := "all match"
		if len(ev.Changed) > 0 {
			what = fmt.Sprintf("%d changed, sent again", len(ev.Changed))
		}
		o.info("s3up: read the %d kept parts (%s) again to check them against the file: %s", ev.Parts, humanize.IBytes(uint64(ev.Bytes)), what)
	case s3up.Notice:
		o.emit("notice", ev)
		o.info("s3up: %s", ev.Message)
	case s3up.Warning:
		o.emit("warning", ev)
		r.clearBar()
		o.info("s3up: warning: %s", ev.Message)
	case s3up.Progress:
		r.done, r.partsDone = ev.Bytes, ev.PartsDone
		if r.bar != nil {
			r.bar.Set64(r.done)
		}
		r.maybeLine()
	case s3up.PartDone:
		r.partsDone++
		o.emit("part_done", ev)
		if r.bar != nil {
			r.bar.Describe(fmt.Sprintf("parts %d/%d", r.partsDone, r.parts))
		}
		r.maybeLine()
	case s3up.Completed:
		o.emit("completed", ev)
		r.clearBar()
	case s3up.Verified:
		o.emit("verified", ev)
	}
}

func (r *putRenderer) startBar() {
	r.progressView.startBar(r.total, r.done, fmt.Sprintf("parts %d/%d", r.partsDone, r.parts))
}

// maybeLine prints a plain progress line (cron logs) or a JSON progress
// object, at most once per interval.
func (r *putRenderer) maybeLine() {
	now := time.Now()
	if r.jsonDue(now) {
		r.o.emit("progress", map[string]any{"bytes": r.done, "total": r.total, "parts_done": r.partsDone, "parts": r.parts})
	}
	if !r.lineDue(now) {
		return
	}
	rate := float64(r.done) / max(now.Sub(r.start).Seconds(), 0.001)
	if r.total < 0 { // a stream: no total, no percentage, no ETA
		r.o.info("s3up: progress: %s sent, %d parts, %s/s", humanize.IBytes(uint64(max(r.done, 0))), r.partsDone, humanize.IBytes(uint64(rate)))
		return
	}
	pct := 0.0
	if r.total > 0 {
		pct = 100 * float64(r.done) / float64(r.total)
	}
	r.o.info("s3up: progress: %.0f%% %s/%s, %d/%d parts, %s/s", pct,
		humanize.IBytes(uint64(max(r.done, 0))), humanize.IBytes(uint64(r.total)), r.partsDone, r.parts, humanize.IBytes(uint64(rate)))
}

func (r *putRenderer) finish(res *s3up.Result, err error) {
	r.clearBar()
	if err != nil {
		printError(r.o.stdout, r.o.stderr, r.o.json, err, exitCode(err))
		return
	}
	r.o.emit("result", res)
	dur := time.Since(r.start)
	what := fmt.Sprintf("sent %d parts (%s)", res.PartsSent, humanize.IBytes(uint64(res.BytesSent)))
	switch {
	case res.AlreadyComplete:
		what = "already complete on the server"
	case res.BytesSkipped > 0:
		what += fmt.Sprintf(", %s of the stream were already on the server from an identical earlier run (%d parts)", humanize.IBytes(uint64(res.BytesSkipped)), res.PartsKept)
	case res.Resumed:
		what += fmt.Sprintf(", %d parts were already on the server", res.PartsKept)
	}
	verified := "not verified (--verify=false)"
	if res.Verified != "" {
		verified = "verified " + res.Verified
	}
	rate := float64(res.BytesSent) / max(dur.Seconds(), 0.001)
	r.o.result("done: s3://%s/%s (%s) in %s at %s/s; %s; %s", res.Bucket, res.Key, humanize.IBytes(uint64(res.Size)),
		dur.Round(10*time.Millisecond), humanize.IBytes(uint64(rate)), what, verified)
}

// fmtAge renders an age compactly for tables: 45s, 12m, 5h12m, 3d4h.
func fmtAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s" // the server's clock is ahead of ours
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}
