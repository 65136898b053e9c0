package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/store"
)

// PartState is how one part of an upload stands, comparing the journal with
// the server.
type PartState string

const (
	// PartSent: on the server and in the journal, matching; a resume keeps it
	// (after checking it against the source).
	PartSent PartState = "sent"
	// PartServerOnly: on the server, not in the journal (a crash between
	// upload and record, or no journal at all); a resume adopts it only after
	// checking the local bytes.
	PartServerOnly PartState = "server_only"
	// PartMismatch: on the server, but its ETag or size differs from the
	// journal's record or the plan; a resume re-sends it.
	PartMismatch PartState = "mismatch"
	// PartMissing: the journal records it, the server does not hold it; a
	// resume re-sends it.
	PartMissing PartState = "missing"
	// PartPending: neither side has it: not sent yet.
	PartPending PartState = "pending"
	// PartJournalled: the journal records it; the store cannot say whether
	// it holds it (no ListParts).
	PartJournalled PartState = "journalled"
)

// PartStatus is one part in a StatusReport.
type PartStatus struct {
	Number int32     `json:"n"`
	State  PartState `json:"state"`
	Size   int64     `json:"size"`           // planned size (server size for PartMismatch)
	ETag   string    `json:"etag,omitempty"` // server's ETag, else the journal's
	// Versions is how many entries the server lists for this part number
	// when it is more than one (stores that keep every upload of a part).
	Versions int `json:"versions,omitempty"`
}

// UploadStatus is one multipart upload seen from both sides.
type UploadStatus struct {
	UploadID  string    `json:"upload_id"`
	Initiated time.Time `json:"initiated"`           // journal CreatedAt, else server Initiated; zero if unknown
	OnServer  bool      `json:"on_server"`           // false: the server no longer has the upload
	InSidecar bool      `json:"in_sidecar"`          // the journal records this upload
	PartSize  int64     `json:"part_size,omitempty"` // 0 if unknown (no journal, no parts)
	Size      int64     `json:"size"`                // bytes the finished object will have (0 if unknown)
	BytesDone int64     `json:"bytes_done"`          // bytes in sent parts
	// BytesServerOnly is bytes in server-only parts, which a resume may adopt.
	BytesServerOnly int64        `json:"bytes_server_only"`
	Parts           []PartStatus `json:"parts"`
	Extra           int          `json:"extra_parts,omitempty"` // server parts numbered beyond the plan
	// Unlisted says why the server's parts are not known ("" when they
	// are): the store does not implement ListParts. The parts are then the
	// journal's, PartJournalled, and a put starts the upload again.
	Unlisted string `json:"unlisted,omitempty"`
}

// Count returns how many parts are in state st.
func (u *UploadStatus) Count(st PartState) int {
	n := 0
	for _, p := range u.Parts {
		if p.State == st {
			n++
		}
	}
	return n
}

// MultiVersion returns how many parts the server lists more than once.
func (u *UploadStatus) MultiVersion() int {
	n := 0
	for _, p := range u.Parts {
		if p.Versions > 1 {
			n++
		}
	}
	return n
}

// StatusReport compares the local resume state of (source, destination) with
// what the server holds.
type StatusReport struct {
	Source    string `json:"source"`
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	StatePath string `json:"state_path"`
	HasState  bool   `json:"has_state"` // a readable journal exists
	// StateError says why an existing journal cannot be read ("" if none).
	StateError string `json:"state_error,omitempty"`
	// InUse: another process holds the journal's lock (a put is running).
	InUse bool `json:"in_use"`
	// SourceChanged says how the source differs from the one the journal's
	// upload started with; a rerun of put then starts over.
	SourceChanged string `json:"source_changed,omitempty"`
	// Upload is the journal's upload (nil without a readable journal).
	Upload *UploadStatus `json:"upload,omitempty"`
	// Others are the server's other incomplete uploads of this key.
	Others []UploadStatus `json:"others"`
	// OthersUnknown says why they could not be listed ("" when they were).
	OthersUnknown string `json:"others_unknown,omitempty"`
	// ObjectSize is the size of an existing object at the key, -1 if none.
	ObjectSize int64 `json:"object_size"`
}

// Where locates the journal of source → bucket/key: in stateDir (""
// → the default state directory), or, if there is none there, where an
// older s3up kept it next to the source.
//
// A stream's source is its s3up.StreamID.
func Where(stateDir, source string, dest resume.Destination) (string, error) {
	var err error
	if stateDir == "" {
		if stateDir, err = resume.DefaultStateDir(); err != nil {
			return "", fmt.Errorf("%w: %w", s3up.ErrBadInput, err)
		}
	}
	if isStream(source) {
		return resume.SidecarPath(stateDir, source, dest), nil
	}
	abs, err := filepath.Abs(source)
	if err != nil {
		return "", fmt.Errorf("%w: source %s: %w", s3up.ErrBadInput, source, err)
	}
	path := resume.SidecarPath(stateDir, abs, dest)
	if _, err := os.Lstat(path); err != nil {
		if legacy := resume.LegacySidecarPath(abs, dest); fileExists(legacy) {
			return legacy, nil
		}
	}
	return path, nil
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// Status reads the journal of source → bucket/key (without locking it, so a
// running put is undisturbed) and compares it part by part with the server's
// ListParts, and lists the key's other incomplete uploads.
func Status(ctx context.Context, c *store.Client, source, bucket, key, stateDir string) (*StatusReport, error) {
	if err := s3up.ValidateDestination(bucket, key); err != nil {
		return nil, err
	}
	dest := resume.Destination{Endpoint: c.Info.Endpoint, Bucket: bucket, Key: key}
	path, err := Where(stateDir, source, dest)
	if err != nil {
		return nil, err
	}
	r := &StatusReport{Source: source, Bucket: bucket, Key: key, ObjectSize: -1, StatePath: path, Others: []UploadStatus{}}
	st, err := resume.Peek(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		r.StateError = err.Error()
	default:
		r.HasState = true
	}
	if r.InUse, err = resume.InUse(path); err != nil {
		return nil, err
	}
	var src resume.Source
	var srcErr error
	if !isStream(source) {
		src, srcErr = resume.StatSource(source)
	}
	switch {
	case st != nil && st.Stream:
		if r.Upload, err = streamStatus(ctx, c.API, st); err != nil {
			return nil, err
		}
	case st != nil:
		switch {
		case srcErr != nil:
			r.SourceChanged = srcErr.Error()
		default:
			if d := st.Source.Diff(s3up.SealedIdentity(st, src)); len(d) > 0 {
				r.SourceChanged = strings.Join(d, ", ")
			}
		}
		if r.Upload, err = journalStatus(ctx, c.API, st); err != nil {
			return nil, err
		}
	}
	others, err := UploadsForKey(ctx, c.API, bucket, key)
	var un *store.UnsupportedError
	if errors.As(err, &un) {
		r.OthersUnknown, others, err = un.Error(), nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, u := range others {
		if r.Upload != nil && u.UploadID == r.Upload.UploadID {
			if r.Upload.Initiated.IsZero() {
				r.Upload.Initiated = u.Initiated
			}
			continue
		}
		size := int64(0)
		if srcErr == nil {
			size = src.Size
		}
		us, err := serverStatus(ctx, c.API, bucket, key, u, size)
		if err != nil {
			return nil, err
		}
		if us != nil {
			r.Others = append(r.Others, *us)
		}
	}
	head, err := c.API.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	switch {
	case err == nil:
		r.ObjectSize = aws.ToInt64(head.ContentLength)
	case !store.IsNotFound(err):
		return nil, store.Classify(fmt.Errorf("head object %s: %w", key, err))
	}
	return r, nil
}

// journalStatus reconciles the journal's parts with the server's.
func journalStatus(ctx context.Context, c store.S3API, st *resume.State) (*UploadStatus, error) {
	plan, err := s3up.PlanParts(st.Source.Size, st.PartSize, false)
	if err != nil || plan.Count != st.PartCount {
		return nil, fmt.Errorf("%w: resume state records %d parts of %d bytes for %d bytes, which is inconsistent",
			s3up.ErrState, st.PartCount, st.PartSize, st.Source.Size)
	}
	us := &UploadStatus{UploadID: st.UploadID, Initiated: st.CreatedAt, InSidecar: true,
		PartSize: st.PartSize, Size: st.Source.Size, OnServer: true}
	remote, err := store.ListAllParts(ctx, c, st.Destination.Bucket, st.Destination.Key, st.UploadID, st.LastPart())
	if unlisted(us, err, st) {
		return us, nil
	}
	if gone, _ := store.UploadGone(err); gone {
		us.OnServer, remote = false, nil
	} else if err != nil {
		return nil, store.Classify(fmt.Errorf("status of upload %s: %w", st.UploadID, err))
	}
	us.Parts, us.Extra = compareParts(plan, st.Parts, remote)
	us.tally()
	return us, nil
}

// unlisted fills in us from the journal alone when err says the store does
// not implement ListParts, and reports whether it did.
func unlisted(us *UploadStatus, err error, st *resume.State) bool {
	if err == nil || !store.Unsupported(err) {
		return false
	}
	if g, _ := store.UploadGone(err); g {
		return false
	}
	us.Unlisted = "the store does not list the parts of an upload (" + store.Describe(err) + ")"
	for _, n := range slices.Sorted(maps.Keys(st.Parts)) {
		p := st.Parts[n]
		us.Parts = append(us.Parts, PartStatus{Number: n, State: PartJournalled, Size: p.Size, ETag: p.ETag})
	}
	us.tally()
	return true
}

// isStream reports whether a source names a stream (s3up.StreamID).
func isStream(source string) bool { return strings.HasPrefix(source, s3up.StreamID("")) }

// streamStatus compares a stream's journal with the server: the stream's
// length is known only at its end, so the parts are those journalled, and
// the server's others.
func streamStatus(ctx context.Context, c store.S3API, st *resume.State) (*UploadStatus, error) {
	us := &UploadStatus{UploadID: st.UploadID, Initiated: st.CreatedAt, InSidecar: true, PartSize: st.PartSize, OnServer: true}
	remote, err := store.ListAllParts(ctx, c, st.Destination.Bucket, st.Destination.Key, st.UploadID, st.LastPart())
	if unlisted(us, err, st) {
		return us, nil
	}
	if gone, _ := store.UploadGone(err); gone {
		us.OnServer, remote = false, nil
	} else if err != nil {
		return nil, store.Classify(fmt.Errorf("status of upload %s: %w", st.UploadID, err))
	}
	byNumber := map[int32][]resume.Part{}
	for _, p := range remote {
		byNumber[p.Number] = append(byNumber[p.Number], p)
	}
	for _, n := range slices.Sorted(maps.Keys(st.Parts)) {
		jp := st.Parts[n]
		ps := PartStatus{Number: n, Size: jp.Size, ETag: jp.ETag, State: PartMissing}
		if v := len(byNumber[n]); v > 1 {
			ps.Versions = v
		}
		for _, r := range byNumber[n] {
			ps.State = PartMismatch
			if r.Size == jp.Size && strings.Trim(r.ETag, `"`) == strings.Trim(jp.ETag, `"`) {
				ps.State = PartSent
				break
			}
		}
		us.Size += jp.Size
		us.Parts = append(us.Parts, ps)
		delete(byNumber, n)
	}
	for _, n := range slices.Sorted(maps.Keys(byNumber)) {
		p := byNumber[n][0]
		us.Parts = append(us.Parts, PartStatus{Number: n, Size: p.Size, ETag: p.ETag, State: PartServerOnly})
	}
	us.tally()
	return us, nil
}

// serverStatus describes an upload the journal does not know. The plan is
// guessed from the source's size and the size of the server's biggest part;
// without them the parts are listed as they are. It returns nil if the
// upload vanished meanwhile.
func serverStatus(ctx context.Context, c store.S3API, bucket, key string, u UploadInfo, size int64) (*UploadStatus, error) {
	remote, err := store.ListAllParts(ctx, c, bucket, key, u.UploadID, 0)
	if gone, _ := store.UploadGone(err); gone {
		return nil, nil
	}
	if err != nil && store.Unsupported(err) {
		return &UploadStatus{UploadID: u.UploadID, Initiated: u.Initiated, OnServer: true, Parts: []PartStatus{},
			Unlisted: "the store does not list the parts of an upload (" + store.Describe(err) + ")"}, nil
	}
	if err != nil {
		return nil, store.Classify(fmt.Errorf("status of upload %s: %w", u.UploadID, err))
	}
	us := &UploadStatus{UploadID: u.UploadID, Initiated: u.Initiated, OnServer: true}
	if len(remote) > 0 && size > 0 {
		var ps int64 // every part but the last has the part size
		for _, p := range remote {
			ps = max(ps, p.Size)
		}
		if plan, err := s3up.PlanParts(size, ps, true); err == nil && plan.PartSize == ps {
			us.PartSize, us.Size = ps, size
			us.Parts, us.Extra = compareParts(plan, nil, remote)
			us.tally()
			return us, nil
		}
	}
	for _, p := range remote {
		us.Parts = append(us.Parts, PartStatus{Number: p.Number, State: PartServerOnly, Size: p.Size, ETag: p.ETag})
	}
	us.tally()
	return us, nil
}

// compareParts applies resume.Reconcile and names each part's state.
func compareParts(plan s3up.Plan, local map[int32]resume.Part, remote []resume.Part) ([]PartStatus, int) {
	expected := make([]resume.PartSpec, plan.Count)
	for i := range expected {
		n := int32(i + 1)
		expected[i] = resume.PartSpec{Number: n, Size: plan.PartSizeOf(n)}
	}
	rec := resume.Reconcile(expected, local, remote)
	parts := make([]PartStatus, len(rec.Decisions))
	for i, d := range rec.Decisions {
		ps := PartStatus{Number: d.Number, Size: expected[i].Size}
		if d.Versions > 1 {
			ps.Versions = d.Versions
		}
		switch {
		case d.Action == resume.Skip:
			ps.State = PartSent
		case d.Action == resume.Verify:
			ps.State = PartServerOnly
		case d.Remote != nil:
			ps.State, ps.Size = PartMismatch, d.Remote.Size
		case d.Local != nil:
			ps.State = PartMissing
		default:
			ps.State = PartPending
		}
		switch {
		case d.Remote != nil:
			ps.ETag = d.Remote.ETag
		case d.Local != nil:
			ps.ETag = d.Local.ETag
		}
		parts[i] = ps
	}
	return parts, len(rec.Extra)
}

func (u *UploadStatus) tally() {
	u.BytesDone, u.BytesServerOnly = 0, 0
	for _, p := range u.Parts {
		switch p.State {
		case PartSent:
			u.BytesDone += p.Size
		case PartServerOnly:
			u.BytesServerOnly += p.Size
		}
	}
	if u.Parts == nil {
		u.Parts = []PartStatus{}
	}
}
