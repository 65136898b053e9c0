package schedule_test

import (
	"fmt"
	"time"

	"github.com/s3up/s3up/s3up/schedule"
)

func ExampleParseTimetable() {
	tt, err := schedule.ParseTimetable("08:00,512k 12:00,10M 13:00,512k 18:00,30M 23:00,off Sat-00:00,off Sun-23:00,2M")
	if err != nil {
		panic(err)
	}
	tt = tt.In(time.UTC)
	now := time.Date(2026, 12, 9, 12, 30, 0, 0, time.UTC) // a Wednesday
	fmt.Println(tt.RateAt(now), "until", tt.NextChange(now).Format("Mon 15:04"))
	sat := time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC)
	fmt.Println(tt.RateAt(sat), "until", tt.NextChange(sat).Format("Mon 15:04"))
	// Output:
	// 10MiB/s until Wed 13:00
	// 512KiB/s until Sat 12:00
}

func ExampleWindowsNeeded() {
	// This run sent 40 GiB in its 6-hour window; 100 GiB remain.
	n, ok := schedule.WindowsNeeded(40<<30, 100<<30, 6*time.Hour, 6*time.Hour)
	fmt.Println(n, ok)
	// Output: 3 true
}

func ExampleParseStopAt() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 3, 29, 1, 30, 0, 0, berlin) // the night 02:00 jumps to 03:00
	at, _ := schedule.ParseStopAt("02:30", now)
	fmt.Println(at)
	// Output: 2026-03-29 03:00:00 +0200 CEST
}
