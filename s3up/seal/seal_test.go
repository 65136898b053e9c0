package seal

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"filippo.io/age"
)

// edgeSizes are the plaintext sizes where the chunk geometry changes, and a
// few odd large ones.
func edgeSizes() []int {
	return []int{
		0, 1, 2,
		ChunkSize - 1, ChunkSize, ChunkSize + 1,
		2*ChunkSize - 1, 2 * ChunkSize, 2*ChunkSize + 1,
		3 * ChunkSize,
		1_000_003, 5*ChunkSize + 12345, 16 * ChunkSize,
	}
}

// TestRoundTripAgeDecrypt: every size, sealed to every classic recipient
// type at once, decrypts with each identity alone through filippo.io/age,
// both its streaming and its seekable decryptor; the ReaderAt and the Reader
// give the same bytes, of CiphertextSize.
func TestRoundTripAgeDecrypt(t *testing.T) {
	rng := testRand(t)
	ids := classic(testIdentities(t))
	var recs []age.Recipient
	for _, id := range ids {
		recs = append(recs, id.recipient)
	}
	for _, size := range edgeSizes() {
		plain := randBytes(rng, size)
		k := fixedKey(t, rng, recs...)
		ct := sealAll(t, k, plain)
		if int64(len(ct)) != k.CiphertextSize(int64(size)) {
			t.Fatalf("size %d: sealed %d bytes, CiphertextSize says %d", size, len(ct), k.CiphertextSize(int64(size)))
		}
		if p, err := k.PlaintextSize(int64(len(ct))); err != nil || p != int64(size) {
			t.Fatalf("size %d: PlaintextSize(%d) = %d, %v", size, len(ct), p, err)
		}
		if st := sealStream(t, k, bytes.NewReader(plain)); !bytes.Equal(st, ct) {
			t.Fatalf("size %d: the Reader's bytes differ from the ReaderAt's", size)
		}
		if !bytes.HasPrefix(ct, k.Header()) {
			t.Fatalf("size %d: the object does not start with Header()", size)
		}
		for _, id := range ids {
			if got := decryptAge(t, ct, id.identity); !bytes.Equal(got, plain) {
				t.Fatalf("size %d, %s: age.Decrypt gives %d bytes, not the plaintext", size, id.name, len(got))
			}
			ra, n, err := age.DecryptReaderAt(bytes.NewReader(ct), int64(len(ct)), id.identity)
			if err != nil {
				t.Fatalf("size %d, %s: age.DecryptReaderAt: %v", size, id.name, err)
			}
			got := make([]byte, n)
			if _, err := ra.ReadAt(got, 0); err != nil && err != io.EOF || !bytes.Equal(got, plain) {
				t.Fatalf("size %d, %s: age.DecryptReaderAt: %v, plaintext equal: %v", size, id.name, err, bytes.Equal(got, plain))
			}
		}
	}
}

// TestPostQuantumAlone: a hybrid recipient seals and decrypts on its own, and
// is refused next to a classic one, as age refuses it.
func TestPostQuantumAlone(t *testing.T) {
	rng := testRand(t)
	var pq, x testIdentity
	for _, id := range testIdentities(t) {
		switch id.name {
		case "pq-hybrid":
			pq = id
		case "x25519-a":
			x = id
		}
	}
	k, err := NewKey(pq.recipient)
	if err != nil {
		t.Fatal(err)
	}
	plain := randBytes(rng, 3*ChunkSize+7)
	if got := decryptAge(t, sealAll(t, k, plain), pq.identity); !bytes.Equal(got, plain) {
		t.Fatal("post-quantum: wrong plaintext")
	}
	for _, recs := range [][]age.Recipient{{pq.recipient, x.recipient}, {x.recipient, pq.recipient}} {
		_, err := NewKey(recs...)
		if !errors.Is(err, ErrIncompatibleRecipients) || !errors.Is(err, ErrRecipient) {
			t.Fatalf("NewKey(pq, x25519) = %v, want ErrIncompatibleRecipients", err)
		}
		if _, ageErr := age.Encrypt(io.Discard, recs...); ageErr == nil {
			t.Fatal("age.Encrypt accepts the mix: the label rule changed upstream")
		}
	}
}

// TestScryptAlone: age's own label rule keeps an scrypt recipient alone; a
// library caller passing one gets the same answer as from age.Encrypt.
func TestScryptAlone(t *testing.T) {
	sr, err := age.NewScryptRecipient("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	sr.SetWorkFactor(10)
	k, err := NewKey(sr)
	if err != nil {
		t.Fatal(err)
	}
	si, _ := age.NewScryptIdentity("correct horse")
	plain := []byte("sealed with a passphrase")
	if got := decryptAge(t, sealAll(t, k, plain), si); !bytes.Equal(got, plain) {
		t.Fatal("scrypt: wrong plaintext")
	}
	x := testIdentities(t)[0]
	if _, err := NewKey(sr, x.recipient); !errors.Is(err, ErrIncompatibleRecipients) {
		t.Fatalf("NewKey(scrypt, x25519) = %v, want ErrIncompatibleRecipients", err)
	}
}

// TestNoRecipients: nothing to encrypt to is a recipient error.
func TestNoRecipients(t *testing.T) {
	if _, err := NewKey(); !errors.Is(err, ErrNoRecipients) || !errors.Is(err, ErrRecipient) {
		t.Fatalf("NewKey() = %v, want ErrNoRecipients", err)
	}
}

// badRecipient returns stanzas the header grammar cannot carry.
type badRecipient struct{ s age.Stanza }

func (b badRecipient) Wrap([]byte) ([]*age.Stanza, error) { s := b.s; return []*age.Stanza{&s}, nil }

// TestStanzaGrammar: a custom recipient whose stanza age could not parse is
// refused rather than written.
func TestStanzaGrammar(t *testing.T) {
	for _, s := range []age.Stanza{
		{Type: "", Body: []byte("x")},
		{Type: "has space"},
		{Type: "ok", Args: []string{""}},
		{Type: "ok", Args: []string{"new\nline"}},
		{Type: "ok", Args: []string{"é"}},
	} {
		if _, err := NewKey(badRecipient{s}); !errors.Is(err, ErrRecipient) {
			t.Errorf("NewKey(stanza %q %q) = %v, want a recipient error", s.Type, s.Args, err)
		}
	}
	// Bodies of every length around the 48-byte (64-column) line: age reads
	// each header back, which proves the wrapping and the empty last line.
	for n := 0; n <= 150; n++ {
		body := bytes.Repeat([]byte{byte(n)}, n)
		fk := [FileKeySize]byte{1}
		k, err := assemble(fk, [NonceSize]byte{2}, []*age.Stanza{{Type: "example.com/x", Args: []string{"a", "b"}, Body: body}})
		if err != nil {
			t.Fatal(err)
		}
		id := stanzaEcho{fileKey: fk[:], want: body}
		if got := decryptAge(t, sealAll(t, k, []byte("hi")), id); string(got) != "hi" {
			t.Fatalf("body of %d bytes: wrong plaintext", n)
		}
	}
}

// stanzaEcho is an identity that checks the one stanza age parsed is the one
// written, and returns a known file key.
type stanzaEcho struct {
	fileKey, want []byte
}

func (e stanzaEcho) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if len(stanzas) != 1 || stanzas[0].Type != "example.com/x" || len(stanzas[0].Args) != 2 || !bytes.Equal(stanzas[0].Body, e.want) {
		return nil, errors.New("age parsed a different stanza")
	}
	return e.fileKey, nil
}

// TestSameKeySameBytes is resume's premise: the same Key, in this process
// or imported from the journal in another, seals the same plaintext to the
// same bytes; another Key does not.
func TestSameKeySameBytes(t *testing.T) {
	rng := testRand(t)
	x := testIdentities(t)[0]
	plain := randBytes(rng, 4*ChunkSize+99)
	k, err := NewKey(x.recipient)
	if err != nil {
		t.Fatal(err)
	}
	first := sealAll(t, k, plain)
	if again := sealAll(t, k, plain); !bytes.Equal(first, again) {
		t.Fatal("the same Key sealed the same plaintext to other bytes")
	}
	imported, err := ImportSecret(k.ExportSecret())
	if err != nil {
		t.Fatal(err)
	}
	if got := sealAll(t, imported, plain); !bytes.Equal(first, got) {
		t.Fatal("the imported Key seals to other bytes")
	}
	if got := sealStream(t, imported, bytes.NewReader(plain)); !bytes.Equal(first, got) {
		t.Fatal("the imported Key's Reader seals to other bytes")
	}
	other, err := NewKey(x.recipient)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sealAll(t, other, plain)[other.HeaderSize():], first[k.HeaderSize():]) {
		t.Fatal("two NewKey calls gave the same payload")
	}
}

// TestResumeByParts simulates resume: the object is cut into parts of random
// sizes (mid-chunk, mid-header), every part is sealed by a "new process"
// (a Key imported from the exported secret, a fresh ReaderAt and Section)
// and the parts joined are the object, which age decrypts.
func TestResumeByParts(t *testing.T) {
	rng := testRand(t)
	x := testIdentities(t)[0]
	plain := randBytes(rng, 7*ChunkSize+rng.IntN(ChunkSize))
	k, err := NewKey(x.recipient)
	if err != nil {
		t.Fatal(err)
	}
	secret := k.ExportSecret()
	size := k.CiphertextSize(int64(len(plain)))
	var joined []byte
	for off := int64(0); off < size; {
		n := min(size-off, 1+rng.Int64N(3*SealedChunkSize))
		if len(joined) == 0 {
			n = min(size, k.HeaderSize()/2+1) // the first part ends inside the header
		}
		pk, err := ImportSecret(secret)
		if err != nil {
			t.Fatal(err)
		}
		part, err := io.ReadAll(pk.NewReaderAt(bytes.NewReader(plain), int64(len(plain))).Section(off, n))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(part)) != n {
			t.Fatalf("part at %d: %d bytes, want %d", off, len(part), n)
		}
		joined = append(joined, part...)
		off += n
	}
	if !bytes.Equal(joined, sealAll(t, k, plain)) {
		t.Fatal("the parts joined differ from the object")
	}
	if got := decryptAge(t, joined, x.identity); !bytes.Equal(got, plain) {
		t.Fatal("the parts joined do not decrypt to the plaintext")
	}
}

// TestReaderSourcesThatDribble: the Reader gives the same bytes whatever the
// source's read sizes, including a last read that comes with io.EOF, and
// whatever the sizes it is read with.
func TestReaderSourcesThatDribble(t *testing.T) {
	rng := testRand(t)
	x := testIdentities(t)[0]
	k := fixedKey(t, rng, x.recipient)
	sources := map[string]func([]byte) io.Reader{
		"one byte":     func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"half":         func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
		"data and EOF": func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
		"exact chunks": func(b []byte) io.Reader { return &chunkedReader{b: b, n: ChunkSize} },
		"chunk+1, EOF": func(b []byte) io.Reader { return &chunkedReader{b: b, n: ChunkSize + 1, eofWithData: true} },
	}
	for _, size := range edgeSizes() {
		plain := randBytes(rng, size)
		want := sealAll(t, k, plain)
		for name, src := range sources {
			r := k.NewReader(src(plain))
			var out io.Reader = r
			if name == "half" {
				out = iotest.OneByteReader(r) // small reads out, too
			}
			got, err := io.ReadAll(out)
			if err != nil {
				t.Fatalf("size %d, %s: %v", size, name, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("size %d, %s: the Reader's bytes differ", size, name)
			}
			if r.PlaintextSize() != int64(size) {
				t.Fatalf("size %d, %s: PlaintextSize %d", size, name, r.PlaintextSize())
			}
		}
	}
}

// chunkedReader returns n bytes a read; with eofWithData its last read says
// io.EOF along with the data.
type chunkedReader struct {
	b           []byte
	n           int
	eofWithData bool
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	m := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[m:]
	if len(c.b) == 0 && c.eofWithData {
		return m, io.EOF
	}
	return m, nil
}

// TestReaderSourceFails: a stream that fails never yields an object that
// ends well: the error comes out (wrapped), after no final chunk. A source
// returning io.ErrUnexpectedEOF is a failure, not an end.
func TestReaderSourceFails(t *testing.T) {
	rng := testRand(t)
	x := testIdentities(t)[0]
	k := fixedKey(t, rng, x.recipient)
	boom := errors.New("producer exited 1")
	for _, cause := range []error{boom, io.ErrUnexpectedEOF} {
		for _, at := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3 * ChunkSize} {
			src := io.MultiReader(bytes.NewReader(randBytes(rng, at)), iotest.ErrReader(cause))
			got, err := io.ReadAll(k.NewReader(src))
			if !errors.Is(err, cause) {
				t.Fatalf("fail after %d bytes with %v: ReadAll error %v", at, cause, err)
			}
			// What came out is the header, nonce and non-final chunks only:
			// age must not accept it as a whole file.
			r, derr := age.Decrypt(bytes.NewReader(got), x.identity)
			if derr == nil {
				_, derr = io.ReadAll(r)
			}
			if derr == nil {
				t.Fatalf("fail after %d bytes: the partial output decrypts as a whole file", at)
			}
		}
	}
}

// TestShortSource: a file shorter than its stated size is an error wrapping
// io.ErrUnexpectedEOF, never zeros.
func TestShortSource(t *testing.T) {
	rng := testRand(t)
	k := fixedKey(t, rng, testIdentities(t)[0].recipient)
	plain := randBytes(rng, 2*ChunkSize+10)
	ra := k.NewReaderAt(bytes.NewReader(plain[:len(plain)-1]), int64(len(plain)))
	if _, err := io.ReadAll(io.NewSectionReader(ra, 0, ra.Size())); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short source: %v, want io.ErrUnexpectedEOF", err)
	}
	// The chunks before the missing byte still read.
	buf := make([]byte, 100)
	if _, err := ra.ReadAt(buf, k.HeaderSize()+NonceSize); err != nil {
		t.Fatalf("first chunk of a short source: %v", err)
	}
}

// TestFinalChunkSealsDifferently backs the rule for streams: the chunks
// before the end seal the same when the plaintext grows, but the old final
// chunk does not (its nonce has the final flag), so a part's plaintext
// alone does not say its ciphertext is unchanged.
func TestFinalChunkSealsDifferently(t *testing.T) {
	rng := testRand(t)
	k := fixedKey(t, rng, testIdentities(t)[0].recipient)
	short := randBytes(rng, 3*ChunkSize+100)
	long := append(bytes.Clone(short), randBytes(rng, ChunkSize)...) // chunk 3 is no longer the last
	a, b := sealAll(t, k, short), sealAll(t, k, long)
	end := k.HeaderSize() + NonceSize + 3*SealedChunkSize
	if !bytes.Equal(a[:end], b[:end]) {
		t.Fatal("the chunks before the end differ")
	}
	if po, pn := k.PlaintextRange(end, 100+TagSize, int64(len(short))); po != 3*ChunkSize || pn != 100 {
		t.Fatalf("PlaintextRange of the final chunk = [%d, +%d)", po, pn)
	}
	// The same 100 plaintext bytes, sealed as the final chunk and as the
	// start of a chunk that is not: another keystream, another ciphertext.
	if bytes.Equal(a[end:end+100], b[end:end+100]) {
		t.Fatal("the old final chunk seals like the same bytes not final")
	}
}
