package s3up

import (
	"strings"
	"time"

	"github.com/s3up/s3up/resume"
)

// How a tree run decides, for each file, whether to send it. The decision
// is a pure function of facts, asked for one at a time (like decide for
// one upload): the bucket's listing and the tree journal answer most files
// with no request of their own; a HeadObject (the mtime s3up stored) or a
// read of the file (--checksum-compare) only when they cannot.

// Decisions, as the JSON output and the summary name them.
const (
	DecisionNew            = "new"
	DecisionUnchanged      = "skipped: unchanged"
	DecisionSameContent    = "skipped: unchanged content"
	DecisionChangedSize    = "changed: size"
	DecisionChangedMTime   = "changed: mtime"
	DecisionChangedContent = "changed: content"
	DecisionNoMTime        = "changed: no mtime on the object"
	DecisionNotComparable  = "changed: content not comparable"
	DecisionUntrusted      = "changed: failed verification before"
)

// listedObject is one entry of the bucket's listing.
type listedObject struct {
	size int64
	etag string
}

// mtimeHead is what a HeadObject says about an object for the comparison.
type mtimeHead struct {
	found bool
	size  int64
	etag  string
	mtime string // the stored MTimeKey value, "" if none
}

// contentFacts is the outcome of comparing the file's bytes with the
// object's checksums (--checksum-compare).
type contentFacts struct {
	verdict contentVerdict
	why     string // what was compared, or why it could not be
}

// contentVerdict is what a content comparison found.
type contentVerdict int

const (
	contentUnknown   contentVerdict = iota // nothing beyond the size could be compared
	contentSame                            // a check beyond the size matched, none contradicts
	contentDifferent                       // a check contradicts the file
)

type fileFacts struct {
	size            int64
	mtime           time.Time
	object          *listedObject      // nil: not in the listing
	record          *resume.TreeRecord // what the journal says was stored, nil if nothing
	checksumCompare bool
	untrusted       bool // the object failed verification before (resume.DistrustList)

	head    *mtimeHead    // asked for
	content *contentFacts // asked for
}

type fileStep int

const (
	fileUpload fileStep = iota
	fileSkip
	fileAskHead    // HeadObject the key for its stored mtime
	fileAskContent // read the file and compare with the object's checksums
)

type fileDecision struct {
	next   fileStep
	reason string // one of the Decision* values, for upload and skip
	detail string // more words for people (what the content comparison used)
	etag   string // for a skip: the object's ETag, for the journal
}

// decideFile says what to do with one file of a tree, or which fact to ask
// for first.
func decideFile(f fileFacts) fileDecision {
	obj := f.object
	if f.head != nil {
		// A HeadObject answered after the listing: it is the newer fact.
		obj = nil
		if f.head.found {
			obj = &listedObject{size: f.head.size, etag: f.head.etag}
		}
	}
	switch {
	case obj == nil:
		return fileDecision{next: fileUpload, reason: DecisionNew}
	case f.untrusted:
		return fileDecision{next: fileUpload, reason: DecisionUntrusted}
	case obj.size != f.size:
		return fileDecision{next: fileUpload, reason: DecisionChangedSize}
	case f.checksumCompare && f.content == nil:
		return fileDecision{next: fileAskContent}
	case f.checksumCompare && f.content.verdict == contentSame:
		return fileDecision{next: fileSkip, reason: DecisionSameContent, detail: f.content.why, etag: obj.etag}
	case f.checksumCompare && f.content.verdict == contentDifferent:
		return fileDecision{next: fileUpload, reason: DecisionChangedContent, detail: f.content.why}
	case f.checksumCompare:
		return fileDecision{next: fileUpload, reason: DecisionNotComparable, detail: f.content.why}
	case f.record != nil && f.record.Size == f.size && f.record.MTime == f.mtime.UnixNano() && sameETag(f.record.ETag, obj.etag):
		return fileDecision{next: fileSkip, reason: DecisionUnchanged, etag: obj.etag}
	case f.head == nil:
		return fileDecision{next: fileAskHead}
	case f.head.mtime == "":
		return fileDecision{next: fileUpload, reason: DecisionNoMTime}
	case SameMTime(f.head.mtime, f.mtime):
		return fileDecision{next: fileSkip, reason: DecisionUnchanged, etag: obj.etag}
	}
	return fileDecision{next: fileUpload, reason: DecisionChangedMTime}
}

// sameETag compares ETags as listings and answers spell them (quoted or
// not).
func sameETag(a, b string) bool {
	return a != "" && strings.Trim(a, `"`) == strings.Trim(b, `"`)
}
