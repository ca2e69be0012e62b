package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// compactLanes is the number of slots past which lanes get thin and bars
// lose their labels.
const compactLanes = 24

type (
	// htmlTimeline is a lane per parallel slot and a bar per process, placed
	// in percent of the run's span.
	htmlTimeline struct {
		Lanes   []htmlLane
		Ticks   []htmlTick
		Legend  []htmlCard // Label: "crash 2", Class: the color
		Compact bool
	}
	htmlLane struct {
		Name string
		Bars []htmlBar
	}
	htmlBar struct {
		Left, Width, Class, Label, Tip string
	}
	htmlTick struct {
		Left, Label string
	}
)

func (h *htmlReport) timeline(start time.Time, wall time.Duration) htmlTimeline {
	var tl htmlTimeline
	if len(h.procs) == 0 {
		return tl
	}
	t0, t1 := start, start.Add(wall)
	slots := 0
	for _, p := range h.procs {
		if t0.IsZero() || p.Start.Before(t0) {
			t0 = p.Start
		}
		if p.End.After(t1) {
			t1 = p.End
		}
		slots = max(slots, p.Slot+1)
	}
	if t1.Before(h.end) {
		t1 = h.end
	}
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Millisecond
	}
	pct := func(d time.Duration) string { return fmt.Sprintf("%.3f", 100*float64(d)/float64(span)) }

	tl.Compact = slots > compactLanes
	tl.Lanes = make([]htmlLane, slots)
	for i := range tl.Lanes {
		tl.Lanes[i].Name = fmt.Sprintf("slot %d", i)
	}
	seen := map[string]int{}
	for _, p := range h.procs {
		end, class := p.End, statusClass(h.procStatus(p))
		if end.IsZero() {
			end, class = t1, "running"
		}
		seen[class]++
		label := p.Label
		if label == "" {
			label = p.Suite
		}
		lane := &tl.Lanes[max(p.Slot, 0)]
		lane.Bars = append(lane.Bars, htmlBar{
			Left: pct(p.Start.Sub(t0)), Width: pct(end.Sub(p.Start)), Class: class,
			Label: label, Tip: h.procTip(p, label, t0),
		})
	}
	for _, c := range []string{"pass", "fail", "crash", "timeout", "error", "skip", "running"} {
		if n := seen[c]; n > 0 {
			tl.Legend = append(tl.Legend, htmlCard{Label: fmt.Sprintf("%s %d", c, n), Class: c})
		}
	}
	step := tickStep(span)
	for d := time.Duration(0); d <= span; d += step {
		tl.Ticks = append(tl.Ticks, htmlTick{Left: pct(d), Label: tickLabel(d, step)})
	}
	return tl
}

// procTip is the hover text of a process's bar.
func (h *htmlReport) procTip(p *event.Proc, label string, t0 time.Time) string {
	lines := []string{label, fmt.Sprintf("pid %d · proc %d · slot %d", p.PID, p.ID, p.Slot)}
	if p.End.IsZero() {
		lines = append(lines, fmt.Sprintf("started at +%s, did not end", htmlDur(p.Start.Sub(t0))))
	} else {
		lines = append(lines, fmt.Sprintf("%s (+%s → +%s)", htmlDur(p.End.Sub(p.Start)),
			htmlDur(p.Start.Sub(t0)), htmlDur(p.End.Sub(t0))))
		lines = append(lines, fmt.Sprintf("cpu %s · peak rss %s", htmlDur(p.CPU), rss(p.MaxRSS)))
		switch {
		case p.Err != "":
			lines = append(lines, "error: "+p.Err)
		case p.TimedOut:
			lines = append(lines, "timed out, killed by "+cond(p.Signal != "", p.Signal, "a signal"))
		case p.Signal != "":
			lines = append(lines, "killed by "+p.Signal)
		default:
			lines = append(lines, fmt.Sprintf("exit %d", p.ExitCode))
		}
	}
	if pr := h.counts[p.ID]; pr != nil {
		var by []string
		for s := event.Pass; s <= event.Error; s++ {
			if n := pr.by[s]; n > 0 {
				by = append(by, fmt.Sprintf("%d %s", n, s))
			}
		}
		lines = append(lines, fmt.Sprintf("%d %s: %s", pr.n, cond(pr.n == 1, "test", "tests"), strings.Join(by, ", ")))
	}
	return strings.Join(lines, "\n")
}

// tickSteps are the round intervals between the timeline's ticks.
var tickSteps = []time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
}

// tickStep is the smallest round interval giving at most ten ticks over span.
func tickStep(span time.Duration) time.Duration {
	for _, s := range tickSteps {
		if span/s <= 10 {
			return s
		}
	}
	return (span/10/time.Hour + 1) * time.Hour
}

// tickLabel formats a tick's offset with the precision its step needs.
func tickLabel(d, step time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case step < 100*time.Millisecond:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case step < time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
