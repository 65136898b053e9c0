package faultproxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Store selects the behaviour of an S3-compatible store that the tests
// cannot run, emulated on top of the real server from that store's
// documentation and public issue trackers. The proxy answers as the store
// does where it differs from the server behind it; everything else is the
// server's own answer.
type Store int

const (
	// AsServer: no emulation.
	AsServer Store = iota
	// B2 is Backblaze B2, which refuses the flexible-checksum headers: 400
	// InvalidArgument "Unsupported header 'x-amz-checksum-crc32' received for
	// this API call." (also for x-amz-sdk-checksum-algorithm and, on
	// CreateMultipartUpload, x-amz-checksum-algorithm). Sources:
	// stonith404/pingvin-share#798, nocobase/nocobase#6872,
	// iterate-ch/cyberduck#16107, boto/s3transfer#327.
	B2
	// R2Early is Cloudflare R2 as of January 2025: 501 NotImplemented
	// "Header 'x-amz-checksum-algorithm' with value 'CRC32' not implemented"
	// for any flexible-checksum header. Sources: aws/aws-sdk-js-v3#6810,
	// thephpleague/flysystem#1845.
	R2Early
	// COS is Tencent COS: flexible checksums accepted, ignored and never
	// shown; every UploadPart, PutObject, CompleteMultipartUpload, HEAD and
	// GET answer carries x-cos-hash-crc64ecma, the CRC-64/ECMA of the part or
	// object (tencentcloud.com/document/product/436/34078); the multipart
	// ETag is not MD5-based (…/436/32467); aws-chunked trailers are refused
	// (infiniflow/ragflow#15930).
	COS
	// OSS is Alibaba OSS: like COS, with x-oss-hash-crc64ecma, and
	// aws-chunked refused with InvalidArgument "aws-chunked encoding is not
	// supported with the specified x-amz-content-sha256 value."
	// (pingcap/tidb#65840).
	OSS
	// GCS is Google Cloud Storage's XML API: an UploadPart or PutObject with
	// x-amz-checksum-* fails with SignatureDoesNotMatch (qdrant/qdrant#9568),
	// a CompleteMultipartUpload naming part checksums with 412
	// PreconditionFailed (langfuse/langfuse#13280); its front end rewrites
	// Accept-Encoding, so a request that signed it fails with
	// SignatureDoesNotMatch (aws/aws-sdk-go-v2#1816); ETags are not MD5-based
	// and objects carry x-goog-hash with their CRC32C (and MD5 for objects
	// not made of parts) (cloud.google.com/storage/docs/xml-api).
	GCS

	// The stores below (VerificationStores) are the ways a store can leave
	// a client less to verify with, or refuse what a verifying or resuming
	// client does. Those that change a request the client signed re-sign
	// it, and need Config.Credentials (see NeedsCredentials).

	// LaxChecksums takes the flexible checksums and checks none: every
	// x-amz-checksum-* and x-amz-sdk-checksum-algorithm header of
	// CreateMultipartUpload, UploadPart, PutObject and
	// CompleteMultipartUpload is dropped (an aws-chunked body whose trailer
	// carries the checksum is forwarded decoded, the trailer dropped), and so
	// are the <Checksum…> elements of the Complete body; no answer shows a
	// checksum (no x-amz-checksum-* header, no <Checksum…>, <ChecksumType>
	// or <ChecksumAlgorithm> element). ETags stay the server's, MD5-based,
	// and Content-MD5 and the payload hash still reach the server, which
	// checks them: a wrong x-amz-checksum-crc32c is accepted, a wrong
	// Content-MD5 is not. Seen so: Huawei OBS, Alibaba OSS, Tencent COS and
	// GCS's S3 API ignore x-amz-checksum-algorithm silently
	// (milvus-io/milvus-storage#454); chimera-nas/chimera#1385 and
	// ministackorg/ministack#1497 neither verify nor return them;
	// scality/cloudserver#5757 reads trailing checksums and ignores them.
	LaxChecksums
	// IgnoresMD5 checks neither Content-MD5 nor the SigV4 payload hash: of
	// UploadPart, PutObject and CompleteMultipartUpload it drops Content-MD5
	// and turns a hex x-amz-content-sha256 into UNSIGNED-PAYLOAD. Flexible
	// checksums pass and the server checks them. Other requests are left
	// alone, so what the server requires of them (DeleteObjects' Content-MD5)
	// still holds. Seen so: chimera-nas/chimera#474 (Content-MD5 never
	// compared) and #491 (the body never hashed against
	// x-amz-content-sha256); MinIO before 2016 (minio/minio#1603).
	IgnoresMD5
	// ChecksNothing is LaxChecksums and IgnoresMD5 together: any checksum,
	// Content-MD5 or payload hash is accepted and no checksum is shown. ETags
	// are still the server's MD5s, the one thing left to verify with.
	// Seen so: chimera-nas/chimera (#1385, #474 and #491 at once).
	ChecksNothing
	// Blind is ChecksNothing with opaque ETags: every part and object ETag
	// the client sees (UploadPart, PutObject, CopyObject, HEAD and GET
	// headers; ListParts, ListObjects, Complete and Copy results) is 32
	// random-looking hex digits, the same each time for the same part or
	// object, unrelated to the bytes. The part ETags of a Complete body are
	// turned back into the server's; any other ETag there (the client's own
	// MD5) reaches the server as garbage and fails with InvalidPart, as on
	// the store. Conditional headers (If-Match) are not translated: the
	// engine sends none. Only sizes are left to verify with.
	// Seen so: chimera-nas/chimera#480 (part ETags an XXH3 of metadata) and
	// #469 (object ETags likewise); AWS itself for SSE-C and SSE-KMS objects,
	// whose ETags are not MD5s (minio/minio#17214 quotes the rule).
	Blind
	// NoListParts has no ListParts: GET ?uploadId answers 405
	// MethodNotAllowed "The specified method is not allowed against this
	// resource." (S3's own words for a method an upload resource does not
	// take, versity/versitygw#1236). Seen without ListParts:
	// floci-io/floci#47, Robothy/local-s3#66.
	NoListParts
	// NoListUploads has no ListMultipartUploads: GET ?uploads answers 501
	// NotImplemented "A header you provided implies functionality that is
	// not implemented". Seen so: gaul/s3proxy#152, wpnpeiris/nats-s3#61,
	// brekkylab/backlot#169 (501 on every bucket listing by Cyberduck),
	// leo-project/leofs#381, treeverse/lakeFS#8563 (Azure, GCS adapters).
	NoListUploads
	// UploadsNoSuchUpload answers a ListMultipartUploads that lists no
	// upload (the server's answer has no <Upload>) with 404 NoSuchUpload
	// "The specified multipart upload does not exist." instead; with
	// uploads, the server's answer passes. Seen so: gofakes3 (rclone serve
	// s3) answers ErrNoSuchUpload for a bucket that never had an upload
	// (its uploader.List).
	UploadsNoSuchUpload
	// NoPartReplace is rclone serve s3 streaming multipart uploads to its
	// backend: once part N is stored, an UploadPart of N with other bytes
	// (MD5 or size) is refused with 501 NotImplemented "part N has already
	// been streamed to the backend and cannot be replaced with different
	// contents"; the same bytes again are accepted (the server answers, with
	// the same ETag). Only such re-uploads are buffered, to compare them.
	// Source: rclone cmd/serve/s3 multipart streaming (streamPart).
	NoPartReplace
	// NoPartReplaceOSS is the same rule with Alibaba OSS's answer for
	// sequential uploads: 409 PartAlreadyExist "For sequential multipart
	// upload, you can't overwrite uploaded parts." (seen in alist-org/alist
	// discussion #4309).
	NoPartReplaceOSS
	// CRC32ForCRC32C computes CRC32 (IEEE) whatever algorithm was asked:
	// the checksum headers of Create, UploadPart, PutObject and Complete are
	// dropped (as LaxChecksums does) so the server keeps none, and the
	// answers carry the proxy's own CRC32 of the bytes it forwarded:
	// UploadPart and PutObject answer x-amz-checksum-crc32 (PutObject with
	// x-amz-checksum-type FULL_OBJECT), a Create that asked for an algorithm
	// answers x-amz-checksum-algorithm CRC32 and type COMPOSITE, ListParts
	// shows <ChecksumCRC32> for each part it saw and <ChecksumAlgorithm>CRC32,
	// Complete answers <ChecksumCRC32> COMPOSITE (the CRC32 of the parts'
	// big-endian CRC32s, then -N) with <ChecksumType>COMPOSITE, and HEAD or
	// GET of the whole object shows x-amz-checksum-crc32 and -type, but only
	// with x-amz-checksum-mode: ENABLED, as S3 does (a client that does not
	// ask is not told; ranged and partNumber reads show none), and only
	// while the server's ETag is the one the proxy saw made. No store is
	// known to do exactly this: it is the worst case of a store that does
	// checksums, but not the one asked for, and says so only in the
	// header's name (milvus-io/milvus-storage#454 lists stores ignoring the
	// algorithm).
	CRC32ForCRC32C
	// TrailerNoEcho takes aws-chunked bodies with a trailing checksum (the
	// server checks them) but leaves the checksum out of the UploadPart
	// answer when the part came aws-chunked; a part with the checksum in a
	// header is answered with it, as the server does. Seen so: versitygw
	// v1.8.0 (one of the servers these tests run) answers an aws-chunked
	// part without its trailer's checksum when the part also carries
	// Content-MD5; scality/cloudserver#5757 reads trailing checksums without
	// returning them; chimera-nas/chimera#1385 drains trailers unread.
	TrailerNoEcho
)

var storeNames = [...]string{
	AsServer: "server", B2: "b2", R2Early: "r2-2025", COS: "cos", OSS: "oss", GCS: "gcs",
	LaxChecksums: "lax-checksums", IgnoresMD5: "ignores-md5", ChecksNothing: "checks-nothing", Blind: "blind",
	NoListParts: "no-list-parts", NoListUploads: "no-list-uploads", UploadsNoSuchUpload: "uploads-no-such-upload",
	NoPartReplace: "no-part-replace", NoPartReplaceOSS: "no-part-replace-oss", CRC32ForCRC32C: "crc32-for-crc32c",
	TrailerNoEcho: "trailer-no-echo",
}

func (s Store) String() string {
	if s >= 0 && int(s) < len(storeNames) {
		return storeNames[s]
	}
	return "Store(" + strconv.Itoa(int(s)) + ")"
}

// Stores lists the emulated stores that refuse or hide flexible checksums
// and report a native digest instead.
var Stores = []Store{B2, R2Early, COS, OSS, GCS}

// VerificationStores lists the stores that leave a client less to verify
// with (checksums accepted unchecked or not shown, opaque ETags, the wrong
// CRC) or refuse what a verifying, resuming client does (ListParts,
// ListMultipartUploads, replacing a part).
var VerificationStores = []Store{
	LaxChecksums, IgnoresMD5, ChecksNothing, Blind,
	NoListParts, NoListUploads, UploadsNoSuchUpload,
	NoPartReplace, NoPartReplaceOSS, CRC32ForCRC32C, TrailerNoEcho,
}

func (s Store) valid() bool { return s >= 0 && int(s) < len(storeNames) }

var (
	crc64Table  = crc64.MakeTable(crc64.ECMA)
	crc32cTable = crc32.MakeTable(crc32.Castagnoli)
)

// emulation is the state a Store emulation keeps: the native digests of
// every part and object that went through the proxy.
type emulation struct {
	store Store
	creds *Credentials

	refused               atomic.Int64
	unsignable            atomic.Int64
	requestsChanged       atomic.Int64
	resigned              atomic.Int64
	answersChanged        atomic.Int64
	replacementsRefused   atomic.Int64
	identicalReplacements atomic.Int64

	mu      sync.Mutex
	parts   map[string]digests // uploadId/partNumber/etag
	objects map[string]digests // bucket/key

	stored     map[string]storedPart // NoPartReplace: uploadId/partNumber
	crcParts   map[string]uint32     // CRC32ForCRC32C: uploadId/partNumber/etag
	crcObjects map[string]crcObject  // CRC32ForCRC32C: bucket/key
	opaque     map[string]string     // Blind: uploadId/partNumber/opaque -> the server's ETag, when not hex
}

type digests struct {
	size   int64
	crc64  uint64
	crc32c uint32
	md5    []byte // single PUT only
}

func newEmulation(s Store) *emulation {
	if s == AsServer {
		return nil
	}
	return &emulation{
		store: s, parts: map[string]digests{}, objects: map[string]digests{},
		stored: map[string]storedPart{}, crcParts: map[string]uint32{}, crcObjects: map[string]crcObject{},
		opaque: map[string]string{},
	}
}

// Refused returns how many requests the emulation answered itself with an
// error instead of forwarding them (0 without an emulation): for B2, R2,
// COS, OSS and GCS the requests refused for a checksum header or trailer.
func (p *Proxy) Refused() int64 {
	if p.emu == nil {
		return 0
	}
	return p.emu.refused.Load()
}

// EmulationStats counts what the Store emulation did; all zero without one.
type EmulationStats struct {
	// Refused is Proxy.Refused: requests answered with the store's error
	// instead of being forwarded.
	Refused int64
	// Unsignable counts, among Refused, the requests an emulation had to
	// change and could not re-sign (500 InternalError naming the store):
	// signed-chunk streams (STREAMING-AWS4-HMAC-SHA256-PAYLOAD…).
	Unsignable int64
	// RequestsChanged counts requests forwarded with headers or body
	// changed by the emulation; Resigned those of them re-signed.
	RequestsChanged int64
	Resigned        int64
	// AnswersChanged counts server answers whose status, headers or body
	// the emulation changed (checksums removed or added, ETags made
	// opaque, an empty upload listing turned into NoSuchUpload).
	AnswersChanged int64
	// ReplacementsRefused (NoPartReplace, NoPartReplaceOSS) counts
	// UploadParts refused for replacing a stored part with other bytes
	// (they are in Refused too); IdenticalReplacements the re-uploads of a
	// stored part with its bytes, forwarded.
	ReplacementsRefused   int64
	IdenticalReplacements int64
}

// EmulationStats returns the emulation's counters.
func (p *Proxy) EmulationStats() EmulationStats {
	e := p.emu
	if e == nil {
		return EmulationStats{}
	}
	return EmulationStats{
		Refused:               e.refused.Load(),
		Unsignable:            e.unsignable.Load(),
		RequestsChanged:       e.requestsChanged.Load(),
		Resigned:              e.resigned.Load(),
		AnswersChanged:        e.answersChanged.Load(),
		ReplacementsRefused:   e.replacementsRefused.Load(),
		IdenticalReplacements: e.identicalReplacements.Load(),
	}
}

func (e *emulation) nativeHeader() string {
	switch e.store {
	case COS:
		return "x-cos-hash-crc64ecma"
	case OSS:
		return "x-oss-hash-crc64ecma"
	}
	return ""
}

// checksumHeader returns the first flexible-checksum header r carries.
func checksumHeader(r *http.Request) string {
	for name := range r.Header {
		l := strings.ToLower(name)
		if strings.HasPrefix(l, "x-amz-checksum-") || l == "x-amz-sdk-checksum-algorithm" {
			return l
		}
	}
	if t := r.Header.Get("X-Amz-Trailer"); strings.HasPrefix(strings.ToLower(t), "x-amz-checksum-") {
		return strings.ToLower(t)
	}
	return ""
}

func isCreate(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Query().Has("uploads")
}

func isComplete(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Query().Has("uploadId")
}

func isPutObject(r *http.Request) bool {
	q := r.URL.Query()
	return r.Method == http.MethodPut && !q.Has("uploadId") && !q.Has("partNumber") && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
}

// objectPath is bucket/key of a path-style request.
func objectPath(r *http.Request) string { return strings.TrimPrefix(r.URL.Path, "/") }

type emuKey struct{}

// requestState is what the emulation learned from a request for its answer.
type requestState struct {
	partKey   string      // UploadPart: uploadId/partNumber
	objectKey string      // PutObject, Complete, HEAD, GET: bucket/key
	complete  []xmlPart   // Complete: the parts named
	hashes    *bodyHashes // UploadPart, PutObject: the body's digests
	encoding  string      // GCS: the Accept-Encoding the client sent, before the rewrite

	// verification stores
	tee            io.Writer   // digests the body as forwarded (after any fault)
	dechunk        bool        // forward the payload of the aws-chunked body, not the body
	listUploads    bool        // UploadsNoSuchUpload: a ListMultipartUploads
	noEcho         bool        // TrailerNoEcho: an aws-chunked UploadPart
	askedAlgorithm bool        // CRC32ForCRC32C: the Create named an algorithm
	sum            *sumWriter  // NoPartReplace: the part's MD5 and size
	crc            hash.Hash32 // CRC32ForCRC32C: the body's CRC32
}

type xmlPart struct {
	Number int    `xml:"PartNumber"`
	ETag   string `xml:"ETag"`
	Sums   []struct {
		XMLName xml.Name
	} `xml:",any"`
}

type bodyHashes struct {
	n      int64
	crc64  hash.Hash64
	crc32c hash.Hash32
	md5    hash.Hash
}

func (b *bodyHashes) Write(p []byte) (int, error) {
	b.n += int64(len(p))
	b.crc64.Write(p)
	b.crc32c.Write(p)
	b.md5.Write(p)
	return len(p), nil
}

// request refuses what the store refuses (answering w and returning nil),
// or returns the request to forward, carrying what the answer needs.
func (p *Proxy) emuRequest(w http.ResponseWriter, r *http.Request) *http.Request {
	e := p.emu
	if e.store.verification() {
		return p.verifyRequest(w, r)
	}
	hdr := checksumHeader(r)
	aws := strings.Contains(strings.ToLower(r.Header.Get("Content-Encoding")), "aws-chunked") ||
		strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-")
	switch {
	case (e.store == B2) && hdr != "":
		e.refused.Add(1)
		p.s3Error(w, r, http.StatusBadRequest, "InvalidArgument", fmt.Sprintf("Unsupported header '%s' received for this API call.", hdr))
		return nil
	case e.store == R2Early && hdr != "":
		e.refused.Add(1)
		p.s3Error(w, r, http.StatusNotImplemented, "NotImplemented", fmt.Sprintf("Header '%s' with value '%s' not implemented", hdr, r.Header.Get(hdr)))
		return nil
	case (e.store == COS || e.store == OSS) && aws:
		e.refused.Add(1)
		p.s3Error(w, r, http.StatusBadRequest, "InvalidArgument", "aws-chunked encoding is not supported with the specified x-amz-content-sha256 value.")
		return nil
	case e.store == GCS && hdr != "" && (IsUploadPart(r) || isPutObject(r)):
		e.refused.Add(1)
		p.s3Error(w, r, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your Google secret key and signing method.")
		return nil
	}
	st := &requestState{objectKey: objectPath(r)}
	if e.store == GCS {
		// The front end rewrites Accept-Encoding: a signature that covered it
		// no longer matches.
		if ae := r.Header.Get("Accept-Encoding"); ae != "" {
			st.encoding = ae
			r.Header.Set("Accept-Encoding", "gzip,deflate,br")
			e.requestsChanged.Add(1)
		}
	}
	switch {
	case IsUploadPart(r):
		q := r.URL.Query()
		st.partKey = q.Get("uploadId") + "/" + q.Get("partNumber")
		st.hashes = newBodyHashes()
	case isPutObject(r):
		st.hashes = newBodyHashes()
	case isComplete(r):
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var doc struct {
			Parts []xmlPart `xml:"Part"`
		}
		xml.Unmarshal(body, &doc)
		st.complete = doc.Parts
		if e.store == GCS {
			for _, pt := range doc.Parts {
				for _, s := range pt.Sums {
					if strings.HasPrefix(s.XMLName.Local, "Checksum") {
						e.refused.Add(1)
						p.s3Error(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
						return nil
					}
				}
			}
		}
	}
	return r.WithContext(context.WithValue(r.Context(), emuKey{}, st))
}

func newBodyHashes() *bodyHashes {
	return &bodyHashes{crc64: crc64.New(crc64Table), crc32c: crc32.New(crc32cTable), md5: md5.New()}
}

// partKeyETag names a stored part by its upload, number and ETag.
func partKeyETag(partKey, etag string) string { return partKey + "/" + strings.Trim(etag, `"`) }

var (
	checksumXML     = regexp.MustCompile(`<Checksum[A-Za-z0-9]*>[^<]*</Checksum[A-Za-z0-9]*>`)
	etagXML         = regexp.MustCompile(`<ETag>([^<]*)</ETag>`)
	multipartETagRe = regexp.MustCompile(`^"?[0-9a-fA-F]{32}-([0-9]+)"?$`)
)

// opaqueETag is the ETag the store shows for a multipart object: not
// md5-of-md5s, but shaped like one (the worst case for a client that
// assumes).
func opaqueETag(etag string) string {
	m := multipartETagRe.FindStringSubmatch(strings.ReplaceAll(etag, "&#34;", `"`))
	if m == nil {
		return etag
	}
	sum := sha256.Sum256([]byte(etag))
	return `"` + hex.EncodeToString(sum[:16]) + "-" + m[1] + `"`
}

// emuResponse rewrites the server's answer as the store would give it.
func (p *Proxy) emuResponse(res *http.Response) error {
	e := p.emu
	st, _ := res.Request.Context().Value(emuKey{}).(*requestState)
	if st == nil {
		return nil
	}
	if e.store.verification() {
		return p.verifyResponse(res, st)
	}
	before, bodyChanged := fmt.Sprint(res.Header), false
	defer func() {
		if bodyChanged || fmt.Sprint(res.Header) != before {
			e.answersChanged.Add(1)
		}
	}()
	if e.store == GCS && strings.EqualFold(res.Header.Get("Content-Encoding"), "gzip") && !strings.Contains(st.encoding, "gzip") {
		// The front end answers in the encoding the client asked for.
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(zr)
		res.Body.Close()
		if err != nil {
			return err
		}
		res.Header.Del("Content-Encoding")
		setBody(res, body)
		bodyChanged = true
	}
	// These stores never show flexible checksums.
	for name := range res.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-checksum-") {
			res.Header.Del(name)
		}
	}
	ok := res.StatusCode == http.StatusOK
	switch {
	case st.hashes != nil && ok && st.partKey != "":
		d := st.hashes.digests(false)
		e.mu.Lock()
		e.parts[partKeyETag(st.partKey, res.Header.Get("ETag"))] = d
		e.mu.Unlock()
		e.setNative(res.Header, d, false)
	case st.hashes != nil && ok:
		d := st.hashes.digests(true)
		e.mu.Lock()
		e.objects[st.objectKey] = d
		e.mu.Unlock()
		e.setNative(res.Header, d, true)
	case st.complete != nil && ok:
		body, err := readBody(res)
		if err != nil {
			return err
		}
		if bytes.Contains(body, []byte("<CompleteMultipartUploadResult")) {
			if d, ok := e.combine(res.Request.URL.Query().Get("uploadId"), st.complete); ok {
				e.mu.Lock()
				e.objects[st.objectKey] = d
				e.mu.Unlock()
				e.setNative(res.Header, d, false)
			}
		}
		nb := e.rewriteXML(body)
		bodyChanged = bodyChanged || !bytes.Equal(nb, body)
		setBody(res, nb)
		return nil
	case (res.Request.Method == http.MethodHead || res.Request.Method == http.MethodGet) && ok:
		e.mu.Lock()
		d, known := e.objects[st.objectKey]
		e.mu.Unlock()
		if known {
			e.setNative(res.Header, d, d.md5 != nil)
		}
	}
	if etag := res.Header.Get("ETag"); etag != "" && e.opaqueETags() {
		res.Header.Set("ETag", opaqueETag(etag))
	}
	if strings.Contains(res.Header.Get("Content-Type"), "xml") && res.Request.Method != http.MethodHead {
		body, err := readBody(res)
		if err != nil {
			return err
		}
		nb := e.rewriteXML(body)
		bodyChanged = bodyChanged || !bytes.Equal(nb, body)
		setBody(res, nb)
	}
	return nil
}

func (e *emulation) opaqueETags() bool { return e.store == COS || e.store == OSS || e.store == GCS }

// rewriteXML removes checksums from an XML answer and makes multipart
// ETags opaque, as the store shows them.
func (e *emulation) rewriteXML(body []byte) []byte {
	body = checksumXML.ReplaceAll(body, nil)
	body = bytes.ReplaceAll(body, []byte("<ChecksumType>COMPOSITE</ChecksumType>"), nil)
	body = bytes.ReplaceAll(body, []byte("<ChecksumType>FULL_OBJECT</ChecksumType>"), nil)
	if e.opaqueETags() {
		body = etagXML.ReplaceAllFunc(body, func(m []byte) []byte {
			inner := string(etagXML.FindSubmatch(m)[1])
			quoted := strings.ReplaceAll(strings.ReplaceAll(inner, "&#34;", `"`), "&quot;", `"`)
			o := opaqueETag(quoted)
			if o == quoted {
				return m
			}
			return []byte("<ETag>" + strings.ReplaceAll(o, `"`, "&#34;") + "</ETag>")
		})
	}
	return body
}

// setNative adds the store's own digest headers to an answer.
func (e *emulation) setNative(h http.Header, d digests, single bool) {
	if name := e.nativeHeader(); name != "" {
		h.Set(name, strconv.FormatUint(d.crc64, 10))
	}
	if e.store == GCS {
		v := "crc32c=" + base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, d.crc32c))
		if single && d.md5 != nil {
			v += ",md5=" + base64.StdEncoding.EncodeToString(d.md5)
		}
		h.Set("x-goog-hash", v)
	}
}

// combine returns the digests of the object Complete made of parts.
func (e *emulation) combine(uploadID string, parts []xmlPart) (digests, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out digests
	for i, pt := range parts {
		d, ok := e.parts[partKeyETag(uploadID+"/"+strconv.Itoa(pt.Number), pt.ETag)]
		if !ok {
			return digests{}, false
		}
		if i == 0 {
			out = d
			continue
		}
		out.crc64 = combineCRC(64, crc64.ECMA, out.crc64, d.crc64, d.size)
		out.crc32c = uint32(combineCRC(32, crc32.Castagnoli, uint64(out.crc32c), uint64(d.crc32c), d.size))
		out.size += d.size
	}
	return out, true
}

func (b *bodyHashes) digests(single bool) digests {
	d := digests{size: b.n, crc64: b.crc64.Sum64(), crc32c: b.crc32c.Sum32()}
	if single {
		d.md5 = b.md5.Sum(nil)
	}
	return d
}

func readBody(res *http.Response) ([]byte, error) {
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	return b, err
}

func setBody(res *http.Response, b []byte) {
	res.Body = io.NopCloser(bytes.NewReader(b))
	res.ContentLength = int64(len(b))
	res.Header.Set("Content-Length", strconv.Itoa(len(b)))
}

// combineCRC is zlib's crc32_combine for reflected CRCs of width bits with
// init and final xor all ones (Go's hash/crc32 and hash/crc64): the CRC of
// A‖B from crc(A), crc(B) and len(B). Written here again, independently of
// s3up's, so the emulation does not trust the code it tests.
func combineCRC(width int, poly, crcA, crcB uint64, lenB int64) uint64 {
	if lenB <= 0 {
		return crcA
	}
	// Apply lenB zero bytes to crcA bit by bit through the register (slow,
	// obviously right), then xor crcB.
	mask := uint64(1)<<width - 1
	if width == 64 {
		mask = ^uint64(0)
	}
	reg := crcA ^ mask // undo the final xor
	for i := int64(0); i < lenB*8; i++ {
		if reg&1 != 0 {
			reg = reg>>1 ^ poly
		} else {
			reg >>= 1
		}
	}
	// Feeding zeros with init all ones is the same as shifting the register
	// and re-applying the final xor; crc(B) already includes its own init.
	return (reg ^ mask) ^ crcB ^ zerosCRC(width, poly, lenB)
}

// zerosCRC is the CRC of lenB zero bytes with an initial register of zero,
// the correction term of combineCRC.
func zerosCRC(width int, poly uint64, n int64) uint64 {
	mask := uint64(1)<<width - 1
	if width == 64 {
		mask = ^uint64(0)
	}
	reg := mask
	for i := int64(0); i < n*8; i++ {
		if reg&1 != 0 {
			reg = reg>>1 ^ poly
		} else {
			reg >>= 1
		}
	}
	return reg ^ mask
}
