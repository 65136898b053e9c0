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
	// Remote is the server's entry the decision is about: for Skip the one whose ETag the
	// sidecar records (Complete must name exactly it), for Verify the first candidate, for
	// Upload the entry that did not match; nil if the server has no entry for the number.
	Remote *Part
	// Candidates, for Verify, are every server entry of the planned size: a store that keeps
	// several uploads of one part number (SeaweedFS) lists them all, and the engine adopts the
	// one whose checksum matches the local bytes.
	Candidates []Part
	// Versions is how many entries the server lists for this part number (0, 1, or more on
	// stores that keep every upload of a part).
	Versions int
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
//	record, ETag E, size S       an entry with ETag E, size S      Skip
//	record                       missing                           Upload
//	record, ETag E               no entry with E (other ETag,      Upload
//	                             size or checksum)
//	none                         entries of the planned size       Verify (each is a candidate)
//	any                          only entries of another size      Upload
//	record of other size         any                               Upload
//	none                         missing                           Upload
//
// remote may hold several entries for one part number (stores that keep every upload of a
// part): every entry is considered, and the result never depends on the order in which the
// server lists them. "Planned size" is PartSpec.Size. ETags are compared verbatim except that
// a missing pair of surrounding quotes on one side is tolerated; checksums are compared only
// when both sides have one. Server parts outside the plan go to Extra and are never part of a
// Complete.
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
	onServer := make(map[int32][]Part, len(remote))
	var r Reconciliation
	for _, p := range remote {
		if planned[p.Number] {
			onServer[p.Number] = append(onServer[p.Number], p)
		} else {
			r.Extra = append(r.Extra, p)
		}
	}
	slices.SortStableFunc(r.Extra, func(a, b Part) int { return cmp.Compare(a.Number, b.Number) })

	// Decisions point into these, so that 10,000 parts cost a few allocations, not 20,000.
	locals := make([]Part, 0, len(expected))
	r.Decisions = make([]Decision, 0, len(expected))
	for _, e := range expected {
		d := Decision{Number: e.Number}
		if p, ok := local[e.Number]; ok {
			locals = append(locals, p)
			d.Local = &locals[len(locals)-1]
		}
		entries := onServer[e.Number]
		d.Versions = len(entries)
		d.Action, d.Reason, d.Remote, d.Candidates = decide(e, d.Local, entries)
		r.Decisions = append(r.Decisions, d)
	}
	return r
}

// decide applies the reconciliation table to one part. The order of the cases matters: the
// checks that make a part unusable whatever the other side says come first.
func decide(e PartSpec, l *Part, entries []Part) (Action, string, *Part, []Part) {
	if len(entries) == 0 {
		if l == nil {
			return Upload, "not in sidecar, not on server", nil, nil
		}
		if l.Size != e.Size {
			return Upload, fmt.Sprintf("sidecar records %d bytes, plan expects %d", l.Size, e.Size), nil, nil
		}
		return Upload, "in sidecar, missing on server", nil, nil
	}
	first := &entries[0]
	if l != nil && l.Size != e.Size {
		return Upload, fmt.Sprintf("sidecar records %d bytes, plan expects %d", l.Size, e.Size), first, nil
	}
	var sized []Part
	for _, p := range entries {
		if p.Size == e.Size {
			sized = append(sized, p)
		}
	}
	if len(sized) == 0 {
		return Upload, fmt.Sprintf("on server with %d bytes, plan expects %d", first.Size, e.Size), first, nil
	}
	if l == nil {
		return Verify, "on server, not in sidecar", &sized[0], sized
	}
	for i := range sized {
		r := &sized[i]
		if !sameETag(l.ETag, r.ETag) {
			continue
		}
		if l.Checksum != "" && r.Checksum != "" && l.Checksum != r.Checksum {
			return Upload, fmt.Sprintf("checksum differs: sidecar %s, server %s", l.Checksum, r.Checksum), r, nil
		}
		return Skip, "in sidecar and on server, ETag matches", r, nil
	}
	return Upload, fmt.Sprintf("ETag differs: sidecar %s, server %s", l.ETag, sized[0].ETag), &sized[0], nil
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
