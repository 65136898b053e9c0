package s3up

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"filippo.io/age"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/seal"
	"github.com/s3up/s3up/s3up/store"
)

// Sealed uploads. With Options.Seal, what is uploaded is the age file of
// the source (package seal): a file's parts are ranges of its ciphertext,
// read through a seal.ReaderAt over the file, so the plan, the part
// checksums, the resume and the verification all work on the ciphertext
// as on any object. The key material (file key and payload nonce) is drawn
// once per upload and kept in the journal (resume.Header.Sealed), so that a
// rerun re-encrypts only the parts it sends and gets exactly the bytes the
// server holds for the others.

// Metadata s3up stores with a sealed object (x-amz-meta-…).
const (
	// EncryptionKey says how the object is sealed: EncryptionAge.
	EncryptionKey = "s3up-encryption"
	// EncryptionAge is EncryptionKey's value for an age file.
	EncryptionAge = "age"
	// PlaintextSizeKey is the size of what was sealed, in decimal bytes.
	PlaintextSizeKey = "s3up-plaintext-size"
	// SealedSuffix ends the key of every file of a sealed tree.
	SealedSuffix = ".age"
)

// A Seal is a set of age recipients to encrypt uploads to. Build it with
// ParseSeal (recipients as the age tool takes them) or NewSeal.
type Seal struct {
	recipients []age.Recipient
	id         string // names the set: a journal sealed to another set is not resumed
}

// NewSeal returns a Seal to the given recipients. id names the set of
// recipients: an interrupted upload sealed to a set of another id is not
// resumed (it starts over, with a new key). Empty, it is derived from the
// recipients, which must then all be fmt.Stringer (age.X25519Recipient is).
// The recipients are checked by wrapping a key to them: errors wrap
// ErrBadInput and seal.ErrRecipient.
func NewSeal(id string, recipients ...age.Recipient) (*Seal, error) {
	if id == "" {
		var names []string
		for i, r := range recipients {
			st, ok := r.(fmt.Stringer)
			if !ok {
				return nil, fmt.Errorf("%w: recipient %d (%T) has no String: give NewSeal an id for the set", ErrBadInput, i+1, r)
			}
			names = append(names, st.String())
		}
		id = setID(names)
	}
	if _, err := seal.NewKey(recipients...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return &Seal{recipients: slices.Clone(recipients), id: id}, nil
}

// ParseSeal parses recipients as `age -r` takes them (age1…, age1pq1…,
// ssh-ed25519, ssh-rsa) and recipients files as `age -R` reads them. The
// SSH keys of a file that age skips are returned, to be warned about.
// Errors wrap ErrBadInput and seal.ErrRecipient, and come before anything
// is sent.
func ParseSeal(values, files []string) (*Seal, []seal.SkippedRecipient, error) {
	z, skipped, err := parseSeal(values, files)
	if err != nil {
		return nil, nil, store.WithHint(err, store.HintRecipients)
	}
	return z, skipped, nil
}

func parseSeal(values, files []string) (*Seal, []seal.SkippedRecipient, error) {
	var (
		recs    []age.Recipient
		names   []string
		skipped []seal.SkippedRecipient
	)
	for _, v := range values {
		r, err := seal.ParseRecipient(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrBadInput, err)
		}
		recs, names = append(recs, r), append(names, strings.TrimSpace(v))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrBadInput, &seal.RecipientError{File: f, Err: fmt.Errorf("cannot read: %w", err)})
		}
		rs, sk, err := seal.ParseRecipientsFile(f, bytes.NewReader(data))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrBadInput, err)
		}
		recs, skipped = append(recs, rs...), append(skipped, sk...)
		for _, l := range strings.Split(string(data), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				names = append(names, l)
			}
		}
	}
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadInput, &seal.RecipientError{Err: seal.ErrNoRecipients})
	}
	z, err := NewSeal(setID(names), recs...)
	return z, skipped, err
}

// setID names a set of recipients by their text: the order and repeats do
// not matter.
func setID(names []string) string {
	names = slices.Clone(names)
	slices.Sort(names)
	names = slices.Compact(names)
	h := sha256.Sum256([]byte(strings.Join(names, "\n")))
	return hex.EncodeToString(h[:16])
}

// sealMark is what a sealed upload adds to its source's fingerprint in the
// journal: the recipients' set. Another set, or no seal, is another
// source, so a journal of the other kind is never resumed.
const sealMark = " sealed-to:"

func (z *Seal) fingerprint(plain string) string { return plain + sealMark + z.id }

// sealedObject is what a sealed session knows of its object.
type sealedObject struct {
	key   *seal.Key
	plain int64       // the plaintext's size; -1 for a stream of unknown size
	src   io.ReaderAt // a file's plaintext
	// stream: a stream's plaintext and what binds its key (sealedstream.go).
	stream *streamSeal
}

// sealWith makes the session upload the sealed object of its source. st
// is the journal found (nil for none): its key is taken again only if the
// journal is of this very source sealed to these recipients, never for
// another plaintext, which would reuse the file key and nonce on other
// bytes. A stream takes it again only from a journal that recorded each
// part before sending it (sealedstream.go), which binds what it may send
// under the key; a sealed stream's journal without those records starts
// over (sealRestart).
func (s *session) sealWith(st *resume.State) error {
	z := s.opts.Seal
	if z == nil || s.sealed != nil {
		return nil
	}
	stream := s.data.inMemory()
	plain := s.id.Size
	if stream {
		plain = s.src.(*streamOrigin).st.expected()
	}
	id := s.id
	id.Fingerprint = z.fingerprint(id.Fingerprint)
	var key *seal.Key
	if st != nil && st.Sealed != "" && !stream && !s.opts.Fresh {
		k, err := seal.ImportSecret(st.Sealed)
		if err != nil {
			return store.WithHint(fmt.Errorf("%w: resume state %s: %w", ErrState, s.sc.Path(), err), store.HintFresh)
		}
		cand := id
		cand.Size = k.CiphertextSize(plain)
		if len(st.Source.Diff(cand)) == 0 {
			key = k
		}
	}
	kept := false
	if stream && keepStreamKey(st, id, s.opts.Fresh) {
		k, err := seal.ImportSecret(st.Sealed)
		if err != nil {
			return store.WithHint(fmt.Errorf("%w: resume state %s: %w", ErrState, s.sc.Path(), err), store.HintFresh)
		}
		key, kept = k, true
	}
	if stream && st != nil && !kept {
		s.sealRestart = true
	}
	if key == nil {
		k, err := seal.NewKey(z.recipients...)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadInput, err)
		}
		key = k
	}
	s.sealed = &sealedObject{key: key, plain: plain}
	s.id = id
	if s.meta == nil {
		s.meta = map[string]string{}
	}
	s.meta[EncryptionKey] = EncryptionAge
	if plain >= 0 {
		s.meta[PlaintextSizeKey] = strconv.FormatInt(plain, 10)
	}
	// The object is an age file, whatever the source's name says.
	s.typeName = "sealed"
	if stream {
		s.sealStream(key, kept, st)
		return nil
	}
	s.id.Size = key.CiphertextSize(plain)
	s.res.Size = s.id.Size
	s.sealed.src = s.ra
	s.ra = key.NewReaderAt(s.ra, plain)
	return nil
}

// errRekey: a sealed resume found the source's bytes differ from what the
// interrupted upload sent under its key (the file was edited in place with
// its identity unchanged).
var errRekey = errors.New("the source differs from what was sealed under the journal's key")

// rekey starts a sealed upload over under a new key, when sending the
// parts that changed under the journal's key would seal other plaintext
// with the same file key and nonce (the store would see both). The
// journal, with the old key, goes first; the old upload is aborted.
func (s *session) rekey(ctx context.Context, d decision, path string) error {
	k, err := seal.NewKey(s.opts.Seal.recipients...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if k.CiphertextSize(s.sealed.plain) != s.id.Size {
		return store.WithHint(fmt.Errorf("%w: %s changed since the sealed upload started, and sealing it again changes its size: start over", ErrState, s.res.Source), store.HintFresh)
	}
	if err := s.forgetKey(ctx, path, "the source changed since it was sealed: sealed again under a new key"); err != nil {
		return err
	}
	s.sealed.key = k
	s.ra = k.NewReaderAt(s.sealed.src, s.sealed.plain)
	s.data = fileParts{src: s.ra, plan: d.plan}
	s.reason = "the source changed since it was sealed: sealed again under a new key, never the same key on other bytes"
	s.newUpload(s.w.alg)
	s.feed = newListFeed(allParts(d.plan.Count), d.plan.Count)
	s.ev.plan(s.id.Size, d.plan.Count, 0, 0)
	return nil
}

// forgetKey removes the journal at path, with the key it holds, locks the
// journal of the upload that replaces it, and aborts the journal's upload
// (why says why): a sealed upload starting over under a new key.
func (s *session) forgetKey(ctx context.Context, path, why string) error {
	old := s.uploadID
	if err := s.sc.Remove(); err != nil {
		return fmt.Errorf("%w: remove resume state %s: %w", ErrState, path, err)
	}
	sc, err := lockJournal(path, s.res.Source, s.dest)
	if err != nil {
		return err
	}
	s.sc = sc
	s.abortOld(ctx, old, why)
	return nil
}

// SealedIdentity is the identity a sealed journal records for a source of
// identity src (for status): the size of its ciphertext and the
// fingerprint with its recipients' set. A journal not sealed, or that
// cannot be read, gives src.
func SealedIdentity(st *resume.State, src resume.Source) resume.Source {
	if st == nil || st.Sealed == "" {
		return src
	}
	k, err := seal.ImportSecret(st.Sealed)
	if err != nil {
		return src
	}
	if rest, ok := strings.CutPrefix(st.Source.Fingerprint, src.Fingerprint+sealMark); ok && !strings.Contains(rest, " ") {
		src.Fingerprint = st.Source.Fingerprint
	}
	src.Size = k.CiphertextSize(src.Size)
	return src
}

// sealedUnchanged reports whether the object whose metadata is meta is
// this source sealed already: an age file of the plaintext's size and
// modification time.
func (s *session) sealedUnchanged(meta func(string) string) bool {
	return meta(EncryptionKey) == EncryptionAge && meta(PlaintextSizeKey) == strconv.FormatInt(s.sealed.plain, 10) &&
		SameMTime(meta(MTimeKey), s.id.ModTime)
}
