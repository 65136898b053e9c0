package seal

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"filippo.io/age"
)

// TestHeaderRoundTrip: random stanzas (argument counts, body lengths across
// the 48-byte line boundary) written by marshalHeader parse back to the same
// stanzas, the whole header consumed and its MAC valid.
func TestHeaderRoundTrip(t *testing.T) {
	rng := testRand(t)
	fk := randBytes(rng, FileKeySize)
	const argChars = "!#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~"
	for range 300 {
		var stanzas []*age.Stanza
		for range 1 + rng.IntN(4) {
			s := &age.Stanza{Body: randBytes(rng, rng.IntN(200))}
			for j := range 1 + rng.IntN(4) {
				var a strings.Builder
				for range 1 + rng.IntN(50) {
					a.WriteByte(argChars[rng.IntN(len(argChars))])
				}
				if j == 0 {
					s.Type = a.String()
				} else {
					s.Args = append(s.Args, a.String())
				}
			}
			if len(s.Args) == 0 {
				s.Args = nil
			}
			stanzas = append(stanzas, s)
		}
		hdr, err := marshalHeader(fk, stanzas)
		if err != nil {
			t.Fatal(err)
		}
		h, err := parseHeader(append(bytes.Clone(hdr), "payload"...))
		if err != nil {
			t.Fatalf("parseHeader(%q): %v", hdr, err)
		}
		for _, s := range h.stanzas {
			if len(s.Args) == 0 {
				s.Args = nil
			}
		}
		if h.size != len(hdr) || !reflect.DeepEqual(h.stanzas, stanzas) {
			t.Fatalf("parseHeader(%q) gave other stanzas or size %d", hdr, h.size)
		}
		if !bytes.Equal(h.mac, headerMAC(fk, hdr[:h.macEnd])) {
			t.Fatal("MAC does not verify")
		}
	}
}

// TestParseHeaderStrict: what the vectors do not cover of the grammar.
func TestParseHeaderStrict(t *testing.T) {
	fk := make([]byte, FileKeySize)
	good, err := marshalHeader(fk, []*age.Stanza{{Type: "X25519", Args: []string{"abc"}, Body: bytes.Repeat([]byte{7}, 20)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseHeader(good); err != nil {
		t.Fatal(err)
	}
	body := b64.EncodeToString(bytes.Repeat([]byte{7}, 20)) // 27 characters
	for name, hdr := range map[string]string{
		"CR in a short body line": strings.Replace(string(good), body, body[:10]+"\r"+body[11:], 1),
		"tab in an argument":      strings.Replace(string(good), "X25519 abc", "X25519\tabc", 1),
		"two spaces":              strings.Replace(string(good), "X25519 abc", "X25519  abc", 1),
		"trailing space":          strings.Replace(string(good), "X25519 abc", "X25519 abc ", 1),
		"no final newline":        strings.TrimSuffix(string(good), "\n"),
		"MAC of 42 characters":    string(good[:len(good)-2]) + "\n",
		"no stanza":               "age-encryption.org/v1\n--- " + strings.Repeat("A", 43) + "\n",
		"v1 with a suffix":        strings.Replace(string(good), "v1\n", "v1 \n", 1),
		"unterminated body":       "age-encryption.org/v1\n-> a\n" + strings.Repeat("A", 64) + "\n",
	} {
		if _, err := parseHeader([]byte(hdr)); !errors.Is(err, errHeader) {
			t.Errorf("%s: parseHeader = %v, want errHeader", name, err)
		}
	}
}

// FuzzParseHeader: parseHeader never panics, and what it accepts writes back
// (with a MAC under any key) to a header it accepts with the same stanzas.
func FuzzParseHeader(f *testing.F) {
	fk := make([]byte, FileKeySize)
	for _, n := range []int{0, 32, 48, 100} {
		hdr, _ := marshalHeader(fk, []*age.Stanza{{Type: "t", Args: []string{"a", "b"}, Body: make([]byte, n)}})
		f.Add(hdr)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHeader(b)
		if err != nil {
			return
		}
		hdr, err := marshalHeader(fk, h.stanzas)
		if err != nil {
			t.Fatalf("parsed stanzas do not write back: %v", err)
		}
		h2, err := parseHeader(hdr)
		if err != nil || !reflect.DeepEqual(h.stanzas, h2.stanzas) {
			t.Fatalf("written back, the header parses to %v, %v", h2, err)
		}
		if !bytes.Equal(hdr[:h.macEnd], b[:h.macEnd]) {
			t.Fatal("a parsed header writes back to other bytes")
		}
	})
}
