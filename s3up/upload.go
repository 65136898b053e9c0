package s3up

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/s3up/s3up/resume"
)

// Uploader uploads files with multipart upload and resumes interrupted
// uploads from their sidecar state. It is safe for sequential use; run
// several Uploaders for concurrent files.
type Uploader struct {
	client  S3API
	opts    Options
	ev      *emitter
	limiter *rate.Limiter
}

// NewUploader returns an Uploader using client. Options are resolved here.
func NewUploader(client S3API, opts Options) *Uploader {
	opts = opts.withDefaults()
	u := &Uploader{client: client, opts: opts, ev: &emitter{l: opts.Listener}}
	if opts.BandwidthLimit > 0 {
		u.limiter = rate.NewLimiter(rate.Limit(opts.BandwidthLimit), int(min(opts.BandwidthLimit, bwBurst)))
	}
	return u
}

// bwBurst is the largest single grant of the bandwidth limiter: small enough
// to keep the rate smooth, large enough not to cost CPU.
const bwBurst = 256 << 10

// Result describes a finished upload.
type Result struct {
	Source          string  `json:"source"`
	Bucket          string  `json:"bucket"`
	Key             string  `json:"key"`
	UploadID        string  `json:"upload_id,omitempty"`
	ETag            string  `json:"etag"`
	Size            int64   `json:"size"`
	PartSize        int64   `json:"part_size"`
	Parts           int32   `json:"parts"`
	PartsSent       int     `json:"parts_sent"`
	PartsKept       int     `json:"parts_kept"`
	BytesSent       int64   `json:"bytes_sent"`
	Resumed         bool    `json:"resumed"`
	AlreadyComplete bool    `json:"already_complete,omitempty"`
	Checksum        string  `json:"checksum,omitempty"` // the object's checksum as verified
	Verified        string  `json:"verified,omitempty"` // what was compared; "" if verification was off
	Duration        float64 `json:"duration_seconds"`
}

// job is the state of one Put call.
type job struct {
	opts    Options // u.opts, with the checksum this upload actually uses
	u       *Uploader
	alg     ChecksumAlgorithm
	src     resume.Source
	f       *os.File
	plan    Plan
	dest    resume.Destination
	sc      *resume.Sidecar
	st      *resume.State
	res     *Result
	fresh   string // why a new upload is started ("" for a first upload)
	adopted map[int32]bool

	mu     sync.Mutex // guards st.Parts, res counters and failed while parts run
	failed error      // first part failure
}

// Put uploads the file at source to bucket/key. If an earlier Put of the
// same file to the same destination was interrupted, it resumes: the state
// in the sidecar is reconciled with the server's part list and only missing
// or mismatched parts are sent.
//
// On failure the error wraps one of the Err* kinds; an *UploadError in the
// chain carries the upload id and state path. The sidecar is kept whenever
// the upload can be resumed, and removed once the object is verified.
func (u *Uploader) Put(ctx context.Context, source, bucket, key string) (*Result, error) {
	start := time.Now()
	if err := u.opts.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateDestination(bucket, key); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(source)
	if err != nil {
		return nil, fmt.Errorf("%w: source %s: %w", ErrBadInput, source, err)
	}
	src, err := resume.StatSource(abs)
	if err != nil {
		return nil, fmt.Errorf("%w: source %s: %w", ErrBadInput, source, err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("%w: source %s: %w", ErrBadInput, source, unwrapPathErr(err))
	}
	defer f.Close()
	plan, err := PlanParts(src.Size, u.opts.PartSize, u.opts.PartSizeExplicit)
	if err != nil {
		return nil, err
	}
	j := &job{
		u: u, opts: u.opts, alg: u.opts.Checksum, src: src, f: f, plan: plan,
		dest:    resume.Destination{Endpoint: u.opts.Endpoint, Bucket: bucket, Key: key},
		res:     &Result{Source: source, Bucket: bucket, Key: key, Size: src.Size},
		adopted: map[int32]bool{},
	}
	if src.Size == 0 {
		err = j.putEmpty(ctx)
	} else {
		err = j.run(ctx)
	}
	j.res.Duration = time.Since(start).Seconds()
	if err != nil {
		return nil, err
	}
	return j.res, nil
}

// putEmpty stores a zero-byte object with one PutObject: there is nothing
// to resume, and an empty multipart part is not accepted everywhere.
func (j *job) putEmpty(ctx context.Context) error {
	u := j.u
	// A file emptied since an interrupted upload leaves that upload's state:
	// the old upload can never be resumed, so abort it and drop the state.
	if err := j.dropStateOfEmptied(ctx); err != nil {
		return err
	}
	u.ev.emit(Planned{Source: j.res.Source, Bucket: j.dest.Bucket, Key: j.dest.Key})
	in := &s3.PutObjectInput{Bucket: aws.String(j.dest.Bucket), Key: aws.String(j.dest.Key), ContentLength: aws.Int64(0)}
	applyObjectOptionsPut(in, u.opts.Object)
	out, err := u.client.PutObject(ctx, in)
	if err != nil {
		return classify(&UploadError{Op: "put empty object", Err: err})
	}
	j.res.ETag = aws.ToString(out.ETag)
	u.ev.emit(Completed{ETag: j.res.ETag})
	if u.opts.NoVerify {
		return nil
	}
	head, err := u.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(j.dest.Bucket), Key: aws.String(j.dest.Key)})
	if err != nil {
		return classify(&UploadError{Op: "verify object", Err: err})
	}
	if n := aws.ToInt64(head.ContentLength); n != 0 {
		return withKind(ErrVerify, &UploadError{Op: "verify object", Err: fmt.Errorf("stored object has %d bytes, expected 0", n)})
	}
	j.res.Verified = "size"
	u.ev.emit(Verified{Method: j.res.Verified, Value: "0"})
	return nil
}

// dropStateOfEmptied handles a sidecar left by an interrupted upload of a
// file that is now empty. loadState treats it like any changed source (the
// old upload is aborted; an unreadable sidecar is an error unless --fresh),
// and the sidecar is then removed: a zero-byte object has nothing to resume.
func (j *job) dropStateOfEmptied(ctx context.Context) error {
	path := resume.SidecarPath(j.u.opts.StateDir, j.src.Path, j.dest)
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	sc, err := j.lockState(path)
	if errors.Is(err, ErrBusy) {
		return err
	}
	if err != nil {
		// The sidecar cannot be locked (a read-only folder, say). It is left
		// as it is: a zero-byte PutObject does not need it.
		return nil
	}
	j.sc = sc
	if err := j.loadState(ctx); err != nil {
		sc.Close()
		return err
	}
	if err := sc.Remove(); err != nil {
		j.u.ev.emit(Warning{Message: fmt.Sprintf("the old resume state %s could not be removed: %v", path, err)})
	}
	return nil
}

// lockState takes the sidecar's lock; another process holding it is ErrBusy.
func (j *job) lockState(path string) (*resume.Sidecar, error) {
	sc, err := resume.Lock(path)
	if errors.Is(err, resume.ErrLocked) {
		return nil, withKind(ErrBusy, fmt.Errorf("%s is being uploaded to s3://%s/%s by another s3up process (lock %s.lock)",
			j.res.Source, j.dest.Bucket, j.dest.Key, path))
	}
	return sc, err
}

func (j *job) run(ctx context.Context) error {
	u := j.u
	path := resume.SidecarPath(u.opts.StateDir, j.src.Path, j.dest)
	if u.opts.StateDir != "" {
		if err := os.MkdirAll(u.opts.StateDir, 0o700); err != nil {
			return fmt.Errorf("%w: state dir: %w", ErrBadInput, err)
		}
	}
	sc, err := j.lockState(path)
	if err != nil {
		if errors.Is(err, ErrBusy) {
			return err
		}
		return fmt.Errorf("%w: cannot create resume state next to the source (%w); pass --state-dir DIR", ErrBadInput, unwrapPathErr(err))
	}
	j.sc = sc
	removed := false
	defer func() {
		if removed {
			return
		}
		// Keep the lock file only beside a sidecar: when no state was ever
		// written (CreateMultipartUpload failed, say), leave nothing behind.
		if _, err := os.Stat(sc.Path()); errors.Is(err, fs.ErrNotExist) {
			sc.Remove()
			return
		}
		sc.Close()
	}()
	if err := j.loadState(ctx); err != nil {
		return err
	}
	u.ev.emit(Planned{Source: j.res.Source, Bucket: j.dest.Bucket, Key: j.dest.Key, Size: j.src.Size,
		PartSize: j.plan.PartSize, Parts: j.plan.Count, Raised: j.plan.Raised, State: path})

	var toSend []int32
	if j.st != nil {
		var done bool
		toSend, done, err = j.reconcile(ctx)
		if err != nil {
			return err
		}
		if done {
			removed = true
			return sc.Remove()
		}
	}
	if j.st == nil {
		if err := j.create(ctx); err != nil {
			return err
		}
		toSend = make([]int32, j.plan.Count)
		for i := range toSend {
			toSend[i] = int32(i + 1)
		}
	}
	j.res.UploadID = j.st.UploadID
	j.res.Parts = j.plan.Count
	j.res.PartSize = j.plan.PartSize

	if err := j.sendParts(ctx, toSend); err != nil {
		return err
	}
	if err := j.complete(ctx); err != nil {
		return err
	}
	removed = true
	if err := sc.Remove(); err != nil {
		u.ev.emit(Warning{Message: fmt.Sprintf("upload complete, but the resume state could not be removed: %v", err)})
	}
	return nil
}

// loadState reads the sidecar and decides between resuming and starting
// over (j.st == nil then, with j.fresh saying why).
func (j *job) loadState(ctx context.Context) error {
	u := j.u
	st, err := j.sc.Load()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil && u.opts.Fresh:
		u.ev.emit(Warning{Message: fmt.Sprintf("discarding unreadable resume state %s (%v); its upload, if any, is left for `s3up gc`", j.sc.Path(), err)})
		j.fresh = "--fresh"
		return nil
	case err != nil:
		return withKind(ErrState, fmt.Errorf("resume state %s cannot be used: %w; rerun with --fresh to discard it and start over", j.sc.Path(), err))
	}
	if u.opts.Fresh {
		j.abortOld(ctx, st.UploadID, "--fresh")
		j.fresh = "--fresh"
		return nil
	}
	if err := resume.CheckResumable(st.Header, j.src, j.dest, u.opts.Object.Record()); err != nil {
		if errors.Is(err, resume.ErrSourceChanged) {
			j.abortOld(ctx, st.UploadID, err.Error())
			j.fresh = err.Error()
			return nil
		}
		return withKind(ErrState, fmt.Errorf("%w; rerun with the original options, or with --fresh to start over", err))
	}
	// A resume keeps the shape and checksum the upload was started with.
	plan, err := PlanParts(j.src.Size, st.PartSize, false)
	if err != nil || plan.Count != st.PartCount || plan.PartSize != st.PartSize {
		return withKind(ErrState, fmt.Errorf("resume state %s records %d parts of %d bytes, which does not fit the file; rerun with --fresh",
			j.sc.Path(), st.PartCount, st.PartSize))
	}
	if u.opts.PartSize != 0 && u.opts.PartSize != st.PartSize {
		u.ev.emit(Warning{Message: fmt.Sprintf("resuming with the part size the upload started with (%d bytes), not --part-size", st.PartSize)})
	}
	alg := ChecksumAlgorithm(st.ChecksumAlgorithm)
	if alg == "" {
		alg = ChecksumNone
	}
	if alg != u.opts.Checksum {
		u.ev.emit(Warning{Message: fmt.Sprintf("resuming with the checksum the upload started with (%s), not %s", alg, u.opts.Checksum)})
	}
	j.plan, j.alg, j.st = plan, alg, st
	j.opts.Checksum = alg
	return nil
}

// abortOld aborts an upload that will not be resumed. Failure is only a
// warning: the new upload does not depend on it, and gc finds leftovers.
func (j *job) abortOld(ctx context.Context, uploadID, why string) {
	if uploadID == "" {
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := j.u.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(j.dest.Bucket), Key: aws.String(j.dest.Key), UploadId: aws.String(uploadID)})
	if err != nil && !IsNoSuchUpload(err) {
		j.u.ev.emit(Warning{Message: fmt.Sprintf("could not abort old upload %s (%s); `s3up gc` can remove it later", uploadID, describe(err))})
		return
	}
	j.u.ev.emit(Warning{Message: fmt.Sprintf("aborted old upload %s: %s", uploadID, why)})
}

// create starts a new multipart upload and its sidecar.
func (j *job) create(ctx context.Context) error {
	u := j.u
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(j.dest.Bucket), Key: aws.String(j.dest.Key)}
	applyObjectOptionsCreate(in, u.opts.Object)
	if j.alg.flexible() {
		in.ChecksumAlgorithm = j.alg.sdk()
		in.ChecksumType = j.alg.checksumType()
	}
	out, err := u.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return classify(&UploadError{Op: "create multipart upload", Err: err})
	}
	id := aws.ToString(out.UploadId)
	h := resume.Header{
		Version: resume.FormatVersion, UploadID: id, Destination: j.dest, Source: j.src,
		PartSize: j.plan.PartSize, PartCount: j.plan.Count, ChecksumAlgorithm: string(j.alg),
		ObjectOptions: u.opts.Object.Record(), CreatedAt: time.Now().UTC(),
	}
	if err := j.sc.Create(h); err != nil {
		// Without state the upload could never be resumed; abort it.
		j.abortOld(ctx, id, "resume state could not be written")
		return fmt.Errorf("%w: write resume state %s: %w", ErrBadInput, j.sc.Path(), err)
	}
	j.st = &resume.State{Header: h, Parts: map[int32]resume.Part{}}
	u.ev.emit(Started{UploadID: id, Reason: j.fresh})
	return nil
}

// reconcile compares the sidecar with the server and returns the parts to
// send. done is true when the upload turned out to be complete already.
func (j *job) reconcile(ctx context.Context) (toSend []int32, done bool, err error) {
	u := j.u
	id := j.st.UploadID
	remote, err := ListAllParts(ctx, u.client, j.dest.Bucket, j.dest.Key, id)
	if IsNoSuchUpload(err) {
		ok, why, err := j.alreadyComplete(ctx)
		if err != nil {
			return nil, false, err
		}
		if ok {
			return nil, true, nil
		}
		j.fresh = fmt.Sprintf("upload %s no longer exists on the server (%s)", id, why)
		j.st = nil
		return nil, false, nil
	}
	if err != nil {
		return nil, false, classify(&UploadError{Op: "reconcile", UploadID: id, StatePath: j.sc.Path(), Err: err})
	}
	expected := make([]resume.PartSpec, j.plan.Count)
	for i := range expected {
		n := int32(i + 1)
		expected[i] = resume.PartSpec{Number: n, Size: j.plan.PartSizeOf(n)}
	}
	rp := make([]resume.Part, len(remote))
	for i, p := range remote {
		rp[i] = resume.Part{Number: p.Number, Size: p.Size, ETag: p.ETag, Checksum: p.Checksum}
	}
	rec := resume.Reconcile(expected, j.st.Parts, rp)
	kept := map[int32]resume.Part{}
	mismatched := 0
	for _, d := range rec.Decisions {
		switch d.Action {
		case resume.Skip:
			p := *d.Local
			p.ETag = d.Remote.ETag
			kept[d.Number] = p
		case resume.Verify:
			p, ok, err := j.verifyRemote(*d.Remote)
			if err != nil {
				return nil, false, err
			}
			if ok {
				kept[d.Number] = p
				j.adopted[d.Number] = true
				if err := j.sc.Append(p); err != nil {
					return nil, false, fmt.Errorf("record adopted part %d: %w", d.Number, err)
				}
			} else {
				mismatched++
				toSend = append(toSend, d.Number)
			}
		default:
			if d.Remote != nil {
				mismatched++
			}
			toSend = append(toSend, d.Number)
		}
	}
	j.st.Parts = kept
	var onServer int64
	for _, p := range kept {
		onServer += p.Size
	}
	j.res.Resumed = true
	j.res.PartsKept = len(kept)
	u.ev.emit(Resumed{UploadID: id, Parts: int(j.plan.Count), OnServer: len(kept), Adopted: len(j.adopted),
		Mismatched: mismatched, ToSend: len(toSend), BytesOnServer: onServer})
	return toSend, false, nil
}

// verifyRemote decides whether a part found on the server but not in the
// sidecar holds this file's bytes: its checksum (or, without one, its MD5
// ETag) must match the local part. Anything else is re-sent.
func (j *job) verifyRemote(rp resume.Part) (resume.Part, bool, error) {
	req := sumRequest{alg: j.alg}
	if rp.Checksum == "" || !j.alg.flexible() {
		req.md5 = true
	}
	sums, n, err := hashPart(j.section(rp.Number), req)
	if err != nil || n != j.plan.PartSizeOf(rp.Number) {
		return resume.Part{}, false, fmt.Errorf("%w: read part %d of %s: %v", ErrTransient, rp.Number, j.res.Source, errOrShort(err))
	}
	p := resume.Part{Number: rp.Number, Size: rp.Size, ETag: rp.ETag, Checksum: sums.Checksum}
	if rp.Checksum != "" && j.alg.flexible() {
		return p, rp.Checksum == sums.Checksum, nil
	}
	m, ok := etagMD5(rp.ETag)
	if !ok {
		return p, false, nil
	}
	return p, string(m) == string(sums.MD5), nil
}

// sendParts uploads the given parts, at most Concurrency at a time, and
// records each in the sidecar as soon as the server acknowledges it.
//
// When ctx is cancelled (an interrupt), no new part starts; parts in flight
// get Options.Grace to finish so their bytes are not wasted, then are cut.
func (j *job) sendParts(ctx context.Context, parts []int32) error {
	u := j.u
	if len(parts) == 0 {
		return nil
	}
	partCtx, cancelParts := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelParts()
	stop := context.AfterFunc(ctx, func() {
		if u.opts.Grace < 0 {
			cancelParts()
			return
		}
		t := time.AfterFunc(u.opts.Grace, cancelParts)
		context.AfterFunc(partCtx, func() { t.Stop() })
	})
	defer stop()

	var g errgroup.Group
	g.SetLimit(u.opts.Concurrency)
	for _, n := range parts {
		// The slot is taken before the part is read or a goroutine started.
		if ctx.Err() != nil || j.hasFailed() {
			break
		}
		g.Go(func() error {
			if ctx.Err() != nil || j.hasFailed() {
				return nil
			}
			p, err := j.uploadPart(partCtx, n)
			if err == nil {
				if err = j.sc.Append(p); err != nil {
					err = fmt.Errorf("record part %d in %s: %w", n, j.sc.Path(), err)
				}
			}
			if err != nil {
				j.setFailed(err)
				return nil
			}
			j.partDone(p)
			u.ev.emit(PartDone{Number: n, Size: p.Size, ETag: p.ETag})
			return nil
		})
	}
	g.Wait()
	if j.failed != nil && ctx.Err() == nil {
		return j.failure(j.failed)
	}
	if ctx.Err() != nil {
		return &UploadError{Op: "upload interrupted", UploadID: j.st.UploadID, StatePath: j.sc.Path(), Err: ctx.Err()}
	}
	return nil
}

func (j *job) failure(err error) error {
	if errors.Is(err, context.Canceled) {
		return &UploadError{Op: "upload interrupted", UploadID: j.st.UploadID, StatePath: j.sc.Path(), Err: err}
	}
	var ue *UploadError
	if errors.As(err, &ue) {
		ue.UploadID, ue.StatePath = j.st.UploadID, j.sc.Path()
		return classifyPart(err)
	}
	return classifyPart(&UploadError{Op: "upload", UploadID: j.st.UploadID, StatePath: j.sc.Path(), Err: err})
}

// classifyPart: a part the server rejected for its bytes (digest mismatch)
// is re-sent on the next run, so it is transient, not bad input.
func classifyPart(err error) error {
	switch apiCode(err) {
	case "BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest", "InvalidChecksum", "XAmzChecksumMismatch":
		return withKind(ErrTransient, err)
	}
	return classify(err)
}

// complete finishes the upload from the reconciled and sent parts, then
// verifies the object.
func (j *job) complete(ctx context.Context) error {
	u := j.u
	id := j.st.UploadID
	parts := j.partsSorted()
	var total int64
	for i, p := range parts {
		if p.Number != int32(i+1) {
			return &UploadError{Op: "complete", UploadID: id, StatePath: j.sc.Path(),
				Err: fmt.Errorf("%w: part %d is missing", ErrTransient, i+1)}
		}
		total += p.Size
	}
	if int32(len(parts)) != j.plan.Count || total != j.src.Size {
		return &UploadError{Op: "complete", UploadID: id, StatePath: j.sc.Path(),
			Err: fmt.Errorf("%w: parts cover %d of %d bytes", ErrTransient, total, j.src.Size)}
	}
	// Never complete an object from a file that changed under us.
	now, err := resume.StatSource(j.src.Path)
	if err != nil || resume.CheckResumable(resume.Header{Source: j.src, Destination: j.dest}, now, j.dest, nil) != nil {
		return &UploadError{Op: "complete", UploadID: id, StatePath: j.sc.Path(),
			Err: fmt.Errorf("%w: %s changed while it was being uploaded; rerun to upload the new version", ErrTransient, j.res.Source)}
	}

	completed := make([]types.CompletedPart, len(parts))
	sums := make([]string, len(parts))
	sizes := make([]int64, len(parts))
	for i, p := range parts {
		completed[i] = types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(p.ETag)}
		if j.alg.flexible() {
			setCompletedChecksum(&completed[i], j.alg, p.Checksum)
		}
		sums[i], sizes[i] = p.Checksum, p.Size
	}
	in := &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(j.dest.Bucket), Key: aws.String(j.dest.Key), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
	}
	var expected string
	if j.alg.flexible() && !u.opts.NoVerify || j.alg.checksumType() == types.ChecksumTypeFullObject {
		expected, err = compositeChecksum(j.alg, sums, sizes)
		if err != nil {
			return withKind(ErrState, &UploadError{Op: "complete", UploadID: id, StatePath: j.sc.Path(), Err: err})
		}
	}
	if j.alg.checksumType() == types.ChecksumTypeFullObject {
		in.ChecksumType = types.ChecksumTypeFullObject
		in.ChecksumCRC64NVME = aws.String(expected)
	}
	out, err := u.client.CompleteMultipartUpload(ctx, in)
	if err != nil {
		if IsNoSuchUpload(err) {
			// The server may have completed it on an attempt whose answer
			// was lost; the next run checks the object and finishes.
			return &UploadError{Op: "complete", UploadID: id, StatePath: j.sc.Path(),
				Err: withKind(ErrTransient, err)}
		}
		return classify(&UploadError{Op: "complete", UploadID: id, StatePath: j.sc.Path(), Err: err})
	}
	j.res.ETag = aws.ToString(out.ETag)
	u.ev.emit(Completed{ETag: j.res.ETag})
	if u.opts.NoVerify {
		return nil
	}
	return j.verify(ctx, out, parts, expected)
}

func (j *job) partsSorted() []resume.Part {
	j.mu.Lock()
	parts := make([]resume.Part, 0, len(j.st.Parts))
	for _, p := range j.st.Parts {
		parts = append(parts, p)
	}
	j.mu.Unlock()
	sort.Slice(parts, func(a, b int) bool { return parts[a].Number < parts[b].Number })
	return parts
}

func (j *job) partDone(p resume.Part) {
	j.mu.Lock()
	j.st.Parts[p.Number] = p
	j.res.PartsSent++
	j.res.BytesSent += p.Size
	j.mu.Unlock()
}

func (j *job) setFailed(err error) {
	j.mu.Lock()
	if j.failed == nil {
		j.failed = err
	}
	j.mu.Unlock()
}

func (j *job) hasFailed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.failed != nil
}

func errOrShort(err error) error {
	if err != nil {
		return err
	}
	return errors.New("file is shorter than when the upload started")
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
