package checksum

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/zeebo/xxh3"
)

func seeded(t *testing.T) *rand.Rand {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 1))
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestKnownValues pins each CRC to the check value of its catalogue entry
// ("123456789"), so a wrong table cannot pass as a self-consistent one.
func TestKnownValues(t *testing.T) {
	in := []byte("123456789")
	if got := crc64.Checksum(in, crc64nvmeTable); got != 0xae8b14860a799888 {
		t.Errorf("CRC-64/NVME = %x", got)
	}
	if got := crc64.Checksum(in, crc64ecmaTable); got != 0x995dc9bbdf1939fa {
		t.Errorf("CRC-64/XZ (COS, OSS) = %x", got)
	}
	if got := crc32.Checksum(in, crc32cTable); got != 0xe3069283 {
		t.Errorf("CRC-32C = %x", got)
	}
}

func TestCombineMatchesWholeCRC(t *testing.T) {
	r := seeded(t)
	for i := 0; i < 40; i++ {
		n := 1 + r.IntN(5)
		var whole []byte
		var c64n, c64e []uint64
		var c32, c32c []uint32
		var sizes []int64
		for j := 0; j < n; j++ {
			p := randBytes(r, r.IntN(3000))
			whole = append(whole, p...)
			sizes = append(sizes, int64(len(p)))
			c64n = append(c64n, crc64.Checksum(p, crc64nvmeTable))
			c64e = append(c64e, crc64.Checksum(p, crc64ecmaTable))
			c32 = append(c32, crc32.ChecksumIEEE(p))
			c32c = append(c32c, crc32.Checksum(p, crc32cTable))
		}
		if got, want := CombineCRC64(crc64NVMEPoly, c64n, sizes), crc64.Checksum(whole, crc64nvmeTable); got != want {
			t.Fatalf("nvme %v: %x want %x", sizes, got, want)
		}
		if got, want := CombineCRC64ECMA(c64e, sizes), crc64.Checksum(whole, crc64ecmaTable); got != want {
			t.Fatalf("ecma %v: %x want %x", sizes, got, want)
		}
		if got, want := CombineCRC32(crc32.IEEE, c32, sizes), crc32.ChecksumIEEE(whole); got != want {
			t.Fatalf("crc32 %v: %x want %x", sizes, got, want)
		}
		if got, want := CombineCRC32(crc32.Castagnoli, c32c, sizes), crc32.Checksum(whole, crc32cTable); got != want {
			t.Fatalf("crc32c %v: %x want %x", sizes, got, want)
		}
	}
}

func TestObjectComposite(t *testing.T) {
	parts := [][]byte{bytes.Repeat([]byte("a"), 100), bytes.Repeat([]byte("b"), 50)}
	var sums []string
	var concat []byte
	for _, p := range parts {
		s, n, err := Hash(bytes.NewReader(p), Request{Alg: CRC32C})
		if err != nil || n != int64(len(p)) {
			t.Fatal(err)
		}
		sums = append(sums, s.Checksum)
		concat = binary.BigEndian.AppendUint32(concat, crc32.Checksum(p, crc32cTable))
	}
	want := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.Checksum(concat, crc32cTable))) + "-2"
	got, err := Object(CRC32C, types.ChecksumTypeComposite, sums, []int64{100, 50})
	if err != nil || got != want {
		t.Fatalf("composite = %s, %v; want %s", got, err, want)
	}
	// Ceph Squid reports CRC32C multipart objects as FULL_OBJECT.
	full, err := Object(CRC32C, types.ChecksumTypeFullObject, sums, []int64{100, 50})
	whole := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.Checksum(append(parts[0], parts[1]...), crc32cTable)))
	if err != nil || full != whole {
		t.Fatalf("full object = %s, %v; want %s", full, err, whole)
	}
	if _, err := Object(CRC32C, types.ChecksumTypeComposite, []string{"%%"}, []int64{1}); err == nil {
		t.Fatal("bad base64 accepted")
	}
	if _, err := Object(MD5, types.ChecksumTypeComposite, sums, []int64{100, 50}); err == nil {
		t.Fatal("composite of Content-MD5 accepted")
	}
}

func TestSame(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{{"x==-2", "x==-2", true}, {"x==", "x==-2", true}, {"x==-3", "y==-3", false}, {"", "", false}} {
		if Same(c.a, c.b) != c.want {
			t.Errorf("Same(%q,%q) != %v", c.a, c.b, c.want)
		}
	}
}

func TestETags(t *testing.T) {
	a, b := md5.Sum([]byte("x")), md5.Sum([]byte("y"))
	cat := md5.Sum(append(a[:], b[:]...))
	got := CompositeETag([][]byte{a[:], b[:]})
	if want := fmt.Sprintf("%x-2", cat); got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	if !IsMultipartETag(`"`+got+`"`, 2) || IsMultipartETag(got, 3) || IsMultipartETag("opaque-2", 2) {
		t.Fatal("IsMultipartETag")
	}
	if _, ok := ETagMD5(`"0123456789abcdef0123456789abcdef"`); !ok {
		t.Fatal("quoted md5 etag not recognised")
	}
	if _, ok := ETagMD5(`"0123456789abcdef0123456789abcdef-3"`); ok {
		t.Fatal("multipart etag taken as md5")
	}
}

func TestHashOnePassAllDigests(t *testing.T) {
	data := bytes.Repeat([]byte("s3up"), 100000)
	s, n, err := Hash(bytes.NewReader(data), Request{Alg: SHA1, SHA256: true, MD5: true, CRC64ECMA: true})
	if err != nil || n != int64(len(data)) {
		t.Fatal(n, err)
	}
	m := md5.Sum(data)
	if !bytes.Equal(s.MD5, m[:]) || s.SHA256 == "" || s.Checksum == "" || s.CRC64ECMA != crc64.Checksum(data, crc64ecmaTable) {
		t.Fatalf("sums %+v", s)
	}
	if b := HashBytes(data, Request{Alg: SHA1, SHA256: true, MD5: true, CRC64ECMA: true}); b.Checksum != s.Checksum ||
		b.SHA256 != s.SHA256 || !bytes.Equal(b.MD5, s.MD5) || b.CRC64ECMA != s.CRC64ECMA {
		t.Fatalf("HashBytes %+v != Hash %+v", b, s)
	}
	md, _, _ := Hash(bytes.NewReader(data), Request{Alg: MD5})
	if md.Checksum != base64.StdEncoding.EncodeToString(m[:]) || !bytes.Equal(md.MD5, m[:]) {
		t.Fatalf("md5 sums %+v", md)
	}
	if !(Request{Alg: None}).Empty() || (Request{Alg: None, MD5: true}).Empty() {
		t.Fatal("Empty")
	}
}

// TestHashXXH3: the stream content digest is XXH3-128 in its canonical
// form (high 64 bits first), the same from a reader and from memory.
func TestHashXXH3(t *testing.T) {
	if got := HashBytes(nil, Request{XXH3: true}).XXH3; got != "99aa06d3014798d86001c324468d497f" {
		t.Fatalf("XXH3-128 of nothing = %s", got)
	}
	data := bytes.Repeat([]byte("s3up"), 300000)
	want := xxh3.Hash128(data).Bytes()
	s, _, err := Hash(bytes.NewReader(data), Request{Alg: CRC32C, XXH3: true})
	if err != nil || s.XXH3 != hex.EncodeToString(want[:]) || s.Checksum == "" {
		t.Fatalf("sums %+v, %v", s, err)
	}
	if b := HashBytes(data, Request{Alg: CRC32C, XXH3: true}); b.XXH3 != s.XXH3 {
		t.Fatalf("HashBytes %s != Hash %s", b.XXH3, s.XXH3)
	}
	if (Request{XXH3: true}).Empty() {
		t.Fatal("a request for XXH3 alone is empty")
	}
}

// TestReadFullHashes: ReadFull reads as io.ReadFull does, and its Hasher
// ends with the digests HashBytes gives of what was read, whatever the
// pieces the reader returns.
func TestReadFullHashes(t *testing.T) {
	data := bytes.Repeat([]byte("s3up stream "), 50000)
	req := Request{Alg: CRC32C, XXH3: true, MD5: true}
	for name, mk := range map[string]func([]byte) io.Reader{
		"whole":      func(b []byte) io.Reader { return bytes.NewReader(b) },
		"one-byte":   func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"half":       func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
		"data-error": func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
	} {
		for _, c := range []struct {
			have, buf int
			want      error
		}{{len(data), len(data), nil}, {len(data), 1000, nil}, {100, 1000, io.ErrUnexpectedEOF}, {0, 1000, io.EOF}} {
			if name == "one-byte" && c.buf > 1000 {
				continue // slow, and "whole" covers it
			}
			buf := make([]byte, c.buf)
			h := NewHasher(req)
			n, err := ReadFull(mk(data[:c.have]), buf, h)
			wantN := min(c.have, c.buf)
			if n != wantN || err != c.want {
				t.Fatalf("%s %d of %d: read %d, %v; want %d, %v", name, c.have, c.buf, n, err, wantN, c.want)
			}
			got, want := h.Sums(), HashBytes(data[:wantN], req)
			if got.Checksum != want.Checksum || got.XXH3 != want.XXH3 || !bytes.Equal(got.MD5, want.MD5) || !bytes.Equal(buf[:n], data[:n]) {
				t.Fatalf("%s %d of %d: sums %+v, want %+v", name, c.have, c.buf, got, want)
			}
		}
	}
	boom := errors.New("boom")
	if _, err := ReadFull(iotest.ErrReader(boom), make([]byte, 10), NewHasher(req)); err != boom {
		t.Fatalf("a reader's error: %v", err)
	}
}

func TestParse(t *testing.T) {
	for _, a := range All {
		if got, err := Parse(string(a)); err != nil || got != a {
			t.Errorf("%s: %v %v", a, got, err)
		}
	}
	if _, err := Parse("crc16"); err == nil {
		t.Error("crc16 accepted")
	}
	if got, _ := Parse(""); got != Default {
		t.Errorf("default = %s", got)
	}
	for _, a := range All {
		if a.Flexible() != (a != MD5 && a != None) {
			t.Errorf("%s: Flexible %v", a, a.Flexible())
		}
	}
}

func TestFields(t *testing.T) {
	for _, a := range All {
		in := &s3.UploadPartInput{}
		OfUploadPart(in).Set(a, "v")
		got := OfUploadPart(in).Get(a)
		if a.Flexible() != (got == "v") {
			t.Errorf("%s: set/get %q", a, got)
		}
		if alg, v := OfUploadPart(in).Any(); a.Flexible() && (alg != a || v != "v") {
			t.Errorf("%s: Any = %s %s", a, alg, v)
		}
	}
	out := &s3.HeadObjectOutput{}
	OfHead(out).Set(CRC64NVME, "z")
	if out.ChecksumCRC64NVME == nil || *out.ChecksumCRC64NVME != "z" || out.ChecksumCRC32C != nil {
		t.Fatal("Set wrote the wrong field")
	}
}

// TestHashExtra: a second flexible checksum in the same pass equals the
// algorithm's own.
func TestHashExtra(t *testing.T) {
	data := bytes.Repeat([]byte("extra algorithm "), 5000)
	for _, tc := range []Request{{Alg: CRC32C, Extra: CRC32}, {Alg: CRC32C, Extra: CRC32C}, {Alg: MD5, Extra: SHA1}, {Alg: None, CRC32C: true, Extra: CRC32C}} {
		got, _, err := Hash(bytes.NewReader(data), tc)
		if err != nil {
			t.Fatal(err)
		}
		want := HashBytes(data, Request{Alg: tc.Extra}).Checksum
		if got.Extra != want {
			t.Fatalf("%+v: extra %s, want %s", tc, got.Extra, want)
		}
	}
	if (Request{Extra: CRC32}).Empty() {
		t.Fatal("a request for an extra checksum is empty")
	}
}

func BenchmarkHash(b *testing.B) {
	data := make([]byte, 16<<20)
	for _, req := range []Request{
		{Alg: CRC32C}, {Alg: CRC64NVME}, {Alg: CRC32C, SHA256: true}, {Alg: SHA256}, {Alg: MD5},
		{Alg: None, SHA256: true}, {Alg: None}, {Alg: None, MD5: true}, {Alg: CRC32C, CRC64ECMA: true},
		{Alg: CRC32C, MD5: true}, {Alg: CRC32C, Extra: CRC32},
	} {
		name := string(req.Alg)
		if req.SHA256 {
			name += "+sha256"
		}
		if req.MD5 && req.Alg != MD5 {
			name += "+md5"
		}
		if req.CRC64ECMA {
			name += "+crc64ecma"
		}
		if req.Extra != "" {
			name += "+" + string(req.Extra)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, _, err := Hash(bytes.NewReader(data), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHashBytes is the hashing of a stream part held in memory: the
// part's checksum and the SHA-256 its resume compares, over 16 MiB.
//
//	go test ./s3up/checksum -run '^$' -bench HashBytes
func BenchmarkHashBytes(b *testing.B) {
	data := make([]byte, 16<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	// A stream part is hashed in memory with its checksum and its content
	// digest: XXH3-128 since issue 26, SHA-256 before.
	for _, req := range []Request{{Alg: CRC32C}, {Alg: CRC32C, SHA256: true}, {Alg: CRC32C, XXH3: true}, {Alg: None, XXH3: true}} {
		name := string(req.Alg)
		if req.SHA256 {
			name += "+sha256"
		}
		if req.XXH3 {
			name += "+xxh3"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				HashBytes(data, req)
			}
		})
	}
}

// chunkReader returns at most 64 KiB a read, as a pipe does.
type chunkReader struct{ r io.Reader }

func (c chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), 64<<10)]) }

// BenchmarkStreamPart: a 16 MiB stream part read from a pipe-like reader
// (64 KiB a read) and hashed with its checksum and content digest, after
// the read (a second pass over the part in memory) or as each piece
// arrives (ReadFull, while the piece is in the CPU's cache).
func BenchmarkStreamPart(b *testing.B) {
	data := make([]byte, 16<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	buf := make([]byte, len(data))
	req := Request{Alg: CRC32C, XXH3: true}
	b.Run("read-then-hash", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := io.ReadFull(chunkReader{bytes.NewReader(data)}, buf); err != nil {
				b.Fatal(err)
			}
			HashBytes(buf, req)
		}
	})
	b.Run("hash-as-read", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			h := NewHasher(req)
			if _, err := ReadFull(chunkReader{bytes.NewReader(data)}, buf, h); err != nil {
				b.Fatal(err)
			}
			h.Sums()
		}
	})
}
