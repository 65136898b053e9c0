//go:build !race

package s3test

const raceEnabled = false
