package seal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"io"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// testRand returns a seeded generator for randomized tests: S3UP_TEST_SEED
// if set, else the clock; the seed is logged so a failure can be replayed.
func testRand(t testing.TB) *mrand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("S3UP_TEST_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("S3UP_TEST_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay with S3UP_TEST_SEED=%d)", seed, seed)
	return mrand.New(mrand.NewPCG(seed, 0x5ea1))
}

// randBytes returns n bytes from rng.
func randBytes(rng *mrand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// fixedKey returns a Key with a file key and nonce drawn from rng, so that a
// test's ciphertext is replayable; the stanzas still use crypto/rand.
func fixedKey(t testing.TB, rng *mrand.Rand, recipients ...age.Recipient) *Key {
	t.Helper()
	var fk [FileKeySize]byte
	var nonce [NonceSize]byte
	copy(fk[:], randBytes(rng, FileKeySize))
	copy(nonce[:], randBytes(rng, NonceSize))
	stanzas, err := wrap(fk[:], recipients)
	if err != nil {
		t.Fatal(err)
	}
	k, err := assemble(fk, nonce, stanzas)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sealAll returns the whole sealed object of plain, through the ReaderAt.
func sealAll(t testing.TB, k *Key, plain []byte) []byte {
	t.Helper()
	ra := k.NewReaderAt(bytes.NewReader(plain), int64(len(plain)))
	ct, err := io.ReadAll(io.NewSectionReader(ra, 0, ra.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// sealStream returns the whole sealed object of plain, through the Reader.
func sealStream(t testing.TB, k *Key, src io.Reader) []byte {
	t.Helper()
	ct, err := io.ReadAll(k.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// decryptAge decrypts ct with filippo.io/age, the reference implementation.
func decryptAge(t testing.TB, ct []byte, ids ...age.Identity) []byte {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(ct), ids...)
	if err != nil {
		t.Fatalf("age.Decrypt: %v", err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("age.Decrypt: read payload: %v", err)
	}
	return plain
}

// A testIdentity is a key pair of one recipient type, with what the age CLI
// needs to decrypt with it.
type testIdentity struct {
	name      string
	recipient age.Recipient
	identity  age.Identity
	public    string // as --encrypt-to takes it
	file      []byte // an identity file as `age -d -i` reads it
}

var (
	identitiesOnce sync.Once
	identities     []testIdentity
	identitiesErr  error
)

// testIdentities returns one identity of each type s3up encrypts to: two
// X25519, ssh-ed25519, ssh-rsa (2048 bits) and hybrid post-quantum. They are
// generated once per test binary (RSA takes a while).
func testIdentities(t testing.TB) []testIdentity {
	t.Helper()
	identitiesOnce.Do(func() { identities, identitiesErr = generateIdentities() })
	if identitiesErr != nil {
		t.Fatal(identitiesErr)
	}
	return identities
}

// classic returns the identities that can share a file (all but post-quantum).
func classic(ids []testIdentity) []testIdentity {
	var out []testIdentity
	for _, id := range ids {
		if !strings.HasPrefix(id.name, "pq") {
			out = append(out, id)
		}
	}
	return out
}

func generateIdentities() ([]testIdentity, error) {
	var ids []testIdentity
	for _, name := range []string{"x25519-a", "x25519-b"} {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, err
		}
		ids = append(ids, testIdentity{name, id.Recipient(), id, id.Recipient().String(), []byte(id.String() + "\n")})
	}

	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	edID, err := sshIdentity("ssh-ed25519", edPriv)
	if err != nil {
		return nil, err
	}
	ids = append(ids, edID)

	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	rsaID, err := sshIdentity("ssh-rsa", rsaPriv)
	if err != nil {
		return nil, err
	}
	ids = append(ids, rsaID)

	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		return nil, err
	}
	ids = append(ids, testIdentity{"pq-hybrid", pq.Recipient(), pq, pq.Recipient().String(), []byte(pq.String() + "\n")})
	return ids, nil
}

// sshIdentity builds an SSH test identity from a private key: the public
// key in authorized_keys form and the private key in OpenSSH PEM form, both
// parsed by agessh as the age CLI parses them.
func sshIdentity(name string, priv any) (testIdentity, error) {
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return testIdentity{}, err
	}
	public := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " test@s3up"
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return testIdentity{}, err
	}
	pemBytes := pem.EncodeToMemory(block)
	rec, err := agessh.ParseRecipient(public)
	if err != nil {
		return testIdentity{}, err
	}
	id, err := agessh.ParseIdentity(pemBytes)
	if err != nil {
		return testIdentity{}, err
	}
	return testIdentity{name, rec, id, public, pemBytes}, nil
}
