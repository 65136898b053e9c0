package faultproxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The aws-chunked body of S3 (docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html):
//
//	<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;...]\r\n<trailer>:<value>\r\n ... \r\n
//
// The emulations that strip a trailing checksum decode the body to plain
// bytes, and the ones that digest a part digest its payload, not its
// framing; both go through chunkDecoder, a push parser, so the body is
// never buffered.

// maxChunkLine bounds a size or trailer line: a longer one is not
// aws-chunked, and accumulating it would be buffering the body.
const maxChunkLine = 4096

const (
	chunkSize = iota
	chunkData
	chunkDataEnd
	chunkTrailer
	chunkDone
)

var errChunkAfterEnd = errors.New("aws-chunked: data after the final chunk and trailers")

type chunkDecoder struct {
	emit     func([]byte)
	state    int
	left     int64
	line     []byte
	n        int64 // payload bytes emitted
	trailers http.Header
	err      error
}

func newChunkDecoder(emit func([]byte)) *chunkDecoder {
	return &chunkDecoder{emit: emit, trailers: http.Header{}}
}

// Write feeds raw body bytes; the payload is passed to emit as it is found.
func (d *chunkDecoder) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && d.err == nil {
		switch d.state {
		case chunkData:
			k := int64(len(p))
			if k > d.left {
				k = d.left
			}
			d.emit(p[:k])
			d.n += k
			p = p[k:]
			d.left -= k
			if d.left == 0 {
				d.state = chunkDataEnd
			}
		case chunkDone:
			d.err = errChunkAfterEnd
		default:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				d.line = append(d.line, p...)
				p = nil
				if len(d.line) > maxChunkLine {
					d.err = errors.New("aws-chunked: line too long")
				}
				continue
			}
			d.line = append(d.line, p[:i+1]...)
			p = p[i+1:]
			d.handleLine(string(d.line))
			d.line = d.line[:0]
		}
	}
	if d.err != nil {
		return n - len(p), d.err
	}
	return n, nil
}

func (d *chunkDecoder) handleLine(line string) {
	if !strings.HasSuffix(line, "\r\n") {
		d.err = fmt.Errorf("aws-chunked: line %q does not end in CRLF", line)
		return
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch d.state {
	case chunkSize:
		size, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		if err != nil || n < 0 {
			d.err = fmt.Errorf("aws-chunked: bad chunk size line %q", line)
			return
		}
		if n == 0 {
			d.state = chunkTrailer
			return
		}
		d.left = n
		d.state = chunkData
	case chunkDataEnd:
		if line != "" {
			d.err = fmt.Errorf("aws-chunked: %q after a chunk's data, want CRLF", line)
			return
		}
		d.state = chunkSize
	case chunkTrailer:
		if line == "" {
			d.state = chunkDone
			return
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			d.err = fmt.Errorf("aws-chunked: bad trailer line %q", line)
			return
		}
		d.trailers.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
}

// finish reports whether the body ended where an aws-chunked body may end.
// The blank line after the trailers is optional here: not every client
// sends it, and the server, not the proxy, judges the framing.
func (d *chunkDecoder) finish() error {
	if d.err != nil {
		return d.err
	}
	if d.state == chunkDone || d.state == chunkTrailer && len(d.line) == 0 {
		return nil
	}
	return io.ErrUnexpectedEOF
}

// dechunkReader yields the payload of the aws-chunked body it reads.
type dechunkReader struct {
	src     io.Reader
	dec     *chunkDecoder
	buf     []byte
	out     []byte
	pending []byte
	done    bool
}

func newDechunkReader(src io.Reader) *dechunkReader {
	r := &dechunkReader{src: src, buf: make([]byte, 32<<10)}
	r.dec = newChunkDecoder(func(b []byte) { r.out = append(r.out, b...) })
	return r
}

func (r *dechunkReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if r.done {
			return 0, io.EOF
		}
		r.out = r.out[:0]
		n, err := r.src.Read(r.buf)
		if n > 0 {
			if _, werr := r.dec.Write(r.buf[:n]); werr != nil {
				return 0, werr
			}
		}
		r.pending = r.out
		switch {
		case err == io.EOF:
			if ferr := r.dec.finish(); ferr != nil {
				return 0, ferr
			}
			r.done = true
		case err != nil:
			return 0, err
		}
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// dechunkWriter passes the payload of the aws-chunked bytes written to it
// on to w. It never fails: it digests what the server will judge, and a
// malformed body is the server's to refuse.
func dechunkWriter(w io.Writer) io.Writer {
	return &chunkTee{dec: newChunkDecoder(func(b []byte) { _, _ = w.Write(b) })}
}

type chunkTee struct{ dec *chunkDecoder }

func (c *chunkTee) Write(p []byte) (int, error) {
	_, _ = c.dec.Write(p)
	return len(p), nil
}

// decodeChunked returns the payload of a whole aws-chunked body.
func decodeChunked(body []byte) ([]byte, error) {
	var out []byte
	d := newChunkDecoder(func(b []byte) { out = append(out, b...) })
	if _, err := d.Write(body); err != nil {
		return nil, err
	}
	return out, d.finish()
}

// isAWSChunked reports whether r's body is aws-chunked.
func isAWSChunked(r *http.Request) bool {
	return hasToken(r.Header.Get("Content-Encoding"), "aws-chunked") ||
		strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-")
}

func hasToken(list, token string) bool {
	for _, t := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// withoutToken removes token from a comma list.
func withoutToken(list, token string) string {
	var keep []string
	for _, t := range strings.Split(list, ",") {
		if t = strings.TrimSpace(t); t != "" && !strings.EqualFold(t, token) {
			keep = append(keep, t)
		}
	}
	return strings.Join(keep, ",")
}
