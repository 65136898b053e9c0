package faultproxy

import (
	"hash/crc32"
	"hash/crc64"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCombineCRC(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	for i := 0; i < 20; i++ {
		a := make([]byte, r.IntN(3000))
		b := make([]byte, r.IntN(3000))
		for j := range a {
			a[j] = byte(r.Uint32())
		}
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		ab := append(append([]byte{}, a...), b...)
		if got, want := combineCRC(64, crc64.ECMA, crc64.Checksum(a, crc64Table), crc64.Checksum(b, crc64Table), int64(len(b))), crc64.Checksum(ab, crc64Table); got != want {
			t.Fatalf("crc64: %x want %x", got, want)
		}
		if got, want := uint32(combineCRC(32, crc32.Castagnoli, uint64(crc32.Checksum(a, crc32cTable)), uint64(crc32.Checksum(b, crc32cTable)), int64(len(b)))), crc32.Checksum(ab, crc32cTable); got != want {
			t.Fatalf("crc32c: %x want %x", got, want)
		}
	}
}

func TestRewriteXML(t *testing.T) {
	e := newEmulation(COS)
	in := `<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>&#34;0123456789abcdef0123456789abcdef&#34;</ETag><ChecksumCRC32C>abc=</ChecksumCRC32C><Size>5</Size></Part></ListPartsResult>` +
		`<CompleteMultipartUploadResult><ETag>&#34;0123456789abcdef0123456789abcdef-2&#34;</ETag><ChecksumCRC32C>x==-2</ChecksumCRC32C><ChecksumType>COMPOSITE</ChecksumType></CompleteMultipartUploadResult>`
	out := string(e.rewriteXML([]byte(in)))
	if strings.Contains(out, "Checksum") {
		t.Fatalf("checksums shown: %s", out)
	}
	if !strings.Contains(out, "0123456789abcdef0123456789abcdef&#34;</ETag>") {
		t.Fatalf("a part ETag was changed: %s", out)
	}
	if strings.Contains(out, "0123456789abcdef0123456789abcdef-2") || !strings.Contains(out, "-2&#34;</ETag>") {
		t.Fatalf("the multipart ETag is not opaque: %s", out)
	}
}
