package resume

import (
	"fmt"
	"os"
	"testing"
)

// BenchmarkAppend shows that recording a part costs the same with 100 or 10,000 parts already
// recorded: one write and one fdatasync, never a rewrite. Most of the time is the fdatasync,
// so absolute numbers depend on the disk under TMPDIR.
func BenchmarkAppend(b *testing.B) {
	for _, existing := range []int32{100, 10_000} {
		b.Run(fmt.Sprintf("existing=%d", existing), func(b *testing.B) {
			s := lockedSidecar(b)
			h := testHeader(10_000)
			parts := make([]Part, existing)
			for i := range parts {
				parts[i] = testPart(int32(i) + 1)
			}
			if err := os.WriteFile(s.Path(), sidecarBytes(b, h, parts...), 0o600); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Load(); err != nil {
				b.Fatal(err)
			}
			n := int32(0)
			for b.Loop() {
				if err := s.Append(testPart(n%10_000 + 1)); err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	}
}

func BenchmarkLoad10000(b *testing.B) {
	s := lockedSidecar(b)
	h := testHeader(10_000)
	parts := make([]Part, 10_000)
	for i := range parts {
		parts[i] = testPart(int32(i) + 1)
	}
	data := sidecarBytes(b, h, parts...)
	if err := os.WriteFile(s.Path(), data, 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		st, err := s.Load()
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Parts) != 10_000 {
			b.Fatalf("%d parts", len(st.Parts))
		}
	}
}

func BenchmarkReconcile10000(b *testing.B) {
	expected := make([]PartSpec, 10_000)
	local := make(map[int32]Part, 10_000)
	remote := make([]Part, 0, 10_000)
	for i := range expected {
		n := int32(i) + 1
		p := testPart(n)
		expected[i] = PartSpec{Number: n, Size: p.Size}
		if n%10 != 0 { // the last run died now and then
			local[n] = p
		}
		if n%7 != 0 {
			remote = append(remote, p)
		}
	}
	for b.Loop() {
		r := Reconcile(expected, local, remote)
		if len(r.Decisions) != 10_000 {
			b.Fatal(len(r.Decisions))
		}
	}
}
