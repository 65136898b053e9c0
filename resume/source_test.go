package resume

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStatSource(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	data := bytes.Repeat([]byte("0123456789"), 100_000)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := StatSource(path)
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := Fingerprint(bytes.NewReader(data), int64(len(data)))
	fi, _ := os.Stat(path)
	if src.Path != path || src.Size != int64(len(data)) || !src.ModTime.Equal(fi.ModTime()) || src.Fingerprint != fp {
		t.Errorf("StatSource = %+v", src)
	}

	t.Chdir(dir)
	rel, err := StatSource("f.bin")
	if err != nil {
		t.Fatal(err)
	}
	if rel.Path != src.Path {
		t.Errorf("relative path gave %q, want absolute %q", rel.Path, src.Path)
	}
}

func TestStatSourceRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := StatSource(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := StatSource(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v, want an error saying it is a directory", err)
	}
}

func TestFingerprint(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, size := range []int64{0, 1, fingerprintSample, 3*fingerprintSample - 1, 3 * fingerprintSample,
		3*fingerprintSample + 1, 10 << 20, 10<<20 + 7} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		fp, err := Fingerprint(bytes.NewReader(data), size)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if len(fp) != 64 {
			t.Errorf("size %d: fingerprint %q is not hex SHA-256", size, fp)
		}
		again, _ := Fingerprint(bytes.NewReader(data), size)
		if again != fp {
			t.Errorf("size %d: fingerprint not deterministic", size)
		}
		if size == 0 {
			continue
		}
		// A change to the first, middle or last byte of the file is always seen.
		for _, at := range []int64{0, size / 2, size - 1} {
			changed := bytes.Clone(data)
			changed[at] ^= 1
			if got, _ := Fingerprint(bytes.NewReader(changed), size); got == fp {
				t.Errorf("size %d: change at byte %d not detected", size, at)
			}
		}
		// Same leading bytes, other size: differs.
		if got, _ := Fingerprint(bytes.NewReader(data[:size-1]), size-1); got == fp {
			t.Errorf("size %d: truncation by one byte not detected", size)
		}
	}
}

func TestFingerprintShortRead(t *testing.T) {
	data := make([]byte, 100)
	if _, err := Fingerprint(bytes.NewReader(data), 200); err == nil {
		t.Fatal("Fingerprint of a file shorter than its size succeeded")
	}
	if _, err := Fingerprint(bytes.NewReader(data), -1); err == nil {
		t.Fatal("Fingerprint accepted a negative size")
	}
}

func TestCheckResumable(t *testing.T) {
	h := testHeader(4)
	h.ObjectOptions = map[string]string{"content-type": "text/plain", "x-amz-meta-owner": "ann"}
	opts := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	same := opts("content-type", "text/plain", "x-amz-meta-owner", "ann")
	tests := []struct {
		name    string
		edit    func(src *Source, dest *Destination)
		options map[string]string
		wantErr error
		text    []string // substrings of the error
	}{
		{name: "unchanged", options: same},
		{name: "unchanged, mtime in another zone",
			edit:    func(s *Source, _ *Destination) { s.ModTime = s.ModTime.In(time.FixedZone("X", 3600)) },
			options: same},
		{name: "size changed",
			edit:    func(s *Source, _ *Destination) { s.Size++ },
			options: same, wantErr: ErrSourceChanged, text: []string{"size 33554432 → 33554433 bytes"}},
		{name: "mtime changed",
			edit:    func(s *Source, _ *Destination) { s.ModTime = s.ModTime.Add(time.Nanosecond) },
			options: same, wantErr: ErrSourceChanged, text: []string{"mtime 2024-05-01T12:00:00.123456789Z → 2024-05-01T12:00:00.12345679Z"}},
		{name: "fingerprint changed",
			edit:    func(s *Source, _ *Destination) { s.Fingerprint = "ffff" + s.Fingerprint[4:] },
			options: same, wantErr: ErrSourceChanged, text: []string{"fingerprint 001122334455 → ffff22334455"}},
		{name: "path changed",
			edit:    func(s *Source, _ *Destination) { s.Path = "/elsewhere/big.bin" },
			options: same, wantErr: ErrSourceChanged, text: []string{`path "/data/big.bin" → "/elsewhere/big.bin"`}},
		{name: "source change wins over option change",
			edit:    func(s *Source, d *Destination) { s.Size++; d.Key = "other" },
			options: opts(), wantErr: ErrSourceChanged, text: []string{"size"}},
		{name: "content-type changed",
			options: opts("content-type", "image/png", "x-amz-meta-owner", "ann"),
			wantErr: ErrOptionsChanged, text: []string{`content-type "text/plain" → "image/png"`}},
		{name: "option added and option removed",
			options: opts("content-type", "text/plain", "storage-class", "GLACIER"),
			wantErr: ErrOptionsChanged,
			text:    []string{`storage-class (unset) → "GLACIER"`, `x-amz-meta-owner "ann" → (unset)`}},
		{name: "bucket changed",
			edit:    func(_ *Source, d *Destination) { d.Bucket = "other" },
			options: same, wantErr: ErrOptionsChanged, text: []string{`bucket "bucket" → "other"`}},
		{name: "endpoint and key changed",
			edit:    func(_ *Source, d *Destination) { d.Endpoint = ""; d.Key = "k2" },
			options: same, wantErr: ErrOptionsChanged, text: []string{`endpoint "http://127.0.0.1:9000" → ""`, `key "dir/big.bin" → "k2"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, dest := h.Source, h.Destination
			if tt.edit != nil {
				tt.edit(&src, &dest)
			}
			err := CheckResumable(h, src, dest, tt.options)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckResumable: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CheckResumable: %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestCheckResumableNilOptions(t *testing.T) {
	h := testHeader(1)
	h.ObjectOptions = nil
	if err := CheckResumable(h, h.Source, h.Destination, map[string]string{}); err != nil {
		t.Errorf("nil vs empty options: %v", err)
	}
}

func TestSidecarPath(t *testing.T) {
	src := "/data/big.bin"
	a := Destination{Bucket: "b", Key: "k"}
	b := Destination{Bucket: "b", Key: "k2"}
	c := Destination{Endpoint: "http://minio:9000", Bucket: "b", Key: "k"}
	for _, stateDir := range []string{"", "/var/lib/s3up"} {
		pa, pb, pc := SidecarPath(stateDir, src, a), SidecarPath(stateDir, src, b), SidecarPath(stateDir, src, c)
		if pa == pb || pa == pc || pb == pc {
			t.Errorf("stateDir %q: destinations share a sidecar: %s %s %s", stateDir, pa, pb, pc)
		}
		if SidecarPath(stateDir, src, a) != pa {
			t.Errorf("stateDir %q: SidecarPath not deterministic", stateDir)
		}
	}
	// The documented formulas (computed independently with sha256sum), which other tools may
	// rely on to find sidecars.
	if got, want := SidecarPath("", src, a), "/data/.big.bin.s3up-3f9c321b4fc4"; got != want {
		t.Errorf("next to source: %s, want %s", got, want)
	}
	if got, want := SidecarPath("/state", src, a), "/state/big.bin-f32206673ee11316.s3up"; got != want {
		t.Errorf("in state dir: %s, want %s", got, want)
	}
	// In a state directory, two sources with one base name must not collide.
	if SidecarPath("/state", "/x/big.bin", a) == SidecarPath("/state", "/y/big.bin", a) {
		t.Error("state dir: same base name, different directories share a sidecar")
	}
}
