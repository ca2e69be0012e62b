package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// summary collects what the end-of-run summary needs beyond event.Stats.
type summary struct {
	slowest int
	times   []timing        // tests that ran, when slowest > 0
	failed  []string        // ids of failed tests, in order of first failure
	last    map[string]*fix // by id: how its latest attempt ended
}

type timing struct {
	id string
	d  time.Duration
}

// fix is the latest word on a test that failed at least once.
type fix struct {
	status      event.Status // the last failing status
	passed      int          // the attempt that passed later, if any
	quarantined bool         // on the quarantine list: reported, not failing the run
}

func (s *summary) add(r *event.Result) {
	id := r.ID()
	if s.slowest > 0 && !r.Cached && r.Status != event.Skip {
		s.times = append(s.times, timing{id, r.Duration})
	}
	f := s.last[id]
	switch {
	case failed(r) && f == nil:
		if s.last == nil {
			s.last = map[string]*fix{}
		}
		s.last[id] = &fix{status: r.Status, quarantined: r.Quarantined}
		s.failed = append(s.failed, id)
	case failed(r):
		f.status, f.passed, f.quarantined = r.Status, 0, r.Quarantined
	case f != nil && r.Status == event.Pass:
		f.passed = max(r.Attempt, 1)
	}
}

// summary prints the slowest tests, the failures and the final lines.
func (t *terminal) summary(s event.Stats) {
	if n := min(t.sum.slowest, len(t.sum.times)); n > 0 {
		ts := t.sum.times
		sort.SliceStable(ts, func(i, j int) bool { return ts[i].d > ts[j].d })
		t.section("Slowest:")
		for _, x := range ts[:n] {
			t.println(fmt.Sprintf("  %8s  %s", secs2(x.d), x.id))
		}
	}
	for _, q := range []bool{false, true} {
		title := "Failures:"
		if q {
			title = "Quarantined (failed, not failing the run):"
		}
		started := false
		for _, id := range t.sum.failed {
			f := t.sum.last[id]
			if f.quarantined != q {
				continue
			}
			if !started {
				t.section(title)
				started = true
			}
			line := "  " + word(f.status.String(), statusColor(f.status, t.o.Color)) + id
			if f.passed > 0 {
				line += fmt.Sprintf("  (flaky: passed on attempt %d)", f.passed)
			}
			t.println(line)
		}
	}
	t.section(s.Summary())
	t.println(timesLine(s))
}

// section starts a block of the summary, after a blank line when something
// was printed before it.
func (t *terminal) section(title string) {
	if t.printed {
		t.buf.WriteByte('\n')
	}
	t.println(title)
}

// timesLine is the line after the summary: "wall 12.3s, cpu 40.1s, parallelism 3.3x".
func timesLine(s event.Stats) string {
	parts := []string{
		"wall " + secs1(s.Wall),
		"cpu " + secs1(s.CPU),
		fmt.Sprintf("parallelism %.1fx", s.Parallelism()),
	}
	if s.NotRun > 0 {
		parts = append(parts, fmt.Sprintf("%d not run", s.NotRun))
	}
	if s.Cached > 0 {
		parts = append(parts, fmt.Sprintf("%d cached", s.Cached))
	}
	if s.Flaky > 0 {
		parts = append(parts, fmt.Sprintf("%d flaky", s.Flaky))
	}
	if s.Quarantined > 0 {
		parts = append(parts, fmt.Sprintf("%d quarantined failures", s.Quarantined))
	}
	if s.Leaks > 0 {
		parts = append(parts, fmt.Sprintf("%d tests left processes running", s.Leaks))
	}
	line := strings.Join(parts, ", ")
	if s.Interrupted {
		line += " (interrupted)"
	}
	return line
}
