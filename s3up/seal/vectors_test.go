package seal

import (
	"bytes"
	"compress/zlib"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"

	agetest "c2sp.org/CCTV/age"
	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// The age spec's test vectors (the C2SP CCTV age test kit, c2sp.org/CCTV/age,
// 0BSD / CC0 / Unlicense), read from the Go module that embeds them: none is
// copied into this repository. Each is a small textual preamble ("expect:",
// "file key:", "payload:" (SHA-256 of the plaintext), "identity:", …), a
// blank line, and an age file, maybe zlib-compressed.

type vector struct {
	name       string
	expect     string
	fileKey    []byte
	payloadSum []byte
	identities []age.Identity
	armored    bool
	file       []byte
}

func loadVectors(t *testing.T) []*vector {
	t.Helper()
	entries, err := fs.ReadDir(agetest.Vectors, ".")
	if err != nil {
		t.Fatal(err)
	}
	var vs []*vector
	for _, e := range entries {
		b, err := fs.ReadFile(agetest.Vectors, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		v := &vector{name: e.Name()}
		compressed := false
		for {
			line, rest, ok := bytes.Cut(b, []byte("\n"))
			if !ok {
				t.Fatalf("%s: no blank line after the preamble", v.name)
			}
			b = rest
			if len(line) == 0 {
				break
			}
			key, value, _ := strings.Cut(string(line), ": ")
			switch key {
			case "expect":
				v.expect = value
			case "file key":
				v.fileKey, err = hex.DecodeString(value)
			case "payload":
				v.payloadSum, err = hex.DecodeString(value)
			case "identity":
				var id age.Identity
				if id, err = age.ParseX25519Identity(value); err != nil {
					id, err = age.ParseHybridIdentity(value)
				}
				v.identities = append(v.identities, id)
			case "passphrase":
				var id age.Identity
				id, err = age.NewScryptIdentity(value)
				v.identities = append(v.identities, id)
			case "armored":
				v.armored = true
			case "compressed":
				compressed = true
				if value != "zlib" {
					err = fmt.Errorf("compression %q", value)
				}
			case "comment":
			default:
				err = fmt.Errorf("unknown preamble key %q", key)
			}
			if err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
		}
		if compressed {
			zr, err := zlib.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", v.name, err)
			}
		}
		v.file = b
		vs = append(vs, v)
	}
	if len(vs) < 100 {
		t.Fatalf("only %d vectors in c2sp.org/CCTV/age", len(vs))
	}
	return vs
}

// structuralHeaderFailures are the "header failure" vectors whose header
// breaks the spec's ABNF (or is not v1): parseHeader must refuse them. Every
// other header failure is about what a stanza holds (a share's length, an
// scrypt work factor, stanzas that must be alone, a missing nonce), which
// the recipient types decide and a structural parser must accept.
var structuralHeaderFailures = map[string]bool{
	"empty":                       true,
	"header_crlf":                 true,
	"hmac_extra_space":            true,
	"hmac_garbage":                true,
	"hmac_missing":                true,
	"hmac_no_space":               true,
	"hmac_not_canonical":          true,
	"hmac_trailing_space":         true,
	"hmac_truncated":              true,
	"stanza_bad_start":            true,
	"stanza_base64_padding":       true,
	"stanza_empty_argument":       true,
	"stanza_invalid_character":    true,
	"stanza_long_line":            true,
	"stanza_missing_body":         true,
	"stanza_missing_final_line":   true,
	"stanza_multiple_short_lines": true,
	"stanza_no_arguments":         true,
	"stanza_not_canonical":        true,
	"stanza_spurious_cr":          true,
	"version_unsupported":         true,
	"x25519_not_canonical_body":   true,
	"scrypt_not_canonical_body":   true,
	"hybrid_not_canonical_body":   true,
}

// TestVectorsHeader: this package's header parser refuses exactly the
// structurally broken headers; for every vector it accepts and age does not
// refuse as a header, the header MAC under the vector's file key matches
// exactly when the vector expects no "HMAC failure", and writing the parsed
// stanzas back with marshalHeader gives the vector's header byte for byte.
func TestVectorsHeader(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.armored {
			continue // s3up writes binary age files only
		}
		h, err := parseHeader(v.file)
		if structuralHeaderFailures[v.name] {
			if v.expect != "header failure" {
				t.Errorf("%s: listed as a structural header failure, expects %q", v.name, v.expect)
			}
			if err == nil {
				t.Errorf("%s: parseHeader accepted a header the spec's grammar refuses", v.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s (expect %s): parseHeader: %v", v.name, v.expect, err)
			continue
		}
		if v.expect == "header failure" {
			continue // a stanza's content is wrong; its MAC may be anything
		}
		macOK := hmac.Equal(h.mac, headerMAC(v.fileKey, v.file[:h.macEnd]))
		if macOK != (v.expect != "HMAC failure") {
			t.Errorf("%s (expect %s): header MAC matches the file key: %v", v.name, v.expect, macOK)
			continue
		}
		if !macOK {
			continue
		}
		hdr, err := marshalHeader(v.fileKey, h.stanzas)
		if err != nil {
			t.Errorf("%s: marshalHeader: %v", v.name, err)
		} else if !bytes.Equal(hdr, v.file[:h.size]) {
			t.Errorf("%s: marshalHeader wrote\n%q\nthe vector has\n%q", v.name, hdr, v.file[:h.size])
		}
	}
}

// TestVectorsPayload: for every vector with a header age accepts, the
// payload opened with this package's chunk rules (openPayload) succeeds
// exactly when the vector expects success, with the vector's plaintext
// hash; and sealing that plaintext again with the vector's file key, nonce
// and stanzas, through the ReaderAt and through the Reader, reproduces the
// vector's file byte for byte. stream_no_nonce and stream_short_nonce, which
// age classes as header failures, have a payload too short for its nonce,
// and must be refused here too.
func TestVectorsPayload(t *testing.T) {
	reproduced := 0
	for _, v := range loadVectors(t) {
		if v.armored {
			continue
		}
		payloadVector := v.expect == "success" || v.expect == "payload failure" ||
			v.name == "stream_no_nonce" || v.name == "stream_short_nonce"
		if !payloadVector {
			continue
		}
		h, err := parseHeader(v.file)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		plain, err := openPayload(v.fileKey, v.file[h.size:])
		if (err == nil) != (v.expect == "success") {
			t.Errorf("%s (expect %s): openPayload: %v", v.name, v.expect, err)
			continue
		}
		if err != nil {
			continue
		}
		if sum := sha256.Sum256(plain); !bytes.Equal(sum[:], v.payloadSum) {
			t.Errorf("%s: plaintext hash %x, vector says %x", v.name, sum, v.payloadSum)
			continue
		}
		// filippo.io/age agrees on the plaintext.
		if len(v.identities) > 0 {
			if got := decryptAge(t, v.file, v.identities...); !bytes.Equal(got, plain) {
				t.Errorf("%s: age.Decrypt gives another plaintext", v.name)
			}
		}
		var fk [FileKeySize]byte
		var nonce [NonceSize]byte
		copy(fk[:], v.fileKey)
		copy(nonce[:], v.file[h.size:])
		k, err := assemble(fk, nonce, h.stanzas)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if got := sealAll(t, k, plain); !bytes.Equal(got, v.file) {
			t.Errorf("%s: the ReaderAt's object (%d bytes) differs from the vector's (%d bytes)", v.name, len(got), len(v.file))
		}
		if got := sealStream(t, k, bytes.NewReader(plain)); !bytes.Equal(got, v.file) {
			t.Errorf("%s: the Reader's object differs from the vector's", v.name)
		}
		if p, err := k.PlaintextSize(int64(len(v.file))); err != nil || p != int64(len(plain)) {
			t.Errorf("%s: PlaintextSize(%d) = %d, %v; want %d", v.name, len(v.file), p, err, len(plain))
		}
		reproduced++
	}
	// Today's kit has 19 such vectors; fewer means the kit or the filter broke.
	if reproduced < 15 {
		t.Fatalf("only %d vectors reproduced", reproduced)
	}
	t.Logf("%d vectors reproduced byte for byte", reproduced)
}

// openPayload decrypts an age payload (nonce ‖ chunks) under fileKey with
// this package's chunk geometry, the other half of the rules the sealing
// follows: the chunk count and the plaintext size come from the payload's
// size (plainSizeOfPayload refuses a partial chunk too short for its tag,
// and an empty final chunk after full ones), chunk i of n is opened with the
// final flag exactly when i = n-1, and any tag that fails is an error. It
// is for tests: s3up decrypts nothing.
func openPayload(fileKey, payload []byte) ([]byte, error) {
	if len(payload) < NonceSize {
		return nil, errors.New("payload shorter than its nonce")
	}
	plainSize, err := plainSizeOfPayload(int64(len(payload)))
	if err != nil {
		return nil, err
	}
	key, err := hkdf.Key(sha256.New, fileKey, payload[:NonceSize], "payload", chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	n := chunkCount(plainSize)
	chunks := payload[NonceSize:]
	var plain []byte
	for i := range n {
		sealed := chunks[:min(len(chunks), SealedChunkSize)]
		chunks = chunks[len(sealed):]
		nonce := chunkNonce(i, i == n-1)
		if plain, err = aead.Open(plain, nonce[:], sealed, nil); err != nil {
			return nil, fmt.Errorf("chunk %d of %d: %w", i, n, err)
		}
	}
	if int64(len(plain)) != plainSize || len(chunks) != 0 {
		return nil, errors.New("chunk geometry does not add up") // cannot happen
	}
	return plain, nil
}
