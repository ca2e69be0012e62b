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
func (LibTest) List(ctx context.Context, s *Suite) ([]Test, error) {
	out, err := runList(ctx, s, s.Cwd, "--list", "--format", "terse")
	if err != nil {
		return nil, err
	}
	ign, err := runList(ctx, s, s.Cwd, "--ignored", "--list", "--format", "terse")
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
	order      []string // the batch in libtest's order (by name)
	running    string   // from `test NAME ... ` awaiting its verdict
	slow       []string // "has been running for over 60 seconds"
	inFailures bool     // the failures section repeats the tests' output
	finished   bool     // "test result:" line
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
		return nil
	case line == "failures:":
		l.inFailures = true
		return nil
	case l.inFailures:
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
		o.Reason = "FAILED (the panic message is in the failures section of the output)"
		if rest := strings.TrimSpace(verdict[len("FAILED"):]); rest != "" {
			o.Reason = "FAILED " + rest
		}
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
	if l.finished && l.running == "" && x.Err == nil {
		outs := notRun(&l.t, s.Name, x)
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
	if !l.t.known() && len(culprits) > 0 {
		l.warns = append(l.warns, fmt.Sprintf("%s: the process died in %s; the tests after it did not run (list the suite to run them: granularity test)",
			s.Name, culprits[0]))
	}
	return outs, follow
}
