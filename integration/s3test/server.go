package s3test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const (
	// DefaultRegion is the region of the servers started by the harness.
	DefaultRegion = "us-east-1"

	readyTimeout  = 60 * time.Second
	readyPoll     = 50 * time.Millisecond
	stopTimeout   = 10 * time.Second
	startAttempts = 3
	logTailBytes  = 16 << 10
)

// Server is one S3-compatible endpoint under test.
type Server struct {
	Name       string // "minio", "versitygw", "seaweedfs", or "external"
	Endpoint   string // e.g. http://127.0.0.1:PORT (https://... for TLS servers)
	AccessKey  string
	SecretKey  string
	Region     string // "us-east-1" unless configured otherwise
	CACertFile string // PEM of the CA for TLS servers, "" otherwise

	// Minio is an independent verification client (minio-go/v7), configured
	// for this server (path-style addressing, no retries hidden from tests
	// beyond minio-go's own).
	Minio *minio.Client

	// StartupTime is how long the server took from exec to first successful
	// ListBuckets (0 for external servers).
	StartupTime time.Duration
	// LogFile is the server's combined stdout/stderr ("" for external servers).
	LogFile string

	proc    *serverProc
	tempDir string   // per-server scratch dir (data, certs, logs, env files)
	envDir  string   // dir with no AWS config files, for Env()
	sockets []string // Unix sockets the server makes outside tempDir, removed by Stop
	ports   []int    // every TCP port the harness chose for the server's listeners

	// readyExtra, if set, must succeed too before the server counts as
	// started (after ListBuckets has).
	readyExtra func(ctx context.Context) error
}

// serverProc is a running server process.
type serverProc struct {
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	waitErr  error
	stopOnce sync.Once
}

// Core returns a minio-go Core client (low-level S3 calls: ListParts,
// ListMultipartUploads, ...) sharing the verification client's settings.
func (s *Server) Core() *minio.Core {
	return &minio.Core{Client: s.Minio}
}

// HTTPClient returns an http.Client that trusts the server's CA (for TLS
// servers) and never uses a proxy.
func (s *Server) HTTPClient() *http.Client {
	tr, err := newTransport(s.CACertFile)
	if err != nil {
		panic(err) // the CA file was already loaded once when the server started
	}
	return &http.Client{Transport: tr}
}

// Host returns host:port of the endpoint.
func (s *Server) Host() string {
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		return ""
	}
	return u.Host
}

// Stop stops the server process (SIGTERM to its process group, SIGKILL after
// a deadline), waits for it and removes its temporary directory. Safe to call
// more than once and concurrently; a no-op for external servers except for
// removing the temporary directory.
func (s *Server) Stop() {
	if s.proc != nil {
		s.proc.stop()
	}
	removeStaleSockets(s.sockets)
	if s.tempDir != "" {
		os.RemoveAll(s.tempDir)
	}
	unregisterServer(s)
}

// Alive reports whether the server process is still running (always true for
// external servers).
func (s *Server) Alive() bool {
	if s.proc == nil {
		return true
	}
	select {
	case <-s.proc.done:
		return false
	default:
		return true
	}
}

// LogTail returns the last bytes of the server's log, for diagnostics.
func (s *Server) LogTail() string {
	if s.LogFile == "" {
		return ""
	}
	b, err := os.ReadFile(s.LogFile)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", s.LogFile, err)
	}
	return tail(b, logTailBytes)
}

func (p *serverProc) stop() {
	p.stopOnce.Do(func() {
		pid := p.cmd.Process.Pid
		_ = killGroup(pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			_ = killGroup(pid, syscall.SIGKILL)
			<-p.done
		}
		// Reap anything else left in the group (the leader is gone, the
		// group may not be).
		_ = killGroup(pid, syscall.SIGKILL)
	})
}

// tempPrefix starts the names of the servers' temporary directories, followed
// by the pid of the test process that owns them.
const tempPrefix = "s3up-srv-"

// sweepStaleDirs removes server directories left behind by test processes
// that no longer exist (a crashed run cannot clean up after itself).
func sweepStaleDirs() {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), tempPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || pid == os.Getpid() || processExists(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(os.TempDir(), e.Name()))
	}
}

// freePort returns a currently unused loopback TCP port. A race with another
// process taking it before the server binds is handled by retrying the start.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// randomKey returns a random alphanumeric string of n characters.
func randomKey(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	r := randBytes(n)
	for i := range b {
		b[i] = alphabet[int(r[i])%len(alphabet)]
	}
	return string(b)
}

// tlsFiles holds a server certificate and key for a TLS server.
type tlsFiles struct {
	caFile, certFile, keyFile string
}

// startServer installs if needed and starts a server of kind (one of
// Kinds), serving HTTPS with a fresh CA if withTLS, and waits until it
// answers ListBuckets. An early exit (e.g. port taken) is retried on new ports.
func startServer(kind string, withTLS bool) (*Server, error) {
	bin, err := EnsureBinary(kind)
	if err != nil {
		return nil, &unavailableError{err}
	}
	var lastErr error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		srv, retry, err := startOnce(kind, bin, withTLS)
		if err == nil {
			return srv, nil
		}
		lastErr = fmt.Errorf("attempt %d: %w", attempt, err)
		if !retry {
			break
		}
	}
	return nil, lastErr
}

// unavailableError marks a server whose binary could not be obtained.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return "server binary unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// startOnce makes one attempt. retry is true when the process exited early
// (most likely its port was taken), so that another port may work.
func startOnce(kind, bin string, withTLS bool) (srv *Server, retry bool, err error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-%s-", tempPrefix, os.Getpid(), kind))
	if err != nil {
		return nil, false, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	for _, sub := range []string{"data", "certs", "env"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, false, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, false, err
	}
	scheme := "http"
	var tf *tlsFiles
	if withTLS {
		scheme = "https"
		if tf, err = writeTLSFiles(filepath.Join(dir, "certs")); err != nil {
			return nil, false, err
		}
	}
	srv = &Server{
		Name:      kind,
		Endpoint:  fmt.Sprintf("%s://127.0.0.1:%d", scheme, port),
		AccessKey: "s3up" + randomKey(12),
		SecretKey: randomKey(32),
		Region:    DefaultRegion,
		LogFile:   filepath.Join(dir, kind+".log"),
		tempDir:   dir,
		envDir:    filepath.Join(dir, "env"),
		ports:     []int{port},
	}
	if tf != nil {
		srv.CACertFile = tf.caFile
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dataDir := filepath.Join(dir, "data")

	var args, env []string
	switch kind {
	case "minio":
		consolePort, err := freePort()
		if err != nil {
			return nil, false, err
		}
		srv.ports = append(srv.ports, consolePort)
		// Always pass --certs-dir: otherwise a ~/.minio/certs would silently
		// turn the server to TLS. For TLS it holds public.crt/private.key.
		args = []string{"server", "--quiet",
			"--address", addr,
			"--console-address", fmt.Sprintf("127.0.0.1:%d", consolePort),
			"--certs-dir", filepath.Join(dir, "certs"),
			dataDir}
		env = []string{
			"MINIO_ROOT_USER=" + srv.AccessKey,
			"MINIO_ROOT_PASSWORD=" + srv.SecretKey,
			"MINIO_BROWSER=off",
			"MINIO_UPDATE=off",
			"MINIO_REGION=" + srv.Region,
			"MINIO_CI_CD=on", // allow a data dir on the root disk
		}
	case "versitygw":
		args = []string{"--port", addr, "--quiet", "--region", srv.Region}
		if tf != nil {
			args = append(args, "--cert", tf.certFile, "--key", tf.keyFile)
		}
		args = append(args, "posix", dataDir)
		env = []string{
			"ROOT_ACCESS_KEY=" + srv.AccessKey,
			"ROOT_SECRET_KEY=" + srv.SecretKey,
		}
	case "seaweedfs":
		if args, env, err = seaweedCommand(srv, dir, dataDir, port, tf); err != nil {
			return nil, false, err
		}
	default:
		return nil, false, fmt.Errorf("unknown server kind %q", kind)
	}

	logf, err := os.OpenFile(srv.LogFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, false, err
	}
	defer logf.Close() // the child has its own copy
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(serverBaseEnv(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = serverSysProcAttr()
	fmt.Fprintf(logf, "# %s %s\n", bin, strings.Join(args, " "))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &serverProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	srv.proc = p
	registerServer(srv)

	fail := func(retry bool, err error) (*Server, bool, error) {
		p.stop()
		removeStaleSockets(srv.sockets)
		unregisterServer(srv)
		// The deferred RemoveAll removes the log after we have read it.
		return nil, retry, fmt.Errorf("%s on %s: %w\n--- %s log (%s) ---\n%s\n--- end of log ---",
			kind, srv.Endpoint, err, kind, srv.LogFile, strings.TrimRight(srv.LogTail(), "\n"))
	}
	if srv.Minio, err = newMinioClient(srv.Endpoint, srv.AccessKey, srv.SecretKey, srv.Region, srv.CACertFile); err != nil {
		return fail(false, err)
	}
	probe, err := newMinioClientRetries(srv.Endpoint, srv.AccessKey, srv.SecretKey, srv.Region, srv.CACertFile, 1)
	if err != nil {
		return fail(false, err)
	}
	if err := waitReady(probe, srv.readyExtra, p, readyTimeout); err != nil {
		var exited *exitedError
		return fail(errors.As(err, &exited), err)
	}
	srv.StartupTime = time.Since(start)
	return srv, false, nil
}

type exitedError struct{ err error }

func (e *exitedError) Error() string { return fmt.Sprintf("server exited during startup: %v", e.err) }

// waitReady polls ListBuckets (with a client that does not retry), then
// extra if not nil, until both succeed, the process exits, or timeout.
func waitReady(probe *minio.Client, extra func(context.Context) error, p *serverProc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(readyPoll)
	defer ticker.Stop()
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		go func() { // abandon the request as soon as the process exits
			select {
			case <-p.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		_, err := probe.ListBuckets(ctx)
		if err == nil && extra != nil {
			err = extra(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		lastErr = err
		select {
		case <-p.done:
			return &exitedError{p.waitErr}
		case <-ticker.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: last error: %v", timeout, lastErr)
		}
	}
}

// serverBaseEnv is the environment for a server process: ours without any
// variable that could change the server's configuration.
func serverBaseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "MINIO_"), strings.HasPrefix(name, "VGW_"),
			strings.HasPrefix(name, "ROOT_"), strings.HasPrefix(name, "AWS_"),
			name == "LOGFILE", name == "WEBHOOK",
			// SeaweedFS: WEED_* set any configuration key; S3_BUCKET,
			// S3_TABLE_BUCKET and S3_EXTERNAL_URL stand in for flags.
			strings.HasPrefix(name, "WEED_"), strings.HasPrefix(name, "S3_"):
			continue
		}
		env = append(env, kv)
	}
	return env
}

// newTransport returns an HTTP transport with no proxy that trusts caFile (in
// addition to the system roots) when caFile is not empty.
func newTransport(caFile string) (*http.Transport, error) {
	tr, err := minio.DefaultTransport(true)
	if err != nil {
		return nil, err
	}
	tr.Proxy = nil
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate found in %s", caFile)
		}
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	return tr, nil
}

// newMinioClient returns a minio-go client for endpoint (http:// or https://).
func newMinioClient(endpoint, access, secret, region, caFile string) (*minio.Client, error) {
	return newMinioClientRetries(endpoint, access, secret, region, caFile, 0)
}

// newMinioClientRetries is newMinioClient with minio-go's MaxRetries (0: its
// default; 1: no retry).
func newMinioClientRetries(endpoint, access, secret, region, caFile string, maxRetries int) (*minio.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("bad endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("bad endpoint %q: want http://HOST[:PORT] or https://HOST[:PORT]", endpoint)
	}
	tr, err := newTransport(caFile)
	if err != nil {
		return nil, err
	}
	return minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(access, secret, ""),
		Secure:       u.Scheme == "https",
		Transport:    tr,
		Region:       region,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   maxRetries,
	})
}

// Running servers, for cleanup at exit and on signals.
var (
	serversMu sync.Mutex
	running   = map[*Server]bool{}
)

func registerServer(s *Server) {
	serversMu.Lock()
	running[s] = true
	serversMu.Unlock()
}

func unregisterServer(s *Server) {
	serversMu.Lock()
	delete(running, s)
	serversMu.Unlock()
}

// StopAll stops every server this test process started and removes their
// temporary directories. Main calls it; it is exported for test binaries that
// start servers without Main.
func StopAll() {
	serversMu.Lock()
	list := make([]*Server, 0, len(running))
	for s := range running {
		list = append(list, s)
	}
	serversMu.Unlock()
	var wg sync.WaitGroup
	for _, s := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Stop()
		}()
	}
	wg.Wait()
}
