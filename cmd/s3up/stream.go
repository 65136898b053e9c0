package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up"
)

// runPutStream uploads standard input, or the output of the producer
// command, as one object.
func runPutStream(c *cli.Context, pa *putArgs) error {
	cb, err := newClient(c, pa.conc)
	if err != nil {
		return err
	}
	st := s3up.Stream{R: stdin(c), ID: "stdin", Name: "standard input", Size: max(pa.expected, 0), SizeKnown: pa.expected >= 0}
	if len(pa.producer) > 0 {
		p, err := startProducer(c.Context, pa.producer, c.App.ErrWriter)
		if err != nil {
			return err
		}
		st.R, st.Wait = p.out, p.wait
		st.ID, st.Name = "command "+p.line, p.line
	}
	up, err := s3up.NewUploader(cb, pa.opts)
	if err != nil {
		return err
	}
	defer up.Close()
	st.R = cancelable(c.Context, st.R)
	out := newOutput(c)
	r := out.newPutRenderer(st.Name, pa.bucket, pa.key)
	res, err := up.PutStream(c.Context, st, pa.bucket, pa.key, func(o *s3up.Options) { o.Listener = r })
	err = withSignal(c.Context, err)
	r.finish(res, err)
	pa.metrics.file(res, err)
	if err != nil {
		return cli.Exit("", exitCode(err))
	}
	return nil
}

func stdin(c *cli.Context) io.Reader {
	if c.App.Reader != nil {
		return c.App.Reader
	}
	return os.Stdin
}

// cancelable returns a reader of r whose Read returns as soon as ctx ends,
// even while r blocks (a pipe whose writer is idle, a producer that ignores
// SIGINT): the library reads a stream in the calling goroutine, so an
// interrupt is seen when a read returns.
//
// An OS pipe (a producer's output, standard input from a shell pipeline)
// is read directly, and a read deadline set when ctx ends wakes it: no copy
// and no goroutine between the pipe and the parts. Anything else (a
// terminal, a reader of tests) is read in a goroutine of its own, through
// an io.Pipe, and that goroutine may stay blocked in r until the process
// exits: standard input and the producer's output are the process's own.
func cancelable(ctx context.Context, r io.Reader) io.Reader {
	if f, ok := r.(*os.File); ok {
		if pf := pollablePipe(f); pf != nil {
			stop := context.AfterFunc(ctx, func() { pf.SetReadDeadline(time.Now()) })
			return &deadlineReader{f: pf, ctx: ctx, stop: stop}
		}
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, r)
		pw.CloseWithError(err)
	}()
	context.AfterFunc(ctx, func() { pw.CloseWithError(context.Cause(ctx)) })
	return pr
}

// deadlineReader reads a pollable pipe whose read deadline is set when ctx
// ends; a read the deadline cut returns ctx's cause.
type deadlineReader struct {
	f    *os.File
	ctx  context.Context
	stop func() bool
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	n, err := d.f.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && d.ctx.Err() != nil {
		err = context.Cause(d.ctx)
	}
	return n, err
}

// producer is a command whose output s3up uploads.
type producer struct {
	cmd  *exec.Cmd
	out  io.Reader
	line string // the command line, as people read it
}

// startProducer starts the command with its stdout piped to s3up and its
// stderr passed through. When ctx ends (an interrupt) the command gets
// SIGINT, then SIGKILL after 10 s.
func startProducer(ctx context.Context, argv []string, stderr io.Writer) (*producer, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &producer{cmd: cmd, out: out, line: quoteArgs(argv)}
	if err := cmd.Start(); err != nil {
		return nil, usagef("cannot start %s: %v", p.line, unwrapExec(err))
	}
	return p, nil
}

// wait waits for the producer to exit and says how it ended.
func (p *producer) wait() error {
	err := p.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Errorf("the producer %s was killed by signal %d (%s)", p.line, int(ws.Signal()), ws.Signal())
		}
		return fmt.Errorf("the producer %s exited with status %d", p.line, ee.ExitCode())
	}
	return fmt.Errorf("the producer %s: %w", p.line, err)
}

func unwrapExec(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

// quoteArgs renders argv as a shell would need it typed.
func quoteArgs(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`|&;<>()*?[]{}~#!") {
			a = strconv.Quote(a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
