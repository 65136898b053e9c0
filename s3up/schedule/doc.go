// Package schedule holds the time rules of a run: bandwidth timetables
// (--bwlimit), the limiter that applies them live, and upload windows
// (--max-duration, --stop-at, --cutoff-mode) with the estimate of how
// many more windows an upload needs. It does no I/O beyond reading a
// Clock, so the engine and the tests drive it with a FakeClock.
//
// # Timetables
//
// ParseTimetable reads rclone's --bwlimit syntax: a plain rate is a
// constant limit; otherwise entries "[DAY-]HH:MM[:SS],RATE" separated by
// spaces or semicolons make a weekly list. An entry without a day is the
// same entry on all seven days; a later entry for the same moment wins.
// The rate in force is a pure function of the local wall clock (RateAt):
// the latest entry at or before it in the week, wrapping round from the
// week's last entry. Rates (ParseRate) take rclone's binary units, so
// "10M" is 10 MiB/s and a bare number is KiB/s, plus s3up's "20MiB/s" and
// the SI "500KB/s"; "off" is Unlimited.
//
// # The live limiter
//
// Limiter wraps one golang.org/x/time/rate.Limiter shared by every
// request body. A timer on the Clock fires at each change of rate
// (Timetable.NextChange, and at least every minute to follow a wall clock
// that jumped); the new limit and burst apply at once to every request:
// waiters queued at the old rate are woken and queue again at the new
// one. The burst is one second of the rate, at most MaxBurst, never 0.
//
// # Windows
//
// Deadline turns --max-duration and --stop-at (ParseStopAt) into one end
// time, the earlier of the two. A Window closes Done at that time; the
// engine starts no part or file once Ended, and in Hard mode cancels the
// parts in flight through CutoffContext (whose cause is ErrWindowEnded).
// WindowsNeeded estimates, from this run's rate, how many more windows
// the rest needs.
//
// # Daylight-saving time
//
// Times of day are wall-clock times in the local zone. When the clock
// skips an hour, a time inside it (an entry, a --stop-at) happens at the
// jump; when an hour is played twice, a timetable's entries inside it
// apply at both passes (RateAt depends on the clock's reading only, as in
// rclone), and --stop-at means the first pass still ahead. Windows and
// changes are timed on the wall clock, not by elapsed time alone.
package schedule
