package testenv

import (
	"bytes"
	"fmt"
	"os"
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

// ProcState is the state letter of process pid in /proc ('T' stopped, 'S'
// sleeping, 'Z' zombie), or 0 when there is no such process.
func ProcState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}
