package s3up

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// TestDecideTable runs the resume table (README "How resume works") through decide, row by
// row, with the facts the session gathers in order.
func TestDecideTable(t *testing.T) {
	t.Parallel()
	const part = 4 << 10
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	src := resume.Source{Path: "/d/f", Size: 3*part - 10, ModTime: t0, Fingerprint: "fp", Dev: 1, Inode: 2, Ctime: t0}
	dest := resume.Destination{Endpoint: "http://h", Bucket: "b", Key: "k"}
	parts := map[int32]resume.Part{}
	for n := int32(1); n <= 3; n++ {
		size := int64(part)
		if n == 3 {
			size = part - 10
		}
		sum := checksum.HashBytes([]byte(fmt.Sprint(n)), checksum.Request{Alg: checksum.CRC32C, MD5: true})
		parts[n] = resume.Part{Number: n, Size: size, ETag: fmt.Sprintf(`"%x"`, sum.MD5), Checksum: sum.Checksum,
			Digest: "md5:" + base64.StdEncoding.EncodeToString(sum.MD5)}
	}
	state := func(mod func(*resume.State)) *resume.State {
		st := &resume.State{Header: resume.Header{UploadID: "u1", Destination: dest, Source: src, PartSize: part, PartCount: 3,
			ChecksumAlgorithm: "crc32c"}, Parts: map[int32]resume.Part{}}
		for n, p := range parts {
			st.Parts[n] = p
		}
		if mod != nil {
			mod(st)
		}
		return st
	}
	allParts := []resume.Part{parts[1], parts[2], parts[3]}
	sums, sizes, _ := localSums(allParts, checksum.CRC32C, checksum.CRC32C)
	composite, err := checksum.Object(checksum.CRC32C, types.ChecksumTypeComposite, sums, sizes)
	if err != nil {
		t.Fatal(err)
	}
	md5s, _ := serverMD5s(allParts)
	etag := checksum.CompositeETag(md5s)
	shows := func(v string) map[checksum.Algorithm]string { return map[checksum.Algorithm]string{checksum.CRC32C: v} }
	changedSrc := src
	changedSrc.Ctime = t0.Add(time.Second)

	for _, tc := range []struct {
		name   string
		f      facts
		want   step
		abort  string
		reason string
	}{
		{"no journal -> fresh", facts{}, stepFresh, "", ""},
		{"unreadable journal -> refuse", facts{stateErr: errors.New("line 3: bad")}, stepRefuse, "", "cannot be used"},
		{"unreadable journal, --fresh -> fresh, nothing known to abort", facts{stateErr: errors.New("bad"), fresh: true}, stepFresh, "", "start over"},
		{"journal, --fresh -> fresh, abort it", facts{state: state(nil), fresh: true}, stepFresh, "u1", "start over"},
		{"source changed (ctime) -> fresh, abort old", facts{state: state(nil), src: changedSrc}, stepFresh, "u1", "ctime"},
		{"options changed -> refuse", facts{state: state(nil), options: map[string]string{"acl": "private"}}, stepRefuse, "", "acl"},
		{"journal shape does not fit -> refuse", facts{state: state(func(s *resume.State) { s.PartCount = 4 })}, stepRefuse, "", "does not fit"},
		{"resumable, not asked yet -> ask ListParts", facts{state: state(nil)}, stepAskParts, "", ""},
		{"listed -> resume", facts{state: state(nil), listed: true, remote: allParts}, stepResume, "", ""},
		{"upload gone, not headed -> ask HeadObject", facts{state: state(nil), listed: true, gone: true}, stepAskObject, "", ""},
		{"upload gone, object is its result (checksum) -> done", facts{state: state(nil), listed: true, gone: true, headed: true,
			object: &objectHead{size: src.Size, shown: shows(composite), sumType: types.ChecksumTypeComposite}}, stepDone, "", ""},
		{"upload gone, object is its result (ETag only) -> done", facts{state: state(nil), listed: true, gone: true, headed: true,
			object: &objectHead{size: src.Size, etag: `"` + etag + `"`}}, stepDone, "", ""},
		{"upload gone, no object -> fresh, abort the id anyway", facts{state: state(nil), listed: true, gone: true, headed: true},
			stepFresh, "u1", "no object"},
		{"upload gone, object of another size -> fresh", facts{state: state(nil), listed: true, gone: true, headed: true,
			object: &objectHead{size: src.Size - 1, shown: shows(composite)}}, stepFresh, "u1", "bytes"},
		{"upload gone, object with another checksum -> fresh", facts{state: state(nil), listed: true, gone: true, headed: true,
			object: &objectHead{size: src.Size, shown: shows("AAAAAA==-3")}}, stepFresh, "u1", "checksum"},
		{"upload gone, object is its result but failed verification before -> fresh", facts{state: state(nil), listed: true, gone: true, headed: true,
			object: &objectHead{size: src.Size, shown: shows(composite)}, untrusted: "part 2 differs"}, stepFresh, "u1", "failed verification"},
		{"upload gone, object matches only by the ETags the server gave -> fresh", facts{state: state(func(s *resume.State) {
			for n, p := range s.Parts {
				p.Digest, p.Checksum = "", ""
				s.Parts[n] = p
			}
			s.ChecksumAlgorithm = "none"
		}), listed: true, gone: true, headed: true, object: &objectHead{size: src.Size, etag: `"` + etag + `"`}}, stepFresh, "u1", "proves"},
		{"upload gone, journal lacks a part -> fresh", facts{state: state(func(s *resume.State) { delete(s.Parts, 2) }), listed: true, gone: true, headed: true,
			object: &objectHead{size: src.Size, shown: shows(composite)}}, stepFresh, "u1", "every part"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.f.src.Path == "" {
				tc.f.src = src
			}
			tc.f.dest = dest
			d := decide(tc.f)
			if d.next != tc.want || d.abort != tc.abort {
				t.Fatalf("step %v abort %q (%s %v), want step %v abort %q", d.next, d.abort, d.reason, d.err, tc.want, tc.abort)
			}
			why := d.reason + d.warn
			if d.err != nil {
				why += d.err.Error()
				if !errors.Is(d.err, ErrState) {
					t.Fatalf("refusal %v is not ErrState", d.err)
				}
				if len(store.Hints(d.err)) == 0 {
					t.Fatalf("refusal %v says nothing of what to do (no hint)", d.err)
				}
			}
			if !strings.Contains(why, tc.reason) {
				t.Fatalf("reason %q does not mention %q", why, tc.reason)
			}
			if d.next == stepResume {
				if d.plan.Count != 3 || d.alg != checksum.CRC32C || d.rec.Count(resume.Skip) != 3 {
					t.Fatalf("resume %+v", d)
				}
			}
		})
	}
}
