package s3up

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/resume"
	"github.com/s3up/s3up/s3up/s3fake"
	"github.com/s3up/s3up/s3up/schedule"
	"github.com/s3up/s3up/s3up/store"
)

// eventTypes are the package's events, one value of each.
var eventTypes = []Event{Planned{}, Started{}, Resumed{}, Rechecked{}, Notice{}, Warning{}, Progress{}, PartDone{},
	Unchanged{}, Completed{}, Verified{}, Retry{}, Superseded{}, TreeScanned{}, FileDone{}, Skipped{}, Unreadable{}, InFile{}, Deleted{}}

// TestEveryEventNamesItsPut: every type with an eventName method (found in
// the package's source, so a new event cannot be forgotten) is stamped with
// the put it belongs to; and the events of puts running at once on one
// Uploader, with one Listener, name their own put.
func TestEveryEventNamesItsPut(t *testing.T) {
	t.Parallel()
	declared := typesWithMethod(t, ".", "eventName")
	var listed []string
	ref := Ref{Source: "/src", Bucket: "b", Key: "k"}
	for _, e := range eventTypes {
		name := reflect.TypeOf(e).Name()
		listed = append(listed, name)
		if got := stamp(e, ref).Ref(); got != ref {
			t.Errorf("%s is not stamped with its put: %+v", name, got)
		}
	}
	slices.Sort(listed)
	if !slices.Equal(declared, listed) {
		t.Fatalf("event types declared %v, listed in eventTypes %v", declared, listed)
	}

	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 2})
	ev := &events{}
	u.opts.Listener = ev
	r := seeded(t)
	done := make(chan error, 3)
	for i, key := range []string{"a", "b", "c"} {
		src := newMemSource(randomBytes(r, (3+i)*testPart))
		src.id.Path = "/mem/" + key
		go func() {
			_, err := u.putSrc(context.Background(), src, testBucket, key)
			done <- err
		}()
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	parts := map[string]int{}
	for _, e := range ev.all {
		got := e.Ref()
		if got.Bucket != testBucket || got.Source != "/mem/"+got.Key {
			t.Fatalf("%s names %+v", EventName(e), got)
		}
		if _, ok := e.(PartDone); ok {
			parts[got.Key]++
		}
	}
	if parts["a"] != 3 || parts["b"] != 4 || parts["c"] != 5 {
		t.Fatalf("parts acknowledged by put: %v", parts)
	}
}

// typesWithMethod returns the sorted names of the types in the non-test
// files of dir that have a method called method.
func typesWithMethod(t *testing.T, dir, method string) []string {
	t.Helper()
	var out []string
	eachFile(t, dir, false, func(_ *token.FileSet, f *ast.File) {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Name.Name != method {
				continue
			}
			typ := fd.Recv.List[0].Type
			if st, ok := typ.(*ast.StarExpr); ok {
				typ = st.X
			}
			out = append(out, typ.(*ast.Ident).Name)
		}
	})
	slices.Sort(out)
	return out
}

// eachFile parses the non-test Go files of dir (and, with deep, of every
// package under it).
func eachFile(t *testing.T, dir string, deep bool, fn func(*token.FileSet, *ast.File)) {
	t.Helper()
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && !deep {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		fn(fset, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// flagLike is a command-line flag in a string: --state-dir.
var flagLike = regexp.MustCompile(`(^|[^A-Za-z0-9-])--[a-z][a-z0-9-]*`)

// TestNoLibraryStringNamesAFlag: the library speaks its own terms (Options
// fields, settings in words); flags are the CLI's, which adds them to its
// messages (store.Hint).
func TestNoLibraryStringNamesAFlag(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{".", "../resume"} {
		eachFile(t, dir, true, func(fset *token.FileSet, f *ast.File) {
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err == nil && flagLike.MatchString(s) {
					t.Errorf("%s: %q names a command-line flag", fset.Position(lit.Pos()), s)
				}
				return true
			})
		})
	}
}

// TestEveryErrorHasAKind walks the library's failures, from its exported
// entry points: each error wraps exactly one of the kinds, the one its
// cause calls for.
func TestEveryErrorHasAKind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := randomBytes(seeded(t), 3*testPart)
	dir := t.TempDir()
	file := writeFile(t, dir, "f.bin", data)
	denied := s3fake.APIError("UploadPart", 403, "AccessDenied", "Access Denied")
	type run func(t *testing.T, f *s3fake.Fake, u *Uploader) error
	cases := []struct {
		name string
		want error
		run  run
		fake []s3fake.Option
	}{
		{"options", ErrBadInput, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			_, err := NewUploader(&store.Client{API: f}, Options{PartSize: 1})
			return err
		}, nil},
		{"no client", ErrBadInput, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			_, err := NewUploader(nil, Options{})
			return err
		}, nil},
		{"shared option in a call", ErrBadInput, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			_, err := u.Put(ctx, file, testBucket, "k", func(o *Options) { o.Concurrency = 99 })
			return err
		}, nil},
		{"call option", ErrBadInput, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			_, err := u.Put(ctx, file, testBucket, "k", func(o *Options) { o.Checksum = "crc99" })
			return err
		}, nil},
		{"destination", ErrBadInput, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			_, err := u.Put(ctx, file, testBucket, "dir/")
			return err
		}, nil},
		{"missing file", ErrBadInput, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			_, err := u.Put(ctx, filepath.Join(dir, "nope"), testBucket, "k")
			return err
		}, nil},
		{"reader without a name", ErrBadInput, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			_, err := u.PutReaderAt(ctx, newMemSource(data), int64(len(data)), Identity{}, testBucket, "k")
			return err
		}, nil},
		{"stream without an ID", ErrBadInput, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			_, err := u.PutStream(ctx, Stream{R: strings.NewReader("x")}, testBucket, "k")
			return err
		}, nil},
		{"tree without roots", ErrBadInput, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			_, err := u.PutTree(ctx, Tree{Bucket: testBucket})
			return err
		}, nil},
		{"no bucket", ErrNoBucket, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			_, err := u.Put(ctx, file, "other-bucket", "k")
			return err
		}, nil},
		{"access denied", ErrAccess, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			failPart(f, 2, denied)
			_, err := u.Put(ctx, file, testBucket, "k")
			return err
		}, nil},
		{"server error", ErrTransient, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			failPart(f, 2, s3fake.APIError("UploadPart", 500, "InternalError", "x"))
			_, err := u.Put(ctx, file, testBucket, "k")
			return err
		}, nil},
		{"interrupted", ErrTransient, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			cctx, cancel := context.WithCancel(ctx)
			f.SetOnCall(func(_ context.Context, op string, _ any) error {
				if op == "UploadPart" {
					cancel()
				}
				return nil
			})
			_, err := u.Put(cctx, file, testBucket, "k")
			if !errors.Is(err, context.Canceled) {
				t.Errorf("interrupted: %v does not say so (context.Canceled)", err)
			}
			return err
		}, nil},
		{"busy", ErrBusy, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			abs, _ := filepath.Abs(file)
			sc, err := resume.Lock(resume.SidecarPath(u.opts.StateDir, abs, resume.Destination{Endpoint: "http://fake.test", Bucket: testBucket, Key: "k"}))
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Remove()
			_, err = u.Put(ctx, file, testBucket, "k")
			return err
		}, nil},
		{"corrupt state", ErrState, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			abs, _ := filepath.Abs(file)
			p := resume.SidecarPath(u.opts.StateDir, abs, resume.Destination{Endpoint: "http://fake.test", Bucket: testBucket, Key: "k"})
			if err := os.WriteFile(p, []byte("not a journal\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := u.Put(ctx, file, testBucket, "k")
			return err
		}, nil},
		{"damaged object", ErrVerify, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			f.FailNext("UploadPart", s3fake.Corrupt)
			_, err := u.Put(ctx, file, testBucket, "k")
			return err
		}, []s3fake.Option{s3fake.IgnoreChecksums(), s3fake.IgnoreContentMD5(), s3fake.OpaqueETags()}},
		{"producer failed", ErrStreamFailed, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			st := testStream(data)
			st.Wait = func() error { return errors.New("exit status 1") }
			_, err := u.PutStream(ctx, st, testBucket, "s")
			return err
		}, nil},
		{"stream of another size", ErrStreamFailed, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			st := testStream(data)
			st.Size = int64(len(data)) + 1
			_, err := u.PutStream(ctx, st, testBucket, "s")
			return err
		}, nil},
		{"window ended", ErrWindowEnded, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			clock := schedule.NewFakeClock(time.Now())
			w := schedule.NewWindow(clock, clock.Now().Add(time.Minute), schedule.Soft)
			clock.Advance(time.Hour)
			_, err := testUploader(t, f, Options{Window: w}).Put(ctx, file, testBucket, "k")
			return err
		}, nil},
		{"tree partly failed", ErrPartial, func(t *testing.T, f *s3fake.Fake, u *Uploader) error {
			root := t.TempDir()
			writeFile(t, root, "a", data[:10])
			writeFile(t, root, "b", data[:20])
			f.SetOnCall(func(_ context.Context, op string, in any) error {
				if p, ok := in.(*s3.PutObjectInput); ok && strings.HasSuffix(aws.ToString(p.Key), "/b") {
					return s3fake.APIError("PutObject", 500, "InternalError", "x")
				}
				return nil
			})
			_, err := u.PutTree(ctx, Tree{Roots: []string{root}, Bucket: testBucket, Prefix: "t/"})
			return err
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(tc.fake...)
			u := testUploader(t, f, Options{Concurrency: 1})
			err := tc.run(t, f, u)
			var kinds []error
			for _, k := range store.Kinds {
				if errors.Is(err, k) {
					kinds = append(kinds, k)
				}
			}
			if len(kinds) != 1 || kinds[0] != tc.want {
				t.Fatalf("%v: kinds %v, want exactly %v", err, kinds, tc.want)
			}
			if msg := fmt.Sprint(err); msg == "" || msg == tc.want.Error() {
				t.Fatalf("the error says nothing beyond its kind: %q", msg)
			}
		})
	}
}
