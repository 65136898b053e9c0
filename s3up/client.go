package s3up

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
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
	// Concurrency sizes the connection pool (0 → DefaultConcurrency).
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
	// maxBackoff caps the exponential backoff between attempts.
	maxBackoff = 20 * time.Second
)

// ClientInfo describes the resolved client, for state and messages.
type ClientInfo struct {
	Endpoint  string // "" for AWS's own endpoints
	Region    string
	PathStyle bool
	TLS       bool // requests go over HTTPS
}

// NewClient builds an S3 client through the SDK's own config chain.
//
// It uses the SDK's BuildableClient so AWS_CA_BUNDLE (set on many managed
// machines) keeps working: the SDK refuses to install a CA bundle into an
// http.Client it did not build. Request checksums are sent only when an
// operation requires them, because several S3-compatible stores reject the
// CRC trailers recent SDKs add by default; s3up sets the per-part checksum
// itself (see Options.Checksum).
func NewClient(ctx context.Context, cc ClientConfig) (*s3.Client, ClientInfo, error) {
	if cc.MaxAttempts == 0 {
		cc.MaxAttempts = DefaultMaxAttempts
	}
	if cc.StallTimeout == 0 {
		cc.StallTimeout = DefaultStallTimeout
	}
	if cc.Concurrency <= 0 {
		cc.Concurrency = DefaultConcurrency
	}
	endpoint := cc.Endpoint
	if endpoint == "" {
		endpoint = firstEnv("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
	}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, ClientInfo{}, fmt.Errorf("%w: endpoint %q is not an http:// or https:// URL", ErrBadInput, endpoint)
		}
	}

	stall := cc.StallTimeout
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		// One connection per in-flight part plus headroom for ListParts etc.
		tr.MaxIdleConns = cc.Concurrency*2 + 4
		tr.MaxIdleConnsPerHost = cc.Concurrency*2 + 4
		tr.WriteBufferSize = 128 << 10
		tr.ReadBufferSize = 64 << 10
		tr.DisableCompression = true
		if stall > 0 {
			d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
			tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return &stallConn{Conn: c, timeout: stall}, nil
			}
		}
	})

	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
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
					so.Retryables = append(append([]retry.IsErrorRetryable{noRetryTLS}, so.Retryables...), retryables)
				})
			})
		}),
	}
	logger := cc.Logger
	if logger == nil {
		logger = logging.Nop{}
	}
	opts = append(opts, config.WithLogger(logger), config.WithClientLogMode(cc.LogMode))
	if cc.Region != "" {
		opts = append(opts, config.WithRegion(cc.Region))
	}
	if cc.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cc.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, ClientInfo{}, fmt.Errorf("%w: load AWS configuration: %w", ErrBadInput, err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if endpoint == "" && cfg.BaseEndpoint != nil {
		endpoint = *cfg.BaseEndpoint // endpoint_url from a shared config profile
	}
	pathStyle := endpoint != ""
	if cc.PathStyle != nil {
		pathStyle = *cc.PathStyle
	}
	info := ClientInfo{Endpoint: endpoint, Region: cfg.Region, PathStyle: pathStyle,
		TLS: endpoint == "" || strings.HasPrefix(strings.ToLower(endpoint), "https://")}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = pathStyle
	})
	return client, info, nil
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
type stallConn struct {
	net.Conn
	timeout time.Duration
}

func (c *stallConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
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
		if err := c.Conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
			return n, err
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
