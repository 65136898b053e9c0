package resume

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReconcileTable runs the reconciliation table (package doc, README "How resume works") row by row; each case is named
// "sidecar says / server says -> action".
func TestReconcileTable(t *testing.T) {
	const size = 5 << 20
	spec := PartSpec{Number: 3, Size: size}
	rec := func(etag string, size int64, sum string) *Part {
		return &Part{Number: 3, Size: size, ETag: etag, Checksum: sum}
	}
	tests := []struct {
		name   string
		local  *Part
		remote *Part
		want   Action
		reason string // substring of Decision.Reason
	}{
		// Row 1: part done, ETag E | part present, ETag E, same size | skip.
		{"done ETag E / present ETag E same size -> skip",
			rec(`"e"`, size, ""), rec(`"e"`, size, ""), Skip, "ETag matches"},
		{"done ETag E / present ETag E same size, same checksum -> skip",
			rec(`"e"`, size, "abc="), rec(`"e"`, size, "abc="), Skip, "ETag matches"},
		{"done ETag E / present ETag E same size, server has no checksum -> skip",
			rec(`"e"`, size, "abc="), rec(`"e"`, size, ""), Skip, "ETag matches"},
		{"done ETag E / present ETag E same size, sidecar has no checksum -> skip",
			rec(`"e"`, size, ""), rec(`"e"`, size, "abc="), Skip, "ETag matches"},
		{"done ETag \"E\" / present ETag E unquoted -> skip",
			rec(`"e"`, size, ""), rec(`e`, size, ""), Skip, "ETag matches"},
		{"done ETag E unquoted / present ETag \"E\" -> skip",
			rec(`e`, size, ""), rec(`"e"`, size, ""), Skip, "ETag matches"},

		// Row 2: part done | part missing | re-upload.
		{"done / missing -> upload",
			rec(`"e"`, size, ""), nil, Upload, "missing on server"},

		// Row 3: part done, ETag E | part present, other ETag or size | re-upload.
		{"done ETag E / present other ETag -> upload",
			rec(`"e"`, size, ""), rec(`"f"`, size, ""), Upload, "ETag differs"},
		{"done ETag E / present ETag differing in case -> upload",
			rec(`"abc"`, size, ""), rec(`"ABC"`, size, ""), Upload, "ETag differs"},
		{"done ETag E / present ETag E other size -> upload",
			rec(`"e"`, size, ""), rec(`"e"`, size-1, ""), Upload, "on server with"},
		{"done ETag E / present ETag E other checksum -> upload",
			rec(`"e"`, size, "abc="), rec(`"e"`, size, "xyz="), Upload, "checksum differs"},
		{"done ETag E / present, both ETags empty -> upload",
			rec(``, size, ""), rec(``, size, ""), Upload, "ETag differs"},

		// Row 4: nothing (crash after send, before record) | part present | adopt only if the
		// local checksum matches: Verify, which the engine carries out.
		{"nothing / present planned size -> verify",
			nil, rec(`"e"`, size, "abc="), Verify, "not in sidecar"},
		{"nothing / present other size -> upload",
			nil, rec(`"e"`, size+1, ""), Upload, "on server with"},

		// Rows the table implies: nothing anywhere, and a record that contradicts the plan.
		{"nothing / missing -> upload",
			nil, nil, Upload, "not in sidecar, not on server"},
		{"done with other size than planned / present same -> upload",
			rec(`"e"`, size-1, ""), rec(`"e"`, size-1, ""), Upload, "plan expects"},
		{"done with other size than planned / missing -> upload",
			rec(`"e"`, size+1, ""), nil, Upload, "plan expects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local := map[int32]Part{}
			if tt.local != nil {
				local[3] = *tt.local
			}
			var remote []Part
			if tt.remote != nil {
				remote = append(remote, *tt.remote)
			}
			r := Reconcile([]PartSpec{spec}, local, remote)
			if len(r.Decisions) != 1 || len(r.Extra) != 0 {
				t.Fatalf("got %d decisions, %d extra; want 1, 0", len(r.Decisions), len(r.Extra))
			}
			d := r.Decisions[0]
			if d.Number != 3 || d.Action != tt.want {
				t.Errorf("part %d: %v (%s), want part 3: %v", d.Number, d.Action, d.Reason, tt.want)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q, want it to mention %q", d.Reason, tt.reason)
			}
			if (d.Local == nil) != (tt.local == nil) || d.Local != nil && *d.Local != *tt.local {
				t.Errorf("Local = %v, want %v", d.Local, tt.local)
			}
			if (d.Remote == nil) != (tt.remote == nil) || d.Remote != nil && *d.Remote != *tt.remote {
				t.Errorf("Remote = %v, want %v", d.Remote, tt.remote)
			}
			if d.Action == Skip && d.Remote.ETag != tt.remote.ETag {
				t.Errorf("skip carries ETag %s, want the server's %s verbatim", d.Remote.ETag, tt.remote.ETag)
			}
		})
	}
}

func TestReconcileWholeUpload(t *testing.T) {
	expected := []PartSpec{{1, 10}, {2, 10}, {3, 10}, {4, 4}}
	local := map[int32]Part{
		1: {Number: 1, Size: 10, ETag: `"a"`},
		2: {Number: 2, Size: 10, ETag: `"b"`},
		4: {Number: 4, Size: 4, ETag: `"d"`},
	}
	remote := []Part{ // out of order, as a careless fake might list them
		{Number: 7, Size: 10, ETag: `"x"`},
		{Number: 3, Size: 10, ETag: `"c"`},
		{Number: 1, Size: 10, ETag: `a`},
		{Number: 5, Size: 10, ETag: `"y"`},
		{Number: 2, Size: 10, ETag: `"B"`},
	}
	r := Reconcile(expected, local, remote)
	want := []Action{Skip, Upload, Verify, Upload}
	for i, d := range r.Decisions {
		if d.Number != int32(i+1) || d.Action != want[i] {
			t.Errorf("decision %d: part %d %v (%s), want part %d %v", i, d.Number, d.Action, d.Reason, i+1, want[i])
		}
	}
	if len(r.Decisions) != len(want) {
		t.Fatalf("%d decisions, want %d", len(r.Decisions), len(want))
	}
	if r.Decisions[0].Remote.ETag != `a` {
		t.Errorf("skip must carry the server's ETag verbatim, got %s", r.Decisions[0].Remote.ETag)
	}
	if len(r.Extra) != 2 || r.Extra[0].Number != 5 || r.Extra[1].Number != 7 {
		t.Errorf("Extra = %v, want parts 5 and 7 in order", r.Extra)
	}
	if r.Count(Skip) != 1 || r.Count(Upload) != 2 || r.Count(Verify) != 1 {
		t.Errorf("counts skip=%d upload=%d verify=%d, want 1 2 1", r.Count(Skip), r.Count(Upload), r.Count(Verify))
	}
	if got := r.BytesOnServer(); got != 10 {
		t.Errorf("BytesOnServer = %d, want 10", got)
	}
}

func TestReconcileSortsExpected(t *testing.T) {
	r := Reconcile([]PartSpec{{3, 1}, {1, 1}, {2, 1}}, nil, nil)
	for i, d := range r.Decisions {
		if d.Number != int32(i+1) {
			t.Fatalf("decisions not ascending: %v", r.Decisions)
		}
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{Skip: "skip", Upload: "upload", Verify: "verify", Action(9): "Action(9)"} {
		if got := a.String(); got != want {
			t.Errorf("Action(%d).String() = %q, want %q", int(a), got, want)
		}
	}
}

// testSeed returns a seed for randomised tests: S3UP_TEST_SEED if set, else the clock. It is
// logged so that a failure can be replayed.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("S3UP_TEST_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("S3UP_TEST_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with S3UP_TEST_SEED=%d)", seed, seed)
	return seed
}

// TestReconcileInvariants checks, on random inputs, the properties the engine relies on: one
// decision per planned part, ascending; Skip only when both sides agree with the plan; every
// server part is either attached to a decision or listed in Extra.
func TestReconcileInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 0))
	etags := []string{`"a"`, `a`, `"b"`, ``}
	sums := []string{"", "x=", "y="}
	for iter := range 2000 {
		n := rng.IntN(20) + 1
		expected := make([]PartSpec, n)
		for i := range expected {
			expected[i] = PartSpec{Number: int32(i + 1), Size: 10}
		}
		expected[n-1].Size = int64(rng.IntN(10) + 1)
		part := func(num int32) Part {
			return Part{Number: num, Size: int64(rng.IntN(3) + 9), ETag: etags[rng.IntN(len(etags))], Checksum: sums[rng.IntN(len(sums))]}
		}
		local := map[int32]Part{}
		var remote []Part
		for num := int32(1); num <= int32(n)+3; num++ {
			if rng.IntN(2) == 0 {
				local[num] = part(num)
			}
			if rng.IntN(2) == 0 {
				remote = append(remote, part(num))
			}
		}
		rng.Shuffle(len(remote), func(i, j int) { remote[i], remote[j] = remote[j], remote[i] })

		r := Reconcile(expected, local, remote)
		if len(r.Decisions) != n {
			t.Fatalf("iter %d: %d decisions for %d parts", iter, len(r.Decisions), n)
		}
		attached := len(r.Extra)
		for i, d := range r.Decisions {
			e := expected[i]
			if d.Number != e.Number {
				t.Fatalf("iter %d: decision %d is for part %d", iter, i, d.Number)
			}
			if d.Remote != nil {
				attached++
			}
			switch d.Action {
			case Skip:
				if d.Local == nil || d.Remote == nil || d.Local.Size != e.Size || d.Remote.Size != e.Size ||
					!sameETag(d.Local.ETag, d.Remote.ETag) {
					t.Fatalf("iter %d: unjustified skip %+v local=%v remote=%v", iter, d, d.Local, d.Remote)
				}
			case Verify:
				if d.Local != nil || d.Remote == nil || d.Remote.Size != e.Size {
					t.Fatalf("iter %d: unjustified verify %+v", iter, d)
				}
			}
		}
		if attached != len(remote) {
			t.Fatalf("iter %d: %d of %d server parts accounted for", iter, attached, len(remote))
		}
	}
}

// TestReconcileSeveralVersions: a store that keeps every upload of a part number (SeaweedFS)
// lists them all, in an order of its own (by ETag). Whatever the order, the entry the sidecar
// records is kept and is the one Complete names; in the crash window every entry of the
// planned size is a candidate for adoption.
func TestReconcileSeveralVersions(t *testing.T) {
	const size = 5 << 20
	spec := []PartSpec{{Number: 1, Size: size}}
	old := Part{Number: 1, Size: size, ETag: `"aaa"`, Checksum: "old="}
	cur := Part{Number: 1, Size: size, ETag: `"bbb"`, Checksum: "new="}
	short := Part{Number: 1, Size: size - 1, ETag: `"ccc"`}
	for name, remote := range map[string][]Part{
		"recorded entry listed last":  {old, cur},
		"recorded entry listed first": {cur, old},
		"with a wrong-size entry":     {short, old, cur},
	} {
		t.Run(name, func(t *testing.T) {
			d := Reconcile(spec, map[int32]Part{1: cur}, remote).Decisions[0]
			if d.Action != Skip || *d.Remote != cur {
				t.Fatalf("%v %s, remote %+v; want skip of %+v", d.Action, d.Reason, d.Remote, cur)
			}
			if d.Versions != len(remote) {
				t.Fatalf("versions %d, want %d", d.Versions, len(remote))
			}
			// Crash window: nothing recorded; both full-size entries are candidates.
			v := Reconcile(spec, nil, remote).Decisions[0]
			if v.Action != Verify || len(v.Candidates) != 2 {
				t.Fatalf("crash window: %v with %d candidates, want verify with 2", v.Action, len(v.Candidates))
			}
			for _, c := range v.Candidates {
				if c.Size != size {
					t.Fatalf("candidate of the wrong size: %+v", c)
				}
			}
		})
	}
	// The recorded version is gone; only another one is listed: re-send.
	d := Reconcile(spec, map[int32]Part{1: cur}, []Part{old}).Decisions[0]
	if d.Action != Upload || !strings.Contains(d.Reason, "ETag differs") {
		t.Fatalf("%v %s, want upload", d.Action, d.Reason)
	}
	// Same ETag, other checksum listed beside the right one: the right one wins.
	twin := cur
	twin.Checksum = "other="
	d = Reconcile(spec, map[int32]Part{1: cur}, []Part{twin}).Decisions[0]
	if d.Action != Upload {
		t.Fatalf("checksum mismatch kept: %v", d.Action)
	}
}
