package testenv

import (
	"testing"
	"time"
)

// WaitFor waits until cond holds, for at most Scale(timeout), and fails
// the test saying what never happened. It is for conditions no event
// announces (a file in /proc, a process gone): it checks at once, then
// again after 1 ms, doubling the pause up to 50 ms. Where an event exists
// (a channel, a line of output, a process exit), wait on it instead.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Scale(timeout))
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", Scale(timeout), what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}
