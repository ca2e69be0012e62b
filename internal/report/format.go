package report

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/protocol"
)

// ANSI color codes, used only when TermOptions.Color is set.
const (
	green  = "\x1b[32m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	reset  = "\x1b[0m"
)

// statusWidth is the column the status word is padded to; TIMEOUT overflows it.
const statusWidth = 5

// word pads a status-like word to statusWidth and adds a separating space,
// coloring the word itself when color is set.
func word(w, color string) string {
	pad := strings.Repeat(" ", max(0, statusWidth-len(w))+1)
	if color != "" {
		return color + w + reset + pad
	}
	return w + pad
}

// statusColor is the color of a status, or "" when colors are off.
func statusColor(s event.Status, on bool) string {
	switch {
	case !on:
		return ""
	case s == event.Pass:
		return green
	case s == event.Skip:
		return yellow
	default:
		return red
	}
}

// failed reports whether r counts against the run, as event.Stats.Count
// counts it: anything but PASS and SKIP.
func failed(r *event.Result) bool { return r.Status != event.Pass && r.Status != event.Skip }

// endProbe reports whether p asked a tml suite for a test past its last
// one and got the answer that means "no such test" (exit 99): how volley
// finds a suite's end after a crash, not a failure.
func endProbe(p *event.Proc) bool {
	if p.ExitCode != protocol.TMLExitBadIndex || p.Signal != "" || p.TimedOut {
		return false
	}
	for _, a := range p.Args {
		if strings.HasPrefix(a, protocol.TMLIndexFlag) {
			return true
		}
	}
	return false
}

// rss formats a peak memory figure; 0 means the process stayed below what
// can be measured for it (volley's own size, which a child starts from).
func rss(n int64) string {
	if n <= 0 {
		return "small"
	}
	return size(n)
}

// secs2 formats a test duration: "1.20s".
func secs2(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// secs1 formats an elapsed or total time: "12.3s".
func secs1(d time.Duration) string { return fmt.Sprintf("%.1fs", max(d, 0).Seconds()) }

// size formats a byte count: "12.3MiB".
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f, i := float64(n)/unit, 0
	for f >= unit && i < 3 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f%ciB", f, "KMGT"[i])
}

// reason says why r failed, falling back on its exit when no reason was given.
func reason(r *event.Result) string {
	switch {
	case r.Reason != "":
		return r.Reason
	case r.Signal != "":
		return "killed by " + r.Signal
	case r.ExitCode != 0:
		return fmt.Sprintf("exit code %d", r.ExitCode)
	}
	return ""
}

// detail is the parenthesized part of a result line: "(1.20s)", "(cached)",
// "(0.05s, attempt 2)".
func detail(r *event.Result) string {
	d := secs2(r.Duration)
	if r.Cached {
		d = "cached"
	}
	if r.Attempt > 1 {
		d += fmt.Sprintf(", attempt %d", r.Attempt)
	}
	return "(" + d + ")"
}

// shellQuote renders argv so it can be pasted into a shell.
func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// truncate cuts s to at most width runes, marking the cut with "…".
func truncate(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	n := 0
	for i := range s {
		if n == width-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// tail splits output into lines and keeps the last n, returning how many
// earlier lines were dropped.
func tail(out []byte, n int) (lines []string, omitted int) {
	s := strings.TrimRight(string(out), "\n")
	if s == "" {
		return nil, 0
	}
	lines = strings.Split(s, "\n")
	if len(lines) > n {
		omitted = len(lines) - n
		lines = lines[omitted:]
	}
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines, omitted
}
