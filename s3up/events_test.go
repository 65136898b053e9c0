package s3up

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// TestEmitterQueueIsBounded (issue 26): a listener that falls behind holds
// up the run at maxQueued waiting events, instead of letting the queue
// grow with a tree of millions of files; every event still arrives, in
// order.
func TestEmitterQueueIsBounded(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	l := ListenerFunc(func(e Event) {
		if w, ok := e.(Warning); ok {
			if w.Message == "0" {
				<-release
			}
			mu.Lock()
			got = append(got, w.Message)
			mu.Unlock()
		}
	})
	e := newEmitter(l, Ref{})
	const n = 3 * maxQueued
	var emitted atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			e.emit(Warning{Message: strconv.Itoa(i)})
			emitted.Add(1)
		}
	}()
	// Wait for the queue to fill while the listener holds event 0.
	for {
		e.mu.Lock()
		full := len(e.queue) >= maxQueued
		e.mu.Unlock()
		if full {
			break
		}
		runtime.Gosched()
	}
	e.mu.Lock()
	queued := len(e.queue)
	e.mu.Unlock()
	if queued != maxQueued || emitted.Load() >= n {
		t.Fatalf("queue %d, %d of %d emitted while the listener was stuck", queued, emitted.Load(), n)
	}
	close(release)
	<-done
	e.close()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n {
		t.Fatalf("listener got %d events, want %d", len(got), n)
	}
	for i, m := range got {
		if m != strconv.Itoa(i) {
			t.Fatalf("event %d is %q", i, m)
		}
	}
}
