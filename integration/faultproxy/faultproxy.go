// Package faultproxy is a fault-injecting HTTP reverse proxy for integration
// tests of S3 clients.
//
// The proxy listens on 127.0.0.1 (plain HTTP) and forwards every request to
// one S3-compatible target (http or https). It is transparent for SigV4: the
// Host header, the escaped path, the raw query string, Content-Length and all
// end-to-end headers reach the target exactly as the client sent them, so the
// target verifies the client's signature against the proxy's host:port. Point
// the S3 client at URL() and it will not notice the proxy, except for the
// faults it injects.
//
// For each request that Config.Match selects (by default only UploadPart
// requests), a mutex-guarded PCG generator seeded with Config.Seed decides
// whether a fault fires (probability Rate) and which one (uniform over
// Faults), together with the fault's parameters (cut offset, flipped byte).
// Given the seed, a sequence of sequential requests therefore always sees
// the same faults. Bodies are streamed, never buffered, except those a
// Store emulation must read whole before it can decide: CompleteMultipartUpload
// bodies, and for NoPartReplace the re-upload of a part already stored.
//
// A Store emulation that changes a signed request (drops a checksum header,
// rewrites a Complete body) re-signs it with Config.Credentials; every
// other request reaches the target exactly as the client signed it.
package faultproxy

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is a kind of injected failure.
type Fault int

const (
	// None forwards the request untouched.
	None Fault = iota
	// SlowDown answers 503 with an S3 XML error, Code=SlowDown. The request
	// body is read and discarded, not forwarded.
	SlowDown
	// InternalError answers 500 with an S3 XML error, Code=InternalError.
	// The request body is read and discarded, not forwarded.
	InternalError
	// ResetMidBody forwards a seeded random prefix of the request body
	// (possibly empty, never the whole body) to the target, then aborts the
	// client connection with a TCP RST. The target sees a truncated request.
	ResetMidBody
	// Stall accepts the request, then reads and sends nothing for
	// Config.StallFor, then closes the connection. Close ends stalls at once.
	Stall
	// CorruptBody forwards the request with one bit of one body byte
	// flipped at a seeded random offset; the length is unchanged.
	CorruptBody
	// Error200 answers 200 OK whose body is an S3 XML <Error>
	// (Code=InternalError). The request body is read and discarded, not
	// forwarded.
	Error200
	// DropResponse forwards the whole request to the target (which stores
	// the part), discards the target's response and resets the client
	// connection: the client believes the request failed although the
	// server holds the result. Not in the default set.
	DropResponse
)

var faultNames = [...]string{
	None:          "None",
	SlowDown:      "SlowDown",
	InternalError: "InternalError",
	ResetMidBody:  "ResetMidBody",
	Stall:         "Stall",
	CorruptBody:   "CorruptBody",
	Error200:      "Error200",
	DropResponse:  "DropResponse",
}

func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

func (f Fault) valid() bool { return f >= 0 && int(f) < len(faultNames) }

// DefaultFaults is the fault set used when Config.Faults is empty.
var DefaultFaults = []Fault{SlowDown, InternalError, ResetMidBody}

// DefaultStallFor is the stall duration used when Config.StallFor is zero.
const DefaultStallFor = 30 * time.Second

// Config configures a Proxy. The zero value forwards everything untouched
// (Rate 0) with a random seed.
type Config struct {
	// Seed seeds the fault decisions. 0 picks a random seed, which is
	// logged via Logf and returned by Proxy.Seed.
	Seed uint64
	// Rate is the probability (0..1) that a matching request gets a fault.
	Rate float64
	// Faults is the set a fault is chosen from, uniformly, when one fires.
	// Empty means DefaultFaults (SlowDown, InternalError, ResetMidBody).
	Faults []Fault
	// Match selects the requests eligible for faults. nil means UploadPart
	// requests only (see IsUploadPart).
	Match func(*http.Request) bool
	// StallFor is how long a Stall lasts; 0 means DefaultStallFor.
	StallFor time.Duration
	// Logf, if set, receives the seed and one line per injected fault
	// (t.Logf fits). It is not called after Close returns.
	Logf func(format string, args ...any)
	// TargetTLS is the TLS client configuration for an https target
	// (RootCAs for a test CA, for example). nil uses the system roots.
	TargetTLS *tls.Config
	// Store makes the proxy answer as another store does (see Store);
	// AsServer forwards the server's own behaviour.
	Store Store
	// Credentials sign the requests the Store emulation changes; they must
	// be the server's (the client's) keys. New fails without them for a
	// Store whose NeedsCredentials is true; other stores ignore them.
	// Requests the emulation did not change are forwarded as signed.
	Credentials *Credentials
	// OnFault, if set, is called synchronously for every injected fault,
	// just before the fault is acted out (for Stall: before the connection
	// is taken over). It must not block for long.
	OnFault func(Event)
}

// Event records one fault decision for a matching request.
type Event struct {
	Seq    int64  // 1-based index among matching requests
	Method string // request method
	URI    string // request URI as received (path?query)
	Fault  Fault  // None when the request was forwarded untouched
	Offset int64  // ResetMidBody: body bytes forwarded; CorruptBody: offset of the flipped byte; else 0
}

// Stats is a snapshot of the proxy's counters.
type Stats struct {
	Requests        int64           // all requests seen
	Faults          map[Fault]int64 // injected faults by kind (outage answers not included)
	OutageResponses int64           // requests answered 503 because of SetOutage(true)
	Forwarded       int64           // requests handed to the target (including partial and corrupted ones)
	UpstreamErrors  int64           // forwarded requests whose upstream exchange failed (not injected)
	UploadPartBytes int64           // UploadPart request-body bytes forwarded to the target, partial bodies included
	UploadParts     int64           // UploadPart requests forwarded to the target
	ByMethod        map[string]int64
	PutBytes        int64            // request-body bytes of every PUT forwarded (PutObject and UploadPart), partial bodies included
	PutsByPath      map[string]int64 // PUT requests forwarded, by URL path ("/bucket/key", unescaped)
	Emulation       EmulationStats   // what the Store emulation did (Proxy.EmulationStats)
}

// IsUploadPart reports whether r is an S3 UploadPart request: a PUT with
// both partNumber and uploadId query parameters.
func IsUploadPart(r *http.Request) bool {
	if r.Method != http.MethodPut {
		return false
	}
	q := r.URL.Query()
	return q.Has("partNumber") && q.Has("uploadId")
}

// maxEvents bounds the decision log kept for Events.
const maxEvents = 1 << 16

// Proxy is a running fault-injecting reverse proxy. Create it with New and
// stop it with Close.
type Proxy struct {
	target   *url.URL
	url      string
	seed     uint64
	match    func(*http.Request) bool
	stallFor time.Duration
	logf     func(string, ...any)
	onFault  func(Event)
	emu      *emulation

	ln  net.Listener
	srv *http.Server
	rp  *httputil.ReverseProxy
	tr  *http.Transport

	outage atomic.Bool

	// decision state
	dmu    sync.Mutex
	rng    *rand.Rand
	rate   float64
	faults []Fault
	script []Fault
	seq    int64
	events []Event

	// statistics
	smu             sync.Mutex
	requests        int64
	faultCounts     map[Fault]int64
	outageResponses int64
	forwarded       int64
	upstreamErrors  int64
	uploadParts     int64
	byMethod        map[string]int64
	uploadPartBytes atomic.Int64
	putBytes        atomic.Int64
	putsByPath      map[string]int64
	reqIDs          atomic.Int64

	// lifecycle
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error
	lmu       sync.Mutex
	closed    bool
	inflight  int
	idle      chan struct{}
	hijacked  map[net.Conn]struct{}
}

// New starts a proxy on 127.0.0.1:0 forwarding to target (for example
// "http://127.0.0.1:9000" or "https://127.0.0.1:9443").
func New(target string, cfg Config) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: target %q: %w", target, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q: want http://host:port or https://host:port", target)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("faultproxy: target %q: must not have a query or fragment", target)
	}
	if cfg.Rate < 0 || cfg.Rate > 1 || cfg.Rate != cfg.Rate {
		return nil, fmt.Errorf("faultproxy: Rate %v out of [0,1]", cfg.Rate)
	}
	for _, f := range cfg.Faults {
		if !f.valid() {
			return nil, fmt.Errorf("faultproxy: unknown fault %v", f)
		}
	}
	if !cfg.Store.valid() {
		return nil, fmt.Errorf("faultproxy: unknown store %v", cfg.Store)
	}
	if cfg.Store.NeedsCredentials() && !cfg.Credentials.usable() {
		return nil, fmt.Errorf("faultproxy: the %s emulation changes signed requests and must re-sign them: "+
			"set Config.Credentials to the server's access key and secret key", cfg.Store)
	}

	p := &Proxy{
		target:      u,
		seed:        cfg.Seed,
		match:       cfg.Match,
		stallFor:    cfg.StallFor,
		logf:        cfg.Logf,
		onFault:     cfg.OnFault,
		emu:         newEmulation(cfg.Store),
		rate:        cfg.Rate,
		faults:      append([]Fault(nil), cfg.Faults...),
		faultCounts: make(map[Fault]int64),
		byMethod:    make(map[string]int64),
		putsByPath:  make(map[string]int64),
		closing:     make(chan struct{}),
		hijacked:    make(map[net.Conn]struct{}),
	}
	if len(p.faults) == 0 {
		p.faults = append([]Fault(nil), DefaultFaults...)
	}
	if p.emu != nil && cfg.Credentials != nil {
		c := *cfg.Credentials
		p.emu.creds = &c
	}
	if p.match == nil {
		p.match = IsUploadPart
	}
	if p.stallFor <= 0 {
		p.stallFor = DefaultStallFor
	}
	if p.seed == 0 {
		for p.seed == 0 {
			p.seed = rand.Uint64()
		}
	}
	p.rng = rand.New(rand.NewPCG(p.seed, p.seed^0x9e3779b97f4a7c15))

	var tlsConf *tls.Config
	if cfg.TargetTLS != nil {
		tlsConf = cfg.TargetTLS.Clone()
	}
	p.tr = &http.Transport{
		Proxy: nil, // never route through HTTP(S)_PROXY
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   10 * time.Second,
		DisableCompression:    true, // no Accept-Encoding injection, no transparent gunzip
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
	discard := log.New(io.Discard, "", 0)
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      p.tr,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
		ErrorLog:       discard,
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p.ln = ln
	p.url = "http://" + ln.Addr().String()
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          discard,
	}
	go func() { _ = p.srv.Serve(ln) }()

	p.log("faultproxy: %s -> %s, seed=%d (set Config.Seed=%d to reproduce), rate=%v, faults=%v, store=%v",
		p.url, target, p.seed, p.seed, p.rate, p.faults, cfg.Store)
	return p, nil
}

// URL returns the proxy's base URL, http://127.0.0.1:PORT.
func (p *Proxy) URL() string { return p.url }

// Addr returns the proxy's listening address, 127.0.0.1:PORT.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Seed returns the seed in use (the random one if Config.Seed was 0).
func (p *Proxy) Seed() uint64 { return p.seed }

// SetRate changes the fault probability; it is clamped to [0,1].
func (p *Proxy) SetRate(rate float64) {
	switch {
	case rate != rate || rate < 0:
		rate = 0
	case rate > 1:
		rate = 1
	}
	p.dmu.Lock()
	p.rate = rate
	p.dmu.Unlock()
}

// SetFaults changes the fault set; no arguments restores DefaultFaults.
// Unknown values are ignored.
func (p *Proxy) SetFaults(f ...Fault) {
	fs := make([]Fault, 0, len(f))
	for _, x := range f {
		if x.valid() {
			fs = append(fs, x)
		}
	}
	if len(fs) == 0 {
		fs = append(fs, DefaultFaults...)
	}
	p.dmu.Lock()
	p.faults = fs
	p.dmu.Unlock()
}

// FailNext queues faults for the next matching requests, one each, in
// order, regardless of Rate (None lets one request through). Queued faults
// consume no randomness except their own parameters.
func (p *Proxy) FailNext(f ...Fault) {
	p.dmu.Lock()
	for _, x := range f {
		if x.valid() {
			p.script = append(p.script, x)
		}
	}
	p.dmu.Unlock()
}

// SetOutage turns a total outage on or off. While on, every request (not
// only matching ones) is answered 503 SlowDown at once (after draining its
// body, see SlowDown), without being forwarded and without consuming
// randomness.
func (p *Proxy) SetOutage(on bool) { p.outage.Store(on) }

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats {
	p.smu.Lock()
	defer p.smu.Unlock()
	s := Stats{
		Requests:        p.requests,
		Faults:          make(map[Fault]int64, len(p.faultCounts)),
		OutageResponses: p.outageResponses,
		Forwarded:       p.forwarded,
		UpstreamErrors:  p.upstreamErrors,
		UploadPartBytes: p.uploadPartBytes.Load(),
		UploadParts:     p.uploadParts,
		ByMethod:        make(map[string]int64, len(p.byMethod)),
		PutBytes:        p.putBytes.Load(),
		PutsByPath:      make(map[string]int64, len(p.putsByPath)),
		Emulation:       p.EmulationStats(),
	}
	for k, v := range p.putsByPath {
		s.PutsByPath[k] = v
	}
	for k, v := range p.faultCounts {
		s.Faults[k] = v
	}
	for k, v := range p.byMethod {
		s.ByMethod[k] = v
	}
	return s
}

// Events returns the decisions taken for matching requests, in decision
// order (at most the first 65536).
func (p *Proxy) Events() []Event {
	p.dmu.Lock()
	defer p.dmu.Unlock()
	return append([]Event(nil), p.events...)
}

// Close stops the listener, closes all client connections (ending stalls at
// once), waits briefly for in-flight handlers and releases upstream
// connections. It is safe to call more than once.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.lmu.Lock()
		p.closed = true
		close(p.closing)
		for c := range p.hijacked {
			_ = c.Close()
		}
		clear(p.hijacked)
		var idle chan struct{}
		if p.inflight > 0 {
			if p.idle == nil {
				p.idle = make(chan struct{})
			}
			idle = p.idle
		}
		p.lmu.Unlock()

		p.closeErr = p.srv.Close()
		if idle != nil {
			t := time.NewTimer(10 * time.Second)
			select {
			case <-idle:
			case <-t.C:
				if p.closeErr == nil {
					p.closeErr = errors.New("faultproxy: handlers still running 10s after Close")
				}
			}
			t.Stop()
		}
		p.tr.CloseIdleConnections()
	})
	return p.closeErr
}

// WaitIdle waits until no request is in flight, so that the counts in
// Stats include everything a killed client had sent, or until timeout.
func (p *Proxy) WaitIdle(timeout time.Duration) error {
	p.lmu.Lock()
	if p.inflight == 0 {
		p.lmu.Unlock()
		return nil
	}
	if p.idle == nil {
		p.idle = make(chan struct{})
	}
	idle := p.idle
	n := p.inflight
	p.lmu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-idle:
		return nil
	case <-t.C:
		return fmt.Errorf("faultproxy: %d requests still in flight after %s", n, timeout)
	}
}

func (p *Proxy) log(format string, args ...any) {
	if p.logf == nil {
		return
	}
	p.lmu.Lock()
	closed := p.closed
	p.lmu.Unlock()
	if !closed {
		p.logf(format, args...)
	}
}

// enter registers an in-flight handler; false once the proxy is closing.
func (p *Proxy) enter() bool {
	p.lmu.Lock()
	defer p.lmu.Unlock()
	if p.closed {
		return false
	}
	p.inflight++
	return true
}

func (p *Proxy) exit() {
	p.lmu.Lock()
	defer p.lmu.Unlock()
	p.inflight--
	if p.inflight == 0 && p.idle != nil {
		close(p.idle)
		p.idle = nil
	}
}

// track registers a hijacked connection so Close can end it. It returns
// false (and closes c) if the proxy is already closing.
func (p *Proxy) track(c net.Conn) bool {
	p.lmu.Lock()
	defer p.lmu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.hijacked[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.lmu.Lock()
	delete(p.hijacked, c)
	p.lmu.Unlock()
	_ = c.Close()
}

// decision is the per-request fault decision.
type decision struct {
	fault  Fault
	offset int64 // ResetMidBody: bytes to forward; CorruptBody: byte to flip
	mask   byte  // CorruptBody: XOR mask (one bit)
}

type ctxKey struct{}

// unknownLenWindow bounds the random offset when Content-Length is unknown.
const unknownLenWindow = 1 << 20

func (p *Proxy) decide(r *http.Request) decision {
	if !p.match(r) {
		return decision{}
	}
	p.dmu.Lock()
	defer p.dmu.Unlock()
	p.seq++
	var d decision
	if len(p.script) > 0 {
		d.fault = p.script[0]
		p.script = p.script[1:]
	} else {
		roll := p.rng.Float64()
		pick := p.rng.IntN(len(p.faults))
		if roll < p.rate {
			d.fault = p.faults[pick]
		}
	}
	switch d.fault {
	case ResetMidBody, CorruptBody:
		n := r.ContentLength
		if n < 0 {
			n = unknownLenWindow
		}
		if n > 0 {
			d.offset = p.rng.Int64N(n)
		}
		if d.fault == CorruptBody {
			d.mask = 1 << p.rng.IntN(8)
		}
	}
	if len(p.events) < maxEvents {
		p.events = append(p.events, Event{
			Seq: p.seq, Method: r.Method, URI: r.RequestURI, Fault: d.fault, Offset: d.offset,
		})
	}
	return d
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.enter() {
		panic(http.ErrAbortHandler)
	}
	defer p.exit()

	p.smu.Lock()
	p.requests++
	p.byMethod[r.Method]++
	p.smu.Unlock()

	if p.outage.Load() {
		p.smu.Lock()
		p.outageResponses++
		p.smu.Unlock()
		p.s3Error(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		return
	}

	if p.emu != nil {
		if r = p.emuRequest(w, r); r == nil {
			return
		}
	}
	d := p.decide(r)
	if d.fault != None {
		p.smu.Lock()
		p.faultCounts[d.fault]++
		p.smu.Unlock()
		switch d.fault {
		case ResetMidBody, CorruptBody:
			p.log("faultproxy: %s %s: injecting %s at body offset %d (Content-Length %d)",
				r.Method, r.RequestURI, d.fault, d.offset, r.ContentLength)
		default:
			p.log("faultproxy: %s %s: injecting %s", r.Method, r.RequestURI, d.fault)
		}
		if p.onFault != nil {
			p.onFault(Event{Method: r.Method, URI: r.RequestURI, Fault: d.fault, Offset: d.offset})
		}
	}

	switch d.fault {
	case SlowDown:
		p.s3Error(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		return
	case InternalError:
		p.s3Error(w, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
		return
	case Error200:
		p.s3Error(w, r, http.StatusOK, "InternalError", "We encountered an internal error. Please try again.")
		return
	case Stall:
		p.stall(w)
		return
	case ResetMidBody:
		if d.offset == 0 {
			p.reset(w)
			return
		}
	}
	p.forward(w, r, d)
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, d decision) {
	part := IsUploadPart(r)
	p.smu.Lock()
	p.forwarded++
	if part {
		p.uploadParts++
	}
	if r.Method == http.MethodPut {
		p.putsByPath[r.URL.Path]++
	}
	p.smu.Unlock()

	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		if d.fault != None {
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, d))
		}
		p.rp.ServeHTTP(w, r)
		return
	}

	g := &guardReader{r: r.Body}
	var body io.Reader = g
	st, _ := r.Context().Value(emuKey{}).(*requestState)
	if st != nil && st.dechunk {
		body = newDechunkReader(body)
	}
	switch d.fault {
	case CorruptBody:
		body = &flipReader{r: body, at: d.offset, mask: d.mask}
	case ResetMidBody:
		body = &cutReader{r: body, left: d.offset}
	}
	if part {
		body = &countReader{r: body, n: &p.uploadPartBytes}
	}
	if r.Method == http.MethodPut {
		body = &countReader{r: body, n: &p.putBytes}
	}
	if st != nil && st.hashes != nil {
		body = io.TeeReader(body, st.hashes)
	}
	if st != nil && st.tee != nil {
		body = io.TeeReader(body, st.tee)
	}
	r2 := r.WithContext(context.WithValue(r.Context(), ctxKey{}, d))
	r2.Body = io.NopCloser(body)
	p.rp.ServeHTTP(w, r2)

	if d.fault == ResetMidBody || d.fault == DropResponse {
		return // the connection was hijacked and reset
	}
	// The target may have answered before reading the whole body (an early
	// NoSuchUpload, say). Left unread, the body makes net/http close the
	// client connection, and the client may see a reset instead of that
	// answer. Cut the upstream transport off the body (it may still be
	// reading in its write loop), then drain the rest, not forwarded.
	g.stop()
	_, _ = io.Copy(io.Discard, r.Body)
}

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(p.target)
	// SigV4 signs the Host header, the escaped path and the query string:
	// all three must reach the target exactly as the client sent them.
	pr.Out.Host = pr.In.Host
	pr.Out.URL.RawQuery = pr.In.URL.RawQuery
	if p.target.Path == "" || p.target.Path == "/" {
		pr.Out.URL.Path = pr.In.URL.Path
		pr.Out.URL.RawPath = pr.In.URL.RawPath
	}
}

var (
	errInjectedReset = errors.New("faultproxy: injected reset")
	errDropResponse  = errors.New("faultproxy: injected dropped response")
)

func (p *Proxy) modifyResponse(res *http.Response) error {
	d, _ := res.Request.Context().Value(ctxKey{}).(decision)
	switch d.fault {
	case ResetMidBody:
		// The target answered before the cut (it rejected the request
		// early); still act out the reset.
		return errInjectedReset
	case DropResponse:
		// The server holds the result: what the emulation remembers of
		// it (a stored part, its CRC32) must hold too.
		if p.emu != nil && res.StatusCode == http.StatusOK {
			_ = p.emuResponse(res)
		}
		return errDropResponse
	}
	if p.emu != nil {
		return p.emuResponse(res)
	}
	return nil
}

func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	d, _ := r.Context().Value(ctxKey{}).(decision)
	if d.fault == ResetMidBody || d.fault == DropResponse {
		p.reset(w)
		return
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody is listening for an answer.
		return
	}
	p.smu.Lock()
	p.upstreamErrors++
	p.smu.Unlock()
	p.log("faultproxy: %s %s: upstream error: %v", r.Method, r.RequestURI, err)
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		p.s3Error(w, r, http.StatusBadGateway, "BadGateway", "faultproxy: target unreachable: "+err.Error())
		return
	}
	// The target broke the connection (for example it answered early and
	// reset it, as versitygw does): break the client's connection too, as
	// talking to the target directly would have.
	p.reset(w)
}

// reset aborts the client connection with a TCP RST (SO_LINGER 0).
func (p *Proxy) reset(w http.ResponseWriter) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // closes the connection
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// stall takes over the connection and holds it silent until StallFor
// elapses or the proxy closes, then closes it.
func (p *Proxy) stall(w http.ResponseWriter) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if !p.track(c) {
		return
	}
	defer p.untrack(c)
	t := time.NewTimer(p.stallFor)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.closing:
	}
}

type s3ErrorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
}

// s3Error answers with an S3-style XML error. The request body is drained
// first, so that the client reliably reads the answer. Not draining is not
// an option: aws-sdk-go-v2 sends "Expect: 100-continue" but builds its
// http.Request with Proto 0.0, so net/http never waits for the 100 and
// streams the body at once; a server that answers early and closes then
// races its own RST, and the client often sees "connection reset" instead
// of the error. (A client that does honour Expect gets a 100 Continue from
// the drain and sends the body; on loopback that is cheap.)
func (p *Proxy) s3Error(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	id := fmt.Sprintf("FAULTPROXY%016X", p.reqIDs.Add(1))
	body, _ := xml.Marshal(s3ErrorBody{Code: code, Message: msg, Resource: r.URL.Path, RequestID: id})
	body = append([]byte(xml.Header), body...)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amz-Request-Id", id)
	h.Set("Server", "faultproxy")
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// guardReader serialises reads of the inbound body with stop: after stop
// returns, no read is in flight and none will reach the inbound body.
type guardReader struct {
	mu      sync.Mutex
	r       io.Reader
	stopped bool
}

var errBodyDetached = errors.New("faultproxy: request body detached after the response")

func (g *guardReader) Read(b []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return 0, errBodyDetached
	}
	return g.r.Read(b)
}

func (g *guardReader) stop() {
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
}

// countReader adds the bytes read through it to n.
type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.n.Add(int64(n))
	}
	return n, err
}

// cutReader yields left bytes, then fails.
type cutReader struct {
	r    io.Reader
	left int64
}

func (c *cutReader) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, errInjectedReset
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	if err == io.EOF && c.left > 0 {
		// Body shorter than the cut (unknown length): still reset.
		err = errInjectedReset
	}
	return n, err
}

// flipReader XORs the byte at offset at with mask.
type flipReader struct {
	r    io.Reader
	pos  int64
	at   int64
	mask byte
}

func (f *flipReader) Read(b []byte) (int, error) {
	n, err := f.r.Read(b)
	if f.at >= f.pos && f.at < f.pos+int64(n) {
		b[f.at-f.pos] ^= f.mask
	}
	f.pos += int64(n)
	return n, err
}
