package seal

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// A Key is the key material of one sealed object: its file key, its payload
// nonce, and the header that wraps the file key for the recipients. Every
// byte of the object is a function of the Key and the plaintext, so a Key
// kept across runs (ExportSecret, ImportSecret) re-creates byte for byte any
// part of an object that an earlier run started.
//
// The file key is the secret: anyone with it reads the object. The nonce is
// written in clear in the object (after the header) but is kept with the
// file key all the same: String, GoString, Format and LogValue print
// neither, and ExportSecret is the only way out. A Key comes from NewKey or
// ImportSecret; it is immutable and safe for concurrent use.
type Key struct {
	// The secrets sit behind a pointer, so that even fmt's raw printing of a
	// Key held in an unexported field (which skips Format) shows an address.
	secret *keySecret
	header []byte // the object's first bytes; the nonce follows
}

type keySecret struct {
	fileKey [FileKeySize]byte
	nonce   [NonceSize]byte
	aead    cipher.AEAD // ChaCha20-Poly1305 under the payload key; stateless
}

// NewKey draws a fresh file key and payload nonce from crypto/rand and wraps
// the file key for every recipient, as age does: each recipient's stanzas in
// order, and the recipients must agree on their labels
// (age.RecipientWithLabels), so that a post-quantum recipient is never mixed
// with classic ones and an scrypt recipient stands alone. Errors about the
// recipients wrap ErrRecipient.
func NewKey(recipients ...age.Recipient) (*Key, error) {
	var fileKey [FileKeySize]byte
	var nonce [NonceSize]byte
	rand.Read(fileKey[:])
	rand.Read(nonce[:])
	stanzas, err := wrap(fileKey[:], recipients)
	if err != nil {
		return nil, err
	}
	return assemble(fileKey, nonce, stanzas)
}

// wrap asks each recipient for its stanzas, checking labels as age.Encrypt
// does.
func wrap(fileKey []byte, recipients []age.Recipient) ([]*age.Stanza, error) {
	if len(recipients) == 0 {
		return nil, &RecipientError{Err: ErrNoRecipients}
	}
	var (
		stanzas []*age.Stanza
		first   []string
	)
	for i, r := range recipients {
		var (
			s      []*age.Stanza
			labels []string
			err    error
		)
		if rl, ok := r.(age.RecipientWithLabels); ok {
			s, labels, err = rl.WrapWithLabels(fileKey)
		} else {
			s, err = r.Wrap(fileKey)
		}
		if err != nil {
			return nil, &RecipientError{Err: fmt.Errorf("%w: wrap the file key for recipient %d: %w", ErrMalformedRecipient, i+1, err)}
		}
		if len(s) == 0 {
			return nil, &RecipientError{Err: fmt.Errorf("%w: recipient %d wrapped the file key in no stanza", ErrMalformedRecipient, i+1)}
		}
		labels = slices.Clone(labels)
		sort.Strings(labels)
		if i == 0 {
			first = labels
		} else if !slices.Equal(first, labels) {
			return nil, &RecipientError{Err: incompatible(i+1, first, labels)}
		}
		stanzas = append(stanzas, s...)
	}
	return stanzas, nil
}

func incompatible(n int, first, labels []string) error {
	if slices.Contains(first, "postquantum") != slices.Contains(labels, "postquantum") {
		return fmt.Errorf("%w: recipient %d: post-quantum (age1pq1…) and classic recipients cannot be mixed: the file would be as weak as the classic ones", ErrIncompatibleRecipients, n)
	}
	return fmt.Errorf("%w: recipient %d cannot share a file with recipient 1 (labels %q and %q)", ErrIncompatibleRecipients, n, labels, first)
}

// assemble builds a Key from its parts; the header is written here.
func assemble(fileKey [FileKeySize]byte, nonce [NonceSize]byte, stanzas []*age.Stanza) (*Key, error) {
	hdr, err := marshalHeader(fileKey[:], stanzas)
	if err != nil {
		return nil, &RecipientError{Err: fmt.Errorf("%w: %w", ErrMalformedRecipient, err)}
	}
	return newKey(fileKey, nonce, hdr), nil
}

func newKey(fileKey [FileKeySize]byte, nonce [NonceSize]byte, hdr []byte) *Key {
	k := &Key{secret: &keySecret{fileKey: fileKey, nonce: nonce}, header: hdr}
	// payload key = HKDF-SHA-256(ikm = file key, salt = nonce, info = "payload")
	pk, err := hkdf.Key(sha256.New, fileKey[:], nonce[:], "payload", chacha20poly1305.KeySize)
	if err != nil {
		panic("seal: HKDF-SHA-256 refused a 32-byte key: " + err.Error())
	}
	k.secret.aead, err = chacha20poly1305.New(pk)
	if err != nil {
		panic("seal: ChaCha20-Poly1305 refused a 32-byte key: " + err.Error())
	}
	clear(pk)
	return k
}

// Header returns a copy of the header: the object's first HeaderSize bytes.
// It is not secret (it is in the object) but it is what ties the Key to the
// recipients.
func (k *Key) Header() []byte { return slices.Clone(k.header) }

// HeaderSize is the size of the header; the payload starts there.
func (k *Key) HeaderSize() int64 { return int64(len(k.header)) }

// CiphertextSize is the size of the sealed object of a plaintext of
// plainSize bytes:
//
//	HeaderSize + 16 (nonce) + plainSize + 16 × max(1, ceil(plainSize / 65536))
//
// It panics on a size outside [0, MaxPlaintextSize].
func (k *Key) CiphertextSize(plainSize int64) int64 {
	return int64(len(k.header)) + PayloadSize(plainSize)
}

// PlaintextSize inverts CiphertextSize: the size of the plaintext of a sealed
// object of cipherSize bytes made with k, or ErrCiphertextSize (a truncated
// or padded object).
func (k *Key) PlaintextSize(cipherSize int64) (int64, error) {
	p, err := plainSizeOfPayload(cipherSize - int64(len(k.header)))
	if err != nil {
		return 0, fmt.Errorf("seal: ciphertext of %d bytes: %w", cipherSize, err)
	}
	return p, nil
}

// PlaintextRange maps bytes [off, off+n) of the sealed object of a plaintext
// of plainSize bytes to the plaintext bytes needed to compute them: the
// whole chunks the range touches, since sealing a chunk takes all of it. A
// range inside the header and nonce maps to no plaintext (length 0). Bytes
// past the object are ignored.
//
// The ciphertext of the last chunk also depends on its being the last: on
// plainSize, not only on the bytes returned.
func (k *Key) PlaintextRange(off, n, plainSize int64) (plainOff, plainLen int64) {
	size := k.CiphertextSize(plainSize)
	prefix := k.prefixSize()
	end := min(off+n, size)
	off = max(off, prefix)
	if n <= 0 || off >= end {
		return 0, 0
	}
	first := (off - prefix) / SealedChunkSize
	last := (end - 1 - prefix) / SealedChunkSize
	plainOff = first * ChunkSize
	return plainOff, min((last+1)*ChunkSize, plainSize) - plainOff
}

// prefixSize is where the first chunk starts: after the header and nonce.
func (k *Key) prefixSize() int64 { return int64(len(k.header)) + NonceSize }

// sealChunk appends to dst the sealed chunk i of plain (dst may be plain[:0]
// to seal in place).
func (k *Key) sealChunk(dst, plain []byte, i int64, final bool) []byte {
	nonce := chunkNonce(i, final)
	return k.secret.aead.Seal(dst, nonce[:], plain, nil)
}

// Serialized key material: secretPrefix, then unpadded standard base64 of
//
//	version (1 byte, 1) ‖ file key (16) ‖ nonce (16) ‖ header ‖ checksum (16)
//
// where checksum is the first 16 bytes of SHA-256 of everything before it.
// The checksum catches a damaged journal line (a changed nonce would
// otherwise go unnoticed and make every re-sent part wrong); the header MAC,
// checked with the file key, proves that the header and file key belong
// together, so the recipients can decrypt what is sent.
const (
	secretPrefix   = "age-seal-key:"
	secretVersion  = 1
	secretSumSize  = 16
	secretOverhead = 1 + FileKeySize + NonceSize + secretSumSize
)

// ErrKeyCorrupt says serialized key material does not parse or fails its
// checks. Resuming with it is never safe: start a fresh upload.
var ErrKeyCorrupt = errors.New("sealed-object key material is corrupt")

// ExportSecret serializes k for the journal: one line of ASCII, which holds
// the file key and nonce. Store it as a secret (mode 0600), delete it with
// the journal, never print it.
func (k *Key) ExportSecret() string {
	b := make([]byte, 0, secretOverhead+len(k.header))
	b = append(b, secretVersion)
	b = append(b, k.secret.fileKey[:]...)
	b = append(b, k.secret.nonce[:]...)
	b = append(b, k.header...)
	sum := sha256.Sum256(b)
	b = append(b, sum[:secretSumSize]...)
	s := secretPrefix + base64.RawStdEncoding.EncodeToString(b)
	clear(b)
	return s
}

// ImportSecret parses what ExportSecret wrote and checks it: the version,
// the checksum, the header's structure and its MAC under the file key. Every
// error wraps ErrKeyCorrupt and holds none of s.
func ImportSecret(s string) (*Key, error) {
	enc, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: it does not start with %q", ErrKeyCorrupt, secretPrefix)
	}
	b, err := base64.RawStdEncoding.Strict().DecodeString(enc)
	if err != nil || !isBase64(enc) {
		return nil, fmt.Errorf("%w: not canonical base64", ErrKeyCorrupt)
	}
	defer clear(b)
	if len(b) < secretOverhead {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrKeyCorrupt, len(b))
	}
	if b[0] != secretVersion {
		return nil, fmt.Errorf("%w: version %d, this s3up reads %d", ErrKeyCorrupt, b[0], secretVersion)
	}
	body, sum := b[:len(b)-secretSumSize], b[len(b)-secretSumSize:]
	want := sha256.Sum256(body)
	if !hmac.Equal(sum, want[:secretSumSize]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrKeyCorrupt)
	}
	var fileKey [FileKeySize]byte
	var nonce [NonceSize]byte
	copy(fileKey[:], body[1:])
	copy(nonce[:], body[1+FileKeySize:])
	hdr := body[1+FileKeySize+NonceSize:]
	h, err := parseHeader(hdr)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrKeyCorrupt, err)
	}
	if h.size != len(hdr) {
		return nil, fmt.Errorf("%w: %d bytes after the header", ErrKeyCorrupt, len(hdr)-h.size)
	}
	if !hmac.Equal(h.mac, headerMAC(fileKey[:], hdr[:h.macEnd])) {
		return nil, fmt.Errorf("%w: the header MAC does not match the file key", ErrKeyCorrupt)
	}
	return newKey(fileKey, nonce, slices.Clone(hdr)), nil
}

// String describes k without its secrets.
func (k Key) String() string {
	return fmt.Sprintf("seal.Key{header: %d bytes, file key and nonce: redacted}", len(k.header))
}

// GoString is String, so %#v shows no secret either.
func (k Key) GoString() string { return k.String() }

// Format prints String for every verb (%x, %+v, %q…), so no verb shows
// the secrets.
func (k Key) Format(f fmt.State, _ rune) { f.Write([]byte(k.String())) }

// LogValue keeps the secrets out of log/slog output.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }
