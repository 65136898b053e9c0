package s3up

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
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

	headed bool        // HeadObject was asked (after gone)
	object *objectHead // its answer; nil if there is no object at the key
}

type step int

const (
	stepAskParts  step = iota + 1 // call ListParts, then decide again
	stepAskObject                 // call HeadObject, then decide again
	stepFresh                     // start a new upload (after aborting decision.abort)
	stepResume                    // continue the journal's upload
	stepDone                      // the object is already this upload's result
	stepRefuse                    // the state cannot be used: decision.err
)

// decision is what decide returns.
type decision struct {
	next            step
	reason          string // why (for a fresh start: why the old upload is not resumed)
	warn            string // something the user must be told
	err             error  // stepRefuse
	abort           string // upload id to abort before starting fresh ("" for none)
	plan            Plan   // the plan to follow (the journal's on resume)
	alg             checksum.Algorithm
	rec             resume.Reconciliation // stepResume: per part, keep, verify or send
	verified, value string                // stepDone: what matched
}

// decide is the resume table (README "How resume works") as one pure function: it takes
// everything known and says what to do next. It never signals the next step
// by mutating its inputs.
func decide(f facts) decision {
	if f.stateErr != nil {
		if f.fresh {
			return decision{next: stepFresh, reason: "--fresh",
				warn: fmt.Sprintf("discarding unreadable resume state (%v); its upload, if any, is left for `s3up gc`", f.stateErr)}
		}
		return decision{next: stepRefuse, err: fmt.Errorf("%w: resume state cannot be used: %w; rerun with --fresh to discard it and start over", ErrState, f.stateErr)}
	}
	if f.state == nil {
		return decision{next: stepFresh}
	}
	st := f.state
	if f.fresh {
		return decision{next: stepFresh, abort: st.UploadID, reason: "--fresh"}
	}
	if err := resume.CheckResumable(st.Header, f.src, f.dest, f.options); err != nil {
		if errors.Is(err, resume.ErrSourceChanged) {
			return decision{next: stepFresh, abort: st.UploadID, reason: err.Error()}
		}
		return decision{next: stepRefuse, err: fmt.Errorf("%w: %w; rerun with the original options, or with --fresh to start over", ErrState, err)}
	}
	// A resume keeps the shape and checksum the upload was started with.
	plan, err := PlanParts(f.src.Size, st.PartSize, false)
	if err != nil || plan.Count != st.PartCount || plan.PartSize != st.PartSize {
		return decision{next: stepRefuse, err: fmt.Errorf("%w: resume state records %d parts of %d bytes, which does not fit the %d-byte source; rerun with --fresh",
			ErrState, st.PartCount, st.PartSize, f.src.Size)}
	}
	alg := checksum.Algorithm(strings.ToLower(st.ChecksumAlgorithm))
	if alg == "" {
		alg = checksum.None
	}
	if !f.listed {
		return decision{next: stepAskParts, plan: plan, alg: alg}
	}
	if f.gone {
		if !f.headed {
			return decision{next: stepAskObject, plan: plan, alg: alg}
		}
		method, value, why := matchesJournal(f.object, st, plan, alg)
		if why == "" {
			return decision{next: stepDone, plan: plan, alg: alg, verified: method, value: value}
		}
		return decision{next: stepFresh, abort: st.UploadID,
			reason: fmt.Sprintf("upload %s no longer exists on the server (%s; a lifecycle rule such as AbortIncompleteMultipartUpload, R2's 7-day default, or `s3up gc` may have removed it)", st.UploadID, why)}
	}
	rec := resume.Reconcile(plan.specs(), st.Parts, f.remote)
	return decision{next: stepResume, plan: plan, alg: alg, rec: rec}
}

// matchesJournal decides whether the object at the key is the result of the
// journal's upload (someone, maybe a run whose answer was lost, completed
// it): its size, and its checksum or multipart ETag, must match what the
// journal's parts give. It returns what matched, or why not. A partial or
// foreign object is never taken as done.
func matchesJournal(o *objectHead, st *resume.State, plan Plan, alg checksum.Algorithm) (method, value, why string) {
	if o == nil {
		return "", "", "no object at the key"
	}
	if o.size != plan.Size {
		return "", "", fmt.Sprintf("the object at the key has %d bytes, not %d", o.size, plan.Size)
	}
	parts := make([]resume.Part, 0, plan.Count)
	for n := int32(1); n <= plan.Count; n++ {
		p, ok := st.Parts[n]
		if !ok || p.Size != plan.PartSizeOf(n) {
			return "", "", "the state does not record every part, so the object cannot be verified"
		}
		parts = append(parts, p)
	}
	return matchObject(o, parts, alg)
}

// matchObject decides whether an object is exactly the given parts: a check
// beyond its size must prove it, and none may contradict it.
func matchObject(o *objectHead, parts []resume.Part, alg checksum.Algorithm) (method, value, why string) {
	c := checkObject(o, parts, alg)
	switch {
	case c.mismatch != "":
		return "", "", c.mismatch
	case !c.verified():
		return "", "", "the object at the key has the right size, but nothing the store reports proves it is this upload's result"
	}
	return c.method(), c.value, ""
}

// objectChecksum is the checksum the store reports for an object made of
// parts, combined the way the store says it combines them (sumType), or
// the algorithm's own way when the store does not say.
func objectChecksum(alg checksum.Algorithm, sumType types.ChecksumType, parts []resume.Part) (string, error) {
	if sumType == "" {
		sumType = alg.Type()
	}
	sums := make([]string, len(parts))
	sizes := make([]int64, len(parts))
	for i, p := range parts {
		sums[i], sizes[i] = p.Checksum, p.Size
	}
	return checksum.Object(alg, sumType, sums, sizes)
}

// partMD5s returns the MD5 behind every part's ETag, if all are plain MD5s.
func partMD5s(parts []resume.Part) ([][]byte, bool) {
	out := make([][]byte, len(parts))
	for i, p := range parts {
		m, ok := checksum.ETagMD5(p.ETag)
		if !ok {
			return nil, false
		}
		out[i] = m
	}
	return out, true
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
