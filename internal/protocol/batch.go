package protocol

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/proc"
)

// listTimeout bounds a harness's list mode; listing should be instant.
const listTimeout = 60 * time.Second

// tracker follows the tests a unit was asked to run, when they are known in
// advance (a batch), and which of them have been reported.
type tracker struct {
	tests    []string        // nil for a whole-suite run
	in       map[string]bool // the set of tests
	reported map[string]bool
	started  bool // some test started or was reported: the process got going
}

func newTracker(tests []string) tracker {
	t := tracker{tests: tests, reported: map[string]bool{}}
	if tests != nil {
		t.in = make(map[string]bool, len(tests))
		for _, n := range tests {
			t.in[n] = true
		}
	}
	return t
}

// accept records a result for name, as report does, and otherwise says in
// a warning why the result is dropped.
func (t *tracker) accept(suite, name string) (ok bool, warning string) {
	if t.report(name) {
		return true, ""
	}
	if t.reported[name] {
		return false, fmt.Sprintf("%s: %s reported twice; the first result stands", suite, name)
	}
	return false, fmt.Sprintf("%s: a result for %s, which this process was not asked to run; ignored", suite, name)
}

// known reports whether the unit's tests were known in advance.
func (t *tracker) known() bool { return t.tests != nil }

// report records a result for name; it is false when name was already
// reported, so the caller drops the duplicate.
func (t *tracker) report(name string) bool {
	t.started = true
	if t.reported[name] || t.known() && !t.in[name] {
		// A duplicate, or a test this process was not asked to run.
		return false
	}
	t.reported[name] = true
	return true
}

// unreported lists the known tests without a result, in order, leaving out
// those in skip.
func (t *tracker) unreported(skip ...string) []string {
	var rest []string
	for _, n := range t.tests {
		if !t.reported[n] && !has(skip, n) {
			rest = append(rest, n)
		}
	}
	return rest
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// died winds up a process that ended before it reported all its tests:
// crashed (a signal, or an exit in the middle of a test), timed out, or
// could not start. The tests in culprits, those running when it died, get
// the crash or timeout; the known tests not yet run go to one follow-up unit
// made by next, which the dispatcher runs at once. With no culprit the first
// unreported test is blamed, as it was about to run; when the process never
// got to any test, every test of the unit shares the outcome, since running
// them again would only repeat it. why, when set, replaces the description
// of the exit ("panicked"). Culprits the caller already reported are left
// alone.
func died(x Exit, why string, culprits []string, t *tracker, next func(tests []string) *Unit) ([]Outcome, []*Unit) {
	given := why != ""
	if !given {
		why = describeExit(x)
	}
	status := event.Crash
	switch {
	case x.Err != nil:
		status = event.Error
	case x.TimedOut:
		status = event.Timeout
	}
	var outs []Outcome
	add := func(name, reason string) {
		t.report(name)
		outs = append(outs, Outcome{Test: name, Status: status, Reason: reason, ExitCode: x.Code})
	}
	if x.Err != nil || (!t.started && len(culprits) == 0) {
		if !t.known() {
			return []Outcome{{Status: status, Reason: why, ExitCode: x.Code}}, nil
		}
		reason := why
		if x.Err == nil {
			reason = "the process died before it started any test: " + why
		}
		for _, n := range t.unreported() {
			add(n, reason)
		}
		return outs, nil
	}
	if t.known() {
		// Only tests of this unit can be blamed: a name from garbage output
		// would leave the real culprit unreported and rerun forever.
		var in []string
		for _, c := range culprits {
			if t.in[c] {
				in = append(in, c)
			}
		}
		culprits = in
	}
	if len(culprits) == 0 {
		rest := t.unreported()
		switch {
		case !t.known():
			// Between tests of a whole-suite run: which test is unknown.
			if !given {
				why = "between tests: " + why
			}
			return []Outcome{{Status: status, Reason: why, ExitCode: x.Code}}, nil
		case len(rest) == 0:
			// Every test reported, then the process died (exit handlers,
			// sanitizers, a hang in teardown): the suite itself failed.
			return []Outcome{{Status: status, Reason: "after all its tests reported: " + why, ExitCode: x.Code}}, nil
		}
		culprits = rest[:1]
	}
	reason := why
	if len(culprits) > 1 {
		reason = fmt.Sprintf("%s while %d tests ran in parallel (%s)", why, len(culprits), strings.Join(culprits, ", "))
	}
	for _, c := range culprits {
		if !t.reported[c] {
			add(c, reason)
		}
	}
	if rest := t.unreported(); len(rest) > 0 && next != nil {
		return outs, []*Unit{next(rest)}
	}
	return outs, nil
}

// notRun reports the known tests the process never mentioned although it
// ended normally: the binary no longer has them (renamed since the list was
// taken) or a filter argument of the suite hid them.
func notRun(t *tracker, suite string, x Exit) []Outcome {
	var outs []Outcome
	for _, n := range t.unreported() {
		t.report(n)
		outs = append(outs, Outcome{Test: n, Status: event.Error, ExitCode: x.Code, Reason: fmt.Sprintf(
			"%s exited (%s) without running this test: was it renamed or removed since the suite was listed?", suite, describeExit(x))})
	}
	return outs
}

// batchLabel names a batch for display.
func batchLabel(s *Suite, tests []string) string {
	switch len(tests) {
	case 0:
		return s.Name
	case 1:
		return s.Name + " " + tests[0]
	}
	return fmt.Sprintf("%s %s (+%d more)", s.Name, tests[0], len(tests)-1)
}

// withEnv returns base with the entries of env added, replacing those of
// base with the same names. Without env it is base itself.
func withEnv(base, env []string) []string {
	if len(env) == 0 {
		return base
	}
	set := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var out []string
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !set[k] {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// maxListOutput bounds what a list mode may print; past it the listing is
// an error rather than volley's memory growing without bound.
const maxListOutput = 64 << 20

// runList runs the suite's list mode (its Args, then args) and returns its
// standard output. The error names the suite and carries what it printed
// on standard error. It is launched and supervised like a test: its own
// supervisor, which kills whatever it leaves behind. Its environment is
// volley's, with env laid over it (see Lister), then the suite's.
func runList(ctx context.Context, s *Suite, cwd string, env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	argv := (&Unit{Suite: s, Args: args}).Argv()
	what := strings.Join(append([]string{s.Name}, args...), " ")
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.Name, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("list %s: %w", s.Name, err)
	}
	child, err := proc.Launch(proc.Spec{Path: argv[0], Args: argv, Dir: cwd, Env: append(withEnv(os.Environ(), env), s.Env...),
		Stdout: outW, Stderr: errW, NoStack: true})
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("list %s: cannot run %s: %w", s.Name, argv[0], err)
	}
	var stdout, stderr bytes.Buffer
	over := false
	copied := make(chan struct{}, 2)
	go func() {
		n, _ := io.Copy(&stdout, io.LimitReader(outR, maxListOutput+1))
		if n > maxListOutput {
			over = true
			child.Request(proc.ReqKill)
			_, _ = io.Copy(io.Discard, outR)
		}
		copied <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(&stderr, io.LimitReader(errR, 64<<10))
		_, _ = io.Copy(io.Discard, errR)
		copied <- struct{}{}
	}()
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			child.Request(proc.ReqKill)
		case <-stop:
		}
	}()
	var rep *proc.ExitReport
	for rep == nil && err == nil {
		var ev proc.Event
		ev, err = child.Next()
		rep = ev.Exit
	}
	close(stop)
	<-copied
	<-copied
	outR.Close()
	errR.Close()
	switch {
	case over:
		return nil, fmt.Errorf("list %s: %s printed more than %d MiB; is it a test binary of this harness?", s.Name, what, maxListOutput>>20)
	case ctx.Err() == context.DeadlineExceeded:
		return nil, fmt.Errorf("list %s: %s did not finish within %s", s.Name, what, listTimeout)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("list %s: %w", s.Name, ctx.Err())
	case err != nil:
		return nil, fmt.Errorf("list %s: %w", s.Name, err)
	}
	if ws := rep.Status; ws.Exited() && ws.ExitStatus() == 0 {
		return stdout.Bytes(), nil
	}
	msg := strings.TrimSpace(stderr.String())
	if msg == "" {
		msg = strings.TrimSpace(stdout.String())
	}
	if msg != "" {
		msg = ": " + clip([]byte(lastLines(msg, 3)))
	}
	return nil, fmt.Errorf("list %s: %s failed (%s)%s", s.Name, what, describeWait(rep.Status), msg)
}

// describeWait says how a process ended, as exec.ProcessState does.
func describeWait(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "signal: " + ws.Signal().String()
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// lines splits output into lines without their line ends.
func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		out = append(out, strings.TrimRight(l, "\r"))
	}
	return out
}

// notes keeps the last few lines of a test's output, bounded, to explain a
// failure or a skip in one line.
type notes struct {
	lines    []string
	parallel event.Parallel // Go: the test or its subtests paused for t.Parallel
}

const (
	maxNotes    = 6
	maxNoteLine = 200
)

func (n *notes) add(line string) {
	line = strings.TrimSpace(line)
	if line == "" {
		return
	}
	if len(line) > maxNoteLine {
		line = line[:maxNoteLine] + "..."
	}
	if len(n.lines) == maxNotes {
		copy(n.lines, n.lines[1:])
		n.lines = n.lines[:maxNotes-1]
	}
	n.lines = append(n.lines, line)
}

func (n *notes) last() string {
	if len(n.lines) == 0 {
		return ""
	}
	return n.lines[len(n.lines)-1]
}

// execReserve is room kept in ArgMax for what volley adds to a unit's
// command line and environment when it starts it (the run's cookie,
// coverage destinations, -test.gocoverdir).
const execReserve = 32 << 10

// Fit returns the units that run tests of s in batches made by l, each
// small enough to start: every argument within the kernel's limit on one
// string (MAX_ARG_STRLEN, what a long --gtest_filter or -test.run hits) and
// the whole command line with volley's environment within ARG_MAX. A batch
// too large is cut into equal consecutive parts, each checked again; a test
// whose own name is past the limit runs alone (and fails to start, saying
// why).
func Fit(l Lister, s *Suite, tests []string) []*Unit {
	env := append(os.Environ(), s.Env...)
	room := proc.ArgMax() - proc.ExecSize(nil, env) - execReserve
	return fit(l, s, tests, proc.MaxArgStrlen, room)
}

func fit(l Lister, s *Suite, tests []string, maxArg, room int) []*Unit {
	u := l.Batch(s, tests)
	argv := u.Argv()
	long, size := proc.LongestArg(argv), proc.ExecSize(argv, nil)
	if len(tests) <= 1 || long <= maxArg && size <= room {
		return []*Unit{u}
	}
	parts := 2
	if r := max(room, 1); size/r+1 > parts {
		parts = size/r + 1
	}
	if m := max(maxArg, 1); long/m+1 > parts {
		parts = long/m + 1
	}
	parts = min(parts, len(tests))
	var out []*Unit
	for i := range parts {
		lo, hi := i*len(tests)/parts, (i+1)*len(tests)/parts
		out = append(out, fit(l, s, tests[lo:hi], maxArg, room)...)
	}
	return out
}
