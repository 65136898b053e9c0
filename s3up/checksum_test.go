package s3up

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"math/rand/v2"
	"testing"
)

func TestCRC64Combine(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < 50; i++ {
		a := make([]byte, r.IntN(5000))
		b := make([]byte, r.IntN(5000))
		for j := range a {
			a[j] = byte(r.Uint32())
		}
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		whole := crc64.Checksum(append(append([]byte{}, a...), b...), crc64nvmeTable)
		got := crc64Combine(crc64.Checksum(a, crc64nvmeTable), crc64.Checksum(b, crc64nvmeTable), int64(len(b)))
		if got != whole {
			t.Fatalf("combine(len %d, len %d) = %x, want %x", len(a), len(b), got, whole)
		}
	}
}

func TestCRC64NVMEKnownValue(t *testing.T) {
	// Check value of CRC-64/NVME for "123456789" (reveng catalogue).
	if got := crc64.Checksum([]byte("123456789"), crc64nvmeTable); got != 0xae8b14860a799888 {
		t.Fatalf("crc64nvme(123456789) = %x", got)
	}
}

func TestCompositeChecksum(t *testing.T) {
	parts := [][]byte{bytes.Repeat([]byte("a"), 100), bytes.Repeat([]byte("b"), 50)}
	var sums []string
	var concat []byte
	for _, p := range parts {
		s, n, err := hashPart(bytes.NewReader(p), sumRequest{alg: ChecksumCRC32C})
		if err != nil || n != int64(len(p)) {
			t.Fatal(err)
		}
		sums = append(sums, s.Checksum)
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], crc32.Checksum(p, crc32cTable))
		concat = append(concat, b[:]...)
	}
	var want [4]byte
	binary.BigEndian.PutUint32(want[:], crc32.Checksum(concat, crc32cTable))
	got, err := compositeChecksum(ChecksumCRC32C, sums, []int64{100, 50})
	if err != nil {
		t.Fatal(err)
	}
	if exp := base64.StdEncoding.EncodeToString(want[:]) + "-2"; got != exp {
		t.Fatalf("composite = %s, want %s", got, exp)
	}
}

func TestCompositeETag(t *testing.T) {
	a, b := md5.Sum([]byte("x")), md5.Sum([]byte("y"))
	cat := md5.Sum(append(a[:], b[:]...))
	if got, want := compositeETag([][]byte{a[:], b[:]}), fmt.Sprintf("%x-2", cat); got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	if _, ok := etagMD5(`"0123456789abcdef0123456789abcdef"`); !ok {
		t.Fatal("quoted md5 etag not recognised")
	}
	if _, ok := etagMD5(`"0123456789abcdef0123456789abcdef-3"`); ok {
		t.Fatal("multipart etag taken as md5")
	}
}

func TestHashPartOnePassAllDigests(t *testing.T) {
	data := bytes.Repeat([]byte("s3up"), 100000)
	s, n, err := hashPart(bytes.NewReader(data), sumRequest{alg: ChecksumSHA1, sha256: true, md5: true})
	if err != nil || n != int64(len(data)) {
		t.Fatal(n, err)
	}
	m := md5.Sum(data)
	if !bytes.Equal(s.MD5, m[:]) || s.SHA256 == "" || s.Checksum == "" {
		t.Fatalf("sums %+v", s)
	}
}

func TestParseChecksum(t *testing.T) {
	for _, a := range ChecksumAlgorithms {
		if got, err := ParseChecksum(string(a)); err != nil || got != a {
			t.Errorf("%s: %v %v", a, got, err)
		}
	}
	if _, err := ParseChecksum("crc16"); err == nil {
		t.Error("crc16 accepted")
	}
	if got, _ := ParseChecksum(""); got != DefaultChecksum {
		t.Errorf("default = %s", got)
	}
}

func BenchmarkHashPart(b *testing.B) {
	data := make([]byte, 16<<20)
	for _, req := range []sumRequest{
		{alg: ChecksumCRC32C}, {alg: ChecksumCRC64NVME}, {alg: ChecksumCRC32C, sha256: true},
		{alg: ChecksumSHA256}, {alg: ChecksumMD5}, {alg: ChecksumNone, sha256: true},
	} {
		name := string(req.alg)
		if req.sha256 {
			name += "+payload-sha256"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, _, err := hashPart(bytes.NewReader(data), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
