package s3fake

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
)

// Operations lists the names of the operations the fake implements, as
// [Hook], [Fake.FailNext], [Chaos] and [Fake.Calls] take them (the SDK's
// operation names).
var Operations = []string{
	"AbortMultipartUpload", "CompleteMultipartUpload", "CreateMultipartUpload", "DeleteObject",
	"DeleteObjects", "GetObject", "HeadBucket", "HeadObject", "ListMultipartUploads",
	"ListObjectsV2", "ListParts", "PutObject", "UploadPart",
}

func checkOp(op string) {
	if !slices.Contains(Operations, op) {
		panic(fmt.Sprintf("s3fake: unknown operation %q (want one of %v)", op, Operations))
	}
}

// Hook is called before every operation, with the operation's name (e.g.
// "UploadPart") and its input pointer (e.g. *s3.UploadPartInput), from the
// calling goroutine and without any lock held: it may block (on a channel,
// or until ctx is done), count, inspect the fake or call it. A non-nil
// error is returned to the caller, verbatim, instead of carrying out the
// operation; the request body is then not read. Return an error built with
// [APIError] or [ConnectionReset] to look like the SDK; a bare ctx.Err()
// is not what the SDK returns (it wraps the context's error in an
// OperationError, as [Fake] does when it finds ctx done after the hook).
type Hook func(ctx context.Context, op string, in any) error

// SetOnCall installs h as the hook called before every operation (nil
// removes it). It may be called at any time, also from a hook.
func (f *Fake) SetOnCall(h Hook) {
	f.mu.Lock()
	f.hook = h
	f.mu.Unlock()
}

type faultKind int

const (
	noFault faultKind = iota
	refuse
	loseRequest
	loseAnswer
	loseAnswerRetried
	corrupt
)

// A Fault is a failure injected into one call of an operation, queued with
// [Fake.FailNext] or drawn by [Chaos]. Faults are injected after the hook
// and before the request body is read.
type Fault struct {
	kind      faultKind
	err       func(op string) error
	afterBody bool
	name      string
}

// Refuse returns a fault that does not carry out the operation and returns
// err verbatim. The body is not read (see [Fault.AfterBody]).
func Refuse(err error) Fault {
	return Fault{kind: refuse, err: func(string) error { return err }, name: fmt.Sprintf("Refuse(%v)", err)}
}

// RefuseAPI returns a fault that does not carry out the operation and
// answers [APIError] with the given status, code and message for the
// operation it hits. The body is not read (see [Fault.AfterBody]).
func RefuseAPI(status int, code, message string) Fault {
	return Fault{kind: refuse, err: func(op string) error { return APIError(op, status, code, message) },
		name: fmt.Sprintf("RefuseAPI(%d %s)", status, code)}
}

var (
	// LoseRequest: the request never reaches the store (nothing is
	// applied) and the call fails with [ConnectionReset]. The body is not
	// read (see [Fault.AfterBody]).
	LoseRequest = Fault{kind: loseRequest, name: "LoseRequest"}

	// LoseAnswer: the store carries out the operation, the answer is lost
	// and the call fails with [ConnectionReset], whatever the store
	// answered.
	LoseAnswer = Fault{kind: loseAnswer, name: "LoseAnswer"}

	// LoseAnswerRetried: the store carries out the operation, the answer is
	// lost, the SDK sends the same request again (the same bytes) and the
	// call returns the answer to that second request. So a
	// CompleteMultipartUpload completes and then fails with NoSuchUpload; a
	// CreateMultipartUpload leaves two uploads and returns the second id;
	// an UploadPart stores the part twice (the same ETag, unless
	// [OpaqueETags]; a second entry with [PartVersions]); an
	// AbortMultipartUpload aborts and then fails with NoSuchUpload (or
	// succeeds, with [AbortUnknownSucceeds]); a PutObject with
	// IfNoneMatch "*" stores the object and then fails with
	// PreconditionFailed. The body counts twice in [Fake.BytesReceived].
	LoseAnswerRetried = Fault{kind: loseAnswerRetried, name: "LoseAnswerRetried"}

	// Corrupt: the request body arrives with one bit flipped (at a position
	// drawn from the fake's generator), as bytes damaged on the way do; the
	// store then checks and stores what arrived. A store that checks the
	// body's checksum or Content-MD5 refuses it (BadDigest or the checksum
	// error code); one that does not ([IgnoreChecksums],
	// [IgnoreContentMD5]) stores the damaged bytes.
	Corrupt = Fault{kind: corrupt, name: "Corrupt"}
)

// AfterBody returns a copy of a refusing fault ([Refuse], [RefuseAPI],
// [LoseRequest]) that first reads the whole request body (counted in
// [Fake.BytesReceived]) and then refuses: a store or proxy that fails the
// request once it has received it, or a connection that breaks at the end
// of the upload. Other faults read the body anyway and are returned
// unchanged.
func (ft Fault) AfterBody() Fault {
	if ft.refuses() {
		ft.afterBody = true
		ft.name += ".AfterBody()"
	}
	return ft
}

// String names the fault, for test logs.
func (ft Fault) String() string {
	if ft.name == "" {
		return "NoFault"
	}
	return ft.name
}

func (ft Fault) refuses() bool { return ft.kind == refuse || ft.kind == loseRequest }

func (ft Fault) error(op string) error {
	if ft.kind == loseRequest {
		return ConnectionReset(op)
	}
	return ft.err(op)
}

// FailNext queues faults for the next calls of operation op, in order: the
// next call of op gets faults[0], the one after faults[1], and so on. Queued
// faults come before [Chaos]. It panics if op is not one of [Operations].
func (f *Fake) FailNext(op string, faults ...Fault) {
	checkOp(op)
	f.mu.Lock()
	f.faults[op] = append(f.faults[op], faults...)
	f.mu.Unlock()
}

// PendingFaults returns how many queued faults op has not consumed yet.
func (f *Fake) PendingFaults(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.faults[op])
}

// ClearFaults drops every queued fault and stops [Chaos].
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	f.faults = map[string][]Fault{}
	f.chaos = nil
	f.mu.Unlock()
}

// Chaos injects faults at random. Each call of one of Ops (all operations
// if empty) that has no queued fault gets, with probability Rate, a fault
// drawn uniformly from Faults ([DefaultChaosFaults] if empty). The draws
// come from a generator seeded with Seed: print the seed in the test so a
// failure can be replayed. With concurrent calls the sequence of draws is
// reproducible but which call gets which draw depends on scheduling.
type Chaos struct {
	Seed   uint64
	Rate   float64
	Ops    []string
	Faults []Fault
}

// DefaultChaosFaults are the faults [Chaos] draws from when given none:
// a lost request, a 500 InternalError, a lost answer and a lost answer
// retried.
var DefaultChaosFaults = []Fault{
	LoseRequest,
	RefuseAPI(500, "InternalError", "We encountered an internal error. Please try again."),
	LoseAnswer,
	LoseAnswerRetried,
}

type chaosState struct {
	Chaos
	rng *rand.Rand
}

// SetChaos starts injecting faults at random as c says; a zero Chaos (Rate
// 0) stops it. It panics if c names an unknown operation.
func (f *Fake) SetChaos(c Chaos) {
	for _, op := range c.Ops {
		checkOp(op)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.Rate <= 0 {
		f.chaos = nil
		return
	}
	if len(c.Faults) == 0 {
		c.Faults = DefaultChaosFaults
	}
	f.chaos = &chaosState{Chaos: c, rng: rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))}
}

// FaultsInjected returns how many faults (queued or random) calls of op
// have received.
func (f *Fake) FaultsInjected(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected[op]
}

// nextFault takes the fault for a call of op: the next queued one, else a
// random one, else none.
func (f *Fake) nextFault(op string) Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ft Fault
	if q := f.faults[op]; len(q) > 0 {
		ft, f.faults[op] = q[0], q[1:]
	} else if c := f.chaos; c != nil && (len(c.Ops) == 0 || slices.Contains(c.Ops, op)) && c.rng.Float64() < c.Rate {
		ft = c.Faults[c.rng.IntN(len(c.Faults))]
	}
	if ft.kind != noFault {
		f.injected[op]++
	}
	return ft
}
