package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/s3up/s3up/bench/internal/benchs3"
)

func (h *harness) runResume(ctx context.Context) error {
	o := h.opts
	// Resume runs its two tools whatever --tools says: it is their
	// comparison.
	var tools []string
	for _, t := range []string{"s3up", "s3cmd"} {
		if ok, why := h.available(t); ok {
			tools = append(tools, t)
		} else {
			note("resume: skipping %s: %s", t, why)
		}
	}
	if err := h.needDisk(o.size*2+512<<20, fmt.Sprintf("--resume with --size %s", human(o.size))); err != nil {
		return err
	}
	file, err := h.dataFile(o.size)
	if err != nil {
		return err
	}
	nparts := int((o.size + o.part - 1) / o.part)
	half := nparts / 2
	if half < 1 {
		return fatalf("--resume needs at least 2 parts (--size > --part-size)")
	}
	// With fewer parts than 2 x concurrency, every part is in flight at once
	// and they all land together: the interrupted run (only) then sends fewer
	// at a time so that it can be stopped half-way. The timed resume always
	// uses --concurrency.
	cutConc := o.conc
	if half < 2*o.conc {
		cutConc = max(half/2, 1)
		note("resume: only %d parts: the interrupted s3up run uses --concurrency %d", nparts, cutConc)
	}
	warm(file)
	var events []string
	for _, tls := range o.schemes {
		if err := h.startServer(ctx, tls); err != nil {
			return err
		}
		for round := 1; round <= o.rounds; round++ {
			note("resume %s round %d/%d: interrupt at %d/%d parts, then resume", tls, round, o.rounds, half, nparts)
			target := half
			for _, t := range tools {
				key := "resume-" + t
				h.reset(ctx, key)
				switch t {
				case "s3up":
					h.interruptS3up(ctx, file, key, half, cutConc, round)
				case "s3cmd":
					// s3cmd sends one part at a time, so it can be stopped
					// exactly where s3up was: both resumes then start from
					// the same point.
					h.interruptS3cmd(ctx, file, key, target, round)
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				onServer, err := benchs3.CountParts(ctx, h.s3, bucket, key)
				onText := fmt.Sprint(onServer)
				if err != nil {
					onServer, onText = -1, "?"
				}
				note("  %s interrupted with %s/%d parts on the server", t, onText, nparts)
				if t == "s3up" && onServer >= 0 {
					if onServer >= 1 && onServer < nparts {
						target = onServer
					} else {
						note("  s3up left no usable half-done upload (%d/%d parts; file too small for %d parts in flight?); s3cmd is stopped at %d", onServer, nparts, o.conc, half)
					}
				}
				var cmd command
				switch t {
				case "s3up":
					cmd = jsonOutput(h.fileCommand("s3up", file, key, o.part, o.conc))
				case "s3cmd":
					cmd = command{argv: []string{h.peers.s3cmd, "-c", h.s3cmdConfig(), "put", "--continue-put", "--no-progress", file, "s3://" + bucket + "/" + key}}
				}
				_, logPath := h.measure(ctx, runSpec{mode: "resume", tool: t, round: round, cmd: cmd, size: o.size, part: o.part, conc: o.conc,
					onServer: onServer, note: "on_server=" + onText, check: h.objectCheck(key, o.size, "")})
				if t == "s3up" {
					for _, e := range resumedEvents(logPath) {
						events = append(events, fmt.Sprintf("%s round %d: %s", tls, round, e))
					}
				}
				h.reset(ctx, key)
			}
		}
		h.stopServer()
		runs := where(h.results.runs, "resume", tls)
		h.say(fmt.Sprintf("### Resume after an interruption at half of %d parts (%s), %s", nparts, human(o.size), describeTLS(tls)), "")
		h.sayBlock(resumeTable(runs, nparts, o.size, o.part))
		h.sayBlock(failureNotes(runs))
	}
	if len(events) > 0 {
		h.say("s3up's own account of each resume (its JSON \"resumed\" event):", "")
		for _, e := range events {
			h.say("    " + e)
		}
		h.say("")
	}
	h.say("s3up is killed (SIGKILL) when its JSON output has reported half of the parts done; with",
		fmt.Sprintf("--concurrency %d for that first run, a few more may reach the server. s3cmd, which sends one part at a", cutConc),
		"time, is then killed when ListParts shows the same number of parts, so both resumes start",
		"from the same point. The timed run is the resume: s3up runs the same command again; s3cmd",
		"runs put --continue-put. \"read\" is the resuming process's rchar: every byte read(2)/pread(2)",
		"returned, from the page cache or the disk (about 2 MiB of it is Python start-up for s3cmd).",
		"\"read ÷ bytes to send\" is the number of passes over what is left to send: 1 is the minimum,",
		"a checksum or SigV4 payload hash computed before sending adds one, and a tool that re-checksums",
		"the parts already on the server adds (parts on server ÷ parts to send) more.", "")
	return nil
}

// jsonOutput turns s3up's --quiet into --json.
func jsonOutput(c command) command {
	c.argv = slices.Clone(c.argv)
	c.argv[slices.Index(c.argv, "--quiet")] = "--json"
	return c
}

// interruptS3up starts s3up with --json and kills it (SIGKILL) once it has
// reported half part_done events.
func (h *harness) interruptS3up(ctx context.Context, file, key string, half, conc, round int) {
	logPath := filepath.Join(h.paths.logs, fmt.Sprintf("resume-cut-s3up-%s-%d.jsonl", h.srv.scheme, round))
	log, err := os.Create(logPath)
	if err != nil {
		note("  %v", err)
		return
	}
	defer log.Close()
	c := jsonOutput(h.fileCommand("s3up", file, key, h.opts.part, conc))
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Env, cmd.Stderr, cmd.SysProcAttr = c.environ(), log, childAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		note("  %v", err)
		return
	}
	if err := cmd.Start(); err != nil {
		note("  cannot start s3up: %v", err)
		return
	}
	seen := 0
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fmt.Fprintln(log, sc.Text())
		if strings.Contains(sc.Text(), `"event":"part_done"`) {
			if seen++; seen == half {
				cmd.Process.Kill()
			}
		}
	}
	cmd.Wait()
	if !killed(cmd.ProcessState) {
		note("  s3up was not interrupted (%s after %d part_done events; log: %s)", exitText(cmd.ProcessState), seen, logPath)
	}
}

// interruptS3cmd starts s3cmd put and kills it (SIGKILL) once the server's
// ListParts shows target parts.
func (h *harness) interruptS3cmd(ctx context.Context, file, key string, target, round int) {
	logPath := filepath.Join(h.paths.logs, fmt.Sprintf("resume-cut-s3cmd-%s-%d.log", h.srv.scheme, round))
	log, err := os.Create(logPath)
	if err != nil {
		note("  %v", err)
		return
	}
	defer log.Close()
	cmd := exec.CommandContext(ctx, h.peers.s3cmd, "-c", h.s3cmdConfig(), "put", "--no-progress", file, "s3://"+bucket+"/"+key)
	cmd.Stdout, cmd.Stderr, cmd.SysProcAttr = log, log, childAttr()
	if err := cmd.Start(); err != nil {
		note("  cannot start s3cmd: %v", err)
		return
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	got := 0
	deadline := time.Now().Add(30 * time.Minute)
poll:
	for time.Now().Before(deadline) {
		if n, err := benchs3.CountParts(ctx, h.s3, bucket, key); err == nil {
			if got = n; n >= target {
				break
			}
		}
		select {
		case <-done:
			break poll
		case <-ctx.Done():
			break poll
		case <-time.After(50 * time.Millisecond):
		}
	}
	cmd.Process.Kill()
	<-done
	if !killed(cmd.ProcessState) {
		note("  s3cmd was not interrupted (%s with %d parts on the server; log: %s)", exitText(cmd.ProcessState), got, logPath)
	}
}

func killed(st *os.ProcessState) bool {
	ws, ok := st.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

var uploadIDField = regexp.MustCompile(`,?"upload_id":"[^"]*"`)

// resumedEvents returns s3up's "resumed" events from a run's log, without
// the upload id.
func resumedEvents(logPath string) []string {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, `"event":"resumed"`) {
			out = append(out, uploadIDField.ReplaceAllString(l, ""))
		}
	}
	return out
}
