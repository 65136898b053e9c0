package faultproxy

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// encodeChunked frames payload as aws-chunked, in chunks of the sizes next
// returns, with chunk signatures if signed, then the trailers.
func encodeChunked(payload []byte, next func() int, signed bool, trailers ...string) []byte {
	var b bytes.Buffer
	ext := func() string {
		if signed {
			return ";chunk-signature=" + strings.Repeat("ab", 32)
		}
		return ""
	}
	for len(payload) > 0 {
		n := min(next(), len(payload))
		fmt.Fprintf(&b, "%x%s\r\n", n, ext())
		b.Write(payload[:n])
		b.WriteString("\r\n")
		payload = payload[n:]
	}
	fmt.Fprintf(&b, "0%s\r\n", ext())
	for _, t := range trailers {
		b.WriteString(t + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func TestChunkDecoder(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range 30 {
		payload := randBody(rng, rng.IntN(200<<10))
		maxChunk := 1 + rng.IntN(70<<10)
		signed := i%3 == 0
		var trailers []string
		if i%2 == 0 {
			trailers = append(trailers, "x-amz-checksum-crc32c:AAAAAA==")
		}
		raw := encodeChunked(payload, func() int { return 1 + rng.IntN(maxChunk) }, signed, trailers...)

		// Pulled through small reads, pushed in one write and in odd pieces:
		// the same payload every way.
		got, err := io.ReadAll(newDechunkReader(iotest.HalfReader(bytes.NewReader(raw))))
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("case %d: reader: %d bytes, err %v; want %d bytes", i, len(got), err, len(payload))
		}
		if got, err := decodeChunked(raw); err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("case %d: decodeChunked: %d bytes, err %v", i, len(got), err)
		}
		var w bytes.Buffer
		tee := dechunkWriter(&w)
		for rest := raw; len(rest) > 0; {
			n := min(1+rng.IntN(5000), len(rest))
			tee.Write(rest[:n])
			rest = rest[n:]
		}
		if !bytes.Equal(w.Bytes(), payload) {
			t.Fatalf("case %d: writer: %d bytes, want %d", i, w.Len(), len(payload))
		}
		d := newChunkDecoder(func([]byte) {})
		d.Write(raw)
		if err := d.finish(); err != nil || len(trailers) > 0 && d.trailers.Get("X-Amz-Checksum-Crc32c") != "AAAAAA==" {
			t.Fatalf("case %d: finish %v, trailers %v", i, err, d.trailers)
		}
	}
}

func TestChunkDecoderRefusesMalformed(t *testing.T) {
	good := encodeChunked([]byte("hello world"), func() int { return 4 }, false, "x-amz-checksum-crc32:AAAAAA==")
	for name, raw := range map[string]string{
		"bad size":           "zz\r\nhello\r\n0\r\n\r\n",
		"no CRLF after data": "5\r\nhelloX\r\n0\r\n\r\n",
		"bare LF":            "5\nhello\r\n0\r\n\r\n",
		"data after end":     string(good) + "5\r\nhello\r\n",
		"truncated data":     "5\r\nhel",
		"truncated size":     "5\r\nhello\r\n",
		"bad trailer":        "0\r\nno-colon\r\n\r\n",
		"endless line":       strings.Repeat("a", maxChunkLine+10),
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := io.ReadAll(newDechunkReader(strings.NewReader(raw))); err == nil {
				t.Fatalf("decoded %q without error", got)
			}
			if _, err := decodeChunked([]byte(raw)); err == nil {
				t.Fatal("decodeChunked: no error")
			}
		})
	}
	// The blank line after the trailers is optional.
	if got, err := decodeChunked(bytes.TrimSuffix(good, []byte("\r\n"))); err != nil || string(got) != "hello world" {
		t.Fatalf("without the final CRLF: %q %v", got, err)
	}
}

func TestTokens(t *testing.T) {
	if !hasToken("gzip, aws-chunked", "AWS-CHUNKED") || hasToken("gzip", "aws-chunked") {
		t.Fatal("hasToken")
	}
	if got := withoutToken("aws-chunked,gzip", "aws-chunked"); got != "gzip" {
		t.Fatalf("withoutToken: %q", got)
	}
	if got := withoutToken("aws-chunked", "aws-chunked"); got != "" {
		t.Fatalf("withoutToken: %q", got)
	}
}
