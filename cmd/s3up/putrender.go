package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/s3up/s3up/s3up"
)

// putRenderer turns one file's or stream's engine events into output.
type putRenderer struct {
	progressView
	src, bucket, key string
	total, done      int64
	partsDone        int
	parts            int32
	warned           []string // warnings printed, so a reason is not printed twice
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
		r.planned(ev)
	case s3up.Started:
		o.emit("started", ev)
		switch {
		case ev.Reason == "":
			r.say("s3up: started upload %s", ev.UploadID)
		case r.saidAlready(ev.Reason):
			r.say("s3up: started a new upload %s", ev.UploadID)
		default:
			r.say("s3up: starting a new upload %s: %s", ev.UploadID, ev.Reason)
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
			r.say("s3up: resuming upload %s: the first %s (%s) are as before and on the server; sending the rest",
				ev.UploadID, plural(ev.OnServer, "part"), ibytes(ev.BytesOnServer))
		} else {
			r.say("s3up: resuming upload %s: %d/%d parts on the server, %d to send%s", ev.UploadID, ev.OnServer, ev.Parts, ev.ToSend, extra)
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
		kept := "the kept part (%s) again to check it"
		if ev.Parts != 1 {
			kept = fmt.Sprintf("the %d kept parts (%%s) again to check them", ev.Parts)
		}
		r.say("s3up: read "+kept+" against the file: %s", ibytes(ev.Bytes), what)
	case s3up.Notice:
		o.emit("notice", ev)
		r.say("s3up: %s", ev.Message)
	case s3up.Warning:
		ev.Message = warningText(ev)
		o.emit("warning", ev)
		r.warned = append(r.warned, ev.Message)
		r.say("s3up: warning: %s", ev.Message)
	case s3up.Retry:
		r.retry(ev)
	case s3up.Progress:
		r.done, r.partsDone = ev.Bytes, ev.PartsDone
		if ev.Parts > 0 {
			r.parts = ev.Parts
		}
		if r.bar != nil {
			r.bar.Set64(r.done)
		}
		r.maybeLine()
	case s3up.PartDone:
		r.partsDone++
		o.emit("part_done", ev)
		if r.bar != nil {
			r.bar.Describe(r.partsText())
		}
		r.maybeLine()
	case s3up.Completed:
		o.emit("completed", ev)
		r.clearBar()
	case s3up.Verified:
		o.emit("verified", ev)
	case s3up.Unchanged:
		o.emit("unchanged", ev)
	case s3up.Superseded:
		o.emit("superseded", ev)
		r.say("s3up: %s", supersededText(ev, r.bucket, r.key))
	}
}

// supersededText says that an interrupted upload of another source to the
// key was aborted.
func supersededText(ev s3up.Superseded, bucket, key string) string {
	return fmt.Sprintf("aborted the interrupted upload %s of %s to s3://%s/%s: this upload replaced it; its resume state %s is removed",
		ev.UploadID, ev.Source, bucket, key, ev.State)
}

// planned prints the plan: the size and the parts.
func (r *putRenderer) planned(ev s3up.Planned) {
	dest := fmt.Sprintf("%s -> s3://%s/%s", r.src, ev.Bucket, ev.Key)
	switch {
	case ev.Size < 0:
		r.say("s3up: %s: a stream, read once; parts grow with it", dest)
		return
	case ev.Size == 0:
		r.say("s3up: %s: empty, one PutObject", dest)
		return
	}
	shape := fmt.Sprintf("%d parts of %s", ev.Parts, ibytes(ev.PartSize))
	if ev.Parts == 1 {
		shape = "1 part"
	}
	raised := ""
	if ev.Raised {
		raised = " (part size raised to stay within 10,000 parts)"
	}
	r.say("s3up: %s: %s in %s%s", dest, ibytes(ev.Size), shape, raised)
}

// saidAlready reports whether a warning printed before gave reason.
func (r *putRenderer) saidAlready(reason string) bool {
	for _, w := range r.warned {
		if strings.Contains(w, reason) {
			return true
		}
	}
	return false
}

func (r *putRenderer) partsText() string {
	if r.parts <= 0 { // a stream of unknown length
		return plural(r.partsDone, "part")
	}
	return fmt.Sprintf("parts %d/%d", r.partsDone, r.parts)
}

func (r *putRenderer) startBar() {
	r.progressView.startBar(r.total, r.done, r.partsText())
}

// maybeLine prints a plain progress line (cron logs) or a JSON progress
// object, at most once per interval.
func (r *putRenderer) maybeLine() {
	now := r.o.now()
	if r.jsonDue(now) {
		r.o.emit("progress", map[string]any{"bytes": r.done, "total": r.total, "parts_done": r.partsDone, "parts": r.parts})
	}
	if !r.lineDue(now) {
		return
	}
	rate := float64(r.done) / max(now.Sub(r.start).Seconds(), 0.001)
	if r.total < 0 { // a stream: no total, no percentage, no ETA
		r.o.info("s3up: progress: %s sent, %s, %s/s", ibytes(r.done), plural(r.partsDone, "part"), ibytes(int64(rate)))
		return
	}
	pct := 0.0
	if r.total > 0 {
		pct = 100 * float64(r.done) / float64(r.total)
	}
	r.o.info("s3up: progress: %.0f%% %s/%s, %d/%d parts, %s/s", pct, ibytes(r.done), ibytes(r.total), r.partsDone, r.parts, ibytes(int64(rate)))
}

func (r *putRenderer) finish(res *s3up.Result, err error) {
	r.clearBar()
	if err != nil {
		printError(r.o.stdout, r.o.stderr, r.o.json, err, exitCode(err))
		return
	}
	r.o.emit("result", res)
	if res.Unchanged {
		same := "the same size and modification time as the file"
		if res.Verified != "" {
			same = "the same content as the file (" + res.Verified + ")"
		}
		r.o.result("unchanged: s3://%s/%s (%s) has %s; nothing sent (--force sends it anyway)", res.Bucket, res.Key, ibytes(res.Size), same)
		return
	}
	defer r.o.unchecked(res)
	dur := r.o.now().Sub(r.start)
	what := fmt.Sprintf("sent %s (%s)", plural(res.PartsSent, "part"), ibytes(res.BytesSent))
	switch {
	case res.AlreadyComplete:
		what = "already complete on the server"
	case res.BytesSkipped > 0:
		what += fmt.Sprintf(", %s of the stream were already on the server from an identical earlier run (%s)", ibytes(res.BytesSkipped), plural(res.PartsKept, "part"))
	case res.Resumed && res.PartsKept == 1:
		what += ", 1 part was already on the server"
	case res.Resumed:
		what += fmt.Sprintf(", %d parts were already on the server", res.PartsKept)
	}
	verified := "not verified (--verify=false)"
	switch v := res.Verification; {
	case v != nil && !v.Content:
		verified = "verified by its size only: its content is not proven"
	case res.Verified != "":
		verified = "verified " + res.Verified
	}
	rate := float64(res.BytesSent) / max(dur.Seconds(), 0.001)
	r.o.result("done: s3://%s/%s (%s) in %s at %s/s; %s; %s", res.Bucket, res.Key, ibytes(res.Size),
		dur.Round(10*time.Millisecond), ibytes(int64(rate)), what, verified)
}
