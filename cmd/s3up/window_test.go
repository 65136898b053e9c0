package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/checkin"
	"github.com/s3up/s3up/s3up/schedule"
)

// TestWindowFlagErrors: a bad window, timetable or ping URL is exit 2 with
// one error line, before anything is sent.
func TestWindowFlagErrors(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "f.bin")
	os.WriteFile(src, []byte("x"), 0o644)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "top-secret-value-123")
	endpoint := closedPort(t)
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{args: []string{"--max-duration", "0"}, want: "--max-duration"},
		{args: []string{"--max-duration", "soon"}, want: "not a positive duration"},
		{args: []string{"--max-duration", "-5m"}, want: "--max-duration"},
		{args: []string{"--stop-at", "25:00"}, want: "--stop-at"},
		{args: []string{"--stop-at", "2020-01-01T06:00:00Z"}, want: "not in the future"},
		{args: []string{"--stop-at", "tomorrow"}, want: "--stop-at"},
		{args: []string{"--max-duration", "1h", "--cutoff-mode", "brutal"}, want: "choose soft or hard"},
		{args: []string{"--cutoff-mode", "hard"}, want: "add --max-duration or --stop-at"},
		{args: []string{"--bwlimit", "08:00,fast 19:00,off"}, want: "--bwlimit"},
		{args: []string{"--bwlimit", "25:00,1M"}, want: "--bwlimit"},
		{args: []string{"--ping-url", "ftp://hc.example/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"}, want: "--ping-url"},
		{env: "hc-ping.com/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278", want: "S3UP_PING_URL"},
	} {
		t.Setenv("S3UP_PING_URL", tc.env)
		args := append(append([]string{"put", "--endpoint", endpoint, "--retries", "0", "--state-dir", filepath.Join(dir, "state")}, tc.args...), src, "s3://bucket/k")
		code, stdout, stderr := runArgs(t, args...)
		if code != exitUsage {
			t.Errorf("%v %s: exit %d, want %d (stderr %q)", tc.args, tc.env, code, exitUsage, stderr)
			continue
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "s3up: error: ") || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%v %s: stderr %q, want one error line containing %q", tc.args, tc.env, stderr, tc.want)
		}
		if strings.Contains(stdout+stderr, "5bf66975-d4c7") {
			t.Errorf("%v: the ping URL's check was printed: %s", tc.args, stderr)
		}
	}
}

// parsed runs the put command line args through the real app and returns
// what parsePut made of it.
func parsed(t *testing.T, args ...string) *putArgs {
	t.Helper()
	var got *putArgs
	app := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	for _, c := range app.Commands {
		if c.Name == "put" {
			c.Action = func(c *cli.Context) error {
				var err error
				got, err = parsePut(c, &ruleList{})
				return err
			}
		}
	}
	if err := app.RunContext(context.Background(), append([]string{"s3up", "put"}, args...)); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestParseWindowOptions(t *testing.T) {
	before := time.Now()
	pa := parsed(t, "--max-duration", "90m", "--cutoff-mode", "HARD", "--bwlimit", "Mon-08:00,512k 08:00,1M 19:00,off", "a.tar", "s3://bkt/k")
	if d := pa.deadline.Sub(before); d < 90*time.Minute || d > 91*time.Minute {
		t.Errorf("deadline %v after the start, want 90m", d)
	}
	if pa.cutoff != schedule.Hard || pa.opts.Bandwidth == nil || pa.opts.BandwidthLimit != 0 {
		t.Errorf("cutoff %v, timetable %v, limit %d", pa.cutoff, pa.opts.Bandwidth, pa.opts.BandwidthLimit)
	}
	pa = parsed(t, "--stop-at", "06:00", "--max-duration", "1d", "--bwlimit", "20MiB/s", "a.tar", "s3://bkt/k")
	if d := pa.deadline.Sub(before); d <= 0 || d > 24*time.Hour || pa.deadline.Hour() != 6 || pa.deadline.Minute() != 0 {
		t.Errorf("--stop-at 06:00 gave %v", pa.deadline)
	}
	if pa.cutoff != schedule.Soft || pa.opts.Bandwidth != nil || pa.opts.BandwidthLimit != 20<<20 {
		t.Errorf("a plain rate: timetable %v, limit %d", pa.opts.Bandwidth, pa.opts.BandwidthLimit)
	}
	pa = parsed(t, "--bwlimit", "off", "a.tar", "s3://bkt/k")
	if pa.opts.Bandwidth != nil || pa.opts.BandwidthLimit != 0 || !pa.deadline.IsZero() {
		t.Errorf("--bwlimit off: %+v", pa.opts)
	}
}

// TestExitCodeOfAWindowStop: a run stopped at its window exits 5, however
// it is wrapped, and its line says how far it got and what to do.
func TestExitCodeOfAWindowStop(t *testing.T) {
	we := &s3up.WindowError{Bucket: "b", Key: "k", BytesDone: 1 << 30, BytesTotal: 4 << 30, PartsDone: 64, PartsTotal: 256, BytesSent: 1 << 30,
		Elapsed: 6 * time.Hour, Window: 6 * time.Hour, WindowsNeeded: 3, EstimateOK: true}
	for _, err := range []error{we, fmt.Errorf("upload: %w", we), schedule.ErrWindowEnded} {
		if code := exitCode(err); code != exitWindow {
			t.Errorf("%v: exit %d, want 5", err, code)
		}
	}
	msg := message(we)
	for _, want := range []string{"stopped at the end of its window", "1.0 GiB of 4.0 GiB (25.0%)", "64 of 256 parts", "progress is saved", "rerun the same command to continue", "about 3 more windows"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

// pings is a Healthchecks stand-in that records the pings it gets.
type pings struct {
	mu     sync.Mutex
	paths  []string
	bodies []string
	status int
}

func (p *pings) server(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.paths = append(p.paths, r.URL.Path)
		p.bodies = append(p.bodies, string(b))
		status := p.status
		p.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
		}
		io.WriteString(w, "OK")
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"
}

func (p *pings) got() ([]string, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...), append([]string(nil), p.bodies...)
}

// tinyS3 answers the requests a put of a small file sends with
// --verify=false: no object yet (HEAD 404), then a PutObject.
func tinyS3(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPut:
			b, _ := io.ReadAll(r.Body)
			sum := md5.Sum(b)
			w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		case http.MethodHead:
			w.WriteHeader(http.StatusNotFound)
		default:
			w.WriteHeader(http.StatusNotImplemented)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestPingOfARun: --ping-url checks in at the start and at the end: URL
// on success, URL/fail on a failure, with the summary as the body; a ping
// server that refuses changes neither the exit code nor more than a
// warning line.
func TestPingOfARun(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "f.bin")
	os.WriteFile(src, []byte("hello"), 0o644)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "top-secret-value-123")
	t.Setenv("AWS_REGION", "us-east-1")
	put := func(endpoint, ping string) (int, string) {
		code, _, stderr := runArgs(t, "put", "--endpoint", endpoint, "--retries", "1", "--verify=false", "--checksum", "none",
			"--state-dir", filepath.Join(dir, "state"), "--ping-url", ping, src, "s3://bucket/f.bin")
		return code, stderr
	}

	var ok pings
	code, stderr := put(tinyS3(t), ok.server(t))
	paths, bodies := ok.got()
	if code != exitOK || len(paths) != 2 || !strings.HasSuffix(paths[0], "/start") || strings.HasSuffix(paths[1], "/fail") || strings.HasSuffix(paths[1], "/start") {
		t.Fatalf("a successful run: exit %d, pings %v; stderr %s", code, paths, stderr)
	}
	if !strings.Contains(bodies[1], "s3up: exit 0") {
		t.Errorf("success body %q", bodies[1])
	}

	var fail pings
	code, stderr = put(closedPort(t), fail.server(t))
	paths, bodies = fail.got()
	if code != exitFailed || len(paths) != 2 || !strings.HasSuffix(paths[1], "/fail") {
		t.Fatalf("a failed run: exit %d, pings %v; stderr %s", code, paths, stderr)
	}
	if !strings.Contains(bodies[1], "s3up: exit 1") || !strings.Contains(bodies[1], "error: ") {
		t.Errorf("fail body %q", bodies[1])
	}

	refusing := pings{status: http.StatusNotFound} // not retried: the test needs no 10 s
	code, stderr = put(tinyS3(t), refusing.server(t))
	if code != exitOK {
		t.Fatalf("a refused ping changed the exit code to %d: %s", code, stderr)
	}
	if n := strings.Count(stderr, "s3up: warning: check-in"); n != 2 {
		t.Errorf("%d check-in warnings, want one per ping: %s", n, stderr)
	}
	if strings.Contains(stderr, "5bf66975-d4c7") {
		t.Errorf("the ping URL's check was printed: %s", stderr)
	}
}

// TestPingOfAWindowStop: a window stop that made progress is a success to
// the monitor, with the progress in the body; one that made none is a
// failure.
func TestPingOfAWindowStop(t *testing.T) {
	var hc pings
	p, err := checkin.New(hc.server(t), checkin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := newOutputTo(io.Discard, io.Discard, false, false)
	we := &s3up.WindowError{Bucket: "b", Key: "k", BytesDone: 300, BytesTotal: 1200, BytesSent: 200, PartsDone: 3, PartsTotal: 12}
	m := newMetricsFile("", "s3://b/k")
	m.file(nil, we)
	pingFinish(context.Background(), o, p, m, exitWindow, we)
	idle := newMetricsFile("", "s3://b/k")
	idle.file(nil, &s3up.WindowError{Bucket: "b", Key: "k", BytesDone: 300, BytesTotal: 1200})
	pingFinish(context.Background(), o, p, idle, exitWindow, we)
	paths, bodies := hc.got()
	if len(paths) != 2 || strings.HasSuffix(paths[0], "/fail") || !strings.HasSuffix(paths[1], "/fail") {
		t.Fatalf("pings %v, want success then /fail", paths)
	}
	for _, want := range []string{"s3up: exit 5", "progress: 300 B of 1.2 KiB (25.0%)", "stopped at the end of its window"} {
		if !strings.Contains(bodies[0], want) {
			t.Errorf("body %q lacks %q", bodies[0], want)
		}
	}
}
