package extsort

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

type rec struct {
	key string
	val string
}

// seeded returns a random source and logs its seed, so a failure can be
// replayed with S3UP_SEED.
func seeded(t testing.TB) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("S3UP_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (S3UP_SEED=%d replays it)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x5eed))
}

// awkwardKey makes keys that share prefixes, differ in bytes around '/'
// and above 0x7f, and repeat.
func awkwardKey(r *rand.Rand) string {
	alphabet := []string{"a", "b", "/", ".", "-", "0", "\x00", "\x7f", "\x80", "\xff", "é", "e\u0301", "日"}
	var b strings.Builder
	for range r.IntN(8) {
		b.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// model sorts as the Sorter must: by key bytes, equal keys in the order added.
func model(recs []rec) []rec {
	out := slices.Clone(recs)
	slices.SortStableFunc(out, func(a, b rec) int { return strings.Compare(a.key, b.key) })
	return out
}

func drain(t *testing.T, s *Sorter) []rec {
	t.Helper()
	it, err := s.Sort()
	if err != nil {
		t.Fatal(err)
	}
	var got []rec
	for it.Next() {
		got = append(got, rec{string(it.Key()), string(it.Value())})
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	return names
}

func TestSortMatchesTheModel(t *testing.T) {
	r := seeded(t)
	cases := []struct {
		name   string
		n      int
		budget int
		fanIn  int
	}{
		{"empty", 0, 0, maxFanIn},
		{"in memory", 5_000, 0, maxFanIn},
		{"one spill level", 60_000, minBudget, maxFanIn},
		{"several levels", 60_000, minBudget, 3},
		{"fan-in two", 20_000, minBudget, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "tmp") // created on the first spill
			s := New(dir, c.budget)
			s.fanIn = c.fanIn
			defer s.Close()
			recs := make([]rec, c.n)
			for i := range recs {
				// The value says the order added, so stability is checked.
				recs[i] = rec{awkwardKey(r), fmt.Sprint(i)}
				if err := s.Add(recs[i].key, []byte(recs[i].val)); err != nil {
					t.Fatal(err)
				}
			}
			if runtime.GOOS != "windows" {
				if names := entries(t, dir); len(names) > 0 {
					t.Errorf("runs visible in the directory while sorting: %v", names)
				}
			}
			got := drain(t, s)
			if want := model(recs); !slices.Equal(got, want) {
				t.Fatalf("%d records out, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
			}
			st := s.Stats()
			if c.budget == minBudget && st.Runs < 2 {
				t.Errorf("%d runs: the test did not spill", st.Runs)
			}
			if st.MaxMemory > s.budget {
				t.Errorf("held %d bytes, over the budget %d", st.MaxMemory, s.budget)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if names := entries(t, dir); len(names) > 0 {
				t.Errorf("left behind after Close: %v", names)
			}
		})
	}
}

func firstDiff(a, b []rec) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestSeveralLevelsRewriteEachRecordOncePerLevel(t *testing.T) {
	// With fan-in 3 and 30 spills, runs merge as a base-3 counter: the
	// spilled bytes show how many times records were written, which must
	// stay logarithmic, not quadratic.
	s := New(t.TempDir(), minBudget)
	s.fanIn = 3
	defer s.Close()
	val := bytes.Repeat([]byte("v"), 200)
	n := 0
	for s.Stats().Runs < 30 {
		if err := s.Add(fmt.Sprintf("%08d", n*7919%1_000_003), val); err != nil {
			t.Fatal(err)
		}
		n++
	}
	it, err := s.Sort()
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	var prev []byte
	for it.Next() {
		if prev != nil && bytes.Compare(prev, it.Key()) > 0 {
			t.Fatalf("%q after %q", it.Key(), prev)
		}
		prev = append(prev[:0], it.Key()...)
		count++
	}
	if it.Err() != nil || count != n {
		t.Fatalf("%d of %d records, %v", count, n, it.Err())
	}
	perRecord := float64(s.Stats().SpilledBytes) / float64(n*(8+200+2))
	if perRecord > 5 {
		t.Errorf("each record was written %.1f times on average for %d runs at fan-in 3", perRecord, s.Stats().Runs)
	}
	if len(s.runs) > s.fanIn {
		t.Errorf("%d runs merged at once, fan-in %d", len(s.runs), s.fanIn)
	}
}

func TestLargeRecordsAndEmptyValues(t *testing.T) {
	s := New(t.TempDir(), minBudget)
	defer s.Close()
	big := strings.Repeat("k", 3*minBudget) // larger than the budget itself
	recs := []rec{{"b", ""}, {big, "x"}, {"a", strings.Repeat("v", 20_000)}, {"", "empty key"}, {"c", ""}}
	for i := range 2000 {
		recs = append(recs, rec{fmt.Sprintf("m%04d", i), "v"})
	}
	for _, r := range recs {
		if err := s.Add(r.key, []byte(r.val)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := drain(t, s), model(recs); !slices.Equal(got, want) {
		t.Fatalf("first difference at %d", firstDiff(got, want))
	}
}

func TestMisuse(t *testing.T) {
	s := New(t.TempDir(), 0)
	s.Add("a", nil)
	if _, err := s.Sort(); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("b", nil); err == nil {
		t.Error("Add after Sort succeeded")
	}
	if _, err := s.Sort(); err == nil {
		t.Error("second Sort succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Add("c", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close: %v", err)
	}
}

func TestIterStopsAtClose(t *testing.T) {
	s := New(t.TempDir(), minBudget)
	for i := range 10_000 {
		s.Add(fmt.Sprint(i), []byte("some value"))
	}
	it, err := s.Sort()
	if err != nil {
		t.Fatal(err)
	}
	if !it.Next() {
		t.Fatal("no first record")
	}
	s.Close()
	if it.Next() {
		t.Error("Next after Close returned a record")
	}
}

func TestSpillFailureIsReportedAndCleansUp(t *testing.T) {
	// The directory is a regular file: the first spill cannot create a run.
	dir := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := New(dir, minBudget)
	defer s.Close()
	var err error
	for i := 0; err == nil && i < 100_000; i++ {
		err = s.Add(fmt.Sprint(i), []byte("value"))
	}
	if err == nil || !strings.Contains(err.Error(), "temporary directory") {
		t.Fatalf("Add never failed or said %v", err)
	}
	if _, serr := s.Sort(); !errors.Is(serr, err) {
		t.Errorf("Sort after a failed spill: %v, want %v", serr, err)
	}
}

func TestDamagedRunIsAnErrorNotAShortList(t *testing.T) {
	// A run that holds fewer records than it should must fail the read:
	// a sort that silently drops records would make a journal forget.
	f, err := os.CreateTemp(t.TempDir(), "run")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b []byte
	b = binary.AppendUvarint(b, 1)
	b = binary.AppendUvarint(b, 1)
	b = append(b, "kv"...)
	f.Write(b)
	m, err := newMerger([]*run{{f: f, size: int64(len(b)), count: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if !m.next() || string(m.key()) != "k" {
		t.Fatal("first record not read")
	}
	if m.next() || !errors.Is(m.err, io.ErrUnexpectedEOF) {
		t.Errorf("a missing record: next %v, err %v", m.next(), m.err)
	}
}
