// Package tree finds the files of a directory tree to upload: it walks the
// tree without following symbolic links unless asked (and then detects
// loops), never opens what is not a regular file (a FIFO must not hang a
// nightly job), applies the --include/--exclude rules, and names each file
// by its path relative to the tree's root, byte for byte. It talks to no
// store: the engine (package s3up) decides what to send.
package tree

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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
}

// Visitor receives what a walk finds, in order (directories in name
// order, depth first). A non-nil error from File stops the walk and is
// returned.
type Visitor struct {
	File     func(File) error
	Skipped  func(Skipped)
	Problem  func(Problem)
	Excluded func(rel string, dir bool)
}

// ErrRoot marks an error about a root itself (missing, unreadable, not a
// file or directory): nothing of it can be uploaded.
var ErrRoot = errors.New("tree root")

// Walk walks root, a directory or a regular file. A file root is one File
// named by its base name. It returns an error wrapping ErrRoot when root
// cannot be walked at all, the error of v.File, or ctx's error.
func Walk(ctx context.Context, root string, o Options, v Visitor) error {
	fi, err := os.Stat(root) // a root that is a link is followed
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrRoot, root, unwrapPath(err))
	}
	w := &walker{ctx: ctx, o: o, v: v}
	switch {
	case fi.Mode().IsRegular():
		return w.file(root, path.Base(filepath.ToSlash(filepath.Clean(root))), fi)
	case fi.IsDir():
		return w.dir(root, "", []os.FileInfo{fi})
	}
	return fmt.Errorf("%w: %s is not a regular file or directory (%s)", ErrRoot, root, kind(fi.Mode()))
}

type walker struct {
	ctx context.Context
	o   Options
	v   Visitor
}

func (w *walker) file(p, rel string, fi os.FileInfo) error {
	if !w.o.Filter.Match(rel) {
		if w.v.Excluded != nil {
			w.v.Excluded(rel, false)
		}
		return nil
	}
	if w.v.File == nil {
		return nil
	}
	return w.v.File(File{Path: p, Rel: rel, Size: fi.Size(), ModTime: fi.ModTime()})
}

func (w *walker) skip(p, rel, why string) {
	if w.v.Skipped != nil {
		w.v.Skipped(Skipped{Path: p, Rel: rel, Reason: why})
	}
}

func (w *walker) problem(p, rel string, err error) {
	if w.v.Problem != nil {
		w.v.Problem(Problem{Path: p, Rel: rel, Err: unwrapPath(err)})
	}
}

// dir walks the directory at p (relative path rel, "" for the root);
// ancestors are the directories from the root down to it, for loop
// detection.
func (w *walker) dir(p, rel string, ancestors []os.FileInfo) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(p)
	if err != nil && rel == "" && len(entries) == 0 {
		return fmt.Errorf("%w: %s: %w", ErrRoot, p, unwrapPath(err))
	}
	if err != nil {
		// ReadDir returns what it could read: walk that, then report.
		defer w.problem(p, rel, err)
	}
	for _, e := range entries {
		name := e.Name()
		cp, crel := filepath.Join(p, name), name
		if rel != "" {
			crel = rel + "/" + name
		}
		t := e.Type()
		if t&fs.ModeSymlink != 0 {
			if !w.o.FollowSymlinks {
				w.skip(cp, crel, "symbolic link, not followed (--follow-symlinks follows links)")
				continue
			}
			fi, err := os.Stat(cp)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					w.skip(cp, crel, "dangling symbolic link")
				} else {
					w.problem(cp, crel, err)
				}
				continue
			}
			if err := w.entry(cp, crel, fi, ancestors, true); err != nil {
				return err
			}
			continue
		}
		if t.IsDir() || t.IsRegular() {
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // gone since the directory was read: not in the tree
			}
			if err != nil {
				w.problem(cp, crel, err)
				continue
			}
			if err := w.entry(cp, crel, fi, ancestors, false); err != nil {
				return err
			}
			continue
		}
		w.skip(cp, crel, kind(t)+", not a regular file: never opened")
	}
	return nil
}

// entry handles a directory entry whose (followed) FileInfo is fi.
func (w *walker) entry(p, rel string, fi os.FileInfo, ancestors []os.FileInfo, viaLink bool) error {
	switch {
	case fi.Mode().IsRegular():
		return w.file(p, rel, fi)
	case fi.IsDir():
		if w.o.Filter.Prune(rel) {
			if w.v.Excluded != nil {
				w.v.Excluded(rel, true)
			}
			return nil
		}
		if viaLink {
			for _, a := range ancestors {
				if os.SameFile(a, fi) {
					w.skip(p, rel, "symbolic link loop: it points to a directory that contains it")
					return nil
				}
			}
		}
		return w.dir(p, rel, append(ancestors[:len(ancestors):len(ancestors)], fi))
	}
	w.skip(p, rel, kind(fi.Mode())+", not a regular file: never opened")
	return nil
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
