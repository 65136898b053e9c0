package tree

import (
	"fmt"
	"path"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Rule is one --include or --exclude pattern.
type Rule struct {
	Include bool
	Pattern string
}

func (r Rule) String() string {
	if r.Include {
		return "include " + r.Pattern
	}
	return "exclude " + r.Pattern
}

// Filter decides which files of a tree are uploaded, from rules matched
// against each file's path relative to its tree root ("/" separators).
//
// The rules are read in the order given and the last one that matches a
// file decides. A file no rule matches is included, unless the first rule
// is an --include: then only what the rules include is uploaded (so
// `--include '*.jpg'` alone means "only JPEGs", and `--exclude '*'
// --include '*.jpg'`, as aws s3 writes it, means the same).
//
// Patterns are globs: `*` and `?` match within one path element, `**`
// across elements, `[abc]` and `{a,b}` as usual. A pattern without "/"
// matches a name at any depth (`*.tmp`); a pattern with "/" matches the
// whole relative path from the root (`logs/*.gz`; a leading "/" is
// allowed). A pattern ending in "/" matches directories: everything under
// a directory it matches (`cache/` excludes every directory named cache,
// `/build/` only the top one).
type Filter struct {
	rules          []compiled
	defaultInclude bool
}

type compiled struct {
	Rule
	glob     string // the pattern as doublestar matches it
	anchored bool   // matched against the whole relative path, else against one name
	dir      bool   // matches directories (pattern ended in "/")
}

// NewFilter checks and compiles rules. No rules include everything.
func NewFilter(rules []Rule) (*Filter, error) {
	f := &Filter{defaultInclude: len(rules) == 0 || !rules[0].Include}
	for _, r := range rules {
		p := r.Pattern
		if p == "" || p == "/" {
			return nil, fmt.Errorf("%s: empty pattern", r)
		}
		c := compiled{Rule: r}
		if strings.HasSuffix(p, "/") {
			c.dir = true
			p = strings.TrimSuffix(p, "/")
		}
		if strings.HasPrefix(p, "/") {
			c.anchored = true
			p = strings.TrimPrefix(p, "/")
		}
		if strings.Contains(p, "/") {
			c.anchored = true
		}
		if !doublestar.ValidatePattern(p) {
			return nil, fmt.Errorf("%s: not a valid glob pattern", r)
		}
		c.glob = p
		f.rules = append(f.rules, c)
	}
	return f, nil
}

// Empty reports whether the filter has no rules.
func (f *Filter) Empty() bool { return f == nil || len(f.rules) == 0 }

// Match reports whether the file at rel (relative to its root, "/"
// separated) is uploaded.
func (f *Filter) Match(rel string) bool {
	if f == nil {
		return true
	}
	for i := len(f.rules) - 1; i >= 0; i-- {
		if f.rules[i].matchFile(rel) {
			return f.rules[i].Include
		}
	}
	return f.defaultInclude
}

// Prune reports whether nothing under the directory at rel can be
// included, so the walk need not enter it: the last rule that covers the
// whole directory is an --exclude and no --include comes after it.
func (f *Filter) Prune(rel string) bool {
	if f == nil {
		return false
	}
	for i := len(f.rules) - 1; i >= 0; i-- {
		c := f.rules[i]
		if c.Include {
			return false
		}
		if c.coversDir(rel) {
			return true
		}
	}
	return false
}

// matchFile matches a file's relative path.
func (c compiled) matchFile(rel string) bool {
	if c.dir {
		// A directory pattern matches a file under a directory it matches.
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			if c.matchOne(d) {
				return true
			}
		}
		return false
	}
	return c.matchOne(rel)
}

// coversDir reports whether the rule matches everything under the
// directory at rel: a directory pattern matching it or one of its
// parents, or a pattern "X/**" whose X matches it.
func (c compiled) coversDir(rel string) bool {
	if c.dir {
		for d := rel; d != "."; d = path.Dir(d) {
			if c.matchOne(d) {
				return true
			}
		}
		return false
	}
	if prefix, ok := strings.CutSuffix(c.glob, "/**"); ok {
		// "X/**" has a "/", so it is matched from the root, and so is X.
		pc := c
		pc.glob, pc.anchored = prefix, true
		for d := rel; d != "."; d = path.Dir(d) {
			if pc.matchOne(d) {
				return true
			}
		}
	}
	return false
}

// matchOne matches one path: the whole of it when anchored, else its last
// element.
func (c compiled) matchOne(p string) bool {
	if !c.anchored {
		p = path.Base(p)
	}
	ok, _ := doublestar.Match(c.glob, p)
	return ok
}
