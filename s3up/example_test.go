package s3up_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/s3up/s3up/s3up"
	"github.com/s3up/s3up/s3up/s3fake"
	"github.com/s3up/s3up/s3up/store"
)

// exampleStore is an in-memory store with a bucket "backups", as a client
// for NewUploader, and options that let its parts be small.
func exampleStore() (*s3fake.Fake, *store.Client, s3up.Options, func()) {
	f := s3fake.New(s3fake.MinPartSize(1 << 10))
	f.CreateBucket("backups")
	dir, err := os.MkdirTemp("", "s3up-example-")
	if err != nil {
		log.Fatal(err)
	}
	c := &store.Client{API: f, Info: store.ClientInfo{Endpoint: "http://store.example", Region: "us-east-1", PathStyle: true}}
	opts := s3up.Options{StateDir: filepath.Join(dir, "state"), PartSize: 64 << 10, MinPartSize: 1 << 10}
	return f, c, opts, func() { os.RemoveAll(dir) }
}

// Two files go up at once through one Uploader, which shares its
// concurrency and bandwidth budget between them; one Listener tells their
// events apart by the put each names.
func ExampleUploader_Put_concurrent() {
	f, c, opts, done := exampleStore()
	defer done()
	dir := filepath.Dir(opts.StateDir)
	var paths []string
	for i, size := range []int{300 << 10, 200 << 10} {
		p := filepath.Join(dir, fmt.Sprintf("db%d.dump", i+1))
		if err := os.WriteFile(p, bytes.Repeat([]byte{byte('a' + i)}, size), 0o600); err != nil {
			log.Fatal(err)
		}
		paths = append(paths, p)
	}
	var mu sync.Mutex
	parts := map[string]int{} // key → parts acknowledged
	opts.Listener = s3up.ListenerFunc(func(e s3up.Event) {
		if _, ok := e.(s3up.PartDone); ok {
			mu.Lock()
			parts[e.Ref().Key]++
			mu.Unlock()
		}
	})
	up, err := s3up.NewUploader(c, opts)
	if err != nil {
		log.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Go(func() {
			key := "nightly/" + filepath.Base(p)
			if _, err := up.Put(context.Background(), p, "backups", key); err != nil {
				log.Fatal(err)
			}
		})
	}
	wg.Wait()
	keys := f.ObjectKeys("backups")
	slices.Sort(keys)
	for _, k := range keys {
		o, _ := f.Object("backups", k)
		fmt.Printf("%s: %d bytes, %d parts\n", k, len(o.Data), parts[k])
	}
	// Output:
	// nightly/db1.dump: 307200 bytes, 5 parts
	// nightly/db2.dump: 204800 bytes, 4 parts
}

// Bytes in memory (or any io.ReaderAt: a file region, a memory-mapped
// snapshot) go up with an Identity that names them for resume: a put of the
// same Name, Version and size to the same key resumes an interrupted one.
func ExampleUploader_PutReaderAt() {
	f, c, opts, done := exampleStore()
	defer done()
	up, err := s3up.NewUploader(c, opts)
	if err != nil {
		log.Fatal(err)
	}
	snapshot := bytes.Repeat([]byte("snapshot "), 20_000)
	id := s3up.Identity{Name: "vm-42 snapshot", Version: "generation 7", ModTime: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)}
	res, err := up.PutReaderAt(context.Background(), bytes.NewReader(snapshot), int64(len(snapshot)), id, "backups", "vm-42.img",
		func(o *s3up.Options) { o.Object.ContentType = "application/octet-stream" })
	if err != nil {
		log.Fatal(err)
	}
	o, _ := f.Object("backups", "vm-42.img")
	fmt.Println(res.Parts, "parts,", res.Size, "bytes; content verified:", res.Verification.Content, "; stored:", bytes.Equal(o.Data, snapshot))
	// Output:
	// 3 parts, 180000 bytes; content verified: true ; stored: true
}

// A stream of unknown size (a pipe, a producer's output) is read once; its
// parts grow with it. The zero Stream.Size means "unknown".
func ExampleUploader_PutStream() {
	f, c, opts, done := exampleStore()
	defer done()
	up, err := s3up.NewUploader(c, opts)
	if err != nil {
		log.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		for i := range 10_000 {
			fmt.Fprintf(pw, "INSERT INTO t VALUES (%d);\n", i)
		}
		pw.Close()
	}()
	res, err := up.PutStream(context.Background(), s3up.Stream{R: pr, ID: "pg_dump mydb", Name: "pg_dump mydb"}, "backups", "mydb.sql")
	if err != nil {
		log.Fatal(err)
	}
	o, _ := f.Object("backups", "mydb.sql")
	fmt.Println(res.Size, "bytes in", res.Parts, "parts; first line:", strings.SplitN(string(o.Data), "\n", 2)[0])
	// Output:
	// 288890 bytes in 5 parts; first line: INSERT INTO t VALUES (0);
}

// An Uploader built from an *s3.Client the program already has (here one
// whose requests an in-memory store answers): the client keeps its
// credentials, retryer and HTTP client.
func ExampleNew() {
	f := s3fake.New(s3fake.MinPartSize(1 << 10))
	f.CreateBucket("backups")
	client := f.Client() // in a program: s3.NewFromConfig(cfg)
	dir, err := os.MkdirTemp("", "s3up-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	up, err := s3up.New(client, s3up.Options{StateDir: dir, PartSize: 64 << 10, MinPartSize: 1 << 10})
	if err != nil {
		log.Fatal(err)
	}
	data := bytes.Repeat([]byte{7}, 100<<10)
	res, err := up.PutReaderAt(context.Background(), bytes.NewReader(data), int64(len(data)), s3up.Identity{Name: "blob"}, "backups", "blob")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Key, res.Parts, "parts, verified by:", res.Verified)
	fmt.Println("requests:", f.Calls("CreateMultipartUpload"), "create,", f.Calls("UploadPart"), "parts,", f.Calls("CompleteMultipartUpload"), "complete")
	// Output:
	// blob 2 parts, verified by: size, CRC32C checksum
	// requests: 1 create, 2 parts, 1 complete
}

// A sealed upload: the object is an age file of the source, which the age
// tool (or filippo.io/age) decrypts with the identity alone.
func ExampleParseSeal() {
	f, c, opts, done := exampleStore()
	defer done()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		log.Fatal(err)
	}
	opts.Seal, _, err = s3up.ParseSeal([]string{id.Recipient().String()}, nil)
	if err != nil {
		log.Fatal(err)
	}
	u, err := s3up.NewUploader(c, opts)
	if err != nil {
		log.Fatal(err)
	}
	data := bytes.Repeat([]byte("nightly dump\n"), 20000)
	if _, err := u.PutReaderAt(context.Background(), bytes.NewReader(data), int64(len(data)), s3up.Identity{Name: "dump"}, "backups", "dump.age"); err != nil {
		log.Fatal(err)
	}
	obj, _ := f.Object("backups", "dump.age")
	r, err := age.Decrypt(bytes.NewReader(obj.Data), id)
	if err != nil {
		log.Fatal(err)
	}
	plain, _ := io.ReadAll(r)
	fmt.Println(obj.Metadata[s3up.EncryptionKey], bytes.Equal(plain, data))
	// Output: age true
}
