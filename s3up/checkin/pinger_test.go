package checkin

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

const uuid = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"

// secrets are the parts of the test URLs no message may show.
var secrets = []string{uuid, "s3cr3t", "hunter2", "qv4lue"}

func noSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			t.Errorf("%s shows %q: %s", what, sec, s)
		}
	}
}

// ping is one request a test server saw.
type ping struct {
	method, path, query, contentType, userAgent, body string
}

// recorder is a Healthchecks stand-in: it records pings and answers with
// the codes in answers, one per request, then 200.
type recorder struct {
	mu      sync.Mutex
	pings   []ping
	answers []int
	hold    func(r *http.Request) // runs before answering, if set
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if rec.hold != nil {
		rec.hold(r)
	}
	rec.mu.Lock()
	rec.pings = append(rec.pings, ping{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), string(body)})
	code := http.StatusOK
	if len(rec.answers) > 0 {
		code, rec.answers = rec.answers[0], rec.answers[1:]
	}
	rec.mu.Unlock()
	w.WriteHeader(code)
	io.WriteString(w, http.StatusText(code))
}

func (rec *recorder) seen() []ping {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]ping(nil), rec.pings...)
}

func serve(t *testing.T, rec *recorder) string {
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv.URL
}

var ridRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestPingsPathsMethodsBodies: /start, success and /fail, each a POST of
// text/plain to the right path, the URL's query kept after the suffix,
// one run ID on all three.
func TestPingsPathsMethodsBodies(t *testing.T) {
	rec := &recorder{}
	for _, base := range []string{"/ping/" + uuid + "?tag=qv4lue", "/ping/" + uuid + "/?tag=qv4lue"} {
		rec.mu.Lock()
		rec.pings = nil
		rec.mu.Unlock()
		p, err := New(serve(t, rec)+base, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.Success(ctx, "s3up: exit 0: done\n"); err != nil {
			t.Fatal(err)
		}
		if err := p.Fail(ctx, "s3up: exit 1\nerror: upload part 17: connection reset\n"); err != nil {
			t.Fatal(err)
		}
		got := rec.seen()
		if len(got) != 3 {
			t.Fatalf("%s: %d pings, want 3", base, len(got))
		}
		if !ridRE.MatchString(p.RunID()) {
			t.Fatalf("run ID %q is not a canonical lower-case UUID v4", p.RunID())
		}
		for i, want := range []ping{
			{"POST", "/ping/" + uuid + "/start", "tag=qv4lue&rid=" + p.RunID(), "text/plain; charset=utf-8", "s3up", ""},
			{"POST", "/ping/" + uuid, "tag=qv4lue&rid=" + p.RunID(), "text/plain; charset=utf-8", "s3up", "s3up: exit 0: done\n"},
			{"POST", "/ping/" + uuid + "/fail", "tag=qv4lue&rid=" + p.RunID(), "text/plain; charset=utf-8", "s3up", "s3up: exit 1\nerror: upload part 17: connection reset\n"},
		} {
			if got[i] != want {
				t.Errorf("%s: ping %d\n got %+v\nwant %+v", base, i, got[i], want)
			}
		}
	}
}

// TestRunID: a rid in the URL is the run's, not doubled; NoRunID sends
// none; two Pingers have two.
func TestRunID(t *testing.T) {
	rec := &recorder{}
	url := serve(t, rec)
	p, _ := New(url+"/"+uuid+"?rid=0e3f4bd2-6a4b-4c7f-9d39-3c1bcfc8f0d2", Options{})
	p.Start(t.Context())
	q, _ := New(url+"/"+uuid, Options{NoRunID: true})
	q.Start(t.Context())
	a, _ := New(url+"/"+uuid, Options{})
	b, _ := New(url+"/"+uuid, Options{})
	got := rec.seen()
	if got[0].query != "rid=0e3f4bd2-6a4b-4c7f-9d39-3c1bcfc8f0d2" || p.RunID() != "0e3f4bd2-6a4b-4c7f-9d39-3c1bcfc8f0d2" {
		t.Errorf("the URL's rid: query %q, RunID %q", got[0].query, p.RunID())
	}
	if got[1].query != "" || q.RunID() != "" {
		t.Errorf("NoRunID: query %q", got[1].query)
	}
	if a.RunID() == b.RunID() {
		t.Error("two Pingers share a run ID")
	}
}

func TestBodyTruncated(t *testing.T) {
	rec := &recorder{}
	p, _ := New(serve(t, rec)+"/"+uuid, Options{})
	exact := strings.Repeat("x", MaxBody)
	long := strings.Repeat("é", MaxBody) // 2 bytes each
	for _, body := range []string{exact, exact + "y", long} {
		if err := p.Success(t.Context(), body); err != nil {
			t.Fatal(err)
		}
	}
	got := rec.seen()
	if got[0].body != exact {
		t.Errorf("a body of exactly %d bytes was changed (%d bytes)", MaxBody, len(got[0].body))
	}
	for _, g := range got[1:] {
		if len(g.body) > MaxBody || !strings.HasSuffix(g.body, truncated) || !utf8.ValidString(g.body) {
			t.Errorf("a long body arrived as %d bytes, marker %v, valid UTF-8 %v", len(g.body), strings.HasSuffix(g.body, truncated), utf8.ValidString(g.body))
		}
	}
	if got[2].body != strings.Repeat("é", (MaxBody-len(truncated))/2)+truncated {
		t.Error("the UTF-8 body was not cut at the last whole character")
	}
	for _, max := range []int{0, 5} {
		if s := truncate("a long body", max); len(s) > max {
			t.Errorf("truncate to %d: %q", max, s)
		}
	}
}

// TestRetryThenSuccess: 503, 429 and 500 are retried, with the same
// body, until the monitor answers 200.
func TestRetryThenSuccess(t *testing.T) {
	rec := &recorder{answers: []int{503, 429, 500}}
	p, _ := New(serve(t, rec)+"/"+uuid, Options{Backoff: time.Millisecond})
	if err := p.Success(t.Context(), "done"); err != nil {
		t.Fatalf("Success after three transient answers: %v", err)
	}
	got := rec.seen()
	if len(got) != 4 {
		t.Fatalf("%d attempts, want 4", len(got))
	}
	for _, g := range got {
		if g.body != "done" || g.path != "/"+uuid {
			t.Errorf("attempt %+v", g)
		}
	}
}

// TestPermanentAnswerNotRetried: 404 (an unknown check) and 400 are
// answers, not outages: one attempt, an error naming the code.
func TestPermanentAnswerNotRetried(t *testing.T) {
	for _, code := range []int{404, 400, 409} {
		rec := &recorder{answers: []int{code}}
		p, _ := New(serve(t, rec)+"/"+uuid, Options{Backoff: time.Millisecond})
		err := p.Fail(t.Context(), "x")
		var e *Error
		if !errors.As(err, &e) || e.Attempts != 1 || !strings.Contains(err.Error(), http.StatusText(code)) || e.Signal != "fail" {
			t.Errorf("%d: %v", code, err)
		}
		if n := len(rec.seen()); n != 1 {
			t.Errorf("%d: %d attempts", code, n)
		}
		noSecrets(t, "the error", err.Error())
	}
}

// deadURL is a URL at which nothing listens: connection refused.
func deadURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://user:hunter2@" + addr + "/ping/" + uuid + "?k=qv4lue"
}

// TestDeadServer: connection refused is retried, and the ping gives up
// within its bound with an error that shows no secret.
func TestDeadServer(t *testing.T) {
	const total = 400 * time.Millisecond
	p, err := New(deadURL(t), Options{Total: total, Backoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = p.Start(t.Context())
	took := time.Since(start)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Start to a dead server: %v", err)
	}
	if took > total+time.Second {
		t.Errorf("gave up after %s, bound %s", took, total)
	}
	if e.Attempts < 3 {
		t.Errorf("%d attempts in %s: connection refused was not retried", e.Attempts, total)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("the error does not unwrap to ECONNREFUSED: %v", err)
	}
	if !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "check-in start to http://127.0.0.1:") {
		t.Errorf("error %q", err)
	}
	noSecrets(t, "the error", err.Error())
	t.Log(err)
}

// TestDeadServerDefaultBound: with the default options, a dead server
// costs at most about 10 s.
func TestDeadServerDefaultBound(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 10 s")
	}
	p, _ := New(deadURL(t), Options{})
	start := time.Now()
	err := p.Fail(t.Context(), "x")
	if took := time.Since(start); err == nil || took > DefaultTotal+time.Second {
		t.Fatalf("Fail to a dead server: %v after %s", err, took)
	}
	t.Log(err)
}

// TestHangingServer: a monitor that accepts and never answers costs one
// attempt timeout per attempt, and the ping still ends within Total.
func TestHangingServer(t *testing.T) {
	rec := &recorder{hold: func(r *http.Request) { <-r.Context().Done() }}
	p, _ := New(serve(t, rec)+"/"+uuid, Options{Total: 600 * time.Millisecond, AttemptTimeout: 150 * time.Millisecond, Backoff: 10 * time.Millisecond})
	start := time.Now()
	err := p.Success(t.Context(), "x")
	var e *Error
	if !errors.As(err, &e) || e.Attempts < 2 {
		t.Fatalf("Success to a hanging server: %v", err)
	}
	if took := time.Since(start); took > 600*time.Millisecond+time.Second {
		t.Errorf("took %s", took)
	}
	if !strings.Contains(err.Error(), "no answer") {
		t.Errorf("error %q", err)
	}
	noSecrets(t, "the error", err.Error())
}

// TestCallerCancels: a cancelled context ends the ping at once.
func TestCallerCancels(t *testing.T) {
	p, _ := New(deadURL(t), Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	if err := p.Start(ctx); err == nil || time.Since(start) > time.Second {
		t.Fatalf("Start with a cancelled context: %v after %s", err, time.Since(start))
	}
}

// TestOnePingAtATime: an end ping does not reach the monitor while the
// start ping is still on its way. The start's handler waits for a
// success to arrive while it holds the start; none may, and it gives up
// after a moment.
func TestOnePingAtATime(t *testing.T) {
	startIn := make(chan struct{})
	overtaken := make(chan struct{}, 1)
	rec := &recorder{}
	rec.hold = func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/start") {
			close(startIn)
			select {
			case <-overtaken:
				t.Error("the success ping reached the monitor before the start ping was answered")
			case <-time.After(200 * time.Millisecond):
			}
			return
		}
		select {
		case <-startIn:
		default:
			t.Error("the success ping came first")
		}
		select {
		case overtaken <- struct{}{}:
		default:
		}
	}
	p, _ := New(serve(t, rec)+"/"+uuid, Options{})
	done := make(chan error, 1)
	go func() { done <- p.Start(t.Context()) }()
	<-startIn
	if err := p.Success(t.Context(), "done"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := rec.seen(); len(got) != 2 || !strings.HasSuffix(got[0].path, "/start") {
		t.Fatalf("pings %+v", got)
	}
}

func TestNilPinger(t *testing.T) {
	var p *Pinger
	if p.Start(t.Context()) != nil || p.Success(t.Context(), "x") != nil || p.Fail(t.Context(), "x") != nil ||
		p.Finish(t.Context(), Summary{ExitCode: 1}) != nil || p.Redacted() != "" || p.RunID() != "" {
		t.Fatal("a nil Pinger did something")
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ftp://user:s3cr3t@hc.example/" + uuid, "want an http or https URL"},
		{"hc-ping.com/" + uuid, "want an http or https URL"},
		{"https:///" + uuid, "has no host"},
		{"https://hc.example/" + uuid + "\x7f", "is not a URL"},
		{"https://user:s3cr3t@[::1/" + uuid, "is not a URL"},
	} {
		_, err := New(tc.in, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q) = %v, want an error containing %q", tc.in, err, tc.want)
			continue
		}
		noSecrets(t, "New's error", err.Error())
	}
}

func TestDefaultClientUsesEnvironmentProxy(t *testing.T) {
	p, _ := New("https://hc-ping.com/"+uuid, Options{})
	tr, ok := p.client.Transport.(*http.Transport)
	if !ok || tr.Proxy == nil {
		t.Fatal("the default client does not take proxies from the environment")
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://hc-ping.com/" + uuid, "https://hc-ping.com/…a278"},
		{"https://hc-ping.com/" + uuid + "/", "https://hc-ping.com/…a278"},
		{"https://user:hunter2@hc.example:8443/ping/" + uuid + "?rid=abc&k=qv4lue", "https://hc.example:8443/…a278?rid=…&k=…"},
		{"https://hc-ping.com/fqOOd6-F4MMNuCEnzs3cr3t/db-backup", "https://hc-ping.com/…ckup"},
		{"https://hc.example/s3cr3t", "https://hc.example/…"},
		{"https://hc.example", "https://hc.example"},
		{"https://hc.example/" + uuid + "#qv4lue", "https://hc.example/…a278"},
		{"http://[::1/" + uuid, "(a ping URL that does not parse)"},
		{"hc-ping.com/" + uuid, "(a ping URL that does not parse)"},
	} {
		got := Redact(tc.in)
		if got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
		noSecrets(t, "Redact", got)
	}
	p, _ := New("https://user:hunter2@hc-ping.com/"+uuid, Options{})
	if p.Redacted() != "https://hc-ping.com/…a278" {
		t.Errorf("Redacted() = %q", p.Redacted())
	}
}
