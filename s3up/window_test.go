package s3up

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/s3up/s3fake"
	"github.com/s3up/s3up/s3up/schedule"
)

// t0 is the fake clocks' start: a Wednesday, 00:59 UTC.
var t0 = time.Date(2026, 12, 9, 0, 59, 0, 0, time.UTC)

// windowGate blocks the data requests the test names (parts by number,
// small files by key) in the fake's hook until released, and records any
// data request that starts once the window has ended.
type windowGate struct {
	win  *schedule.Window
	hold func(op string, in any) bool

	mu       sync.Mutex
	entered  chan string // a held request arrived
	release  chan struct{}
	late     []string // data requests started after the window ended
	hardWait bool     // held requests wait for their context only (hard mode)
}

func newWindowGate(win *schedule.Window, hold func(op string, in any) bool) *windowGate {
	return &windowGate{win: win, hold: hold, entered: make(chan string, 16), release: make(chan struct{})}
}

func (g *windowGate) hook(ctx context.Context, op string, in any) error {
	name := ""
	switch v := in.(type) {
	case *s3.UploadPartInput:
		name = fmt.Sprintf("part %d", aws.ToInt32(v.PartNumber))
	case *s3.PutObjectInput:
		name = "put " + aws.ToString(v.Key)
	default:
		return nil
	}
	if g.win.Ended() {
		g.mu.Lock()
		g.late = append(g.late, name)
		g.mu.Unlock()
	}
	if !g.hold(op, in) {
		return nil
	}
	g.entered <- name
	if g.hardWait {
		<-ctx.Done()
		return s3fake.ConnectionReset(op)
	}
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	return nil
}

// waitEntered waits for n held requests.
func (g *windowGate) waitEntered(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	for range n {
		select {
		case name := <-g.entered:
			got = append(got, name)
		case <-time.After(20 * time.Second):
			t.Fatalf("only %v of %d held requests arrived", got, n)
		}
	}
	return got
}

func (g *windowGate) lateStarts() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.late)
}

func partNumberIn(nums ...int32) func(string, any) bool {
	return func(_ string, in any) bool {
		p, ok := in.(*s3.UploadPartInput)
		return ok && slices.Contains(nums, aws.ToInt32(p.PartNumber))
	}
}

// TestWindowSoftStopsBeforeTheNextPart: the window ends while parts 2 and
// 3 are in flight. They finish (soft), no part starts after the end, the
// call returns a *WindowError that says how far it got, and a rerun
// without a window sends only the rest and stores the right object.
func TestWindowSoftStopsBeforeTheNextPart(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 8*testPart)
	dir := t.TempDir()
	file := writeFile(t, dir, "big.bin", data)
	state := t.TempDir()
	clock := schedule.NewFakeClock(t0)
	win := schedule.NewWindow(clock, t0.Add(10*time.Minute), schedule.Soft)
	defer win.Stop()
	f := newFake()
	g := newWindowGate(win, partNumberIn(2, 3))
	f.SetOnCall(g.hook)
	u := testUploader(t, f, Options{Concurrency: 2, StateDir: state, Window: win})

	errc := make(chan error, 1)
	go func() {
		_, err := u.Put(t.Context(), file, testBucket, "big")
		errc <- err
	}()
	g.waitEntered(t, 2) // parts 2 and 3 hold both places: nothing else can start
	clock.Advance(11 * time.Minute)
	if !win.Ended() {
		t.Fatal("the window did not end")
	}
	close(g.release)
	err := <-errc

	var we *WindowError
	if !errors.As(err, &we) || !errors.Is(err, ErrWindowEnded) || !errors.Is(err, schedule.ErrWindowEnded) {
		t.Fatalf("err %v, want a *WindowError wrapping ErrWindowEnded", err)
	}
	if k := errKind(err); k != ErrWindowEnded.Error() {
		t.Fatalf("kind %q", k)
	}
	if late := g.lateStarts(); len(late) != 0 {
		t.Fatalf("started after the window ended: %v", late)
	}
	if we.PartsDone != 3 || we.PartsTotal != 8 || we.BytesDone != 3*testPart || we.BytesTotal != int64(len(data)) || we.StatePath == "" {
		t.Fatalf("window error %+v, want parts 3/8, %d/%d bytes and a state path", we, 3*testPart, len(data))
	}
	if !strings.Contains(err.Error(), "37.5%") || !strings.Contains(err.Error(), "3 of 8 parts") {
		t.Fatalf("message %q does not say how far it got", err)
	}
	if ups := f.Uploads(testBucket); len(ups) != 1 {
		t.Fatalf("%d uploads on the server, want the one to continue", len(ups))
	}

	// The next night: no window; only the 5 missing parts go.
	f.SetOnCall(nil)
	calls := f.Calls("UploadPart")
	u2 := testUploader(t, f, Options{Concurrency: 2, StateDir: state})
	res, err := u2.Put(t.Context(), file, testBucket, "big")
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if sent := f.Calls("UploadPart") - calls; sent != 5 || !res.Resumed || res.PartsSent != 5 {
		t.Fatalf("rerun sent %d parts (result %d, resumed %v), want the 5 missing", sent, res.PartsSent, res.Resumed)
	}
	assertObject(t, f, u2, "big", data)
}

// TestWindowHardCancelsPartsInFlight: in hard mode the parts in flight
// when the window ends are cancelled at once, not journalled, and sent by
// the next run.
func TestWindowHardCancelsPartsInFlight(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 6*testPart)
	file := writeFile(t, t.TempDir(), "big.bin", data)
	state := t.TempDir()
	clock := schedule.NewFakeClock(t0)
	win := schedule.NewWindow(clock, t0.Add(time.Hour), schedule.Hard)
	defer win.Stop()
	f := newFake()
	g := newWindowGate(win, partNumberIn(2, 3))
	g.hardWait = true // they would never finish: only the cut ends them
	f.SetOnCall(g.hook)
	u := testUploader(t, f, Options{Concurrency: 2, StateDir: state, Window: win})

	errc := make(chan error, 1)
	go func() {
		_, err := u.Put(t.Context(), file, testBucket, "big")
		errc <- err
	}()
	g.waitEntered(t, 2)
	clock.Advance(2 * time.Hour)
	var err error
	select {
	case err = <-errc:
	case <-time.After(20 * time.Second):
		t.Fatal("the parts in flight were not cancelled at the end of a hard window")
	}
	var we *WindowError
	if !errors.As(err, &we) {
		t.Fatalf("err %v, want a *WindowError", err)
	}
	if we.PartsDone != 1 {
		t.Fatalf("%d parts done, want 1 (parts 2 and 3 were cut)", we.PartsDone)
	}
	if late := g.lateStarts(); len(late) != 0 {
		t.Fatalf("started after the window ended: %v", late)
	}

	f.SetOnCall(nil)
	u2 := testUploader(t, f, Options{Concurrency: 2, StateDir: state})
	res, err := u2.Put(t.Context(), file, testBucket, "big")
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if res.PartsSent != 5 || res.PartsKept != 1 {
		t.Fatalf("rerun sent %d and kept %d parts, want 5 and 1", res.PartsSent, res.PartsKept)
	}
	assertObject(t, f, u2, "big", data)
}

// TestWindowEndedBeforeTheStart: a window already over sends nothing, and
// says so with ErrWindowEnded.
func TestWindowEndedBeforeTheStart(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 3*testPart)
	file := writeFile(t, t.TempDir(), "f.bin", data)
	clock := schedule.NewFakeClock(t0)
	win := schedule.NewWindow(clock, t0.Add(time.Minute), schedule.Soft)
	defer win.Stop()
	clock.Advance(time.Hour)
	f := newFake()
	u := testUploader(t, f, Options{Window: win})
	_, err := u.Put(t.Context(), file, testBucket, "k")
	if !errors.Is(err, ErrWindowEnded) {
		t.Fatalf("err %v, want ErrWindowEnded", err)
	}
	if n := f.Calls("UploadPart"); n != 0 {
		t.Fatalf("%d parts sent after the window", n)
	}
}

// TestWindowStreamStops: a stream stops reading at its window and keeps
// its upload and journal (it is not aborted as a failed stream would be);
// a rerun reading the same bytes skips the parts on the server.
func TestWindowStreamStops(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 5*testPart)
	state := t.TempDir()
	clock := schedule.NewFakeClock(t0)
	win := schedule.NewWindow(clock, t0.Add(time.Hour), schedule.Soft)
	defer win.Stop()
	f := newFake()
	g := newWindowGate(win, partNumberIn(2))
	f.SetOnCall(g.hook)
	u := testUploader(t, f, Options{Concurrency: 1, StateDir: state, Window: win})
	errc := make(chan error, 1)
	go func() {
		_, err := u.PutStream(t.Context(), testStream(data), testBucket, "s")
		errc <- err
	}()
	g.waitEntered(t, 1)
	clock.Advance(2 * time.Hour)
	close(g.release)
	err := <-errc
	var we *WindowError
	if !errors.As(err, &we) || !we.Stream || we.PartsDone != 2 {
		t.Fatalf("err %v (%+v), want a stream's *WindowError with 2 parts done", err, we)
	}
	if late := g.lateStarts(); len(late) != 0 {
		t.Fatalf("started after the window ended: %v", late)
	}
	if ups := f.Uploads(testBucket); len(ups) != 1 {
		t.Fatalf("%d uploads, want the stream's kept", len(ups))
	}
	f.SetOnCall(nil)
	u2 := testUploader(t, f, Options{Concurrency: 1, StateDir: state})
	res, err := u2.PutStream(t.Context(), testStream(data), testBucket, "s")
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if res.BytesSkipped != 2*testPart {
		t.Fatalf("rerun skipped %d bytes, want the 2 parts on the server", res.BytesSkipped)
	}
	assertObject(t, f, u2, "s", data)
}

// TestWindowTreeStopsStartingFiles: the window ends while the second of
// five small files is being stored; it finishes, no file starts after the
// end, and the next run stores the rest.
func TestWindowTreeStopsStartingFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	rnd := seeded(t)
	want := map[string][]byte{}
	for i := range 5 {
		name := fmt.Sprintf("f%d", i)
		want["t/"+name] = randomBytes(rnd, 100+i)
		writeFile(t, root, name, want["t/"+name])
	}
	state := t.TempDir()
	clock := schedule.NewFakeClock(t0)
	win := schedule.NewWindow(clock, t0.Add(time.Hour), schedule.Soft)
	defer win.Stop()
	f := newFake()
	g := newWindowGate(win, func(_ string, in any) bool {
		p, ok := in.(*s3.PutObjectInput)
		return ok && aws.ToString(p.Key) == "t/f1"
	})
	f.SetOnCall(g.hook)
	u := testUploader(t, f, Options{Concurrency: 1, StateDir: state, Window: win})
	spec := Tree{Roots: []string{root}, Bucket: testBucket, Prefix: "t/"}
	type out struct {
		res *TreeResult
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := u.PutTree(t.Context(), spec)
		done <- out{res, err}
	}()
	g.waitEntered(t, 1)
	clock.Advance(2 * time.Hour)
	close(g.release)
	o := <-done
	var we *WindowError
	if !errors.As(o.err, &we) || errors.Is(o.err, ErrPartial) {
		t.Fatalf("err %v, want a *WindowError only", o.err)
	}
	if we.FilesDone != 2 || we.FilesTotal != 5 || o.res.Failed != 0 {
		t.Fatalf("files %d/%d, %d failed; want 2/5 and none failed", we.FilesDone, we.FilesTotal, o.res.Failed)
	}
	if late := g.lateStarts(); len(late) != 0 {
		t.Fatalf("started after the window ended: %v", late)
	}
	if keys := f.ObjectKeys(testBucket); len(keys) != 2 {
		t.Fatalf("objects %v, want the 2 stored before the end", keys)
	}

	f.SetOnCall(nil)
	u2 := testUploader(t, f, Options{Concurrency: 1, StateDir: state})
	res, err := u2.PutTree(t.Context(), spec)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if res.Uploaded != 3 || res.Unchanged != 2 {
		t.Fatalf("rerun uploaded %d, unchanged %d; want 3 and 2", res.Uploaded, res.Unchanged)
	}
	for k, b := range want {
		o, ok := f.Object(testBucket, k)
		if !ok || string(o.Data) != string(b) {
			t.Fatalf("object %s missing or wrong", k)
		}
	}
}

// TestWindowTimetableChangesRateInFlight: a part read at 1 KiB/s before
// 01:00 goes at once when the timetable turns the limit off at 01:00, on
// the injected clock: the new rate reaches the request already in flight.
func TestWindowTimetableChangesRateInFlight(t *testing.T) {
	t.Parallel()
	tt, err := schedule.ParseTimetable("00:00,1K 01:00,off")
	if err != nil {
		t.Fatal(err)
	}
	tt = tt.In(time.UTC)
	data := randomBytes(seeded(t), 2*testPart)
	file := writeFile(t, t.TempDir(), "f.bin", data)
	clock := schedule.NewFakeClock(t0) // 00:59 UTC: 1 KiB/s for a minute
	f := newFake()
	u := testUploader(t, f, Options{Concurrency: 1, Bandwidth: tt, Clock: clock})
	defer u.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := u.Put(t.Context(), file, testBucket, "k")
		errc <- err
	}()
	// The limiter's timer for 01:00, and a read waiting for its tokens.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := clock.BlockUntil(ctx, 2); err != nil {
		t.Fatalf("no read waited on the limiter: %v", err)
	}
	if r := u.tt.Rate(); r != 1024 {
		t.Fatalf("rate %v before 01:00, want 1KiB/s", r)
	}
	clock.AdvanceTo(t0.Add(time.Minute))
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the upload still waits at the old rate after the timetable turned the limit off")
	}
	if r := u.tt.Rate(); r.Limited() {
		t.Fatalf("rate %v after 01:00, want off", r)
	}
	o, _ := f.Object(testBucket, "k")
	if string(o.Data) != string(data) {
		t.Fatal("object differs")
	}
}

// TestWindowOptionsAreShared: a window, a timetable and a clock belong to
// the Uploader: a call that changes them is refused.
func TestWindowOptionsAreShared(t *testing.T) {
	t.Parallel()
	f := newFake()
	u := testUploader(t, f, Options{})
	file := writeFile(t, t.TempDir(), "f", []byte("x"))
	tt, _ := schedule.ParseTimetable("1M")
	for name, fn := range map[string]func(*Options){
		"window":    func(o *Options) { o.Window = schedule.NewWindow(nil, time.Time{}, schedule.Soft) },
		"timetable": func(o *Options) { o.Bandwidth = tt },
		"clock":     func(o *Options) { o.Clock = schedule.NewFakeClock(t0) },
	} {
		if _, err := u.Put(t.Context(), file, testBucket, "k", fn); !errors.Is(err, ErrBadInput) {
			t.Errorf("%s in a call: %v, want ErrBadInput", name, err)
		}
	}
	if _, err := NewUploader(u.client, Options{BandwidthLimit: 1, Bandwidth: tt}); !errors.Is(err, ErrBadInput) {
		t.Errorf("a limit and a timetable: %v, want ErrBadInput", err)
	}
}

// TestWindowEndsDuringCompletion: a window that ends while the upload is
// being completed lets the completion finish: the object is stored and
// verified, the call succeeds.
func TestWindowEndsDuringCompletion(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 3*testPart)
	file := writeFile(t, t.TempDir(), "f.bin", data)
	clock := schedule.NewFakeClock(t0)
	win := schedule.NewWindow(clock, t0.Add(time.Hour), schedule.Hard)
	defer win.Stop()
	f := newFake()
	f.SetOnCall(func(_ context.Context, op string, _ any) error {
		if op == "CompleteMultipartUpload" {
			clock.Advance(2 * time.Hour)
		}
		return nil
	})
	u := testUploader(t, f, Options{Window: win})
	if _, err := u.Put(t.Context(), file, testBucket, "k"); err != nil {
		t.Fatalf("a completion under way at the end of the window: %v", err)
	}
	if !win.Ended() {
		t.Fatal("the window did not end during the completion")
	}
	assertObject(t, f, u, "k", data)
}

// TestWindowEndsDuringReconciliation: a window that ends while a resume
// lists the server's parts lets the listing finish, then starts no part:
// the run stops at its window with the journal intact, and the next run
// completes the upload.
func TestWindowEndsDuringReconciliation(t *testing.T) {
	t.Parallel()
	data := randomBytes(seeded(t), 4*testPart)
	file := writeFile(t, t.TempDir(), "f.bin", data)
	state := t.TempDir()
	f := newFake()
	failPart(f, 3, s3fake.APIError("UploadPart", 403, "AccessDenied", "Access Denied"))
	u := testUploader(t, f, Options{Concurrency: 1, StateDir: state})
	if _, err := u.Put(t.Context(), file, testBucket, "k"); err == nil {
		t.Fatal("the first run did not fail")
	}

	clock := schedule.NewFakeClock(t0)
	win := schedule.NewWindow(clock, t0.Add(time.Hour), schedule.Soft)
	defer win.Stop()
	parts := 0
	f.SetOnCall(func(_ context.Context, op string, _ any) error {
		switch op {
		case "ListParts":
			clock.Advance(2 * time.Hour)
		case "UploadPart":
			parts++
		}
		return nil
	})
	u2 := testUploader(t, f, Options{Concurrency: 1, StateDir: state, Window: win})
	_, err := u2.Put(t.Context(), file, testBucket, "k")
	var we *WindowError
	if !errors.As(err, &we) || we.PartsDone != 2 || we.PartsTotal != 4 {
		t.Fatalf("err %v (%+v), want a window stop with the 2 parts of the first run", err, we)
	}
	if parts != 0 {
		t.Fatalf("%d parts sent after the window ended", parts)
	}

	f.SetOnCall(nil)
	u3 := testUploader(t, f, Options{Concurrency: 1, StateDir: state})
	res, err := u3.Put(t.Context(), file, testBucket, "k")
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if res.PartsKept != 2 || res.PartsSent != 2 {
		t.Fatalf("rerun kept %d and sent %d parts, want 2 and 2", res.PartsKept, res.PartsSent)
	}
	assertObject(t, f, u3, "k", data)
}

// TestWindowTreeStopsAFileInFlight: a big file of a tree whose window ends
// between its parts stops there, is not counted as failed, and the next
// run resumes it.
func TestWindowTreeStopsAFileInFlight(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	big := randomBytes(seeded(t), 4*testPart)
	writeFile(t, root, "big", big)
	writeFile(t, root, "small", []byte("small"))
	state := t.TempDir()
	clock := schedule.NewFakeClock(t0)
	win := schedule.NewWindow(clock, t0.Add(time.Hour), schedule.Soft)
	defer win.Stop()
	f := newFake()
	g := newWindowGate(win, partNumberIn(2))
	f.SetOnCall(g.hook)
	u := testUploader(t, f, Options{Concurrency: 1, StateDir: state, Window: win})
	spec := Tree{Roots: []string{root}, Bucket: testBucket, Prefix: "t/"}
	done := make(chan error, 1)
	var res *TreeResult
	go func() {
		var err error
		res, err = u.PutTree(t.Context(), spec)
		done <- err
	}()
	g.waitEntered(t, 1)
	clock.Advance(2 * time.Hour)
	close(g.release)
	err := <-done
	var we *WindowError
	if !errors.As(err, &we) || res.Failed != 0 || res.Uploaded != 0 {
		t.Fatalf("err %v, %+v: want a window stop, nothing failed or stored", err, res)
	}
	if we.FilesDone != 0 || we.FilesTotal != 2 || we.BytesDone != 2*testPart {
		t.Fatalf("window error %+v: want 0/2 files and the big file's 2 parts on the server", we)
	}
	if late := g.lateStarts(); len(late) != 0 {
		t.Fatalf("started after the window ended: %v", late)
	}
	f.SetOnCall(nil)
	u2 := testUploader(t, f, Options{Concurrency: 1, StateDir: state})
	res, err = u2.PutTree(t.Context(), spec)
	if err != nil || res.Uploaded != 2 {
		t.Fatalf("rerun: %v, %+v", err, res)
	}
	if res.BytesSent != 2*testPart+5 {
		t.Fatalf("rerun sent %d bytes, want the big file's last 2 parts and the small file", res.BytesSent)
	}
	o, _ := f.Object(testBucket, "t/big")
	if string(o.Data) != string(big) {
		t.Fatal("t/big differs")
	}
}
