package protocol

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/volley-test/volley/internal/event"
)

// Rust libtest flags.
const (
	LibtestExact          = "--exact"
	LibtestOneThread      = "--test-threads=1"
	LibtestIncludeIgnored = "--include-ignored"
)

// LibTest is the harness of Rust test binaries (libtest, `cargo test`'s
// runner). `--list --format terse` lists `name: test` lines (with --ignored,
// only the ignored ones); `--exact A B` runs some; each result is a line
// `test mod::name ... ok|FAILED|ignored[, reason]`. Batches run one test at
// a time (--test-threads=1), so libtest prints `test NAME ... ` before the
// test runs and a crash is pinned on it; whole-suite runs keep libtest's own
// parallelism, as cargo test does.
type LibTest struct{}

func init() { register(LibTest{}) }

// Name implements Protocol.
func (LibTest) Name() string { return "libtest" }

func libtestArgs(s *Suite) []string {
	if s.RunIgnored {
		return []string{LibtestIncludeIgnored}
	}
	return nil
}

// Units implements Protocol.
func (LibTest) Units(s *Suite) []*Unit {
	return []*Unit{{Suite: s, Args: libtestArgs(s), Label: s.Name, Session: newLibtestSession(s, nil)}}
}

// List implements Lister.
func (LibTest) List(ctx context.Context, s *Suite, env []string) ([]Test, error) {
	out, err := runList(ctx, s, s.Cwd, env, "--list", "--format", "terse")
	if err != nil {
		return nil, err
	}
	ign, err := runList(ctx, s, s.Cwd, env, "--ignored", "--list", "--format", "terse")
	if err != nil {
		return nil, err
	}
	ignored := map[string]bool{}
	for _, t := range parseLibtestList(ign) {
		ignored[t.Name] = true
	}
	tests := parseLibtestList(out)
	for i := range tests {
		if ignored[tests[i].Name] {
			tests[i].Ignored, tests[i].Reason = true, "#[ignore]"
		}
	}
	return tests, nil
}

// parseLibtestList keeps the `name: test` lines (not benchmarks).
func parseLibtestList(out []byte) []Test {
	var tests []Test
	for _, l := range lines(out) {
		if name, ok := strings.CutSuffix(l, ": test"); ok && name != "" && !strings.ContainsAny(name, " \t") {
			tests = append(tests, Test{Name: name})
		}
	}
	return tests
}

// Batch implements Lister.
func (LibTest) Batch(s *Suite, tests []string) *Unit {
	args := append([]string{LibtestExact, LibtestOneThread}, libtestArgs(s)...)
	args = append(args, tests...)
	return &Unit{Suite: s, Args: args, Label: batchLabel(s, tests), Tests: tests, Session: newLibtestSession(s, tests)}
}

type libtestSession struct {
	suite      *Suite
	t          tracker
	order      []string   // the batch in libtest's order (by name)
	running    string     // from `test NAME ... ` awaiting its verdict
	slow       []string   // "has been running for over 60 seconds"
	inFailures bool       // the failures section repeats the tests' output
	held       []*Outcome // failures waiting for their part of the failures section
	section    *Outcome   // the failure whose `---- NAME stdout ----` part is being read
	sectionLn  []string
	finished   bool // "test result:" line
	failed     bool
	warns      []string
}

func newLibtestSession(s *Suite, tests []string) *libtestSession {
	order := append([]string(nil), tests...)
	sort.Strings(order)
	return &libtestSession{suite: s, t: newTracker(tests), order: order}
}

func (l *libtestSession) Line(raw []byte) []Outcome {
	line := strings.TrimRight(string(raw), "\r")
	switch {
	case strings.HasPrefix(line, "test result: "):
		l.finished, l.inFailures = true, false
		return l.release(true)
	case line == "failures:":
		outs := l.endSection()
		l.inFailures = true
		return outs
	case l.inFailures:
		if name, ok := libtestSection(line); ok {
			outs := l.endSection()
			for _, h := range l.held {
				if h.Test == name {
					l.section = h
				}
			}
			return outs
		}
		if l.section != nil && len(l.sectionLn) < 4*maxNotes {
			l.sectionLn = append(l.sectionLn, line)
		}
		return nil
	case strings.HasPrefix(line, "running ") && (strings.HasSuffix(line, " test") || strings.HasSuffix(line, " tests")):
		l.t.started = true
		return nil
	case l.running != "" && (line == "ok" || line == "FAILED" || strings.HasPrefix(line, "ignored")):
		// --nocapture: the test's output came between name and verdict.
		name := l.running
		l.running = ""
		return l.result(name, line)
	case !strings.HasPrefix(line, "test "):
		return nil
	}
	body := line[len("test "):]
	if name, ok := strings.CutSuffix(body, " has been running for over 60 seconds"); ok {
		if !has(l.slow, name) && !l.t.reported[name] {
			l.slow = append(l.slow, name)
		}
		return nil
	}
	i := strings.Index(body, " ... ")
	if i < 0 {
		if name, ok := strings.CutSuffix(strings.TrimRight(body, " "), " ..."); ok {
			l.running = libtestName(name) // the verdict follows when the test ends
			l.t.started = true
		}
		return nil
	}
	name, verdict := libtestName(body[:i]), strings.TrimSpace(body[i+len(" ... "):])
	if !libtestVerdict(verdict) {
		l.running = name // the test printed on the verdict's line
		return nil
	}
	if l.running == name {
		l.running = ""
	}
	return l.result(name, verdict)
}

// libtestSection returns the test a `---- NAME stdout ----` line opens.
func libtestSection(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "---- ")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, " stdout ----")
	return name, ok
}

// endSection reports the failure whose section just ended, with the panic
// message as its reason.
func (l *libtestSession) endSection() []Outcome {
	h := l.section
	if h == nil {
		return nil
	}
	l.section = nil
	if why := libtestPanic(l.sectionLn); why != "" {
		h.Reason = why
	}
	l.sectionLn = nil
	for i, x := range l.held {
		if x == h {
			l.held = append(l.held[:i], l.held[i+1:]...)
			break
		}
	}
	return []Outcome{*h}
}

// release reports the failures still held; at the end of the run, those
// the failures section did not mention keep their verdict's reason.
func (l *libtestSession) release(end bool) []Outcome {
	outs := l.endSection()
	if end {
		for _, h := range l.held {
			if !l.finished && h.Reason == "FAILED" {
				h.Reason = "FAILED (the process ended before its failures section gave the panic message)"
			}
			outs = append(outs, *h)
		}
		l.held = nil
	}
	return outs
}

// libtestPanic finds the panic message in a failure's section:
// "thread 'x' (id) panicked at src/lib.rs:9:5:" then the message (Rust 1.73+),
// or "thread 'x' panicked at 'message', src/lib.rs:9:5"; assert_eq's
// left/right lines are added.
func libtestPanic(lines []string) string {
	var parts []string
	for i, l := range lines {
		_, after, ok := strings.Cut(l, " panicked at ")
		if !ok || !strings.HasPrefix(l, "thread '") {
			continue
		}
		if strings.HasPrefix(after, "'") {
			if j := strings.LastIndex(after, "', "); j > 0 {
				parts = append(parts, after[1:j])
			}
		} else if i+1 < len(lines) {
			parts = append(parts, strings.TrimSpace(lines[i+1]))
		}
		for _, m := range lines[i+1:] {
			if t := strings.TrimSpace(m); strings.HasPrefix(t, "left:") || strings.HasPrefix(t, "right:") {
				parts = append(parts, t)
			}
		}
		break
	}
	if len(parts) == 0 {
		for _, l := range lines {
			if t := strings.TrimSpace(l); t != "" {
				return clip([]byte(t))
			}
		}
		return ""
	}
	return clip([]byte("panicked: " + strings.Join(parts, "; ")))
}

// libtestName drops a suffix such as " - should panic".
func libtestName(s string) string {
	if i := strings.Index(s, " - "); i >= 0 {
		return s[:i]
	}
	return strings.TrimSpace(s)
}

func libtestVerdict(v string) bool {
	return v == "ok" || strings.HasPrefix(v, "FAILED") || strings.HasPrefix(v, "ignored") || strings.HasPrefix(v, "bench:")
}

func (l *libtestSession) result(name, verdict string) []Outcome {
	if ok, w := l.t.accept(l.suite.Name, name); !ok {
		l.warns = append(l.warns, w)
		return nil
	}
	o := Outcome{Test: name, Status: event.Pass}
	switch {
	case strings.HasPrefix(verdict, "FAILED"):
		l.failed = true
		o.Status, o.ExitCode = event.Fail, 101
		o.Reason = "FAILED"
		if rest := strings.TrimSpace(verdict[len("FAILED"):]); rest != "" {
			o.Reason = "FAILED " + rest
		}
		// Its panic message comes in the failures section, after the
		// last test: reported then, with that section as its output.
		l.held = append(l.held, &o)
		return nil
	case strings.HasPrefix(verdict, "ignored"):
		o.Status, o.Reason = event.Skip, "ignored (#[ignore])"
		if r := strings.TrimSpace(strings.TrimPrefix(verdict[len("ignored"):], ",")); r != "" {
			o.Reason = r
		}
	}
	return []Outcome{o}
}

func (l *libtestSession) Running() string {
	if l.running != "" || l.finished {
		return l.running
	}
	for _, n := range l.order {
		if !l.t.reported[n] {
			return n // one at a time in name order: this one is next
		}
	}
	return ""
}

func (l *libtestSession) Warnings() []string {
	w := l.warns
	l.warns = nil
	return w
}

func (l *libtestSession) Exit(x Exit) ([]Outcome, []*Unit) {
	s := l.suite
	held := l.release(true)
	if l.finished && l.running == "" && x.Err == nil {
		outs := append(held, notRun(&l.t, s.Name, x)...)
		switch {
		case x.TimedOut || x.Signal != "" || (x.Code != 0 && x.Code != 101):
			status := event.Crash
			if x.TimedOut {
				status = event.Timeout
			}
			outs = append(outs, Outcome{Status: status, ExitCode: x.Code, Reason: "after its tests finished: " + describeExit(x)})
		case x.Code == 101 && !l.failed && len(outs) == 0:
			outs = append(outs, Outcome{Status: event.Fail, ExitCode: 101, Reason: fmt.Sprintf(
				"%s exited 101 although no test failed", s.Name)})
		case x.Code == 0 && l.failed:
			l.warns = append(l.warns, fmt.Sprintf("%s: exited 0 although a test failed", s.Name))
		}
		return outs, nil
	}
	var culprits []string
	switch {
	case l.running != "":
		culprits = []string{l.running}
	case l.t.known() && l.t.started:
		if n := l.Running(); n != "" {
			culprits = []string{n}
		}
	default:
		for _, n := range l.slow {
			if !l.t.reported[n] {
				culprits = append(culprits, n)
			}
		}
	}
	why := ""
	if !l.t.known() && len(culprits) == 0 && x.Err == nil {
		why = describeExit(x) + " while tests ran in parallel; which test is unknown (run the suite with granularity test to find it)"
	}
	outs, follow := died(x, why, culprits, &l.t, func(tests []string) *Unit { return LibTest{}.Batch(s, tests) })
	outs = append(held, outs...)
	if !l.t.known() && len(culprits) > 0 {
		l.warns = append(l.warns, fmt.Sprintf("%s: the process died in %s; the tests after it did not run (list the suite to run them: granularity test)",
			s.Name, culprits[0]))
	}
	return outs, follow
}
