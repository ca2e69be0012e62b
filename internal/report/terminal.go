package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// TermOptions configure the terminal reporter.
type TermOptions struct {
	Live    bool // w is a terminal: draw the live area
	Color   bool // ANSI colors (caller decides: TTY and NO_COLOR unset)
	Verbose int  // 0: failures only; 1 (-v): one line per test; 2 (-vv): also process start/end lines
	Width   int  // terminal width for the live area (lines are truncated to it); 0 = 100
	Height  int  // terminal rows: the live area takes at most Height-1 lines; 0 = no limit but its own
	// Size, when set, gives the terminal's width and height again at every
	// periodic redraw, so a resized terminal is followed (0s are ignored).
	Size    func() (width, height int)
	Slowest int              // print the N slowest tests in the summary (0 = none)
	Now     func() time.Time // the clock for elapsed times in the live area; nil = time.Now
}

// PlainStatusEvery is how long a run off a terminal stays silent before
// it prints a status line (given Tick events at least that often).
const PlainStatusEvery = 30 * time.Second

// outputLines is how many lines of a failed test's output are shown.
const outputLines = 40

// terminal is the reporter for people: failures as they happen, optionally a
// line per test, a live area of running tests on a terminal, and a summary.
type terminal struct {
	w   io.Writer
	o   TermOptions
	buf bytes.Buffer // everything one event prints, written at once
	err error        // the first write error; nothing is written after it

	live    live
	sum     summary
	printed bool      // some line was printed above the summary
	lastOut time.Time // when a line was last printed (plain runs' status lines)
	ended   bool      // RunEnd was seen: the live area is gone for good
}

// NewTerminal returns the reporter that writes a run's progress for people
// to w. Off a terminal (o.Live unset) it never writes cursor movements.
func NewTerminal(w io.Writer, o TermOptions) Reporter {
	if o.Width <= 0 {
		o.Width = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &terminal{w: w, o: o, live: newLive(), sum: summary{slowest: o.Slowest}}
}

func (t *terminal) Event(e *event.Event) {
	if t.ended && e.Kind != event.Warn {
		return
	}
	switch e.Kind {
	case event.RunStart, event.Tick:
		if now := t.o.Now(); !t.o.Live && e.Kind == event.Tick && !e.Stats.Start.IsZero() {
			// Off a terminal, a line at a steady interval while nothing
			// else prints, so a long quiet CI job does not look hung.
			if t.lastOut.IsZero() {
				t.lastOut = e.Stats.Start
			}
			if now.Sub(t.lastOut) >= PlainStatusEvery {
				t.println("volley: " + progressLine(e.Stats, now, 0))
			}
		}
		t.redraw(e.Stats, true)
	case event.ProcStart:
		t.live.procStart(e)
		if t.o.Verbose >= 2 && e.Proc != nil {
			t.println(procStartLine(e.Proc))
		}
		t.redraw(e.Stats, false)
	case event.TestStart:
		t.live.testStart(e)
		t.redraw(e.Stats, false)
	case event.TestEnd:
		if r := e.Result; r != nil {
			t.live.testEnd(r)
			t.sum.add(r)
			t.result(r)
		}
		t.redraw(e.Stats, false)
	case event.ProcEnd:
		t.live.procEnd(e)
		t.sum.proc(e.Proc)
		if t.o.Verbose >= 2 && e.Proc != nil {
			t.println(procEndLine(e.Proc))
		}
		t.redraw(e.Stats, false)
	case event.Warn:
		t.println("volley: warning: " + e.Message)
		t.redraw(e.Stats, false)
	case event.Info:
		for _, l := range strings.Split(strings.TrimRight(e.Message, "\n"), "\n") {
			t.println("volley: " + l)
		}
		t.redraw(e.Stats, false)
	case event.RunEnd:
		t.erase()
		t.ended = true
		t.summary(e.Stats)
	}
	t.flush()
}

func (t *terminal) Close() error {
	t.erase()
	t.ended = true
	t.flush()
	return t.err
}

// flush writes what the current event printed in one write.
func (t *terminal) flush() {
	if t.buf.Len() > 0 && t.err == nil {
		_, t.err = t.w.Write(t.buf.Bytes())
	}
	t.buf.Reset()
}

// println prints a line above the live area, erasing the area first; the
// end of the event redraws it.
func (t *terminal) println(line string) {
	t.erase()
	t.buf.WriteString(line)
	t.buf.WriteByte('\n')
	t.printed = true
	t.lastOut = t.o.Now()
}

// erase removes the live area, leaving the cursor where it began.
func (t *terminal) erase() {
	if t.live.drawn > 0 {
		fmt.Fprintf(&t.buf, "\x1b[%dA\r\x1b[J", t.live.drawn)
		t.live.drawn = 0
	}
}

// redraw draws the live area over the old one, line by line so nothing
// flickers. Unless forced, it draws at most every redrawEvery; an erased
// area is always drawn again.
func (t *terminal) redraw(s event.Stats, force bool) {
	if !t.o.Live || t.ended {
		return
	}
	now := t.o.Now()
	if !force && t.live.drawn > 0 && now.Sub(t.live.lastDraw) < redrawEvery {
		return
	}
	if force && t.o.Size != nil {
		if w, h := t.o.Size(); w > 0 && h > 0 {
			t.o.Width, t.o.Height = w, h
		}
	}
	if t.live.drawn > 0 {
		fmt.Fprintf(&t.buf, "\x1b[%dA\r", t.live.drawn)
	}
	lines := t.live.lines(s, now, t.o.Width, t.o.Height)
	for _, l := range lines {
		t.buf.WriteString(truncate(l, t.o.Width))
		t.buf.WriteString("\x1b[K\n")
	}
	t.buf.WriteString("\x1b[J")
	t.live.drawn = len(lines)
	t.live.lastDraw = now
}

// result prints a finished test: always when it failed, in verbose mode
// otherwise.
func (t *terminal) result(r *event.Result) {
	st := word(r.Status.String(), statusColor(r.Status, t.o.Color))
	switch {
	case failed(r):
		t.failure(r, st)
	case t.o.Verbose < 1:
	case r.Status == event.Skip:
		line := st + r.ID()
		if r.Reason != "" {
			line += "  (" + r.Reason + ")"
		}
		t.println(line)
	default:
		t.println(st + r.ID() + "  " + detail(r))
	}
}

// failure prints a failed test's header line and the tail of its output.
func (t *terminal) failure(r *event.Result, st string) {
	head := st + r.ID() + "  " + detail(r)
	if why := reason(r); why != "" {
		head += "  " + why
	}
	switch {
	case r.Retrying:
		head += "  (will retry)"
	case r.Quarantined:
		head += "  (quarantined: does not fail the run)"
	}
	t.println(head)
	const indent = "    "
	for _, l := range r.Leaked {
		t.println(indent + "leaked process (killed): " + l)
	}
	if r.Diagnostics != "" {
		for _, l := range strings.Split(strings.TrimRight(r.Diagnostics, "\n"), "\n") {
			t.println(indent + l)
		}
	}
	if r.Truncated > 0 {
		t.println(fmt.Sprintf("%s[%d bytes dropped by capture]", indent, r.Truncated))
	}
	lines, omitted := tail([]byte(cleanText(testOutput(r))), outputLines)
	if omitted > 0 {
		t.println(fmt.Sprintf("%s... %d earlier lines omitted", indent, omitted))
	}
	for _, l := range lines {
		t.println(indent + l)
	}
}

// procStartLine is the -vv line for a started process.
func procStartLine(p *event.Proc) string {
	return fmt.Sprintf("%s%s  [%s]  %s", word("START", ""), procLabel(p), procIDs(p, true), shellQuote(p.Args))
}

// procEndLine is the -vv line for an ended process.
func procEndLine(p *event.Proc) string {
	var how string
	switch {
	case p.Err != "":
		how = "error: " + p.Err
	case p.TimedOut && p.Signal != "":
		how = "timed out, killed by " + p.Signal
	case p.TimedOut:
		how = "timed out"
	case p.Signal != "":
		how = "killed by " + p.Signal
	default:
		how = fmt.Sprintf("exit %d", p.ExitCode)
	}
	parts := []string{how}
	if !p.Start.IsZero() && !p.End.IsZero() {
		parts = append(parts, "wall "+secs2(p.End.Sub(p.Start)))
	}
	parts = append(parts, "cpu "+secs2(p.CPU), "rss "+rss(p.MaxRSS), "output "+size(p.Output))
	return fmt.Sprintf("%s%s  [%s]  %s", word("END", ""), procLabel(p), procIDs(p, false), strings.Join(parts, ", "))
}

func procLabel(p *event.Proc) string {
	if p.Label != "" {
		return p.Label
	}
	return p.Suite
}

func procIDs(p *event.Proc, slot bool) string {
	s := fmt.Sprintf("proc %d", p.ID)
	if p.PID > 0 {
		s += fmt.Sprintf(", pid %d", p.PID)
	}
	if slot {
		s += fmt.Sprintf(", slot %d", p.Slot)
	}
	return s
}
