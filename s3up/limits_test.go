package s3up

import (
	"errors"
	"testing"
)

// checkPlan asserts every invariant S3 imposes on a plan for size bytes.
func checkPlan(t *testing.T, p Plan, size int64) {
	t.Helper()
	if p.Size != size {
		t.Fatalf("plan size %d, want %d", p.Size, size)
	}
	if size == 0 {
		if p.Count != 0 {
			t.Fatalf("empty file planned as %d parts", p.Count)
		}
		return
	}
	if p.Count < 1 || p.Count > MaxParts {
		t.Fatalf("size %d: %d parts, want 1..%d", size, p.Count, MaxParts)
	}
	if p.PartSize < MinPartSize || p.PartSize > MaxPartSize {
		t.Fatalf("size %d: part size %d out of S3 range", size, p.PartSize)
	}
	if p.LastPartSize < 1 || p.LastPartSize > p.PartSize {
		t.Fatalf("size %d: last part %d, part size %d", size, p.LastPartSize, p.PartSize)
	}
	var sum, off int64
	for n := int32(1); n <= p.Count; n++ {
		if p.Offset(n) != off {
			t.Fatalf("size %d: part %d at offset %d, want %d", size, n, p.Offset(n), off)
		}
		sum += p.PartSizeOf(n)
		off += p.PartSizeOf(n)
	}
	if sum != size {
		t.Fatalf("size %d: parts add up to %d", size, sum)
	}
}

func TestPlanPartsEdgeSizes(t *testing.T) {
	t.Parallel()
	const MiB, GiB = 1 << 20, 1 << 30
	sizes := []int64{0, 1, 2, MinPartSize - 1, MinPartSize, MinPartSize + 1,
		DefaultPartSize - 1, DefaultPartSize, DefaultPartSize + 1, 3 * DefaultPartSize, 3*DefaultPartSize + 1,
		300*MiB + 12345, DefaultPartSize * MaxParts, DefaultPartSize*MaxParts - 1, DefaultPartSize*MaxParts + 1,
		160 * GiB, 160*GiB + 1, 200 * GiB, 1 << 40, MaxObjectSize - 1, MaxObjectSize}
	for _, size := range sizes {
		p, err := PlanParts(size, 0, false)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		checkPlan(t, p, size)
	}
}

func TestPlanPartsRaisesAtTenThousandParts(t *testing.T) {
	t.Parallel()
	// 16 MiB × 10,000 fits exactly; one byte more needs a bigger part.
	at := DefaultPartSize * MaxParts
	p, err := PlanParts(at, 0, false)
	if err != nil || p.Count != MaxParts || p.Raised || p.PartSize != DefaultPartSize {
		t.Fatalf("at boundary: %+v, %v", p, err)
	}
	p, err = PlanParts(at+1, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p, at+1)
	if !p.Raised || p.PartSize != DefaultPartSize+(1<<20) {
		t.Fatalf("just past boundary: %+v", p)
	}
	// 200 GiB: 12,800 parts of 16 MiB → raised to 21 MiB (9,753 parts).
	p, err = PlanParts(200<<30, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, p, 200<<30)
	if p.PartSize != 21<<20 || p.Count != 9753 || !p.Raised {
		t.Fatalf("200 GiB: %+v", p)
	}
}

func TestPlanPartsCeilingNotFloor(t *testing.T) {
	t.Parallel()
	// minio-go's floor division planned 10,001 parts just above 160 GiB with
	// 16 MiB steps; ceiling division must never exceed MaxParts.
	for _, delta := range []int64{-1, 0, 1, 1 << 20, 1<<20 + 1} {
		size := int64(160<<30) + delta
		for _, ps := range []int64{0, 5 << 20, 16 << 20} {
			p, err := PlanParts(size, ps, false)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, p, size)
		}
	}
}

func TestPlanPartsExplicitTooSmallIsAnError(t *testing.T) {
	t.Parallel()
	_, err := PlanParts(200<<30, 8<<20, true)
	if !errors.Is(err, ErrBadInput) {
		t.Fatalf("err = %v, want ErrBadInput", err)
	}
	if p, err := PlanParts(200<<30, 8<<20, false); err != nil || !p.Raised {
		t.Fatalf("implicit: %+v %v", p, err)
	}
}

func TestPlanPartsRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		size, part int64
	}{{-1, 0}, {10, MinPartSize - 1}, {10, MaxPartSize + 1}, {MaxObjectSize + 1, 0}, {10, -5}} {
		if _, err := PlanParts(tc.size, tc.part, true); !errors.Is(err, ErrBadInput) {
			t.Errorf("PlanParts(%d, %d) err = %v, want ErrBadInput", tc.size, tc.part, err)
		}
	}
}

func FuzzPlanParts(f *testing.F) {
	f.Add(int64(300<<20+5), int64(0))
	f.Add(int64(160<<30+1), int64(5<<20))
	f.Fuzz(func(t *testing.T, size, part int64) {
		p, err := PlanParts(size, part, false)
		if err != nil {
			return
		}
		checkPlan(t, p, size)
	})
}

// TestStreamPartSizes: a stream of unknown length never needs part 10,001
// up to StreamCapacity (more than 5 TiB, the largest object of most stores),
// every part but the last is at least the base and at most MaxPartSize, and
// small streams keep the base part size (memory is parts in flight).
func TestStreamPartSizes(t *testing.T) {
	t.Parallel()
	for _, base := range []int64{0, MinPartSize, DefaultPartSize, 64 << 20} {
		capacity := StreamCapacity(base)
		if capacity < 5<<40 {
			t.Fatalf("base %d: capacity %d, below 5 TiB", base, capacity)
		}
		for _, size := range []int64{1, 16 << 30, 100 << 30, 1 << 40, 5 << 40, capacity} {
			var sent int64
			n := 0
			maxPart := int64(0)
			for sent < size {
				p := StreamPartSize(base, sent)
				if p < max(base, MinPartSize) || p > MaxPartSize {
					t.Fatalf("base %d, part %d of a %d-byte stream: %d bytes", base, n+1, size, p)
				}
				maxPart = max(maxPart, p)
				sent += p
				n++
			}
			if n > MaxParts {
				t.Fatalf("base %d: a %d-byte stream needs %d parts", base, size, n)
			}
			b := base
			if b == 0 {
				b = DefaultPartSize
			}
			if size <= b*streamGrowth && maxPart != b {
				t.Fatalf("base %d: a %d-byte stream grew its parts to %d", b, size, maxPart)
			}
			t.Logf("base %d: %d bytes in %d parts, largest %d MiB", base, size, n, maxPart>>20)
		}
	}
	if got := StreamPartSize(0, 0); got != DefaultPartSize {
		t.Fatalf("first part of a stream: %d", got)
	}
}
