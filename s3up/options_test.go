package s3up

import (
	"bytes"
	"context"
	"io"
	"testing"

	"golang.org/x/time/rate"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/checksum"
)

// TestSignPayload: --payload auto sends UNSIGNED-PAYLOAD over HTTPS and
// whenever a checksum covers the part; it signs the SHA-256 only for a part
// without a checksum over plain HTTP.
func TestSignPayload(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    PayloadSigning
		alg  checksum.Algorithm
		tls  bool
		want bool
	}{
		{PayloadAuto, checksum.None, false, true}, {PayloadAuto, checksum.None, true, false},
		{PayloadAuto, checksum.CRC32C, false, false}, {PayloadAuto, checksum.MD5, false, false},
		{PayloadAuto, checksum.CRC32C, true, false},
		{PayloadSigned, checksum.None, true, true}, {PayloadSigned, checksum.CRC32C, false, true},
		{PayloadUnsigned, checksum.None, false, false}, {PayloadUnsigned, checksum.CRC32C, true, false},
	} {
		w := newWire(Options{Payload: tc.p}.withDefaults(), tc.alg, tc.tls)
		if got := w.signPayload(); got != tc.want {
			t.Errorf("payload %q checksum %q tls %v: sign %v, want %v", tc.p, tc.alg, tc.tls, got, tc.want)
		}
	}
}

// TestTrailer: a trailing checksum by default over HTTPS, for a flexible
// checksum and an unsigned payload, whatever the part size (the chunks are
// s3up's, not one per part); never over plain HTTP, where only a header is
// covered by the signature.
func TestTrailer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		o    Options
		tls  bool
		alg  checksum.Algorithm
		size int64
		want bool
	}{
		{Options{}, true, checksum.CRC32C, 16 << 20, true},
		{Options{}, true, checksum.CRC64NVME, 5 << 20, true},
		{Options{}, true, checksum.SHA256, 5 << 20, true},
		{Options{}, true, checksum.CRC32C, 5 << 30, true},
		{Options{}, false, checksum.CRC32C, 16 << 20, false},
		{Options{}, true, checksum.None, 16 << 20, false},
		{Options{}, true, checksum.MD5, 16 << 20, false},
		{Options{HeaderChecksum: true}, true, checksum.CRC32C, 16 << 20, false},
		{Options{Payload: PayloadSigned}, true, checksum.CRC32C, 16 << 20, false},
		{Options{Payload: PayloadUnsigned}, true, checksum.CRC32C, 16 << 20, true},
	} {
		if got := newWire(tc.o.withDefaults(), tc.alg, tc.tls).trailer; got != tc.want {
			t.Errorf("%+v tls %v %s %d: trailer %v, want %v", tc.o, tc.tls, tc.alg, tc.size, got, tc.want)
		}
	}
}

// TestCheckETags: only a part with neither a checksum nor a signed payload
// needs its ETag compared with the local MD5.
func TestCheckETags(t *testing.T) {
	t.Parallel()
	for _, alg := range checksum.All {
		for _, p := range []PayloadSigning{PayloadAuto, PayloadSigned, PayloadUnsigned} {
			for _, tls := range []bool{false, true} {
				w := newWire(Options{Payload: p}.withDefaults(), alg, tls)
				want := alg == checksum.None && !w.signPayload() && !tls
				if got := w.checkETags(); got != want {
					t.Errorf("%s %s tls=%v: %v, want %v", alg, p, tls, got, want)
				}
			}
		}
	}
	w := newWire(Options{Payload: PayloadUnsigned, Object: ObjectOptions{SSE: "aws:kms"}}.withDefaults(), checksum.None, false)
	if w.checkETags() {
		t.Error("SSE-KMS ETags are not MD5s but are checked")
	}
}

// TestBodyBelowBurst (review 1.3): with a bandwidth limit below the HTTP
// client's 32 KiB reads (1000 B/s here), reading a part body works: each
// read is cut to the limiter's burst instead of failing with "exceeds
// limiter's burst".
func TestBodyBelowBurst(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("x"), 1500)
	lim := rate.NewLimiter(1000, 1000)
	r := &partReader{sec: io.NewSectionReader(bytes.NewReader(data), 0, int64(len(data))), size: int64(len(data)),
		ev: newEmitter(nil, Ref{}), lim: lim, ctx: context.Background()}
	buf := make([]byte, 32<<10)
	var got []byte
	for {
		n, err := r.Read(buf)
		if n > lim.Burst() {
			t.Fatalf("read %d bytes at once, more than the burst %d", n, lim.Burst())
		}
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, want %d", len(got), len(data))
	}
}

// TestBodyTeeHashesOnce: the digest computed while sending survives a
// rewind (an SDK retry) and covers the bytes exactly once.
func TestBodyTeeHashesOnce(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("0123456789"), 1000)
	r := &partReader{sec: io.NewSectionReader(bytes.NewReader(data), 0, int64(len(data))), size: int64(len(data)),
		ev: newEmitter(nil, Ref{}), ctx: context.Background(), tee: newSendHash(true)}
	io.CopyN(io.Discard, r, 3000)
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r)
	want := checksum.HashBytes(data, checksum.Request{Alg: digestAlg, MD5: true})
	if !r.whole() {
		t.Fatal("the tee did not see the whole part once")
	}
	var p resume.Part
	r.tee.record(&p)
	if got := digestValue(p.Digest, digestAlg); got != want.Checksum {
		t.Fatalf("tee digest %s, want %s", got, want.Checksum)
	}
	if got := digestValue(p.Digest, checksum.MD5); got != b64(want.MD5) {
		t.Fatalf("tee MD5 %s, want %s", got, b64(want.MD5))
	}
}
