package store

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
)

// ClientConfig selects the store and how to talk to it. Zero values mean
// "what the AWS SDK's default chain says" (environment, shared config files,
// profile), so s3up behaves like the aws CLI unless told otherwise.
type ClientConfig struct {
	Endpoint  string // custom endpoint URL; "" → AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, shared config, AWS
	Region    string // "" → SDK chain, then DefaultRegion
	Profile   string // shared config profile; "" → AWS_PROFILE or default
	PathStyle *bool  // nil → on for a custom endpoint, off for AWS
	// MaxAttempts bounds attempts per request (first try included);
	// 0 → DefaultMaxAttempts.
	MaxAttempts int
	// StallTimeout aborts a connection that moves no byte for this long; the
	// request is retried. 0 → DefaultStallTimeout; negative disables.
	StallTimeout time.Duration
	// Concurrency sizes the connection pool (0 → 4).
	Concurrency int
	// Logger receives the SDK's own log lines (such as "falling back to
	// IMDSv1" when no credentials are configured); nil discards them, so
	// nothing but s3up's lines reaches stderr. LogMode selects what else
	// the SDK logs to it (aws.LogRetries, aws.LogRequest, ...).
	Logger  logging.Logger
	LogMode aws.ClientLogMode
}

const (
	DefaultRegion       = "us-east-1"
	DefaultMaxAttempts  = 10
	DefaultStallTimeout = 60 * time.Second
	// CompleteWait is how long CompleteMultipartUpload's answer may take:
	// a store may assemble a large object for minutes before it answers (AWS
	// sends whitespace meanwhile; others send nothing), and that wait is not
	// a stalled link.
	CompleteWait = 15 * time.Minute
	// maxBackoff caps the exponential backoff between attempts.
	maxBackoff = 20 * time.Second
)

// ClientInfo describes the resolved client, for state and messages.
type ClientInfo struct {
	Endpoint  string // normalised (NormalizeEndpoint); "" for AWS's own endpoints
	Region    string
	PathStyle bool
	TLS       bool // requests go over HTTPS
}

// Client is an S3 client with the facts about it that the engine needs.
type Client struct {
	API  S3API
	Info ClientInfo
	// longWait are per-call options for operations whose answer may take
	// long to start (CompleteMultipartUpload): an HTTP client whose stall
	// timer allows CompleteWait for the first byte.
	longWait []func(*s3.Options)
}

// SDK reports whether requests go through the SDK's own HTTP stack, where
// per-call middleware such as WithTrailer applies (not a stand-in S3API).
func (c *Client) SDK() bool {
	_, ok := c.API.(*s3.Client)
	return ok
}

// LongWait returns the call options for an operation whose answer may take
// minutes to start (see CompleteWait).
func (c *Client) LongWait() []func(*s3.Options) { return c.longWait }

// NewClient builds an S3 client through the SDK's own config chain.
//
// It uses the SDK's BuildableClient so AWS_CA_BUNDLE (set on many managed
// machines) keeps working: the SDK refuses to install a CA bundle into an
// http.Client it did not build. Request checksums are sent only when an
// operation requires them, because several S3-compatible stores reject the
// CRC trailers recent SDKs add by default; s3up sets each part's checksum
// itself.
func NewClient(ctx context.Context, cc ClientConfig) (*Client, error) {
	if cc.MaxAttempts == 0 {
		cc.MaxAttempts = DefaultMaxAttempts
	}
	if cc.StallTimeout == 0 {
		cc.StallTimeout = DefaultStallTimeout
	}
	if cc.Concurrency <= 0 {
		cc.Concurrency = 4
	}
	endpoint := cc.Endpoint
	if endpoint == "" {
		endpoint = firstEnv("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
	}
	logger := cc.Logger
	if logger == nil {
		logger = logging.Nop{}
	}
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(buildHTTP(cc.StallTimeout, cc.Concurrency)),
		config.WithLogger(logger),
		config.WithClientLogMode(cc.LogMode),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		config.WithRetryer(func() aws.Retryer {
			// Adaptive mode: throttling answers (503 SlowDown, 429) slow the
			// whole client down, not just the part that saw them. No retry
			// quota: a long upload over a bad link must not run out of
			// retries globally; MaxAttempts bounds each request instead.
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
					so.MaxAttempts = cc.MaxAttempts
					so.MaxBackoff = maxBackoff
					so.RateLimiter = ratelimit.None
					so.Retryables = retryables(so.Retryables)
				})
			})
		}),
	}
	if cc.Region != "" {
		opts = append(opts, config.WithRegion(cc.Region))
	}
	if cc.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cc.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: load AWS configuration: %w", ErrBadInput, err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if endpoint == "" && cfg.BaseEndpoint != nil {
		endpoint = *cfg.BaseEndpoint // endpoint_url from a shared config profile
	}
	if endpoint != "" {
		if endpoint, err = NormalizeEndpoint(endpoint); err != nil {
			return nil, err
		}
	}
	pathStyle := endpoint != ""
	if cc.PathStyle != nil {
		pathStyle = *cc.PathStyle
	}
	info := ClientInfo{Endpoint: endpoint, Region: cfg.Region, PathStyle: pathStyle,
		TLS: endpoint == "" || strings.HasPrefix(endpoint, "https://")}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = pathStyle
		o.APIOptions = append(o.APIOptions, unsignedAcceptEncoding)
	})
	c := &Client{API: client, Info: info}
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok && cc.StallTimeout > 0 {
		// A copy of the configured client (AWS_CA_BUNDLE and proxies
		// included) whose stall timer allows CompleteWait.
		slow := bc.WithTransportOptions(func(tr *http.Transport) { tr.DialContext = stallDialer(max(cc.StallTimeout, CompleteWait)) })
		c.longWait = []func(*s3.Options){func(o *s3.Options) { o.HTTPClient = slow }}
	}
	return c, nil
}

// NormalizeEndpoint returns the canonical form of an endpoint URL, which is
// part of the resume state's identity: scheme and host in lower case, no
// default port, no user-info (credentials never go into state), no trailing
// slash. http://H:80/ and HTTP://h are the same endpoint.
func NormalizeEndpoint(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (strings.ToLower(u.Scheme) != "http" && strings.ToLower(u.Scheme) != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: endpoint %q is not an http:// or https:// URL", ErrBadInput, redactUserinfo(s))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: endpoint %q must not have a query or fragment", ErrBadInput, redactUserinfo(s))
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6
	}
	if p := u.Port(); p != "" && !(scheme == "http" && p == "80") && !(scheme == "https" && p == "443") {
		host += ":" + p
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

func redactUserinfo(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	return s
}

func buildHTTP(stall time.Duration, conc int) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		// One connection per in-flight part plus headroom for ListParts etc.
		tr.MaxIdleConns = conc*2 + 4
		tr.MaxIdleConnsPerHost = conc*2 + 4
		tr.WriteBufferSize = 128 << 10
		tr.ReadBufferSize = 64 << 10
		tr.DisableCompression = true
		if stall > 0 {
			tr.DialContext = stallDialer(stall)
		}
	})
}

// stallDialer dials connections that fail when they move no byte for stall.
func stallDialer(stall time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newStallConn(c, stall), nil
	}
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// stallConn fails a read or write that makes no progress for timeout. Every
// successful call pushes the deadline forward, so a slow but moving upload
// is never cut, while a dead link is detected and the request retried.
//
// Pushing a deadline costs a lock and a timer update (about 230 ns), and an
// HTTPS part is tens of thousands of 16 KiB TLS records, so the deadline is
// pushed only when a sixteenth of the timeout has passed since it was last
// set: it is then never less than 15/16 of the timeout away.
type stallConn struct {
	net.Conn
	timeout time.Duration
	born    time.Time    // monotonic origin of the times below
	readAt  atomic.Int64 // when the read deadline was last set (since born)
	bothAt  atomic.Int64 // when both deadlines were last set (since born)
}

func newStallConn(c net.Conn, timeout time.Duration) *stallConn {
	s := &stallConn{Conn: c, timeout: timeout, born: time.Now()}
	s.readAt.Store(-int64(timeout))
	s.bothAt.Store(-int64(timeout))
	return s
}

// due reports whether the deadline stamped at *at must be pushed now, and
// stamps it.
func (c *stallConn) due(at *atomic.Int64) (time.Time, bool) {
	now := time.Now()
	since := int64(now.Sub(c.born))
	if since-at.Load() < int64(c.timeout/16) {
		return now, false
	}
	at.Store(since)
	return now, true
}

func (c *stallConn) Read(p []byte) (int, error) {
	if now, due := c.due(&c.readAt); due {
		if err := c.Conn.SetReadDeadline(now.Add(c.timeout)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(p)
}

func (c *stallConn) Write(p []byte) (int, error) {
	// Large writes are split so the deadline measures progress, not the
	// time to push a whole buffer through a slow link.
	var n int
	for len(p) > 0 {
		chunk := p
		if len(chunk) > 64<<10 {
			chunk = chunk[:64<<10]
		}
		// SetDeadline, not SetWriteDeadline: the transport reads the
		// response concurrently with writing the body, and that pending
		// read must not time out while the body is still moving.
		if now, due := c.due(&c.bothAt); due {
			if err := c.Conn.SetDeadline(now.Add(c.timeout)); err != nil {
				return n, err
			}
			c.readAt.Store(c.bothAt.Load())
		}
		m, err := c.Conn.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}
