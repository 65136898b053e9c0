package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s3up/s3up/integration/s3test"
)

// TestSignalsEverySource: every kind of put (a file, a stream, a tree)
// stopped by SIGINT exits 130, by SIGTERM 143; the notice names the signal
// it got and speaks of Ctrl-C only for SIGINT; the state is kept and a
// rerun completes the upload. (faults_test.go's TestSignals covers a file
// under SIGINT, twice, and SIGTERM.)
func TestSignalsEverySource(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		for _, tc := range []struct {
			name   string
			source string // file, stream, tree
			sig    syscall.Signal
			code   int
		}{
			{"tree-sigint", "tree", syscall.SIGINT, 130},
			{"tree-sigterm", "tree", syscall.SIGTERM, 143},
			{"stream-sigterm", "stream", syscall.SIGTERM, 143},
			{"file-sigterm", "file", syscall.SIGTERM, 143},
		} {
			t.Run(tc.name, func(t *testing.T) {
				seed := s3test.Seed(t)
				dir := t.TempDir()
				var args []string
				key := tc.name
				switch tc.source {
				case "file":
					src := s3test.MakeFile(t, dir, 40*MiB, seed)
					args = []string{src, "s3://" + bucket + "/" + key}
				case "stream":
					src := s3test.MakeFile(t, dir, 40*MiB, seed)
					args = []string{"--stdin-from-command", "s3://" + bucket + "/" + key, "--", "cat", src}
				case "tree":
					root := filepath.Join(dir, "tree")
					if err := os.MkdirAll(filepath.Join(root, "sub"), 0o755); err != nil {
						t.Fatal(err)
					}
					s3test.MakeFile(t, root, 40*MiB, seed)
					s3test.MakeFile(t, filepath.Join(root, "sub"), 10<<10, seed+1)
					key += "/"
					args = []string{"-r", root, "s3://" + bucket + "/" + key}
				}
				metrics := filepath.Join(dir, "s3up.prom")
				dest := args[len(args)-1]
				if tc.source == "stream" {
					dest = args[1]
				}
				put := append([]string{"put", "--json", "--part-size", "5MiB", "--concurrency", "2", "--bwlimit", "8MiB/s",
					"--metrics-file", metrics}, args...)
				p := s3test.StartCLI(t, srv.Env(), put...)
				s3test.Eventually(t, time.Minute, 5*time.Millisecond, func() (bool, string) {
					select {
					case <-p.Done():
						t.Fatalf("put ended before it could be interrupted: %s", p.Wait())
					default:
					}
					return sentSomething(p.Stdout()), "waiting for the first bytes to reach the server"
				})
				p.Signal(tc.sig)
				res := p.Wait()
				if res.ExitCode != tc.code {
					t.Fatalf("%v: want exit %d: %s", tc.sig, tc.code, res)
				}
				name := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[tc.sig]
				if !strings.Contains(res.Stderr, name) {
					t.Errorf("the notice does not name %s: %s", name, res)
				}
				if tc.sig != syscall.SIGINT && strings.Contains(res.Stderr+res.Stdout, "Ctrl-C") {
					t.Errorf("speaks of Ctrl-C after %s: %s", name, res)
				}
				last := lastEvent(t, res.Stdout)
				if last["event"] != "error" || last["exit_code"] != float64(tc.code) {
					t.Errorf("last JSON record %v, want an error with exit_code %d", last, tc.code)
				}
				if !strings.Contains(fmt.Sprint(last["message"]), name) {
					t.Errorf("the error record does not name %s: %v", name, last)
				}

				if m := readMetrics(t, metrics, dest); m["s3up_last_run_exit_code"] != float64(tc.code) {
					t.Errorf("the metrics file records exit code %v, want %d", m["s3up_last_run_exit_code"], tc.code)
				}

				// The state is kept: the same command completes the upload.
				res = s3upRun(t, srv, put...)
				if res.ExitCode != 0 {
					t.Fatalf("rerun: %s", res)
				}
				switch tc.source {
				case "file":
					if findEvent(jsonEvents(t, res.Stdout), "resumed") == nil {
						t.Errorf("the rerun did not resume: %s", res.Stdout)
					}
					srv.AssertObjectMatchesFile(t, bucket, key, args[0])
				case "stream":
					srv.AssertObjectMatchesFile(t, bucket, key, args[len(args)-1])
				case "tree":
					got := listKeys(t, srv, bucket, key)
					if len(got) != 2 {
						t.Errorf("after the rerun the prefix holds %v, want the tree's 2 files", got)
					}
				}
			})
		}
	})
}

// sentSomething reports whether --json output shows bytes on the server:
// a part acknowledged, or a progress record with bytes.
func sentSomething(stdout string) bool {
	if countParts(stdout) > 0 {
		return true
	}
	for _, l := range strings.Split(stdout, "\n") {
		if strings.Contains(l, `"event":"progress"`) && !strings.Contains(l, `"bytes":0,`) {
			return true
		}
	}
	return false
}

// lastEvent returns the last JSON record of stdout.
func lastEvent(t *testing.T, stdout string) map[string]any {
	t.Helper()
	evs := jsonEvents(t, stdout)
	if len(evs) == 0 {
		t.Fatalf("no JSON record in %q", stdout)
	}
	return evs[len(evs)-1]
}
