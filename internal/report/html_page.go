package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// htmlOutputLines and htmlOutputBytes bound the output the page shows for
// one failure: enough to read, few enough that a run with a thousand
// failures still opens.
const (
	htmlOutputLines = 400
	htmlOutputBytes = 32 << 10
)

// The page's view model: everything formatted, so the template only lays out.
type (
	htmlPage struct {
		Title    string
		Verdict  string
		Class    string // the verdict's color
		Summary  string // "volley: N passed, N failed, N skipped"
		Facts    string // start, wall, cpu, parallelism, processes
		Cards    []htmlCard
		Coverage *htmlCoverage
		Timeline htmlTimeline
		Failures []htmlFailure
		Flaky    []htmlFailure
		Slowest  []htmlSlow
		Tests    []htmlTest
		Warnings []string
	}
	htmlCard struct {
		Label, Value, Class string
	}
	htmlCoverage struct {
		Percent string
		Width   string // of the meter, "73.4"
		Detail  string // "1234 of 1680"
	}
	htmlFailure struct {
		Status, Class, ID, Detail, Output string
		Open                              bool
	}
	htmlSlow struct {
		Status, Class, ID, Took, Width string
	}
	htmlTest struct {
		Status, Class                   string
		Rank                            int
		ID, Took, CPU, RSS, Note, Where string
		TookV, CPUV                     float64
		RSSV                            int64
		Attempts                        int
		Flaky                           bool
	}
)

func (h *htmlReport) page() *htmlPage {
	s := h.stats
	p := &htmlPage{Title: h.o.Title, Summary: s.Summary(), Warnings: h.warns}
	switch {
	case s.Failed > 0:
		p.Verdict, p.Class = "FAILED", "fail"
	case s.Interrupted:
		p.Verdict, p.Class = "INTERRUPTED", "timeout"
	case !h.ended:
		p.Verdict, p.Class = "INCOMPLETE", "skip"
	default:
		p.Verdict, p.Class = "PASSED", "pass"
	}
	wall := s.Wall
	if wall == 0 && !s.Start.IsZero() {
		wall = h.end.Sub(s.Start)
	}
	facts := []string{}
	if !s.Start.IsZero() {
		facts = append(facts, "started "+s.Start.Format("2006-01-02 15:04:05 MST"))
	}
	slots := 0
	for _, pr := range h.procs {
		slots = max(slots, pr.Slot+1)
	}
	facts = append(facts, fmt.Sprintf("%d processes on %d slots", len(h.procs), slots))
	p.Facts = strings.Join(facts, " · ")

	flaky := 0
	for _, t := range h.h.tests {
		if t.flaky() {
			flaky++
		}
	}
	p.Cards = []htmlCard{
		{"tests", fmt.Sprint(s.Done), ""},
		{"passed", fmt.Sprint(s.Passed), "pass"},
		{"failed", fmt.Sprint(s.Failed), cond(s.Failed > 0, "fail", "")},
		{"skipped", fmt.Sprint(s.Skipped), ""},
	}
	if flaky > 0 {
		p.Cards = append(p.Cards, htmlCard{"flaky", fmt.Sprint(flaky), "timeout"})
	}
	if s.Cached > 0 {
		p.Cards = append(p.Cards, htmlCard{"cached", fmt.Sprint(s.Cached), ""})
	}
	if s.NotRun > 0 {
		p.Cards = append(p.Cards, htmlCard{"not run", fmt.Sprint(s.NotRun), "timeout"})
	}
	par := 0.0
	if wall > 0 {
		par = float64(s.CPU) / float64(wall)
	}
	p.Cards = append(p.Cards,
		htmlCard{"wall", htmlDur(wall), ""},
		htmlCard{"cpu", htmlDur(s.CPU), ""},
		htmlCard{"cores busy", fmt.Sprintf("%.1f", par), ""},
	)
	if c := h.o.Coverage; c != nil && c.Total > 0 {
		p.Coverage = &htmlCoverage{
			Percent: fmt.Sprintf("%.1f%%", c.Percent),
			Width:   fmt.Sprintf("%.1f", min(max(c.Percent, 0), 100)),
			Detail:  fmt.Sprintf("%d of %d covered", c.Covered, c.Total),
		}
	}
	p.Timeline = h.timeline(s.Start, wall)
	h.failures(p)
	h.tests(p)
	return p
}

// failures lists the tests whose last attempt failed, and the flaky ones.
func (h *htmlReport) failures(p *htmlPage) {
	for _, t := range h.h.tests {
		var a attempt
		switch {
		case t.failed():
			a = t.last()
		case t.flaky():
			for _, x := range t.attempts {
				if failed(x.Result) {
					a = x // the first failure
					break
				}
			}
		default:
			continue
		}
		detail := []string{}
		if why := reason(a.Result); why != "" {
			detail = append(detail, why)
		}
		detail = append(detail, htmlDur(a.Duration))
		if len(t.attempts) > 1 {
			detail = append(detail, fmt.Sprintf("attempt %d of %d", a.Attempt, t.last().Attempt))
		}
		f := htmlFailure{Status: a.Status.String(), Class: statusClass(a.Status), ID: a.ID(),
			Detail: strings.Join(detail, " · "), Output: htmlOutput(a.out)}
		if t.failed() {
			f.Open = len(p.Failures) < 10
			p.Failures = append(p.Failures, f)
		} else {
			f.Detail += fmt.Sprintf(" · %s on attempt %d", t.last().Status, t.last().Attempt)
			p.Flaky = append(p.Flaky, f)
		}
	}
}

// htmlOutput bounds an attempt's output for the page.
func htmlOutput(out string) string {
	s := lastLines(out, htmlOutputLines)
	if len(s) > htmlOutputBytes {
		s = s[len(s)-htmlOutputBytes:]
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	if s != strings.TrimRight(out, "\n") && !strings.HasPrefix(s, "[volley:") {
		s = "[volley: earlier output not shown here]\n" + s
	}
	return s
}

// tests fills the slowest table and the table of every test.
func (h *htmlReport) tests(p *htmlPage) {
	var slow []*record
	for _, t := range h.h.tests {
		a := t.last()
		row := htmlTest{Status: a.Status.String(), Class: statusClass(a.Status), Rank: statusRank(a.Status),
			ID: a.ID(), Took: htmlDur(a.Duration), TookV: a.Duration.Seconds(),
			Attempts: len(t.attempts), Flaky: t.flaky(), Where: "—"}
		if a.Cached {
			row.Took, row.Where = "cached", "cache"
		} else {
			row.Where = fmt.Sprintf("slot %d · proc %d", a.Slot, a.Proc)
			if a.Status != event.Skip {
				slow = append(slow, t)
			}
		}
		cpu, rss := a.CPU, a.MaxRSS
		if i, ok := h.byID[a.Proc]; ok && cpu == 0 && rss == 0 {
			// The process ran more than this test: its totals bound the test's.
			pr := h.procs[i]
			cpu, rss = pr.CPU, pr.MaxRSS
			if n := h.counts[a.Proc]; n != nil && n.n > 1 {
				row.Note = fmt.Sprintf("whole process: %d tests", n.n)
			}
		}
		row.CPUV, row.RSSV = cpu.Seconds(), rss
		row.CPU, row.RSS = "—", "—"
		if cpu > 0 {
			row.CPU = htmlDur(cpu)
		}
		if rss > 0 {
			row.RSS = size(rss)
		}
		if row.Note != "" {
			row.CPU, row.RSS = "≤ "+row.CPU, "≤ "+row.RSS
		}
		p.Tests = append(p.Tests, row)
	}
	sort.SliceStable(slow, func(i, j int) bool { return slow[i].last().Duration > slow[j].last().Duration })
	slow = slow[:min(len(slow), h.o.Slowest)]
	for _, t := range slow {
		a := t.last()
		width := 100.0
		if top := slow[0].last().Duration; top > 0 {
			width = 100 * float64(a.Duration) / float64(top)
		}
		p.Slowest = append(p.Slowest, htmlSlow{Status: a.Status.String(), Class: statusClass(a.Status),
			ID: a.ID(), Took: htmlDur(a.Duration), Width: fmt.Sprintf("%.1f", width)})
	}
}

// htmlDur formats a duration for people: "350ms", "1.20s", "2m05s".
func htmlDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", max(d, 0).Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

func cond[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}
