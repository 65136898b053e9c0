package resume

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The bytes of a version-2 tree journal and of a pending log (see the
// "Tree journal" section of the package comment):
//
//	file   = header-line block* [end]      (end: the sorted journal only)
//	block  = uvarint(n>0) data[n] crc32c(data)[4, big-endian]
//	end    = uvarint(0) uvarint(record count)
//	data   = record+
//	record = uvarint(shared) uvarint(len(suffix)) suffix varint(size) varint(mtime) etag
//	etag   = 0x00 uvarint(len) bytes  |  0x01 md5[16]
//
// shared is how many leading bytes the key has in common with the key of
// the record before it in the same block (0 for a block's first), so the
// prefix and the directories are stored once a block. etag 0x01 stands
// for the common `"` + 32 lowercase hex digits + `"`. A block is checked
// whole before any of its records is used, so a damaged block is never
// half believed.

// treeBlockSize is the size a block is cut at: one write for a pending
// log's block, and what a reader holds.
const treeBlockSize = 64 << 10

// maxTreeBlock bounds the length a reader accepts, so a damaged length
// cannot make it allocate gigabytes. A block holds at least one record,
// and a record is a key (1 KiB in S3) and an ETag.
const maxTreeBlock = 16 << 20

const (
	etagRaw = 0
	etagMD5 = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrTreeCorrupt marks a tree journal whose bytes are not what s3up
// wrote. The records before the damage are used and the rest ignored: a
// record only ever spares a request when the object's ETag and the file's
// size and mtime all agree with it.
var ErrTreeCorrupt = errors.New("tree journal is damaged")

// treeHeader is line 1 of every tree journal file. Version 1 journals have
// no Kind; version 2 has "sorted" (the journal) or "pending" (a run's log).
type treeHeader struct {
	Version  int    `json:"tree_version"`
	Kind     string `json:"kind,omitempty"`
	Endpoint string `json:"endpoint"`
	Bucket   string `json:"bucket"`
	Prefix   string `json:"prefix"`
	// Merged: the sorted journal holds every pending log numbered up to
	// this; such a log found later is left over from a crash.
	Merged uint64 `json:"merged,omitempty"`
}

const (
	kindSorted  = "sorted"
	kindPending = "pending"
)

func (h treeHeader) is(version int, kind string, dest Destination) bool {
	return h.Version == version && h.Kind == kind &&
		h.Endpoint == dest.Endpoint && h.Bucket == dest.Bucket && h.Prefix == dest.Key
}

func newHeader(kind string, dest Destination, merged uint64) []byte {
	b, _ := json.Marshal(treeHeader{Version: TreeFormatVersion, Kind: kind, Endpoint: dest.Endpoint, Bucket: dest.Bucket, Prefix: dest.Key, Merged: merged})
	return append(b, '\n')
}

// readHeader reads line 1.
func readHeader(br *bufio.Reader) (treeHeader, error) {
	var h treeHeader
	line, err := br.ReadSlice('\n')
	if err != nil {
		return h, fmt.Errorf("%w: no header line", ErrTreeCorrupt)
	}
	if err := json.Unmarshal(line, &h); err != nil {
		return h, fmt.Errorf("%w: header: %v", ErrTreeCorrupt, err)
	}
	return h, nil
}

// md5ETag recognises the ETag that etagMD5 abbreviates.
func md5ETag(etag string) (sum [16]byte, ok bool) {
	if len(etag) != 34 || etag[0] != '"' || etag[33] != '"' {
		return sum, false
	}
	for _, c := range etag[1:33] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return sum, false
		}
	}
	hex.Decode(sum[:], []byte(etag[1:33]))
	return sum, true
}

// appendBody encodes what follows a record's key.
func appendBody(b []byte, r TreeRecord) []byte {
	b = binary.AppendVarint(b, r.Size)
	b = binary.AppendVarint(b, r.MTime)
	if sum, ok := md5ETag(r.ETag); ok {
		b = append(b, etagMD5)
		return append(b, sum[:]...)
	}
	b = append(b, etagRaw)
	b = binary.AppendUvarint(b, uint64(len(r.ETag)))
	return append(b, r.ETag...)
}

var errShort = errors.New("record cut short")

// decodeBody decodes what appendBody wrote into r, returning the rest.
func decodeBody(b []byte, r *TreeRecord) ([]byte, error) {
	var n int
	if r.Size, n = binary.Varint(b); n <= 0 {
		return nil, errShort
	}
	b = b[n:]
	if r.MTime, n = binary.Varint(b); n <= 0 {
		return nil, errShort
	}
	b = b[n:]
	if len(b) == 0 {
		return nil, errShort
	}
	switch kind := b[0]; kind {
	case etagMD5:
		if len(b) < 17 {
			return nil, errShort
		}
		var q [34]byte
		q[0], q[33] = '"', '"'
		hex.Encode(q[1:33], b[1:17])
		r.ETag = string(q[:])
		return b[17:], nil
	case etagRaw:
		l, n := binary.Uvarint(b[1:])
		if n <= 0 || l > uint64(len(b)-1-n) {
			return nil, errShort
		}
		b = b[1+n:]
		r.ETag = string(b[:l])
		return b[l:], nil
	default:
		return nil, fmt.Errorf("unknown ETag encoding %d", kind)
	}
}

// blockWriter writes records in blocks.
type blockWriter struct {
	w     io.Writer
	data  []byte // the block being filled
	prev  []byte // the last key in it
	frame []byte
	count int64
	err   error
}

func newBlockWriter(w io.Writer) *blockWriter {
	return &blockWriter{w: w, data: make([]byte, 0, treeBlockSize+4<<10)}
}

// add appends a record, writing the block out when it is full.
func (bw *blockWriter) add(r TreeRecord) {
	shared := 0
	if len(bw.data) > 0 {
		for shared < len(bw.prev) && shared < len(r.Key) && bw.prev[shared] == r.Key[shared] {
			shared++
		}
	}
	bw.data = binary.AppendUvarint(bw.data, uint64(shared))
	bw.data = binary.AppendUvarint(bw.data, uint64(len(r.Key)-shared))
	bw.data = append(bw.data, r.Key[shared:]...)
	bw.data = appendBody(bw.data, r)
	bw.prev = append(bw.prev[:0], r.Key...)
	bw.count++
	if len(bw.data) >= treeBlockSize {
		bw.flush()
	}
}

// flush writes the block being filled, as one write.
func (bw *blockWriter) flush() error {
	if bw.err != nil || len(bw.data) == 0 {
		return bw.err
	}
	bw.frame = binary.AppendUvarint(bw.frame[:0], uint64(len(bw.data)))
	bw.frame = append(bw.frame, bw.data...)
	bw.frame = binary.BigEndian.AppendUint32(bw.frame, crc32.Checksum(bw.data, castagnoli))
	_, bw.err = bw.w.Write(bw.frame)
	bw.data = bw.data[:0]
	if cap(bw.frame) > 2*treeBlockSize {
		bw.frame = nil // one huge record: do not keep its buffer
	}
	return bw.err
}

// end writes the last block and the end marker with the record count.
func (bw *blockWriter) end() error {
	if err := bw.flush(); err != nil {
		return err
	}
	b := binary.AppendUvarint(nil, 0)
	b = binary.AppendUvarint(b, uint64(bw.count))
	_, bw.err = bw.w.Write(b)
	return bw.err
}

// blockReader reads the records of a file written by a blockWriter.
type blockReader struct {
	br     *bufio.Reader
	sorted bool // the sorted journal: keys must increase, and an end must come

	block []byte
	data  []byte // what is left of the block
	key   []byte
	last  string // the key of the last record returned
	count int64
	nblk  int
	done  bool
	err   error // damage (ErrTreeCorrupt) or a read error; nil at a clean end
}

// next decodes the next record into r, reporting false at the end or at
// damage (err says which).
func (rd *blockReader) next(r *TreeRecord) bool {
	if rd.done {
		return false
	}
	if len(rd.data) == 0 && !rd.readBlock() {
		rd.done = true
		return false
	}
	if err := rd.decode(r); err != nil {
		rd.fail(fmt.Errorf("%w: block %d: %v", ErrTreeCorrupt, rd.nblk, err))
		return false
	}
	if rd.sorted && rd.count > 0 && r.Key <= rd.last {
		rd.fail(fmt.Errorf("%w: block %d: key %q after %q: not in order", ErrTreeCorrupt, rd.nblk, r.Key, rd.last))
		return false
	}
	rd.last = r.Key
	rd.count++
	return true
}

func (rd *blockReader) fail(err error) {
	rd.done, rd.err = true, err
}

func (rd *blockReader) decode(r *TreeRecord) error {
	shared, n := binary.Uvarint(rd.data)
	if n <= 0 {
		return errShort
	}
	rd.data = rd.data[n:]
	suffix, n := binary.Uvarint(rd.data)
	if n <= 0 || suffix > uint64(len(rd.data)-n) || shared > uint64(len(rd.key)) {
		return errShort
	}
	if shared+suffix == 0 {
		return errors.New("empty key")
	}
	rd.key = append(rd.key[:shared], rd.data[n:n+int(suffix)]...)
	rd.data = rd.data[n+int(suffix):]
	r.Key = string(rd.key)
	var err error
	rd.data, err = decodeBody(rd.data, r)
	return err
}

// readBlock reads and checks the next block; false at the end of the
// records (rd.err set if that end is not a clean one).
func (rd *blockReader) readBlock() bool {
	n, err := binary.ReadUvarint(rd.br)
	switch {
	case err == io.EOF && !rd.sorted:
		return false // a pending log ends wherever its run stopped
	case err == io.EOF:
		rd.err = fmt.Errorf("%w: it ends after block %d without its end marker", ErrTreeCorrupt, rd.nblk)
		return false
	case err != nil:
		rd.err = rd.cut(err)
		return false
	case n == 0:
		rd.readEnd()
		return false
	case n > maxTreeBlock:
		rd.err = fmt.Errorf("%w: block %d claims %d bytes", ErrTreeCorrupt, rd.nblk+1, n)
		return false
	}
	if uint64(cap(rd.block)) < n+4 {
		rd.block = make([]byte, n+4)
	}
	rd.block = rd.block[:n+4]
	if _, err := io.ReadFull(rd.br, rd.block); err != nil {
		rd.err = rd.cut(err)
		return false
	}
	rd.nblk++
	data, sum := rd.block[:n], binary.BigEndian.Uint32(rd.block[n:])
	if crc32.Checksum(data, castagnoli) != sum {
		if !rd.sorted && rd.atEOF() {
			return false // a pending log's last block, torn by a crash
		}
		rd.err = fmt.Errorf("%w: block %d fails its checksum", ErrTreeCorrupt, rd.nblk)
		return false
	}
	rd.data, rd.key = data, rd.key[:0]
	return true
}

// cut says what a block cut short means: a crash's torn tail in a
// pending log (no error), damage in the sorted journal.
func (rd *blockReader) cut(err error) error {
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if !rd.sorted {
			return nil
		}
		return fmt.Errorf("%w: block %d is cut short", ErrTreeCorrupt, rd.nblk+1)
	}
	return err
}

func (rd *blockReader) atEOF() bool {
	_, err := rd.br.Peek(1)
	return err == io.EOF
}

// readEnd checks the end marker's count and that nothing follows it.
func (rd *blockReader) readEnd() {
	count, err := binary.ReadUvarint(rd.br)
	switch {
	case !rd.sorted:
		rd.err = fmt.Errorf("%w: an end marker in a pending log", ErrTreeCorrupt)
	case err != nil:
		rd.err = fmt.Errorf("%w: end marker: %v", ErrTreeCorrupt, err)
	case int64(count) != rd.count:
		rd.err = fmt.Errorf("%w: it holds %d records and says %d", ErrTreeCorrupt, rd.count, count)
	case !rd.atEOF():
		rd.err = fmt.Errorf("%w: bytes after the end marker", ErrTreeCorrupt)
	}
}
