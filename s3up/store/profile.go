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
	// OwnChecksum is the flexible checksum the store computes of every part
	// whatever algorithm it was asked for (a CRC32 where CRC32C was asked);
	// parts then carry that algorithm. "" if not seen.
	OwnChecksum string `json:"own_checksum,omitempty"`
	// MD5ETags: a part's ETag was seen to be the MD5 of its bytes, so an
	// ETag that is not is a part damaged on the way. OpaqueETags: a part
	// whose bytes another check proved had an ETag that is not their MD5
	// (or the store's ETags are not even shaped like one). With both set
	// (buckets that differ, say with default encryption) ETags prove
	// nothing either way.
	MD5ETags    bool `json:"md5_etags,omitempty"`
	OpaqueETags bool `json:"opaque_etags,omitempty"`
	// ReadsBack: nothing the store reports proves an object's bytes (no
	// checksum shown, ETags not MD5s, no CRC-64 of its own), so every
	// object is verified by reading it back.
	ReadsBack bool `json:"reads_back,omitempty"`
	// NoListParts: the store does not implement ListParts, so an
	// interrupted upload cannot be reconciled and starts again.
	NoListParts bool `json:"no_list_parts,omitempty"`
	// RefusesPartReplace: the store refuses to replace a part of an upload
	// with other bytes (it streams parts on as they arrive). PartReplaceKnown:
	// whether it does was tried (with a throwaway upload) or seen.
	RefusesPartReplace bool `json:"refuses_part_replace,omitempty"`
	PartReplaceKnown   bool `json:"part_replace_known,omitempty"`
	// Learned is when the profile last changed, and Why the answer it was
	// learned from, for people.
	Learned time.Time `json:"learned"`
	Why     string    `json:"why,omitempty"`
}

// ETagsProve reports whether a part ETag that is not the MD5 of the bytes
// sent shows that they were damaged: the store's ETags were seen to be
// MD5s, and never seen not to be.
func (p Profile) ETagsProve() bool { return p.MD5ETags && !p.OpaqueETags }

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
