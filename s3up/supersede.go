package s3up

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/store"
)

// No orphan outlives its successor. A journal names its source and its
// destination; when an upload to a destination completes, the uploads to
// the same destination that the state directory recorded for another source
// (a stream killed midway and run again with another command, a file killed
// and then another file put to the same key) can never be completed without
// overwriting the object just stored, and a gc of forgotten uploads keeps
// them because a journal names them. Those that no running s3up holds are
// aborted and their journals removed (Superseded).

// journalIndex is the state directory's journals by destination: read once
// per Uploader, then kept up to date with the journals its own sessions
// create. A journal another process creates later is found by the next
// Uploader (the next run).
type journalIndex struct {
	once   sync.Once
	mu     sync.Mutex
	byDest map[resume.Destination]map[string]bool
}

// journals returns the index of dir, read on first use.
func (u *Uploader) journals(dir string) *journalIndex {
	ix := &u.index
	ix.once.Do(func() {
		ix.byDest = map[resume.Destination]map[string]bool{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), journalSuffix) {
				continue
			}
			path := filepath.Join(dir, e.Name())
			st, err := resume.Peek(path)
			if err != nil {
				continue // unreadable: left to its own source's next run, or to gc
			}
			ix.add(normalDest(st.Destination), path)
		}
	})
	return ix
}

// journalSuffix ends the name of every upload journal (resume.SidecarPath).
const journalSuffix = ".s3up"

func (ix *journalIndex) add(d resume.Destination, path string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.byDest == nil {
		ix.byDest = map[resume.Destination]map[string]bool{}
	}
	if ix.byDest[d] == nil {
		ix.byDest[d] = map[string]bool{}
	}
	ix.byDest[d][path] = true
}

func (ix *journalIndex) remove(d resume.Destination, path string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.byDest[d], path)
}

// others returns the journals of d but own.
func (ix *journalIndex) others(d resume.Destination, own string) []string {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var out []string
	for p := range ix.byDest[d] {
		if p != own {
			out = append(out, p)
		}
	}
	return out
}

// normalDest is d with its endpoint normalised (state written before
// endpoints were normalised names a store in another spelling).
func normalDest(d resume.Destination) resume.Destination {
	if ep, err := store.NormalizeEndpoint(d.Endpoint); err == nil {
		d.Endpoint = ep
	}
	return d
}

// noteJournal records a journal this Uploader created.
func (u *Uploader) noteJournal(dir string, d resume.Destination, path string) {
	u.journals(dir).add(d, path)
}

// supersede aborts the uploads to the session's destination that the state
// directory recorded for other sources and that no running s3up holds, and
// removes their journals: the object at the key is now this session's.
// Failures only warn: the object is stored and verified.
func (s *session) supersede(ctx context.Context) {
	dir, _, err := s.u.state()
	if err != nil {
		return
	}
	own := resume.SidecarPath(dir, s.id.Path, s.dest)
	ix := s.u.journals(dir)
	for _, path := range ix.others(s.dest, own) {
		switch err := s.supersedeOne(ctx, path); {
		case errors.Is(err, errHeld):
		case errors.Is(err, fs.ErrNotExist):
			ix.remove(s.dest, path)
		case err != nil:
			s.ev.emit(Warning{Message: fmt.Sprintf("an interrupted upload of another source to s3://%s/%s (resume state %s) could not be aborted: %s; a gc of forgotten uploads can remove it later",
				s.dest.Bucket, s.dest.Key, path, store.Describe(err))})
		default:
			ix.remove(s.dest, path)
		}
	}
}

// errHeld: a running s3up holds the journal.
var errHeld = errors.New("held by a running s3up")

// supersedeOne aborts the upload of the journal at path, if it is still an
// upload of another source to this destination that nobody holds, and
// removes the journal.
func (s *session) supersedeOne(ctx context.Context, path string) error {
	if held, err := resume.InUse(path); err != nil || held {
		return errHeld
	}
	sc, err := resume.Lock(path)
	if err != nil {
		return errHeld
	}
	st, err := sc.Load()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			sc.Remove() // only the lock file Lock made
			return err
		}
		sc.Close()
		return nil // unreadable: its own source's next run, or gc, decides
	}
	if normalDest(st.Destination) != s.dest || st.Source.Path == s.id.Path {
		sc.Close()
		return nil
	}
	if st.UploadID != "" {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := store.Abort(actx, s.client(), s.dest.Bucket, s.dest.Key, st.UploadID); err != nil {
			sc.Close()
			return err
		}
	}
	if err := sc.Remove(); err != nil {
		return err
	}
	s.ev.emit(Superseded{UploadID: st.UploadID, Source: sourceName(st.Source.Path), State: path})
	return nil
}

// sourceName is how a journal's source is named for people: a file's path,
// a stream's ID, a reader's name.
func sourceName(id string) string {
	for _, prefix := range []string{"stream:", "reader:"} {
		if rest, ok := strings.CutPrefix(id, prefix); ok {
			return rest
		}
	}
	return id
}
