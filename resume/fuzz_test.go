package resume

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load. It must never panic; it either fails with one of the
// documented errors or returns a state whose every record fits the header, and that state must
// survive an Append and a reload (the torn-tail repair must not glue lines together).
func FuzzLoad(f *testing.F) {
	h := testHeader(3)
	valid := sidecarBytes(f, h, testPart(1), testPart(2))
	f.Add(valid)
	f.Add(valid[:len(valid)-5])
	f.Add(sidecarBytes(f, h))
	f.Add(append(valid, "\x00\x00\n"...))
	f.Add([]byte(`{"s3up_sidecar":2}` + "\n"))
	f.Add([]byte(`{"s3up_sidecar":1,"version":1,"upload_id":"u","destination":{"bucket":"b","key":"k"},"source":{"path":"/p"},"part_size":1,"part_count":1}` + "\n{\"n\":1,\"size\":1,\"etag\":\"e\"}\n"))
	f.Add([]byte{})
	f.Add([]byte("\n\n\n"))
	f.Add([]byte("garbage\xff\xfe"))

	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Lock(filepath.Join(dir, "sidecar"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := os.WriteFile(s.Path(), data, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := s.Load()
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrFutureVersion) {
				t.Fatalf("Load: undocumented error %v", err)
			}
			return
		}
		if err := st.Header.validate(); err != nil {
			t.Fatalf("Load accepted an invalid header: %v", err)
		}
		for n, p := range st.Parts {
			if p.Number != n || p.validate(st.PartCount) != nil {
				t.Fatalf("Load accepted record %+v under number %d", p, n)
			}
		}
		extra := Part{Number: st.PartCount, Size: 1, ETag: `"fuzz"`}
		if err := s.Append(extra); err != nil {
			t.Fatalf("Append after a successful Load: %v", err)
		}
		again, err := s.Load()
		if err != nil {
			t.Fatalf("reload after Append: %v", err)
		}
		want := maps.Clone(st.Parts)
		want[extra.Number] = extra
		if !maps.Equal(again.Parts, want) {
			t.Fatalf("reload after Append: parts %v, want %v", again.Parts, want)
		}
	})
}
