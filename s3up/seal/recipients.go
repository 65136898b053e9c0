package seal

import (
	"bufio"
	"crypto/rsa"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// ErrRecipient is wrapped by every error about the recipients: malformed,
// unsupported, a recipients file that cannot be read, none at all, or types
// that cannot be mixed in one file. Nothing has been encrypted or sent when
// it is returned: the CLI maps it to exit 2 (bad input).
var ErrRecipient = errors.New("bad recipient")

// Reasons a RecipientError gives, for errors.Is (each also matches
// ErrRecipient).
var (
	// ErrMalformedRecipient: the value has a known prefix but does not parse.
	ErrMalformedRecipient = errors.New("malformed recipient")
	// ErrUnknownRecipient: the value is no recipient type age knows.
	ErrUnknownRecipient = errors.New("unknown recipient type")
	// ErrUnsupportedRecipient: age knows the type, s3up does not encrypt to it
	// (plugin and hardware-tag recipients, "github:" names).
	ErrUnsupportedRecipient = errors.New("unsupported recipient type")
	// ErrIdentityAsRecipient: a secret key (AGE-SECRET-KEY-…) where a public
	// one belongs. Its value is never repeated in the error.
	ErrIdentityAsRecipient = errors.New("a secret key (identity) is not a recipient")
	// ErrNoRecipients: nothing to encrypt to (an empty list, or a recipients
	// file with only comments).
	ErrNoRecipients = errors.New("no recipients")
	// ErrIncompatibleRecipients: recipients that age refuses to put in one
	// file, such as a post-quantum one with classic ones.
	ErrIncompatibleRecipients = errors.New("incompatible recipients")
)

// A RecipientError says which recipient is wrong and why. It never holds a
// recipients file's contents, and never a value that looks like a secret key.
type RecipientError struct {
	// File is the recipients file's name, empty for a single value.
	File string
	// Line is the 1-based line in File, 0 when the error is about the whole
	// file or about a single value.
	Line int
	// Value is the offending value, shortened, when it is safe to show (a
	// value given on its own, not a line of a file).
	Value string
	// Err is the reason: one of the Err… variables above, maybe wrapped with
	// detail.
	Err error
}

func (e *RecipientError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "recipients file %q: line %d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "recipients file %q: ", e.File)
	case e.Value != "":
		fmt.Fprintf(&b, "recipient %q: ", e.Value)
	default:
		b.WriteString("recipient: ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap gives errors.Is both ErrRecipient and the reason.
func (e *RecipientError) Unwrap() []error { return []error{ErrRecipient, e.Err} }

// Limits of age's recipients files (cmd/age parseRecipientsFile), kept so
// that a file age accepts is one s3up accepts.
const (
	recipientsFileLimit = 16 << 20 // 16 MiB
	recipientLineLimit  = 8 << 10  // 8 KiB, as sshd(8)
	shownValueLimit     = 40       // characters of a bad value repeated in an error
)

// ParseRecipient parses one recipient as `age -r` takes it:
//   - age1… an X25519 public key;
//   - age1pq1… a hybrid post-quantum (ML-KEM-768 + X25519) public key, which
//     age 1.3 and later decrypt (Debian's age 1.1 does not) and which cannot be
//     mixed with classic recipients;
//   - ssh-ed25519 … and ssh-rsa … (at least 2048 bits) SSH public keys, in the
//     authorized_keys form (a comment may follow).
//
// Plugin recipients (age1NAME1…), hardware-tag recipients (age1tag1…,
// age1tagpq1…) and "github:" names are ErrUnsupportedRecipient: s3up runs no
// plugins. Every error is a *RecipientError wrapping ErrRecipient.
func ParseRecipient(s string) (age.Recipient, error) {
	r, err := parseRecipient(s)
	if err != nil {
		if t, ok := unsupportedSSHKey(s); ok {
			err = fmt.Errorf("%w: SSH key of type %s: age encrypts to ssh-ed25519 and ssh-rsa keys of 2048 bits or more", ErrUnsupportedRecipient, t)
		}
		re := &RecipientError{Err: err}
		if !errors.Is(err, ErrIdentityAsRecipient) {
			re.Value = shorten(s)
		}
		return nil, re
	}
	return r, nil
}

// parseRecipient dispatches on the prefix as age's CLI does; its errors
// carry no part of s.
func parseRecipient(s string) (age.Recipient, error) {
	switch {
	case strings.HasPrefix(s, "AGE-"):
		return nil, ErrIdentityAsRecipient
	case strings.HasPrefix(s, "age1tag1") || strings.HasPrefix(s, "age1tagpq1"):
		return nil, fmt.Errorf("%w: hardware-tag recipient (age1tag…): decrypting it needs a plugin; s3up runs none", ErrUnsupportedRecipient)
	case strings.HasPrefix(s, "age1pq1"):
		r, err := age.ParseHybridRecipient(s)
		if err != nil {
			return nil, fmt.Errorf("%w: not a valid age1pq1 post-quantum public key", ErrMalformedRecipient)
		}
		return r, nil
	case strings.HasPrefix(s, "age1") && strings.Count(s, "1") > 1:
		// Bech32's data alphabet has no "1": a second one ends a plugin name.
		name := s[len("age1"):strings.LastIndex(s, "1")]
		return nil, fmt.Errorf("%w: plugin recipient (age-plugin-%.20s): s3up runs no plugins", ErrUnsupportedRecipient, name)
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, fmt.Errorf("%w: not a valid age1 X25519 public key", ErrMalformedRecipient)
		}
		return r, nil
	case strings.HasPrefix(s, "ssh-"):
		r, err := agessh.ParseRecipient(s)
		if err != nil {
			// agessh's message repeats the whole value: give the type only.
			return nil, fmt.Errorf("%w: not a usable ssh-ed25519 or ssh-rsa (2048 bits or more) public key", ErrMalformedRecipient)
		}
		return r, nil
	case strings.HasPrefix(s, "github:"):
		return nil, fmt.Errorf("%w: \"github:\" recipients were removed from age; fetch the keys and use them as a recipients file", ErrUnsupportedRecipient)
	}
	return nil, fmt.Errorf("%w (want age1…, age1pq1…, ssh-ed25519 or ssh-rsa)", ErrUnknownRecipient)
}

// A SkippedRecipient is a line of a recipients file that age skips with a
// warning: a well-formed SSH public key of a type age cannot encrypt to
// (ecdsa, sk-…, an RSA key under 2048 bits). The caller should warn as age
// does.
type SkippedRecipient struct {
	File    string
	Line    int
	KeyType string
}

func (s SkippedRecipient) String() string {
	return fmt.Sprintf("recipients file %q: ignoring unsupported SSH key of type %q at line %d", s.File, s.KeyType, s.Line)
}

// ParseRecipientsFile reads a recipients file as `age -R` does: one recipient
// a line, as ParseRecipient takes it; empty lines and lines starting with "#"
// are ignored; CRLF line ends are accepted; the file must be UTF-8, at most
// 16 MiB, with lines of at most 8 KiB, and name at least one recipient. name
// is only for messages. Errors give the line number, never the line: a
// recipients file may be a secret file given by mistake.
func ParseRecipientsFile(name string, r io.Reader) ([]age.Recipient, []SkippedRecipient, error) {
	fail := func(line int, err error) ([]age.Recipient, []SkippedRecipient, error) {
		return nil, nil, &RecipientError{File: name, Line: line, Err: err}
	}
	lr := &io.LimitedReader{R: r, N: recipientsFileLimit + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(nil, recipientsFileLimit+1)
	var (
		recs    []age.Recipient
		skipped []SkippedRecipient
		n       int
	)
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !utf8.ValidString(line) {
			return fail(n, fmt.Errorf("%w: not valid UTF-8", ErrMalformedRecipient))
		}
		if len(line) > recipientLineLimit {
			return fail(n, fmt.Errorf("%w: line is longer than %d bytes", ErrMalformedRecipient, recipientLineLimit))
		}
		rec, err := parseRecipient(line)
		if err != nil {
			if t, ok := unsupportedSSHKey(line); ok {
				skipped = append(skipped, SkippedRecipient{File: name, Line: n, KeyType: t})
				continue
			}
			return fail(n, err)
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		return fail(0, fmt.Errorf("read: %w", err))
	}
	if lr.N == 0 {
		return fail(0, fmt.Errorf("%w: the file is larger than %d MiB", ErrMalformedRecipient, recipientsFileLimit>>20))
	}
	if len(recs) == 0 {
		return fail(0, fmt.Errorf("%w found", ErrNoRecipients))
	}
	return recs, skipped, nil
}

// ReadRecipientsFile opens path and parses it with ParseRecipientsFile; a
// file that cannot be opened or read is a *RecipientError too.
func ReadRecipientsFile(path string) ([]age.Recipient, []SkippedRecipient, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, &RecipientError{File: path, Err: fmt.Errorf("cannot open: %w", err)}
	}
	defer f.Close()
	return ParseRecipientsFile(path, f)
}

// unsupportedSSHKey reports whether line is a well-formed SSH public key
// that age skips in a recipients file rather than refusing the file: its
// wire-format type matches the first field and is neither ssh-ed25519 nor an
// ssh-rsa key of 2048 bits or more.
func unsupportedSSHKey(line string) (keyType string, ok bool) {
	fields := strings.Split(line, " ")
	if len(fields) < 2 {
		return "", false
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil || len(blob) < 4 {
		return "", false
	}
	n := binary.BigEndian.Uint32(blob)
	if uint64(n) > uint64(len(blob)-4) || string(blob[4:4+n]) != fields[0] {
		return "", false
	}
	switch t := fields[0]; t {
	case "ssh-ed25519":
		return "", false
	case "ssh-rsa":
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return "", false
		}
		ck, ok := pk.(ssh.CryptoPublicKey)
		if !ok {
			return "", false
		}
		k, ok := ck.CryptoPublicKey().(*rsa.PublicKey)
		return t, ok && k.N.BitLen() < 2048
	default:
		return t, true
	}
}

// shorten keeps the start of a bad value for a message: enough to recognize
// it, not a screenful of RSA key.
func shorten(s string) string {
	if len(s) <= shownValueLimit {
		return s
	}
	cut := shownValueLimit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
