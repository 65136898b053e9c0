// Package s3test is the integration-test harness of s3up: it starts real
// S3-compatible servers (MinIO, versitygw and SeaweedFS, built from pinned
// versions and cached in ${S3UP_CACHE_DIR:-$HOME/.cache/s3up}/bin), or points at an external
// endpoint, and offers helpers to verify objects independently of s3up (with
// minio-go) and to run the s3up command line against a server.
//
// Typical use:
//
//	func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }
//
//	func TestPut(t *testing.T) {
//		s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
//			bucket := srv.NewBucket(t)
//			src := s3test.MakeFile(t, t.TempDir(), 20<<20, s3test.Seed(t))
//			res := s3test.RunCLI(t, t.Context(), srv.Env(), "put", src, "s3://"+bucket+"/k")
//			...
//			srv.AssertObjectMatchesFile(t, bucket, "k", src)
//		})
//	}
//
// Environment:
//
//	S3UP_TEST_SERVERS        comma list of servers to start: minio, versitygw, seaweedfs (default "minio,versitygw")
//	S3UP_TEST_ENDPOINT       use only an external server at this URL (http:// or https://)
//	S3UP_TEST_ACCESS_KEY     its access key (default $AWS_ACCESS_KEY_ID)
//	S3UP_TEST_SECRET_KEY     its secret key (default $AWS_SECRET_ACCESS_KEY)
//	S3UP_TEST_REGION         its region (default us-east-1)
//	S3UP_TEST_DISALLOW_SKIP  "1": a requested server that cannot start fails the run instead of being skipped
//	S3UP_TEST_SEED           seed for Seed (default: random, always logged)
//	S3UP_TEST_CLI_BINARY     use this s3up binary instead of building ./cmd/s3up
//	S3UP_CACHE_DIR           cache of server binaries (default $HOME/.cache/s3up)
//	S3UP_MINIO_BINARY, S3UP_VERSITYGW_BINARY, S3UP_SEAWEEDFS_BINARY  use these server binaries instead of the cache
package s3test

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultServers is the server selection when S3UP_TEST_SERVERS is unset;
// any of Kinds may be added. scripts/test.sh and scripts/install-servers.sh
// read this line: keep it one line, `const DefaultServers = "..."`.
const DefaultServers = "minio,versitygw,seaweedfs"

type selected struct {
	name   string
	srv    *Server // nil if unavailable
	reason string  // why srv is nil
}

var (
	stateMu     sync.Mutex
	mainCalled  bool
	selection   []selected
	externalDir string
)

func disallowSkip() bool { return os.Getenv("S3UP_TEST_DISALLOW_SKIP") == "1" }

// Main is called from TestMain: it starts the selected servers, runs m.Run(),
// and stops every server (kills its process group, removes its temporary
// directory) even when tests fail or panic, then returns the exit code.
//
// Selection: S3UP_TEST_SERVERS (comma list of Kinds; default DefaultServers). If
// S3UP_TEST_ENDPOINT is set, only an "external" server is used, with
// credentials from S3UP_TEST_ACCESS_KEY/S3UP_TEST_SECRET_KEY (falling back to
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and region S3UP_TEST_REGION
// (default us-east-1).
//
// A requested server that cannot be installed or started is reported and its
// subtests in ForEach are skipped; with S3UP_TEST_DISALLOW_SKIP=1 Main fails
// the run instead (exit code 1, no test is run).
//
// SIGINT, SIGTERM and SIGHUP stop the servers before the process exits; on
// Linux the servers are also killed by the kernel if the test process dies
// (e.g. the panic of go test -timeout).
func Main(m *testing.M) (code int) {
	stateMu.Lock()
	if mainCalled {
		stateMu.Unlock()
		fmt.Fprintln(os.Stderr, "s3test.Main called twice")
		return 2
	}
	mainCalled = true
	stateMu.Unlock()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	stopSignals := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			fmt.Fprintf(os.Stderr, "s3test: got %v: stopping servers\n", sig)
			cleanupAll()
			s, _ := sig.(syscall.Signal)
			os.Exit(128 + int(s))
		case <-stopSignals:
		}
	}()
	defer func() {
		signal.Stop(sigs)
		close(stopSignals)
		cleanupAll()
	}()
	// A panicking test crashes the process without running deferred calls:
	// then the kernel kills the servers (Pdeathsig) and the next run's
	// sweepStaleDirs removes their directories.
	sweepStaleDirs()

	sel, err := startSelected()
	stateMu.Lock()
	selection = sel
	stateMu.Unlock()
	if err != nil {
		fmt.Fprintf(os.Stderr, "s3test: %v\n", err)
		return 1
	}
	code = m.Run()
	if code != 0 {
		for _, s := range sel {
			if s.srv != nil && s.srv.LogFile != "" {
				fmt.Fprintf(os.Stderr, "--- tail of %s log (%s) ---\n%s\n--- end of log ---\n",
					s.name, s.srv.LogFile, strings.TrimRight(tail([]byte(s.srv.LogTail()), 4<<10), "\n"))
			}
		}
	}
	return code
}

func cleanupAll() {
	StopAll()
	cleanupCLI()
	stateMu.Lock()
	d := externalDir
	externalDir = ""
	stateMu.Unlock()
	if d != "" {
		os.RemoveAll(d)
	}
}

// requestedServers parses S3UP_TEST_SERVERS.
func requestedServers() ([]string, error) {
	v := strings.TrimSpace(os.Getenv("S3UP_TEST_SERVERS"))
	if v == "" {
		v = DefaultServers
	}
	var names []string
	seen := map[string]bool{}
	for _, n := range strings.Split(v, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" || seen[n] {
			continue
		}
		if _, ok := binaries[n]; !ok {
			return nil, fmt.Errorf("S3UP_TEST_SERVERS=%q: unknown server %q (known: %s; "+
				"use S3UP_TEST_ENDPOINT for an external one)", v, n, knownKinds())
		}
		seen[n] = true
		names = append(names, n)
	}
	return names, nil
}

// startSelected starts the requested servers in parallel. The error is
// non-nil only for a bad configuration or, with S3UP_TEST_DISALLOW_SKIP=1, a
// server that did not start.
func startSelected() ([]selected, error) {
	if ep := os.Getenv("S3UP_TEST_ENDPOINT"); ep != "" {
		srv, err := externalServer(ep)
		if err != nil {
			if disallowSkip() {
				return nil, fmt.Errorf("external server: %v (S3UP_TEST_DISALLOW_SKIP=1)", err)
			}
			fmt.Fprintf(os.Stderr, "s3test: WARNING: external server unavailable, its tests will be skipped: %v\n", err)
			return []selected{{name: "external", reason: err.Error()}}, nil
		}
		fmt.Fprintf(os.Stderr, "s3test: using external server %s (region %s)\n", srv.Endpoint, srv.Region)
		return []selected{{name: "external", srv: srv}}, nil
	}
	names, err := requestedServers()
	if err != nil {
		return nil, err
	}
	sel := make([]selected, len(names))
	var wg sync.WaitGroup
	start := time.Now()
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv, err := startServer(n, false)
			sel[i] = selected{name: n, srv: srv}
			if err != nil {
				sel[i].reason = err.Error()
			}
		}()
	}
	wg.Wait()
	var failed []string
	for _, s := range sel {
		if s.srv != nil {
			fmt.Fprintf(os.Stderr, "s3test: %s ready at %s in %s\n", s.name, s.srv.Endpoint,
				s.srv.StartupTime.Round(time.Millisecond))
			continue
		}
		failed = append(failed, fmt.Sprintf("%s: %s", s.name, s.reason))
	}
	if len(names) > 1 {
		fmt.Fprintf(os.Stderr, "s3test: servers started in %s\n", time.Since(start).Round(time.Millisecond))
	}
	if len(failed) > 0 {
		if disallowSkip() {
			return nil, fmt.Errorf("S3UP_TEST_DISALLOW_SKIP=1 and requested servers did not start:\n%s",
				strings.Join(failed, "\n"))
		}
		fmt.Fprintf(os.Stderr, "s3test: WARNING: servers unavailable, their tests will be SKIPPED "+
			"(set S3UP_TEST_DISALLOW_SKIP=1 to fail instead):\n%s\n", strings.Join(failed, "\n"))
	}
	return sel, nil
}

func externalServer(endpoint string) (*Server, error) {
	access := firstEnv("S3UP_TEST_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
	secret := firstEnv("S3UP_TEST_SECRET_KEY", "AWS_SECRET_ACCESS_KEY")
	if access == "" || secret == "" {
		return nil, fmt.Errorf("S3UP_TEST_ENDPOINT=%s needs S3UP_TEST_ACCESS_KEY and S3UP_TEST_SECRET_KEY "+
			"(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", endpoint)
	}
	region := os.Getenv("S3UP_TEST_REGION")
	if region == "" {
		region = DefaultRegion
	}
	endpoint = strings.TrimRight(endpoint, "/")
	// The verification client trusts AWS_CA_BUNDLE too, as the CLI will.
	client, err := newMinioClient(endpoint, access, secret, region, os.Getenv("AWS_CA_BUNDLE"))
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "s3up-external-")
	if err != nil {
		return nil, err
	}
	stateMu.Lock()
	externalDir = dir
	stateMu.Unlock()
	return &Server{
		Name:      "external",
		Endpoint:  endpoint,
		AccessKey: access,
		SecretKey: secret,
		Region:    region,
		Minio:     client,
		envDir:    dir,
	}, nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// Servers returns the servers started by Main that are running, in selection
// order. It does not include unavailable servers nor servers from StartTLS.
func Servers() []*Server {
	stateMu.Lock()
	defer stateMu.Unlock()
	var out []*Server
	for _, s := range selection {
		if s.srv != nil {
			out = append(out, s.srv)
		}
	}
	return out
}

// ForEach runs fn as a subtest t.Run(srv.Name, ...) for each selected server,
// sequentially. The subtest of a server that could not be started is skipped
// with the reason (with S3UP_TEST_DISALLOW_SKIP=1 Main never gets that far).
func ForEach(t *testing.T, fn func(t *testing.T, srv *Server)) {
	t.Helper()
	stateMu.Lock()
	called := mainCalled
	sel := append([]selected(nil), selection...)
	stateMu.Unlock()
	if !called {
		t.Fatal("s3test.ForEach: s3test.Main was not called; add " +
			"`func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }` to the package's tests")
	}
	for _, s := range sel {
		t.Run(s.name, func(t *testing.T) {
			if s.srv == nil {
				if disallowSkip() {
					t.Fatalf("server %s unavailable: %s", s.name, s.reason)
				}
				t.Skipf("server %s unavailable: %s", s.name, s.reason)
			}
			if !s.srv.Alive() {
				t.Fatalf("server %s exited during the tests\n--- log ---\n%s", s.name, s.srv.LogTail())
			}
			fn(t, s.srv)
		})
	}
}
