package s3up

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/s3fake"
	"github.com/s3up/s3up/s3up/seal"
	"github.com/s3up/s3up/s3up/tree"
)

// newIdentity returns an X25519 identity and a Seal to it.
func newIdentity(t *testing.T) (*age.X25519Identity, *Seal) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	z, _, err := ParseSeal([]string{id.Recipient().String()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return id, z
}

// openSealed decrypts the object at key with ids, as age -d would.
func openSealed(t *testing.T, f *s3fake.Fake, key string, ids ...age.Identity) []byte {
	t.Helper()
	o, ok := f.Object(testBucket, key)
	if !ok {
		t.Fatalf("no object at %s", key)
	}
	r, err := age.Decrypt(bytes.NewReader(o.Data), ids...)
	if err != nil {
		t.Fatalf("%s does not decrypt: %v", key, err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s does not decrypt: %v", key, err)
	}
	return plain
}

func TestSealedFileDecrypts(t *testing.T) {
	t.Parallel()
	r := seeded(t)
	id, z := newIdentity(t)
	for _, size := range []int{0, 1, testPart - 200, testPart, 3*testPart + 17, seal.ChunkSize*3 + 5} {
		f := newFake()
		u := testUploader(t, f, Options{Seal: z})
		data := randomBytes(r, size)
		res := mustPut(t, u, newMemSource(data), "k")
		if got := openSealed(t, f, "k", id); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: decrypted %d bytes that differ", size, len(got))
		}
		assertClean(t, f, u)
		o, _ := f.Object(testBucket, "k")
		if o.Metadata[EncryptionKey] != EncryptionAge || o.Metadata[PlaintextSizeKey] != strconv.Itoa(size) {
			t.Fatalf("%d bytes: metadata %v", size, o.Metadata)
		}
		if o.ContentType != "application/octet-stream" {
			t.Fatalf("%d bytes: content type %q", size, o.ContentType)
		}
		if res.Size != int64(len(o.Data)) || bytes.Equal(o.Data, data) && size > 0 {
			t.Fatalf("%d bytes: result size %d, object %d", size, res.Size, len(o.Data))
		}
	}
}

func TestSealedSeveralRecipientsEachDecrypt(t *testing.T) {
	t.Parallel()
	a, _ := newIdentity(t)
	b, _ := newIdentity(t)
	file := filepath.Join(t.TempDir(), "recipients.txt")
	if err := os.WriteFile(file, []byte("# the second one\n"+b.Recipient().String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	z, _, err := ParseSeal([]string{a.Recipient().String()}, []string{file})
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	u := testUploader(t, f, Options{Seal: z, Object: ObjectOptions{ContentType: "application/x-age"}})
	data := randomBytes(seeded(t), 2*testPart+3)
	mustPut(t, u, newMemSource(data), "k")
	if o, _ := f.Object(testBucket, "k"); o.ContentType != "application/x-age" {
		t.Fatalf("content type %q, want the one set", o.ContentType)
	}
	for _, id := range []*age.X25519Identity{a, b} {
		if !bytes.Equal(openSealed(t, f, "k", id), data) {
			t.Fatal("a recipient does not get the source back")
		}
	}
}

func TestParseSealRefusesBadRecipients(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("# nobody\n"), 0o600)
	secret := filepath.Join(dir, "secret")
	id, _ := age.GenerateX25519Identity()
	os.WriteFile(secret, []byte(id.String()+"\n"), 0o600)
	for _, tc := range []struct {
		values, files []string
	}{
		{values: []string{"age1notakey"}},
		{values: []string{"ssh-ed25519 AAAA"}},
		{values: []string{id.String()}},
		{values: []string{"github:someone"}},
		{files: []string{filepath.Join(dir, "missing")}},
		{files: []string{empty}},
		{files: []string{secret}},
		{},
	} {
		_, _, err := ParseSeal(tc.values, tc.files)
		if !errors.Is(err, ErrBadInput) || !errors.Is(err, seal.ErrRecipient) {
			t.Errorf("%v %v: %v, want bad input", tc.values, tc.files, err)
		}
		if err != nil && strings.Contains(err.Error(), "AGE-SECRET-KEY") {
			t.Errorf("the error repeats a secret key: %v", err)
		}
	}
}

// journalSecret returns the key material of the journal of key.
func journalSecret(t *testing.T, u *Uploader, key string) string {
	t.Helper()
	var found string
	for _, p := range stateFiles(t, u) {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte(`"sealed"`)) {
			continue
		}
		var h struct{ resume.Header }
		line, _, _ := bytes.Cut(b, []byte("\n"))
		if err := json.Unmarshal(line, &h); err != nil {
			t.Fatal(err)
		}
		if h.Destination.Key == key {
			found = h.Sealed
			if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
				t.Errorf("journal %s has mode %v", p, fi.Mode().Perm())
			}
		}
	}
	if found == "" {
		t.Fatalf("no journal holds the key material of %s", key)
	}
	return found
}

// TestSealedResumeSendsOnlyMissingParts: an interrupted sealed upload keeps
// its key in the journal; the rerun re-encrypts only the parts it sends,
// and the object decrypts to the source. No secret shows in events, the
// result or errors, and none is left once it completes.
func TestSealedResumeSendsOnlyMissingParts(t *testing.T) {
	t.Parallel()
	id, z := newIdentity(t)
	data := randomBytes(seeded(t), 6*testPart)
	f := newFake()
	ev := &events{}
	u := testUploader(t, f, Options{Concurrency: 1, Seal: z, Listener: ev})
	failPart(f, 3, s3fake.APIError("UploadPart", 500, "InternalError", "boom"))
	_, firstErr := u.putSrc(context.Background(), newMemSource(data), testBucket, "k")
	if !errors.Is(firstErr, ErrTransient) {
		t.Fatalf("first run: %v, want a transient failure", firstErr)
	}
	secret := journalSecret(t, u, "k")
	f.SetOnCall(nil)
	f.ResetCounters()
	res := mustPut(t, u, newMemSource(data), "k")
	if !bytes.Equal(openSealed(t, f, "k", id), data) {
		t.Fatal("the resumed object does not decrypt to the source")
	}
	assertClean(t, f, u)
	o, _ := f.Object(testBucket, "k")
	size := int64(len(o.Data))
	if !res.Resumed || res.PartsKept != 2 || res.PartsSent != 5 || f.BytesReceivedBy("UploadPart") != size-2*testPart {
		t.Fatalf("result %+v, %d of %d bytes sent again", res, f.BytesReceivedBy("UploadPart"), size)
	}

	// The secret is the base64 after the prefix; any long piece of it
	// would do.
	needle := strings.TrimPrefix(secret, "age-seal-key:")[:24]
	out, _ := json.Marshal(res)
	texts := []string{firstErr.Error(), fmt.Sprintf("%+v %#v", res, res), string(out)}
	for _, e := range ev.all {
		j, _ := json.Marshal(e)
		texts = append(texts, fmt.Sprintf("%+v", e), string(j))
	}
	for _, s := range texts {
		if strings.Contains(s, needle) || strings.Contains(s, "age-seal-key") {
			t.Fatalf("key material shows in %q", s)
		}
	}
}

func TestSealedRecipientsChangedStartsOver(t *testing.T) {
	t.Parallel()
	_, z := newIdentity(t)
	other, z2 := newIdentity(t)
	data := randomBytes(seeded(t), 4*testPart)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1, Seal: z})
	failPart(f, 3, s3fake.APIError("UploadPart", 500, "InternalError", "boom"))
	if _, err := u.putSrc(context.Background(), newMemSource(data), testBucket, "k"); !errors.Is(err, ErrTransient) {
		t.Fatalf("first run: %v", err)
	}
	f.SetOnCall(nil)
	ev := &events{}
	u.opts.Seal, u.opts.Listener = z2, ev
	res := mustPut(t, u, newMemSource(data), "k")
	if res.Resumed || res.PartsKept != 0 {
		t.Fatalf("resumed into the upload sealed to other recipients: %+v", res)
	}
	if !bytes.Equal(openSealed(t, f, "k", other), data) {
		t.Fatal("the object does not decrypt for the new recipient")
	}
	if st, ok := find[Started](ev); !ok || st.Reason == "" {
		t.Fatalf("no new upload with a reason: %+v", st)
	}
	assertClean(t, f, u)

	// Sealed, then not: the journal of the sealed upload is not resumed
	// either.
	f2 := newFake()
	u2 := testUploader(t, f2, Options{Concurrency: 1, Seal: z})
	failPart(f2, 3, s3fake.APIError("UploadPart", 500, "InternalError", "boom"))
	u2.putSrc(context.Background(), newMemSource(data), testBucket, "k")
	f2.SetOnCall(nil)
	u2.opts.Seal = nil
	if res := mustPut(t, u2, newMemSource(data), "k"); res.Resumed {
		t.Fatalf("a plain put resumed a sealed upload: %+v", res)
	}
	assertObject(t, f2, u2, "k", data)
}

// TestSealedUnchangedFileSkipped: a rerun of a sealed file whose object
// has its plaintext size and mtime sends nothing; a changed one is sent.
func TestSealedUnchangedFileSkipped(t *testing.T) {
	t.Parallel()
	id, z := newIdentity(t)
	dir := t.TempDir()
	data := randomBytes(seeded(t), 2*testPart+9)
	p := writeFile(t, dir, "db.dump", data)
	f := newFake()
	ev := &events{}
	u := testUploader(t, f, Options{Seal: z, Listener: ev, ChecksumCompare: true})
	if _, err := u.Put(context.Background(), p, testBucket, "db.dump.age"); err != nil {
		t.Fatal(err)
	}
	f.ResetCounters()
	res, err := u.Put(context.Background(), p, testBucket, "db.dump.age")
	if err != nil || !res.Unchanged || f.BytesReceived() != 0 {
		t.Fatalf("rerun: %+v %v, %d bytes", res, err, f.BytesReceived())
	}
	if w := warnings(ev); !slices.ContainsFunc(w, func(s string) bool { return strings.Contains(s, "cannot compare sealed content") }) {
		t.Fatalf("no warning about the content comparison: %q", w)
	}
	os.WriteFile(p, append(data, 1), 0o644)
	if res, err := u.Put(context.Background(), p, testBucket, "db.dump.age"); err != nil || res.Unchanged {
		t.Fatalf("changed file: %+v %v", res, err)
	}
	if got := openSealed(t, f, "db.dump.age", id); !bytes.Equal(got, append(data, 1)) {
		t.Fatal("the changed file does not decrypt")
	}
}

func TestSealedStream(t *testing.T) {
	t.Parallel()
	id, z := newIdentity(t)
	r := seeded(t)
	for _, size := range []int{0, 10, 3*testPart + 1} {
		f := newFake()
		u := testUploader(t, f, Options{Seal: z})
		data := randomBytes(r, size)
		if _, err := u.PutStream(context.Background(), testStream(data), testBucket, "s"); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(openSealed(t, f, "s", id), data) {
			t.Fatalf("%d bytes: the stream does not decrypt", size)
		}
		assertClean(t, f, u)
		st := testStream(data)
		st.Size, st.SizeKnown = int64(size), true
		if _, err := u.PutStream(context.Background(), st, testBucket, "s2"); err != nil {
			t.Fatal(err)
		}
		if o, _ := f.Object(testBucket, "s2"); o.Metadata[PlaintextSizeKey] != strconv.Itoa(size) || !bytes.Equal(openSealed(t, f, "s2", id), data) {
			t.Fatalf("%d bytes, size known: metadata %v", size, o.Metadata)
		}
	}
}

// TestSealedFilesOrder: with the suffix, awkward names keep the byte order
// of their keys, which the merge with the listing needs.
func TestSealedFilesOrder(t *testing.T) {
	t.Parallel()
	names := []string{"a", "a b", "a!", "a-", "a--", "a-b", "a-b-c", "a.", "a.aaa", "a.age", "a.b", "a.zzz", "a0", "a/x", "ab", "b", "b-1", "b.", "c/d", "c/d-e", "c/d.a"}
	slices.Sort(names)
	walk := func(yield func(tree.File, error) bool) {
		for _, n := range names {
			if !yield(tree.File{Rel: n, Size: 3}, nil) {
				return
			}
		}
	}
	var got []string
	for f, err := range sealedFiles(iter.Seq2[tree.File, error](walk), 100) {
		if err != nil {
			t.Fatal(err)
		}
		if f.Size != 100+seal.PayloadSize(3) {
			t.Fatalf("%s: size %d", f.Rel, f.Size)
		}
		got = append(got, f.Rel)
	}
	if !slices.IsSorted(got) || len(got) != len(names) {
		t.Fatalf("out of order: %q", got)
	}
}

func TestSealedTree(t *testing.T) {
	t.Parallel()
	id, z := newIdentity(t)
	r := seeded(t)
	files := map[string][]byte{
		"a":          randomBytes(r, 10),
		"a-b":        randomBytes(r, 20),
		"a.aaa":      randomBytes(r, 30),
		"a0":         randomBytes(r, 1),
		"sub/big":    randomBytes(r, 3*testPart+5),
		"sub/x y":    {},
		"sub/x.tar":  randomBytes(r, 100),
		"sub-2/last": randomBytes(r, 7),
	}
	tf := makeTree(t, files)
	f := newFake()
	u := testUploader(t, f, Options{Seal: z, Concurrency: 3})
	spec := Tree{Roots: []string{tf.root}, Bucket: testBucket, Prefix: "p/", Delete: true}
	res, err := u.PutTree(t.Context(), spec)
	if err != nil || res.Uploaded != len(files) {
		t.Fatalf("%+v %v", res, err)
	}
	for rel, data := range files {
		if !bytes.Equal(openSealed(t, f, "p/"+rel+".age", id), data) {
			t.Fatalf("%s does not decrypt", rel)
		}
	}
	if keys := f.ObjectKeys(testBucket); len(keys) != len(files) {
		t.Fatalf("objects %q", keys)
	}

	// Unchanged: nothing sent, also when asked to compare content, which
	// sealed objects cannot give.
	f.ResetCounters()
	ev := &events{}
	u.opts.Listener = ev
	compare := spec
	compare.ChecksumCompare = true
	res, err = u.PutTree(t.Context(), compare)
	if err != nil || res.Unchanged != len(files) || f.BytesReceived() != 0 || res.Deleted != 0 {
		t.Fatalf("unchanged rerun: %+v %v, %d bytes", res, err, f.BytesReceived())
	}
	if w := warnings(ev); !slices.ContainsFunc(w, func(s string) bool { return strings.Contains(s, "cannot compare sealed content") }) {
		t.Fatalf("no warning about the content comparison: %q", w)
	}
	u.opts.Listener = nil

	// A new mtime sends the file again; a file removed goes with --delete.
	os.Chtimes(tf.path("a0"), time.Now(), time.Now().Add(-time.Hour))
	os.Remove(tf.path("a-b"))
	res, err = u.PutTree(t.Context(), spec)
	if err != nil || res.Uploaded != 1 || res.Deleted != 1 {
		t.Fatalf("third run: %+v %v", res, err)
	}
	if _, ok := f.Object(testBucket, "p/a-b.age"); ok {
		t.Fatal("the removed file's object was not deleted")
	}
	if _, ok := f.Object(testBucket, "p/a.age"); !ok {
		t.Fatal("an object was deleted that a file still names")
	}
}

// TestSealedEditedInPlaceIsRekeyed: a file edited in place with its
// identity unchanged is never sealed again under the journal's key (the
// store would see two plaintexts under one key and nonce): the upload
// starts over under a new key, and decrypts to the file as it is now.
func TestSealedEditedInPlaceIsRekeyed(t *testing.T) {
	t.Parallel()
	id, z := newIdentity(t)
	data := randomBytes(seeded(t), 5*testPart)
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1, Seal: z})
	src := newMemSource(data)
	failPart(f, 3, s3fake.APIError("UploadPart", 503, "ServiceUnavailable", "later"))
	if _, err := u.putSrc(context.Background(), src, testBucket, "k"); err == nil {
		t.Fatal("first run succeeded")
	}
	old := journalSecret(t, u, "k")
	f.SetOnCall(nil)
	src.edit(testPart/2, []byte("rewritten inside part 1, identity unchanged"))
	ev := &events{}
	u.opts.Listener = ev
	res := mustPut(t, u, src, "k")
	if res.Resumed || res.PartsKept != 0 {
		t.Fatalf("resumed under the old key: %+v", res)
	}
	if st, ok := find[Started](ev); !ok || !strings.Contains(st.Reason, "new key") {
		t.Fatalf("started %+v", st)
	}
	if !bytes.Equal(openSealed(t, f, "k", id), src.bytes()) {
		t.Fatal("the object does not decrypt to the edited file")
	}
	assertClean(t, f, u)
	// The object's header is not the one of the old key.
	k, err := seal.ImportSecret(old)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := f.Object(testBucket, "k"); bytes.HasPrefix(o.Data, k.Header()) {
		t.Fatal("the object was sealed under the old key")
	}
}

// TestSealedStreamExpectedSize: a sealed stream of another size than
// expected is never completed, and the error gives the plaintext's sizes.
func TestSealedStreamExpectedSize(t *testing.T) {
	t.Parallel()
	_, z := newIdentity(t)
	f := newFake()
	u := testUploader(t, f, Options{Seal: z})
	st := testStream(randomBytes(seeded(t), 3*testPart))
	st.Size, st.SizeKnown = 3*testPart+1, true
	_, err := u.PutStream(context.Background(), st, testBucket, "s")
	if !errors.Is(err, ErrStreamFailed) || !strings.Contains(err.Error(), fmt.Sprintf("ended after %d bytes, not the expected %d", 3*testPart, 3*testPart+1)) {
		t.Fatalf("err %v", err)
	}
	if _, ok := f.Object(testBucket, "s"); ok {
		t.Fatal("an object was stored")
	}
	assertClean(t, f, u)
}
