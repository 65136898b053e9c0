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
	sdk      bool
}

// SDK reports whether requests go through the SDK's own HTTP stack, where
// per-call middleware such as WithTrailer applies (not a stand-in S3API).
func (c *Client) SDK() bool {
	if c.sdk {
		return true
	}
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
	cc = cc.withDefaults()
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
		config.WithRetryer(cc.retryer),
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
	cc.Endpoint = endpoint
	return fromConfig(cfg, cc)
}

// FromConfig builds a Client from an aws.Config the caller loaded (its
// credentials, region, HTTP client, retryer). What the configuration leaves
// open gets s3up's choices: with no Retryer, s3up's (adaptive, cc's
// MaxAttempts, no retry quota); an HTTP client the SDK built
// (awshttp.BuildableClient, what config.LoadDefaultConfig makes, with
// AWS_CA_BUNDLE and proxies) gets s3up's connection pool and stall timeout
// (cc.StallTimeout); a client of another type is used as it is. The
// endpoint is cc.Endpoint, else cfg.BaseEndpoint, else AWS's. Request and
// response checksums are computed only where an operation requires them:
// s3up sets each part's checksum itself. cc's Region, Profile and Logger
// are not used (the configuration has its own). optFns change the S3
// client's options after s3up's (a BaseEndpoint, UsePathStyle).
func FromConfig(cfg aws.Config, cc ClientConfig, optFns ...func(*s3.Options)) (*Client, error) {
	cc = cc.withDefaults()
	if cfg.Retryer == nil {
		cfg.Retryer = cc.retryer
	}
	switch hc := cfg.HTTPClient.(type) {
	case nil:
		cfg.HTTPClient = buildHTTP(cc.StallTimeout, cc.Concurrency)
	case *awshttp.BuildableClient:
		cfg.HTTPClient = tuneHTTP(hc, cc.StallTimeout, cc.Concurrency)
	}
	return fromConfig(cfg, cc, optFns...)
}

// FromS3 wraps an existing S3 client. The client keeps its own retryer and
// HTTP client; s3up adds, call by call, what it needs (retry notices, the
// checksums it sets itself, Accept-Encoding kept out of the signature) and,
// where the client's HTTP client is one the SDK built, its stall timeout
// (DefaultStallTimeout). Endpoint, region and path style are the client's;
// an endpoint that is not an http:// or https:// URL is an error.
func FromS3(c *s3.Client) (*Client, error) {
	o := c.Options()
	info, err := infoOf(o)
	if err != nil {
		return nil, err
	}
	call := []func(*s3.Options){tuneOptions}
	var slow []func(*s3.Options)
	if bc, ok := o.HTTPClient.(*awshttp.BuildableClient); ok {
		tuned := tuneHTTP(bc, DefaultStallTimeout, 0)
		slowHC := bc.WithTransportOptions(func(tr *http.Transport) { tr.DialContext = stallDialer(CompleteWait) })
		call = append(call, func(o *s3.Options) { o.HTTPClient = tuned })
		slow = []func(*s3.Options){func(o *s3.Options) { o.HTTPClient = slowHC }}
	}
	return &Client{API: withCallOptions{c: c, opts: call}, Info: info, longWait: slow, sdk: true}, nil
}

func (cc ClientConfig) withDefaults() ClientConfig {
	if cc.MaxAttempts == 0 {
		cc.MaxAttempts = DefaultMaxAttempts
	}
	if cc.StallTimeout == 0 {
		cc.StallTimeout = DefaultStallTimeout
	}
	if cc.Concurrency <= 0 {
		cc.Concurrency = 4
	}
	return cc
}

// retryer is s3up's retryer. Adaptive mode: throttling answers (503
// SlowDown, 429) slow the whole client down, not just the part that saw
// them. No retry quota: a long upload over a bad link must not run out of
// retries globally; MaxAttempts bounds each request instead.
func (cc ClientConfig) retryer() aws.Retryer {
	return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
		o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
			so.MaxAttempts = cc.MaxAttempts
			so.MaxBackoff = maxBackoff
			so.RateLimiter = ratelimit.None
			so.Retryables = retryables(so.Retryables)
		})
	})
}

// fromConfig builds the S3 client of cfg for cc.Endpoint (else
// cfg.BaseEndpoint, an endpoint_url from a shared config profile or the
// caller's), with s3up's middleware, then optFns.
func fromConfig(cfg aws.Config, cc ClientConfig, optFns ...func(*s3.Options)) (*Client, error) {
	cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	endpoint := cc.Endpoint
	if endpoint == "" && cfg.BaseEndpoint != nil {
		endpoint = *cfg.BaseEndpoint
	}
	var err error
	if endpoint != "" {
		if endpoint, err = NormalizeEndpoint(endpoint); err != nil {
			return nil, err
		}
	}
	pathStyle := endpoint != ""
	if cc.PathStyle != nil {
		pathStyle = *cc.PathStyle
	}
	fns := append([]func(*s3.Options){func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = pathStyle
		tuneOptions(o)
	}}, optFns...)
	client := s3.NewFromConfig(cfg, fns...)
	info, err := infoOf(client.Options())
	if err != nil {
		return nil, err
	}
	c := &Client{API: client, Info: info, sdk: true}
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok && cc.StallTimeout > 0 {
		// A copy of the configured client (AWS_CA_BUNDLE and proxies
		// included) whose stall timer allows CompleteWait.
		slow := bc.WithTransportOptions(func(tr *http.Transport) { tr.DialContext = stallDialer(max(cc.StallTimeout, CompleteWait)) })
		c.longWait = []func(*s3.Options){func(o *s3.Options) { o.HTTPClient = slow }}
	}
	return c, nil
}

// infoOf describes a client from its options.
func infoOf(o s3.Options) (ClientInfo, error) {
	endpoint := aws.ToString(o.BaseEndpoint)
	if endpoint != "" {
		var err error
		if endpoint, err = NormalizeEndpoint(endpoint); err != nil {
			return ClientInfo{}, err
		}
	}
	return ClientInfo{Endpoint: endpoint, Region: o.Region, PathStyle: o.UsePathStyle,
		TLS: endpoint == "" || strings.HasPrefix(endpoint, "https://")}, nil
}

// tuneOptions adds s3up's middleware to an S3 client's options: the
// Accept-Encoding header kept out of the signature, each call's retries
// counted and reported to a notifier in the request's context
// (WithRetryNotifier), and checksums only where an operation requires them.
// Clients the SDK builds from the same configuration (the credential
// chain's IMDS, STS, SSO) keep the plain retryer, whose waits are its own,
// although their requests run within an S3 request's context.
func tuneOptions(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, unsignedAcceptEncoding, countRetries)
	o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	if r, ok := o.Retryer.(aws.RetryerV2); ok {
		if _, done := r.(notifyingRetryer); !done {
			o.Retryer = notifyingRetryer{r}
		}
	}
}

// withCallOptions is an existing S3 client whose every call gets opts
// first (FromS3).
type withCallOptions struct {
	c    *s3.Client
	opts []func(*s3.Options)
}

func (w withCallOptions) with(fns []func(*s3.Options)) []func(*s3.Options) {
	return append(append([]func(*s3.Options){}, w.opts...), fns...)
}

func (w withCallOptions) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, fns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	return w.c.CreateMultipartUpload(ctx, in, w.with(fns)...)
}
func (w withCallOptions) UploadPart(ctx context.Context, in *s3.UploadPartInput, fns ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	return w.c.UploadPart(ctx, in, w.with(fns)...)
}
func (w withCallOptions) ListParts(ctx context.Context, in *s3.ListPartsInput, fns ...func(*s3.Options)) (*s3.ListPartsOutput, error) {
	return w.c.ListParts(ctx, in, w.with(fns)...)
}
func (w withCallOptions) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, fns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	return w.c.CompleteMultipartUpload(ctx, in, w.with(fns)...)
}
func (w withCallOptions) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, fns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	return w.c.AbortMultipartUpload(ctx, in, w.with(fns)...)
}
func (w withCallOptions) ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, fns ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error) {
	return w.c.ListMultipartUploads(ctx, in, w.with(fns)...)
}
func (w withCallOptions) HeadObject(ctx context.Context, in *s3.HeadObjectInput, fns ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return w.c.HeadObject(ctx, in, w.with(fns)...)
}
func (w withCallOptions) GetObject(ctx context.Context, in *s3.GetObjectInput, fns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return w.c.GetObject(ctx, in, w.with(fns)...)
}
func (w withCallOptions) PutObject(ctx context.Context, in *s3.PutObjectInput, fns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return w.c.PutObject(ctx, in, w.with(fns)...)
}
func (w withCallOptions) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, fns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return w.c.ListObjectsV2(ctx, in, w.with(fns)...)
}
func (w withCallOptions) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, fns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	return w.c.DeleteObject(ctx, in, w.with(fns)...)
}
func (w withCallOptions) DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, fns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	return w.c.DeleteObjects(ctx, in, w.with(fns)...)
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
	return tuneHTTP(awshttp.NewBuildableClient(), stall, conc)
}

// tuneHTTP returns a copy of bc (its CA bundle, proxy and TLS settings
// kept) with s3up's connection pool (for conc parts in flight; 0 keeps
// bc's) and stall timeout.
func tuneHTTP(bc *awshttp.BuildableClient, stall time.Duration, conc int) *awshttp.BuildableClient {
	return bc.WithTransportOptions(func(tr *http.Transport) {
		if conc > 0 {
			// One connection per in-flight part plus headroom for ListParts etc.
			tr.MaxIdleConns = conc*2 + 4
			tr.MaxIdleConnsPerHost = conc*2 + 4
		}
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
