package s3up

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
	"github.com/s3up/s3up/s3up/store"
)

// What proves an object. Every check compares a value the store reports
// with one s3up computed from the bytes it read: the parts' own checksums
// (computed locally as they were sent), their MD5s, their CRC-64s. A value
// the store reports about itself (its part ETags, say) never proves
// anything on its own: a store that ignored a damaged part's checksum
// reports that part's ETag as faithfully as a good one's.

// objectHead is what HeadObject (or Complete's or PutObject's answer) says
// about an object.
type objectHead struct {
	size    int64
	etag    string
	shown   map[checksum.Algorithm]string // flexible checksums shown, by algorithm
	sumType types.ChecksumType            // COMPOSITE or FULL_OBJECT, "" if not said
	native  store.Native                  // the store's own checks (COS/OSS CRC-64, GCS x-goog-hash)
	raw     *s3.HeadObjectOutput
}

// showChecksums records the flexible checksums f shows that h does not
// have yet.
func (h *objectHead) showChecksums(f checksum.Fields, typ types.ChecksumType) {
	for _, a := range checksum.All {
		if v := f.Get(a); v != "" && h.shown[a] == "" {
			if h.shown == nil {
				h.shown = map[checksum.Algorithm]string{}
			}
			h.shown[a] = v
			if h.sumType == "" {
				h.sumType = typ
			}
		}
	}
}

// CheckKind is what a Check compared.
type CheckKind string

const (
	// CheckSize: the object's size is the number of bytes sent.
	CheckSize CheckKind = "size"
	// CheckChecksum: a flexible checksum the store shows (of Algorithm,
	// composite or full-object) is the one the bytes sent give.
	CheckChecksum CheckKind = "checksum"
	// CheckStoreCRC: a checksum the store computes on its own, named by
	// Header (COS's and OSS's CRC-64/ECMA, GCS's x-goog-hash CRC32C), is
	// the one the bytes sent give.
	CheckStoreCRC CheckKind = "store-crc"
	// CheckETag: the ETag of an object stored whole is the MD5 of the
	// bytes sent.
	CheckETag CheckKind = "etag"
	// CheckMultipartETag: the ETag of a multipart object is the MD5 of the
	// MD5s of the parts sent.
	CheckMultipartETag CheckKind = "multipart-etag"
	// CheckReadBack: the object was read back and each part's range hashed
	// (with Algorithm) and compared with the part sent.
	CheckReadBack CheckKind = "read-back"
)

// Check is one comparison that proved something of an object: a value the
// store reports (or the object's bytes, read back) against one s3up
// computed from the bytes it sent.
type Check struct {
	Kind      CheckKind
	Algorithm checksum.Algorithm // CheckChecksum, CheckReadBack, and a CheckStoreCRC of a known algorithm
	Header    string             // CheckStoreCRC: the store's header
	Value     string             // the value that matched ("" for the size and a read back)
	// Label says what was compared, for people: "size", "CRC32C checksum",
	// "multipart ETag", "read back (CRC32C of every part)".
	Label string
}

// String is the check's Label.
func (c Check) String() string { return c.Label }

// MarshalJSON writes the check as its Label, as s3up's JSON output always
// has.
func (c Check) MarshalJSON() ([]byte, error) { return json.Marshal(c.Label) }

// Proves reports whether the check proves the bytes (anything but the size).
func (c Check) Proves() bool { return c.Kind != CheckSize }

// objectCheck is the outcome of comparing an object with the parts it
// should be made of: what matched, what was not comparable and why, and
// the first mismatch.
type objectCheck struct {
	matched  []Check
	value    string   // the strongest value that matched, for people
	notes    []string // checks that could not run, and why
	mismatch string   // "" when nothing contradicts the parts
	readBack bool     // the object was read back and hashed
}

// verified reports whether anything beyond the size was proven.
func (c objectCheck) verified() bool { return c.mismatch == "" && len(c.matched) > 1 }

func (c objectCheck) method() string {
	labels := make([]string, len(c.matched))
	for i, m := range c.matched {
		labels[i] = m.Label
	}
	return strings.Join(labels, ", ")
}

func (c *objectCheck) match(m Check) {
	c.matched = append(c.matched, m)
	if c.value == "" {
		c.value = m.Value
	}
}

// sized records that the size matched.
func (c *objectCheck) sized() { c.matched = append(c.matched, Check{Kind: CheckSize, Label: "size"}) }

// checksums returns the flexible checksums that matched, by algorithm.
func (c objectCheck) checksums() map[checksum.Algorithm]string {
	var out map[checksum.Algorithm]string
	for _, m := range c.matched {
		if m.Kind == CheckChecksum {
			if out == nil {
				out = map[checksum.Algorithm]string{}
			}
			out[m.Algorithm] = m.Value
		}
	}
	return out
}

// judging is what the checks need to know of how the parts were sent.
type judging struct {
	wire checksum.Algorithm // the parts' checksum
	// etagsProve: the store's ETags are MD5s (and the upload's are not
	// SSE-KMS's), so an ETag that is not the MD5 of the bytes sent shows
	// that the store holds other bytes.
	etagsProve bool
}

// localSum is part p's checksum of alg as s3up computed it from the bytes
// it read: its wire checksum when alg is the upload's, else a journalled
// digest; "" when not known.
func localSum(p resume.Part, wire, alg checksum.Algorithm) string {
	if alg == wire && p.Checksum != "" {
		return p.Checksum
	}
	return digestValue(p.Digest, alg)
}

// localMD5 is the MD5 of part p's bytes as s3up computed it, nil if not known.
func localMD5(p resume.Part, wire checksum.Algorithm) []byte {
	b, err := base64.StdEncoding.DecodeString(localSum(p, wire, checksum.MD5))
	if err != nil || len(b) != 16 {
		return nil
	}
	return b
}

// localSums returns every part's local checksum of alg, or false if one is
// not known.
func localSums(parts []resume.Part, wire, alg checksum.Algorithm) ([]string, []int64, bool) {
	sums := make([]string, len(parts))
	sizes := make([]int64, len(parts))
	for i, p := range parts {
		if sums[i] = localSum(p, wire, alg); sums[i] == "" {
			return nil, nil, false
		}
		sizes[i] = p.Size
	}
	return sums, sizes, true
}

// checkObject compares an object with the parts it should be made of, by
// every check the store's answers allow: the S3 checksums it shows (as it
// combines part checksums: composite or full object, whichever algorithm
// it computed), the store's own CRC-64/ECMA (COS, OSS) or whole-object
// CRC32C (GCS), and the multipart ETag, built from the MD5s of the bytes
// sent. The multipart ETag is evidence only when it matches: stores compute
// it differently (GCS, COS, OSS, R2 before 2023, SSE-KMS objects, a
// bucket's default encryption), so a mismatch is a failure only where the
// store's ETags are known to be MD5s and the object's ETag is the one its
// own part ETags give: then the parts it holds are not the bytes sent.
func checkObject(o *objectHead, parts []resume.Part, j judging) objectCheck {
	wire := j.wire
	var c objectCheck
	var total int64
	for _, p := range parts {
		total += p.Size
	}
	if o.size != total {
		c.mismatch = fmt.Sprintf("the object has %d bytes, the parts %d", o.size, total)
		return c
	}
	c.sized()
	if !c.checkSums(o, parts, wire, false) {
		return c
	}
	if h := o.native.CRC64Header; h != "" {
		want, ok := combinedCRC64(parts)
		switch {
		case !ok:
			c.notes = append(c.notes, fmt.Sprintf("%s not compared: the CRC-64 of some parts kept from an earlier run is not known", h))
		case want != o.native.CRC64:
			c.mismatch = fmt.Sprintf("the store's %s is %d, the parts give %d", h, o.native.CRC64, want)
			return c
		default:
			c.match(Check{Kind: CheckStoreCRC, Header: h, Value: strconv.FormatUint(want, 10), Label: "CRC-64/ECMA (" + h + ")"})
		}
	}
	if g := o.native.GoogCRC32C; g != "" {
		want, ok := fullCRC32C(parts, wire)
		switch {
		case !ok:
			c.notes = append(c.notes, "x-goog-hash crc32c not compared: the CRC32C of some parts is not known")
		case !checksum.Same(g, want):
			c.mismatch = fmt.Sprintf("the store's x-goog-hash crc32c is %s, the parts give %s", g, want)
			return c
		default:
			c.match(googCheck(g))
		}
	}
	c.checkMultipartETag(o, parts, j)
	return c
}

// checkSums compares the flexible checksums the object shows with the ones
// the parts' local checksums give (for an object stored whole, single, its
// one part's). It returns false on a mismatch.
func (c *objectCheck) checkSums(o *objectHead, parts []resume.Part, wire checksum.Algorithm, single bool) bool {
	if len(o.shown) == 0 {
		if wire.Flexible() {
			c.notes = append(c.notes, fmt.Sprintf("%s checksum not compared: the store does not show it", wire.Label()))
		}
		return true
	}
	for _, a := range checksum.All {
		got := o.shown[a]
		if got == "" {
			continue
		}
		sums, sizes, ok := localSums(parts, wire, a)
		if !ok {
			c.notes = append(c.notes, fmt.Sprintf("%s checksum not compared: the %s of some parts is not known", a.Label(), a.Label()))
			continue
		}
		want := sums[0]
		var err error
		if !single {
			typ := o.sumType
			if typ == "" {
				typ = a.Type()
			}
			want, err = checksum.Object(a, typ, sums, sizes)
		}
		if err != nil || !checksum.Same(got, want) {
			c.mismatch = fmt.Sprintf("the object's %s checksum is %s, the bytes sent give %s", a.Label(), got, want)
			return false
		}
		c.match(Check{Kind: CheckChecksum, Algorithm: a, Value: got, Label: a.Label() + " checksum"})
	}
	return true
}

// checkMultipartETag compares the object's ETag with md5-of-md5s of the
// bytes sent.
func (c *objectCheck) checkMultipartETag(o *objectHead, parts []resume.Part, j judging) {
	etag := strings.Trim(o.etag, `"`)
	local := make([][]byte, len(parts))
	for i, p := range parts {
		if local[i] = localMD5(p, j.wire); local[i] == nil {
			c.notes = append(c.notes, "multipart ETag not compared: the MD5 of some parts was not computed (their checksum proves them)")
			return
		}
	}
	if checksum.CompositeETag(local) == etag {
		c.match(Check{Kind: CheckMultipartETag, Value: etag, Label: "multipart ETag"})
		return
	}
	if server, plain := serverMD5s(parts); plain && j.etagsProve && checksum.CompositeETag(server) == etag {
		c.mismatch = fmt.Sprintf("the object's ETag %s is made of parts whose MD5s are not those of the bytes sent", etag)
		return
	}
	c.notes = append(c.notes, "multipart ETag not used: it is not md5-of-md5s of the bytes sent (this store computes it otherwise)")
}

// matchesJournal decides whether the object at the key is the result of the
// journal's upload (someone, maybe a run whose answer was lost, completed
// it): its size, and its checksum or multipart ETag, must match what the
// journal's parts give. It returns what matched, or why not. A partial or
// foreign object is never taken as done.
func matchesJournal(o *objectHead, st *resume.State, plan Plan, j judging) (objectCheck, string) {
	if o == nil {
		return objectCheck{}, "no object at the key"
	}
	if o.size != plan.Size {
		return objectCheck{}, fmt.Sprintf("the object at the key has %d bytes, not %d", o.size, plan.Size)
	}
	parts := make([]resume.Part, 0, plan.Count)
	for n := int32(1); n <= plan.Count; n++ {
		p, ok := st.Parts[n]
		if !ok || p.Size != plan.PartSizeOf(n) {
			return objectCheck{}, "the state does not record every part, so the object cannot be verified"
		}
		parts = append(parts, p)
	}
	return matchObject(o, parts, j)
}

// matchObject decides whether an object is exactly the given parts: a check
// beyond its size must prove it, and none may contradict it.
func matchObject(o *objectHead, parts []resume.Part, j judging) (objectCheck, string) {
	c := checkObject(o, parts, j)
	switch {
	case c.mismatch != "":
		return c, c.mismatch
	case !c.verified():
		return c, "the object at the key has the right size, but nothing the store reports proves it is this upload's result"
	}
	return c, ""
}

// googCheck is a match of GCS's whole-object CRC32C.
func googCheck(v string) Check {
	return Check{Kind: CheckStoreCRC, Algorithm: checksum.CRC32C, Header: "x-goog-hash", Value: v, Label: "CRC32C (x-goog-hash)"}
}

// serverMD5s returns the MD5 behind every part's ETag as the server
// reported it, if all are plain MD5s.
func serverMD5s(parts []resume.Part) ([][]byte, bool) {
	out := make([][]byte, len(parts))
	for i, p := range parts {
		m, ok := checksum.ETagMD5(p.ETag)
		if !ok {
			return nil, false
		}
		out[i] = m
	}
	return out, true
}

// combinedCRC64 is the CRC-64/ECMA of the object made of parts, if every
// part's is known.
func combinedCRC64(parts []resume.Part) (uint64, bool) {
	crcs := make([]uint64, len(parts))
	sizes := make([]int64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p.CRC64ECMA, 10, 64)
		if err != nil {
			return 0, false
		}
		crcs[i], sizes[i] = v, p.Size
	}
	return checksum.CombineCRC64ECMA(crcs, sizes), true
}

// fullCRC32C is the CRC32C of the whole object made of parts, from each
// part's local CRC32C.
func fullCRC32C(parts []resume.Part, wire checksum.Algorithm) (string, bool) {
	sums, sizes, ok := localSums(parts, wire, checksum.CRC32C)
	if !ok {
		return "", false
	}
	s, err := checksum.Object(checksum.CRC32C, types.ChecksumTypeFullObject, sums, sizes)
	return s, err == nil
}

// checkSingle compares an object stored with one PutObject with the part it
// is: its size, the checksums it shows, the store's native checks, and its
// ETag, which most stores make the MD5 of the bytes (not with SSE-KMS, nor
// on stores with opaque ETags: then it is not used).
func checkSingle(o *objectHead, p resume.Part, md5 []byte, j judging) objectCheck {
	wire := j.wire
	var c objectCheck
	if o.size != p.Size {
		c.mismatch = fmt.Sprintf("the object has %d bytes, the source %d", o.size, p.Size)
		return c
	}
	c.sized()
	if !c.checkSums(o, []resume.Part{p}, wire, true) {
		return c
	}
	if h := o.native.CRC64Header; h != "" {
		if want := strconv.FormatUint(o.native.CRC64, 10); p.CRC64ECMA != "" && want != p.CRC64ECMA {
			c.mismatch = fmt.Sprintf("the store's %s is %s, the source has %s", h, want, p.CRC64ECMA)
			return c
		} else if p.CRC64ECMA != "" {
			c.match(Check{Kind: CheckStoreCRC, Header: h, Value: want, Label: "CRC-64/ECMA (" + h + ")"})
		}
	}
	if g := o.native.GoogCRC32C; g != "" {
		if want := localSum(p, wire, checksum.CRC32C); g != want {
			c.mismatch = fmt.Sprintf("the store's x-goog-hash crc32c is %s, the source has %s", g, want)
			return c
		}
		c.match(googCheck(g))
	}
	switch m, ok := checksum.ETagMD5(o.etag); {
	case ok && md5 != nil && bytes.Equal(m, md5):
		c.match(Check{Kind: CheckETag, Value: strings.Trim(o.etag, `"`), Label: "ETag (MD5)"})
	case ok && md5 != nil && j.etagsProve:
		c.mismatch = fmt.Sprintf("the object's ETag %s is not the MD5 of the bytes sent (%x)", o.etag, md5)
	default:
		c.notes = append(c.notes, "ETag not used: it is not the MD5 of the bytes (SSE-KMS, or this store's ETags are opaque)")
	}
	return c
}
