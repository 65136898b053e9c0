package s3fake_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3up/s3up/s3up/s3fake"
)

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

func TestHookBlocks(t *testing.T) {
	f := newFake(t)
	id := create(t, f, "k", "")
	entered, release := make(chan struct{}), make(chan struct{})
	f.SetOnCall(func(ctx context.Context, op string, in any) error {
		if op == "UploadPart" {
			close(entered)
			<-release
		}
		return nil
	})
	done := make(chan error)
	go func() {
		_, err := f.UploadPart(ctx, partInput("k", id, 1, []byte("blocked")))
		done <- err
	}()
	<-entered
	// The hook runs without the fake's lock: the fake answers meanwhile.
	if u, _ := f.Upload(bkt, id); len(u.Parts) != 0 {
		t.Fatal("the part was stored before the hook returned")
	}
	must(f.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bkt), Key: aws.String("k"), UploadId: aws.String(id)})).ok(t)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if u, _ := f.Upload(bkt, id); len(u.Parts) != 1 {
		t.Fatal("the part was not stored after the hook returned")
	}
}

func TestHookUntilCanceled(t *testing.T) {
	f := newFake(t)
	entered := make(chan struct{})
	// The hook waits for the context, then lets the call go on: the fake
	// finds the context done and fails the call as the SDK would.
	f.SetOnCall(func(ctx context.Context, op string, in any) error {
		close(entered)
		<-ctx.Done()
		return nil
	})
	c, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		_, err := f.PutObject(c, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), Body: strings.NewReader("x")})
		done <- err
	}()
	<-entered
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "operation error S3: PutObject") {
		t.Fatalf("got %v", err)
	}
	if len(f.ObjectKeys(bkt)) != 0 || f.BytesReceived() != 0 {
		t.Error("a canceled call was applied or its body read")
	}
}

func TestHookSelective(t *testing.T) {
	f := newFake(t, s3fake.MinPartSize(0))
	id := create(t, f, "k", "")
	seen := map[int32]int{}
	f.SetOnCall(func(ctx context.Context, op string, in any) error {
		if op != "UploadPart" {
			return nil
		}
		n := aws.ToInt32(in.(*s3.UploadPartInput).PartNumber)
		seen[n]++
		if n == 3 {
			return s3fake.APIError(op, 503, "SlowDown", "Please reduce your request rate.")
		}
		return nil
	})
	var bodies []*countingReader
	for n := int32(1); n <= 4; n++ {
		body := &countingReader{r: strings.NewReader("part")}
		bodies = append(bodies, body)
		in := partInput("k", id, n, nil)
		in.Body, in.ContentLength = body, aws.Int64(4)
		_, err := f.UploadPart(ctx, in)
		if n == 3 {
			wantErr(t, err, "UploadPart", 503, "SlowDown")
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if bodies[2].n != 0 || bodies[0].n != 4 {
		t.Errorf("read %d bytes of the refused body, %d of an accepted one", bodies[2].n, bodies[0].n)
	}
	if u, _ := f.Upload(bkt, id); len(u.Parts) != 3 || fmt.Sprint(seen) != "map[1:1 2:1 3:1 4:1]" {
		t.Errorf("%d parts stored, hook saw %v", len(u.Parts), seen)
	}
	if f.Calls("UploadPart") != 4 || f.BytesReceived() != 12 {
		t.Errorf("calls %d, bytes %d", f.Calls("UploadPart"), f.BytesReceived())
	}
	f.SetOnCall(nil)
	uploadPart(t, f, "k", id, 3, []byte("part"))
}

func TestOnCallOption(t *testing.T) {
	calls := 0
	f := newFake(t, s3fake.OnCall(func(ctx context.Context, op string, in any) error {
		calls++
		if op == "HeadBucket" {
			return errors.New("hooked")
		}
		return nil
	}))
	if _, err := f.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bkt)}); err == nil || err.Error() != "hooked" {
		t.Fatalf("got %v, want the hook's error verbatim", err)
	}
	if calls != 1 {
		t.Errorf("hook called %d times", calls)
	}
}

func TestFailNextInOrder(t *testing.T) {
	f := newFake(t)
	f.FailNext("PutObject", s3fake.RefuseAPI(500, "InternalError", "boom"), s3fake.LoseRequest)
	f.FailNext("PutObject", s3fake.Refuse(s3fake.APIError("PutObject", 403, "ExpiredToken", "The provided token has expired.")))
	if f.PendingFaults("PutObject") != 3 {
		t.Fatalf("pending %d", f.PendingFaults("PutObject"))
	}
	// Other operations are not affected.
	must(f.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bkt)})).ok(t)

	body := &countingReader{r: strings.NewReader("data")}
	in := &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), Body: body}
	_, err := f.PutObject(ctx, in)
	wantErr(t, err, "PutObject", 500, "InternalError")
	_, err = f.PutObject(ctx, in)
	if !isReset(err) {
		t.Fatalf("second call: %v, want a connection reset", err)
	}
	_, err = f.PutObject(ctx, in)
	wantErr(t, err, "PutObject", 403, "ExpiredToken")
	if body.n != 0 || len(f.ObjectKeys(bkt)) != 0 {
		t.Fatal("a refused PutObject read its body or was applied")
	}
	must(f.PutObject(ctx, in)).ok(t)
	if f.PendingFaults("PutObject") != 0 || f.FaultsInjected("PutObject") != 3 || f.Calls("PutObject") != 4 {
		t.Errorf("pending %d, injected %d, calls %d", f.PendingFaults("PutObject"), f.FaultsInjected("PutObject"), f.Calls("PutObject"))
	}
	f.FailNext("PutObject", s3fake.LoseRequest)
	f.ClearFaults()
	put(t, f, "k", []byte("x"))
}

func TestRefuseAfterBody(t *testing.T) {
	f := newFake(t)
	id := create(t, f, "k", "")
	f.FailNext("UploadPart", s3fake.LoseRequest.AfterBody(), s3fake.RefuseAPI(500, "InternalError", "x").AfterBody())
	for i := range 2 {
		body := &countingReader{r: strings.NewReader("0123456789")}
		in := partInput("k", id, 1, nil)
		in.Body, in.ContentLength = body, aws.Int64(10)
		if _, err := f.UploadPart(ctx, in); err == nil {
			t.Fatal("not refused")
		}
		if body.n != 10 || f.BytesReceived() != int64(10*(i+1)) {
			t.Errorf("read %d, received %d", body.n, f.BytesReceived())
		}
	}
	if u, _ := f.Upload(bkt, id); len(u.Parts) != 0 {
		t.Error("a refused part was stored")
	}
	if s := s3fake.LoseRequest.AfterBody().String(); s != "LoseRequest.AfterBody()" {
		t.Errorf("String %q", s)
	}
	if s3fake.LoseAnswer.AfterBody().String() != "LoseAnswer" {
		t.Error("AfterBody changed LoseAnswer")
	}
}

// Chaos draws are reproducible from the seed, which the test prints.
func TestChaosReproducible(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("chaos seed %d", seed)
	run := func() (string, *s3fake.Fake) {
		f := newFake(t)
		f.SetChaos(s3fake.Chaos{Seed: seed, Rate: 0.5, Ops: []string{"PutObject"}})
		var outcomes []string
		for i := range 200 {
			_, err := f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String(fmt.Sprint(i)), Body: strings.NewReader("x")})
			switch {
			case err == nil:
				outcomes = append(outcomes, "ok")
			case isReset(err):
				outcomes = append(outcomes, "reset")
			default:
				outcomes = append(outcomes, "500")
			}
			// Other operations are never hit.
			must(f.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bkt)})).ok(t)
		}
		return strings.Join(outcomes, " "), f
	}
	a, f := run()
	b, _ := run()
	if a != b {
		t.Fatalf("same seed, different outcomes:\n%s\n%s", a, b)
	}
	n := f.FaultsInjected("PutObject")
	if n < 60 || n > 140 {
		t.Errorf("%d faults in 200 calls at rate 0.5", n)
	}
	// Lost answers (plain or retried) applied the PUT; lost requests and
	// 500s did not.
	for _, o := range []string{"ok", "reset", "500"} {
		if !strings.Contains(a, o) {
			t.Errorf("no %q outcome in %s", o, a)
		}
	}
	if f.FaultsInjected("HeadBucket") != 0 {
		t.Error("chaos hit an operation not chosen")
	}
	f.SetChaos(s3fake.Chaos{})
	for i := range 50 {
		put(t, f, fmt.Sprint(i), []byte("x"))
	}
}

func TestChaosFaultsChosen(t *testing.T) {
	f := newFake(t)
	f.SetChaos(s3fake.Chaos{Seed: 1, Rate: 1, Faults: []s3fake.Fault{s3fake.LoseAnswer}})
	_, err := f.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String("k"), Body: strings.NewReader("x")})
	if _, ok := f.Object(bkt, "k"); !isReset(err) || !ok {
		t.Fatalf("got %v, stored %v", err, ok)
	}
	// Queued faults come first.
	f.FailNext("HeadBucket", s3fake.RefuseAPI(403, "AccessDenied", "Access Denied"))
	_, err = f.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bkt)})
	wantErr(t, err, "HeadBucket", 403, "Forbidden")
}

func TestUnknownOperationPanics(t *testing.T) {
	f := newFake(t)
	for name, call := range map[string]func(){
		"FailNext": func() { f.FailNext("Complete", s3fake.LoseAnswer) },
		"SetChaos": func() { f.SetChaos(s3fake.Chaos{Rate: 1, Ops: []string{"uploadpart"}}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s accepted an unknown operation", name)
				}
			}()
			call()
		}()
	}
}

func TestCounters(t *testing.T) {
	f := newFake(t)
	put(t, f, "a", []byte("12345"))
	put(t, f, "b", []byte("678"))
	must(f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("a")})).ok(t)
	f.FailNext("HeadObject", s3fake.LoseRequest)
	f.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("a")})
	if got := fmt.Sprint(f.CallCounts()); got != "map[HeadObject:2 PutObject:2]" {
		t.Errorf("counts %s", got)
	}
	if f.BytesReceived() != 8 || f.BytesReceivedBy("PutObject") != 8 || f.FaultsInjected("HeadObject") != 1 {
		t.Errorf("bytes %d, faults %d", f.BytesReceived(), f.FaultsInjected("HeadObject"))
	}
	f.ResetCounters()
	if len(f.CallCounts()) != 0 || f.BytesReceived() != 0 || f.FaultsInjected("HeadObject") != 0 {
		t.Error("counters not reset")
	}
	if len(f.ObjectKeys(bkt)) != 2 {
		t.Error("reset dropped objects")
	}
}
