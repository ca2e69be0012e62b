package cli_test

// Supervision faults through the real binary: output left in a pipe after
// its process exited, argument lists past the kernel's limits, processes
// that escape their test, signals to volley. Each asserts that no result is
// lost and that no process of the run survives it (/proc).

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// faultTMLSpec is a tml fixture spec of n passing tests whose first test
// first enlarges its stdout pipe to pipe bytes ("" = leave it).
func faultTMLSpec(n int, pipe string) string {
	var b strings.Builder
	b.WriteString("protocol tml\n")
	for i := range n {
		if i == 0 && pipe != "" {
			b.WriteString("test pipe=" + pipe + " pass\n")
			continue
		}
		b.WriteString("test pass\n")
	}
	return b.String()
}

// faultCount asserts that every one of n tests of suite passed once.
func faultCount(t *testing.T, r *faultRun, suite string, n int) {
	t.Helper()
	lost, dup := 0, 0
	for i := range n {
		rs := r.results[fmt.Sprintf("%s::%d", suite, i)]
		switch {
		case len(rs) == 0 || rs[len(rs)-1].status != "PASS":
			lost++
		case len(rs) > 1:
			dup++
		}
	}
	if lost > 0 || dup > 0 {
		t.Errorf("%s: %s: %d of %d results lost or not PASS, %d reported twice\n%s", r.describe(), suite, lost, n, dup, clipText(r.out, 1500))
	}
	if len(r.left) > 0 {
		t.Errorf("%s: processes left: %v", r.describe(), r.left)
	}
}

// A suite that enlarges its stdout pipe to 1 MiB writes 100,000 results
// and exits at once: most of them are still in the pipe when it has exited,
// and every one is read and reported.
func TestFaultDrainFullPipe(t *testing.T) {
	d := newFaultDir(t)
	n := 100_000
	if testing.Short() {
		n = 30_000 // still more than the 1 MiB pipe holds
	}
	d.fixture("big", faultTMLSpec(n, "1M"))
	r := faultVolley(t, d.dir, 300*time.Second, "test", "--no-cache", "--state-dir", d.state,
		"--protocol", "tml", "--timeout", "200s", "./big")
	if r.code != 0 {
		t.Errorf("%s: want 0\n%s", r.describe(), clipText(r.out, 1500))
	}
	faultCount(t, r, "big", n)
	if !strings.Contains(r.out, fmt.Sprintf("volley: %d passed, 0 failed", n)) {
		t.Errorf("summary does not count %d passed:\n%s", n, clipText(r.out, 800))
	}
}
