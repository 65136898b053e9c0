package resume

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
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
	for name, path := range map[string]func(Destination) string{
		"state dir": func(d Destination) string { return SidecarPath("/var/lib/s3up", src, d) },
		"legacy":    func(d Destination) string { return LegacySidecarPath(src, d) },
	} {
		pa, pb, pc := path(a), path(b), path(c)
		if pa == pb || pa == pc || pb == pc {
			t.Errorf("%s: destinations share a sidecar: %s %s %s", name, pa, pb, pc)
		}
		if path(a) != pa {
			t.Errorf("%s: not deterministic", name)
		}
	}
	// The documented formulas (computed independently with sha256sum), which other tools may
	// rely on to find sidecars, and by which older versions' sidecars are found.
	if got, want := LegacySidecarPath(src, a), "/data/.big.bin.s3up-3f9c321b4fc4"; got != want {
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

func TestDefaultStateDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/xdg/state")
	if d, err := DefaultStateDir(); err != nil || d != "/xdg/state/s3up" {
		t.Errorf("XDG_STATE_HOME: %q %v", d, err)
	}
	t.Setenv("XDG_STATE_HOME", "relative/ignored") // the spec says relative paths are invalid
	t.Setenv("HOME", "/home/u")
	if d, err := DefaultStateDir(); err != nil || d != "/home/u/.local/state/s3up" {
		t.Errorf("HOME: %q %v", d, err)
	}
}

func TestPrepareStateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "s3up")
	if err := PrepareStateDir(dir, true); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("created with %v, want 0700", fi.Mode().Perm())
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := PrepareStateDir(dir, false); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o755 {
		t.Errorf("a --state-dir of the user's keeps its mode, got %v", fi.Mode().Perm())
	}
	if err := PrepareStateDir(dir, true); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("default state dir not tightened: %v", fi.Mode().Perm())
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := PrepareStateDir(file, true); err == nil {
		t.Error("a file accepted as state directory")
	}
}

// TestSourceDiff: device, inode and ctime changes count, but only where both sides recorded
// them (state of older versions has none).
func TestSourceDiff(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	base := Source{Path: "/a", Size: 10, ModTime: t0, Fingerprint: "f", Dev: 1, Inode: 2, Ctime: t0}
	for _, tc := range []struct {
		name string
		mod  func(*Source)
		want string
	}{
		{"same", func(*Source) {}, ""},
		{"ctime", func(s *Source) { s.Ctime = t0.Add(time.Nanosecond) }, "ctime"},
		{"inode", func(s *Source) { s.Inode = 3 }, "replaced"},
		{"device", func(s *Source) { s.Dev = 9 }, "replaced"},
		{"size", func(s *Source) { s.Size = 11 }, "size"},
		{"older state without ids", func(s *Source) { s.Dev, s.Inode, s.Ctime = 0, 0, time.Time{} }, ""},
	} {
		cur := base
		tc.mod(&cur)
		got := strings.Join(base.Diff(cur), "; ")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: diff %q, want %q", tc.name, got, tc.want)
		}
		// Symmetric for the zero-value rule: old state against a new identity.
		if tc.name == "older state without ids" && len(cur.Diff(base)) != 0 {
			t.Errorf("old state vs new identity: %v", cur.Diff(base))
		}
	}
}

// TestOpenSourceIdentity: the identity comes from the open descriptor; an in-place write with
// the mtime restored (rsync --inplace -t, touch -r) changes the ctime, which a user cannot set.
func TestOpenSourceIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 300<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	f, a, err := OpenSource(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if runtime.GOOS == "linux" && (a.Inode == 0 || a.Ctime.IsZero()) {
		t.Fatalf("no inode or ctime on linux: %+v", a)
	}
	mtime := a.ModTime
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt([]byte("yyyy"), 100<<10); err != nil { // between the fingerprint samples
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	b, err := StatSource(path)
	if err != nil {
		t.Fatal(err)
	}
	if !b.ModTime.Equal(a.ModTime) || b.Fingerprint != a.Fingerprint {
		t.Fatalf("test setup: mtime or fingerprint changed: %+v vs %+v", a, b)
	}
	if runtime.GOOS == "linux" {
		d := a.Diff(b)
		if len(d) != 1 || !strings.Contains(d[0], "ctime") {
			t.Fatalf("in-place edit with mtime restored: diff %v, want the ctime", d)
		}
	}
}
