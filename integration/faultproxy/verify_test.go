package faultproxy

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// s3Backend stands in for the server behind the proxy: it checks the SigV4
// signature (with testSecret), the payload hash and Content-MD5 as S3 does,
// records what it received, and answers with answer (by default: an
// UploadPart/PutObject answer whose ETag is the payload's MD5 and which
// echoes the request's checksums, as S3 does, plus a checksum of its own
// the emulations must hide).
type s3Backend struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(w http.ResponseWriter, r *http.Request, payload []byte)
}

type received struct {
	method, uri, host string
	header            http.Header
	body              []byte
	payload           []byte // the body, decoded if aws-chunked
	trailers          http.Header
}

func newS3Backend(t *testing.T) *s3Backend {
	t.Helper()
	b := &s3Backend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		rec := received{method: r.Method, uri: r.RequestURI, host: r.Host, header: r.Header.Clone(), body: body, payload: body}
		if isAWSChunked(r) {
			d := newChunkDecoder(func(p []byte) { rec.payload = append(rec.payload, p...) })
			rec.payload = nil
			d.Write(body)
			if d.finish() != nil {
				b.fail(w, 400, "IncompleteBody")
				return
			}
			rec.trailers = d.trailers
		}
		b.mu.Lock()
		b.got = append(b.got, rec)
		answer := b.answer
		b.mu.Unlock()
		if r.Header.Get("Authorization") != "" {
			if err := checkSigV4(r, testSecret); err != nil {
				t.Logf("backend: %s %s: %v", r.Method, r.RequestURI, err)
				b.fail(w, http.StatusForbidden, "SignatureDoesNotMatch")
				return
			}
		}
		if h := r.Header.Get("X-Amz-Content-Sha256"); hexSHA256.MatchString(h) && h != shaHex(body) {
			b.fail(w, http.StatusBadRequest, "XAmzContentSHA256Mismatch")
			return
		}
		if m := r.Header.Get("Content-Md5"); m != "" && m != md5B64(rec.payload) {
			b.fail(w, http.StatusBadRequest, "BadDigest")
			return
		}
		if answer != nil {
			answer(w, r, rec.payload)
			return
		}
		for k, v := range r.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") {
				w.Header()[k] = v
			}
		}
		for k, v := range rec.trailers {
			w.Header()[k] = v
		}
		w.Header().Set("X-Amz-Checksum-Sha1", "c2VydmVyJ3Mgb3duIGNoZWNrc3Vt")
		w.Header().Set("ETag", `"`+md5Hex(rec.payload)+`"`)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *s3Backend) fail(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<Error><Code>%s</Code></Error>", code)
}

func (b *s3Backend) setAnswer(f func(w http.ResponseWriter, r *http.Request, payload []byte)) {
	b.mu.Lock()
	b.answer = f
	b.mu.Unlock()
}

// last returns what the backend received last, failing if it received
// nothing since the previous call.
func (b *s3Backend) last(t *testing.T) received {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.got) == 0 {
		t.Fatal("the backend received nothing")
	}
	r := b.got[len(b.got)-1]
	b.got = nil
	return r
}

func (b *s3Backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.got)
	b.got = nil
	return n
}

func md5Hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

func newStoreProxy(t *testing.T, b *s3Backend, store Store) *Proxy {
	t.Helper()
	p, err := New(b.srv.URL, Config{Seed: 1, Store: store, Credentials: testCreds, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// send makes a request to the proxy, signed as the SDK signs, with the hex
// SHA-256 of the body as payload hash unless hdr names another.
func send(t *testing.T, p *Proxy, method, uri string, body []byte, hdr map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, p.URL()+uri, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	hash := shaHex(body)
	for k, v := range hdr {
		if strings.EqualFold(k, "X-Amz-Content-Sha256") {
			hash = v
			continue
		}
		req.Header.Set(k, v)
	}
	clientSign(t, req, hash, testSecret, time.Now())
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, uri, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if cl := resp.Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(rb)) {
		t.Fatalf("%s %s: Content-Length %s for %d bytes", method, uri, cl, len(rb))
	}
	return answer{resp.StatusCode, resp.Header, rb}
}

// message is the Message of an S3 XML error.
func (a answer) message(t *testing.T) string {
	t.Helper()
	var e struct {
		Message string `xml:"Message"`
	}
	if err := xml.Unmarshal(a.body, &e); err != nil {
		t.Fatalf("not an S3 XML error: %q: %v", a.body, err)
	}
	return e.Message
}

func (a answer) checksums() []string {
	var out []string
	for k := range a.header {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") {
			out = append(out, k)
		}
	}
	return out
}

func mustStatus(t *testing.T, a answer, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	if code != "" {
		if got := s3Code(t, a.body); got != code {
			t.Fatalf("code %s, want %s: %s", got, code, a.body)
		}
	}
}

// chunkedHeaders are what the SDK sends with an aws-chunked body of n
// payload bytes whose CRC32C follows in a trailer.
func chunkedHeaders(n int) map[string]string {
	return map[string]string{
		"Content-Encoding":             "aws-chunked",
		"X-Amz-Content-Sha256":         "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
		"X-Amz-Decoded-Content-Length": strconv.Itoa(n),
		"X-Amz-Trailer":                "x-amz-checksum-crc32c",
		"X-Amz-Sdk-Checksum-Algorithm": "CRC32C",
	}
}

func crc32cB64(b []byte) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, crc32cTable)))
}

func chunked(payload []byte, trailerValue string) []byte {
	return encodeChunked(payload, func() int { return 4096 }, false, "x-amz-checksum-crc32c:"+trailerValue)
}

func TestNewNeedsCredentials(t *testing.T) {
	b := newS3Backend(t)
	for _, s := range VerificationStores {
		p, err := New(b.srv.URL, Config{Store: s})
		if s.NeedsCredentials() {
			if err == nil {
				p.Close()
				t.Errorf("%s: New without Credentials succeeded", s)
			} else if !strings.Contains(err.Error(), s.String()) || !strings.Contains(err.Error(), "Credentials") {
				t.Errorf("%s: unclear error %q", s, err)
			}
			if p, err := New(b.srv.URL, Config{Store: s, Credentials: &Credentials{AccessKey: "a"}}); err == nil {
				p.Close()
				t.Errorf("%s: New with no secret key succeeded", s)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", s, err)
		} else {
			p.Close()
		}
	}
	if p, err := New(b.srv.URL, Config{Store: Store(99)}); err == nil {
		p.Close()
		t.Error("unknown store accepted")
	}
	for _, want := range []Store{LaxChecksums, IgnoresMD5, ChecksNothing, Blind, CRC32ForCRC32C} {
		if !want.NeedsCredentials() {
			t.Errorf("%s does not say it needs credentials", want)
		}
	}
}

func TestStoreNames(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range append(append([]Store{AsServer}, Stores...), VerificationStores...) {
		n := s.String()
		if n == "" || strings.HasPrefix(n, "Store(") || strings.ToLower(n) != n || seen[n] {
			t.Errorf("store %d: name %q", int(s), n)
		}
		seen[n] = true
	}
	for _, s := range VerificationStores {
		for _, old := range Stores {
			if s == old {
				t.Errorf("%s is in both lists", s)
			}
		}
	}
}

func TestLaxChecksums(t *testing.T) {
	b := newS3Backend(t)
	p := newStoreProxy(t, b, LaxChecksums)
	body := []byte("the bytes of part one")
	part := "/bucket/key?partNumber=1&uploadId=U1"

	// A wrong CRC32C is accepted: it never reaches the server.
	a := send(t, p, http.MethodPut, part, body, map[string]string{
		"X-Amz-Checksum-Crc32c": "AAAAAA==", "X-Amz-Sdk-Checksum-Algorithm": "CRC32C", "Content-Md5": md5B64(body),
	})
	mustStatus(t, a, 200, "")
	got := b.last(t)
	for k := range got.header {
		if l := strings.ToLower(k); strings.HasPrefix(l, "x-amz-checksum-") || l == "x-amz-sdk-checksum-algorithm" {
			t.Errorf("the server received %s", k)
		}
	}
	if got.header.Get("Content-Md5") != md5B64(body) {
		t.Error("Content-MD5 was not forwarded")
	}
	if cs := a.checksums(); len(cs) != 0 {
		t.Errorf("the answer shows %v", cs)
	}
	if a.header.Get("ETag") != `"`+md5Hex(body)+`"` {
		t.Errorf("ETag %s, want the server's MD5", a.header.Get("ETag"))
	}

	// Content-MD5 is still checked, by the server.
	a = send(t, p, http.MethodPut, part, body, map[string]string{"X-Amz-Checksum-Crc32c": "AAAAAA==", "Content-Md5": md5B64([]byte("other"))})
	mustStatus(t, a, 400, "BadDigest")
	b.last(t)

	// An aws-chunked part with its checksum in a trailer goes decoded.
	a = send(t, p, http.MethodPut, part, chunked(body, "AAAAAA=="), chunkedHeaders(len(body)))
	mustStatus(t, a, 200, "")
	got = b.last(t)
	if !bytes.Equal(got.body, body) || got.header.Get("Content-Length") != strconv.Itoa(len(body)) ||
		got.header.Get("Content-Encoding") != "" || got.header.Get("X-Amz-Trailer") != "" ||
		got.header.Get("X-Amz-Content-Sha256") != "UNSIGNED-PAYLOAD" {
		t.Errorf("chunked part reached the server as %q with %v", got.body, got.header)
	}

	// A signed-chunk stream with a checksum cannot be changed: refused, named.
	raw := encodeChunked(body, func() int { return 8 }, true)
	a = send(t, p, http.MethodPut, part, raw, map[string]string{
		"Content-Encoding": "aws-chunked", "X-Amz-Content-Sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
		"X-Amz-Decoded-Content-Length": strconv.Itoa(len(body)), "X-Amz-Checksum-Crc32c": crc32cB64(body),
	})
	mustStatus(t, a, 500, "InternalError")
	if !bytes.Contains(a.body, []byte("lax-checksums")) || !bytes.Contains(a.body, []byte("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")) {
		t.Errorf("the refusal does not say why: %s", a.body)
	}
	if n := b.count(); n != 0 {
		t.Errorf("the refused stream reached the server")
	}

	// Complete: part checksums dropped from the body, none in the answer.
	b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<CompleteMultipartUploadResult><Key>key</Key><ETag>&#34;0123456789abcdef0123456789abcdef-1&#34;</ETag><ChecksumCRC32C>x==-1</ChecksumCRC32C><ChecksumType>COMPOSITE</ChecksumType></CompleteMultipartUploadResult>`)
	})
	complete := []byte(`<CompleteMultipartUpload><Part><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C><ETag>"` + md5Hex(body) + `"</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`)
	a = send(t, p, http.MethodPost, "/bucket/key?uploadId=U1", complete, map[string]string{"X-Amz-Checksum-Crc32c": "AAAAAA==-1", "X-Amz-Checksum-Type": "COMPOSITE"})
	mustStatus(t, a, 200, "")
	got = b.last(t)
	if bytes.Contains(got.body, []byte("Checksum")) || !bytes.Contains(got.body, []byte(md5Hex(body))) {
		t.Errorf("Complete body reached the server as %s", got.body)
	}
	if bytes.Contains(a.body, []byte("Checksum")) || !bytes.Contains(a.body, []byte("0123456789abcdef0123456789abcdef-1")) {
		t.Errorf("Complete answer: %s", a.body)
	}

	// An object's own bytes are not an API answer, even as XML.
	doc := []byte(`<doc><ChecksumCRC32>kept</ChecksumCRC32></doc>`)
	b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) {
		w.Header().Set("Content-Type", "application/xml")
		w.Write(doc)
	})
	if a = send(t, p, http.MethodGet, "/bucket/doc.xml", nil, nil); !bytes.Equal(a.body, doc) {
		t.Errorf("an object's bytes were rewritten: %s", a.body)
	}
	b.last(t)

	s := p.EmulationStats()
	if s.RequestsChanged != 4 || s.Resigned != 4 || s.Unsignable != 1 || s.Refused != 1 || s.AnswersChanged < 3 {
		t.Errorf("stats %+v", s)
	}
}

func TestIgnoresMD5(t *testing.T) {
	b := newS3Backend(t)
	p := newStoreProxy(t, b, IgnoresMD5)
	body := []byte("some part")
	a := send(t, p, http.MethodPut, "/bucket/key?partNumber=1&uploadId=U", body, map[string]string{
		"Content-Md5": md5B64([]byte("not these bytes")), "X-Amz-Checksum-Crc32c": crc32cB64(body),
	})
	mustStatus(t, a, 200, "")
	got := b.last(t)
	if got.header.Get("Content-Md5") != "" || got.header.Get("X-Amz-Content-Sha256") != "UNSIGNED-PAYLOAD" {
		t.Errorf("the server received Content-MD5 %q, payload hash %q", got.header.Get("Content-Md5"), got.header.Get("X-Amz-Content-Sha256"))
	}
	if got.header.Get("X-Amz-Checksum-Crc32c") != crc32cB64(body) || a.header.Get("X-Amz-Checksum-Crc32c") == "" {
		t.Error("the flexible checksum was not forwarded, or not answered")
	}
	// A wrong payload hash passes too.
	mustStatus(t, send(t, p, http.MethodPut, "/bucket/obj", body, map[string]string{"X-Amz-Content-Sha256": shaHex([]byte("x"))}), 200, "")
	b.last(t)

	// DeleteObjects is not an upload: forwarded as signed, Content-MD5 kept.
	del := []byte(`<Delete><Object><Key>k</Key></Object></Delete>`)
	send(t, p, http.MethodPost, "/bucket?delete", del, map[string]string{"Content-Md5": md5B64(del)})
	if got := b.last(t); got.header.Get("Content-Md5") != md5B64(del) || got.header.Get("X-Amz-Content-Sha256") != shaHex(del) {
		t.Errorf("DeleteObjects was changed: %v", got.header)
	}
	if s := p.EmulationStats(); s.RequestsChanged != 2 || s.Resigned != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestChecksNothing(t *testing.T) {
	b := newS3Backend(t)
	p := newStoreProxy(t, b, ChecksNothing)
	body := []byte("some part")
	a := send(t, p, http.MethodPut, "/bucket/key?partNumber=1&uploadId=U", body, map[string]string{
		"Content-Md5": md5B64([]byte("wrong")), "X-Amz-Checksum-Crc32c": "AAAAAA==",
		"X-Amz-Content-Sha256": shaHex([]byte("wrong")),
	})
	mustStatus(t, a, 200, "")
	got := b.last(t)
	if got.header.Get("Content-Md5") != "" || got.header.Get("X-Amz-Checksum-Crc32c") != "" || got.header.Get("X-Amz-Content-Sha256") != "UNSIGNED-PAYLOAD" {
		t.Errorf("the server received %v", got.header)
	}
	if cs := a.checksums(); len(cs) != 0 || a.header.Get("ETag") != `"`+md5Hex(body)+`"` {
		t.Errorf("answer checksums %v, ETag %s", cs, a.header.Get("ETag"))
	}
}

var hex32 = regexp.MustCompile(`^"[0-9a-f]{32}"$`)

func TestBlind(t *testing.T) {
	b := newS3Backend(t)
	p := newStoreProxy(t, b, Blind)
	body := []byte("the bytes of part one")
	real := `"` + md5Hex(body) + `"`
	a := send(t, p, http.MethodPut, "/bucket/key?partNumber=1&uploadId=U1", body, map[string]string{"X-Amz-Checksum-Crc32c": "AAAAAA=="})
	mustStatus(t, a, 200, "")
	b.last(t)
	opaque := a.header.Get("ETag")
	if !hex32.MatchString(opaque) || opaque == real || len(a.checksums()) != 0 {
		t.Fatalf("part ETag %s (MD5 %s), checksums %v", opaque, real, a.checksums())
	}
	if again := send(t, p, http.MethodPut, "/bucket/key?partNumber=1&uploadId=U1", body, nil).header.Get("ETag"); again != opaque {
		t.Errorf("the same part got %s, then %s", opaque, again)
	}
	b.last(t)
	if other := send(t, p, http.MethodPut, "/bucket/key?partNumber=2&uploadId=U1", body, nil).header.Get("ETag"); other == opaque {
		t.Error("part 2 with the same bytes got part 1's ETag: the ETag depends on the bytes alone")
	}
	b.last(t)

	// ListParts shows the same opaque ETags, as MinIO escapes them.
	b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, `<ListPartsResult><UploadId>U1</UploadId><Part><PartNumber>1</PartNumber><ETag>&#34;%s&#34;</ETag><Size>%d</Size><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C></Part><Part><PartNumber>3</PartNumber><ETag>&#34;odd-etag&#34;</ETag><Size>1</Size></Part></ListPartsResult>`, md5Hex(body), len(body))
	})
	a = send(t, p, http.MethodGet, "/bucket/key?uploadId=U1", nil, nil)
	b.last(t)
	if !bytes.Contains(a.body, []byte("<ETag>&#34;"+strings.Trim(opaque, `"`)+"&#34;</ETag>")) || bytes.Contains(a.body, []byte("Checksum")) {
		t.Fatalf("ListParts: %s", a.body)
	}
	odd := regexp.MustCompile(`<PartNumber>3</PartNumber><ETag>&#34;([0-9a-f]{32})&#34;</ETag>`).FindSubmatch(a.body)
	if odd == nil {
		t.Fatalf("a non-MD5 part ETag was not made opaque: %s", a.body)
	}

	// Complete with the opaque ETags reaches the server with its own.
	b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<CompleteMultipartUploadResult><ETag>&#34;0123456789abcdef0123456789abcdef-2&#34;</ETag></CompleteMultipartUploadResult>`)
	})
	complete := fmt.Sprintf(`<CompleteMultipartUpload><Part><ETag>&quot;%s&quot;</ETag><PartNumber>1</PartNumber></Part><Part><ETag>&quot;%s&quot;</ETag><PartNumber>3</PartNumber></Part></CompleteMultipartUpload>`,
		strings.Trim(opaque, `"`), odd[1])
	a = send(t, p, http.MethodPost, "/bucket/key?uploadId=U1", []byte(complete), nil)
	mustStatus(t, a, 200, "")
	got := b.last(t)
	if !bytes.Contains(got.body, []byte("&quot;"+md5Hex(body)+"&quot;")) || !bytes.Contains(got.body, []byte("&quot;odd-etag&quot;")) {
		t.Errorf("the server received %s", got.body)
	}
	m := regexp.MustCompile(`<ETag>&#34;([0-9a-f]{32})&#34;</ETag>`).FindSubmatch(a.body)
	if m == nil {
		t.Fatalf("Complete answer: %s", a.body)
	}
	objectETag := `"` + string(m[1]) + `"`

	// HEAD and ListObjects show the object's ETag as Complete did.
	b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) {
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef-2"`)
		w.Header().Set("X-Amz-Checksum-Crc32c", "AAAAAA==-2")
	})
	if a = send(t, p, http.MethodHead, "/bucket/key", nil, map[string]string{"X-Amz-Checksum-Mode": "ENABLED"}); a.header.Get("ETag") != objectETag || len(a.checksums()) != 0 {
		t.Errorf("HEAD: ETag %s (Complete said %s), checksums %v", a.header.Get("ETag"), objectETag, a.checksums())
	}
	b.last(t)
	b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<ListBucketResult><Contents><Key>key</Key><ETag>&#34;0123456789abcdef0123456789abcdef-2&#34;</ETag><ChecksumAlgorithm>CRC32C</ChecksumAlgorithm></Contents></ListBucketResult>`)
	})
	if a = send(t, p, http.MethodGet, "/bucket?list-type=2", nil, nil); !bytes.Contains(a.body, []byte("&#34;"+string(m[1])+"&#34;")) || bytes.Contains(a.body, []byte("Checksum")) {
		t.Errorf("ListObjectsV2: %s", a.body)
	}
	b.last(t)

	// A Complete naming the part's MD5, which this store never showed,
	// reaches the server as something else: the server refuses it.
	b.setAnswer(nil)
	send(t, p, http.MethodPost, "/bucket/key?uploadId=U1",
		[]byte(`<CompleteMultipartUpload><Part><ETag>"`+md5Hex(body)+`"</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`), nil)
	if got := b.last(t); bytes.Contains(got.body, []byte(md5Hex(body))) {
		t.Errorf("the client's own MD5 went through: %s", got.body)
	}
}

func TestBlindETagCipher(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 9))
	e := newEmulation(Blind)
	for i := range 200 {
		real := md5Hex(randBody(rng, 1+rng.IntN(64)))
		id, n := fmt.Sprintf("upload-%d", rng.IntN(5)), 1+rng.IntN(10000)
		o := e.partOpaque(id, n, real)
		if len(o) != 32 || o == real {
			t.Fatalf("case %d: opaque %q for %q", i, o, real)
		}
		if back := e.partReal(id, n, o); back != real {
			t.Fatalf("case %d: %s -> %s -> %s", i, real, o, back)
		}
		if e.partReal(id, n+1, o) == real || e.partReal(id+"x", n, o) == real {
			t.Fatalf("case %d: the opaque ETag of part %d deciphers right for another part", i, n)
		}
		if objectOpaque(real) != objectOpaque(real) || objectOpaque(real) == real || len(objectOpaque(real)) != 32 {
			t.Fatalf("case %d: object ETag %q", i, objectOpaque(real))
		}
	}
	// Any new emulation deciphers what another gave out.
	o := e.partOpaque("u", 1, md5Hex([]byte("x")))
	if got := newEmulation(Blind).partReal("u", 1, o); got != md5Hex([]byte("x")) {
		t.Fatalf("another proxy read %s", got)
	}
}

func TestXMLRewriting(t *testing.T) {
	in := []byte(`<GetObjectAttributesResponse><ETag>abc</ETag><Checksum><ChecksumCRC32C>x</ChecksumCRC32C><ChecksumType>FULL_OBJECT</ChecksumType></Checksum><ChecksumAlgorithm/><ObjectSize>3</ObjectSize></GetObjectAttributesResponse>`)
	if got := string(stripChecksumXML(in)); got != `<GetObjectAttributesResponse><ETag>abc</ETag><ObjectSize>3</ObjectSize></GetObjectAttributesResponse>` {
		t.Errorf("stripChecksumXML: %s", got)
	}
	upper := func(s string) string { return strings.ToUpper(s) }
	for in, want := range map[string]string{`"ab"`: `"AB"`, "&#34;ab&#34;": "&#34;AB&#34;", "&quot;ab&quot;": "&quot;AB&quot;", "ab": "AB", `"`: `"`} {
		if got := mapQuoted(in, upper); got != want {
			t.Errorf("mapQuoted(%s) = %s, want %s", in, got, want)
		}
	}
	body := []byte(`<X><Part><PartNumber>7</PartNumber><ETag>"a"</ETag></Part><Part><ETag>&#34;b&#34;</ETag><PartNumber> 12 </PartNumber></Part><PartNumberMarker>3</PartNumberMarker></X>`)
	got := string(mapPartETags(body, func(n int, v string) string { return fmt.Sprintf("%s%d", v, n) }))
	if want := `<X><Part><PartNumber>7</PartNumber><ETag>"a7"</ETag></Part><Part><ETag>&#34;b12&#34;</ETag><PartNumber> 12 </PartNumber></Part><PartNumberMarker>3</PartNumberMarker></X>`; got != want {
		t.Errorf("mapPartETags:\n%s\nwant\n%s", got, want)
	}
}

func TestCompositeCRC32(t *testing.T) {
	// The check value of CRC-32/ISO-HDLC, big-endian, base64.
	if got := crc32B64(crc32.ChecksumIEEE([]byte("123456789"))); got != "y/Q5Jg==" {
		t.Fatalf("crc32B64: %s", got)
	}
	e := newEmulation(CRC32ForCRC32C)
	parts := [][]byte{[]byte("hello "), []byte("composite "), []byte("world")}
	var raw []byte
	var listed []xmlPart
	for i, b := range parts {
		c := crc32.ChecksumIEEE(b)
		raw = binary.BigEndian.AppendUint32(raw, c)
		e.crcParts[partKeyETag(fmt.Sprintf("U/%d", i+1), md5Hex(b))] = c
		listed = append(listed, xmlPart{Number: i + 1, ETag: `"` + md5Hex(b) + `"`})
	}
	want := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(raw))) + "-3"
	if got, ok := e.compositeCRC("U", listed); !ok || got != want {
		t.Fatalf("composite %s %v, want %s", got, ok, want)
	}
	if got, _ := e.compositeCRC("U", []xmlPart{listed[1], listed[0], listed[2]}); got == want {
		t.Fatal("the composite does not depend on the parts' order")
	}
	if _, ok := e.compositeCRC("U", append(listed, xmlPart{Number: 4, ETag: `"x"`})); ok {
		t.Fatal("a composite over a part the proxy never saw")
	}
	if got := crc32.ChecksumIEEE(bytes.Join(parts, nil)); crc32B64(got)+"-3" == want {
		t.Fatal("the composite is the whole object's CRC32")
	}
}

func TestCRC32ForCRC32C(t *testing.T) {
	b := newS3Backend(t)
	p := newStoreProxy(t, b, CRC32ForCRC32C)
	part1, part2 := []byte("first part bytes"), []byte("second part, sent aws-chunked")
	ieee := func(b []byte) string { return crc32B64(crc32.ChecksumIEEE(b)) }

	b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<InitiateMultipartUploadResult><UploadId>U</UploadId></InitiateMultipartUploadResult>`)
	})
	a := send(t, p, http.MethodPost, "/bucket/key?uploads", nil, map[string]string{"X-Amz-Checksum-Algorithm": "CRC32C", "X-Amz-Checksum-Type": "COMPOSITE"})
	if got := b.last(t); got.header.Get("X-Amz-Checksum-Algorithm") != "" || a.header.Get("X-Amz-Checksum-Algorithm") != "CRC32" {
		t.Errorf("Create: server got algorithm %q, client told %q", got.header.Get("X-Amz-Checksum-Algorithm"), a.header.Get("X-Amz-Checksum-Algorithm"))
	}
	b.setAnswer(nil)

	a = send(t, p, http.MethodPut, "/bucket/key?partNumber=1&uploadId=U", part1, map[string]string{
		"X-Amz-Checksum-Crc32c": crc32cB64(part1), "X-Amz-Sdk-Checksum-Algorithm": "CRC32C",
	})
	mustStatus(t, a, 200, "")
	if got := b.last(t); got.header.Get("X-Amz-Checksum-Crc32c") != "" {
		t.Error("the server received the CRC32C")
	}
	if cs := a.checksums(); a.header.Get("X-Amz-Checksum-Crc32") != ieee(part1) || len(cs) != 1 {
		t.Errorf("UploadPart answer: crc32 %q (want %s), checksums %v", a.header.Get("X-Amz-Checksum-Crc32"), ieee(part1), cs)
	}
	a = send(t, p, http.MethodPut, "/bucket/key?partNumber=2&uploadId=U", chunked(part2, crc32cB64(part2)), chunkedHeaders(len(part2)))
	mustStatus(t, a, 200, "")
	b.last(t)
	if a.header.Get("X-Amz-Checksum-Crc32") != ieee(part2) {
		t.Errorf("chunked part: crc32 %q, want %s of the payload", a.header.Get("X-Amz-Checksum-Crc32"), ieee(part2))
	}

	b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, `<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>&#34;%s&#34;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&#34;%s&#34;</ETag></Part></ListPartsResult>`, md5Hex(part1), md5Hex(part2))
	})
	a = send(t, p, http.MethodGet, "/bucket/key?uploadId=U", nil, nil)
	b.last(t)
	for _, want := range []string{"<ChecksumCRC32>" + ieee(part1) + "</ChecksumCRC32></Part>", "<ChecksumCRC32>" + ieee(part2) + "</ChecksumCRC32></Part>", "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm>"} {
		if !bytes.Contains(a.body, []byte(want)) {
			t.Errorf("ListParts lacks %s: %s", want, a.body)
		}
	}

	const objectETag = `"0123456789abcdef0123456789abcdef-2"`
	b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<CompleteMultipartUploadResult><ETag>&#34;0123456789abcdef0123456789abcdef-2&#34;</ETag></CompleteMultipartUploadResult>`)
	})
	complete := fmt.Sprintf(`<CompleteMultipartUpload><Part><ChecksumCRC32C>x</ChecksumCRC32C><ETag>&#34;%s&#34;</ETag><PartNumber>1</PartNumber></Part><Part><ETag>&#34;%s&#34;</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>`, md5Hex(part1), md5Hex(part2))
	a = send(t, p, http.MethodPost, "/bucket/key?uploadId=U", []byte(complete), nil)
	if got := b.last(t); bytes.Contains(got.body, []byte("Checksum")) {
		t.Errorf("the server received %s", got.body)
	}
	raw := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(part1)), crc32.ChecksumIEEE(part2))
	composite := crc32B64(crc32.ChecksumIEEE(raw)) + "-2"
	if !bytes.Contains(a.body, []byte("<ChecksumCRC32>"+composite+"</ChecksumCRC32><ChecksumType>COMPOSITE</ChecksumType>")) {
		t.Errorf("Complete answer, want composite %s: %s", composite, a.body)
	}

	head := func(hdr map[string]string, etag string) answer {
		b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) { w.Header().Set("ETag", etag) })
		a := send(t, p, http.MethodHead, "/bucket/key", nil, hdr)
		b.last(t)
		return a
	}
	a = head(map[string]string{"X-Amz-Checksum-Mode": "ENABLED"}, objectETag)
	if a.header.Get("X-Amz-Checksum-Crc32") != composite || a.header.Get("X-Amz-Checksum-Type") != "COMPOSITE" {
		t.Errorf("HEAD: %v", a.header)
	}
	if a = head(nil, objectETag); len(a.checksums()) != 0 {
		t.Errorf("HEAD without checksum mode shows %v", a.checksums())
	}
	if a = head(map[string]string{"X-Amz-Checksum-Mode": "ENABLED", "Range": "bytes=0-1"}, objectETag); len(a.checksums()) != 0 {
		t.Errorf("a ranged read shows %v", a.checksums())
	}
	if a = head(map[string]string{"X-Amz-Checksum-Mode": "ENABLED"}, `"ffffffffffffffffffffffffffffffff"`); len(a.checksums()) != 0 {
		t.Errorf("an object overwritten behind the proxy shows %v", a.checksums())
	}

	// A single PutObject: the CRC32 of its bytes, FULL_OBJECT.
	b.setAnswer(nil)
	obj := []byte("a small object")
	a = send(t, p, http.MethodPut, "/bucket/small", obj, map[string]string{"X-Amz-Checksum-Crc32c": crc32cB64(obj)})
	b.last(t)
	if a.header.Get("X-Amz-Checksum-Crc32") != ieee(obj) || a.header.Get("X-Amz-Checksum-Type") != "FULL_OBJECT" {
		t.Errorf("PutObject answer: %v", a.header)
	}
	if a = head(map[string]string{"X-Amz-Checksum-Mode": "ENABLED"}, `"`+md5Hex(obj)+`"`); a.header.Get("X-Amz-Checksum-Crc32") != "" {
		t.Errorf("HEAD of /bucket/key after the PutObject of /bucket/small: %v", a.header)
	}
	b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) {
		w.Header().Set("ETag", `"`+md5Hex(obj)+`"`)
	})
	a = send(t, p, http.MethodHead, "/bucket/small", nil, map[string]string{"X-Amz-Checksum-Mode": "ENABLED"})
	b.last(t)
	if a.header.Get("X-Amz-Checksum-Crc32") != ieee(obj) || a.header.Get("X-Amz-Checksum-Type") != "FULL_OBJECT" {
		t.Errorf("HEAD of the PutObject: %v", a.header)
	}
}

func TestNoListPartsNoListUploads(t *testing.T) {
	b := newS3Backend(t)
	b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) { w.Write([]byte("ok")) })
	p, err := New(b.srv.URL, Config{Store: NoListParts, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a := send(t, p, http.MethodGet, "/bucket/key?uploadId=U&max-parts=10", nil, nil)
	mustStatus(t, a, 405, "MethodNotAllowed")
	if m := a.message(t); m != "The specified method is not allowed against this resource." {
		t.Errorf("message %q", m)
	}
	if b.count() != 0 {
		t.Error("ListParts reached the server")
	}
	mustStatus(t, send(t, p, http.MethodGet, "/bucket?uploads", nil, nil), 200, "")
	mustStatus(t, send(t, p, http.MethodPut, "/bucket/key?partNumber=1&uploadId=U", []byte("x"), nil), 200, "")

	q, err := New(b.srv.URL, Config{Store: NoListUploads, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	b.count()
	a = send(t, q, http.MethodGet, "/bucket?uploads&prefix=a", nil, nil)
	mustStatus(t, a, 501, "NotImplemented")
	if m := a.message(t); m != "A header you provided implies functionality that is not implemented" || b.count() != 0 {
		t.Errorf("ListMultipartUploads: %q", m)
	}
	mustStatus(t, send(t, q, http.MethodGet, "/bucket/key?uploadId=U", nil, nil), 200, "")
	if p.Refused() != 1 || q.Refused() != 1 {
		t.Errorf("Refused %d, %d", p.Refused(), q.Refused())
	}
}

func TestUploadsNoSuchUpload(t *testing.T) {
	b := newS3Backend(t)
	p, err := New(b.srv.URL, Config{Store: UploadsNoSuchUpload, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	list := func(uploads string) answer {
		b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) {
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprintf(w, `<ListMultipartUploadsResult><Bucket>bucket</Bucket>%s<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>`, uploads)
		})
		return send(t, p, http.MethodGet, "/bucket?uploads&prefix=k", nil, nil)
	}
	a := list("")
	mustStatus(t, a, 404, "NoSuchUpload")
	if m := a.message(t); m != "The specified multipart upload does not exist." {
		t.Errorf("message %q", m)
	}
	a = list("<Upload><Key>k</Key><UploadId>U</UploadId></Upload>")
	mustStatus(t, a, 200, "")
	if !bytes.Contains(a.body, []byte("<UploadId>U</UploadId>")) {
		t.Errorf("listing with an upload: %s", a.body)
	}
	if s := p.EmulationStats(); s.AnswersChanged != 1 || s.Refused != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestNoPartReplace(t *testing.T) {
	for _, tc := range []struct {
		store  Store
		status int
		code   string
		msg    string
	}{
		{NoPartReplace, 501, "NotImplemented", "part 2 has already been streamed to the backend and cannot be replaced with different contents"},
		{NoPartReplaceOSS, 409, "PartAlreadyExist", "For sequential multipart upload, you can't overwrite uploaded parts."},
	} {
		t.Run(tc.store.String(), func(t *testing.T) {
			seed := testSeed(t)
			rng := rand.New(rand.NewPCG(seed, 11))
			b := newS3Backend(t)
			p, err := New(b.srv.URL, Config{Store: tc.store, Logf: t.Logf})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			part := "/bucket/key?partNumber=2&uploadId=U"
			first := randBody(rng, 100<<10)
			other := append([]byte(nil), first...)
			other[rng.IntN(len(other))] ^= 1

			a := send(t, p, http.MethodPut, part, first, nil)
			mustStatus(t, a, 200, "")
			etag := a.header.Get("ETag")
			b.count()
			a = send(t, p, http.MethodPut, part, first, nil)
			if a.status != 200 || a.header.Get("ETag") != etag || b.count() != 1 {
				t.Fatalf("the same bytes again: %d %s (first %s)", a.status, a.header.Get("ETag"), etag)
			}
			// The same bytes aws-chunked are the same part.
			mustStatus(t, send(t, p, http.MethodPut, part, chunked(first, crc32cB64(first)), chunkedHeaders(len(first))), 200, "")
			b.count()

			for name, body := range map[string][]byte{"one bit flipped": other, "shorter": first[:len(first)-1]} {
				a = send(t, p, http.MethodPut, part, body, nil)
				mustStatus(t, a, tc.status, tc.code)
				if m := a.message(t); m != tc.msg {
					t.Errorf("%s: message %q", name, m)
				}
				if b.count() != 0 {
					t.Errorf("%s: the replacement reached the server", name)
				}
			}
			mustStatus(t, send(t, p, http.MethodPut, part, chunked(other, crc32cB64(other)), chunkedHeaders(len(other))), tc.status, tc.code)
			// Another part, or another upload, is not a replacement.
			mustStatus(t, send(t, p, http.MethodPut, "/bucket/key?partNumber=3&uploadId=U", other, nil), 200, "")
			mustStatus(t, send(t, p, http.MethodPut, "/bucket/key?partNumber=2&uploadId=V", other, nil), 200, "")
			// A part the server did not store can be sent again with other bytes.
			b.setAnswer(func(w http.ResponseWriter, r *http.Request, payload []byte) { b.fail(w, 500, "InternalError") })
			mustStatus(t, send(t, p, http.MethodPut, "/bucket/key?partNumber=4&uploadId=U", first, nil), 500, "InternalError")
			b.setAnswer(nil)
			mustStatus(t, send(t, p, http.MethodPut, "/bucket/key?partNumber=4&uploadId=U", other, nil), 200, "")

			s := p.EmulationStats()
			if s.ReplacementsRefused != 3 || s.Refused != 3 || s.IdenticalReplacements != 2 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestTrailerNoEcho(t *testing.T) {
	b := newS3Backend(t)
	p, err := New(b.srv.URL, Config{Store: TrailerNoEcho, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	body := []byte("a part")
	raw := chunked(body, crc32cB64(body))
	a := send(t, p, http.MethodPut, "/bucket/key?partNumber=1&uploadId=U", raw, chunkedHeaders(len(body)))
	mustStatus(t, a, 200, "")
	if got := b.last(t); !bytes.Equal(got.body, raw) || got.trailers.Get("X-Amz-Checksum-Crc32c") != crc32cB64(body) {
		t.Errorf("the chunked part was not forwarded untouched: %q", got.body)
	}
	if cs := a.checksums(); len(cs) != 0 {
		t.Errorf("the chunked part's answer shows %v", cs)
	}
	a = send(t, p, http.MethodPut, "/bucket/key?partNumber=2&uploadId=U", body, map[string]string{"X-Amz-Checksum-Crc32c": crc32cB64(body)})
	b.last(t)
	if a.header.Get("X-Amz-Checksum-Crc32c") != crc32cB64(body) {
		t.Errorf("the header part's answer lost its checksum: %v", a.header)
	}
	if s := p.EmulationStats(); s.AnswersChanged != 1 || s.RequestsChanged != 0 {
		t.Errorf("stats %+v", s)
	}
}

// A part whose answer the client never got is still stored: the store
// refuses to replace it.
func TestNoPartReplaceAfterDroppedAnswer(t *testing.T) {
	b := newS3Backend(t)
	p, err := New(b.srv.URL, Config{Seed: 1, Store: NoPartReplace, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	part := "/bucket/key?partNumber=1&uploadId=U"
	p.FailNext(DropResponse)
	req, _ := http.NewRequest(http.MethodPut, p.URL()+part, bytes.NewReader([]byte("first")))
	clientSign(t, req, shaHex([]byte("first")), testSecret, time.Now())
	if resp, err := newClient(t).Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("DropResponse: got an answer, %d", resp.StatusCode)
	}
	b.last(t)
	mustStatus(t, send(t, p, http.MethodPut, part, []byte("other"), nil), 501, "NotImplemented")
	mustStatus(t, send(t, p, http.MethodPut, part, []byte("first"), nil), 200, "")
}
