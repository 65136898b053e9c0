package checkin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultTotal          = 10 * time.Second
	DefaultAttemptTimeout = 5 * time.Second
	DefaultBackoff        = 250 * time.Millisecond
	maxBackoff            = 2 * time.Second
)

// Options tune a Pinger; the zero value is the default everywhere.
type Options struct {
	// Client sends the pings; nil is a client of its own whose transport
	// is http.DefaultTransport's (proxies from the environment).
	Client *http.Client
	// Total bounds one ping, retries and waits included (DefaultTotal).
	Total time.Duration
	// AttemptTimeout bounds one attempt (DefaultAttemptTimeout), within
	// Total.
	AttemptTimeout time.Duration
	// Backoff is the first wait between attempts (DefaultBackoff); it
	// doubles up to 2 s.
	Backoff time.Duration
	// UserAgent is sent with each ping ("s3up" when empty).
	UserAgent string
	// NoRunID leaves out the rid query parameter.
	NoRunID bool
}

// Pinger sends the check-ins of one run. It is safe for concurrent use
// and sends one ping at a time. A nil *Pinger sends nothing and succeeds,
// so a run without --ping-url needs no conditions.
type Pinger struct {
	base     *url.URL
	redacted string
	rid      string
	client   *http.Client
	total    time.Duration
	attempt  time.Duration
	backoff  time.Duration
	ua       string
	mu       sync.Mutex // one ping at a time: an end never overtakes a start
}

// New returns a Pinger for the ping URL raw (http or https).
func New(raw string, o Options) (*Pinger, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL
		}
		return nil, fmt.Errorf("ping URL %s is not a URL: %v", Redact(raw), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("ping URL %s: want an http or https URL, such as https://hc-ping.com/<uuid>", Redact(raw))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("ping URL %s has no host", Redact(raw))
	}
	u.Fragment, u.RawFragment = "", ""
	p := &Pinger{
		base: u, redacted: Redact(raw), client: o.Client,
		total: o.Total, attempt: o.AttemptTimeout, backoff: o.Backoff, ua: o.UserAgent,
	}
	if p.client == nil {
		p.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if p.total <= 0 {
		p.total = DefaultTotal
	}
	if p.attempt <= 0 {
		p.attempt = DefaultAttemptTimeout
	}
	if p.backoff <= 0 {
		p.backoff = DefaultBackoff
	}
	if p.ua == "" {
		p.ua = "s3up"
	}
	if rid := u.Query().Get("rid"); rid != "" {
		p.rid = rid
	} else if !o.NoRunID {
		p.rid = newRunID()
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += "rid=" + p.rid
	}
	return p, nil
}

// newRunID is a random (version 4) UUID in canonical lower-case form, as
// Healthchecks requires of rid.
func newRunID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// RunID is the rid sent with each ping ("" with Options.NoRunID).
func (p *Pinger) RunID() string {
	if p == nil {
		return ""
	}
	return p.rid
}

// Redacted is the URL as messages may show it (see Redact).
func (p *Pinger) Redacted() string {
	if p == nil {
		return ""
	}
	return p.redacted
}

// Start sends URL/start, with no body.
func (p *Pinger) Start(ctx context.Context) error { return p.ping(ctx, "start", "/start", "") }

// Success sends URL with body (cut to MaxBody).
func (p *Pinger) Success(ctx context.Context, body string) error {
	return p.ping(ctx, "success", "", body)
}

// Fail sends URL/fail with body (cut to MaxBody).
func (p *Pinger) Fail(ctx context.Context, body string) error {
	return p.ping(ctx, "fail", "/fail", body)
}

// Finish sends the run's last ping: Success or Fail as s.Succeeded says,
// with s.Body. A run ended by a signal still reports: pass a context that
// the signal does not cancel (context.WithoutCancel).
func (p *Pinger) Finish(ctx context.Context, s Summary) error {
	if s.Succeeded() {
		return p.Success(ctx, s.Body())
	}
	return p.Fail(ctx, s.Body())
}

// Error is a ping that did not get through. Its message names the ping
// and the redacted URL, never the URL itself.
type Error struct {
	Signal   string // "start", "success" or "fail"
	URL      string // redacted
	Attempts int
	Elapsed  time.Duration
	Err      error
}

func (e *Error) Error() string {
	return fmt.Sprintf("check-in %s to %s failed after %d attempt%s in %s: %v",
		e.Signal, e.URL, e.Attempts, plural(e.Attempts), e.Elapsed.Round(time.Millisecond), e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (p *Pinger) target(suffix string) string {
	u := *p.base
	u.Path = strings.TrimRight(u.Path, "/") + suffix
	if u.RawPath != "" {
		u.RawPath = strings.TrimRight(u.RawPath, "/") + suffix
	}
	return u.String()
}

func (p *Pinger) ping(ctx context.Context, signal, suffix, body string) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, p.total)
	defer cancel()
	target, body := p.target(suffix), truncate(body, MaxBody)
	wait := p.backoff
	for attempt := 1; ; attempt++ {
		retry, err := p.try(ctx, target, body)
		if err == nil {
			return nil
		}
		fail := func() error {
			return &Error{Signal: signal, URL: p.redacted, Attempts: attempt, Elapsed: time.Since(start), Err: err}
		}
		if !retry || ctx.Err() != nil {
			return fail()
		}
		if dl, _ := ctx.Deadline(); time.Until(dl) <= wait {
			return fail() // no time left to wait and try again
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fail()
		}
		wait = min(2*wait, maxBackoff)
	}
}

// try sends one attempt, and says whether a failure is worth retrying.
func (p *Pinger) try(ctx context.Context, target, body string) (retry bool, err error) {
	actx, cancel := context.WithTimeout(ctx, p.attempt)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return false, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("User-Agent", p.ua)
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error carries the URL with its token
		}
		switch {
		case actx.Err() != nil && ctx.Err() == nil:
			err = fmt.Errorf("no answer within %s", p.attempt)
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			err = errors.New("no answer before the deadline")
		}
		return ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return false, nil
	case code == http.StatusTooManyRequests, code == http.StatusRequestTimeout, code >= 500:
		return true, fmt.Errorf("HTTP %s", resp.Status)
	default:
		return false, fmt.Errorf("HTTP %s (not retried: check the ping URL)", resp.Status)
	}
}

// Redact returns raw as a message may show it: scheme and host (with
// port), then "/…" and the last four characters of the path when it is
// long enough for those to give nothing away (16 characters or more; a
// Healthchecks UUID has 36), then the query's keys with "…" for values.
// User info and fragments are dropped. "https://hc-ping.com/…a278".
func Redact(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "(a ping URL that does not parse)"
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://" + u.Host)
	if path := strings.Trim(u.EscapedPath(), "/"); path != "" {
		b.WriteString("/…")
		if len(path) >= 16 {
			b.WriteString(path[len(path)-4:])
		}
	}
	if u.RawQuery != "" {
		for i, kv := range strings.Split(u.RawQuery, "&") {
			key, _, _ := strings.Cut(kv, "=")
			if i == 0 {
				b.WriteString("?")
			} else {
				b.WriteString("&")
			}
			b.WriteString(key + "=…")
		}
	}
	return b.String()
}
