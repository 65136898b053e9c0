package store

import "errors"

// Hint names a setting a user can change to fix an error, in the library's
// terms. The library's own messages say what to do in words (Describe);
// a program that offers the setting under a name of its own (the CLI's
// flags, a configuration file's keys) says it its own way: it asks Hints.
type Hint int

const (
	// HintFresh: discard the resume state and start the upload over
	// (Options.Fresh).
	HintFresh Hint = iota + 1
	// HintOriginalOptions: the resume state was made with other object
	// options; resume with those, or discard it (HintFresh).
	HintOriginalOptions
	// HintStateDir: choose a state directory (Options.StateDir).
	HintStateDir
	// HintPartSize: choose a larger part size, or leave it to the planner.
	HintPartSize
	// HintEndpoint: the store's endpoint URL.
	HintEndpoint
	// HintRegion: the region the bucket is in.
	HintRegion
	// HintCredentials: the credentials (access key and secret, profile).
	HintCredentials
	// HintAccessKey: the access key, which this store does not know.
	HintAccessKey
	// HintSecretKey: the secret key, which does not match the access key.
	HintSecretKey
	// HintKMSKey: the KMS key of server-side encryption.
	HintKMSKey
	// HintStorageClass: the storage class asked for.
	HintStorageClass
	// HintSSE: the server-side encryption asked for.
	HintSSE
	// HintObjectLock: the Object Lock retention or legal hold asked for.
	HintObjectLock
	// HintExpectedSize: the size a stream was expected to have.
	HintExpectedSize
	// HintRetainUntil: the retention date of Object Lock.
	HintRetainUntil
	// HintAbortAll: abort every incomplete upload of the key, not only the
	// one resume state names.
	HintAbortAll
	// HintGC: remove the bucket's incomplete uploads that no resume state
	// names any more (ops.GC).
	HintGC
	// HintDeleteEmpty: deleting what a tree lacks, asked of a tree with no
	// files, would delete everything under the prefix.
	HintDeleteEmpty
	// HintRecipients: the age recipients an upload is sealed to
	// (s3up.ParseSeal).
	HintRecipients

	// hintEnd follows the last hint (tests range over them all).
	hintEnd
)

// AllHints lists every hint, in order (for tests that each one is said).
func AllHints() []Hint {
	var hs []Hint
	for h := HintFresh; h < hintEnd; h++ {
		hs = append(hs, h)
	}
	return hs
}

// hinted attaches hints to an error without changing its message.
type hinted struct {
	err   error
	hints []Hint
}

func (e *hinted) Error() string { return e.err.Error() }
func (e *hinted) Unwrap() error { return e.err }

// WithHint attaches hints to err.
func WithHint(err error, h ...Hint) error {
	if err == nil || len(h) == 0 {
		return err
	}
	return &hinted{err: err, hints: h}
}

// Hints returns the hints err carries, attached with WithHint or implied by
// the store's answer behind it (the answers table), first attached first.
func Hints(err error) []Hint {
	var out []Hint
	seen := map[Hint]bool{}
	add := func(hs []Hint) {
		for _, h := range hs {
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	for e := err; e != nil; {
		var h *hinted
		if !errors.As(e, &h) {
			break
		}
		add(h.hints)
		e = h.err
	}
	add(answers[Code(err)].hints)
	return out
}
