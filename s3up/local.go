package s3up

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// What a resume reads of the source before it sends anything: the parts it
// keeps are hashed again (the journal records what was sent, not what the
// file holds now), and the parts it finds on the server but not in the
// journal are hashed to decide whether to adopt them.

// digestAlg is the local digest journalled for a part whose wire checksum
// cannot prove its bytes later (--checksum none): with it, a resume can
// still check a kept part against the source.
const digestAlg = checksum.CRC32C

// digestOf formats a journal Digest entry: "alg:value".
func digestOf(alg checksum.Algorithm, sum string) string { return string(alg) + ":" + sum }

// digestValue returns the value of alg in a journal Digest, a list of
// "alg:value" entries separated by commas ("" if absent).
func digestValue(d string, alg checksum.Algorithm) string {
	for _, e := range strings.Split(d, ",") {
		if v, ok := strings.CutPrefix(e, string(alg)+":"); ok {
			return v
		}
	}
	return ""
}

// addDigest adds an "alg:value" entry to a journal Digest.
func addDigest(d string, alg checksum.Algorithm, sum string) string {
	if sum == "" || digestValue(d, alg) != "" {
		return d
	}
	if d == "" {
		return digestOf(alg, sum)
	}
	return d + "," + digestOf(alg, sum)
}

// proofRequest is the hashing that proves a journalled part against the
// source: its wire checksum, or, without one, the local digest; with the
// CRC32C and native CRC-64 the final checks use, which a journal written
// before they were known may lack.
func (s *session) proofRequest() checksum.Request {
	r := checksum.Request{Alg: s.w.alg, CRC32C: s.w.alg == checksum.MD5, CRC64ECMA: s.nativeCRC64.Load()}
	if s.w.alg == checksum.None {
		r.Alg = digestAlg
	}
	// Where the store's ETags are MD5s, a kept part's ETag must be the MD5
	// of the source's bytes too: the store may hold a part damaged on the
	// way that nothing else showed.
	r.MD5 = s.judging().etagsProve && s.w.alg != checksum.MD5
	return r
}

// complete fills in the digests of p that sums has and the journal lacks.
func (s *session) completeDigests(p *resume.Part, sums checksum.Sums) {
	if sums.CRC32C != "" && s.w.alg != checksum.CRC32C {
		p.Digest = addDigest(p.Digest, digestAlg, sums.CRC32C)
	}
	if sums.MD5 != nil && s.w.alg != checksum.MD5 {
		p.Digest = addDigest(p.Digest, checksum.MD5, base64.StdEncoding.EncodeToString(sums.MD5))
	}
	if p.CRC64ECMA == "" && s.nativeCRC64.Load() {
		p.CRC64ECMA = strconv.FormatUint(sums.CRC64ECMA, 10)
	}
}

// proves reports whether sums (computed with proofRequest) match what the
// journal recorded for p. A record with nothing to compare proves nothing.
func (s *session) proves(p resume.Part, sums checksum.Sums) bool {
	switch {
	case s.w.alg == checksum.None:
		v := digestValue(p.Digest, digestAlg)
		if v == "" || v != sums.Checksum {
			return false
		}
	default:
		if p.Checksum == "" || p.Checksum != sums.Checksum {
			return false
		}
	}
	if m, isMD5 := checksum.ETagMD5(p.ETag); isMD5 && s.judging().etagsProve {
		if local := md5Of(sums, s.w.alg); local != nil && !bytes.Equal(m, local) {
			return false
		}
	}
	return true
}

// hashParts reads the given parts of the source, at most Concurrency at a
// time, and returns their digests. It stops at the first read error, or
// when ctx is cancelled.
func (s *session) hashParts(ctx context.Context, nums []int32, req checksum.Request) (map[int32]checksum.Sums, int64, error) {
	out := make(map[int32]checksum.Sums, len(nums))
	var mu sync.Mutex
	var read int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	for _, n := range nums {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			size := s.data.size(n)
			sums, err := s.data.sums(gctx, n, req)
			if err != nil {
				return err
			}
			mu.Lock()
			out[n], read = sums, read+size
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, read, s.interrupted(ctx.Err())
		}
		return nil, read, store.WithKind(ErrTransient, &UploadError{Op: "read " + s.res.Source, UploadID: s.uploadID, StatePath: s.sc.Path(), Err: err})
	}
	return out, read, ctx.Err()
}

// recheck hashes the kept parts again and returns those whose bytes no
// longer match the journal: they are sent again, not the whole file. The
// others get the digests the journal lacked.
func (s *session) recheck(ctx context.Context, keep []resume.Part) ([]int32, error) {
	nums := make([]int32, len(keep))
	for i, p := range keep {
		nums[i] = p.Number
	}
	sums, read, err := s.hashParts(ctx, nums, s.proofRequest())
	if err != nil {
		return nil, err
	}
	changed := []int{}
	var out []int32
	for i, p := range keep {
		if !s.proves(p, sums[p.Number]) {
			out = append(out, p.Number)
			changed = append(changed, int(p.Number))
			continue
		}
		s.completeDigests(&keep[i], sums[p.Number])
	}
	s.res.BytesRechecked = read
	s.ev.emit(Rechecked{Parts: len(keep), Bytes: read, Changed: changed})
	if len(out) > 0 {
		s.ev.emit(Warning{Message: fmt.Sprintf("%s differs from what was uploaded before in %d part(s) (%v); they are sent again", s.res.Source, len(out), changed)})
	}
	return out, nil
}

// adopt decides, for each part the server holds but the journal does not
// know (a crash between UploadPart and the journal's append), whether one of
// the server's entries holds this source's bytes: its checksum or, without
// one, its MD5 ETag must match the local bytes. Adopted parts are journalled;
// the others are returned to be sent again.
func (s *session) adopt(ctx context.Context, ds []resume.Decision) (adopted []resume.Part, rejected []int32, err error) {
	if len(ds) == 0 {
		return nil, nil, nil
	}
	nums := make([]int32, len(ds))
	for i, d := range ds {
		nums[i] = d.Number
	}
	req := s.proofRequest()
	req.MD5 = true
	sums, _, err := s.hashParts(ctx, nums, req)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range ds {
		local := sums[d.Number]
		i := slices.IndexFunc(d.Candidates, func(c resume.Part) bool { return s.holds(c, local) })
		if i < 0 {
			rejected = append(rejected, d.Number)
			continue
		}
		p := resume.Part{Number: d.Number, Size: d.Candidates[i].Size, ETag: d.Candidates[i].ETag}
		if s.w.alg == checksum.None {
			p.Digest = digestOf(digestAlg, local.Checksum)
		} else {
			p.Checksum = local.Checksum
		}
		s.completeDigests(&p, local)
		if err := s.sc.Append(p); err != nil {
			return nil, nil, fmt.Errorf("%w: record adopted part %d: %w", ErrState, d.Number, err)
		}
		adopted = append(adopted, p)
	}
	return adopted, rejected, nil
}

// holds reports whether the server entry c is the local bytes whose digests
// are local: by its checksum where it shows one, else by its MD5 ETag.
func (s *session) holds(c resume.Part, local checksum.Sums) bool {
	if c.Checksum != "" && s.w.alg.Flexible() {
		return c.Checksum == local.Checksum
	}
	m, ok := checksum.ETagMD5(c.ETag)
	return ok && bytes.Equal(m, local.MD5)
}
