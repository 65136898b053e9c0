package resume

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The distrust list remembers objects that failed verification after they
// were stored and could not be deleted (an Object Lock retention, a policy
// that allows PutObject but not DeleteObject): their size and stored
// modification time may match the source, and without the list a later run
// would take them for unchanged and skip them. It is a file of JSON lines
// in the state directory, one DistrustRecord each; a record names the
// object by its ETag, so an object stored again since (another ETag) is not
// distrusted.

// DistrustRecord is an object that must not be trusted.
type DistrustRecord struct {
	Endpoint string    `json:"endpoint"`
	Bucket   string    `json:"bucket"`
	Key      string    `json:"key"`
	ETag     string    `json:"etag"`
	Why      string    `json:"why"`
	At       time.Time `json:"at"`
}

const distrustFile = "distrusted.jsonl"

// DistrustList is the distrust list of a state directory. Safe for
// concurrent use.
type DistrustList struct {
	path string
	mu   sync.Mutex
	recs map[string]DistrustRecord // by distrustKey; nil until loaded
	torn bool                      // the file does not end with a newline (a crash mid-append)
}

// OpenDistrust returns the distrust list of stateDir; it is read at the
// first lookup. Without a state directory ("") the list is empty and Add
// fails.
func OpenDistrust(stateDir string) *DistrustList {
	if stateDir == "" {
		return &DistrustList{}
	}
	return &DistrustList{path: filepath.Join(stateDir, distrustFile)}
}

func distrustKey(d Destination) string { return d.Endpoint + "\x00" + d.Bucket + "\x00" + d.Key }

// load reads the file once. Torn or unparsable lines are skipped: a lost
// record costs at most a skip that should not have happened, the same as
// no list at all. Called with mu held.
func (l *DistrustList) load() error {
	if l.recs != nil {
		return nil
	}
	l.recs = map[string]DistrustRecord{}
	if l.path == "" {
		return nil
	}
	data, err := os.ReadFile(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("distrust list: %w", err)
	}
	l.torn = len(data) > 0 && data[len(data)-1] != '\n'
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var r DistrustRecord
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Key != "" {
			l.recs[distrustKey(Destination{Endpoint: r.Endpoint, Bucket: r.Bucket, Key: r.Key})] = r
		}
	}
	return nil
}

// Distrusted reports whether the object at dest with that ETag failed
// verification and must not be trusted (and why).
func (l *DistrustList) Distrusted(dest Destination, etag string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.load() != nil {
		return "", false
	}
	r, ok := l.recs[distrustKey(dest)]
	if !ok || !sameETag(r.ETag, etag) {
		return "", false
	}
	return r.Why, true
}

// Add records an object that must not be trusted, durably.
func (l *DistrustList) Add(r DistrustRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.load(); err != nil {
		return err
	}
	if l.path == "" {
		return errors.New("no state directory to keep the distrust list in")
	}
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if l.torn {
		// Never glue a record to a torn one.
		line = append([]byte{'\n'}, line...)
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return fmt.Errorf("distrust list: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|oNoFollow, 0o600)
	if err != nil {
		return fmt.Errorf("distrust list: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = datasync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("distrust list %s: %w", l.path, err)
	}
	l.torn = false
	l.recs[distrustKey(Destination{Endpoint: r.Endpoint, Bucket: r.Bucket, Key: r.Key})] = r
	return nil
}

// Clear forgets dest (its object was stored again and verified); the file
// is rewritten only when it named dest.
func (l *DistrustList) Clear(dest Destination) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.load(); err != nil {
		return err
	}
	k := distrustKey(dest)
	if _, ok := l.recs[k]; !ok {
		return nil
	}
	delete(l.recs, k)
	if len(l.recs) == 0 {
		if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("distrust list: %w", err)
		}
		return nil
	}
	var buf bytes.Buffer
	for _, r := range l.recs {
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		buf.Write(append(line, '\n'))
	}
	return WriteFileAtomic(l.path, buf.Bytes())
}
