package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// pagedParts fakes ListParts over a fixed list of entries (in part number
// order, several entries for a number as SeaweedFS lists them), with the
// stores' variations and hooks to see how ListAllParts pages through it. It
// refuses MaxParts: ListAllParts must leave the page size to the store.
type pagedParts struct {
	S3API
	entries  []types.Part
	page     int          // entries a page
	short    map[int]int  // marker → entries of that page, if fewer
	fail     map[int]bool // marker → the page fails
	noMarker bool         // omit NextPartNumberMarker
	// hold, if set, makes a page after the marker holdFrom wait until it is
	// closed or the request is canceled.
	hold     chan struct{}
	holdFrom int
	// meet, if not zero, makes pages after the first wait until meet of
	// them are in flight at once (or fail after a while).
	meet int

	mu          sync.Mutex
	markers     []int // the markers asked, in order of arrival
	inflight    int
	maxInflight int
	canceled    int // requests that ended by their context
	met         chan struct{}
}

var errPageFailed = errors.New("page failed")

// newPagedParts lists parts 1..n, but for the numbers in missing, with a
// second entry for every number in dups.
func newPagedParts(n, page int, missing, dups func(int) bool) *pagedParts {
	s := &pagedParts{page: page, met: make(chan struct{})}
	for i := 1; i <= n; i++ {
		if missing != nil && missing(i) {
			continue
		}
		versions := 1
		if dups != nil && dups(i) {
			versions = 2
		}
		for v := range versions {
			s.entries = append(s.entries, types.Part{PartNumber: aws.Int32(int32(i)), Size: aws.Int64(int64(i)),
				ETag: aws.String(fmt.Sprintf(`"%d-%d"`, i, v)), ChecksumCRC32C: aws.String("c="), LastModified: aws.Time(time.Unix(int64(i), 0))})
		}
	}
	return s
}

func (s *pagedParts) ListParts(ctx context.Context, in *s3.ListPartsInput, _ ...func(*s3.Options)) (*s3.ListPartsOutput, error) {
	marker := 0
	if in.PartNumberMarker != nil {
		var err error
		if marker, err = strconv.Atoi(*in.PartNumberMarker); err != nil {
			return nil, err
		}
	}
	if in.MaxParts != nil {
		return nil, fmt.Errorf("MaxParts %d sent; the listing leaves it to the store", *in.MaxParts)
	}
	s.mu.Lock()
	s.markers = append(s.markers, marker)
	s.inflight++
	s.maxInflight = max(s.maxInflight, s.inflight)
	if s.meet > 0 && marker > 0 && s.inflight >= s.meet {
		select {
		case <-s.met:
		default:
			close(s.met)
		}
	}
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.inflight--; s.mu.Unlock() }()
	wait := func(ch <-chan struct{}) error {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			s.mu.Lock()
			s.canceled++
			s.mu.Unlock()
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return fmt.Errorf("page at marker %d waited 10 s", marker)
		}
	}
	if s.meet > 0 && marker > 0 {
		if err := wait(s.met); err != nil {
			return nil, err
		}
	}
	if s.hold != nil && marker > s.holdFrom {
		if err := wait(s.hold); err != nil {
			return nil, err
		}
	}
	if s.fail[marker] {
		return nil, errPageFailed
	}
	size := s.page
	if n, ok := s.short[marker]; ok {
		size = n
	}
	out := &s3.ListPartsOutput{IsTruncated: aws.Bool(false)}
	for i, e := range s.entries {
		if int(*e.PartNumber) <= marker {
			continue
		}
		if len(out.Parts) == size {
			out.IsTruncated = aws.Bool(true)
			if !s.noMarker {
				out.NextPartNumberMarker = aws.String(strconv.Itoa(int(*s.entries[i-1].PartNumber)))
			}
			break
		}
		out.Parts = append(out.Parts, e)
	}
	return out, nil
}

func (s *pagedParts) asked() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.markers...)
}

// TestListAllPartsAheadSameAsSequential: with pages fetched ahead, the
// listing is the sequential one, entry for entry, whatever the store's
// pages look like.
func TestListAllPartsAheadSameAsSequential(t *testing.T) {
	every := func(k int) func(int) bool { return func(i int) bool { return i%k == 0 } }
	for _, c := range []struct {
		name     string
		store    func() *pagedParts
		expect   int32
		splitDup bool // a page ends between two entries of a number, and the store's marker skips the second
	}{
		{"aws 10000", func() *pagedParts { return newPagedParts(10000, 1000, nil, nil) }, 10000, false},
		{"no marker", func() *pagedParts {
			s := newPagedParts(2500, 100, nil, nil)
			s.noMarker = true
			return s
		}, 2500, false},
		{"page cut short", func() *pagedParts {
			s := newPagedParts(10000, 1000, nil, nil)
			s.short = map[int]int{3000: 500}
			return s
		}, 10000, false},
		{"duplicates", func() *pagedParts { return newPagedParts(5000, 1000, nil, every(7)) }, 5000, false},
		{"missing parts", func() *pagedParts { return newPagedParts(5000, 1000, every(10), nil) }, 5000, false},
		{"more than expected", func() *pagedParts { return newPagedParts(5000, 1000, nil, nil) }, 2000, false},
		{"fewer than expected", func() *pagedParts { return newPagedParts(1500, 1000, nil, nil) }, 10000, false},
		{"page of one", func() *pagedParts { return newPagedParts(50, 1, nil, every(5)) }, 50, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			seqStore, aheadStore := c.store(), c.store()
			want, err := ListAllParts(context.Background(), seqStore, "b", "k", "u", 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ListAllParts(context.Background(), aheadStore, "b", "k", "u", c.expect)
			if err != nil {
				t.Fatal(err)
			}
			if !c.splitDup && len(want) != len(seqStore.entries) {
				t.Fatalf("sequential listing: %d entries, the store has %d", len(want), len(seqStore.entries))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("listing with pages ahead differs from the sequential one: %d entries, want %d", len(got), len(want))
			}
			// Every page the sequential listing asked, the other asked too;
			// the rest are pages fetched ahead and not used.
			seq, ahead := seqStore.asked(), aheadStore.asked()
			used := map[int]bool{}
			for _, m := range ahead {
				used[m] = true
			}
			for _, m := range seq {
				if !used[m] {
					t.Fatalf("page at marker %d not asked (asked %v)", m, ahead)
				}
			}
			t.Logf("%d pages sequentially, %d with pages ahead", len(seq), len(ahead))
		})
	}
}

// TestListAllPartsAheadCalls: a listing that fits the expected parts asks
// each page once; one that ends early wastes at most the pages in flight.
func TestListAllPartsAheadCalls(t *testing.T) {
	for _, c := range []struct {
		name        string
		parts, page int
		expect      int32
		min, max    int
	}{
		{"3 parts", 3, 1000, 3, 1, 1},
		{"3 parts, unknown", 3, 1000, 0, 1, 1},
		{"one full page", 1000, 1000, 1000, 1, 1},
		{"minio 10000", 10000, 10000, 10000, 1, 1},
		{"aws 10000", 10000, 1000, 10000, 10, 10},
		{"aws 2500", 2500, 1000, 2500, 3, 3},
		{"unknown 10000", 10000, 1000, 0, 10, 10},
		{"3000 of 10000", 3000, 1000, 10000, 3, 3 + partPagesAhead},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newPagedParts(c.parts, c.page, nil, nil)
			got, err := ListAllParts(context.Background(), s, "b", "k", "u", c.expect)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != c.parts {
				t.Fatalf("%d parts, want %d", len(got), c.parts)
			}
			if n := len(s.asked()); n < c.min || n > c.max {
				t.Fatalf("%d ListParts calls (%v), want %d..%d", n, s.asked(), c.min, c.max)
			}
		})
	}
}

// TestListAllPartsAheadConcurrent: the pages after the first are asked
// several at once, at most partPagesAhead.
func TestListAllPartsAheadConcurrent(t *testing.T) {
	s := newPagedParts(10000, 1000, nil, nil)
	s.meet = 2
	got, err := ListAllParts(context.Background(), s, "b", "k", "u", 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10000 {
		t.Fatalf("%d parts", len(got))
	}
	if s.maxInflight < 2 || s.maxInflight > partPagesAhead {
		t.Fatalf("%d pages in flight at once, want 2..%d", s.maxInflight, partPagesAhead)
	}
	if n := len(s.asked()); n != 10 {
		t.Fatalf("%d calls, want 10", n)
	}
}

// TestListAllPartsAheadFailure: a page that fails fails the listing, and
// the pages still in flight are canceled and waited for.
func TestListAllPartsAheadFailure(t *testing.T) {
	s := newPagedParts(10000, 1000, nil, nil)
	s.fail = map[int]bool{3000: true}
	s.hold, s.holdFrom = make(chan struct{}), 3000 // never released
	_, err := ListAllParts(context.Background(), s, "b", "k", "u", 10000)
	if !errors.Is(err, errPageFailed) {
		t.Fatalf("err %v, want the failed page's", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != 0 {
		t.Fatalf("%d requests still in flight after ListAllParts returned", s.inflight)
	}
	if s.canceled == 0 {
		t.Fatalf("no page was canceled (asked %v)", s.markers)
	}
}

// TestListAllPartsCanceled: canceling the caller's context ends a listing
// waiting for a page fetched ahead.
func TestListAllPartsCanceled(t *testing.T) {
	s := newPagedParts(10000, 1000, nil, nil)
	s.hold, s.holdFrom = make(chan struct{}), 1000 // the first two pages answer, the rest wait
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := ListAllParts(ctx, s, "b", "k", "u", 10000); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != 0 {
		t.Fatalf("%d requests still in flight after ListAllParts returned", s.inflight)
	}
}
