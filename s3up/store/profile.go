package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/s3up/s3up/resume"
)

// Profile is what s3up learned about one store from its answers. It is
// remembered per endpoint in the state directory (Profiles), so the next
// run starts with the right method instead of failing first.
type Profile struct {
	// RefusesChecksums: the store refused S3 flexible checksums
	// (x-amz-checksum-*); parts then carry Content-MD5, which every store
	// verifies.
	RefusesChecksums bool `json:"refuses_checksums,omitempty"`
	// HidesChecksums: the store accepts flexible checksums but never shows
	// them in its answers (Tencent COS, Alibaba OSS), so they cannot be
	// compared after the fact.
	HidesChecksums bool `json:"hides_checksums,omitempty"`
	// RefusesTrailers: the store refused a part sent in aws-chunked
	// encoding with its checksum in a trailer, and took it with the
	// checksum in a header; parts then carry the header, computed in a read
	// before the send.
	RefusesTrailers bool `json:"refuses_trailers,omitempty"`
	// NativeCRC64 is the header in which the store reports a CRC-64/ECMA of
	// each part and object (x-cos-hash-crc64ecma, x-oss-hash-crc64ecma), ""
	// if none was seen.
	NativeCRC64 string `json:"native_crc64,omitempty"`
	// Learned is when the profile last changed, and Why the answer it was
	// learned from, for people.
	Learned time.Time `json:"learned"`
	Why     string    `json:"why,omitempty"`
}

// profilesFile is the name of the profile store in a state directory.
const profilesFile = "stores.json"

// Profiles are the remembered profiles of a state directory, by endpoint
// ("" for AWS). Safe for concurrent use. Several processes may update the
// file: each update rereads it, changes one entry and replaces it
// atomically, so the last writer of an entry wins and other entries stay.
type Profiles struct {
	path  string
	mu    sync.Mutex
	cache map[string]Profile // read once; Learn rereads the file
}

// OpenProfiles returns the profiles kept in stateDir ("" keeps nothing).
func OpenProfiles(stateDir string) *Profiles {
	if stateDir == "" {
		return &Profiles{}
	}
	return &Profiles{path: filepath.Join(stateDir, profilesFile)}
}

// Get returns the profile of endpoint (the zero Profile when none is known).
func (p *Profiles) Get(endpoint string) Profile {
	if p == nil || p.path == "" {
		return Profile{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cache == nil {
		p.cache, _ = p.read()
	}
	return p.cache[endpoint]
}

// Learn applies change to the profile of endpoint and remembers it. It
// reports whether the profile changed. A profile that cannot be written is
// still returned changed: it holds for this run.
func (p *Profiles) Learn(endpoint, why string, change func(*Profile)) (Profile, bool, error) {
	if p == nil || p.path == "" {
		var pr Profile
		change(&pr)
		return pr, true, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m, err := p.read()
	if err != nil {
		m = map[string]Profile{}
	}
	old := m[endpoint]
	pr := old
	change(&pr)
	pr.Learned, pr.Why = old.Learned, old.Why
	if pr == old {
		return pr, false, nil
	}
	pr.Learned, pr.Why = time.Now().UTC(), why
	m[endpoint] = pr
	p.cache = m
	return pr, true, p.write(m)
}

func (p *Profiles) read() (map[string]Profile, error) {
	m := map[string]Profile{}
	b, err := os.ReadFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return map[string]Profile{}, fmt.Errorf("%s: %w", p.path, err)
	}
	return m, nil
}

func (p *Profiles) write(m map[string]Profile) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return resume.WriteFileAtomic(p.path, append(b, '\n'))
}
