package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/store"
)

// The golden tests drive the renderers (a file's or a stream's put, a
// tree, the error line) with synthetic event sequences and compare what
// they print with testdata/NAME.MODE.golden, MODE being plain (stderr and
// stdout as in a cron log), json (--json) and tty (the bar, through a
// pseudo-terminal; pty_linux_test.go). Rewrite them with
//
//	go test ./cmd/s3up -run Golden -update
//
// and read the diff: it is what a user will see. The clock of the
// renderers is the scenario's own (output.now), so durations, rates and the
// pace of progress and retry lines are exact; only the terminal bar's rate
// and times, which the progress bar library takes from the wall clock, are
// normalised (see normalizeTTY).
var update = flag.Bool("update", false, "rewrite cmd/s3up/testdata/*.golden from the current output")

// step is one thing that happens in a scenario: an event reaches the
// renderer, or the clock moves on.
type step struct {
	ev      s3up.Event
	advance time.Duration
}

func ev(e s3up.Event) step       { return step{ev: e} }
func after(d time.Duration) step { return step{advance: d} }
func evs(es ...s3up.Event) []step { // events with no time between them
	out := make([]step, len(es))
	for i, e := range es {
		out[i] = ev(e)
	}
	return out
}

// scenario is what one run of a renderer sees.
type scenario struct {
	name string
	tree bool // a tree run (treeRenderer), else a put (putRenderer)
	// unchecked: the stored object's content was not verified, which
	// --quiet must still say.
	unchecked bool
	steps     []step
	res       *s3up.Result     // a put's result
	tres      *s3up.TreeResult // a tree's result
	err       error            // the run's error
}

// verification is what a result says of a check that proved the content.
func verification(method string) *s3up.Verification {
	var checks []s3up.Check
	for _, l := range strings.Split(method, ", ") {
		checks = append(checks, s3up.Check{Label: l})
	}
	return &s3up.Verification{Checks: checks, Content: true}
}

// fakeClock is a scenario's clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

const (
	gBucket  = "backups"
	gKey     = "nightly/db.tar"
	gSrc     = "/srv/db.tar"
	gState   = "/home/op/.local/state/s3up/db.tar-0123456789abcdef.s3up"
	gUpload  = "ZjQ3YTBhYzktNDhkYi00YjJmLWE1NGYtMjE3MDliOWYxNzZlLjJkYjE0YjcyLWQ2ZDctNDE0Zi1iMGVlLTA2ZTk0ZjQ0YjFhOHgxNzY0NjM4MDAwMDAwMDAwMDAw"
	gUpload2 = "NGU3YzI0N2YtNzU1Mi00YzBjLWJmNjQtNDc0NWRmY2MxNmI2LjE2ZjA3MTFiLWE0ZDAtNGY2OC1iZjg0LWQ5N2RlNzk0NmY4NngxNzY0NjM4MDAwMDAwMDAwMDAw"
)

// refused is the error a put to a refusing endpoint ends with, as the SDK
// returns it after its attempts, classified as the engine does.
func refused() error {
	dial := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1},
		Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	sdk := &smithy.OperationError{ServiceID: "S3", OperationName: "CreateMultipartUpload",
		Err: &retry.MaxAttemptsError{Attempt: 10, Err: &smithyhttp.RequestSendError{
			Err: &url.Error{Op: "Post", URL: "http://127.0.0.1:1/backups/nightly/db.tar?uploads=", Err: dial}}}}
	return store.Classify(&s3up.UploadError{Op: "create multipart upload", Err: sdk})
}

func scenarios() []scenario {
	mib := int64(1 << 20)
	etag := func(n int) string { return fmt.Sprintf(`"%032x"`, n) }
	fresh := []step{
		ev(s3up.Planned{Source: gSrc, Bucket: gBucket, Key: gKey, Size: 48 * mib, PartSize: 16 * mib, Parts: 3, State: gState}),
		ev(s3up.Started{UploadID: gUpload}),
		after(400 * time.Millisecond),
		ev(s3up.Progress{Bytes: 6 * mib, Total: 48 * mib, Parts: 3}),
		after(1200 * time.Millisecond),
		ev(s3up.Progress{Bytes: 16 * mib, Total: 48 * mib, Parts: 3}),
		ev(s3up.PartDone{Number: 1, Size: 16 * mib, ETag: etag(1)}),
		ev(s3up.Retry{Operation: "upload part", Attempt: 2, MaxAttempts: 10, Delay: 1300 * time.Millisecond, Cause: "503 SlowDown"}),
		after(300 * time.Millisecond),
		ev(s3up.Retry{Operation: "upload part", Attempt: 2, MaxAttempts: 10, Delay: 40 * time.Millisecond, Cause: "connection reset by the other end"}),
		after(10 * time.Second),
		ev(s3up.Progress{Bytes: 32 * mib, Total: 48 * mib, PartsDone: 1, Parts: 3}),
		ev(s3up.PartDone{Number: 2, Size: 16 * mib, ETag: etag(2)}),
		after(2 * time.Second),
		ev(s3up.Progress{Bytes: 48 * mib, Total: 48 * mib, PartsDone: 2, Parts: 3}),
		ev(s3up.PartDone{Number: 3, Size: 16 * mib, ETag: etag(3)}),
		ev(s3up.Completed{ETag: `"0a1b2c3d4e5f60718293a4b5c6d7e8f9-3"`}),
		ev(s3up.Verified{Method: "size, CRC32C checksum (composite), multipart ETag", Value: "Dk5Wbw==-3", Content: true}),
		after(100 * time.Millisecond),
	}
	resume := []step{
		ev(s3up.Planned{Source: gSrc, Bucket: gBucket, Key: gKey, Size: 48 * mib, PartSize: 16 * mib, Parts: 3, State: gState}),
		ev(s3up.Resumed{UploadID: gUpload, Parts: 3, OnServer: 2, ToSend: 1, BytesOnServer: 32 * mib}),
		ev(s3up.Rechecked{Parts: 2, Bytes: 32 * mib}),
		after(time.Second),
		ev(s3up.Progress{Bytes: 48 * mib, Total: 48 * mib, PartsDone: 2, Parts: 3}),
		ev(s3up.PartDone{Number: 3, Size: 16 * mib, ETag: etag(3)}),
		ev(s3up.Completed{ETag: `"0a1b2c3d4e5f60718293a4b5c6d7e8f9-3"`}),
		ev(s3up.Verified{Method: "size, CRC32C checksum (composite), multipart ETag", Value: "Dk5Wbw==-3", Content: true}),
	}
	changed := "the source changed since the upload started (size 50331648 -> 20971520): its parts cannot be used"
	replaced := append(evs(
		s3up.Warning{Message: "aborted old upload " + gUpload + ": " + changed},
		s3up.Planned{Source: gSrc, Bucket: gBucket, Key: gKey, Size: 20 * mib, PartSize: 16 * mib, Parts: 2, State: gState},
		s3up.Started{UploadID: gUpload2, Reason: changed},
		s3up.Progress{Bytes: 16 * mib, Total: 20 * mib, Parts: 2},
		s3up.PartDone{Number: 1, Size: 16 * mib, ETag: etag(1)},
		s3up.Progress{Bytes: 20 * mib, Total: 20 * mib, PartsDone: 1, Parts: 2},
		s3up.PartDone{Number: 2, Size: 4 * mib, ETag: etag(2)},
		s3up.Completed{ETag: `"00112233445566778899aabbccddeeff-2"`},
		s3up.Verified{Method: "size, CRC32C checksum (composite), multipart ETag", Content: true},
	), after(1500*time.Millisecond))
	stream := []step{
		ev(s3up.Planned{Source: "pg_dump db", Bucket: gBucket, Key: "db.sql", Size: -1, State: gState}),
		ev(s3up.Started{UploadID: gUpload}),
		after(500 * time.Millisecond),
		ev(s3up.Progress{Bytes: 10 * mib, Total: -1}),
		ev(s3up.PartDone{Number: 1, Size: 16 * mib, ETag: etag(1)}),
		after(10 * time.Second),
		ev(s3up.Progress{Bytes: 24 * mib, Total: -1, PartsDone: 1}),
		ev(s3up.PartDone{Number: 2, Size: 8 * mib, ETag: etag(2)}),
		ev(s3up.Completed{ETag: `"ffeeddccbbaa99887766554433221100-2"`}),
		ev(s3up.Verified{Method: "size, CRC32C checksum (composite), multipart ETag", Content: true}),
	}
	// A sealed stream rerun whose producer wrote other bytes: from its
	// first part (sealed again under a new key), or after parts were kept
	// (the run fails; the next one starts over under a new key).
	resealed := "the stream differs from the one sealed under the interrupted upload's key: sealed again under a new key from its start, never the same key on other bytes"
	sealedStream := append(evs(
		s3up.Planned{Source: "pg_dump db", Bucket: gBucket, Key: "db.sql.age", Size: -1, State: gState},
		s3up.Warning{Message: "aborted old upload " + gUpload + ": the stream differs from the one sealed under its key: sealed again under a new key"},
		s3up.Started{UploadID: gUpload2, Reason: resealed},
		s3up.Progress{Bytes: 16 * mib, Total: -1},
		s3up.PartDone{Number: 1, Size: 16 * mib, ETag: etag(1)},
		s3up.Progress{Bytes: 24 * mib, Total: -1, PartsDone: 1},
		s3up.PartDone{Number: 2, Size: 8 * mib, ETag: etag(2)},
		s3up.Completed{ETag: `"ffeeddccbbaa99887766554433221100-2"`},
		s3up.Verified{Method: "size, CRC32C checksum (composite), multipart ETag", Content: true},
	), after(3*time.Second))
	sealedDiffers := append(evs(
		s3up.Planned{Source: "pg_dump db", Bucket: gBucket, Key: "db.sql.age", Size: -1, State: gState},
		s3up.Progress{Bytes: 32 * mib, Total: -1, PartsDone: 2},
		s3up.Warning{Message: "aborted old upload " + gUpload + ": part 3 of the stream differs from the part sealed under its key"},
	), after(2*time.Second))
	differs := store.WithKind(s3up.ErrTransient, &s3up.UploadError{Op: "upload", UploadID: gUpload,
		Err: errors.New("pg_dump db differs at part 3 from the interrupted sealed upload: that part cannot be sent under the upload's key (the store would see other bytes under it), " +
			"and parts 1-2, kept from that upload, cannot be read again to seal them under a new one; the upload was aborted and its key forgotten: " +
			"the next run of the stream seals it under a new key from its start")})
	retries := []step{
		ev(s3up.Planned{Source: gSrc, Bucket: gBucket, Key: gKey, Size: 48 * mib, PartSize: 16 * mib, Parts: 3, State: gState}),
	}
	for i, d := range []time.Duration{30, 70, 160, 340, 700, 1500, 3100, 6000, 12800} {
		retries = append(retries,
			ev(s3up.Retry{Operation: "create multipart upload", Attempt: i + 2, MaxAttempts: 10, Delay: d * time.Millisecond, Cause: "connection refused"}),
			after(d*time.Millisecond))
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(signalled{syscall.SIGTERM})
	interrupted := withSignal(ctx, &s3up.UploadError{Op: "upload interrupted", UploadID: gUpload, StatePath: gState, Err: context.Canceled})
	tree := []step{
		ev(s3up.TreeScanned{Files: 4, Bytes: 40*mib + 3000, Objects: 1, Skipped: 1}),
		ev(s3up.Skipped{Path: "/srv/data/latest", Reason: "symbolic link, not followed", NotFollowed: true}),
		ev(s3up.FileDone{Path: "/srv/data/a.txt", Key: "srv/a.txt", Size: 1000, Decision: s3up.DecisionUnchanged, Outcome: s3up.OutcomeSkipped}),
		after(1100 * time.Millisecond),
		ev(s3up.Progress{Bytes: 1000 + 8*mib, Total: 40*mib + 3000, FilesDone: 1, Files: 4}),
		ev(s3up.InFile{Path: "/srv/data/big.bin", Key: "srv/big.bin", Event: s3up.Resumed{UploadID: gUpload, Parts: 3, OnServer: 1, ToSend: 2, BytesOnServer: 16 * mib}}),
		ev(s3up.Retry{Operation: "upload part", Attempt: 2, MaxAttempts: 10, Delay: 90 * time.Millisecond, Cause: "500 InternalError"}),
		ev(s3up.FileDone{Path: "/srv/data/b.txt", Key: "srv/b.txt", Size: 1000, Decision: s3up.DecisionNew, Outcome: s3up.OutcomeUploaded,
			Upload: &s3up.Result{Bucket: gBucket, Key: "srv/b.txt", Size: 1000, BytesSent: 1000, ETag: etag(7), Verified: "PutObject's answer, CRC32C checksum, ETag (MD5)"}}),
		ev(s3up.FileDone{Path: "/srv/data/c.txt", Key: "srv/c.txt", Size: 1000, Decision: s3up.DecisionNew, Outcome: s3up.OutcomeFailed,
			Err: store.WithKind(s3up.ErrAccess, &s3up.UploadError{Op: "put object", Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied."}})}),
		after(10 * time.Second),
		ev(s3up.Progress{Bytes: 1000 + 40*mib, Total: 40*mib + 3000, FilesDone: 3, Files: 4}),
		ev(s3up.FileDone{Path: "/srv/data/big.bin", Key: "srv/big.bin", Size: 40 * mib, Decision: s3up.DecisionNew, Outcome: s3up.OutcomeUploaded,
			Upload: &s3up.Result{Bucket: gBucket, Key: "srv/big.bin", Size: 40 * mib, BytesSent: 24 * mib, Resumed: true, PartsKept: 1, PartsSent: 2, Parts: 3, ETag: etag(8) + "-3", Verified: "size, CRC32C checksum (composite)"}}),
	}
	treeRes := &s3up.TreeResult{Bucket: gBucket, Prefix: "srv/", Files: 4, Bytes: 40*mib + 3000, Uploaded: 2, BytesUploaded: 40*mib + 1000,
		BytesSent: 24*mib + 1000, Unchanged: 1, BytesUnchanged: 1000, Failed: 1, BytesFailed: 1000, Skipped: 1, Duration: 12.34}
	return []scenario{
		{name: "put-fresh", steps: fresh, res: &s3up.Result{Source: gSrc, Bucket: gBucket, Key: gKey, UploadID: gUpload, ETag: `"0a1b2c3d4e5f60718293a4b5c6d7e8f9-3"`,
			Size: 48 * mib, PartSize: 16 * mib, Parts: 3, PartsSent: 3, BytesSent: 48 * mib, Verified: "size, CRC32C checksum (composite), multipart ETag", Verification: verification("size, CRC32C checksum (composite), multipart ETag"), Duration: 14}},
		{name: "put-resume", steps: resume, res: &s3up.Result{Source: gSrc, Bucket: gBucket, Key: gKey, UploadID: gUpload, ETag: `"0a1b2c3d4e5f60718293a4b5c6d7e8f9-3"`,
			Size: 48 * mib, PartSize: 16 * mib, Parts: 3, PartsSent: 1, PartsKept: 2, BytesSent: 16 * mib, BytesRechecked: 32 * mib, Resumed: true,
			Verified: "size, CRC32C checksum (composite), multipart ETag", Verification: verification("size, CRC32C checksum (composite), multipart ETag"), Duration: 1}},
		{name: "put-changed-source", steps: replaced, res: &s3up.Result{Source: gSrc, Bucket: gBucket, Key: gKey, UploadID: gUpload2, ETag: `"00112233445566778899aabbccddeeff-2"`,
			Size: 20 * mib, PartSize: 16 * mib, Parts: 2, PartsSent: 2, BytesSent: 20 * mib, Verified: "size, CRC32C checksum (composite), multipart ETag", Verification: verification("size, CRC32C checksum (composite), multipart ETag"), Duration: 1.5}},
		{name: "put-one-part", steps: append(evs(
			s3up.Planned{Source: gSrc, Bucket: gBucket, Key: gKey, Size: 5 * mib, PartSize: 16 * mib, Parts: 1, State: gState},
			s3up.Progress{Bytes: 5 * mib, Total: 5 * mib, Parts: 1},
			s3up.Completed{ETag: etag(9)},
			s3up.Verified{Method: "size, CRC32C checksum, ETag (MD5)", Content: true},
		), after(time.Second)), res: &s3up.Result{Source: gSrc, Bucket: gBucket, Key: gKey, ETag: etag(9), Size: 5 * mib, Parts: 1, PartsSent: 1,
			BytesSent: 5 * mib, Verified: "size, CRC32C checksum, ETag (MD5)", Verification: verification("size, CRC32C checksum, ETag (MD5)"), Duration: 1}},
		{name: "put-resume-one-part", steps: append(evs(
			s3up.Planned{Source: gSrc, Bucket: gBucket, Key: gKey, Size: 21 * mib, PartSize: 16 * mib, Parts: 2, State: gState},
			s3up.Resumed{UploadID: gUpload, Parts: 2, OnServer: 1, ToSend: 1, BytesOnServer: 16 * mib},
			s3up.Rechecked{Parts: 1, Bytes: 16 * mib},
			s3up.Progress{Bytes: 21 * mib, Total: 21 * mib, PartsDone: 1, Parts: 2},
			s3up.PartDone{Number: 2, Size: 5 * mib, ETag: etag(2)},
			s3up.Completed{ETag: etag(3) + "-2"},
			s3up.Verified{Method: "size, CRC32C checksum (composite), multipart ETag", Content: true},
		), after(time.Second)), res: &s3up.Result{Source: gSrc, Bucket: gBucket, Key: gKey, UploadID: gUpload, ETag: etag(3) + "-2", Size: 21 * mib, PartSize: 16 * mib,
			Parts: 2, PartsSent: 1, PartsKept: 1, BytesSent: 5 * mib, BytesRechecked: 16 * mib, Resumed: true,
			Verified: "size, CRC32C checksum (composite), multipart ETag", Verification: verification("size, CRC32C checksum (composite), multipart ETag"), Duration: 1}},
		{name: "put-stream", steps: stream, res: &s3up.Result{Source: "pg_dump db", Bucket: gBucket, Key: "db.sql", UploadID: gUpload, ETag: `"ffeeddccbbaa99887766554433221100-2"`,
			Size: 24 * mib, Parts: 2, PartsSent: 2, BytesSent: 24 * mib, Verified: "size, CRC32C checksum (composite), multipart ETag", Verification: verification("size, CRC32C checksum (composite), multipart ETag"), Duration: 10.5}},
		{name: "put-sealed-stream-resealed", steps: sealedStream, res: &s3up.Result{Source: "pg_dump db", Bucket: gBucket, Key: "db.sql.age", UploadID: gUpload2,
			ETag: `"ffeeddccbbaa99887766554433221100-2"`, Size: 24 * mib, Parts: 2, PartsSent: 2, BytesSent: 24 * mib,
			Verified: "size, CRC32C checksum (composite), multipart ETag", Verification: verification("size, CRC32C checksum (composite), multipart ETag"), Duration: 3}},
		{name: "put-sealed-stream-differs", steps: sealedDiffers, err: differs},
		{name: "put-superseding", steps: append(slices.Clip(stream), ev(s3up.Superseded{UploadID: gUpload2, Source: "command pg_dump olddb",
			State: "/home/op/.local/state/s3up/command pg_dump olddb-fedcba9876543210.s3up"})), res: &s3up.Result{Source: "pg_dump db", Bucket: gBucket, Key: "db.sql", UploadID: gUpload, ETag: `"ffeeddccbbaa99887766554433221100-2"`,
			Size: 24 * mib, Parts: 2, PartsSent: 2, BytesSent: 24 * mib, Verified: "size, CRC32C checksum (composite), multipart ETag", Verification: verification("size, CRC32C checksum (composite), multipart ETag"), Duration: 10.5}},
		{name: "put-unchanged", steps: evs(
			s3up.Unchanged{Size: 48 * mib, ETag: `"0a1b2c3d4e5f60718293a4b5c6d7e8f9-3"`, By: "size and modification time"},
		), res: &s3up.Result{Source: gSrc, Bucket: gBucket, Key: gKey, ETag: `"0a1b2c3d4e5f60718293a4b5c6d7e8f9-3"`, Size: 48 * mib, Unchanged: true}},
		{name: "put-read-back", steps: append(evs(
			s3up.Planned{Source: gSrc, Bucket: gBucket, Key: gKey, Size: 20 * mib, PartSize: 16 * mib, Parts: 2, State: gState},
			s3up.Started{UploadID: gUpload},
			s3up.PartDone{Number: 1, Size: 16 * mib, ETag: etag(1)},
			s3up.PartDone{Number: 2, Size: 4 * mib, ETag: etag(2)},
			s3up.Completed{ETag: `"00112233445566778899aabbccddeeff-2"`},
			s3up.Warning{Message: "learned about https://gw.example: nothing it reports proves an object's bytes (no checksum shown, ETags not MD5s); every object is verified by reading it back, one GET of the whole object"},
			s3up.Verified{Method: "size, read back (CRC32C of every part)", Content: true, ReadBack: true,
				NotChecked: []string{"CRC32C checksum not compared: the store does not show it", "multipart ETag not used: it is not md5-of-md5s of the bytes sent (this store computes it otherwise)"}},
		), after(2*time.Second)), res: &s3up.Result{Source: gSrc, Bucket: gBucket, Key: gKey, UploadID: gUpload, ETag: `"00112233445566778899aabbccddeeff-2"`,
			Size: 20 * mib, PartSize: 16 * mib, Parts: 2, PartsSent: 2, BytesSent: 20 * mib, BytesReadBack: 20 * mib, Verified: "size, read back (CRC32C of every part)",
			Verification: &s3up.Verification{Checks: verification("size, read back (CRC32C of every part)").Checks, Content: true, ReadBack: true}, Duration: 2}},
		{name: "put-size-only", unchecked: true, steps: append(evs(
			s3up.Planned{Source: gSrc, Bucket: gBucket, Key: gKey, Size: 5 * mib, PartSize: 16 * mib, Parts: 1, State: gState},
			s3up.Completed{ETag: etag(9)},
			s3up.Warning{Message: "only the size of s3://backups/nightly/db.tar was verified (CRC32C checksum not compared: the store does not show it; ETag not used: it is not the MD5 of the bytes (SSE-KMS, or this store's ETags are opaque))"},
			s3up.Verified{Method: "size", NotChecked: []string{"CRC32C checksum not compared: the store does not show it"}},
		), after(time.Second)), res: &s3up.Result{Source: gSrc, Bucket: gBucket, Key: gKey, ETag: etag(9), Size: 5 * mib, Parts: 1, PartsSent: 1,
			BytesSent: 5 * mib, Verified: "size", Verification: &s3up.Verification{Checks: verification("size").Checks}, Duration: 1}},
		{name: "put-refused", steps: retries, err: refused()},
		{name: "put-interrupted", steps: append(slices.Clip(fresh[:6]), after(time.Second)), err: interrupted},
		{name: "tree", tree: true, steps: tree, tres: treeRes, err: fmt.Errorf("%w: 1 of 4 files failed; rerun to retry", s3up.ErrPartial)},
		{name: "put-window", steps: append(slices.Clip(fresh[:7]), after(time.Second)), err: &s3up.WindowError{Source: gSrc, Bucket: gBucket, Key: gKey,
			UploadID: gUpload, StatePath: gState, BytesDone: 16 * mib, BytesTotal: 48 * mib, PartsDone: 1, PartsTotal: 3, BytesSent: 16 * mib,
			Elapsed: 2 * time.Hour, Window: 2 * time.Hour, WindowsNeeded: 2, EstimateOK: true}},
		{name: "put-stream-window", steps: stream[:5], err: &s3up.WindowError{Source: "pg_dump db", Bucket: gBucket, Key: "db.sql",
			UploadID: gUpload, StatePath: gState, BytesDone: 16 * mib, PartsDone: 1, BytesSent: 16 * mib, Elapsed: time.Hour, Window: time.Hour, Stream: true}},
		{name: "tree-window", tree: true, steps: tree[:4], tres: &s3up.TreeResult{Bucket: gBucket, Prefix: "srv/", Files: 4, Bytes: 40*mib + 3000,
			Unchanged: 1, BytesUnchanged: 1000, Skipped: 1, Duration: 3600},
			err: &s3up.WindowError{Source: "/srv/data", Bucket: gBucket, Key: "srv/", BytesDone: 1000 + 8*mib, BytesTotal: 40*mib + 3000,
				FilesDone: 1, FilesTotal: 4, BytesSent: 8 * mib, Elapsed: time.Hour, Window: time.Hour, WindowsNeeded: 4, EstimateOK: true}},
	}
}

// replay runs scenario sc through a renderer writing to o, whose clock it
// sets.
func replay(o *output, sc scenario) {
	clock := &fakeClock{t: time.Date(2026, 12, 1, 2, 30, 0, 0, time.UTC)}
	o.now = clock.now
	var l s3up.Listener
	var finish func()
	if sc.tree {
		r := o.newTreeRenderer(&putArgs{tree: s3up.Tree{Bucket: gBucket, Prefix: "srv/"}})
		l, finish = r, func() { r.finish(sc.tres, sc.err) }
	} else {
		src, key := gSrc, gKey
		if p, ok := sc.steps[0].ev.(s3up.Planned); ok {
			src, key = p.Source, p.Key
		}
		r := o.newPutRenderer(src, gBucket, key)
		l, finish = r, func() { r.finish(sc.res, sc.err) }
	}
	for _, s := range sc.steps {
		if s.ev != nil {
			l.Event(s.ev)
		}
		clock.t = clock.t.Add(s.advance)
	}
	finish()
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/s3up -run Golden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./cmd/s3up -run Golden -update rewrites it; read the diff):\n--- want\n%s\n--- got\n%s\n--- first difference\n%s",
			path, want, got, firstDiff(string(want), got))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, x, y)
		}
	}
	return "(none)"
}

func streams(stderr, stdout string) string {
	return "--- stderr\n" + stderr + "--- stdout\n" + stdout
}

// TestGoldenPlain: the lines of a cron log (no terminal), stderr and stdout.
func TestGoldenPlain(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			replay(newOutputTo(&stdout, &stderr, false, false), sc)
			checkGolden(t, sc.name+".plain.golden", streams(stderr.String(), stdout.String()))
		})
	}
}

// TestGoldenJSON: --json, one record per line on stdout and nothing on
// stderr.
func TestGoldenJSON(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			replay(newOutputTo(&stdout, &stderr, true, false), sc)
			checkGolden(t, sc.name+".json.golden", streams(stderr.String(), stdout.String()))
		})
	}
}

// TestGoldenQuiet: --quiet prints the error line and nothing else, except
// that a stored object's content went unchecked.
func TestGoldenQuiet(t *testing.T) {
	for _, sc := range scenarios() {
		var stdout, stderr bytes.Buffer
		replay(newOutputTo(&stdout, &stderr, false, true), sc)
		out := stdout.String() + stderr.String()
		warned := false
		for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			if sc.unchecked && strings.HasPrefix(l, "s3up: warning: ") && strings.Contains(l, "content is not proven") {
				warned = true
				continue
			}
			if l != "" && !strings.HasPrefix(l, "s3up: error: ") && !(windowOf(sc.err) != nil && strings.HasPrefix(l, "s3up: stopped at the end of its window: ")) {
				t.Errorf("%s: --quiet printed %q", sc.name, l)
			}
		}
		if sc.unchecked != warned {
			t.Errorf("%s: --quiet said the content went unchecked: %v, want %v:\n%s", sc.name, warned, sc.unchecked, out)
		}
		if (sc.err != nil) != (strings.Contains(out, "s3up: error: ") || strings.Contains(out, "s3up: stopped at the end of its window: ")) {
			t.Errorf("%s: --quiet: error line %v, want %v:\n%s", sc.name, !(sc.err != nil), sc.err != nil, out)
		}
	}
}
