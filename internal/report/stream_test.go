package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// t0 is the start of every recorded run.
var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// stream records an event sequence the way the dispatcher emits it: every
// event stamped with the current time and the running totals.
type stream struct {
	now    time.Time
	st     event.Stats
	events []*event.Event
	procs  map[int]*event.Proc
	starts map[string]time.Time
}

func newStream(suites, expected int) *stream {
	s := &stream{now: t0, procs: map[int]*event.Proc{}, starts: map[string]time.Time{}}
	s.st = event.Stats{Start: t0, Suites: suites, Expected: expected}
	s.emit(&event.Event{Kind: event.RunStart})
	return s
}

// at moves the clock to ms milliseconds after the start of the run.
func (s *stream) at(ms int) *stream {
	s.now = t0.Add(time.Duration(ms) * time.Millisecond)
	return s
}

func (s *stream) emit(e *event.Event) {
	e.Time, e.Stats = s.now, s.st
	s.events = append(s.events, e)
}

func (s *stream) procStart(id int, suite, label string, args ...string) {
	p := &event.Proc{ID: id, PID: 1000 + id, Slot: (id - 1) % 4, Suite: suite, Label: label,
		Args: append([]string{"/t/" + suite}, args...), Start: s.now}
	s.procs[id] = p
	s.st.Running++
	s.emit(&event.Event{Kind: event.ProcStart, Suite: suite, Proc: p})
}

func (s *stream) testStart(suite, test string) {
	s.starts[event.ID(suite, test)] = s.now
	s.emit(&event.Event{Kind: event.TestStart, Suite: suite, Test: test})
}

// testEnd ends a started test; r needs Suite, Test and Status at least.
func (s *stream) testEnd(proc int, r event.Result) {
	r.Proc = proc
	if r.Attempt == 0 {
		r.Attempt = 1
	}
	if start, ok := s.starts[r.ID()]; ok && !r.Cached {
		r.Start, r.Duration = start, s.now.Sub(start)
	}
	s.st.Count(&r)
	s.emit(&event.Event{Kind: event.TestEnd, Suite: r.Suite, Test: r.Test, Result: &r})
}

func (s *stream) procEnd(id, exit int, signal string, timedOut bool) {
	p := *s.procs[id]
	p.End, p.ExitCode, p.Signal, p.TimedOut = s.now, exit, signal, timedOut
	p.CPU = p.End.Sub(p.Start) * 3 / 4
	p.MaxRSS, p.Output = int64(id)*3<<20, int64(id)*700
	s.st.Running--
	s.st.SuitesDone++
	s.st.CPU += p.CPU
	s.emit(&event.Event{Kind: event.ProcEnd, Suite: p.Suite, Proc: &p})
}

func (s *stream) warn(msg string) { s.emit(&event.Event{Kind: event.Warn, Message: msg}) }
func (s *stream) tick()           { s.emit(&event.Event{Kind: event.Tick}) }

func (s *stream) end(notRun int, interrupted bool) []*event.Event {
	s.st.Wall, s.st.NotRun, s.st.Interrupted = s.now.Sub(t0), notRun, interrupted
	s.emit(&event.Event{Kind: event.RunEnd})
	return s.events
}

// lines is n lines of fake test output.
func lines(n int) []byte {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "output line %d\n", i)
	}
	return []byte(b.String())
}

// mixedRun is a run with every kind of outcome: pass, skip, fail with long
// truncated output, crash, timeout then a passing retry, a cached result and
// a warning.
func mixedRun() []*event.Event {
	s := newStream(3, 8)
	s.at(10).procStart(1, "alpha", "alpha --run-all", "--run-all")
	s.at(12).procStart(2, "beta", "beta")
	s.at(14).procStart(3, "gamma", "gamma --run-all", "--run-all")
	s.at(15).testStart("alpha", "1")
	s.at(16).testStart("beta", "")
	s.at(17).testStart("gamma", "1")
	s.at(200).tick()
	s.at(220).testEnd(1, event.Result{Suite: "alpha", Test: "1", Status: event.Pass})
	s.at(221).testStart("alpha", "2")
	s.at(300).testEnd(3, event.Result{Suite: "gamma", Test: "1", Status: event.Fail, ExitCode: 1,
		Reason: "test reported FAIL (exit code 1)", Output: lines(45), Truncated: 512})
	s.at(301).testStart("gamma", "2")
	s.at(310).warn("suite delta: no tests listed")
	s.at(350).testEnd(1, event.Result{Suite: "alpha", Test: "2", Status: event.Skip, Reason: "needs network"})
	s.at(351).testStart("alpha", "3")
	s.at(400).tick()
	s.at(450).testEnd(2, event.Result{Suite: "beta", Status: event.Crash, ExitCode: -1, Signal: "SIGSEGV",
		Reason: "killed by SIGSEGV", Output: []byte("starting\r\nSegmentation fault\n")})
	s.at(451).procEnd(2, -1, "SIGSEGV", false)
	s.at(600).tick()
	s.at(700).testEnd(1, event.Result{Suite: "alpha", Test: "3", Status: event.Pass})
	s.at(701).procEnd(1, 0, "", false)
	s.at(800).tick()
	s.at(1301).testEnd(3, event.Result{Suite: "gamma", Test: "2", Status: event.Timeout, ExitCode: -1,
		Signal: "SIGKILL", Reason: "timed out after 1s"})
	s.at(1310).procEnd(3, -1, "SIGKILL", true)
	s.at(1320).procStart(4, "gamma", "gamma --test-index=2", "--test-index=2")
	s.at(1321).testStart("gamma", "2")
	s.at(1400).tick()
	s.at(1500).testEnd(4, event.Result{Suite: "gamma", Test: "2", Status: event.Pass, Attempt: 2})
	s.at(1501).procEnd(4, 0, "", false)
	s.at(1502).testEnd(0, event.Result{Suite: "gamma", Test: "3", Status: event.Pass, Cached: true})
	return s.at(1600).end(1, false)
}

// crowdRun has more running tests than the live area shows, names longer
// than the terminal is wide, no expected count, and is interrupted.
func crowdRun() []*event.Event {
	s := newStream(30, 0)
	for i := 1; i <= 24; i++ {
		suite := fmt.Sprintf("suite%02d", i)
		if i == 2 {
			suite = "a-suite-with-a-name-much-longer-than-the-terminal-is-wide"
		}
		s.at(10*i).procStart(i, suite, "")
	}
	s.at(300).tick()
	s.at(900).testStart("suite03", "case_a")
	s.at(950).testEnd(3, event.Result{Suite: "suite03", Test: "case_a", Status: event.Pass})
	s.at(960).procEnd(3, 0, "", false)
	s.at(1000).tick()
	return s.at(1100).end(7, true)
}
