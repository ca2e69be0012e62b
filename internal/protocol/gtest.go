package protocol

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/volley-test/volley/internal/event"
)

// GoogleTest flags.
const (
	GTestList        = "--gtest_list_tests"
	GTestFilter      = "--gtest_filter="
	GTestAlsoDisable = "--gtest_also_run_disabled_tests"
)

// gtestDisabledReason is the skip reason of a test GoogleTest disables by name.
const gtestDisabledReason = "disabled (DISABLED_ prefix)"

// GTest is the GoogleTest harness: --gtest_list_tests lists `Suite.` lines
// with the suite's tests indented below, --gtest_filter=A.B:C.D runs some,
// and every test is framed by `[ RUN      ] A.B` and `[       OK ] A.B`,
// `[  FAILED  ]` or `[  SKIPPED ]`. A test that has no verdict when the
// process dies crashed; the rest of its batch runs in a follow-up process.
// Tests named DISABLED_ are skipped unless Suite.RunIgnored.
type GTest struct{}

func init() { register(GTest{}) }

// Name implements Protocol.
func (GTest) Name() string { return "gtest" }

func gtestArgs(s *Suite) []string {
	if s.RunIgnored {
		return []string{GTestAlsoDisable}
	}
	return nil
}

// Units implements Protocol.
func (GTest) Units(s *Suite) []*Unit {
	return []*Unit{{Suite: s, Args: gtestArgs(s), Label: s.Name, Session: newGTestSession(s, nil)}}
}

// List implements Lister.
func (GTest) List(ctx context.Context, s *Suite, env []string) ([]Test, error) {
	out, err := runList(ctx, s, s.Cwd, env, GTestList)
	if err != nil {
		return nil, err
	}
	return parseGTestList(out), nil
}

// parseGTestList reads --gtest_list_tests output:
//
//	Running main() from gtest_main.cc
//	Math.
//	  Adds
//	Typed/0.  # TypeParam = int
//	  Zero
//	Small/Param.
//	  Positive/0  # GetParam() = 1
func parseGTestList(out []byte) []Test {
	var tests []Test
	suite := ""
	for _, l := range lines(out) {
		if i := strings.Index(l, "  #"); i >= 0 {
			l = l[:i]
		}
		if strings.TrimSpace(l) == "" {
			continue
		}
		if l[0] != ' ' {
			l = strings.TrimSpace(l)
			suite = ""
			if strings.HasSuffix(l, ".") && !strings.ContainsAny(l, " \t") {
				suite = strings.TrimSuffix(l, ".")
			}
			continue
		}
		name := strings.TrimSpace(l)
		if suite == "" || strings.ContainsAny(name, " \t") {
			continue
		}
		t := Test{Name: suite + "." + name}
		if gtestDisabled(t.Name) {
			t.Ignored, t.Reason = true, gtestDisabledReason
		}
		tests = append(tests, t)
	}
	return tests
}

// gtestDisabled applies GoogleTest's "DISABLED_*:*/DISABLED_*" to the suite
// and the test name separately, as GoogleTest does.
func gtestDisabled(full string) bool {
	suite, test, _ := strings.Cut(full, ".")
	for _, part := range []string{suite, test} {
		if strings.HasPrefix(part, "DISABLED_") || strings.Contains(part, "/DISABLED_") {
			return true
		}
	}
	return false
}

// Batch implements Lister.
func (GTest) Batch(s *Suite, tests []string) *Unit {
	args := append([]string{GTestFilter + strings.Join(tests, ":")}, gtestArgs(s)...)
	return &Unit{Suite: s, Args: args, Label: batchLabel(s, tests), Tests: tests, Session: newGTestSession(s, tests)}
}

type gtestSession struct {
	suite    *Suite
	t        tracker
	running  string
	first    []string // the first output lines of the running test
	notes    notes    // its last output lines
	finished bool     // "[==========] N tests from M test suites ran."
	failed   bool
	warns    []string
}

func newGTestSession(s *Suite, tests []string) *gtestSession {
	return &gtestSession{suite: s, t: newTracker(tests)}
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// gtestTag splits "[  FAILED  ] A.B (3 ms)" into "FAILED" and "A.B (3 ms)".
func gtestTag(l string) (tag, rest string, ok bool) {
	if len(l) < 12 || l[0] != '[' || l[11] != ']' {
		return "", "", false
	}
	return strings.TrimSpace(l[1:11]), strings.TrimSpace(l[12:]), true
}

// gtestName takes the test name from "A.B (3 ms)" or "P/A.B/0, where GetParam() = 1 (0 ms)".
func gtestName(rest string) string {
	if i := strings.IndexAny(rest, " ,"); i >= 0 {
		return rest[:i]
	}
	return rest
}

func (g *gtestSession) Line(raw []byte) []Outcome {
	l := strings.TrimRight(string(raw), "\r")
	if strings.IndexByte(l, 0x1b) >= 0 {
		l = ansiEscape.ReplaceAllString(l, "")
	}
	tag, rest, ok := gtestTag(l)
	if !ok {
		g.output(l)
		return nil
	}
	switch tag {
	case "RUN":
		if g.running != "" {
			g.output(l) // the test printing framing of its own
			return nil
		}
		g.running, g.first, g.notes = gtestName(rest), nil, notes{}
		g.t.started = true
	case "OK", "FAILED", "SKIPPED":
		name := gtestName(rest)
		if g.running == "" || name != g.running {
			g.output(l) // the summary, or a test's own output
			return nil
		}
		g.running = ""
		return g.result(tag, name)
	case "DISABLED":
		name := gtestName(rest)
		if g.running == "" && g.t.report(name) {
			return []Outcome{{Test: name, Status: event.Skip, Reason: gtestDisabledReason}}
		}
	case "==========":
		if g.running == "" && strings.Contains(rest, " ran.") {
			g.finished = true
		}
	default:
		g.output(l)
	}
	return nil
}

func (g *gtestSession) output(l string) {
	if g.running == "" {
		return
	}
	if len(g.first) < 2 && strings.TrimSpace(l) != "" {
		g.first = append(g.first, clip([]byte(strings.TrimSpace(l))))
	}
	g.notes.add(l)
}

func (g *gtestSession) result(tag, name string) []Outcome {
	if ok, w := g.t.accept(g.suite.Name, name); !ok {
		g.warns = append(g.warns, w)
		return nil
	}
	o := Outcome{Test: name}
	switch tag {
	case "OK":
		o.Status = event.Pass
	case "SKIPPED":
		o.Status, o.Reason = event.Skip, "skipped"
		for i, l := range g.first {
			if strings.HasSuffix(l, ": Skipped") && i+1 < len(g.first) {
				o.Reason = g.first[i+1]
			}
		}
	default:
		g.failed = true
		o.Status, o.ExitCode, o.Reason = event.Fail, 1, "failed"
		if len(g.first) > 0 {
			o.Reason = strings.Join(g.first, " ")
		}
	}
	return []Outcome{o}
}

func (g *gtestSession) Running() string { return g.running }

func (g *gtestSession) Warnings() []string {
	w := g.warns
	g.warns = nil
	return w
}

func (g *gtestSession) Exit(x Exit) ([]Outcome, []*Unit) {
	s := g.suite
	var outs []Outcome
	if !s.RunIgnored {
		// GoogleTest does not run them, and may not even mention them.
		for _, n := range g.t.unreported() {
			if gtestDisabled(n) {
				g.t.reported[n] = true
				outs = append(outs, Outcome{Test: n, Status: event.Skip, Reason: gtestDisabledReason})
			}
		}
	}
	clean := x.Err == nil && !x.TimedOut && x.Signal == "" && (x.Code == 0 || x.Code == 1)
	if g.finished && g.running == "" && x.Err == nil {
		outs = append(outs, notRun(&g.t, s.Name, x)...)
		switch {
		case !clean:
			status := event.Crash
			if x.TimedOut {
				status = event.Timeout
			}
			outs = append(outs, Outcome{Status: status, ExitCode: x.Code, Reason: "after its tests finished: " + describeExit(x)})
		case x.Code == 1 && !g.failed:
			outs = append(outs, Outcome{Status: event.Fail, ExitCode: 1, Reason: fmt.Sprintf(
				"%s exited 1 although no test failed (a failure outside any test?)", s.Name)})
		}
		return outs, nil
	}
	var culprits []string
	if g.running != "" {
		culprits = []string{g.running}
	}
	why := ""
	if x.Err == nil && !x.TimedOut && x.Signal == "" {
		why = fmt.Sprintf("the process exited (code %d) before GoogleTest finished", x.Code)
	}
	more, follow := died(x, why, culprits, &g.t, func(tests []string) *Unit { return GTest{}.Batch(s, tests) })
	if !g.t.known() && len(culprits) > 0 {
		g.warns = append(g.warns, fmt.Sprintf("%s: the process died in %s; the tests after it did not run (list the suite to run them: granularity test)",
			s.Name, culprits[0]))
	}
	return append(outs, more...), follow
}
