package report

import (
	"fmt"
	"sort"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// Live area limits.
const (
	redrawEvery = 100 * time.Millisecond // least time between redraws not forced by a Tick
	maxRunning  = 20                     // running entries shown before "... and N more"
)

// running is one entry of the live area: a test, or a process that is not
// known to be running a test.
type running struct {
	label string
	suite string
	start time.Time
	proc  int    // the process running it; 0 when unknown
	test  string // for a process: the key of the test it runs, if any
}

// live tracks what is running, from the events alone. Tests are keyed by
// suite and test, processes by Proc.ID. A TestStart names no process, so it
// is given to the lowest-numbered idle process of its suite, which then
// stops showing on its own line; when a process ends, its tests go with it.
type live struct {
	procs    map[int]*running
	tests    map[string]*running
	drawn    int // lines of the live area now on screen
	lastDraw time.Time
}

func newLive() live {
	return live{procs: map[int]*running{}, tests: map[string]*running{}}
}

func testKey(suite, test string) string { return suite + "\x00" + test }

func (l *live) procStart(e *event.Event) {
	p := e.Proc
	if p == nil {
		return
	}
	start := p.Start
	if start.IsZero() {
		start = e.Time
	}
	l.procs[p.ID] = &running{label: procLabel(p), suite: p.Suite, start: start, proc: p.ID}
}

func (l *live) testStart(e *event.Event) {
	key := testKey(e.Suite, e.Test)
	l.drop(key)
	r := &running{label: event.ID(e.Suite, e.Test), suite: e.Suite, start: e.Time}
	var idle *running
	for _, p := range l.procs {
		if p.suite == e.Suite && p.test == "" && (idle == nil || p.proc < idle.proc) {
			idle = p
		}
	}
	if idle != nil {
		idle.test = key
		r.proc = idle.proc
	}
	l.tests[key] = r
}

func (l *live) testEnd(r *event.Result) { l.drop(testKey(r.Suite, r.Test)) }

// drop forgets a test and frees its process.
func (l *live) drop(key string) {
	t, ok := l.tests[key]
	if !ok {
		return
	}
	delete(l.tests, key)
	if p := l.procs[t.proc]; p != nil && p.test == key {
		p.test = ""
	}
}

func (l *live) procEnd(e *event.Event) {
	if e.Proc == nil {
		return
	}
	id, suite := e.Proc.ID, e.Proc.Suite
	delete(l.procs, id)
	for _, p := range l.procs {
		if p.suite == suite {
			suite = "" // another process of the suite may still run its unattached tests
			break
		}
	}
	for k, t := range l.tests {
		if t.proc == id || (t.proc == 0 && t.suite == suite && suite != "") {
			delete(l.tests, k)
		}
	}
}

// progressLine is the head of the live area and the periodic status line
// of a plain run: "[=====>      ] 312/3632 tests: 300 passed, 10 failed,
// 2 skipped; 16 running  41.2s, ~12s left". The bar and the count are of
// tests when they are known (listed, or from history), else of suites
// ("[==>    ] 4/35 suites, 521 tests: ..."); the time left is
// the dispatcher's estimate from history (Stats.Left), shown when it has one.
// The bar is left out when the line would not fit in width (0: no limit).
func progressLine(s event.Stats, now time.Time, width int) string {
	// The bar counts tests when they are known in advance, else suites.
	head, done, total := fmt.Sprintf("%d/%d tests:", s.Done, s.Expected), s.Done, s.Expected
	if s.Expected == 0 {
		head, done, total = fmt.Sprintf("%d/%d suites, %d tests:", s.SuitesDone, s.Suites, s.Done), s.SuitesDone, s.Suites
	}
	var elapsed time.Duration
	if !s.Start.IsZero() {
		elapsed = now.Sub(s.Start)
	}
	line := fmt.Sprintf("%s %d passed, %d failed, %d skipped; %d running  %s",
		head, s.Passed, s.Failed, s.Skipped, s.Running, secs1(elapsed))
	if s.Left > 0 && s.Running > 0 {
		line += ", ~" + leftText(s.Left) + " left"
	}
	if total > 0 && (width <= 0 || len(line)+barWidth+3 <= width) {
		line = bar(done, total, barWidth) + " " + line
	}
	return line
}

// barWidth is the progress bar's width inside its brackets.
const barWidth = 20

// bar draws done of total as "[=======>            ]".
func bar(done, total, width int) string {
	fill := 0
	if total > 0 {
		fill = min(done, total) * width / total
	}
	b := make([]byte, 0, width+2)
	b = append(b, '[')
	for i := 0; i < width; i++ {
		switch {
		case i < fill:
			b = append(b, '=')
		case i == fill && done < total:
			b = append(b, '>')
		default:
			b = append(b, ' ')
		}
	}
	return string(append(b, ']'))
}

// leftText is a time left, rounded up, as people say it: "3s", "2m10s",
// "1h5m".
func leftText(d time.Duration) string {
	sec := int64((d + time.Second - 1) / time.Second)
	switch {
	case sec < 60:
		return fmt.Sprintf("%ds", sec)
	case sec < 3600:
		return fmt.Sprintf("%dm%02ds", sec/60, sec%60)
	default:
		return fmt.Sprintf("%dh%02dm", sec/3600, sec%3600/60)
	}
}

// lines renders the live area: a progress line, then what is running,
// longest-running first; in a terminal of height rows (0: unknown), never
// more than height-1 lines, so the area never scrolls (the cursor waits on
// the line below it), whatever is left over counted in "... and N more".
func (l *live) lines(s event.Stats, now time.Time, width, height int) []string {
	out := []string{progressLine(s, now, width)}
	shown := maxRunning
	if height > 0 {
		if height <= 2 {
			return out
		}
		shown = min(shown, height-2) // the head line, the cursor's line
	}

	rs := make([]*running, 0, len(l.procs)+len(l.tests))
	for _, p := range l.procs {
		if p.test == "" {
			rs = append(rs, p)
		}
	}
	for _, t := range l.tests {
		rs = append(rs, t)
	}
	sort.Slice(rs, func(i, j int) bool {
		if !rs[i].start.Equal(rs[j].start) {
			return rs[i].start.Before(rs[j].start)
		}
		return rs[i].label < rs[j].label
	})
	if len(rs) > shown {
		shown-- // room for the count of the rest
	}
	for i, r := range rs {
		if i == shown {
			out = append(out, fmt.Sprintf("  ... and %d more", len(rs)-shown))
			break
		}
		out = append(out, fmt.Sprintf("  %6s  %s", secs1(now.Sub(r.start)), r.label))
	}
	return out
}
