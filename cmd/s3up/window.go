package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/checkin"
	"github.com/s3up/s3up/s3up/schedule"
)

// Windows and check-ins (README "Backup windows"): --max-duration and
// --stop-at end a put at a time, --cutoff-mode says what happens to the
// parts in flight then, --bwlimit may be a timetable, and --ping-url
// reports the run to a Healthchecks-style monitor.

const catWindow = "Windows and check-ins"

func windowFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "max-duration", Category: catWindow, Usage: "stop starting parts and files after DURATION (6h, 90m, 1d12h): exit 5, progress saved, a rerun continues"},
		&cli.StringFlag{Name: "stop-at", Category: catWindow, Usage: "stop starting parts and files at TIME: 06:00 or 06:00:30 (the next one, local time) or RFC 3339; exit 5 as --max-duration"},
		&cli.StringFlag{Name: "cutoff-mode", Category: catWindow, Value: "soft", Usage: "at the end of the window: soft (parts in flight finish) or hard (they are cancelled at once)"},
		&cli.StringFlag{Name: "ping-url", Category: catWindow, EnvVars: []string{"S3UP_PING_URL"}, Usage: "Healthchecks ping URL: URL/start at the start, URL on success or a window stop with progress, URL/fail otherwise"},
	}
}

// parseWindow reads --max-duration, --stop-at, --cutoff-mode and
// --ping-url at now; a bad value is a usage error, before anything is sent.
func parseWindow(c *cli.Context, pa *putArgs, now time.Time) error {
	var maxDur time.Duration
	if s := c.String("max-duration"); s != "" {
		d, err := s3up.ParseAge(s)
		if err != nil || d <= 0 {
			return usagef("--max-duration %q is not a positive duration (examples: 6h, 90m, 1d12h)", s)
		}
		maxDur = d
	}
	var stopAt time.Time
	if s := c.String("stop-at"); s != "" {
		t, err := schedule.ParseStopAt(s, now)
		if err != nil {
			return usagef("--stop-at: %v", err)
		}
		stopAt = t
	}
	mode, err := schedule.ParseCutoffMode(c.String("cutoff-mode"))
	if err != nil {
		return usagef("--cutoff-mode %q: choose soft or hard", c.String("cutoff-mode"))
	}
	if c.IsSet("cutoff-mode") && maxDur == 0 && stopAt.IsZero() {
		return usagef("--cutoff-mode is for a window: add --max-duration or --stop-at")
	}
	if pa.deadline, err = schedule.Deadline(maxDur, stopAt, now); err != nil {
		return usagef("--max-duration / --stop-at: %v", err)
	}
	pa.cutoff = mode
	if u := c.String("ping-url"); u != "" {
		p, err := checkin.New(u, checkin.Options{UserAgent: "s3up/" + version})
		if err != nil {
			return usagef("--ping-url (or S3UP_PING_URL): %v", err)
		}
		pa.ping = p
	}
	return nil
}

// parseBandwidth reads --bwlimit: a plain rate as it always was (20MiB/s,
// 500KB/s), "off", or a timetable in rclone's syntax ("08:00,512k
// 19:00,off", with Mon- ... Sun- prefixes).
func parseBandwidth(o *s3up.Options, s string) error {
	t := strings.TrimSpace(s)
	switch {
	case strings.Contains(t, ","):
		tt, err := schedule.ParseTimetable(t)
		if err != nil {
			return usagef("--bwlimit %q: %v", s, err)
		}
		if r, ok := tt.Constant(); ok && !r.Limited() {
			return nil
		}
		o.Bandwidth = tt
		return nil
	case strings.EqualFold(t, "off"):
		return nil
	}
	n, err := parseRate(s)
	if err != nil {
		return err
	}
	o.BandwidthLimit = n
	return nil
}

// windowOf is the *WindowError in err's chain, or nil.
func windowOf(err error) *s3up.WindowError {
	var we *s3up.WindowError
	if errors.As(err, &we) {
		return we
	}
	return nil
}

// windowMessage is the line of a run stopped at its window: how far it
// got, that the rerun continues, and about how many more windows it needs.
func windowMessage(we *s3up.WindowError) string {
	var b strings.Builder
	fmt.Fprintf(&b, "stopped at the end of its window: s3://%s/%s", we.Bucket, we.Key)
	if p := we.Progress(); p != "" {
		b.WriteString(": " + p)
	}
	b.WriteString("; progress is saved; rerun the same command to continue")
	if we.EstimateOK && we.WindowsNeeded > 0 {
		fmt.Fprintf(&b, " (about %s like this one at this run's rate)", plural(int(min(we.WindowsNeeded, 1<<30)), "more window"))
	}
	if we.Stream {
		b.WriteString("; a stream is read again from its start by the rerun, and only parts with the same content as before are not sent again: that needs a producer that writes the same bytes (zfs send of a snapshot, tar --sort=name of a frozen tree)")
	}
	return b.String()
}

// printWindowStop prints the window-stop line, or the window_stop event.
func printWindowStop(stdout, stderr io.Writer, asJSON bool, we *s3up.WindowError, code int) {
	msg := windowMessage(we)
	if !asJSON {
		fmt.Fprintf(stderr, "s3up: %s\n", msg)
		return
	}
	rec := map[string]any{"event": "window_stop", "message": msg, "exit_code": code, "destination": fmt.Sprintf("s3://%s/%s", we.Bucket, we.Key),
		"bytes_done": we.BytesDone, "bytes_sent": we.BytesSent, "elapsed_seconds": we.Elapsed.Seconds(), "window_seconds": we.Window.Seconds()}
	if we.BytesTotal > 0 {
		r, _ := we.Ratio()
		rec["bytes_total"], rec["progress_ratio"] = we.BytesTotal, r
	}
	if we.PartsTotal > 0 || we.PartsDone > 0 {
		rec["parts_done"] = we.PartsDone
		if we.PartsTotal > 0 {
			rec["parts_total"] = we.PartsTotal
		}
	}
	if we.FilesTotal > 0 {
		rec["files_done"], rec["files_total"] = we.FilesDone, we.FilesTotal
	}
	if we.EstimateOK {
		rec["windows_needed"] = we.WindowsNeeded
	}
	if we.StatePath != "" {
		rec["state"] = we.StatePath
	}
	if we.Stream {
		rec["stream"] = true
	}
	b, _ := json.Marshal(rec)
	stdout.Write(append(b, '\n'))
}

// startWindow starts the run's window, if one was asked for: from now on
// the engine measures it.
func (pa *putArgs) startWindow() func() {
	if pa.deadline.IsZero() {
		return func() {}
	}
	w := schedule.NewWindow(nil, pa.deadline, pa.cutoff)
	pa.opts.Window = w
	return w.Stop
}

// pingStart sends the start check-in; a failure is only a warning.
func pingStart(ctx context.Context, o *output, p *checkin.Pinger) {
	if err := p.Start(ctx); err != nil {
		o.warn(fmt.Sprintf("check-in: %v; the upload goes on", err))
	}
}

// pingFinish sends the end check-in for a run that ended with code; a
// failure is only a warning and never changes the code.
func pingFinish(ctx context.Context, o *output, p *checkin.Pinger, t *metricsFile, code int, err error) {
	if p == nil {
		return
	}
	if perr := p.Finish(context.WithoutCancel(ctx), t.summary(code, err)); perr != nil {
		o.warn(fmt.Sprintf("check-in: %v", perr))
	}
}

// outcomeText is a run's result in words, for the check-in.
func outcomeText(code int) string {
	for _, e := range exitCodes {
		for _, c := range e.codes {
			if c == code {
				return e.meaning
			}
		}
	}
	return "failed"
}
