// Package heapwatch measures the peak heap of a piece of work, for the
// memory benchmarks of trees (resume, s3up, bench): the heap's objects,
// live and not yet collected, are what a process's RSS follows. Standard
// library only.
package heapwatch

import (
	"runtime"
	"runtime/metrics"
	"time"
)

// Peak starts sampling the heap every millisecond, after a collection, and
// returns a function that stops the sampling and returns the highest
// value seen, in bytes.
func Peak() (stop func() uint64) {
	runtime.GC()
	quit, done := make(chan struct{}), make(chan uint64)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var peak uint64
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-quit:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(quit); return <-done }
}
