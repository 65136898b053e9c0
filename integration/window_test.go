package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/s3up/s3up/integration/s3test"
)

// Windows (issue 25). The rates and windows are chosen so that a window
// ends with most of the upload still to send even on a loaded machine,
// and the assertions are on outcomes (exit codes, objects, events), not on
// durations.

// windowStop is the window_stop record of --json output.
func windowStop(t *testing.T, res s3test.Result) map[string]any {
	t.Helper()
	if res.ExitCode != 5 {
		t.Fatalf("want exit 5 (stopped at its window): %s", res)
	}
	ev := findEvent(jsonEvents(t, res.Stdout), "window_stop")
	if ev == nil || ev["exit_code"] != float64(5) {
		t.Fatalf("no window_stop record with exit_code 5: %s", res.Stdout)
	}
	return ev
}

// hcServer is a Healthchecks stand-in recording the pings it gets.
type hcServer struct {
	mu     sync.Mutex
	paths  []string
	bodies []string
	url    string
}

func newHC(t *testing.T) *hcServer {
	hc := &hcServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hc.mu.Lock()
		hc.paths = append(hc.paths, r.URL.Path)
		hc.bodies = append(hc.bodies, string(b))
		hc.mu.Unlock()
		io.WriteString(w, "OK")
	}))
	t.Cleanup(srv.Close)
	hc.url = srv.URL + "/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"
	return hc
}

func (hc *hcServer) got() ([]string, []string) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	return append([]string(nil), hc.paths...), append([]string(nil), hc.bodies...)
}

// TestWindowFileOverSeveralRuns: a file bigger than one window stops with
// exit 5 (window_stop, metrics with the progress ratio, the check-in a
// success when it made progress), status shows the progress, further
// windowed runs continue it, and a run without a window completes it,
// byte-identical, having sent at most 1.25 times its size. A dead ping
// server changes neither the exit code nor the object.
func TestWindowFileOverSeveralRuns(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		dir := t.TempDir()
		const size = 30 * MiB // 6 parts; at 4 MiB/s, 7.5 s: far more than a 2 s window
		src := s3test.MakeFile(t, dir, size, s3test.Seed(t))
		dst := "s3://" + bucket + "/night.bin"
		metrics := filepath.Join(dir, "s3up.prom")
		hc := newHC(t)
		common := []string{"put", "--json", "--part-size", "5MiB", "--concurrency", "1", "--metrics-file", metrics}
		window := []string{"--bwlimit", "4MiB/s", "--max-duration", "2s"}

		var sent float64
		args := append(append(append([]string{}, common...), window...), "--ping-url", hc.url, src, dst)
		res := s3upRun(t, srv, args...)
		ev := windowStop(t, res)
		sent += ev["bytes_sent"].(float64)
		if done := ev["bytes_done"].(float64); done >= size || ev["bytes_total"] != float64(size) || ev["parts_total"] != float64(6) {
			t.Fatalf("window_stop %v: want progress short of %d bytes in 6 parts", ev, size)
		}
		if !strings.Contains(res.Stdout, "rerun the same command to continue") {
			t.Errorf("the window stop does not say to rerun: %s", res.Stdout)
		}
		m := readMetrics(t, metrics, dst)
		if m["s3up_last_run_exit_code"] != 5 {
			t.Errorf("metrics exit code %v, want 5", m["s3up_last_run_exit_code"])
		}
		if r, ok := m["s3up_last_run_progress_ratio"]; !ok || r < 0 || r >= 1 || r != ev["progress_ratio"] {
			t.Errorf("metrics progress ratio %v (%v), want the window stop's %v", r, ok, ev["progress_ratio"])
		}
		paths, bodies := hc.got()
		if len(paths) != 2 || !strings.HasSuffix(paths[0], "/start") || !strings.Contains(bodies[1], "s3up: exit 5") {
			t.Fatalf("pings %v %q, want /start then the end with the summary", paths, bodies)
		}
		if progressed := sent > 0; progressed == strings.HasSuffix(paths[1], "/fail") {
			t.Errorf("end ping %s after sending %v bytes: a window stop with progress is a success, without one a failure", paths[1], sent)
		}

		// status shows the progress across runs.
		st := opsStatus(t, srv, src, dst)
		if !st.HasState || st.Upload == nil || !st.Upload.OnServer || (ev["bytes_done"].(float64) > 0) != (st.Upload.BytesDone > 0) {
			t.Fatalf("status %+v, want the state and the upload with the %v bytes on the server", st, ev["bytes_done"])
		}

		// The next night: its check-ins go to a dead server, which changes
		// nothing but a warning.
		args = append(append(append([]string{}, common...), window...), "--ping-url", closedURL(t), src, dst)
		res = s3upRun(t, srv, args...)
		if res.ExitCode != 0 {
			sent += windowStop(t, res)["bytes_sent"].(float64)
		}
		if !strings.Contains(res.Stdout, `"event":"warning"`) || !strings.Contains(res.Stdout, "check-in") {
			t.Errorf("no warning about the dead ping server: %s", res.Stdout)
		}
		if strings.Contains(res.Stdout+res.Stderr, "5bf66975-d4c7") {
			t.Errorf("the ping URL's check was printed: %s", res)
		}
		// The last night has no window.
		if res.ExitCode != 0 {
			res = s3upRun(t, srv, append(append([]string{}, common...), src, dst)...)
			if res.ExitCode != 0 {
				t.Fatalf("the run without a window: %s", res)
			}
		}
		result := findEvent(jsonEvents(t, res.Stdout), "result")
		if result == nil || result["resumed"] != true {
			t.Fatalf("the last run did not resume: %s", res.Stdout)
		}
		sent += result["bytes_sent"].(float64)
		if sent > 1.25*size {
			t.Errorf("sent %v bytes over the runs for a %d-byte file, more than 1.25 times", sent, size)
		}
		srv.AssertObjectMatchesFile(t, bucket, "night.bin", src)
		if m := readMetrics(t, metrics, dst); m["s3up_last_run_exit_code"] != 0 || m["s3up_last_run_progress_ratio"] != 1 {
			t.Errorf("metrics after completion: exit %v, ratio %v", m["s3up_last_run_exit_code"], m["s3up_last_run_progress_ratio"])
		}
	})
}

// closedURL is a loopback URL where nothing listens.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"
}

// TestWindowStopAtHardAndTree: --stop-at with --cutoff-mode hard ends a
// file's run with exit 5 and a rerun completes it; a tree stops starting
// files at its window and the next run finishes it.
func TestWindowStopAtHardAndTree(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		dir := t.TempDir()
		seed := s3test.Seed(t)

		t.Run("stop-at-hard", func(t *testing.T) {
			src := s3test.MakeFile(t, dir, 20*MiB, seed)
			dst := "s3://" + bucket + "/hard.bin"
			stopAt := time.Now().Add(3 * time.Second).Format("15:04:05") // 20 MiB at 2 MiB/s: 10 s
			res := s3upRun(t, srv, "put", "--json", "--part-size", "5MiB", "--concurrency", "2", "--bwlimit", "2MiB/s",
				"--stop-at", stopAt, "--cutoff-mode", "hard", src, dst)
			if ev := windowStop(t, res); ev["bytes_done"].(float64) >= 20*MiB {
				t.Fatalf("window_stop %v: all of it was sent", ev)
			}
			mustPut(t, srv, "--part-size", "5MiB", src, dst)
			srv.AssertObjectMatchesFile(t, bucket, "hard.bin", src)
		})

		t.Run("tree", func(t *testing.T) {
			root := filepath.Join(dir, "tree")
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			files := map[string]string{}
			for i := range 6 { // 12 MiB at 2 MiB/s, one file at a time: 6 s
				p := s3test.MakeFile(t, root, 2*MiB, seed+uint64(i))
				files[filepath.Base(p)] = p
			}
			dst := "s3://" + bucket + "/tree/"
			res := s3upRun(t, srv, "put", "--json", "-r", "--concurrency", "1", "--bwlimit", "2MiB/s", "--max-duration", "2s", root, dst)
			ev := windowStop(t, res)
			if ev["files_total"] != float64(6) || ev["files_done"].(float64) >= 6 {
				t.Fatalf("window_stop %v: want some of 6 files left", ev)
			}
			mustPut(t, srv, "-r", root, dst)
			got := listKeys(t, srv, bucket, "tree/")
			if len(got) != 6 {
				t.Fatalf("the prefix holds %v, want the 6 files", got)
			}
			for name, p := range files {
				srv.AssertObjectMatchesFile(t, bucket, "tree/"+name, p)
			}
		})
	})
}

// TestWindowTimetableChangesRate: a timetable whose limit turns off a few
// seconds into the run, on the real clock: a file that would take over a
// minute at the first rate completes soon after the change.
func TestWindowTimetableChangesRate(t *testing.T) {
	s3test.ForEach(t, func(t *testing.T, srv *s3test.Server) {
		bucket := srv.NewBucket(t)
		src := s3test.MakeFile(t, t.TempDir(), 16*MiB, s3test.Seed(t)) // at 256 KiB/s: 64 s
		now := time.Now()
		tt := fmt.Sprintf("%s,256k %s,off", now.Add(-time.Second).Format("15:04:05"), now.Add(3*time.Second).Format("15:04:05"))
		// Within a 40 s window, which the first rate alone could never do.
		mustPut(t, srv, "--part-size", "5MiB", "--concurrency", "2", "--bwlimit", tt, "--max-duration", "40s", src, "s3://"+bucket+"/tt.bin")
		srv.AssertObjectMatchesFile(t, bucket, "tt.bin", src)
	})
}
