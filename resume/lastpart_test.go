package resume

import "testing"

func TestLastPart(t *testing.T) {
	for _, c := range []struct {
		parts []int32
		want  int32
	}{{nil, 0}, {[]int32{1}, 1}, {[]int32{3, 1, 7, 2}, 7}} {
		st := &State{Header: Header{PartCount: 10}, Parts: map[int32]Part{}}
		for _, n := range c.parts {
			st.Parts[n] = Part{Number: n, Size: 1, ETag: "e"}
		}
		if got := st.LastPart(); got != c.want {
			t.Errorf("parts %v: LastPart %d, want %d", c.parts, got, c.want)
		}
	}
}
