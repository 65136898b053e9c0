package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// CLIPackage is the import path of the s3up command.
const CLIPackage = "github.com/s3up/s3up/cmd/s3up"

// Env returns the environment for running the s3up CLI against this server:
// os.Environ() minus every AWS_* and S3UP_* variable, plus AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3 (the endpoint),
// AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE naming files that do not
// exist, AWS_EC2_METADATA_DISABLED=true, and AWS_CA_BUNDLE: the server's CA
// for a TLS server, else the original AWS_CA_BUNDLE if it was set.
//
// Append to the result to add or override variables (later entries win with
// os/exec).
func (s *Server) Env() []string {
	origCA, hadCA := os.LookupEnv("AWS_CA_BUNDLE")
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "S3UP_") {
			continue
		}
		env = append(env, kv)
	}
	dir := s.envDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "s3up-no-aws-config")
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+s.AccessKey,
		"AWS_SECRET_ACCESS_KEY="+s.SecretKey,
		"AWS_REGION="+s.Region,
		"AWS_ENDPOINT_URL_S3="+s.Endpoint,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-such-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-such-aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		// Resume state goes to a directory of this server's, never the
		// user's ~/.local/state.
		"XDG_STATE_HOME="+filepath.Join(dir, "xdg-state"),
	)
	switch {
	case s.CACertFile != "":
		env = append(env, "AWS_CA_BUNDLE="+s.CACertFile)
	case hadCA:
		env = append(env, "AWS_CA_BUNDLE="+origCA)
	}
	return env
}

// StateDir is where the s3up commands run with Env keep their resume state
// ($XDG_STATE_HOME/s3up).
func (s *Server) StateDir() string {
	dir := s.envDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "s3up-no-aws-config")
	}
	return filepath.Join(dir, "xdg-state", "s3up")
}

var (
	cliMu   sync.Mutex
	cliDir  string
	cliPath string
	cliErr  error
)

// CLI builds the s3up command (go build -o <tempdir>/s3up
// github.com/s3up/s3up/cmd/s3up) once per test process and returns the
// binary's path; a build failure fails every caller. Under -race the CLI is
// built with -race too. S3UP_TEST_CLI_BINARY names a prebuilt binary to use
// instead. The binary is removed when Main returns.
func CLI(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("S3UP_TEST_CLI_BINARY"); p != "" { // not cached: tests may set it
		abs, err := filepath.Abs(p)
		if err != nil || !isExecutable(abs) {
			t.Fatalf("s3test.CLI: S3UP_TEST_CLI_BINARY=%s is not an executable file", p)
		}
		return abs
	}
	cliMu.Lock()
	defer cliMu.Unlock()
	if cliPath == "" && cliErr == nil {
		cliPath, cliErr = buildCLI()
		if cliErr != nil {
			cliPath = ""
		}
	}
	if cliErr != nil {
		t.Fatalf("s3test.CLI: %v", cliErr)
	}
	return cliPath
}

func buildCLI() (string, error) {
	dir, err := os.MkdirTemp("", "s3up-cli-")
	if err != nil {
		return "", err
	}
	cliDir = dir
	out := filepath.Join(dir, "s3up")
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, CLIPackage)
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go tool is not on PATH: %w", err)
	}
	start := time.Now()
	cmd := exec.Command(goTool, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := runWithTimeout(cmd, 10*time.Minute); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, tail(buf.Bytes(), 8<<10))
	}
	fmt.Fprintf(os.Stderr, "s3test: built %s in %s\n", CLIPackage, time.Since(start).Round(time.Millisecond))
	return out, nil
}

func cleanupCLI() {
	cliMu.Lock()
	defer cliMu.Unlock()
	if cliDir != "" {
		os.RemoveAll(cliDir)
		cliDir = ""
	}
	cliPath, cliErr = "", errors.New("s3test: CLI used after Main returned")
}

// Result is the outcome of one CLI run.
type Result struct {
	ExitCode int // -1 if the process was killed by a signal (see Signal)
	Stdout   string
	Stderr   string

	Signal   syscall.Signal // the signal that killed the process, or 0
	Duration time.Duration
}

// String summarises the result for failure messages.
func (r Result) String() string {
	s := fmt.Sprintf("exit %d", r.ExitCode)
	if r.Signal != 0 {
		s = fmt.Sprintf("killed by signal %d (%v)", int(r.Signal), r.Signal)
	}
	return fmt.Sprintf("%s after %s\n--- stdout ---\n%s\n--- stderr ---\n%s",
		s, r.Duration.Round(time.Millisecond), tail([]byte(r.Stdout), 4<<10), tail([]byte(r.Stderr), 4<<10))
}

// RunCLI runs the CLI binary (built by CLI) with env (nil: inherit this
// process's environment; normally srv.Env()) and args, waits for it, and
// returns the result. It never fails the test because of a non-zero exit; it
// fails it only if the binary cannot be run. Cancelling ctx kills the process.
func RunCLI(t testing.TB, ctx context.Context, env []string, args ...string) Result {
	t.Helper()
	p := startCLI(t, ctx, env, nil, args)
	return p.Wait()
}

// RunCLIStdin is RunCLI with stdin as the process's standard input.
func RunCLIStdin(t testing.TB, ctx context.Context, env []string, stdin io.Reader, args ...string) Result {
	t.Helper()
	p := startCLI(t, ctx, env, stdin, args)
	return p.Wait()
}

// Proc is a CLI process started by StartCLI.
type Proc struct {
	Cmd *exec.Cmd

	t        testing.TB
	stdout   syncBuffer
	stderr   syncBuffer
	start    time.Time
	done     chan struct{}
	result   Result
	waitOnce sync.Once
}

// StartCLI starts the CLI with env and args and returns without waiting, for
// tests that interrupt it (Signal, Kill) while it runs. Output so far is
// available with Stdout/Stderr. The process is killed at test cleanup if
// still running.
func StartCLI(t testing.TB, env []string, args ...string) *Proc {
	t.Helper()
	return startCLI(t, context.Background(), env, nil, args)
}

func startCLI(t testing.TB, ctx context.Context, env []string, stdin io.Reader, args []string) *Proc {
	t.Helper()
	bin := CLI(t)
	p := &Proc{t: t, done: make(chan struct{})}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdin = stdin
	cmd.Stdout, cmd.Stderr = &p.stdout, &p.stderr
	cmd.SysProcAttr = cliSysProcAttr()
	cmd.WaitDelay = 10 * time.Second
	p.Cmd = cmd
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		err := cmd.Wait()
		r := Result{Duration: time.Since(p.start), Stdout: p.stdout.String(), Stderr: p.stderr.String(), ExitCode: -1}
		if ps := cmd.ProcessState; ps != nil {
			r.ExitCode = ps.ExitCode()
			if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				r.Signal = ws.Signal()
			}
		} else if err != nil {
			r.Stderr += "\n[s3test: wait: " + err.Error() + "]"
		}
		p.result = r
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// Wait waits for the process to exit and returns its result (logged to the
// test, so that it shows with -v or when the test fails).
func (p *Proc) Wait() Result {
	p.t.Helper()
	<-p.done
	p.waitOnce.Do(func() {
		p.t.Helper()
		p.t.Logf("s3up %s: %v", strings.Join(p.Cmd.Args[1:], " "), p.result)
	})
	return p.result
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Signal sends sig to the process (no-op if it has exited).
func (p *Proc) Signal(sig os.Signal) {
	select {
	case <-p.done:
	default:
		_ = p.Cmd.Process.Signal(sig)
	}
}

// Kill sends SIGKILL (kill -9) and waits for the process to exit.
func (p *Proc) Kill() Result {
	p.t.Helper()
	p.Signal(syscall.SIGKILL)
	return p.Wait()
}

// Stdout returns the standard output so far.
func (p *Proc) Stdout() string { return p.stdout.String() }

// Stderr returns the standard error so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
