package checkin_test

import (
	"fmt"

	"github.com/s3up/s3up/s3up/checkin"
)

func ExampleRedact() {
	fmt.Println(checkin.Redact("https://hc-ping.com/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"))
	fmt.Println(checkin.Redact("https://user:pass@hc.example/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278?rid=0e3f4bd2"))
	// Output:
	// https://hc-ping.com/…a278
	// https://hc.example/…a278?rid=…
}
