package integration

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3up/s3up/integration/s3test"
)

// TestRefusedEndpoint: a put to an endpoint where nothing listens says
// within 3 s that it is retrying and why, and its last line names the
// endpoint, the cause in plain words and what to check, without the SDK's
// URL soup; --json has a retry record and the same message.
func TestRefusedEndpoint(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		endpoint := "http://" + l.Addr().String()
		l.Close() // nothing listens there now: connections are refused
		env := append(srv.Env(), "AWS_ENDPOINT_URL_S3="+endpoint)
		src := filepath.Join(t.TempDir(), "small.txt")
		if err := os.WriteFile(src, []byte("hello"), 0o644); err != nil {
			t.Fatal(err)
		}
		dst := "s3://bucket/small.txt"
		wantLast := "cannot connect to " + endpoint + ": connection refused; check --endpoint / AWS_ENDPOINT_URL_S3"

		start := time.Now()
		p := s3test.StartCLI(t, env, "put", "--retries", "3", src, dst)
		var seen time.Duration
		s3test.Eventually(t, 10*time.Second, 5*time.Millisecond, func() (bool, string) {
			if strings.Contains(p.Stderr(), "s3up: retrying ") {
				seen = time.Since(start)
				return true, ""
			}
			select {
			case <-p.Done():
				t.Fatalf("ended without a retry line: %s", p.Wait())
			default:
			}
			return false, "waiting for a retry line"
		})
		if seen > 3*time.Second {
			t.Errorf("the first retry line came %v after the start, want within 3s", seen)
		}
		res := p.Wait()
		if res.ExitCode != 1 {
			t.Errorf("exit %d, want 1 (resumable: a rerun may reach the store): %s", res.ExitCode, res)
		}
		lines := strings.Split(strings.TrimRight(res.Stderr, "\n"), "\n")
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "s3up: error: ") || !strings.Contains(last, wantLast) {
			t.Errorf("last line %q, want one naming %q", last, wantLast)
		}
		for _, soup := range []string{"dial tcp", "Post \"", "?uploads", "operation error", "/bucket/"} {
			if strings.Contains(last, soup) {
				t.Errorf("last line %q shows %q", last, soup)
			}
		}
		retry := ""
		for _, l := range lines {
			if strings.HasPrefix(l, "s3up: retrying ") {
				retry = l
				break
			}
		}
		if !strings.Contains(retry, "(attempt 2 of 4): connection refused") {
			t.Errorf("retry line %q", retry)
		}

		res = s3upRun(t, srv, "put", "--json", "--retries", "3", "--endpoint", endpoint, src, dst)
		evs := jsonEvents(t, res.Stdout)
		r := findEvent(evs, "retry")
		if r == nil || r["attempt"] != float64(2) || r["max_attempts"] != float64(4) || r["cause"] != "connection refused" ||
			r["operation"] == "" || r["delay_seconds"] == nil {
			t.Errorf("retry record %v in %s", r, res.Stdout)
		}
		if last := evs[len(evs)-1]; last["event"] != "error" || !strings.Contains(fmt.Sprint(last["message"]), wantLast) {
			t.Errorf("last record %v, want an error naming %q", last, wantLast)
		}
	})
}
