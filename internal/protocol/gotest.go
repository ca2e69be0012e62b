package protocol

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// Go test binary flags (`go test -c` output).
const (
	GoTestVerbose  = "-test.v=test2json" // framing lines marked with ^V
	GoTestList     = "-test.list"
	GoTestRun      = "-test.run="
	GoTestExit0    = "-test.paniconexit0" // os.Exit(0) in a test is a failure, as under go test
	goTestParallel = "-test.parallel="
)

// goFrame marks the testing package's own lines in -test.v=test2json mode,
// so output that merely looks like framing is not mistaken for it.
const goFrame = 0x16

// GoTest is the harness of Go test binaries. A binary lists its tests with
// -test.list, runs some with -test.run, and in -test.v=test2json mode frames
// every test with `=== RUN` and `--- PASS/FAIL/SKIP` lines. Only top-level
// tests are results; a failing subtest fails its parent. A test that fails
// and then takes the process down (a panic, exit code 2) crashed; the tests
// it kept from running go to a follow-up process when they are known.
type GoTest struct{}

func init() { register(GoTest{}) }

// Name implements Protocol.
func (GoTest) Name() string { return "gotest" }

// goCwd is where a Go test binary runs: the configured cwd, else the
// binary's own directory (where `go test -c` leaves it). List settles the
// package directory before the run, so this only reads s.
func goCwd(s *Suite) string {
	if s.Cwd != "" {
		return s.Cwd
	}
	return filepath.Dir(s.Path)
}

// settleGoCwd sets s.Cwd, when not configured, to the tested package's
// source directory (see goPackageDir), else the binary's directory. It is
// called while planning, before any unit of s runs: a Suite is never
// changed once the run is under way. env is added to the environment of
// the go commands it may run (see Lister).
func settleGoCwd(ctx context.Context, s *Suite, env []string) {
	if s.Cwd != "" {
		return
	}
	if d := goPackageDir(ctx, s.Path, env); d != "" {
		s.Cwd = d
		return
	}
	s.Cwd = filepath.Dir(s.Path)
}

// Units implements Protocol: the whole binary in one process, as `go test`
// runs it (tests, examples with output, fuzz seed corpora). It settles
// s.Cwd as List does, since it too is called while planning.
func (GoTest) Units(s *Suite) []*Unit {
	settleGoCwd(context.Background(), s, nil)
	return []*Unit{{Suite: s, Args: []string{GoTestVerbose, GoTestExit0}, Label: s.Name, Session: newGoSession(s, nil)}}
}

// List implements Lister: what `go test` runs of the binary: Test
// functions, examples that check their output, and fuzz targets (their
// seed corpora), in the binary's order. Benchmarks are left out, as `go
// test` leaves them out without -bench. It settles s.Cwd.
func (GoTest) List(ctx context.Context, s *Suite, env []string) ([]Test, error) {
	settleGoCwd(ctx, s, env)
	out, err := runList(ctx, s, goCwd(s), env, GoTestList, ".")
	if err != nil {
		return nil, err
	}
	return parseGoList(out), nil
}

// goRunnable are the prefixes of what `go test` runs by default.
var goRunnable = []string{"Test", "Example", "Fuzz"}

func parseGoList(out []byte) []Test {
	var tests []Test
	for _, l := range lines(out) {
		l = strings.TrimSpace(l)
		if l == "" || strings.ContainsAny(l, " \t/") {
			continue
		}
		for _, p := range goRunnable {
			if strings.HasPrefix(l, p) {
				tests = append(tests, Test{Name: l})
				break
			}
		}
	}
	return tests
}

// Batch implements Lister. It never changes s (it is also called during
// the run, for retries and the rest of a crashed batch).
func (g GoTest) Batch(s *Suite, tests []string) *Unit {
	return &Unit{
		Suite: s, Args: []string{GoTestVerbose, GoTestExit0, goRunPattern(tests)},
		Label: batchLabel(s, tests), Tests: tests, Session: newGoSession(s, tests),
	}
}

// GoParallel makes a Go batch of tests that call t.Parallel hold w slots
// and run at most w tests at once (-test.parallel), or fewer when it has
// fewer tests, unless their subtests are parallel (subs).
func GoParallel(u *Unit, w int, subs bool) {
	if !subs {
		w = min(w, len(u.Tests))
	}
	if w <= 1 {
		return
	}
	u.Threads = w
	u.Args = append(u.Args, goTestParallel+strconv.Itoa(w))
}

// InheritParallel gives the follow-up units of a Go batch that held
// several slots (GoParallel) its slots and -test.parallel: the rest of a
// crashed batch still run in parallel, within what they hold.
func InheritParallel(from *Unit, follow []*Unit) {
	if from.Threads <= 1 {
		return
	}
	var arg string
	for _, a := range from.Args {
		if strings.HasPrefix(a, goTestParallel) {
			arg = a
		}
	}
	if arg == "" {
		return
	}
	for _, u := range follow {
		if u.Suite == from.Suite && u.Threads == 0 {
			u.Threads = from.Threads
			u.Args = append(u.Args, arg)
		}
	}
}

// goRunPattern is the -test.run argument selecting exactly tests.
func goRunPattern(tests []string) string {
	q := make([]string, len(tests))
	for i, t := range tests {
		q[i] = regexp.QuoteMeta(t)
	}
	return GoTestRun + "^(" + strings.Join(q, "|") + ")$"
}

// goSession follows one Go test binary.
type goSession struct {
	suite    *Suite
	t        tracker
	framed   bool              // a ^V line was seen: from now on only those frame
	running  []string          // top-level tests running now, by start
	cur      string            // the test the next output lines belong to
	notes    map[string]*notes // output of the running top-level tests
	subFail  map[string]string // top-level test -> its first failed subtest
	why      map[string]*goWhy // what each running test and subtest said, for a failure's reason
	held     *Outcome          // a FAIL waiting for the next line: a panic may follow
	exLines  []string          // non-nil while held is an example's FAIL: its got/want lines follow
	crashed  string            // the test whose panic ends the process
	trailer  bool              // PASS or FAIL trailer: the tests ran to the end
	failed   bool
	panicMsg string
	warns    []string
}

func newGoSession(s *Suite, tests []string) *goSession {
	return &goSession{suite: s, t: newTracker(tests), notes: map[string]*notes{}, subFail: map[string]string{}, why: map[string]*goWhy{}}
}

func goTop(name string) string {
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return name
}

func (g *goSession) Line(raw []byte) []Outcome {
	raw = bytes.TrimRight(raw, "\r")
	var outs []Outcome
	frame, ok := g.frame(raw)
	if g.held != nil {
		if msg, isPanic := goPanicLine(raw); isPanic {
			g.panicMsg = msg
			h := g.held
			g.held, g.crashed, g.exLines = nil, h.Test, nil
			h.Status, h.Reason, h.ExitCode = event.Crash, "panicked: "+msg, 2
			return []Outcome{*h}
		}
		if g.exLines != nil && !ok {
			// An example prints its got/want after its FAIL line.
			if len(g.exLines) < 2*maxNotes {
				g.exLines = append(g.exLines, clip(raw))
			}
			return nil
		}
		outs = append(outs, g.release())
	}
	if !ok {
		g.output(raw)
		return outs
	}
	if o := g.framing(frame); o != nil {
		outs = append(outs, *o)
	}
	return outs
}

// frame returns the framing line in raw, if it is one.
func (g *goSession) frame(raw []byte) (string, bool) {
	if len(raw) > 0 && raw[0] == goFrame {
		g.framed = true
		return string(raw[1:]), true
	}
	if g.framed {
		return "", false
	}
	// Plain -test.v output: subtest results are indented.
	l := strings.TrimLeft(string(raw), " ")
	for _, p := range []string{"=== ", "--- ", "PASS", "FAIL"} {
		if strings.HasPrefix(l, p) {
			return l, true
		}
	}
	return "", false
}

func goPanicLine(raw []byte) (string, bool) {
	switch {
	case bytes.HasPrefix(raw, []byte("panic: ")):
		return clip(raw[len("panic: "):]), true
	case bytes.HasPrefix(raw, []byte("fatal error: ")):
		return clip(raw), true
	}
	return "", false
}

// release returns the held FAIL, with an example's got/want as its reason.
func (g *goSession) release() Outcome {
	h := *g.held
	if g.exLines != nil {
		h.Reason = exampleReason(g.exLines)
	}
	g.held, g.exLines = nil, nil
	return h
}

// exampleReason turns the lines after an example's FAIL ("got:", its
// output, "want:", the expected output) into one line.
func exampleReason(ls []string) string {
	var parts []string
	for _, l := range ls {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case l == "got:" || l == "want:":
			parts = append(parts, strings.TrimSuffix(l, ":"))
		case len(parts) == 0:
			parts = append(parts, l)
		default:
			parts[len(parts)-1] += " " + l
		}
	}
	if len(parts) == 0 {
		return "output does not match (no got/want printed)"
	}
	return clip([]byte(strings.Join(parts, "; ")))
}

func (g *goSession) output(raw []byte) {
	if msg, ok := goPanicLine(raw); ok && g.panicMsg == "" {
		g.panicMsg = msg
	}
	name := g.cur
	top := goTop(name)
	if top == "" && len(g.running) > 0 {
		top = g.running[len(g.running)-1]
		name = top
	}
	if n := g.notes[top]; n != nil {
		n.add(string(raw))
		w := g.why[name]
		if w == nil {
			w = &goWhy{}
			g.why[name] = w
		}
		w.add(string(raw))
	}
}

// goWhy picks the line that explains a failure from what a test printed:
// the first that reads like a failed check (want, got, expected, !=), else
// the first that reads like an error, else the first line. t.Log and
// t.Error print alike, so the words decide.
type goWhy struct {
	check, err, first string
}

var (
	goCheckWords = []string{"want", "got", "expect", "!=", "mismatch", "unexpected", "differ", "should", "wrong"}
	goErrWords   = []string{"error", "fail", "panic", "cannot", "can't", "invalid", "no such", "not found", "missing"}
)

func (w *goWhy) add(line string) {
	line = strings.TrimSpace(line)
	if line == "" {
		return
	}
	if len(line) > maxNoteLine {
		line = line[:maxNoteLine] + "..."
	}
	low := strings.ToLower(line)
	if w.first == "" {
		w.first = line
	}
	if w.check == "" && containsAny(low, goCheckWords) {
		w.check = line
	}
	if w.err == "" && containsAny(low, goErrWords) {
		w.err = line
	}
}

func (w *goWhy) pick() string {
	if w == nil {
		return ""
	}
	switch {
	case w.check != "":
		return w.check
	case w.err != "":
		return w.err
	}
	return w.first
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func (g *goSession) framing(l string) *Outcome {
	switch {
	case l == "PASS" || l == "FAIL":
		g.trailer = true
	case strings.HasPrefix(l, "=== RUN"):
		name := strings.TrimSpace(l[len("=== RUN"):])
		g.cur = name
		if name != "" && goTop(name) == name {
			g.t.started = true
			g.notes[name] = &notes{}
			g.start(name)
		}
	case strings.HasPrefix(l, "=== PAUSE"):
		name := strings.TrimSpace(l[len("=== PAUSE"):])
		if n := g.notes[goTop(name)]; n != nil {
			if goTop(name) == name {
				n.parallel |= event.ParallelSelf
			} else {
				n.parallel |= event.ParallelSubtests
			}
		}
		g.stop(name)
	case strings.HasPrefix(l, "=== CONT"):
		name := strings.TrimSpace(l[len("=== CONT"):])
		g.cur = name
		if goTop(name) == name {
			g.start(name)
		}
	case strings.HasPrefix(l, "=== NAME"):
		g.cur = strings.TrimSpace(l[len("=== NAME"):])
	case strings.HasPrefix(l, "--- PASS: "), strings.HasPrefix(l, "--- FAIL: "), strings.HasPrefix(l, "--- SKIP: "):
		o := g.result(l[4:8], goResultName(l[len("--- PASS: "):]))
		if o != nil && o.Parallel&event.ParallelSelf != 0 {
			// A parallel test shares its process's time with others: its
			// own time is what the testing package measured (the time it
			// ran, its wait for a parallel slot left out).
			if d, ok := goElapsed(l); ok && d > 0 { // "(0.00s)" says too little
				o.Start, o.Duration = time.Now().Add(-d), d
			}
		}
		return o
	}
	return nil
}

// goElapsed reads the time of a result line: "--- PASS: TestX (0.01s)".
func goElapsed(l string) (time.Duration, bool) {
	i := strings.LastIndex(l, " (")
	if i < 0 || !strings.HasSuffix(l, "s)") {
		return 0, false
	}
	d, err := time.ParseDuration(l[i+2 : len(l)-1])
	return d, err == nil && d >= 0
}

// goResultName takes the name from "TestX (0.01s)".
func goResultName(s string) string {
	if i := strings.LastIndex(s, " ("); i >= 0 && strings.HasSuffix(s, ")") {
		return s[:i]
	}
	return strings.TrimSpace(s)
}

func (g *goSession) start(name string) {
	g.stop(name)
	g.running = append(g.running, name)
}

func (g *goSession) stop(name string) {
	for i, r := range g.running {
		if r == name {
			g.running = append(g.running[:i], g.running[i+1:]...)
			return
		}
	}
}

func (g *goSession) result(verdict, name string) *Outcome {
	top := goTop(name)
	n := g.notes[top]
	if n == nil {
		if !g.framed {
			return nil // plain -test.v: a test's output that looks like a result
		}
		n = &notes{}
	}
	own := g.why[name].pick()
	delete(g.why, name)
	if top != name {
		if verdict == "FAIL" && g.subFail[top] == "" && g.notes[top] != nil {
			why := name + " failed"
			if own != "" {
				why += ": " + own
			}
			g.subFail[top] = why
		}
		return nil
	}
	g.stop(name)
	delete(g.notes, name)
	sub := g.subFail[name]
	delete(g.subFail, name)
	if ok, w := g.t.accept(g.suite.Name, name); !ok {
		g.warns = append(g.warns, w)
		return nil
	}
	o := Outcome{Test: name, Parallel: n.parallel}
	switch verdict {
	case "PASS":
		o.Status = event.Pass
	case "SKIP":
		o.Status, o.Reason = event.Skip, goSkipReason(n.last())
	default:
		g.failed = true
		o.Status, o.ExitCode = event.Fail, 1
		switch {
		case sub != "":
			o.Reason = "subtest " + sub
		case own != "":
			o.Reason = own
		default:
			o.Reason = "failed"
		}
		g.held = &o // reported with the next line, unless that is a panic
		if strings.HasPrefix(name, "Example") {
			g.exLines = []string{}
		}
		return nil
	}
	return &o
}

// goSkipReason turns "gopkg_test.go:22: needs a network" into the message.
func goSkipReason(l string) string {
	if i := strings.Index(l, ".go:"); i >= 0 && !strings.ContainsAny(l[:i], " \t") {
		rest := l[i+len(".go:"):]
		if j := strings.Index(rest, ": "); j >= 0 && strings.Trim(rest[:j], "0123456789") == "" {
			l = rest[j+2:]
		}
	}
	if l == "" {
		return "skipped"
	}
	return l
}

func (g *goSession) Running() string {
	if len(g.running) == 0 {
		return ""
	}
	return g.running[len(g.running)-1]
}

func (g *goSession) Warnings() []string {
	w := g.warns
	g.warns = nil
	return w
}

func (g *goSession) Exit(x Exit) ([]Outcome, []*Unit) {
	s := g.suite
	var outs []Outcome
	var culprits []string
	if g.crashed != "" {
		culprits = []string{g.crashed} // reported when its panic line came
	}
	next := func(tests []string) *Unit { return GoTest{}.Batch(s, tests) }
	if g.held != nil {
		h := new(Outcome)
		*h = g.release()
		if !x.TimedOut && x.Err == nil {
			// The test failed and the process died at once: tRunner reports a
			// panicking test as failed, then re-panics (exit code 2).
			h.Status = event.Crash
			switch {
			case g.panicMsg != "":
				h.Reason = "panicked: " + g.panicMsg
			case x.Signal == "" && x.Code == 2:
				h.Reason = "panicked (exit code 2; the panic is on standard error)"
			default:
				h.Reason = "failed, then the process ended before finishing: " + describeExit(x)
			}
			h.ExitCode = x.Code
			culprits = []string{h.Test}
		}
		outs = append(outs, *h)
	}
	if x.Err == nil && g.trailer && len(culprits) == 0 && !x.TimedOut && x.Signal == "" {
		return append(outs, g.finished(x)...), nil
	}
	if len(culprits) == 0 {
		culprits = append(culprits, g.running...)
	}
	why := ""
	if x.Err == nil && !x.TimedOut && x.Signal == "" && x.Code == 2 {
		why = "exit code 2 (a panic? see standard error)"
	}
	if x.Err == nil && !x.TimedOut && g.panicMsg != "" {
		why = "panic: " + g.panicMsg + " (" + describeExit(x) + ")"
		if strings.HasPrefix(g.panicMsg, "test timed out") {
			x.TimedOut = true // -test.timeout
			why = g.panicMsg
		}
	}
	more, follow := died(x, why, culprits, &g.t, next)
	outs = append(outs, more...)
	if !g.t.known() && len(culprits) > 0 {
		g.warns = append(g.warns, fmt.Sprintf("%s: the process died in %s; the tests after it did not run (list the suite to run them: granularity test)",
			s.Name, strings.Join(culprits, ", ")))
	}
	return outs, follow
}

// finished checks a process that ran to its PASS/FAIL trailer.
func (g *goSession) finished(x Exit) []Outcome {
	outs := notRun(&g.t, g.suite.Name, x)
	switch {
	case x.Code == 1 && !g.failed && len(outs) == 0:
		outs = append(outs, Outcome{Status: event.Fail, ExitCode: 1, Reason: fmt.Sprintf(
			"%s exited 1 (FAIL) although no test failed (TestMain, or a failure outside any test)", g.suite.Name)})
	case x.Code != 0 && x.Code != 1:
		outs = append(outs, Outcome{Status: event.Fail, ExitCode: x.Code, Reason: fmt.Sprintf(
			"%s exited with code %d after its tests finished", g.suite.Name, x.Code)})
	case x.Code == 0 && g.failed:
		g.warns = append(g.warns, fmt.Sprintf("%s: exited 0 although a test failed", g.suite.Name))
	}
	return outs
}
