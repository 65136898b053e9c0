package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runSpec is one timed run.
type runSpec struct {
	mode, tool string
	round      int
	tag        string // log name; default mode-tls-tool-round
	cmd        command
	producer   *command // stream mode: started with the tool, its stdout piped into the tool's stdin
	size, part int64
	conc       int
	onServer   int // parts on the server when the resume starts (resume mode only)
	note       string
	// check runs after a successful exit and says whether what was stored
	// is what was sent; a run is failed unless it returns nil.
	check func(ctx context.Context, r *result) error
}

// measure executes one timed run and records it. It returns the result
// and the path of the run's log.
func (h *harness) measure(ctx context.Context, s runSpec) (result, string) {
	tls := h.srv.scheme
	tag := s.tag
	if tag == "" {
		tag = fmt.Sprintf("%s-%s-%s-%d", s.mode, tls, s.tool, s.round)
	}
	logPath := filepath.Join(h.paths.logs, tag+".log")
	r := result{mode: s.mode, tls: tls, tool: s.tool, round: s.round, size: s.size, part: s.part, conc: s.conc,
		objectParts: "-", onServer: -1, note: s.note}
	if s.mode == "resume" {
		r.onServer = s.onServer
	}
	fail := func(msg string) {
		r.ok, r.failure = false, msg
		note("%s (%s, round %d) failed: %s; log: %s", s.tool, tls, s.round, msg, logPath)
	}
	log, err := os.Create(logPath)
	if err != nil {
		fail(err.Error())
		h.results.add(r)
		return r, logPath
	}
	fmt.Fprintf(log, "# %s\n", shellQuote(s.cmd.argv))
	if s.producer != nil {
		fmt.Fprintf(log, "# stdin: %s\n", shellQuote(s.producer.argv))
	}
	ex, err := h.execute(ctx, s, log)
	log.Close()
	r.wall, r.user, r.sys, r.maxRSSKiB = ex.wall, ex.user, ex.sys, ex.maxRSSKiB
	r.rchar, r.wchar, r.serverCPU, r.prodCPU = ex.rchar, ex.wchar, ex.serverCPU, ex.prodCPU
	if ctx.Err() != nil {
		// Cut short by an interrupt: no measurement of anything.
		return r, logPath
	}
	r.ok = true
	switch {
	case err != nil:
		fail(err.Error())
	case ex.state != nil && !ex.state.Success():
		fail(fmt.Sprintf("%s: %s", exitText(ex.state), lastLogLine(logPath)))
	case ex.prodErr != "":
		fail("the producer failed: " + ex.prodErr)
	case s.check != nil:
		if err := s.check(ctx, &r); err != nil {
			fail(err.Error())
		}
	}
	if !r.ok {
		if b, err := os.ReadFile(logPath); err == nil {
			for _, l := range strings.Split(lastLines(string(b), 5), "\n") {
				fmt.Fprintln(os.Stderr, "    "+l)
			}
		}
	}
	h.results.add(r)
	if r.ok {
		note("  %s: %.2fs wall, %.2fs CPU, %d MiB RSS", s.tool, r.wall, r.cpu(), r.maxRSSKiB>>10)
	}
	return r, logPath
}

// execution is what the kernel says about a run.
type execution struct {
	state              *os.ProcessState
	wall, user, sys    float64
	maxRSSKiB          int64
	rchar, wchar       int64
	serverCPU, prodCPU float64
	prodErr            string
}

func (h *harness) execute(ctx context.Context, s runSpec, log *os.File) (execution, error) {
	var ex execution
	cmd := exec.CommandContext(ctx, s.cmd.argv[0], s.cmd.argv[1:]...)
	cmd.Env = s.cmd.environ()
	cmd.Stdout, cmd.Stderr = log, log // files: no copying goroutine reads on our account
	cmd.SysProcAttr = childAttr()
	var prod *exec.Cmd
	if s.producer != nil {
		pr, pw, err := os.Pipe()
		if err != nil {
			return ex, err
		}
		prod = exec.CommandContext(ctx, s.producer.argv[0], s.producer.argv[1:]...)
		prod.Stdout, prod.Stderr, prod.SysProcAttr = pw, log, childAttr()
		cmd.Stdin = pr
		defer pr.Close()
		defer pw.Close()
	}
	s0 := h.srv.cpu()
	io0 := selfIO()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return ex, fmt.Errorf("cannot start %s: %w", s.cmd.argv[0], err)
	}
	if prod != nil {
		if err := prod.Start(); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return ex, fmt.Errorf("cannot start the producer: %w", err)
		}
		// Only the children hold the pipe now: the tool sees EOF when the
		// producer ends, and the producer EPIPE if the tool quits.
		cmd.Stdin.(*os.File).Close()
		prod.Stdout.(*os.File).Close()
	}
	werr := cmd.Wait()
	ex.wall = time.Since(start).Seconds()
	if prod != nil {
		if err := prod.Wait(); err != nil {
			ex.prodErr = err.Error()
		}
		if ru, ok := prod.ProcessState.SysUsage().(*syscall.Rusage); ok {
			ex.prodCPU = tv(ru.Utime) + tv(ru.Stime)
		}
	}
	io1 := selfIO()
	ex.serverCPU = h.srv.cpu() - s0
	ex.state = cmd.ProcessState
	if ex.state == nil {
		return ex, werr
	}
	if ru, ok := ex.state.SysUsage().(*syscall.Rusage); ok {
		ex.user, ex.sys, ex.maxRSSKiB = tv(ru.Utime), tv(ru.Stime), ru.Maxrss
	}
	// With a producer, wchar includes its writes into the pipe.
	ex.rchar, ex.wchar = io1.rchar-io0.rchar, io1.wchar-io0.wchar
	return ex, nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

type ioCounters struct{ rchar, wchar int64 }

// selfIO reads the harness's /proc/self/io, which includes the counters of
// every child it has reaped.
func selfIO() ioCounters {
	var c ioCounters
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return c
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "rchar":
			c.rchar = n
		case "wchar":
			c.wchar = n
		}
	}
	return c
}

func exitText(st *os.ProcessState) string {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("killed by signal %d (%s)", ws.Signal(), ws.Signal())
	}
	return fmt.Sprintf("exit status %d", st.ExitCode())
}

// lastLogLine is the last line of a run's log that is not the command
// line: usually the tool's error message.
func lastLogLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "# ") {
			if len(l) > 200 {
				l = l[:200] + "…"
			}
			return l
		}
	}
	return "(no output)"
}

func shellQuote(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$&;|<>*?()[]{}!#~`") {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}
