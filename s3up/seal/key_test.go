package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"filippo.io/age"
)

// TestExportImport: the exported secret is one line of ASCII and imports to
// a Key that seals identically; ExportSecret is stable.
func TestExportImport(t *testing.T) {
	var recs []age.Recipient
	for _, id := range classic(testIdentities(t)) {
		recs = append(recs, id.recipient)
	}
	k, err := NewKey(recs...)
	if err != nil {
		t.Fatal(err)
	}
	s := k.ExportSecret()
	if strings.ContainsAny(s, "\n\r\" \\") || !strings.HasPrefix(s, secretPrefix) {
		t.Fatalf("exported secret is not one plain line: %.60q", s)
	}
	k2, err := ImportSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	if k2.secret.fileKey != k.secret.fileKey || k2.secret.nonce != k.secret.nonce || !bytes.Equal(k2.Header(), k.Header()) {
		t.Fatal("the imported Key differs")
	}
	if k2.ExportSecret() != s {
		t.Fatal("re-exporting gives another string")
	}
	// The header is the object's, not a copy to keep: mutating it is harmless.
	h := k.Header()
	h[0] ^= 1
	if k.Header()[0] == h[0] {
		t.Fatal("Header returned the Key's own bytes")
	}
}

// TestImportCorrupt: any damage to the exported secret is ErrKeyCorrupt:
// each byte of its decoded form flipped, truncation at every length, a
// wrong prefix, a future version, bad base64. A header whose MAC does not
// match the file key is refused even with a valid checksum.
func TestImportCorrupt(t *testing.T) {
	k, err := NewKey(testIdentities(t)[0].recipient)
	if err != nil {
		t.Fatal(err)
	}
	s := k.ExportSecret()
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(s, secretPrefix))
	if err != nil {
		t.Fatal(err)
	}
	enc := func(b []byte) string { return secretPrefix + base64.RawStdEncoding.EncodeToString(b) }
	corrupt := func(name, v string) {
		t.Helper()
		_, err := ImportSecret(v)
		if !errors.Is(err, ErrKeyCorrupt) {
			t.Fatalf("%s: ImportSecret = %v, want ErrKeyCorrupt", name, err)
		}
		if body, ok := strings.CutPrefix(v, secretPrefix); ok && len(body) > 12 && strings.Contains(err.Error(), body[:12]) {
			t.Fatalf("%s: the error repeats the secret: %v", name, err)
		}
	}
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(raw)
			b[i] ^= bit
			corrupt(fmt.Sprintf("byte %d ^ %#x", i, bit), enc(b))
		}
	}
	for n := range raw {
		corrupt(fmt.Sprintf("truncated to %d", n), enc(raw[:n]))
	}
	corrupt("empty", "")
	corrupt("no prefix", strings.TrimPrefix(s, secretPrefix))
	corrupt("other prefix", "age-seal-key-v2:"+strings.TrimPrefix(s, secretPrefix))
	corrupt("newline", s+"\n")
	corrupt("padding", s+"==")
	corrupt("not base64", s[:len(s)-3]+"!!!")

	// A valid checksum over a header whose MAC is for another file key.
	other, _ := NewKey(testIdentities(t)[0].recipient)
	b := []byte{secretVersion}
	b = append(b, k.secret.fileKey[:]...)
	b = append(b, k.secret.nonce[:]...)
	b = append(b, other.Header()...)
	b = appendSum(b)
	corrupt("header of another key", enc(b))

	// A valid checksum over a future version.
	b = bytes.Clone(raw[:len(raw)-secretSumSize])
	b[0] = 2
	corrupt("version 2", enc(appendSum(b)))
	// Bytes after the header.
	b = bytes.Clone(raw[:len(raw)-secretSumSize])
	b = append(b, '\n')
	corrupt("trailing bytes", enc(appendSum(b)))
}

func appendSum(b []byte) []byte {
	sum := sha256.Sum256(b)
	return append(b, sum[:secretSumSize]...)
}

// TestKeyRedacted: no way of printing a Key, or a struct holding one, or
// logging it, shows the file key, the nonce or the exported secret.
func TestKeyRedacted(t *testing.T) {
	k, err := NewKey(testIdentities(t)[0].recipient)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{
		hex.EncodeToString(k.secret.fileKey[:]),
		hex.EncodeToString(k.secret.nonce[:]),
		strings.ToUpper(hex.EncodeToString(k.secret.fileKey[:])),
		base64.RawStdEncoding.EncodeToString(k.secret.fileKey[:])[:16],
		base64.StdEncoding.EncodeToString(k.secret.fileKey[:])[:16],
		fmt.Sprint(k.secret.fileKey[:4])[1:], // "12 34 56 78" as %v prints a byte slice
		string(k.secret.fileKey[:]),
		k.ExportSecret()[len(secretPrefix):][:16],
	}
	type holder struct {
		Name string
		Key  *Key
		Val  Key
		key  Key // unexported: fmt prints it raw, without Format
		ptr  *Key
	}
	h := holder{"x", k, *k, *k, k}
	var out []string
	verbs := []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"}
	for _, verb := range verbs {
		out = append(out, fmt.Sprintf(verb, k), fmt.Sprintf(verb, *k), fmt.Sprintf(verb, h), fmt.Sprintf(verb, []*Key{k}))
	}
	out = append(out, k.String(), k.GoString(), fmt.Sprint(k))
	j, _ := json.Marshal(h)
	out = append(out, string(j))
	var logs bytes.Buffer
	for _, handler := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		slog.New(handler).Info("upload", "key", k, "val", *k)
	}
	out = append(out, logs.String())
	// The readers hold the Key by pointer. (A Reader's buffer holds the
	// object's bytes, nonce included, as they go out: those are no secret.)
	ra := k.NewReaderAt(bytes.NewReader(nil), 0)
	for _, verb := range verbs {
		out = append(out, fmt.Sprintf(verb, ra), fmt.Sprintf(verb, *ra), fmt.Sprintf(verb, *k.NewReader(nil)), fmt.Sprintf(verb, *ra.Section(0, 1)))
	}
	for _, o := range out {
		for _, s := range secrets {
			if strings.Contains(o, s) {
				t.Fatalf("printed %q contains a secret (%q)", o, s)
			}
		}
	}
	if !strings.Contains(k.String(), "redacted") {
		t.Fatalf("String() = %q", k.String())
	}
}
