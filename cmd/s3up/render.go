package main

import (
	"context"
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
	"github.com/s3up/s3up/s3up/store"
)

// output renders what commands report: JSON lines (--json), nothing but
// errors (--quiet), a live progress bar (stderr is a terminal), or plain
// timestamp-free lines suitable for a cron log.
type output struct {
	stdout, stderr io.Writer
	json, quiet    bool
	tty            bool
	interval       time.Duration // plain progress lines
	// now is the clock of durations, rates and the pace of lines (the
	// golden tests set one; time.Now otherwise).
	now func() time.Time
	// barThrottle is the least time between two redraws of the bar.
	barThrottle time.Duration
	// signal adds to an error the signal that interrupted the run, if one
	// did (withSignal), so that records of files stopped by it say which.
	signal func(error) error
	mu     sync.Mutex
}

func newOutput(c *cli.Context) *output {
	o := newOutputTo(c.App.Writer, c.App.ErrWriter, c.Bool("json"), c.Bool("quiet"))
	o.signal = func(err error) error { return withSignal(c.Context, err) }
	if v := os.Getenv("S3UP_PROGRESS_INTERVAL"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			o.interval = d
		}
	}
	return o
}

// newOutputTo is an output to stdout and stderr; the bar is drawn when
// stderr is a terminal.
func newOutputTo(stdout, stderr io.Writer, asJSON, quiet bool) *output {
	o := &output{stdout: stdout, stderr: stderr, json: asJSON, quiet: quiet, interval: 10 * time.Second,
		now: time.Now, barThrottle: 100 * time.Millisecond, signal: func(err error) error { return err }}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		o.tty = true
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

// unchecked prints, even with --quiet (where no other line would say it),
// that a stored object's content was not verified: only its size was
// compared (--verify=size), or nothing (--verify=false). Without --quiet
// the engine's warning and the done line say so already.
func (o *output) unchecked(res *s3up.Result) {
	if !o.quiet || o.json || res == nil || res.Verification != nil && res.Verification.Content {
		return
	}
	what := "was not verified (--verify=false)"
	if res.Verification != nil {
		what = "was verified by its size only (--verify=size): its content is not proven"
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.stderr, "s3up: warning: s3://%s/%s %s\n", res.Bucket, res.Key, what)
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
	if we := windowOf(err); we != nil {
		printWindowStop(stdout, stderr, asJSON, we, code)
		return
	}
	msg := message(err)
	if asJSON {
		b, _ := json.Marshal(map[string]any{"event": "error", "message": msg, "exit_code": code})
		stdout.Write(append(b, '\n'))
		return
	}
	fmt.Fprintf(stderr, "s3up: error: %s\n", msg)
}

// progressView is what the renderers share: the live bar on a terminal,
// and the pace of plain progress lines (cron logs), JSON progress records
// and retry lines.
type progressView struct {
	o                         *output
	bar                       *progressbar.ProgressBar
	start, lastLine, lastJSON time.Time
	lastRetry                 time.Time
}

func (o *output) newProgressView() progressView {
	now := o.now()
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
		progressbar.OptionUseIECUnits(true), // MiB, as every line counts
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(v.o.barThrottle),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionClearOnFinish(),
		// The spinner of a stream of unknown size turns with each redraw
		// (several a second while bytes move), not from a timer of its own
		// that would redraw the bar after it was cleared.
		progressbar.OptionSetSpinnerChangeInterval(0),
	)
	v.bar.Set64(done)
}

func (v *progressView) clearBar() {
	if v.bar != nil {
		v.bar.Clear()
	}
}

// say prints a human line on stderr, clearing the bar first (it is
// redrawn at the next update).
func (v *progressView) say(format string, args ...any) {
	v.clearBar()
	v.o.info(format, args...)
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

// retryEvery is the least time between two retry lines: with parts in
// flight during an outage, every part retries; one line a second says so.
// JSON has every retry.
const retryEvery = time.Second

// retry reports a request that is sent again.
func (v *progressView) retry(ev s3up.Retry) {
	v.o.emit("retry", ev)
	now := v.o.now()
	if !v.lastRetry.IsZero() && now.Sub(v.lastRetry) < retryEvery {
		return
	}
	v.lastRetry = now
	of := ""
	if ev.MaxAttempts > 0 {
		of = fmt.Sprintf(" of %d", ev.MaxAttempts)
	}
	v.say("s3up: retrying %s in %s (attempt %d%s): %s", ev.Operation, fmtDelay(ev.Delay), ev.Attempt, of, ev.Cause)
}

// withRetryLines returns ctx with the retries of its S3 requests reported
// on o, as a put reports them, for the commands that run no upload
// (status, uploads, gc, abort).
func (o *output) withRetryLines(ctx context.Context) context.Context {
	v := o.newProgressView()
	var mu sync.Mutex // requests run on goroutines of their own
	return store.WithRetryNotifier(ctx, func(n store.RetryNotice) {
		mu.Lock()
		defer mu.Unlock()
		v.retry(s3up.Retry{Operation: n.Op, Attempt: n.Attempt, MaxAttempts: n.MaxAttempts, Delay: n.Delay, Cause: store.RetryCause(n.Err)})
	})
}

// fmtDelay renders a retry's wait: 4ms, 40ms, 1.3s, 12s.
func fmtDelay(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// plural is "1 part", "2 parts", "0 parts".
func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}

// ibytes renders a byte count in IEC units (MiB), as every line does.
func ibytes(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

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
