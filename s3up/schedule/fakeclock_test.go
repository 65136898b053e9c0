package schedule

import (
	"context"
	"testing"
	"time"
)

func TestFakeClockFiresInOrder(t *testing.T) {
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	c := NewFakeClock(start)
	var got []time.Duration
	rec := func() { got = append(got, c.Now().Sub(start)) }
	c.AfterFunc(3*time.Second, rec)
	c.AfterFunc(time.Second, func() {
		rec()
		c.AfterFunc(time.Second, rec) // due at 2s, inside this Advance
	})
	stopped := c.AfterFunc(2500*time.Millisecond, rec)
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	if stopped.Stop() {
		t.Fatal("a second Stop reported true")
	}
	c.AfterFunc(10*time.Second, rec)
	c.Advance(5 * time.Second)
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
	if len(got) != len(want) {
		t.Fatalf("fired at %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fired at %v, want %v", got, want)
		}
	}
	if c.Now() != start.Add(5*time.Second) || c.Pending() != 1 {
		t.Fatalf("after Advance: now %s, %d pending", c.Now(), c.Pending())
	}
	if at, ok := c.AdvanceToNext(); !ok || at != start.Add(10*time.Second) || len(got) != 4 {
		t.Fatalf("AdvanceToNext = %s, %v; %d fired", at, ok, len(got))
	}
	if _, ok := c.AdvanceToNext(); ok {
		t.Fatal("AdvanceToNext with nothing pending moved")
	}
}

func TestFakeClockBlockUntil(t *testing.T) {
	c := NewFakeClock(time.Unix(0, 0))
	done := make(chan error, 1)
	go func() { done <- c.BlockUntil(deadline(t), 2) }()
	c.AfterFunc(time.Second, func() {})
	c.AfterFunc(time.Second, func() {})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.BlockUntil(ctx, 5); err == nil {
		t.Fatal("BlockUntil with a cancelled context returned nil")
	}
}
