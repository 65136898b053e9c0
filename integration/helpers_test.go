package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3up/s3up/integration/s3test"
)

// s3upRun runs the s3up binary against srv and returns its result.
func s3upRun(t *testing.T, srv *s3test.Server, args ...string) s3test.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return s3test.RunCLI(t, ctx, srv.Env(), args...)
}

// mustPut runs a put that must succeed.
func mustPut(t *testing.T, srv *s3test.Server, args ...string) s3test.Result {
	t.Helper()
	res := s3upRun(t, srv, append([]string{"put"}, args...)...)
	if res.ExitCode != 0 {
		t.Fatalf("s3up put %v: %s", args, res)
	}
	return res
}

// jsonEvents parses --json output: one object per line, nothing else.
func jsonEvents(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	var evs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %q (%v)", line, err)
		}
		if _, ok := m["event"]; !ok {
			t.Fatalf("JSON line without event: %q", line)
		}
		evs = append(evs, m)
	}
	return evs
}

// findEvent returns the first event with that name, or nil.
func findEvent(evs []map[string]any, name string) map[string]any {
	for _, e := range evs {
		if e["event"] == name {
			return e
		}
	}
	return nil
}

func countEvents(evs []map[string]any, name string) int {
	n := 0
	for _, e := range evs {
		if e["event"] == name {
			n++
		}
	}
	return n
}

// sidecars lists the resume state files (and locks, and stray temporary
// files) of src, in the server's state directory and next to src where
// older versions kept them.
func sidecars(t *testing.T, srv *s3test.Server, src string) []string {
	t.Helper()
	abs, err := filepath.Abs(src)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, pattern := range []string{
		filepath.Join(srv.StateDir(), filepath.Base(abs)+"-*.s3up*"),
		filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".s3up-*"),
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	return out
}

// sidecarFile returns the single journal (not the lock) of src.
func sidecarFile(t *testing.T, srv *s3test.Server, src string) string {
	t.Helper()
	var out []string
	for _, p := range sidecars(t, srv, src) {
		if !strings.HasSuffix(p, ".lock") && !strings.HasSuffix(p, ".tmp") {
			out = append(out, p)
		}
	}
	if len(out) != 1 {
		t.Fatalf("want one journal of %s, have %v", src, out)
	}
	return out[0]
}

// sidecarLines returns the journal's lines.
func sidecarLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// oneLine asserts that stderr holds exactly one error line naming want.
func oneErrorLine(t *testing.T, res s3test.Result, want string) {
	t.Helper()
	var errs []string
	for _, l := range strings.Split(strings.TrimSpace(res.Stderr), "\n") {
		if strings.HasPrefix(l, "s3up: error:") {
			errs = append(errs, l)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("want exactly one error line, got %d: %s", len(errs), res)
	}
	if !strings.Contains(strings.ToLower(errs[0]), strings.ToLower(want)) {
		t.Fatalf("error line %q does not mention %q", errs[0], want)
	}
	if strings.Contains(res.Stderr, "panic") || strings.Contains(res.Stderr, "goroutine ") {
		t.Fatalf("panic output: %s", res)
	}
}
