package resume

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// keyLog is the keys a run passed to TreeJournal.Seen, in increasing
// order, in a temporary file (front-coded, removed from its directory at
// once where the system allows): a run of 10 M files keeps 64 KiB of it
// in memory, not 10 M keys.
type keyLog struct {
	dir  string
	f    *os.File
	name string // to remove at close where it could not be removed at once
	w    *bufio.Writer
	prev []byte
	n    int64
	err  error // sticky: a log with a key missing must not decide what is kept
}

func (k *keyLog) add(key string) error {
	if k.err != nil {
		return k.err
	}
	if k.n > 0 && key <= string(k.prev) {
		k.err = fmt.Errorf("tree journal: Seen(%q) after Seen(%q): keys must come in increasing byte order, each once", key, k.prev)
		return k.err
	}
	if k.f == nil {
		if err := os.MkdirAll(k.dir, 0o700); err != nil {
			k.err = fmt.Errorf("tree journal: %w", err)
			return k.err
		}
		f, err := os.CreateTemp(k.dir, "s3up-seen-*.keys")
		if err != nil {
			k.err = fmt.Errorf("tree journal: %w", err)
			return k.err
		}
		k.f, k.name = f, f.Name()
		if os.Remove(k.name) == nil {
			k.name = ""
		}
		k.w = bufio.NewWriterSize(f, 64<<10)
	}
	shared := 0
	for shared < len(k.prev) && shared < len(key) && k.prev[shared] == key[shared] {
		shared++
	}
	var hdr [2 * binary.MaxVarintLen64]byte
	h := binary.AppendUvarint(hdr[:0], uint64(shared))
	h = binary.AppendUvarint(h, uint64(len(key)-shared))
	k.w.Write(h)
	if _, err := k.w.WriteString(key[shared:]); err != nil {
		k.err = fmt.Errorf("tree journal: record a key seen: %w", err)
		return k.err
	}
	k.prev = append(k.prev[:0], key...)
	k.n++
	return nil
}

// contains returns a keep function for TreeJournal's replacement: called
// with increasing keys, it reports whether each was seen, reading the log
// forward once.
func (k *keyLog) contains() (func(string) bool, error) {
	if k.err != nil {
		return nil, k.err
	}
	if k.f == nil {
		return func(string) bool { return false }, nil
	}
	if err := k.w.Flush(); err != nil {
		return nil, fmt.Errorf("tree journal: record the keys seen: %w", err)
	}
	size, err := k.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("tree journal: %w", err)
	}
	br := bufio.NewReaderSize(io.NewSectionReader(k.f, 0, size), 64<<10)
	var cur []byte
	left, have := k.n, false
	readOne := func() bool {
		if left == 0 {
			return false
		}
		shared, err1 := binary.ReadUvarint(br)
		n, err2 := binary.ReadUvarint(br)
		if err := errors.Join(err1, err2); err != nil || shared > uint64(len(cur)) || n > 1<<20 {
			k.err = fmt.Errorf("tree journal: read back the keys seen: damaged (%v)", err)
			left = 0
			return false
		}
		need := int(shared + n)
		if cap(cur) < need {
			grown := make([]byte, need, 2*need)
			copy(grown, cur[:shared])
			cur = grown
		}
		cur = cur[:need]
		if _, err := io.ReadFull(br, cur[shared:]); err != nil {
			k.err = fmt.Errorf("tree journal: read back the keys seen: %w", err)
			left = 0
			return false
		}
		left--
		return true
	}
	return func(key string) bool {
		if !have {
			have = readOne()
		}
		for have && string(cur) < key {
			have = readOne()
		}
		return have && string(cur) == key
	}, nil
}

func (k *keyLog) close() error {
	if k == nil || k.f == nil {
		return nil
	}
	err := k.f.Close()
	if k.name != "" {
		err = errors.Join(err, os.Remove(k.name))
	}
	k.f = nil
	return err
}
