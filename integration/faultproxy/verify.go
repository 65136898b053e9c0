package faultproxy

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// This file holds the stores of VerificationStores: what they change in
// requests and answers, and what they remember to do so.

func (s Store) verification() bool { return s >= LaxChecksums && int(s) < len(storeNames) }

// stripsChecksums: the store takes flexible checksums and keeps none.
func (s Store) stripsChecksums() bool {
	return s == LaxChecksums || s == ChecksNothing || s == Blind || s == CRC32ForCRC32C
}

// ignoresMD5: the store checks neither Content-MD5 nor the payload hash.
func (s Store) ignoresMD5() bool { return s == IgnoresMD5 || s == ChecksNothing || s == Blind }

func (s Store) noPartReplace() bool { return s == NoPartReplace || s == NoPartReplaceOSS }

// NeedsCredentials reports whether the emulation changes signed requests,
// and so needs Config.Credentials to re-sign them.
func (s Store) NeedsCredentials() bool { return s.stripsChecksums() || s.ignoresMD5() }

// storedPart is what NoPartReplace knows of a part the server stored.
type storedPart struct {
	md5  [md5.Size]byte
	size int64
}

// crcObject is the CRC32 CRC32ForCRC32C shows for an object, as long as
// the server's ETag for the key is still etag.
type crcObject struct {
	etag  string
	value string
	typ   string
}

// sumWriter digests a part as it goes to the server.
type sumWriter struct {
	h hash.Hash
	n int64
}

func (s *sumWriter) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	return s.h.Write(p)
}

// maxCompleteBody bounds a CompleteMultipartUpload body the proxy reads: 10,000
// parts with every checksum come to about 3 MiB.
const maxCompleteBody = 16 << 20

// verifyRequest is emuRequest for the verification stores: it refuses
// what the store refuses (answering w and returning nil), or changes and
// re-signs what the store would change, and returns the request to forward.
func (p *Proxy) verifyRequest(w http.ResponseWriter, r *http.Request) *http.Request {
	e := p.emu
	q := r.URL.Query()
	st := &requestState{objectKey: objectPath(r)}
	part := IsUploadPart(r)
	if part {
		st.partKey = q.Get("uploadId") + "/" + q.Get("partNumber")
	}
	upload := (part || isPutObject(r)) && !isCopy(r)
	switch {
	case e.store == NoListParts && r.Method == http.MethodGet && q.Has("uploadId"):
		p.refuse(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		return nil
	case e.store == NoListUploads && r.Method == http.MethodGet && q.Has("uploads"):
		p.refuse(w, r, http.StatusNotImplemented, "NotImplemented", "A header you provided implies functionality that is not implemented")
		return nil
	case e.store == UploadsNoSuchUpload && r.Method == http.MethodGet && q.Has("uploads"):
		st.listUploads = true
	case e.store == TrailerNoEcho && part && isAWSChunked(r):
		st.noEcho = true
	case e.store.noPartReplace() && part && !isCopy(r):
		if !p.checkReplacement(w, r, st) {
			return nil
		}
	}
	if e.store.NeedsCredentials() && (upload || isCreate(r) || isComplete(r)) {
		changed, err := e.changeRequest(r, st)
		if err == nil && changed {
			err = e.creds.resign(r)
		}
		if err != nil {
			e.unsignable.Add(1)
			p.refuse(w, r, http.StatusInternalServerError, "InternalError",
				fmt.Sprintf("faultproxy: the %s emulation must change this request and cannot: %v", e.store, err))
			return nil
		}
		if changed {
			e.requestsChanged.Add(1)
			if r.Header.Get("Authorization") != "" {
				e.resigned.Add(1)
			}
		}
	}
	if e.store == CRC32ForCRC32C && upload {
		st.crc = crc32.NewIEEE()
		st.tee = st.crc
		if !st.dechunk && isAWSChunked(r) {
			st.tee = dechunkWriter(st.crc)
		}
	}
	return r.WithContext(context.WithValue(r.Context(), emuKey{}, st))
}

func isCopy(r *http.Request) bool { return r.Header.Get("X-Amz-Copy-Source") != "" }

// refuse answers r with an S3 error in the store's name.
func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	p.emu.refused.Add(1)
	p.log("faultproxy: %s: %s %s: answering %d %s: %s", p.emu.store, r.Method, r.RequestURI, status, code, msg)
	p.s3Error(w, r, status, code, msg)
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// changeRequest removes from a Create, UploadPart, PutObject or Complete
// what the store ignores, and reports whether it changed anything (then
// the request must be re-signed).
func (e *emulation) changeRequest(r *http.Request, st *requestState) (bool, error) {
	changed := false
	if isComplete(r) {
		c, err := e.changeCompleteBody(r, st)
		if err != nil {
			return false, err
		}
		changed = c
	}
	if e.store.stripsChecksums() {
		for name := range r.Header {
			l := strings.ToLower(name)
			if strings.HasPrefix(l, "x-amz-checksum-") || l == "x-amz-sdk-checksum-algorithm" {
				if l == "x-amz-checksum-algorithm" {
					st.askedAlgorithm = true
				}
				r.Header.Del(name)
				changed = true
			}
		}
		if t := strings.ToLower(r.Header.Get("X-Amz-Trailer")); strings.HasPrefix(t, "x-amz-checksum-") {
			if hash := r.Header.Get("X-Amz-Content-Sha256"); signedStream(hash) {
				return false, fmt.Errorf("its checksum trailer is in a signed-chunk stream (%s), which cannot be re-encoded without re-signing every chunk", hash)
			}
			if err := dechunkRequest(r); err != nil {
				return false, err
			}
			st.dechunk = true
			changed = true
		}
	}
	if e.store.ignoresMD5() {
		if _, ok := r.Header["Content-Md5"]; ok {
			r.Header.Del("Content-Md5")
			changed = true
		}
		if hexSHA256.MatchString(r.Header.Get("X-Amz-Content-Sha256")) {
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			changed = true
		}
	}
	return changed, nil
}

// dechunkRequest turns an aws-chunked request into one of its payload
// (forward decodes the body): the trailer that carried the checksum is
// dropped with the framing, and the payload goes unsigned, as the chunks
// were.
func dechunkRequest(r *http.Request) error {
	n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return errors.New("its aws-chunked body has no valid x-amz-decoded-content-length, and the server needs the payload's length")
	}
	r.ContentLength = n
	r.TransferEncoding = nil
	r.Header.Set("Content-Length", strconv.FormatInt(n, 10))
	r.Header.Del("X-Amz-Decoded-Content-Length")
	r.Header.Del("X-Amz-Trailer")
	if ce := withoutToken(r.Header.Get("Content-Encoding"), "aws-chunked"); ce != "" {
		r.Header.Set("Content-Encoding", ce)
	} else {
		r.Header.Del("Content-Encoding")
	}
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	return nil
}

var (
	partXML       = regexp.MustCompile(`(?s)<Part>.*?</Part>`)
	partNumberXML = regexp.MustCompile(`<PartNumber>\s*([0-9]+)\s*</PartNumber>`)
	selfClosedSum = regexp.MustCompile(`<Checksum[A-Za-z0-9]*\s*/>`)
)

// changeCompleteBody drops the part checksums the store ignores and (Blind)
// gives the server back its own part ETags. A Content-MD5 or payload hash
// that matched the client's body is recomputed for the new one; one that
// did not is left to the server to refuse, as the store would have.
func (e *emulation) changeCompleteBody(r *http.Request, st *requestState) (bool, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCompleteBody+1))
	r.Body.Close()
	if err != nil {
		return false, fmt.Errorf("reading its body: %w", err)
	}
	if len(body) > maxCompleteBody {
		return false, fmt.Errorf("its body is over %d bytes", maxCompleteBody)
	}
	nb := body
	if e.store.stripsChecksums() {
		nb = stripChecksumXML(nb)
	}
	if e.store == Blind {
		uploadID := r.URL.Query().Get("uploadId")
		nb = mapPartETags(nb, func(n int, etag string) string { return e.partReal(uploadID, n, etag) })
	}
	r.Body = io.NopCloser(bytes.NewReader(nb))
	var doc struct {
		Parts []xmlPart `xml:"Part"`
	}
	if xml.Unmarshal(nb, &doc) == nil {
		st.complete = doc.Parts
	}
	if bytes.Equal(nb, body) {
		return false, nil
	}
	r.ContentLength = int64(len(nb))
	r.Header.Set("Content-Length", strconv.Itoa(len(nb)))
	if h := r.Header.Get("X-Amz-Content-Sha256"); hexSHA256.MatchString(h) && strings.EqualFold(h, sha256Hex(body)) {
		r.Header.Set("X-Amz-Content-Sha256", sha256Hex(nb))
	}
	if m := r.Header.Get("Content-Md5"); m != "" && m == md5B64(body) {
		r.Header.Set("Content-Md5", md5B64(nb))
	}
	return true, nil
}

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
func md5B64(b []byte) string    { s := md5.Sum(b); return base64.StdEncoding.EncodeToString(s[:]) }

// stripChecksumXML removes every <Checksum…> element, nested ones (the
// <Checksum> of GetObjectAttributes) included.
func stripChecksumXML(b []byte) []byte {
	for {
		nb := selfClosedSum.ReplaceAll(checksumXML.ReplaceAll(b, nil), nil)
		if bytes.Equal(nb, b) {
			return nb
		}
		b = nb
	}
}

// checkReplacement applies rclone's rule to an UploadPart of a part number
// the server already stored: the same bytes pass, other bytes are refused.
// Only such a re-upload is buffered (its size is the stored part's); a
// first upload streams and is digested on its way.
func (p *Proxy) checkReplacement(w http.ResponseWriter, r *http.Request, st *requestState) bool {
	e := p.emu
	chunked := isAWSChunked(r)
	size := r.ContentLength
	if chunked {
		size = -1
		if n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64); err == nil {
			size = n
		}
	}
	st.sum = &sumWriter{h: md5.New()}
	st.tee = st.sum
	if chunked {
		st.tee = dechunkWriter(st.sum)
	}
	e.mu.Lock()
	prev, stored := e.stored[st.partKey]
	e.mu.Unlock()
	if !stored {
		return true
	}
	same := size < 0 || size == prev.size
	if same {
		limit := r.ContentLength
		if limit < 0 {
			limit = 2*prev.size + 1<<20 // framing of any sane chunking
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			panic(http.ErrAbortHandler) // the client went away
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		payload := body
		if chunked {
			if payload, err = decodeChunked(body); err != nil {
				return true // malformed: the server refuses it, not a replacement
			}
		}
		same = int64(len(body)) <= limit && int64(len(payload)) == prev.size && md5.Sum(payload) == prev.md5
	}
	if !same {
		e.replacementsRefused.Add(1)
		n := r.URL.Query().Get("partNumber")
		if e.store == NoPartReplaceOSS {
			p.refuse(w, r, http.StatusConflict, "PartAlreadyExist", "For sequential multipart upload, you can't overwrite uploaded parts.")
		} else {
			p.refuse(w, r, http.StatusNotImplemented, "NotImplemented",
				fmt.Sprintf("part %s has already been streamed to the backend and cannot be replaced with different contents", n))
		}
		return false
	}
	e.identicalReplacements.Add(1)
	return true
}

// verifyResponse is emuResponse for the verification stores.
func (p *Proxy) verifyResponse(res *http.Response, st *requestState) error {
	e := p.emu
	req := res.Request
	q := req.URL.Query()
	ok := res.StatusCode == http.StatusOK
	changed := false
	if (e.store.stripsChecksums() || st.noEcho && ok) && dropChecksumHeaders(res.Header) {
		changed = true
	}
	switch {
	case st.listUploads && ok:
		body, err := readBody(res)
		if err != nil {
			return err
		}
		if !bytes.Contains(body, []byte("<Upload>")) {
			p.errorAnswer(res, http.StatusNotFound, "NoSuchUpload", "The specified multipart upload does not exist.")
			e.answersChanged.Add(1)
			return nil
		}
		setBody(res, body)
	case st.partKey != "" && ok && (st.sum != nil || st.crc != nil):
		etag := res.Header.Get("ETag")
		e.mu.Lock()
		if st.sum != nil {
			sp := storedPart{size: st.sum.n}
			copy(sp.md5[:], st.sum.h.Sum(nil))
			e.stored[st.partKey] = sp
		}
		if st.crc != nil {
			e.crcParts[partKeyETag(st.partKey, etag)] = st.crc.Sum32()
		}
		e.mu.Unlock()
		if st.crc != nil {
			res.Header.Set("X-Amz-Checksum-Crc32", crc32B64(st.crc.Sum32()))
			changed = true
		}
	case st.crc != nil && ok: // PutObject
		v := crc32B64(st.crc.Sum32())
		e.mu.Lock()
		e.crcObjects[st.objectKey] = crcObject{etag: bareETag(res.Header.Get("ETag")), value: v, typ: "FULL_OBJECT"}
		e.mu.Unlock()
		res.Header.Set("X-Amz-Checksum-Crc32", v)
		res.Header.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
		changed = true
	case e.store == CRC32ForCRC32C && ok && isCreate(req) && st.askedAlgorithm:
		res.Header.Set("X-Amz-Checksum-Algorithm", "CRC32")
		res.Header.Set("X-Amz-Checksum-Type", "COMPOSITE")
		changed = true
	case e.store == CRC32ForCRC32C && ok && objectRead(req) && strings.EqualFold(req.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") &&
		req.Header.Get("Range") == "" && !q.Has("partNumber"):
		// As S3 does: only when asked, and only for the whole object.
		e.mu.Lock()
		o, known := e.crcObjects[st.objectKey]
		e.mu.Unlock()
		if known && o.etag == bareETag(res.Header.Get("ETag")) {
			res.Header.Set("X-Amz-Checksum-Crc32", o.value)
			res.Header.Set("X-Amz-Checksum-Type", o.typ)
			changed = true
		}
	}
	if e.store == Blind {
		if etag := res.Header.Get("ETag"); etag != "" {
			if st.partKey != "" {
				n, _ := strconv.Atoi(q.Get("partNumber"))
				res.Header.Set("ETag", mapQuoted(etag, func(v string) string { return e.partOpaque(q.Get("uploadId"), n, v) }))
			} else {
				res.Header.Set("ETag", mapQuoted(etag, objectOpaque))
			}
			changed = true
		}
	}
	if ok && (e.store.stripsChecksums() || e.store == Blind) && apiXML(res) {
		body, err := readBody(res)
		if err != nil {
			return err
		}
		nb := e.rewriteAnswerXML(req, st, body)
		if !bytes.Equal(nb, body) {
			changed = true
		}
		setBody(res, nb)
	}
	if changed {
		e.answersChanged.Add(1)
	}
	return nil
}

// rewriteAnswerXML is what the store shows of an XML answer.
func (e *emulation) rewriteAnswerXML(req *http.Request, st *requestState, body []byte) []byte {
	q := req.URL.Query()
	uploadID := q.Get("uploadId")
	if e.store.stripsChecksums() {
		body = stripChecksumXML(body)
	}
	listParts := req.Method == http.MethodGet && q.Has("uploadId")
	switch {
	case e.store == CRC32ForCRC32C && listParts:
		body = e.addPartCRCs(uploadID, body)
	case e.store == CRC32ForCRC32C && isComplete(req) && bytes.Contains(body, []byte("<CompleteMultipartUploadResult")):
		if v, ok := e.compositeCRC(uploadID, st.complete); ok {
			var etag string
			if m := etagXML.FindSubmatch(body); m != nil {
				etag = bareETag(string(m[1]))
			}
			e.mu.Lock()
			e.crcObjects[st.objectKey] = crcObject{etag: etag, value: v, typ: "COMPOSITE"}
			e.mu.Unlock()
			body = insertBefore(body, "</CompleteMultipartUploadResult>",
				"<ChecksumCRC32>"+v+"</ChecksumCRC32><ChecksumType>COMPOSITE</ChecksumType>")
		}
	}
	if e.store == Blind {
		switch {
		case listParts:
			body = mapPartETags(body, func(n int, etag string) string { return e.partOpaque(uploadID, n, etag) })
		case IsUploadPart(req): // UploadPartCopy: <CopyPartResult><ETag>
			n, _ := strconv.Atoi(q.Get("partNumber"))
			body = mapETags(body, func(v string) string { return e.partOpaque(uploadID, n, v) })
		default:
			body = mapETags(body, objectOpaque)
		}
	}
	return body
}

// addPartCRCs shows the CRC32 of every part of a ListParts answer the
// proxy saw go to the server, and then the upload's algorithm as CRC32.
func (e *emulation) addPartCRCs(uploadID string, body []byte) []byte {
	shown := false
	body = partXML.ReplaceAllFunc(body, func(pt []byte) []byte {
		n, etag, ok := partNumberETag(pt)
		if !ok {
			return pt
		}
		e.mu.Lock()
		c, known := e.crcParts[partKeyETag(uploadID+"/"+strconv.Itoa(n), etag)]
		e.mu.Unlock()
		if !known {
			return pt
		}
		shown = true
		return insertBefore(pt, "</Part>", "<ChecksumCRC32>"+crc32B64(c)+"</ChecksumCRC32>")
	})
	if shown {
		body = insertBefore(body, "</ListPartsResult>", "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>COMPOSITE</ChecksumType>")
	}
	return body
}

// compositeCRC is S3's COMPOSITE CRC32 of an object made of parts: the
// CRC32 of the parts' big-endian CRC32s, then -N.
func (e *emulation) compositeCRC(uploadID string, parts []xmlPart) (string, bool) {
	if len(parts) == 0 {
		return "", false
	}
	raw := make([]byte, 0, 4*len(parts))
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, pt := range parts {
		c, ok := e.crcParts[partKeyETag(uploadID+"/"+strconv.Itoa(pt.Number), bareETag(pt.ETag))]
		if !ok {
			return "", false
		}
		raw = binary.BigEndian.AppendUint32(raw, c)
	}
	return compositeCRC32(raw, len(parts)), true
}

func compositeCRC32(rawPartCRCs []byte, n int) string {
	return crc32B64(crc32.ChecksumIEEE(rawPartCRCs)) + "-" + strconv.Itoa(n)
}

func crc32B64(c uint32) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, c))
}

// partNumberETag reads a <Part> element's number and bare ETag.
func partNumberETag(pt []byte) (int, string, bool) {
	nm := partNumberXML.FindSubmatch(pt)
	em := etagXML.FindSubmatch(pt)
	if nm == nil || em == nil {
		return 0, "", false
	}
	n, err := strconv.Atoi(string(nm[1]))
	return n, bareETag(string(em[1])), err == nil
}

func insertBefore(b []byte, closing, elems string) []byte {
	i := bytes.LastIndex(b, []byte(closing))
	if i < 0 {
		return b
	}
	out := make([]byte, 0, len(b)+len(elems))
	out = append(out, b[:i]...)
	out = append(out, elems...)
	return append(out, b[i:]...)
}

// dropChecksumHeaders removes the x-amz-checksum-* headers of an answer.
func dropChecksumHeaders(h http.Header) bool {
	dropped := false
	for name := range h {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-checksum-") {
			h.Del(name)
			dropped = true
		}
	}
	return dropped
}

// objectRead reports whether r reads an object's data or metadata (GET or
// HEAD of bucket/key, no subresource).
func objectRead(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if !strings.Contains(strings.Trim(r.URL.Path, "/"), "/") {
		return false
	}
	for k := range r.URL.Query() {
		if k != "versionId" && k != "partNumber" && !strings.HasPrefix(k, "response-") {
			return false
		}
	}
	return true
}

// apiXML reports whether res is an XML answer of the S3 API (a listing, a
// Complete or Copy result), not an object's bytes that happen to be XML.
func apiXML(res *http.Response) bool {
	if res.Request.Method == http.MethodHead || objectRead(res.Request) {
		return false
	}
	ct := res.Header.Get("Content-Type")
	return ct == "" || strings.Contains(ct, "xml")
}

// errorAnswer turns the server's answer into an S3 error of the store.
func (p *Proxy) errorAnswer(res *http.Response, status int, code, msg string) {
	id := fmt.Sprintf("FAULTPROXY%016X", p.reqIDs.Add(1))
	body, _ := xml.Marshal(s3ErrorBody{Code: code, Message: msg, Resource: res.Request.URL.Path, RequestID: id})
	body = append([]byte(xml.Header), body...)
	res.StatusCode = status
	res.Status = fmt.Sprintf("%d %s", status, http.StatusText(status))
	for k := range res.Header {
		delete(res.Header, k)
	}
	res.Header.Set("Content-Type", "application/xml")
	res.Header.Set("X-Amz-Request-Id", id)
	res.Header.Set("Server", "faultproxy")
	setBody(res, body)
}

// bareETag is an ETag without its quotes, however the answer escaped them.
func bareETag(s string) string {
	bare := strings.TrimSpace(s)
	mapQuoted(bare, func(v string) string { bare = v; return v })
	return bare
}

// mapQuoted applies f to an ETag's value, keeping its quoting as found:
// ", &#34; or &quot; (MinIO and the SDK escape the quotes in XML), or none.
func mapQuoted(s string, f func(string) string) string {
	for _, q := range []string{`"`, "&#34;", "&quot;"} {
		if len(s) >= 2*len(q) && strings.HasPrefix(s, q) && strings.HasSuffix(s, q) {
			return q + f(s[len(q):len(s)-len(q)]) + q
		}
	}
	return f(s)
}

func mapETags(body []byte, f func(string) string) []byte {
	return etagXML.ReplaceAllFunc(body, func(m []byte) []byte {
		inner := string(etagXML.FindSubmatch(m)[1])
		return []byte("<ETag>" + mapQuoted(inner, f) + "</ETag>")
	})
}

// mapPartETags applies f to the ETag of every <Part>, with its number.
func mapPartETags(body []byte, f func(n int, etag string) string) []byte {
	return partXML.ReplaceAllFunc(body, func(pt []byte) []byte {
		nm := partNumberXML.FindSubmatch(pt)
		if nm == nil {
			return pt
		}
		n, err := strconv.Atoi(string(nm[1]))
		if err != nil {
			return pt
		}
		return mapETags(pt, func(v string) string { return f(n, v) })
	})
}

// Blind's ETags. A part's opaque ETag is its MD5 ETag enciphered with AES
// under a fixed key, tweaked by upload and part number: it looks random,
// is the same for the same part every time (ListParts and UploadPart
// agree, across proxies too), and deciphers back to the server's ETag
// without any state, so a Complete naming anything but the opaque ETag
// (the client's own MD5, say) reaches the server as garbage and fails as
// on the real store. Part ETags that are not 32 hex digits get an HMAC
// instead, remembered for the way back. Object ETags are only shown, never
// sent back, and are an HMAC of the server's.
var (
	blindKey    = sha256.Sum256([]byte("faultproxy Blind ETags"))
	blindCipher cipher.Block
)

func init() {
	var err error
	if blindCipher, err = aes.NewCipher(blindKey[:16]); err != nil {
		panic(err)
	}
}

func blindHMAC(parts ...string) string {
	m := hmac.New(sha256.New, blindKey[16:])
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func blindTweak(uploadID string, n int) [16]byte {
	s := sha256.Sum256([]byte("part\x00" + uploadID + "\x00" + strconv.Itoa(n)))
	var t [16]byte
	copy(t[:], s[:16])
	return t
}

func (e *emulation) partOpaque(uploadID string, n int, etag string) string {
	b, err := hex.DecodeString(etag)
	if err != nil || len(b) != aes.BlockSize {
		o := blindHMAC("part", uploadID, strconv.Itoa(n), etag)
		e.mu.Lock()
		e.opaque[uploadID+"/"+strconv.Itoa(n)+"/"+o] = etag
		e.mu.Unlock()
		return o
	}
	t := blindTweak(uploadID, n)
	for i := range b {
		b[i] ^= t[i]
	}
	blindCipher.Encrypt(b, b)
	return hex.EncodeToString(b)
}

func (e *emulation) partReal(uploadID string, n int, opaque string) string {
	e.mu.Lock()
	etag, ok := e.opaque[uploadID+"/"+strconv.Itoa(n)+"/"+opaque]
	e.mu.Unlock()
	if ok {
		return etag
	}
	b, err := hex.DecodeString(opaque)
	if err != nil || len(b) != aes.BlockSize {
		return opaque // no ETag this store gave out: the server refuses it
	}
	blindCipher.Decrypt(b, b)
	t := blindTweak(uploadID, n)
	for i := range b {
		b[i] ^= t[i]
	}
	return hex.EncodeToString(b)
}

func objectOpaque(etag string) string { return blindHMAC("object", etag) }
