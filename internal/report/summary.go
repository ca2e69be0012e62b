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
	busy    time.Duration   // processes' wall time, summed: slot time used
	slots   int             // parallel slots the run used (highest slot + 1)
}

// proc counts a finished process's slot time.
func (s *summary) proc(p *event.Proc) {
	if p == nil || p.End.Before(p.Start) || p.Start.IsZero() {
		return
	}
	s.busy += p.End.Sub(p.Start)
	s.slots = max(s.slots, p.Slot+1)
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
	t.println(timesLine(s, t.sum.busy, t.sum.slots))
}

// section starts a block of the summary, after a blank line when something
// was printed before it.
func (t *terminal) section(title string) {
	if t.printed {
		t.buf.WriteByte('\n')
	}
	t.println(title)
}

// timesLine is the line after the summary: "wall 12.3s, cpu 40.1s (3.3
// cores), 8 slots 87% busy". Cores is CPU time over wall time; the slots
// figure is the share of slots x wall during which a test process ran, so
// a run held up by one long test or by listing shows it.
func timesLine(s event.Stats, busy time.Duration, slots int) string {
	parts := []string{
		"wall " + secs1(s.Wall),
		fmt.Sprintf("cpu %s (%.1f cores)", secs1(s.CPU), s.Parallelism()),
	}
	if slots > 0 && s.Wall > 0 {
		parts = append(parts, fmt.Sprintf("%s %.0f%% busy", plural(slots, "slot"), 100*float64(busy)/float64(s.Wall)/float64(slots)))
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

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
