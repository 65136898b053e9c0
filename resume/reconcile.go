package resume

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Action is what the engine does with one planned part on resume.
type Action int

const (
	Skip   Action = iota // server and sidecar agree: keep the server's part
	Upload               // send (or re-send) the part
	Verify               // on the server but not in the sidecar: adopt only if the local bytes' checksum matches
)

func (a Action) String() string {
	switch a {
	case Skip:
		return "skip"
	case Upload:
		return "upload"
	case Verify:
		return "verify"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// PartSpec is what the plan expects for part Number.
type PartSpec struct {
	Number int32
	Size   int64
}

// Decision is the action for one planned part and why.
type Decision struct {
	Number int32
	Action Action
	Reason string // short human reason, e.g. "in sidecar, missing on server"
	Local  *Part  // nil if the sidecar has no record
	Remote *Part  // nil if the server (ListParts) has no such part
}

// Reconciliation is the outcome of Reconcile.
type Reconciliation struct {
	Decisions []Decision // one per expected part, ascending by Number
	Extra     []Part     // server parts whose number is beyond the plan (they are never completed)
}

// Count returns how many decisions have action a.
func (r Reconciliation) Count(a Action) int {
	n := 0
	for _, d := range r.Decisions {
		if d.Action == a {
			n++
		}
	}
	return n
}

// BytesOnServer is the size of the parts that are kept (Skip), i.e. what a resume does not send.
func (r Reconciliation) BytesOnServer() int64 {
	var n int64
	for _, d := range r.Decisions {
		if d.Action == Skip {
			n += d.Remote.Size
		}
	}
	return n
}

// Reconcile decides, part by part, what a resume must do, from the plan (expected), the
// sidecar's records (local) and the server's ListParts answer (remote). It is the table in the
// package documentation:
//
//	sidecar                      server                            action
//	record, ETag E, size S       ETag E, size S (sums agree)       Skip
//	record                       missing                           Upload
//	record, ETag E               other ETag, size or checksum      Upload
//	none                         present, planned size             Verify
//	any                          present, other size than planned  Upload
//	record of other size         any                               Upload
//	none                         missing                           Upload
//
// "Planned size" is PartSpec.Size. ETags are compared verbatim except that a missing pair of
// surrounding quotes on one side is tolerated; checksums are compared only when both sides
// have one. Server parts outside the plan go to Extra and are never part of a Complete.
func Reconcile(expected []PartSpec, local map[int32]Part, remote []Part) Reconciliation {
	byNumber := func(a, b PartSpec) int { return cmp.Compare(a.Number, b.Number) }
	if !slices.IsSortedFunc(expected, byNumber) {
		expected = slices.Clone(expected)
		slices.SortFunc(expected, byNumber)
	}
	planned := make(map[int32]bool, len(expected))
	for _, e := range expected {
		planned[e.Number] = true
	}
	onServer := make(map[int32]Part, len(remote))
	var r Reconciliation
	for _, p := range remote {
		if planned[p.Number] {
			onServer[p.Number] = p
		} else {
			r.Extra = append(r.Extra, p)
		}
	}
	slices.SortStableFunc(r.Extra, func(a, b Part) int { return cmp.Compare(a.Number, b.Number) })

	// Decisions point into these, so that 10,000 parts cost three allocations, not 20,000.
	locals := make([]Part, 0, len(expected))
	remotes := make([]Part, 0, len(expected))
	r.Decisions = make([]Decision, 0, len(expected))
	for _, e := range expected {
		d := Decision{Number: e.Number}
		if p, ok := local[e.Number]; ok {
			locals = append(locals, p)
			d.Local = &locals[len(locals)-1]
		}
		if p, ok := onServer[e.Number]; ok {
			remotes = append(remotes, p)
			d.Remote = &remotes[len(remotes)-1]
		}
		d.Action, d.Reason = decide(e, d.Local, d.Remote)
		r.Decisions = append(r.Decisions, d)
	}
	return r
}

// decide applies the reconciliation table to one part. The order of the cases matters: the
// checks that make a part unusable whatever the other side says come first.
func decide(e PartSpec, l, r *Part) (Action, string) {
	switch {
	case l == nil && r == nil:
		return Upload, "not in sidecar, not on server"
	case l != nil && l.Size != e.Size:
		return Upload, fmt.Sprintf("sidecar records %d bytes, plan expects %d", l.Size, e.Size)
	case l != nil && r == nil:
		return Upload, "in sidecar, missing on server"
	case r.Size != e.Size:
		return Upload, fmt.Sprintf("on server with %d bytes, plan expects %d", r.Size, e.Size)
	case l == nil:
		return Verify, "on server, not in sidecar"
	case !sameETag(l.ETag, r.ETag):
		return Upload, fmt.Sprintf("ETag differs: sidecar %s, server %s", l.ETag, r.ETag)
	case l.Checksum != "" && r.Checksum != "" && l.Checksum != r.Checksum:
		return Upload, fmt.Sprintf("checksum differs: sidecar %s, server %s", l.Checksum, r.Checksum)
	}
	return Skip, "in sidecar and on server, ETag matches"
}

// sameETag compares ETags verbatim, except that some stores (and some proxies) drop the quotes:
// `"abc"` equals `abc`. An empty ETag never matches: it proves nothing about the part.
func sameETag(a, b string) bool {
	a, b = unquote(a), unquote(b)
	return a != "" && a == b
}

func unquote(s string) string {
	if len(s) >= 2 && strings.HasPrefix(s, `"`) && strings.HasSuffix(s, `"`) {
		return s[1 : len(s)-1]
	}
	return s
}
