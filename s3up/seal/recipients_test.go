package seal

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

func authorizedKey(t *testing.T, priv any) string {
	t.Helper()
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
}

// TestParseRecipient: each type age's CLI takes with -r parses to the
// recipient type age would use, and every other value is a RecipientError
// with the right reason, which shows the value only when it is no secret.
func TestParseRecipient(t *testing.T) {
	ids := testIdentities(t)
	for _, id := range ids {
		r, err := ParseRecipient(id.public)
		if err != nil {
			t.Fatalf("%s: %v", id.name, err)
		}
		if reflect.TypeOf(r) != reflect.TypeOf(id.recipient) {
			t.Fatalf("%s: parsed to %T, want %T", id.name, r, id.recipient)
		}
	}

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := age.GenerateX25519Identity()
	x := ids[0].public
	for _, tc := range []struct {
		value    string
		reason   error
		showable bool
	}{
		{"", ErrUnknownRecipient, false},
		{"hello", ErrUnknownRecipient, true},
		{badChecksum(x), ErrMalformedRecipient, true},
		{strings.ToUpper(x), ErrUnknownRecipient, true},
		{"age1pq1qqqq", ErrMalformedRecipient, true},
		{"age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t", ErrUnsupportedRecipient, true},
		{"age1tag1qt8lw0ual6avlwmwatk888yqnmdamm7xfd0wak53ut6elz5c4swx2yqdj4e", ErrUnsupportedRecipient, true},
		{"github:someone", ErrUnsupportedRecipient, true},
		{authorizedKey(t, small), ErrUnsupportedRecipient, true},
		{authorizedKey(t, ec), ErrUnsupportedRecipient, true},
		{"ssh-ed25519 AAAA", ErrMalformedRecipient, true},
		{secret.String(), ErrIdentityAsRecipient, false},
	} {
		_, err := ParseRecipient(tc.value)
		var re *RecipientError
		if !errors.As(err, &re) || !errors.Is(err, ErrRecipient) || !errors.Is(err, tc.reason) {
			t.Errorf("ParseRecipient(%.30q) = %v, want a RecipientError for %v", tc.value, err, tc.reason)
			continue
		}
		msg := err.Error()
		if strings.HasPrefix(tc.value, "AGE-") && strings.Contains(msg, tc.value[4:20]) {
			t.Errorf("the error repeats a secret key: %s", msg)
		}
		if tc.showable && !strings.Contains(msg, shorten(tc.value)) {
			t.Errorf("the error %q does not name the value", msg)
		}
		if len(msg) > 250 {
			t.Errorf("the error is %d bytes long: %s", len(msg), msg)
		}
	}
}

// TestParseRecipientsFile: a file as `age -R` reads it: comments, blank
// lines and CRLF ends are fine; unsupported SSH key types are skipped (with
// the line), every other bad line fails the whole file, naming the line and
// never its text.
func TestParseRecipientsFile(t *testing.T) {
	ids := testIdentities(t)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	var good strings.Builder
	good.WriteString("# backup keys\n\n")
	for _, id := range classic(ids) {
		fmt.Fprintf(&good, "%s\r\n", id.public)
	}
	good.WriteString("#" + authorizedKey(t, ec) + "\n")  // a commented-out key
	good.WriteString(authorizedKey(t, ec) + " laptop\n") // line 8: skipped, as age does
	good.WriteString(authorizedKey(t, small) + " old\n") // line 9: too small, skipped
	good.WriteString("\n# end")                          // no final newline
	recs, skipped, err := ParseRecipientsFile("keys.txt", strings.NewReader(good.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(classic(ids)) {
		t.Fatalf("%d recipients, want %d", len(recs), len(classic(ids)))
	}
	want := []SkippedRecipient{{"keys.txt", 8, "ecdsa-sha2-nistp256"}, {"keys.txt", 9, "ssh-rsa"}}
	if !reflect.DeepEqual(skipped, want) {
		t.Fatalf("skipped %+v, want %+v", skipped, want)
	}
	if s := skipped[0].String(); !strings.Contains(s, "line 8") || !strings.Contains(s, "ecdsa") {
		t.Fatalf("skipped line message: %s", s)
	}

	secret, _ := age.GenerateX25519Identity()
	x := ids[0].public
	for _, tc := range []struct {
		name, content string
		line          int
		reason        error
	}{
		{"empty", "", 0, ErrNoRecipients},
		{"only comments", "# nothing\n\n#\n", 0, ErrNoRecipients},
		{"only skipped", authorizedKey(t, ec) + "\n", 0, ErrNoRecipients},
		{"garbage", x + "\nnot a key\n", 2, ErrUnknownRecipient},
		{"leading space", " " + x + "\n", 1, ErrUnknownRecipient}, // age does not trim
		{"trailing space", x + " \n", 1, ErrMalformedRecipient},
		{"secret key", x + "\n" + secret.String() + "\n", 2, ErrIdentityAsRecipient},
		{"plugin", "age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t\n", 1, ErrUnsupportedRecipient},
		{"long line", x + "\n" + strings.Repeat("a", 9000) + "\n", 2, ErrMalformedRecipient},
		{"not UTF-8", x + "\n\xff\xfe\n", 2, ErrMalformedRecipient},
		{"too large", strings.Repeat("#"+strings.Repeat("x", 1000)+"\n", 17<<10), 0, ErrMalformedRecipient},
	} {
		_, _, err := ParseRecipientsFile("keys.txt", strings.NewReader(tc.content))
		var re *RecipientError
		if !errors.As(err, &re) || !errors.Is(err, ErrRecipient) || !errors.Is(err, tc.reason) {
			t.Errorf("%s: %v, want a RecipientError for %v", tc.name, err, tc.reason)
			continue
		}
		if re.File != "keys.txt" || re.Line != tc.line || re.Value != "" {
			t.Errorf("%s: error at file %q line %d value %q, want line %d and no value", tc.name, re.File, re.Line, re.Value, tc.line)
		}
		msg := err.Error()
		if tc.line > 0 && !strings.Contains(msg, fmt.Sprintf("line %d", tc.line)) {
			t.Errorf("%s: %q does not name line %d", tc.name, msg, tc.line)
		}
		if strings.Contains(msg, "not a key") || strings.Contains(msg, secret.String()[:20]) || strings.Contains(msg, x) {
			t.Errorf("%s: the error repeats the file's text: %s", tc.name, msg)
		}
	}
}

// TestReadRecipientsFile: from a path, and a path that cannot be read is a
// recipient error too (exit 2, nothing sent).
func TestReadRecipientsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "recipients")
	if err := os.WriteFile(path, []byte(testIdentities(t)[0].public+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if recs, _, err := ReadRecipientsFile(path); err != nil || len(recs) != 1 {
		t.Fatalf("ReadRecipientsFile = %d recipients, %v", len(recs), err)
	}
	_, _, err := ReadRecipientsFile(filepath.Join(dir, "missing"))
	if !errors.Is(err, ErrRecipient) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v, want ErrRecipient wrapping os.ErrNotExist", err)
	}
	_, _, err = ReadRecipientsFile(dir) // a directory: open works, read fails
	if !errors.Is(err, ErrRecipient) {
		t.Fatalf("directory: %v, want ErrRecipient", err)
	}
}

// badChecksum changes the last character of a Bech32 string to another of
// the alphabet, so its checksum no longer holds.
func badChecksum(s string) string {
	last := "q"
	if strings.HasSuffix(s, "q") {
		last = "p"
	}
	return s[:len(s)-1] + last
}
