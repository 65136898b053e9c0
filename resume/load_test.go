package resume

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	h := testHeader(4)
	p1, p2, p3 := testPart(1), testPart(2), testPart(3)
	valid := sidecarBytes(t, h, p1, p2)
	tests := []struct {
		name    string
		data    []byte
		parts   []Part // wanted parts when wantErr is nil
		wantErr error
		errText string // substring of the error
	}{
		{name: "valid", data: valid, parts: []Part{p1, p2}},
		{name: "header only", data: sidecarBytes(t, h), parts: nil},
		{name: "torn last line, no newline",
			data: append(bytes.Clone(valid), `{"n":3,"size":83`...), parts: []Part{p1, p2}},
		{name: "torn last line, complete record without newline",
			data: bytes.TrimSuffix(sidecarBytes(t, h, p1, p2, p3), []byte("\n")), parts: []Part{p1, p2}},
		{name: "torn last line, zero-filled",
			data: append(bytes.Clone(valid), "\x00\x00\x00\x00\n"...), parts: []Part{p1, p2}},
		{name: "torn last line, half a record then newline",
			data: append(bytes.Clone(valid), `{"n":3,"si`+"\n"...), parts: []Part{p1, p2}},
		{name: "duplicate part records, last wins",
			data:  sidecarBytes(t, h, p1, p2, Part{Number: 1, Size: 7, ETag: `"new"`}),
			parts: []Part{{Number: 1, Size: 7, ETag: `"new"`}, p2}},
		{name: "corrupt middle line",
			data:    append(append(sidecarBytes(t, h, p1), "{not json\n"...), sidecarBytes(t, h, p2)[len(sidecarBytes(t, h)):]...),
			wantErr: ErrCorrupt, errText: "line 3"},
		{name: "blank middle line",
			data:    append(sidecarBytes(t, h, p1), append([]byte("\n"), sidecarBytes(t, h, p2)[len(sidecarBytes(t, h)):]...)...),
			wantErr: ErrCorrupt, errText: "line 3"},
		{name: "part number beyond part_count",
			data:    sidecarBytes(t, h, p1, Part{Number: 5, Size: 1, ETag: `"x"`}),
			wantErr: ErrCorrupt, errText: "line 3: part number 5 outside 1..4"},
		{name: "part number zero on the last line",
			data:    append(bytes.Clone(valid), `{"size":1,"etag":"x"}`+"\n"...),
			wantErr: ErrCorrupt, errText: "line 4"},
		{name: "part without etag",
			data:    sidecarBytes(t, h, Part{Number: 1, Size: 1}, p2),
			wantErr: ErrCorrupt, errText: "no etag"},
		{name: "empty file", data: []byte{}, wantErr: ErrCorrupt, errText: "line 1: empty"},
		{name: "truncated header",
			data: valid[:40], wantErr: ErrCorrupt, errText: "line 1: truncated header"},
		{name: "header without newline",
			data: bytes.TrimSuffix(sidecarBytes(t, h), []byte("\n")), wantErr: ErrCorrupt, errText: "line 1"},
		{name: "garbage bytes",
			data: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), wantErr: ErrCorrupt, errText: "line 1"},
		{name: "JSON but not a sidecar",
			data: []byte(`{"upload_id":"u"}` + "\n"), wantErr: ErrCorrupt, errText: "s3up_sidecar"},
		{name: "header missing upload id",
			data: []byte(`{"s3up_sidecar":1,"version":1}` + "\n"), wantErr: ErrCorrupt, errText: "upload_id"},
		{name: "header with a field of the wrong type",
			data:    bytes.Replace(sidecarBytes(t, h), []byte(`"part_count":4`), []byte(`"part_count":"4"`), 1),
			wantErr: ErrCorrupt, errText: "line 1: invalid header"},
		{name: "future version",
			data:    []byte(`{"s3up_sidecar":2,"version":2,"parts":"a new layout"}` + "\n" + "whatever v2 puts here\n"),
			wantErr: ErrFutureVersion, errText: "version 2, this s3up reads up to version 1"},
		{name: "future version in the version field only",
			data:    bytes.Replace(valid, []byte(`"version":1`), []byte(`"version":3`), 1),
			wantErr: ErrFutureVersion, errText: "version 3"},
		{name: "version zero",
			data:    bytes.Replace(valid, []byte(`"s3up_sidecar":1`), []byte(`"s3up_sidecar":0`), 1),
			wantErr: ErrCorrupt, errText: "inconsistent format version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := lockedSidecar(t)
			st, err := loadBytes(t, s, tt.data)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("Load: %v\nwant an error wrapping %q and containing %q", err, tt.wantErr, tt.errText)
				}
				if st != nil {
					t.Errorf("Load returned a state along with its error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			checkState(t, st, h, tt.parts...)
			// Whatever the tail looked like, appending must keep the sidecar loadable.
			if err := s.Append(p3); err != nil {
				t.Fatalf("Append after Load: %v", err)
			}
			st2, err := s.Load()
			if err != nil {
				t.Fatalf("reload after Append: %v", err)
			}
			checkState(t, st2, h, append(tt.parts, p3)...)
		})
	}
}

// checkState fails unless st has header h and exactly the given parts (later ones win).
func checkState(t *testing.T, st *State, h Header, parts ...Part) {
	t.Helper()
	want := map[int32]Part{}
	for _, p := range parts {
		want[p.Number] = p
	}
	if !maps.Equal(st.Parts, want) {
		t.Errorf("parts = %v\nwant    %v", st.Parts, want)
	}
	if !st.CreatedAt.Equal(h.CreatedAt) || !st.Source.ModTime.Equal(h.Source.ModTime) {
		t.Errorf("times changed: created %v mtime %v, want %v %v", st.CreatedAt, st.Source.ModTime, h.CreatedAt, h.Source.ModTime)
	}
	got := st.Header
	got.CreatedAt, got.Source.ModTime = h.CreatedAt, h.Source.ModTime
	if !reflect.DeepEqual(got, h) {
		t.Errorf("header = %+v\nwant     %+v", got, h)
	}
}

func TestLoadMissing(t *testing.T) {
	s := lockedSidecar(t)
	if _, err := s.Load(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing sidecar: %v, want fs.ErrNotExist", err)
	}
	if err := s.Append(testPart(1)); err == nil {
		t.Fatal("Append after a failed Load succeeded")
	}
}

func TestLoadTooLarge(t *testing.T) {
	s := lockedSidecar(t)
	if err := os.WriteFile(s.Path(), sidecarBytes(t, testHeader(1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(s.Path(), maxSidecarSize+1); err != nil { // sparse: cheap
		t.Fatal(err)
	}
	if _, err := s.Load(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load of a huge file: %v, want ErrCorrupt", err)
	}
}

// TestLoadEveryCrashPoint simulates a crash at every byte of a sidecar's life: after Create and
// each Append, every prefix of the file that a crash could leave must load, and must hold
// exactly the parts whose line was complete. Inside the header (which Create writes with a
// rename, so no crash leaves it partial) Load must refuse cleanly.
func TestLoadEveryCrashPoint(t *testing.T) {
	h := testHeader(3)
	parts := []Part{testPart(1), testPart(2), {Number: 1, Size: 1, ETag: `"again"`}}
	full := sidecarBytes(t, h, parts...)
	headerLen := len(sidecarBytes(t, h))
	s := lockedSidecar(t)
	for cut := 0; cut <= len(full); cut++ {
		st, err := loadBytes(t, s, full[:cut])
		if cut < headerLen {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("cut at %d (inside header): %v, want ErrCorrupt", cut, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		complete := bytes.Count(full[headerLen:cut], []byte("\n"))
		checkState(t, st, h, parts[:complete]...)
		// The next run appends after the crash point and must read its record back.
		next := Part{Number: 3, Size: 2, ETag: `"after-crash"`}
		if err := s.Append(next); err != nil {
			t.Fatalf("cut at %d: Append: %v", cut, err)
		}
		st, err = s.Load()
		if err != nil {
			t.Fatalf("cut at %d: reload after Append: %v", cut, err)
		}
		checkState(t, st, h, append(parts[:complete:complete], next)...)
	}
}
