package s3up

import (
	"errors"
	"fmt"
	"strings"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// facts is everything known about an upload when it is decided. The
// session gathers them in order, asking decide after each step what it
// needs next; decide itself does no I/O.
type facts struct {
	fresh    bool               // --fresh
	state    *resume.State      // the journal; nil if there is none
	stateErr error              // the journal exists but cannot be read
	src      resume.Source      // the source as it is now
	dest     resume.Destination // where it goes (endpoint normalised)
	options  map[string]string  // object options the user set now

	listed bool          // ListParts was asked
	remote []resume.Part // its answer: every entry, several per number on some stores
	gone   bool          // the upload no longer exists (confirmed)
	noList bool          // the store does not implement ListParts

	headed bool        // HeadObject was asked (after gone)
	object *objectHead // its answer; nil if there is no object at the key

	etagsProve bool   // the store's ETags are MD5s (store.Profile.ETagsProve)
	untrusted  string // why the object at the key failed verification before ("" if it did not)

	// A stream is resumed by content, part by part as it is read again; what
	// decides whether it can be:
	stream         bool // the source is a stream
	expectedSize   int64
	replaceKnown   bool // whether the store can replace a part is known
	refusesReplace bool // it cannot: the parts that differ could not go into the old upload
}

type step int

const (
	stepAskParts   step = iota + 1 // call ListParts, then decide again
	stepAskObject                  // call HeadObject, then decide again
	stepAskReplace                 // try whether the store can replace a part, then decide again
	stepFresh                      // start a new upload (after aborting decision.abort)
	stepResume                     // continue the journal's upload
	stepDone                       // the object is already this upload's result
	stepRefuse                     // the state cannot be used: decision.err
)

// decision is what decide returns.
type decision struct {
	next   step
	reason string     // why (for a fresh start: why the old upload is not resumed)
	warn   string     // something the user must be told
	hint   store.Hint // what they can do about it (0: nothing to add)
	err    error      // stepRefuse
	abort  string     // upload id to abort before starting fresh ("" for none)
	plan   Plan       // the plan to follow (the journal's on resume)
	alg    checksum.Algorithm
	rec    resume.Reconciliation // stepResume: per part, keep, verify or send
	remote []resume.Part         // stepResume of a stream: what the server holds
	check  objectCheck           // stepDone: what matched
	etag   string                // stepDone: the object's ETag
}

// decide is the resume table (README "How resume works") as one pure function: it takes
// everything known and says what to do next. It never signals the next step
// by mutating its inputs.
func decide(f facts) decision {
	if f.stateErr != nil {
		if f.fresh {
			return decision{next: stepFresh, reason: "asked to start over",
				warn: fmt.Sprintf("discarding unreadable resume state (%v); its upload, if any, is left for a gc of forgotten uploads", f.stateErr),
				hint: store.HintGC}
		}
		return decision{next: stepRefuse, err: store.WithHint(fmt.Errorf("%w: resume state cannot be used: %w", ErrState, f.stateErr), store.HintFresh)}
	}
	if f.state == nil {
		return decision{next: stepFresh}
	}
	st := f.state
	if f.fresh {
		return decision{next: stepFresh, abort: st.UploadID, reason: "asked to start over"}
	}
	if f.stream != st.Stream {
		return decision{next: stepRefuse, err: store.WithHint(fmt.Errorf("%w: resume state of a %s where a %s is uploaded", ErrState, kindName(st.Stream), kindName(f.stream)), store.HintFresh)}
	}
	if f.stream {
		return decideStream(f)
	}
	if err := resume.CheckResumable(st.Header, f.src, f.dest, f.options); err != nil {
		if errors.Is(err, resume.ErrSourceChanged) {
			return decision{next: stepFresh, abort: st.UploadID, reason: err.Error()}
		}
		return decision{next: stepRefuse, err: store.WithHint(fmt.Errorf("%w: %w", ErrState, err), store.HintOriginalOptions)}
	}
	// A resume keeps the shape and checksum the upload was started with.
	plan, err := planParts(f.src.Size, st.PartSize, false, 1) // the journal's size was accepted when it started
	if err != nil || plan.Count != st.PartCount || plan.PartSize != st.PartSize {
		return decision{next: stepRefuse, err: store.WithHint(fmt.Errorf("%w: resume state records %d parts of %d bytes, which does not fit the %d-byte source",
			ErrState, st.PartCount, st.PartSize, f.src.Size), store.HintFresh)}
	}
	alg := checksum.Algorithm(strings.ToLower(st.ChecksumAlgorithm))
	if alg == "" {
		alg = checksum.None
	}
	if !f.listed {
		return decision{next: stepAskParts, plan: plan, alg: alg}
	}
	if f.noList {
		// Without the server's part list the journal cannot be reconciled:
		// the upload is either done already (its answer lost) or started
		// again.
		if !f.headed {
			return decision{next: stepAskObject, plan: plan, alg: alg}
		}
		if c, why := matchesJournal(f.object, st, plan, judging{wire: alg, etagsProve: f.etagsProve}); why == "" && f.untrusted == "" {
			return decision{next: stepDone, plan: plan, alg: alg, check: c, etag: f.object.etag}
		}
		return decision{next: stepFresh, abort: st.UploadID,
			reason: "the store does not list the parts of an upload (no ListParts), so the interrupted upload cannot be checked and resumed: it starts again"}
	}
	if f.gone {
		if !f.headed {
			return decision{next: stepAskObject, plan: plan, alg: alg}
		}
		c, why := matchesJournal(f.object, st, plan, judging{wire: alg, etagsProve: f.etagsProve})
		if why == "" && f.untrusted != "" {
			why = "the object at the key failed verification before: " + f.untrusted
		}
		if why == "" {
			return decision{next: stepDone, plan: plan, alg: alg, check: c, etag: f.object.etag}
		}
		return decision{next: stepFresh, abort: st.UploadID,
			reason: fmt.Sprintf("upload %s no longer exists on the server (%s; a lifecycle rule such as AbortIncompleteMultipartUpload, R2's 7-day default, or a gc of forgotten uploads may have removed it)", st.UploadID, why)}
	}
	rec := resume.Reconcile(plan.specs(), st.Parts, f.remote)
	return decision{next: stepResume, plan: plan, alg: alg, rec: rec}
}

func kindName(stream bool) string {
	if stream {
		return "stream"
	}
	return "file"
}

// decideStream is the resume table of a stream: its journal's upload is
// resumed by content if the server still holds it and can take new bytes
// for a part that turns out to differ; otherwise a new upload starts.
func decideStream(f facts) decision {
	st := f.state
	if err := resume.CheckResumable(st.Header, f.src, f.dest, f.options); err != nil {
		return decision{next: stepRefuse, err: store.WithHint(fmt.Errorf("%w: %w", ErrState, err), store.HintOriginalOptions)}
	}
	alg := checksum.Algorithm(strings.ToLower(st.ChecksumAlgorithm))
	if alg == "" {
		alg = checksum.None
	}
	plan := Plan{PartSize: st.PartSize}
	if !f.replaceKnown && !f.noList {
		return decision{next: stepAskReplace, plan: plan, alg: alg}
	}
	switch {
	case f.refusesReplace:
		// The stream read again may differ from a part on, and the parts
		// before it are not kept: only a new upload can take it.
		return decision{next: stepFresh, abort: st.UploadID, reason: "the store cannot replace the parts of an upload; the stream is uploaded from its start"}
	case f.noList:
		return decision{next: stepFresh, abort: st.UploadID, reason: "the store does not list the parts of an upload; the stream is uploaded from its start"}
	case !f.listed:
		return decision{next: stepAskParts, plan: plan, alg: alg}
	case f.gone:
		return decision{next: stepFresh, abort: st.UploadID, reason: fmt.Sprintf("upload %s no longer exists on the server", st.UploadID)}
	}
	return decision{next: stepResume, plan: plan, alg: alg, remote: f.remote}
}

// specs lists what the plan expects of each part.
func (p Plan) specs() []resume.PartSpec {
	out := make([]resume.PartSpec, p.Count)
	for i := range out {
		n := int32(i + 1)
		out[i] = resume.PartSpec{Number: n, Size: p.PartSizeOf(n)}
	}
	return out
}
