package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/s3up/checksum"
)

// decodeChunked decodes an aws-chunked body the way a store does, written
// from AWS's description, independently of the encoder: chunks of "hex
// size CRLF data CRLF" up to a zero-size chunk, then trailer lines, then an
// empty line, then nothing. It returns the data, the trailers and the sizes
// of the chunks.
func decodeChunked(body []byte) (data []byte, trailers map[string]string, chunks []int, err error) {
	r := bufio.NewReader(bytes.NewReader(body))
	line := func() (string, error) {
		s, err := r.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("line: %w", err)
		}
		if !strings.HasSuffix(s, "\r\n") {
			return "", fmt.Errorf("line %q does not end in CRLF", s)
		}
		return strings.TrimSuffix(s, "\r\n"), nil
	}
	for {
		h, err := line()
		if err != nil {
			return nil, nil, nil, err
		}
		n, err := strconv.ParseInt(h, 16, 64)
		if err != nil || n < 0 {
			return nil, nil, nil, fmt.Errorf("chunk header %q", h)
		}
		if n == 0 {
			break
		}
		chunks = append(chunks, int(n))
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, nil, nil, fmt.Errorf("chunk of %d: %w", n, err)
		}
		data = append(data, buf...)
		if end, err := line(); err != nil || end != "" {
			return nil, nil, nil, fmt.Errorf("chunk not followed by CRLF: %q %v", end, err)
		}
	}
	trailers = map[string]string{}
	for {
		l, err := line()
		if err != nil {
			return nil, nil, nil, err
		}
		if l == "" {
			break
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return nil, nil, nil, fmt.Errorf("trailer %q", l)
		}
		trailers[k] = v
	}
	if rest, _ := io.ReadAll(r); len(rest) != 0 {
		return nil, nil, nil, fmt.Errorf("%d bytes after the trailers", len(rest))
	}
	return data, trailers, chunks, nil
}

func crc32cBase64(b []byte) string {
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	h.Write(b)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// oddReader returns at most max bytes a call, sometimes fewer, as a file
// or a socket may.
type oddReader struct {
	r   io.Reader
	rng *rand.Rand
	max int
}

func (o *oddReader) Read(p []byte) (int, error) {
	if len(p) > o.max {
		p = p[:o.max]
	}
	if len(p) > 1 && o.rng.IntN(3) == 0 {
		p = p[:1+o.rng.IntN(len(p)-1)]
	}
	return o.r.Read(p)
}

// TestChunkedBody: whatever the sizes of the body, the chunks and the
// reads on both sides, the encoding decodes to the bytes, every chunk but
// the last has the chosen size, the trailer is the checksum of the bytes,
// and the length announced is the length sent.
func TestChunkedBody(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, chunk := range []int{1, 7, 4096, DefaultTrailerChunk} {
		for _, size := range []int64{1, 2, 4095, 4096, 4097, 3*4096 + 5, 200_001} {
			for _, readSize := range []int{1, 5, 32 << 10, 1 << 20} {
				if chunk == 1 && size > 5000 || readSize == 1 && size > 5000 {
					continue // slow, and nothing more to learn
				}
				data := make([]byte, size)
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				name := fmt.Sprintf("chunk=%d/size=%d/read=%d", chunk, size, readSize)
				src := &oddReader{r: bytes.NewReader(data), rng: rng, max: 1 << 30}
				b := newChunkedBody(src, size, chunk, checksum.CRC32C.Header(), checksum.CRC32C.New())
				var out bytes.Buffer
				buf := make([]byte, readSize)
				for {
					n, err := b.Read(buf)
					out.Write(buf[:n])
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
				}
				if int64(out.Len()) != b.encodedLen {
					t.Fatalf("%s: sent %d bytes, announced %d", name, out.Len(), b.encodedLen)
				}
				got, trailers, chunks, err := decodeChunked(out.Bytes())
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("%s: decoded bytes differ", name)
				}
				for i, c := range chunks[:len(chunks)-1] {
					if c != chunk {
						t.Fatalf("%s: chunk %d has %d bytes", name, i, c)
					}
				}
				want := crc32cBase64(data)
				if len(trailers) != 1 || trailers["x-amz-checksum-crc32c"] != want {
					t.Fatalf("%s: trailers %v, want crc32c %s", name, trailers, want)
				}
				if sum, ok := b.result(); !ok || sum != want {
					t.Fatalf("%s: result %q %v", name, sum, ok)
				}
			}
		}
	}
}

// TestChunkedBodyShortSource: a source that ends early (a file truncated
// under the upload) is an error, never a trailer over fewer bytes.
func TestChunkedBodyShortSource(t *testing.T) {
	b := newChunkedBody(strings.NewReader("abc"), 10, 4, checksum.CRC32C.Header(), checksum.CRC32C.New())
	_, err := io.ReadAll(b)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err %v, want ErrUnexpectedEOF", err)
	}
	if _, ok := b.result(); ok {
		t.Fatal("a checksum of a short body")
	}
}

// TestWithTrailer drives UploadPart through the SDK over TLS to a server
// that decodes the body as a store does: the request announces the
// encoding, the body decodes to the part with its checksum in the trailer,
// and after an attempt that fails mid-body the retry sends the part again
// from its start with a fresh checksum, which Trailer reports.
func TestWithTrailer(t *testing.T) {
	data := make([]byte, 300_000)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	want := crc32cBase64(data)
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := calls.Add(1)
		for h, v := range map[string]string{
			"X-Amz-Content-Sha256":         "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
			"Content-Encoding":             "aws-chunked",
			"X-Amz-Decoded-Content-Length": strconv.Itoa(len(data)),
			"X-Amz-Trailer":                "x-amz-checksum-crc32c",
		} {
			if got := r.Header.Get(h); got != v {
				t.Errorf("%s: %q, want %q", h, got, v)
			}
		}
		if !strings.Contains(r.Header.Get("Authorization"), "x-amz-trailer") {
			t.Errorf("x-amz-trailer is not signed: %s", r.Header.Get("Authorization"))
		}
		if call == 1 {
			// Half the body, then a server error: the SDK retries.
			io.CopyN(io.Discard, r.Body, r.ContentLength/2)
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `<Error><Code>InternalError</Code><Message>try again</Message></Error>`)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		if int64(len(body)) != r.ContentLength {
			t.Errorf("body %d bytes, Content-Length %d", len(body), r.ContentLength)
		}
		got, trailers, chunks, err := decodeChunked(body)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("decoded %d bytes (%v), want the part's %d", len(got), err, len(data))
		}
		if len(chunks) != (len(data)+DefaultTrailerChunk-1)/DefaultTrailerChunk {
			t.Errorf("%d chunks", len(chunks))
		}
		if trailers["x-amz-checksum-crc32c"] != want {
			t.Errorf("trailer %v, want %s", trailers, want)
		}
		w.Header().Set("ETag", `"etag"`)
		w.Header().Set("x-amz-checksum-crc32c", trailers["x-amz-checksum-crc32c"])
	}))
	defer srv.Close()
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, HTTPClient: srv.Client(),
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
	var tr Trailer
	out, err := client.UploadPart(context.Background(), &s3.UploadPartInput{
		Bucket: aws.String("b"), Key: aws.String("k"), UploadId: aws.String("u"), PartNumber: aws.Int32(1),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	}, WithTrailer(checksum.CRC32C, 0, &tr))
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d calls, want 2", calls.Load())
	}
	if got, ok := tr.Checksum(); !ok || got != want {
		t.Fatalf("Trailer.Checksum %q %v, want %s", got, ok, want)
	}
	if aws.ToString(out.ChecksumCRC32C) != want {
		t.Fatalf("answer's checksum %q", aws.ToString(out.ChecksumCRC32C))
	}
}

// TestWithTrailerRefusedOnce: a store that reads the trailer announcement
// as a payload hash answers XAmzContentSHA256Mismatch; that answer is not
// retried (it says nothing about the bytes), so the caller can fall back
// to a header at once.
func TestWithTrailerRefusedOnce(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `<Error><Code>XAmzContentSHA256Mismatch</Code><Message>invalid header: x-amz-content-sha256</Message></Error>`)
	}))
	defer srv.Close()
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, HTTPClient: srv.Client(),
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 5
			o.Retryables = retryables(o.Retryables)
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
	in := func() *s3.UploadPartInput {
		return &s3.UploadPartInput{Bucket: aws.String("b"), Key: aws.String("k"), UploadId: aws.String("u"), PartNumber: aws.Int32(1),
			Body: strings.NewReader("data"), ContentLength: aws.Int64(4)}
	}
	var tr Trailer
	if _, err := client.UploadPart(context.Background(), in(), WithTrailer(checksum.CRC32C, 0, &tr)); Code(err) != "XAmzContentSHA256Mismatch" {
		t.Fatalf("err %v", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("a trailer refusal was sent %d times", calls.Load())
	}
	// Without a trailer the same answer is about the bytes, and retried.
	calls.Store(0)
	client.UploadPart(context.Background(), in())
	if calls.Load() != 5 {
		t.Fatalf("a payload hash mismatch was sent %d times, want 5", calls.Load())
	}
}

// TestChunkedBodyWireUnits: with the default chunk, every chunk with its
// framing is 64 KiB on the wire, so 32 KiB reads of the body (the HTTP
// transport's) read the source in 32 KiB reads, never a sliver at a chunk
// boundary.
func TestChunkedBodyWireUnits(t *testing.T) {
	const size = 10 * DefaultTrailerChunk
	var reads []int
	src := readSizes{r: bytes.NewReader(make([]byte, size)), sizes: &reads}
	b := newChunkedBody(src, size, DefaultTrailerChunk, checksum.CRC32C.Header(), checksum.CRC32C.New())
	buf := make([]byte, 32<<10)
	for {
		if _, err := b.Read(buf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range reads {
		if n < 32<<10-8 {
			t.Fatalf("read %d of the source: %d bytes (reads %v)", i, n, reads)
		}
	}
	if len(reads) != 20 {
		t.Fatalf("%d reads of the source, want 20", len(reads))
	}
}

type readSizes struct {
	r     io.Reader
	sizes *[]int
}

func (r readSizes) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		*r.sizes = append(*r.sizes, n)
	}
	return n, err
}
