// Package tree finds the files of a directory tree to upload: it walks the
// tree without following symbolic links unless asked (and then detects
// loops), never opens what is not a regular file (a FIFO must not hang a
// nightly job), applies the --include/--exclude rules, and names each file
// by its path relative to the tree's root, byte for byte. It talks to no
// store: the engine (package s3up) decides what to send.
//
// # Order
//
// A walk yields files in the byte order of their relative paths, which is
// the order in which S3 lists their keys (prefix + path): within each
// directory, entries are sorted by name, a directory compared as its name
// followed by "/". So "a-b" and "a.b" come before the files under "a/",
// which come before "a0" (bytes 0x2d, 0x2e, 0x2f, 0x30). Names are compared
// as bytes: no Unicode normalisation, so "é" as one code point (NFC) and as
// "e" plus a combining accent (NFD) are two names, ordered by their bytes.
// That lets the engine merge the walk with the bucket's listing in one
// pass instead of holding either.
//
// # Memory
//
// A walk streams: it holds, for each directory from the root down to the
// one being read, that directory's entries (56 bytes plus the name
// each), so memory grows with depth times directory size, never with the
// tree. With Options.TempDir, a directory larger than
// Options.MaxDirEntries is sorted on disk instead, and memory is bounded
// whatever the directories: depth × MaxDirEntries entries, plus a Sorter's
// budget (8 MiB) while such a directory is read and 2 MiB of read buffers
// for each one being walked. Walking several roots (Files) holds one such walk per
// root.
package tree

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File is a regular file found in a tree.
type File struct {
	Path    string // to open: the root joined with Rel
	Rel     string // relative to the root, "/" separated, byte-exact: the key's suffix
	Size    int64
	ModTime time.Time
}

// Skipped is an entry the walk passes over, and why: a symbolic link not
// followed, a loop, a dangling link, a FIFO, socket or device. Excluded
// files are not reported one by one; they are counted.
type Skipped struct {
	Path   string
	Rel    string
	Reason string
	// NotFollowed: a symbolic link, which Options.FollowSymlinks would
	// follow.
	NotFollowed bool
}

// Problem is a directory or entry the walk could not read.
type Problem struct {
	Path string
	Rel  string
	Err  error
}

// Options control a walk.
type Options struct {
	// FollowSymlinks uploads what symbolic links point to (a link to a
	// directory is walked as a directory under the link's name). A link
	// back to a directory being walked is a loop: it is skipped. Links
	// named on the command line are always followed.
	FollowSymlinks bool
	Filter         *Filter
	// TempDir, if set, is where a directory of more than MaxDirEntries
	// entries is sorted (resume.Sorter: 8 MiB, spilling to TempDir,
	// files removed as they are created), so that a directory of
	// millions of files need not fit in memory. Without it every
	// directory is sorted in memory.
	TempDir string
	// MaxDirEntries is how many entries of one directory are sorted in
	// memory when TempDir is set (0: 100,000, about 7 MiB).
	MaxDirEntries int
}

// Visitor receives what a walk finds, in the walk's order (see Order in
// the package comment). A non-nil error from File stops the walk and is
// returned. The callbacks run on the goroutine that drives the walk.
type Visitor struct {
	File     func(File) error
	Skipped  func(Skipped)
	Problem  func(Problem)
	Excluded func(rel string, dir bool)
}

// ErrRoot marks an error about a root itself (missing, unreadable, not a
// file or directory): nothing of it can be uploaded.
var ErrRoot = errors.New("tree root")

// ErrChanged marks an entry that changed from a directory to something
// else, or back, between reading its directory and visiting it: it is
// reported as a Problem, because walking it would break the order.
var ErrChanged = errors.New("changed while the tree was walked")

// DuplicateError is two roots giving a file the same relative path, hence
// the same key.
type DuplicateError struct {
	Rel           string
	First, Second string // the files' paths, in the order of the roots
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("%s and %s would both be uploaded as %s", e.First, e.Second, e.Rel)
}

// Walk walks root, a directory or a regular file, calling v.File for each
// file in the byte order of File.Rel (see Order in the package comment). A
// file root is one File named by its base name. It returns an error
// wrapping ErrRoot when root cannot be walked at all, the error of v.File,
// or ctx's error.
func Walk(ctx context.Context, root string, o Options, v Visitor) error {
	w, err := newWalker(ctx, root, 0, o, v)
	if err != nil {
		return err
	}
	defer w.close()
	for {
		f, ok, err := w.next()
		if err != nil || !ok {
			return err
		}
		if v.File != nil {
			if err := v.File(f); err != nil {
				return err
			}
		}
	}
}

// Files walks the roots (directories and regular files, as Walk does) and
// yields their files merged in the byte order of File.Rel, so the files
// of several roots under one prefix come in key order too, without
// sorting them: it merges one walk per root. v.File is not used. The
// roots are all opened before the first file is yielded, so an error
// about a root (wrapping ErrRoot) comes first. Two files with the same Rel
// end the sequence with a *DuplicateError; ctx's error ends it too.
func Files(ctx context.Context, roots []string, o Options, v Visitor) iter.Seq2[File, error] {
	return files(ctx, roots, o, v, nil)
}

// files is Files, walking only the top-level names in only (nil: all).
func files(ctx context.Context, roots []string, o Options, v Visitor, only map[string]bool) iter.Seq2[File, error] {
	return func(yield func(File, error) bool) {
		var h rootHeap
		defer func() {
			for _, r := range h {
				r.w.close()
			}
		}()
		for i, root := range roots {
			w, err := newWalker(ctx, root, i, o, v)
			if err != nil {
				yield(File{}, err)
				return
			}
			w.only = only
			f, ok, err := w.next()
			if err != nil || !ok {
				w.close()
			}
			if err != nil {
				yield(File{}, err)
				return
			}
			if !ok {
				continue
			}
			h = append(h, rootHead{f: f, w: w})
		}
		h.init()
		for len(h) > 0 {
			f := h[0].f
			next, ok, err := h[0].w.next()
			if err != nil {
				yield(File{}, err)
				return
			}
			if ok {
				h[0].f = next
				h.down(0)
			} else {
				h[0].w.close()
				h.pop()
			}
			if len(h) > 0 && h[0].f.Rel == f.Rel {
				yield(File{}, &DuplicateError{Rel: f.Rel, First: f.Path, Second: h[0].f.Path})
				return
			}
			if !yield(f, nil) {
				return
			}
		}
	}
}

// rootHead is a root's next file in the merge of Files.
type rootHead struct {
	f File
	w *walker
}

// rootHeap is a binary heap of roots by their next file's Rel, ties by
// root order (so a DuplicateError names the first root's file first).
type rootHeap []rootHead

func (h rootHeap) less(i, j int) bool {
	if c := strings.Compare(h[i].f.Rel, h[j].f.Rel); c != 0 {
		return c < 0
	}
	return h[i].w.order < h[j].w.order
}

func (h rootHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h rootHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

func (h *rootHeap) pop() {
	last := len(*h) - 1
	(*h)[0] = (*h)[last]
	*h = (*h)[:last]
	h.down(0)
}

// walker walks one root depth first with an explicit stack, one file per
// call of next, so that walks can be merged (Files) and paused.
type walker struct {
	ctx   context.Context
	o     Options
	v     Visitor
	order int             // the root's position among the roots
	only  map[string]bool // the top-level names to walk (Duplicates); nil: all

	stack []*frame
	file  *File // a file root not yet yielded
}

// frame is a directory being walked: its entries in key order and the
// next one to visit.
type frame struct {
	path, rel string
	entries   []entry
	next      int
	big       *bigDir       // instead of entries: a directory sorted on disk
	ancestors []os.FileInfo // from the root down to this directory, for loop detection
	readErr   error         // reported once the entries read are walked
}

// nextEntry returns the frame's next entry, false at its end.
func (fr *frame) nextEntry() (*entry, bool) {
	if fr.big != nil {
		e, ok, err := fr.big.next()
		if err != nil {
			fr.readErr = errors.Join(fr.readErr, err)
		}
		return e, ok
	}
	if fr.next == len(fr.entries) {
		return nil, false
	}
	fr.next++
	return &fr.entries[fr.next-1], true
}

// close releases the sorts of the directories still being walked.
func (w *walker) close() {
	for _, fr := range w.stack {
		fr.big.close()
	}
	w.stack = nil
}

// entry is a directory entry as read: its name and type, and for a
// followed link, what it points to (stat'ed when the directory is read,
// because the order depends on whether it is a directory, and the visit
// must agree with the order).
type entry struct {
	name string
	typ  fs.FileMode // the entry's type bits; a followed link's target's
	link bool        // a followed symbolic link: target and statErr describe it
	fi   os.FileInfo
	err  error
}

func (e *entry) dir() bool { return e.typ.IsDir() }

// compareEntries orders entries as their keys are ordered: by name, a
// directory compared as name + "/". Names contain no "/", so once the
// shorter name is exhausted one more byte decides.
func compareEntries(a, b *entry) int {
	n := min(len(a.name), len(b.name))
	if c := strings.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c
	}
	return cmp.Compare(after(a, n), after(b, n))
}

// after is the byte of e's sort name at n, or -1 past its end.
func after(e *entry, n int) int {
	switch {
	case n < len(e.name):
		return int(e.name[n])
	case n == len(e.name) && e.dir():
		return '/'
	}
	return -1
}

func newWalker(ctx context.Context, root string, order int, o Options, v Visitor) (*walker, error) {
	fi, err := os.Stat(root) // a root that is a link is followed
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrRoot, root, unwrapPath(err))
	}
	w := &walker{ctx: ctx, o: o, v: v, order: order}
	switch {
	case fi.Mode().IsRegular():
		w.file = &File{Path: root, Rel: path.Base(filepath.ToSlash(filepath.Clean(root))), Size: fi.Size(), ModTime: fi.ModTime()}
		return w, nil
	case fi.IsDir():
		if err := w.push(root, "", []os.FileInfo{fi}); err != nil {
			return nil, err
		}
		return w, nil
	}
	return nil, fmt.Errorf("%w: %s is not a regular file or directory (%s)", ErrRoot, root, kind(fi.Mode()))
}

// next returns the next file, false at the end of the walk.
func (w *walker) next() (File, bool, error) {
	if f := w.file; f != nil {
		w.file = nil
		if w.only != nil && !w.only[f.Rel] {
			return File{}, false, nil
		}
		if w.included(f.Rel) {
			return *f, true, nil
		}
		return File{}, false, nil
	}
	for len(w.stack) > 0 {
		fr := w.stack[len(w.stack)-1]
		e, ok := fr.nextEntry()
		if !ok {
			w.stack[len(w.stack)-1] = nil
			w.stack = w.stack[:len(w.stack)-1]
			fr.big.close()
			if fr.readErr != nil {
				w.problem(fr.path, fr.rel, fr.readErr)
			}
			continue
		}
		f, ok, err := w.visit(fr, e)
		if err != nil || ok {
			return f, ok, err
		}
	}
	return File{}, false, nil
}

// push reads the directory at p and makes it the one being walked.
func (w *walker) push(p, rel string, ancestors []os.FileInfo) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	entries, big, err := w.readDir(p)
	if err != nil && rel == "" && len(entries) == 0 && big == nil {
		return fmt.Errorf("%w: %s: %w", ErrRoot, p, unwrapPath(err))
	}
	// A directory read in part is walked as far as it was read, then
	// reported.
	w.stack = append(w.stack, &frame{path: p, rel: rel, entries: entries, big: big, ancestors: ancestors, readErr: err})
	return nil
}

// readDirBatch is how many entries one getdents-sized read asks for: the
// batch, not the directory, is what os.ReadDir-style reading holds twice.
const readDirBatch = 1024

// readDir reads the entries of the directory at p, sorted in key order:
// in memory, or past Options.MaxDirEntries through a bigDir. It opens p
// as a directory only (O_DIRECTORY where there is one), so a directory
// replaced by a FIFO since it was seen cannot hang the walk. A directory
// read in part comes with the error that stopped the reading.
func (w *walker) readDir(p string) ([]entry, *bigDir, error) {
	d, err := os.OpenFile(p, os.O_RDONLY|oDirectory, 0)
	if err != nil {
		return nil, nil, err
	}
	defer d.Close()
	limit := w.o.MaxDirEntries
	if limit <= 0 {
		limit = defaultMaxDirEntries
	}
	var entries []entry
	var big *bigDir
	var readErr error
	for readErr == nil {
		var batch []fs.DirEntry
		batch, readErr = d.ReadDir(readDirBatch)
		for _, de := range batch {
			e := entry{name: de.Name(), typ: de.Type()}
			if e.typ&fs.ModeSymlink != 0 && w.o.FollowSymlinks {
				e.link = true
				e.fi, e.err = os.Stat(filepath.Join(p, e.name))
				e.typ = 0
				if e.err == nil {
					e.typ = e.fi.Mode().Type()
				}
			}
			if big == nil {
				entries = append(entries, e)
				if len(entries) <= limit || w.o.TempDir == "" {
					continue
				}
				big = newBigDir(w.o.TempDir)
				for _, e := range entries[:len(entries)-1] {
					if err := big.add(e); err != nil {
						big.close()
						return nil, nil, err
					}
				}
				entries = nil
			}
			if err := big.add(e); err != nil {
				big.close()
				return nil, nil, err
			}
		}
	}
	if readErr == io.EOF {
		readErr = nil
	}
	if big != nil {
		if err := big.sort(); err != nil {
			big.close()
			return nil, nil, err
		}
		return nil, big, readErr
	}
	slices.SortFunc(entries, func(a, b entry) int { return compareEntries(&a, &b) })
	return entries, nil, readErr
}

// visit handles one entry of fr: a file to yield (true), a directory to
// enter (pushed), or something to skip or report.
func (w *walker) visit(fr *frame, e *entry) (File, bool, error) {
	if w.only != nil && fr.rel == "" && !w.only[e.name] {
		return File{}, false, nil
	}
	cp, crel := filepath.Join(fr.path, e.name), e.name
	if fr.rel != "" {
		crel = fr.rel + "/" + e.name
	}
	var fi os.FileInfo
	switch {
	case e.link && e.fi == nil && e.err == nil:
		// Sorted on disk, where its FileInfo was not kept: look again,
		// and refuse it if it is no longer what it was sorted as.
		var err error
		if fi, err = os.Stat(cp); err == nil && fi.IsDir() != e.dir() {
			w.problem(cp, crel, fmt.Errorf("%w: it pointed to a %s and now to a %s", ErrChanged, kind(e.typ), kind(fi.Mode())))
			return File{}, false, nil
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				w.skip(cp, crel, "dangling symbolic link")
			} else {
				w.problem(cp, crel, err)
			}
			return File{}, false, nil
		}
	case e.link:
		if e.err != nil {
			if errors.Is(e.err, fs.ErrNotExist) {
				w.skip(cp, crel, "dangling symbolic link")
			} else {
				w.problem(cp, crel, e.err)
			}
			return File{}, false, nil
		}
		fi = e.fi
	case e.typ&fs.ModeSymlink != 0:
		w.skipLink(cp, crel)
		return File{}, false, nil
	case e.typ.IsDir() || e.typ.IsRegular():
		var err error
		fi, err = os.Lstat(cp)
		if errors.Is(err, fs.ErrNotExist) {
			return File{}, false, nil // gone since the directory was read: not in the tree
		}
		if err != nil {
			w.problem(cp, crel, err)
			return File{}, false, nil
		}
		if fi.IsDir() != e.dir() {
			// Its place in the order was decided by what it was.
			w.problem(cp, crel, fmt.Errorf("%w: it was a %s and is now a %s", ErrChanged, kind(e.typ), kind(fi.Mode())))
			return File{}, false, nil
		}
	default:
		w.skip(cp, crel, kind(e.typ)+", not a regular file: never opened")
		return File{}, false, nil
	}
	switch {
	case fi.Mode().IsRegular():
		if !w.included(crel) {
			return File{}, false, nil
		}
		return File{Path: cp, Rel: crel, Size: fi.Size(), ModTime: fi.ModTime()}, true, nil
	case fi.IsDir():
		if w.o.Filter.Prune(crel) {
			if w.v.Excluded != nil {
				w.v.Excluded(crel, true)
			}
			return File{}, false, nil
		}
		if e.link && slices.ContainsFunc(fr.ancestors, func(a os.FileInfo) bool { return os.SameFile(a, fi) }) {
			w.skip(cp, crel, "symbolic link loop: it points to a directory that contains it")
			return File{}, false, nil
		}
		return File{}, false, w.push(cp, crel, append(fr.ancestors[:len(fr.ancestors):len(fr.ancestors)], fi))
	}
	w.skip(cp, crel, kind(fi.Mode())+", not a regular file: never opened")
	return File{}, false, nil
}

// included applies the filter to a file, counting what it leaves out.
func (w *walker) included(rel string) bool {
	if w.o.Filter.Match(rel) {
		return true
	}
	if w.v.Excluded != nil {
		w.v.Excluded(rel, false)
	}
	return false
}

func (w *walker) skip(p, rel, why string) {
	if w.v.Skipped != nil {
		w.v.Skipped(Skipped{Path: p, Rel: rel, Reason: why})
	}
}

// skipLink passes over a symbolic link that is not followed.
func (w *walker) skipLink(p, rel string) {
	if w.v.Skipped != nil {
		w.v.Skipped(Skipped{Path: p, Rel: rel, Reason: "symbolic link, not followed", NotFollowed: true})
	}
}

func (w *walker) problem(p, rel string, err error) {
	if w.v.Problem != nil {
		w.v.Problem(Problem{Path: p, Rel: rel, Err: unwrapPath(err)})
	}
}

// kind names a file type for people.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "regular file"
	}
	return "special file"
}

// unwrapPath drops the *PathError's own path: messages name the path once.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
