package checksum

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"sync"

	"github.com/zeebo/xxh3"
)

// Request says which digests one pass over a part computes.
type Request struct {
	Alg       Algorithm // the part's checksum ("" or None: none)
	SHA256    bool      // hex SHA-256 (SigV4 payload hash; a stream part's content digest in journals before XXH3)
	XXH3      bool      // hex XXH3-128: a stream part's content digest
	MD5       bool      // raw MD5 (Content-MD5, or comparing a plain-MD5 ETag)
	CRC32C    bool      // base64 CRC32C besides Alg (a local digest when Alg is not CRC32C)
	CRC64ECMA bool      // CRC-64/ECMA (XZ variant): the native check of Tencent COS and Alibaba OSS
	// Extra is a second flexible checksum besides Alg ("" for none): the
	// one a store computes of every part whatever it was asked for.
	Extra Algorithm
}

// Empty reports whether nothing is asked: the part need not be read to hash it.
func (r Request) Empty() bool {
	return (r.Alg == "" || r.Alg == None) && !r.SHA256 && !r.XXH3 && !r.MD5 && !r.CRC32C && !r.CRC64ECMA && !r.Extra.Flexible()
}

// Sums are the digests of one part, all computed in a single read.
type Sums struct {
	Checksum  string // base64 of Alg's digest (for MD5 too); "" for none
	SHA256    string // hex, when asked
	XXH3      string // hex XXH3-128, when asked
	MD5       []byte // raw, when asked (or when Alg is MD5)
	CRC32C    string // base64, when asked (or when Alg is CRC32C)
	CRC64ECMA uint64 // when asked
	Extra     string // base64 of Request.Extra's digest, when asked
}

// hasher accumulates a Request's digests, sharing one hash where two
// requests name the same function.
type hasher struct {
	alg, sha, md, crc, ecma, extra hash.Hash
	xxh                            *xxh3.Hasher128
	ws                             []io.Writer
}

func newHasher(req Request) *hasher {
	h := &hasher{}
	if req.Alg != "" && req.Alg != None {
		h.alg = req.Alg.New()
		h.ws = append(h.ws, h.alg)
	}
	switch {
	case req.SHA256 && req.Alg == SHA256:
		h.sha = h.alg
	case req.SHA256:
		h.sha = sha256.New()
		h.ws = append(h.ws, h.sha)
	}
	switch {
	case req.Alg == MD5:
		h.md = h.alg
	case req.MD5:
		h.md = md5.New()
		h.ws = append(h.ws, h.md)
	}
	switch {
	case req.Alg == CRC32C:
		h.crc = h.alg
	case req.CRC32C:
		h.crc = crc32.New(crc32cTable)
		h.ws = append(h.ws, h.crc)
	}
	if req.XXH3 {
		h.xxh = xxh3.New128()
		h.ws = append(h.ws, h.xxh)
	}
	if req.CRC64ECMA {
		h.ecma = crc64.New(crc64ecmaTable)
		h.ws = append(h.ws, h.ecma)
	}
	switch {
	case !req.Extra.Flexible():
	case req.Extra == req.Alg:
		h.extra = h.alg
	case req.Extra == CRC32C && h.crc != nil:
		h.extra = h.crc
	default:
		h.extra = req.Extra.New()
		h.ws = append(h.ws, h.extra)
	}
	return h
}

func (h *hasher) Write(p []byte) (int, error) {
	for _, w := range h.ws {
		w.Write(p)
	}
	return len(p), nil
}

func (h *hasher) sums() Sums {
	var s Sums
	if h.alg != nil {
		s.Checksum = base64.StdEncoding.EncodeToString(h.alg.Sum(nil))
	}
	if h.sha != nil {
		s.SHA256 = hex.EncodeToString(h.sha.Sum(nil))
	}
	if h.md != nil {
		s.MD5 = h.md.Sum(nil)
	}
	if h.xxh != nil {
		b := h.xxh.Sum128().Bytes()
		s.XXH3 = hex.EncodeToString(b[:])
	}
	if h.crc != nil {
		s.CRC32C = base64.StdEncoding.EncodeToString(h.crc.Sum(nil))
	}
	if h.ecma != nil {
		s.CRC64ECMA = h.ecma.(hash.Hash64).Sum64()
	}
	if h.extra != nil {
		s.Extra = base64.StdEncoding.EncodeToString(h.extra.Sum(nil))
	}
	return s
}

// copyBufs are the buffers Hash reads through: big enough that a pass costs
// few syscalls, pooled so parts in flight do not each allocate one.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Hash reads r to its end once and computes every digest req asks for. It
// returns the number of bytes read.
func Hash(r io.Reader, req Request) (Sums, int64, error) {
	h := newHasher(req)
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var w io.Writer = h
	if len(h.ws) == 0 {
		w = io.Discard
	}
	n, err := io.CopyBuffer(w, onlyReader{r}, *bp)
	if err != nil {
		return Sums{}, n, err
	}
	return h.sums(), n, nil
}

// HashBytes computes req's digests of b (a part already in memory).
func HashBytes(b []byte, req Request) Sums {
	h := newHasher(req)
	h.Write(b)
	return h.sums()
}

// onlyReader hides WriterTo/ReaderFrom so io.CopyBuffer uses the pooled buffer.
type onlyReader struct{ io.Reader }

// Hasher computes a Request's digests of bytes written to it in pieces:
// hashing each piece as it is read, while it is still in the CPU's cache,
// costs less than a second pass over a whole part in memory.
type Hasher struct{ h *hasher }

// NewHasher returns a Hasher of req's digests.
func NewHasher(req Request) *Hasher { return &Hasher{h: newHasher(req)} }

// Write adds p to every digest; it never fails.
func (h *Hasher) Write(p []byte) (int, error) { return h.h.Write(p) }

// Sums returns the digests of everything written.
func (h *Hasher) Sums() Sums { return h.h.sums() }

// ReadFull reads len(buf) bytes from r into buf as io.ReadFull does,
// writing each piece to h as soon as it is read. It returns the bytes
// read, and io.EOF only when none were, io.ErrUnexpectedEOF when fewer
// than len(buf) were.
func ReadFull(r io.Reader, buf []byte, h *Hasher) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		if k > 0 {
			h.Write(buf[n : n+k])
			n += k
		}
		if err != nil {
			switch {
			case n == len(buf):
				return n, nil
			case err == io.EOF && n > 0:
				return n, io.ErrUnexpectedEOF
			}
			return n, err
		}
	}
	return n, nil
}
