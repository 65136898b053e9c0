package resume

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLockTwiceInOneProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sidecar")
	a, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	// flock(2) locks belong to the open file description, so a second open of the lock file
	// conflicts even within one process. The engine relies on it: two Uploaders in one program
	// must not drive the same upload either.
	if b, err := Lock(path); !errors.Is(err, ErrLocked) {
		if b != nil {
			b.Close()
		}
		t.Fatalf("second Lock: %v, want ErrLocked", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Lock created the sidecar itself: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after Close: %v", err)
	}
	b.Close()
}

// TestLockHelperProcess is not a test: TestLockHeldByOtherProcess runs the test binary as a
// child that takes the lock, says so, and holds it until killed.
func TestLockHelperProcess(t *testing.T) {
	path := os.Getenv("S3UP_LOCK_HELPER_PATH")
	if path == "" {
		t.Skip("helper process only")
	}
	s, err := Lock(path)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer s.Close()
	fmt.Println("locked")
	// Hold the lock until killed. Blocking on stdin (a pipe the parent keeps open) keeps the
	// process alive: a bare select{} is a deadlock the runtime kills, dropping the lock early.
	io.ReadAll(os.Stdin)
	fmt.Println("stdin closed")
	os.Exit(1)
}

func TestLockHeldByOtherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sidecar")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "S3UP_LOCK_HELPER_PATH="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	if s, err := Lock(path); !errors.Is(err, ErrLocked) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Lock while another process holds it: %v, want ErrLocked", err)
	}
	// kill -9 leaves no stale lock: the kernel drops it with the process.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killed = true
	s, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	s.Close()
}

func TestRemoveLeavesNoFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "sidecar") // Lock creates the state directory
	s, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(testHeader(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(testPart(1)); err != nil {
		t.Fatal(err)
	}
	// A stray temporary file from a crash during Compact goes too.
	if err := os.WriteFile(path+".tmp", []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("Remove left %v", entries)
	}
	if err := s.Append(testPart(2)); err == nil {
		t.Error("Append after Remove succeeded")
	}
	s2, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after Remove: %v", err)
	}
	s2.Close()
}

func TestCloseKeepsSidecar(t *testing.T) {
	s := lockedSidecar(t)
	h := testHeader(2)
	if err := s.Create(h); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(testPart(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Append(testPart(1)); err == nil {
		t.Error("Append after Close succeeded")
	}
	s2, err := Lock(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	st, err := s2.Load()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, st, h, testPart(2))
}

func TestFileModes(t *testing.T) {
	s := lockedSidecar(t)
	// A stray temporary file with a loose mode must not pass its mode on.
	if err := os.WriteFile(s.Path()+".tmp", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(s.Path()+".tmp", 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		for _, p := range []string{s.Path(), s.Path() + ".lock"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %s has mode %v, want 0600", when, filepath.Base(p), fi.Mode().Perm())
			}
		}
	}
	if err := s.Create(testHeader(2)); err != nil {
		t.Fatal(err)
	}
	check("after Create")
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(st); err != nil {
		t.Fatal(err)
	}
	check("after Compact")
}

func TestCreateReplaces(t *testing.T) {
	s := lockedSidecar(t)
	if err := s.Create(testHeader(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(testPart(1)); err != nil {
		t.Fatal(err)
	}
	h := testHeader(3)
	h.UploadID = "upload-2"
	if err := s.Create(h); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(testPart(3)); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, st, h, testPart(3))
	if _, err := os.Stat(s.Path() + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

func TestCreateRefusesInvalidHeader(t *testing.T) {
	edits := map[string]func(h *Header){
		"upload_id":  func(h *Header) { h.UploadID = "" },
		"bucket":     func(h *Header) { h.Destination.Bucket = "" },
		"key":        func(h *Header) { h.Destination.Key = "" },
		"path":       func(h *Header) { h.Source.Path = "" },
		"size":       func(h *Header) { h.Source.Size = -1 },
		"part_size":  func(h *Header) { h.PartSize = 0 },
		"part_count": func(h *Header) { h.PartCount = 0 },
	}
	for field, edit := range edits {
		t.Run(field, func(t *testing.T) {
			s := lockedSidecar(t)
			h := testHeader(2)
			edit(&h)
			if err := s.Create(h); err == nil || !strings.Contains(err.Error(), field) {
				t.Fatalf("Create: %v, want an error naming %s", err, field)
			}
			if _, err := os.Stat(s.Path()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused Create wrote the sidecar: %v", err)
			}
		})
	}
}

func TestCreateFillsVersionAndTime(t *testing.T) {
	s := lockedSidecar(t)
	h := testHeader(1)
	h.Version, h.CreatedAt = 0, time.Time{}
	if err := s.Create(h); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != FormatVersion || st.CreatedAt.IsZero() {
		t.Errorf("Create left version %d, created_at %v", st.Version, st.CreatedAt)
	}
}

func TestAppendValidates(t *testing.T) {
	s := lockedSidecar(t)
	if err := s.Append(testPart(1)); !errors.Is(err, errNotOpen) {
		t.Errorf("Append before Create: %v, want errNotOpen", err)
	}
	if err := s.Create(testHeader(2)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Part{{Number: 0, Size: 1, ETag: "e"}, {Number: 3, Size: 1, ETag: "e"}, {Number: 1, Size: -1, ETag: "e"}, {Number: 1, Size: 1}} {
		if err := s.Append(p); err == nil {
			t.Errorf("Append(%+v) succeeded", p)
		}
	}
	if n := countLines(t, s.Path()); n != 1 {
		t.Errorf("refused appends wrote %d lines", n-1)
	}
}

func TestCompactPreservesState(t *testing.T) {
	s := lockedSidecar(t)
	h := testHeader(5)
	if err := s.Create(h); err != nil {
		t.Fatal(err)
	}
	var want []Part
	for round := range 3 {
		for n := int32(1); n <= 4; n++ {
			p := testPart(n)
			p.ETag = fmt.Sprintf(`"r%d-%d"`, round, n)
			if err := s.Append(p); err != nil {
				t.Fatal(err)
			}
			if round == 2 {
				want = append(want, p)
			}
		}
	}
	before, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, before, h, want...)
	if err := s.Compact(before); err != nil {
		t.Fatal(err)
	}
	if n := countLines(t, s.Path()); n != 1+len(want) {
		t.Errorf("compacted sidecar has %d lines, want %d", n, 1+len(want))
	}
	after, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, after, h, want...)
	if err := s.Append(testPart(5)); err != nil {
		t.Fatalf("Append after Compact: %v", err)
	}
	after, err = s.Load()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, after, h, append(want, testPart(5))...)
}

func TestCompactRefusesInconsistentState(t *testing.T) {
	s := lockedSidecar(t)
	st := &State{Header: testHeader(2), Parts: map[int32]Part{1: testPart(2)}}
	if err := s.Compact(st); err == nil {
		t.Fatal("Compact accepted parts[1] holding part 2")
	}
}

func TestLoadCompactsSupersededRecords(t *testing.T) {
	s := lockedSidecar(t)
	h := testHeader(2)
	if err := s.Create(h); err != nil {
		t.Fatal(err)
	}
	for i := range 100 { // 100 records, 2 live: well over 2×2+64
		if err := s.Append(testPart(int32(i%2) + 1)); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, st, h, testPart(1), testPart(2))
	if n := countLines(t, s.Path()); n != 3 {
		t.Errorf("Load left %d lines, want 3 after compaction", n)
	}
	if err := s.Append(testPart(1)); err != nil {
		t.Fatalf("Append after automatic compaction: %v", err)
	}
}

func TestConcurrentAppend(t *testing.T) {
	const workers, perWorker = 8, 40
	s := lockedSidecar(t)
	h := testHeader(workers * perWorker)
	if err := s.Create(h); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				errs <- s.Append(testPart(int32(w*perWorker + i + 1)))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	var want []Part
	for n := int32(1); n <= workers*perWorker; n++ {
		want = append(want, testPart(n))
	}
	checkState(t, st, h, want...)
	if n := countLines(t, s.Path()); n != 1+len(want) {
		t.Errorf("%d lines, want %d", n, 1+len(want))
	}
}

// TestPendingRecords: a write-ahead record (Part.Pending) is loaded into
// State.Pending, never into State.Parts, survives compaction, and needs a
// digest and no ETag.
func TestPendingRecords(t *testing.T) {
	s := lockedSidecar(t)
	h := testHeader(0)
	h.Stream, h.WriteAhead = true, true
	if err := s.Create(h); err != nil {
		t.Fatal(err)
	}
	pending := func(n int32, d string) Part { return Part{Number: n, Size: 8 << 20, Digest: d, Pending: true} }
	for _, p := range []Part{{Number: 1, Size: 1, Pending: true}, {Number: 1, Size: 1, ETag: "e", Digest: "x", Pending: true}} {
		if err := s.Append(p); err == nil {
			t.Errorf("Append(%+v) succeeded", p)
		}
	}
	for _, p := range []Part{pending(1, "xxh3-128:a"), testPart(1), pending(2, "xxh3-128:b"), pending(3, "xxh3-128:c"), pending(3, "xxh3-128:c2")} {
		if err := s.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	check := func(st *State) {
		t.Helper()
		if !st.WriteAhead {
			t.Error("write_ahead lost")
		}
		checkState(t, st, st.Header, testPart(1))
		want := map[int32]Part{1: pending(1, "xxh3-128:a"), 2: pending(2, "xxh3-128:b"), 3: pending(3, "xxh3-128:c2")}
		if len(st.Pending) != len(want) {
			t.Fatalf("pending %+v, want %+v", st.Pending, want)
		}
		for n, p := range want {
			if st.Pending[n] != p {
				t.Errorf("pending[%d] = %+v, want %+v", n, st.Pending[n], p)
			}
		}
	}
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	check(st)
	if err := s.Compact(st); err != nil {
		t.Fatal(err)
	}
	if n := countLines(t, s.Path()); n != 1+1+3 {
		t.Errorf("compacted sidecar has %d lines, want 5", n)
	}
	st, err = s.Load()
	if err != nil {
		t.Fatal(err)
	}
	check(st)
}
