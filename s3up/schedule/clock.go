package schedule

import "time"

// Clock is where the schedule reads the time and sets its timers, so
// that tests can drive it (FakeClock) instead of waiting for wall time.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once, in its own goroutine or (FakeClock) from
	// Advance, when d has passed, unless the Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not happened yet and reports
	// whether it did.
	Stop() bool
}

// RealClock is the system clock: time.Now and time.AfterFunc.
var RealClock Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// resync is the longest the limiter and the window let a timer run before
// they read the clock again. Timers measure elapsed time, while
// timetables and --stop-at are about the wall clock, and the two part
// when the machine sleeps or the clock is stepped: a timer set for six
// hours at 00:00 could fire at 07:00 after an hour's suspend.
const resync = time.Minute
