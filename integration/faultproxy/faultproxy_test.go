package faultproxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// echo is what the backend answers: what it received.
type echo struct {
	Host       string `json:"host"`
	RequestURI string `json:"requestURI"`
	Method     string `json:"method"`
	Len        int64  `json:"len"`
	ContentLen int64  `json:"contentLength"`
	SHA256     string `json:"sha256"`
	ReadErr    string `json:"readErr,omitempty"`
}

// backend is a tiny S3 stand-in that insists on the expected Host header
// and echoes what it received. Every request it saw (including ones whose
// body broke off) is also sent to seen.
type backend struct {
	srv      *httptest.Server
	wantHost atomic.Value // string
	seen     chan echo
}

func newBackend(t *testing.T, useTLS bool) *backend {
	t.Helper()
	b := &backend{seen: make(chan echo, 1024)}
	b.wantHost.Store("")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs := sha256.New()
		n, err := io.Copy(hs, r.Body)
		e := echo{
			Host: r.Host, RequestURI: r.RequestURI, Method: r.Method,
			Len: n, ContentLen: r.ContentLength, SHA256: hex.EncodeToString(hs.Sum(nil)),
		}
		if err != nil {
			e.ReadErr = err.Error()
		}
		select {
		case b.seen <- e:
		default:
		}
		if err != nil {
			return
		}
		if want := b.wantHost.Load().(string); r.Host != want {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "<Error><Code>SignatureDoesNotMatch</Code><Message>host %q, want %q</Message></Error>", r.Host, want)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"`+e.SHA256[:32]+`"`)
		_ = json.NewEncoder(w).Encode(e)
	})
	b.srv = httptest.NewUnstartedServer(h)
	if useTLS {
		b.srv.StartTLS()
	} else {
		b.srv.Start()
	}
	t.Cleanup(b.srv.Close)
	return b
}

// newProxy starts a proxy in front of b; it is closed when the test ends.
func newProxy(t *testing.T, b *backend, cfg Config) *Proxy {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	if b.srv.TLS != nil && cfg.TargetTLS == nil {
		pool := x509.NewCertPool()
		pool.AddCert(b.srv.Certificate())
		cfg.TargetTLS = &tls.Config{RootCAs: pool}
	}
	p, err := New(b.srv.URL, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	b.wantHost.Store(p.Addr())
	return p
}

func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{
		Proxy:                 nil,
		DisableCompression:    true,
		ExpectContinueTimeout: 5 * time.Second,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func testSeed(t *testing.T) uint64 {
	t.Helper()
	s := uint64(time.Now().UnixNano()) | 1
	t.Logf("test seed %d", s)
	return s
}

func randBody(rng *rand.Rand, n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b[:n]
}

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type result struct {
	status int
	body   []byte
	err    error
}

func do(t *testing.T, c *http.Client, method, url string, body []byte, hdr map[string]string) result {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == proto0 {
			// Mimic aws-sdk-go-v2 (smithy-go): its http.Request has
			// Proto 0.0, so net/http sends "Expect: 100-continue" but
			// does not wait for the 100 before sending the body.
			req.ProtoMajor, req.ProtoMinor = 0, 0
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: rb, err: err}
}

// proto0 in do's headers makes the request look like an aws-sdk-go-v2 one.
const proto0 = "X-Test-Proto0"

func partURL(p *Proxy, n int) string {
	return fmt.Sprintf("%s/bucket/obj?partNumber=%d&uploadId=up-%d", p.URL(), n, n)
}

func mustEcho(t *testing.T, r result) echo {
	t.Helper()
	if r.err != nil {
		t.Fatalf("request failed: %v", r.err)
	}
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	var e echo
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("bad echo %q: %v", r.body, err)
	}
	return e
}

func s3Code(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
	}
	if err := xml.Unmarshal(body, &e); err != nil {
		t.Fatalf("not an S3 XML error: %q: %v", body, err)
	}
	return e.Code
}

func TestForwardIntactPreservesHostPathQuery(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			seed := testSeed(t)
			rng := rand.New(rand.NewPCG(seed, 0))
			b := newBackend(t, useTLS)
			p := newProxy(t, b, Config{Seed: seed, Rate: 0})
			c := newClient(t)

			var total int64
			sizes := []int{1, 4096, 1<<20 + 17, 3<<20 + 5}
			for i, n := range sizes {
				body := randBody(rng, n)
				total += int64(n)
				hdr := map[string]string{"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}
				if n > 2<<20 {
					hdr["Expect"] = "100-continue" // what aws-sdk-go-v2 sends for big parts
				}
				e := mustEcho(t, do(t, c, http.MethodPut, partURL(p, i+1), body, hdr))
				if e.Host != p.Addr() {
					t.Errorf("backend saw Host %q, want %q", e.Host, p.Addr())
				}
				if e.Len != int64(n) || e.ContentLen != int64(n) || e.SHA256 != shaHex(body) {
					t.Errorf("part %d: backend got len=%d cl=%d sha=%s, want %d %s", i+1, e.Len, e.ContentLen, e.SHA256, n, shaHex(body))
				}
			}

			// Escaped path and odd query survive byte for byte (both signed).
			uri := "/bucket/a%20b/c+d%2Fe%3D~/x?uploads=&prefix=a%2Fb%20c&delimiter=%2F"
			e := mustEcho(t, do(t, c, http.MethodGet, p.URL()+uri, nil, nil))
			if e.RequestURI != uri {
				t.Errorf("backend saw URI %q, want %q", e.RequestURI, uri)
			}
			if e.Host != p.Addr() {
				t.Errorf("backend saw Host %q, want %q", e.Host, p.Addr())
			}
			// A non-UploadPart PUT is forwarded but not counted as a part.
			mustEcho(t, do(t, c, http.MethodPut, p.URL()+"/bucket/small", []byte("hello"), nil))

			s := p.Stats()
			if s.UploadPartBytes != total {
				t.Errorf("UploadPartBytes = %d, want %d", s.UploadPartBytes, total)
			}
			if s.UploadParts != int64(len(sizes)) {
				t.Errorf("UploadParts = %d, want %d", s.UploadParts, len(sizes))
			}
			if want := int64(len(sizes) + 2); s.Requests != want || s.Forwarded != want {
				t.Errorf("Requests=%d Forwarded=%d, want %d", s.Requests, s.Forwarded, want)
			}
			if s.ByMethod[http.MethodPut] != int64(len(sizes)+1) || s.ByMethod[http.MethodGet] != 1 {
				t.Errorf("ByMethod = %v", s.ByMethod)
			}
			if len(s.Faults) != 0 {
				t.Errorf("Faults = %v, want none", s.Faults)
			}
		})
	}
}

func TestEachFault(t *testing.T) {
	type check func(t *testing.T, p *Proxy, b *backend, body []byte, r result)
	errorXML := func(status int, code string) check {
		return func(t *testing.T, p *Proxy, b *backend, body []byte, r result) {
			if r.err != nil {
				t.Fatalf("want %d %s, got error %v", status, code, r.err)
			}
			if r.status != status {
				t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
			}
			if got := s3Code(t, r.body); got != code {
				t.Fatalf("Code %q, want %q", got, code)
			}
			if s := p.Stats(); s.UploadParts != 0 || s.UploadPartBytes != 0 {
				t.Errorf("request was forwarded: %+v", s)
			}
		}
	}
	connErr := func(t *testing.T, r result) {
		t.Helper()
		if r.err == nil {
			t.Fatalf("want a connection error, got status %d body %q", r.status, r.body)
		}
		t.Logf("client saw: %v", r.err)
	}
	cases := []struct {
		fault Fault
		check check
	}{
		{SlowDown, errorXML(http.StatusServiceUnavailable, "SlowDown")},
		{InternalError, errorXML(http.StatusInternalServerError, "InternalError")},
		{Error200, errorXML(http.StatusOK, "InternalError")},
		{ResetMidBody, func(t *testing.T, p *Proxy, b *backend, body []byte, r result) {
			connErr(t, r)
			s := p.Stats()
			if s.UploadPartBytes >= int64(len(body)) {
				t.Errorf("UploadPartBytes = %d, want < %d", s.UploadPartBytes, len(body))
			}
			ev := p.Events()
			if len(ev) != 1 || ev[0].Offset != s.UploadPartBytes {
				t.Errorf("events %+v, forwarded %d", ev, s.UploadPartBytes)
			}
			if s.UploadPartBytes > 0 {
				// The target saw a truncated body.
				e := <-b.seen
				if e.ReadErr == "" || e.Len >= int64(len(body)) {
					t.Errorf("backend saw %+v, want a truncated body", e)
				}
			}
		}},
		{Stall, func(t *testing.T, p *Proxy, b *backend, body []byte, r result) {
			connErr(t, r)
			if s := p.Stats(); s.UploadParts != 0 {
				t.Errorf("stalled request was forwarded: %+v", s)
			}
		}},
		{CorruptBody, func(t *testing.T, p *Proxy, b *backend, body []byte, r result) {
			e := mustEcho(t, r)
			if e.Len != int64(len(body)) {
				t.Errorf("backend len %d, want %d", e.Len, len(body))
			}
			if e.SHA256 == shaHex(body) {
				t.Errorf("backend sha unchanged; body not corrupted")
			}
			ev := p.Events()
			if len(ev) != 1 || ev[0].Offset < 0 || ev[0].Offset >= int64(len(body)) {
				t.Fatalf("events %+v", ev)
			}
			// Every byte was forwarded (TestCorruptBodyFlipsAnnouncedBit checks which one changed).
			if s := p.Stats(); s.UploadPartBytes != int64(len(body)) {
				t.Errorf("UploadPartBytes %d, want %d", s.UploadPartBytes, len(body))
			}
		}},
		{DropResponse, func(t *testing.T, p *Proxy, b *backend, body []byte, r result) {
			connErr(t, r)
			e := <-b.seen
			if e.ReadErr != "" || e.SHA256 != shaHex(body) {
				t.Errorf("backend should have received the whole body: %+v", e)
			}
		}},
	}
	for _, tc := range cases {
		for _, mode := range []string{"plain", "expect", "expect-nowait"} {
			t.Run(fmt.Sprintf("%v/%s", tc.fault, mode), func(t *testing.T) {
				seed := testSeed(t)
				rng := rand.New(rand.NewPCG(seed, 1))
				b := newBackend(t, false)
				p := newProxy(t, b, Config{Seed: seed, Rate: 1, Faults: []Fault{tc.fault}, StallFor: 50 * time.Millisecond})
				c := newClient(t)
				body := randBody(rng, 3<<20+rng.IntN(1<<20))
				var hdr map[string]string
				switch mode {
				case "expect":
					hdr = map[string]string{"Expect": "100-continue"}
				case "expect-nowait":
					hdr = map[string]string{"Expect": "100-continue", proto0: ""}
				}
				r := do(t, c, http.MethodPut, partURL(p, 1), body, hdr)
				tc.check(t, p, b, body, r)
				if got := p.Stats().Faults[tc.fault]; got != 1 {
					t.Errorf("Faults[%v] = %d, want 1", tc.fault, got)
				}
				// The proxy keeps working after the fault.
				p.SetRate(0)
				e := mustEcho(t, do(t, c, http.MethodPut, partURL(p, 2), body, hdr))
				if e.SHA256 != shaHex(body) {
					t.Errorf("follow-up request corrupted")
				}
			})
		}
	}
}

func TestCorruptBodyFlipsAnnouncedBit(t *testing.T) {
	seed := testSeed(t)
	var got []byte
	var mu sync.Mutex
	b := &backend{seen: make(chan echo, 8)}
	b.wantHost.Store("")
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = data
		mu.Unlock()
	}))
	t.Cleanup(b.srv.Close)
	p := newProxy(t, b, Config{Seed: seed, Rate: 1, Faults: []Fault{CorruptBody}})
	body := randBody(rand.New(rand.NewPCG(seed, 2)), 100000)
	r := do(t, newClient(t), http.MethodPut, partURL(p, 1), body, nil)
	if r.err != nil || r.status != 200 {
		t.Fatalf("%+v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	off := p.Events()[0].Offset
	if len(got) != len(body) {
		t.Fatalf("len %d, want %d", len(got), len(body))
	}
	for i := range body {
		x := got[i] ^ body[i]
		switch {
		case int64(i) == off && (x == 0 || x&(x-1) != 0):
			t.Errorf("byte %d: xor %08b, want exactly one bit", i, x)
		case int64(i) != off && x != 0:
			t.Errorf("byte %d changed, only %d should", i, off)
		}
	}
}

func TestOutage(t *testing.T) {
	b := newBackend(t, false)
	p := newProxy(t, b, Config{Seed: testSeed(t)})
	c := newClient(t)
	body := []byte("part data")

	p.SetOutage(true)
	for _, r := range []result{
		do(t, c, http.MethodGet, p.URL()+"/bucket?list-type=2", nil, nil),
		do(t, c, http.MethodPut, partURL(p, 1), body, nil),
		do(t, c, http.MethodPost, p.URL()+"/bucket/obj?uploads", nil, nil),
	} {
		if r.err != nil || r.status != http.StatusServiceUnavailable || s3Code(t, r.body) != "SlowDown" {
			t.Fatalf("during outage: %+v", r)
		}
	}
	if s := p.Stats(); s.OutageResponses != 3 || s.Forwarded != 0 || s.Requests != 3 {
		t.Errorf("stats during outage: %+v", s)
	}

	p.SetOutage(false)
	mustEcho(t, do(t, c, http.MethodGet, p.URL()+"/bucket?list-type=2", nil, nil))
	if e := mustEcho(t, do(t, c, http.MethodPut, partURL(p, 1), body, nil)); e.SHA256 != shaHex(body) {
		t.Errorf("after outage: %+v", e)
	}
	if s := p.Stats(); s.OutageResponses != 3 || s.Forwarded != 2 || s.UploadPartBytes != int64(len(body)) {
		t.Errorf("stats after outage: %+v", s)
	}
}

func TestMatch(t *testing.T) {
	t.Run("default matches UploadPart only", func(t *testing.T) {
		b := newBackend(t, false)
		p := newProxy(t, b, Config{Seed: testSeed(t), Rate: 1, Faults: []Fault{InternalError}})
		c := newClient(t)
		mustEcho(t, do(t, c, http.MethodGet, p.URL()+"/bucket/obj?partNumber=1&uploadId=x", nil, nil))
		mustEcho(t, do(t, c, http.MethodPut, p.URL()+"/bucket/obj?partNumber=1", []byte("x"), nil))
		mustEcho(t, do(t, c, http.MethodPut, p.URL()+"/bucket/obj", []byte("x"), nil))
		mustEcho(t, do(t, c, http.MethodPost, p.URL()+"/bucket/obj?uploadId=x", []byte("<x/>"), nil))
		r := do(t, c, http.MethodPut, partURL(p, 1), []byte("x"), nil)
		if r.err != nil || r.status != 500 {
			t.Fatalf("UploadPart: %+v", r)
		}
		if s := p.Stats(); s.Faults[InternalError] != 1 || s.Forwarded != 4 {
			t.Errorf("stats %+v", s)
		}
		if ev := p.Events(); len(ev) != 1 || ev[0].Fault != InternalError {
			t.Errorf("events %+v", ev)
		}
	})
	t.Run("custom", func(t *testing.T) {
		b := newBackend(t, false)
		p := newProxy(t, b, Config{
			Seed: testSeed(t), Rate: 1, Faults: []Fault{SlowDown},
			Match: func(r *http.Request) bool { return r.Method == http.MethodPost },
		})
		c := newClient(t)
		mustEcho(t, do(t, c, http.MethodPut, partURL(p, 1), []byte("x"), nil))
		r := do(t, c, http.MethodPost, p.URL()+"/bucket/obj?uploadId=x", []byte("<x/>"), nil)
		if r.err != nil || r.status != 503 {
			t.Fatalf("POST: %+v", r)
		}
	})
}

func outcome(r result) string {
	switch {
	case r.err != nil:
		return "err"
	case r.status == 200 && bytes.Contains(r.body, []byte("<Error>")):
		return "200-error"
	default:
		return fmt.Sprint(r.status)
	}
}

func TestSeededDeterminism(t *testing.T) {
	seed := testSeed(t)
	run := func(seed uint64) ([]string, []Event) {
		b := newBackend(t, false)
		p := newProxy(t, b, Config{
			Seed: seed, Rate: 0.5,
			Faults: []Fault{SlowDown, InternalError, Error200, CorruptBody, ResetMidBody},
		})
		c := newClient(t)
		body := randBody(rand.New(rand.NewPCG(seed, 3)), 64<<10)
		var out []string
		for i := 1; i <= 60; i++ {
			r := do(t, c, http.MethodPut, partURL(p, i), body, nil)
			o := outcome(r)
			if o == "200" {
				if e := mustEcho(t, r); e.SHA256 != shaHex(body) {
					o = "corrupt"
				}
			}
			out = append(out, o)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		return out, p.Events()
	}
	o1, e1 := run(seed)
	o2, e2 := run(seed)
	if fmt.Sprint(o1) != fmt.Sprint(o2) {
		t.Errorf("same seed, different outcomes:\n%v\n%v", o1, o2)
	}
	if fmt.Sprint(e1) != fmt.Sprint(e2) {
		t.Errorf("same seed, different events:\n%v\n%v", e1, e2)
	}
	kinds := map[string]bool{}
	for _, o := range o1 {
		kinds[o] = true
	}
	if len(kinds) < 3 {
		t.Errorf("rate 0.5 over 60 requests gave only %v", o1)
	}
	o3, _ := run(seed + 1)
	if fmt.Sprint(o1) == fmt.Sprint(o3) {
		t.Errorf("different seeds gave identical outcome sequences: %v", o1)
	}
}

func TestRandomSeedLoggedAndReported(t *testing.T) {
	b := newBackend(t, false)
	var logged []string
	var mu sync.Mutex
	p := newProxy(t, b, Config{Logf: func(f string, a ...any) {
		mu.Lock()
		logged = append(logged, fmt.Sprintf(f, a...))
		mu.Unlock()
	}})
	if p.Seed() == 0 {
		t.Fatal("Seed() = 0")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) == 0 || !strings.Contains(logged[0], fmt.Sprint(p.Seed())) {
		t.Errorf("seed %d not logged: %q", p.Seed(), logged)
	}
}

func TestFailNext(t *testing.T) {
	b := newBackend(t, false)
	p := newProxy(t, b, Config{Seed: testSeed(t), Rate: 0})
	c := newClient(t)
	p.FailNext(SlowDown, None, Error200)
	var got []string
	for i := 1; i <= 4; i++ {
		got = append(got, outcome(do(t, c, http.MethodPut, partURL(p, i), []byte("abc"), nil)))
	}
	if want := "[503 200 200-error 200]"; fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func TestCloseEndsStall(t *testing.T) {
	b := newBackend(t, false)
	stalled := make(chan Event, 1)
	p := newProxy(t, b, Config{
		Seed: testSeed(t), Rate: 1, Faults: []Fault{Stall}, StallFor: time.Hour,
		OnFault: func(e Event) { stalled <- e },
	})
	c := newClient(t)
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPut, partURL(p, 1), bytes.NewReader(make([]byte, 1<<20)))
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			done <- result{status: resp.StatusCode}
			return
		}
		done <- result{err: err}
	}()
	<-stalled
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	watchdog := time.NewTimer(10 * time.Second)
	defer watchdog.Stop()
	select {
	case r := <-done:
		if r.err == nil {
			t.Errorf("stalled request got status %d", r.status)
		}
		t.Logf("stall ended %v after Close: %v", time.Since(start), r.err)
	case <-watchdog.C:
		t.Fatal("Close did not end the stall")
	}
	// The listener is gone.
	if conn, err := net.Dial("tcp", p.Addr()); err == nil {
		conn.Close()
		t.Error("proxy still accepting after Close")
	}
}

func TestConcurrentStats(t *testing.T) {
	seed := testSeed(t)
	b := newBackend(t, false)
	p := newProxy(t, b, Config{
		Seed: seed, Rate: 0.3,
		Faults: []Fault{SlowDown, InternalError, ResetMidBody, CorruptBody, Error200, DropResponse},
		Logf:   func(string, ...any) {},
	})
	c := newClient(t)
	const workers, each = 8, 25
	body := randBody(rand.New(rand.NewPCG(seed, 4)), 200<<10)
	var wg sync.WaitGroup
	var ok atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := do(t, c, http.MethodPut, partURL(p, w*each+i+1), body, nil)
				if r.err == nil && r.status == 200 && !bytes.Contains(r.body, []byte("<Error>")) {
					var e echo
					if json.Unmarshal(r.body, &e) == nil && e.SHA256 == shaHex(body) {
						ok.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	s := p.Stats()
	var faults int64
	for _, n := range s.Faults {
		faults += n
	}
	if s.Requests != workers*each {
		t.Errorf("Requests = %d", s.Requests)
	}
	if faults+ok.Load() != workers*each {
		t.Errorf("faults %d + clean %d != %d (%+v)", faults, ok.Load(), workers*each, s)
	}
	if faults == 0 || ok.Load() == 0 {
		t.Errorf("expected a mix of faults and clean requests: %+v", s)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		target string
		cfg    Config
	}{
		{"ftp://127.0.0.1:1", Config{}},
		{"127.0.0.1:9000", Config{}},
		{"http://127.0.0.1:9000", Config{Rate: 1.5}},
		{"http://127.0.0.1:9000", Config{Faults: []Fault{Fault(99)}}},
	} {
		if p, err := New(tc.target, tc.cfg); err == nil {
			p.Close()
			t.Errorf("New(%q, %+v) succeeded", tc.target, tc.cfg)
		}
	}
}

func TestUpstreamResetIsMirrored(t *testing.T) {
	// A target that reads a little of the body, then resets the connection.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			_, _ = c.Read(buf)
			_ = c.(*net.TCPConn).SetLinger(0)
			_ = c.Close()
		}
	}()
	p, err := New("http://"+ln.Addr().String(), Config{Seed: 1, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r := do(t, newClient(t), http.MethodPut, partURL(p, 1), make([]byte, 4<<20), nil)
	if r.err == nil {
		t.Fatalf("want a connection error, got %d %s", r.status, r.body)
	}
	if s := p.Stats(); s.UpstreamErrors != 1 {
		t.Errorf("UpstreamErrors = %d", s.UpstreamErrors)
	}
}

func TestUpstreamDownGives502(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p, err := New("http://"+addr, Config{Seed: 1, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/bucket", nil)
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || s3Code(t, body) != "BadGateway" {
		t.Errorf("status %d body %s, want 502 BadGateway", resp.StatusCode, body)
	}
	if s := p.Stats(); s.UpstreamErrors != 1 {
		t.Errorf("UpstreamErrors = %d", s.UpstreamErrors)
	}
}

func TestFaultString(t *testing.T) {
	if SlowDown.String() != "SlowDown" || Fault(42).String() != "Fault(42)" {
		t.Error(SlowDown.String(), Fault(42).String())
	}
}
