package seal

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
)

// The header, as the age spec (C2SP age, "Header") writes it:
//
//	age-encryption.org/v1
//	-> X25519 <base64 share>
//	<base64 body, 64 columns a line, ending with a line shorter than 64, maybe empty>
//	--- <base64 HMAC-SHA-256 of everything up to and including "---">
const (
	versionLine  = "age-encryption.org/v1\n"
	stanzaPrefix = "-> "
	macMark      = "---"
	bodyColumns  = 64
	macSize      = sha256.Size
)

// b64 is the spec's base64: standard alphabet, no padding, canonical only.
// Go's decoder skips '\r' and '\n', which the spec does not: every encoded
// string is checked with isBase64 before it is decoded.
var b64 = base64.RawStdEncoding.Strict()

// errHeader is wrapped by every header parse error.
var errHeader = errors.New("malformed age header")

func headerErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errHeader, fmt.Sprintf(format, args...))
}

// headerMAC is the spec's header MAC: HMAC-SHA-256 keyed with
// HKDF-SHA-256(ikm = file key, salt = empty, info = "header") over the header
// up to and including the "---" mark.
func headerMAC(fileKey, headerUpToMark []byte) []byte {
	key, err := hkdf.Key(sha256.New, fileKey, nil, "header", 32)
	if err != nil {
		panic("seal: HKDF-SHA-256 refused a 32-byte key: " + err.Error())
	}
	h := hmac.New(sha256.New, key)
	h.Write(headerUpToMark)
	return h.Sum(nil)
}

// marshalHeader writes the header that wraps fileKey in stanzas, MAC
// included. It refuses a stanza the spec's grammar cannot carry (a custom
// Recipient could return one), rather than write a header age cannot parse.
func marshalHeader(fileKey []byte, stanzas []*age.Stanza) ([]byte, error) {
	if len(stanzas) == 0 {
		return nil, headerErrorf("no recipient stanza")
	}
	var b bytes.Buffer
	b.WriteString(versionLine)
	for i, s := range stanzas {
		if err := checkArgument(s.Type); err != nil {
			return nil, fmt.Errorf("stanza %d type: %w", i+1, err)
		}
		b.WriteString(stanzaPrefix)
		b.WriteString(s.Type)
		for _, a := range s.Args {
			if err := checkArgument(a); err != nil {
				return nil, fmt.Errorf("stanza %d (%s) argument: %w", i+1, s.Type, err)
			}
			b.WriteByte(' ')
			b.WriteString(a)
		}
		b.WriteByte('\n')
		body := b64.EncodeToString(s.Body)
		// Full lines of 64 columns, then one shorter line, which is empty
		// when the body fills its last line (or is empty).
		for len(body) >= bodyColumns {
			b.WriteString(body[:bodyColumns])
			b.WriteByte('\n')
			body = body[bodyColumns:]
		}
		b.WriteString(body)
		b.WriteByte('\n')
	}
	b.WriteString(macMark)
	mac := headerMAC(fileKey, b.Bytes())
	b.WriteByte(' ')
	b.WriteString(b64.EncodeToString(mac))
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// checkArgument enforces argument = 1*VCHAR.
func checkArgument(a string) error {
	if a == "" {
		return headerErrorf("empty stanza argument")
	}
	for i := 0; i < len(a); i++ {
		if a[i] < 0x21 || a[i] > 0x7e {
			return headerErrorf("stanza argument has byte %#02x (want printable ASCII, no space)", a[i])
		}
	}
	return nil
}

// parsedHeader is a header read back by parseHeader.
type parsedHeader struct {
	stanzas []*age.Stanza
	mac     []byte
	macEnd  int // length of the header up to and including "---": what the MAC covers
	size    int // length of the whole header, final newline included
}

// parseHeader reads the header at the start of b, strictly by the spec's
// ABNF: what follows it (the payload) is not looked at. It checks the
// structure only; whether a stanza is well formed for its recipient type is
// the identity's business, and the MAC is checked by the caller, which has
// the file key.
func parseHeader(b []byte) (*parsedHeader, error) {
	if !bytes.HasPrefix(b, []byte(versionLine)) {
		line, _, _ := bytes.Cut(b, []byte("\n"))
		if bytes.HasPrefix(line, []byte("age-encryption.org/")) {
			return nil, headerErrorf("unsupported version line %.40q", line)
		}
		return nil, headerErrorf("not an age file (no version line)")
	}
	pos := len(versionLine)
	h := &parsedHeader{}
	for {
		line, next, ok := nextLine(b, pos)
		if !ok {
			return nil, headerErrorf("header ends without a MAC line")
		}
		switch {
		case strings.HasPrefix(line, stanzaPrefix):
			s, end, err := parseStanza(b, line, next)
			if err != nil {
				return nil, fmt.Errorf("stanza %d: %w", len(h.stanzas)+1, err)
			}
			h.stanzas = append(h.stanzas, s)
			pos = end
		case strings.HasPrefix(line, macMark):
			if len(h.stanzas) == 0 {
				return nil, headerErrorf("no recipient stanza")
			}
			enc, ok := strings.CutPrefix(line, macMark+" ")
			if !ok || len(enc) != 43 || !isBase64(enc) {
				return nil, headerErrorf("MAC line is not \"--- \" and 43 base64 characters")
			}
			mac, err := b64.DecodeString(enc)
			if err != nil || len(mac) != macSize {
				return nil, headerErrorf("MAC is not canonical base64 of 32 bytes")
			}
			h.mac = mac
			h.macEnd = pos + len(macMark)
			h.size = next
			return h, nil
		default:
			return nil, headerErrorf("line %.20q is neither a stanza nor the MAC line", line)
		}
	}
}

// parseStanza reads the stanza whose argument line is line and whose body
// starts at b[pos:]; it returns the stanza and where the header goes on.
func parseStanza(b []byte, line string, pos int) (*age.Stanza, int, error) {
	args := strings.Split(strings.TrimPrefix(line, stanzaPrefix), " ")
	for _, a := range args {
		if err := checkArgument(a); err != nil {
			return nil, 0, err
		}
	}
	var body strings.Builder
	for {
		l, next, ok := nextLine(b, pos)
		if !ok {
			return nil, 0, headerErrorf("stanza body does not end with a line shorter than 64 columns")
		}
		if len(l) > bodyColumns || !isBase64(l) {
			return nil, 0, headerErrorf("stanza body line is not up to 64 base64 characters")
		}
		body.WriteString(l)
		pos = next
		if len(l) < bodyColumns {
			break
		}
	}
	dec, err := b64.DecodeString(body.String())
	if err != nil {
		return nil, 0, headerErrorf("stanza body is not canonical base64")
	}
	return &age.Stanza{Type: args[0], Args: args[1:], Body: dec}, pos, nil
}

// nextLine returns the line at b[pos:] without its LF, and where the next one
// starts; ok is false when no LF ends it.
func nextLine(b []byte, pos int) (line string, next int, ok bool) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		return "", 0, false
	}
	return string(b[pos : pos+i]), pos + i + 1, true
}

// isBase64 reports whether s holds only the spec's base64char (no '=', no CR
// or LF, which Go's decoder would skip).
func isBase64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}
