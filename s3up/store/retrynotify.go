package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddle "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go/middleware"
)

// RetryNotice says that a request failed and the SDK's retryer sends it
// again after Delay.
type RetryNotice struct {
	Op          string        // the operation, in words: "upload part", "create multipart upload"
	Attempt     int           // the attempt about to be made: 2 for the first retry
	MaxAttempts int           // attempts allowed in all (0: no limit)
	Delay       time.Duration // the wait before it
	Err         error         // why the last attempt failed (RetryCause renders it)
}

type retryNotifierKey struct{}

// WithRetryNotifier returns a context whose requests call fn before every
// retry, as soon as the failed attempt is known and before the wait. fn is
// called on the request's goroutine: it must be quick and must not block.
func WithRetryNotifier(ctx context.Context, fn func(RetryNotice)) context.Context {
	return context.WithValue(ctx, retryNotifierKey{}, fn)
}

type retryStopKey struct{}

type retryStop struct {
	done  <-chan struct{}
	cause error
}

// WithRetryStop returns a context whose requests are not retried once done
// is closed (the end of an upload window): the failed attempt's error is
// then the request's, with cause. A wait before a retry ends when done
// closes. Attempts already under way are not cut; only the next ones are
// refused, so a retry never starts after what done stands for.
func WithRetryStop(ctx context.Context, done <-chan struct{}, cause error) context.Context {
	return context.WithValue(ctx, retryStopKey{}, retryStop{done, cause})
}

// retryStopped is the error that refuses the next attempt, or nil.
func retryStopped(ctx context.Context, opErr error) error {
	st, ok := ctx.Value(retryStopKey{}).(retryStop)
	if !ok {
		return nil
	}
	select {
	case <-st.done:
		return fmt.Errorf("%w (not retried: %w)", opErr, st.cause)
	default:
		return nil
	}
}

// How a retry becomes a notice. The SDK's retry middleware (aws/retry,
// Attempt.handleAttempt) asks the retryer, after a retryable failure, first
// for a retry token (GetRetryToken, which gets the context) and then for the
// delay (RetryDelay, which does not), and sleeps that delay itself. So the
// notifying retryer takes the wait over where it has the context: in
// GetRetryToken it computes the delay the SDK would have used, reports it,
// and sleeps it on the context; RetryDelay then answers 0. Attempt tokens
// (the adaptive mode's client-side rate limiting after throttling answers),
// retry decisions and the maximum of attempts are the wrapped retryer's.
//
// GetRetryToken is told neither the attempt number nor the operation's
// start, so a middleware (countRetries) gives each operation call a counter
// of its failed attempts: the n-th call of GetRetryToken comes after the
// n-th attempt failed (the SDK asks for a token only while it will retry).
type notifyingRetryer struct{ aws.RetryerV2 }

// retryCount counts one operation call's failed attempts. An operation's
// attempts run one after another, so it needs no lock.
type retryCount struct{ failed int }

type retryCountKey struct{}

// countRetries gives every operation call its retryCount.
func countRetries(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("s3upRetryCount",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(context.WithValue(ctx, retryCountKey{}, &retryCount{}), in)
		}), middleware.After)
}

func (r notifyingRetryer) GetRetryToken(ctx context.Context, opErr error) (func(error) error, error) {
	if err := retryStopped(ctx, opErr); err != nil {
		return nil, err
	}
	release, err := r.RetryerV2.GetRetryToken(ctx, opErr)
	if err != nil {
		return release, err
	}
	attempt := 1
	if c, ok := ctx.Value(retryCountKey{}).(*retryCount); ok {
		c.failed++
		attempt = c.failed
	}
	backoff, err := r.RetryerV2.RetryDelay(attempt, opErr)
	if err != nil {
		_ = release(err)
		return nil, err
	}
	// The middleware still applies an X-Amz-Retry-After header to the 0
	// that RetryDelay answers; the total is what it would have slept.
	total := withRetryAfter(backoff, opErr)
	if fn, ok := ctx.Value(retryNotifierKey{}).(func(RetryNotice)); ok {
		fn(RetryNotice{Op: operationWords(awsmiddle.GetOperationName(ctx)), Attempt: attempt + 1,
			MaxAttempts: r.MaxAttempts(), Delay: total, Err: opErr})
	}
	t := time.NewTimer(total - withRetryAfter(0, opErr))
	defer t.Stop()
	stop, _ := ctx.Value(retryStopKey{}).(retryStop)
	select {
	case <-t.C:
	case <-stop.done:
		_ = release(opErr)
		return nil, retryStopped(ctx, opErr)
	case <-ctx.Done():
		// The middleware finds the context done before the next attempt
		// and ends with its error, as after its own sleep.
	}
	return release, nil
}

// RetryDelay is 0: GetRetryToken waited already.
func (r notifyingRetryer) RetryDelay(int, error) (time.Duration, error) { return 0, nil }

// withRetryAfter is the SDK's adjustment of a backoff to an
// X-Amz-Retry-After header (aws/retry adjustForRetryAfterHeader): the
// header's milliseconds, kept within [backoff, backoff+5s].
func withRetryAfter(backoff time.Duration, err error) time.Duration {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.Response == nil {
		return backoff
	}
	ms, perr := strconv.ParseInt(re.Response.Header.Get("X-Amz-Retry-After"), 10, 64)
	if perr != nil || ms < 0 {
		return backoff
	}
	return min(max(time.Duration(ms)*time.Millisecond, backoff), backoff+5*time.Second)
}

// operationWords turns an operation name into words: CreateMultipartUpload
// is "create multipart upload".
func operationWords(op string) string {
	if op == "" {
		return "request"
	}
	var b strings.Builder
	for i, r := range op {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte(' ')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
