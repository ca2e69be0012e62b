package protocol

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/volley-test/volley/internal/event"
)

// TML protocol constants: the suite's command-line contract.
const (
	TMLRunAll       = "--run-all"
	TMLIndexFlag    = "--test-index="
	TMLResultPrefix = "TML_RESULT:"
	TMLCoverageEnv  = "TML_COVERAGE_FILE"
	TMLExitNoArg    = 98 // the suite was given no argument it understands
	TMLExitBadIndex = 99 // --test-index=N names no test: the suite has N tests
)

// TML is the compiler team's suite protocol. `SUITE --run-all` runs every
// test, printing `TML_RESULT:<index>:<PASS|FAIL>:<exit_code>` after each;
// `SUITE --test-index=N` runs one. A test that has no result line when the
// process dies is the one that crashed or hung; the tests after it run in
// fresh processes, one index at a time, until the suite answers 99.
type TML struct{}

func init() { register(TML{}) }

// Name implements Protocol.
func (TML) Name() string { return "tml" }

// Units implements Protocol.
func (TML) Units(s *Suite) []*Unit {
	return []*Unit{{Suite: s, Args: []string{TMLRunAll}, Label: s.Name, Session: &tmlSession{suite: s, index: -1, last: -1}}}
}

// tmlMaxSilent bounds the --test-index probing after a crash: after this
// many consecutive tests that crashed or hung without a result line, the
// suite is taken to be broken rather than counted up forever.
const tmlMaxSilent = 8

// TMLIndexUnit is the unit that runs test index i of s alone.
func TMLIndexUnit(s *Suite, i int) *Unit {
	return tmlIndexUnit(s, i, 0)
}

func tmlIndexUnit(s *Suite, i, silent int) *Unit {
	name := strconv.Itoa(i)
	return &Unit{
		Suite:    s,
		Args:     []string{TMLIndexFlag + name},
		Label:    s.Name + " " + TMLIndexFlag + name,
		Tests:    []string{name},
		Session:  &tmlSession{suite: s, index: i, last: i - 1, silent: silent},
		FollowUp: true,
	}
}

// TMLResult is one parsed result line.
type TMLResult struct {
	Index    int
	Status   event.Status
	ExitCode int
}

// ParseTMLResult parses a `TML_RESULT:<index>:<PASS|FAIL|SKIP>:<code>` line.
// ok is false when the line is not a result line at all; err is set when it
// starts like one but is malformed.
func ParseTMLResult(line []byte) (r TMLResult, ok bool, err error) {
	line = bytes.TrimRight(line, "\r \t")
	i := bytes.Index(line, []byte(TMLResultPrefix))
	if i < 0 {
		return r, false, nil
	}
	fields := bytes.Split(line[i+len(TMLResultPrefix):], []byte(":"))
	if len(fields) != 3 {
		return r, true, fmt.Errorf("malformed result line %q: want TML_RESULT:<index>:<PASS|FAIL>:<exit_code>", clip(line))
	}
	r.Index, err = strconv.Atoi(string(fields[0]))
	if err != nil || r.Index < 0 {
		return r, true, fmt.Errorf("malformed result line %q: bad index", clip(line))
	}
	switch string(fields[1]) {
	case "PASS":
		r.Status = event.Pass
	case "FAIL":
		r.Status = event.Fail
	case "SKIP":
		r.Status = event.Skip
	default:
		return r, true, fmt.Errorf("malformed result line %q: status must be PASS or FAIL", clip(line))
	}
	r.ExitCode, err = strconv.Atoi(string(fields[2]))
	if err != nil {
		return r, true, fmt.Errorf("malformed result line %q: bad exit code", clip(line))
	}
	return r, true, nil
}

func clip(b []byte) string {
	const max = 120
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// tmlSession follows one tml process. index is -1 in --run-all mode, else
// the one test index this process runs.
type tmlSession struct {
	suite    *Suite
	index    int
	last     int // the highest index reported so far, -1 for none
	reported map[int]bool
	failed   bool // a FAIL was reported
	single   bool // run this index only, no follow-up (a retry)
	silent   int  // consecutive index runs before this one that ended without a verdict
	warns    []string
}

func (t *tmlSession) Line(line []byte) []Outcome {
	r, ok, err := ParseTMLResult(line)
	if !ok {
		return nil
	}
	if err != nil {
		t.warns = append(t.warns, fmt.Sprintf("%s: %v", t.suite.Name, err))
		return nil
	}
	if t.index >= 0 && r.Index != t.index {
		t.warns = append(t.warns, fmt.Sprintf("%s: asked for test %d, got a result for test %d; ignored", t.suite.Name, t.index, r.Index))
		return nil
	}
	if t.reported[r.Index] {
		t.warns = append(t.warns, fmt.Sprintf("%s: test %d reported twice; the first result stands", t.suite.Name, r.Index))
		return nil
	}
	if t.reported == nil {
		t.reported = map[int]bool{}
	}
	t.reported[r.Index] = true
	if r.Index > t.last {
		t.last = r.Index
	}
	o := Outcome{Test: strconv.Itoa(r.Index), Status: r.Status, ExitCode: r.ExitCode}
	if r.Status == event.Fail {
		t.failed = true
		o.Reason = fmt.Sprintf("test reported FAIL (exit code %d)", r.ExitCode)
	}
	return []Outcome{o}
}

func (t *tmlSession) Running() string {
	if t.index >= 0 {
		if t.reported[t.index] {
			return ""
		}
		return strconv.Itoa(t.index)
	}
	return strconv.Itoa(t.last + 1)
}

func (t *tmlSession) Warnings() []string {
	w := t.warns
	t.warns = nil
	return w
}

func (t *tmlSession) Exit(x Exit) ([]Outcome, []*Unit) {
	if t.index >= 0 {
		return t.exitIndex(x)
	}
	return t.exitRunAll(x)
}

func (t *tmlSession) exitRunAll(x Exit) ([]Outcome, []*Unit) {
	s := t.suite
	switch {
	case x.Err != nil:
		return []Outcome{{Status: event.Error, Reason: x.Err.Error(), ExitCode: -1}}, nil
	case !x.TimedOut && x.Signal == "" && x.Code == TMLExitNoArg:
		return []Outcome{{Status: event.Error, ExitCode: x.Code, Reason: fmt.Sprintf(
			"%s exited 98 (no argument) on %s: it does not speak the tml protocol; run it with --protocol exec or set protocol in volley.toml",
			s.Name, TMLRunAll)}}, nil
	case !x.TimedOut && x.Signal == "" && x.Code == TMLExitBadIndex:
		return []Outcome{{Status: event.Error, ExitCode: x.Code, Reason: fmt.Sprintf(
			"%s exited 99 (invalid index) on %s, which takes no index: protocol error in the suite", s.Name, TMLRunAll)}}, nil
	case !x.TimedOut && x.Signal == "" && (x.Code == 0 || x.Code == 1):
		if len(t.reported) == 0 {
			return []Outcome{{Status: event.Error, ExitCode: x.Code, Reason: fmt.Sprintf(
				"%s exited %d on %s without printing a single TML_RESULT line: is it a tml suite? (run it with --protocol exec, or flush stdout after each result line)",
				s.Name, x.Code, TMLRunAll)}}, nil
		}
		if x.Code == 0 && t.failed {
			t.warns = append(t.warns, fmt.Sprintf("%s: exited 0 although a test reported FAIL", s.Name))
		}
		if x.Code == 1 && !t.failed {
			return []Outcome{{Status: event.Fail, ExitCode: 1, Reason: fmt.Sprintf(
				"%s exited 1 (some test failed) but every reported test passed (%d reported)", s.Name, len(t.reported))}}, nil
		}
		return nil, nil
	}
	// Died mid-suite: the next unreported test is the culprit; the rest run alone.
	culprit := t.last + 1
	o := Outcome{Test: strconv.Itoa(culprit), ExitCode: x.Code}
	switch {
	case x.TimedOut:
		o.Status = event.Timeout
		o.Reason = fmt.Sprintf("timed out after %s without a result line", x.Timeout)
	case x.Signal != "":
		o.Status = event.Crash
		o.Reason = fmt.Sprintf("killed by %s before reporting a result", x.Signal)
	default:
		o.Status = event.Crash
		o.Reason = fmt.Sprintf("the suite exited with code %d before reporting a result", x.Code)
	}
	if t.last >= 0 {
		o.Reason += fmt.Sprintf(" (last reported: test %d)", t.last)
	}
	return []Outcome{o}, []*Unit{tmlIndexUnit(s, culprit+1, 1)}
}

func (t *tmlSession) exitIndex(x Exit) ([]Outcome, []*Unit) {
	s := t.suite
	name := strconv.Itoa(t.index)
	next := []*Unit{tmlIndexUnit(s, t.index+1, 0)}
	if t.single {
		next = nil
	}
	if t.reported[t.index] {
		if x.Signal != "" || x.TimedOut || (x.Code != 0 && x.Code != 1) {
			t.warns = append(t.warns, fmt.Sprintf("%s: test %d reported its result, then the process ended: %s", s.Name, t.index, describeExit(x)))
		}
		return nil, next
	}
	o := Outcome{Test: name, ExitCode: x.Code, Reason: describeExit(x)}
	switch {
	case x.Err != nil:
		return []Outcome{{Status: event.Error, ExitCode: -1, Reason: x.Err.Error()}}, nil
	case x.TimedOut:
		o.Status = event.Timeout
	case x.Signal != "":
		o.Status = event.Crash
	case x.Code == TMLExitBadIndex:
		return nil, nil // past the last test: the suite is done
	case x.Code == TMLExitNoArg:
		return []Outcome{{Status: event.Error, ExitCode: x.Code, Reason: fmt.Sprintf(
			"%s exited 98 (no argument) on %s%d: it does not understand --test-index", s.Name, TMLIndexFlag, t.index)}}, nil
	case x.Code == 0:
		o.Status, o.Reason = event.Pass, ""
	case x.Code == 1:
		o.Status = event.Fail
	case x.Code == ExitSkip:
		o.Status = event.Skip
	default:
		o.Status = event.Crash
		o.Reason = fmt.Sprintf("exited with code %d without reporting a result", x.Code)
	}
	if o.Status == event.Crash || o.Status == event.Timeout {
		switch {
		case t.silent+1 >= tmlMaxSilent:
			t.warns = append(t.warns, fmt.Sprintf(
				"%s: %d tests in a row (up to test %d) crashed or hung without a result line; stopped running further tests of this suite (does it answer --test-index=N with exit 99 past its last test?)",
				s.Name, tmlMaxSilent, t.index))
			next = nil
		case !t.single:
			next = []*Unit{tmlIndexUnit(s, t.index+1, t.silent+1)}
		}
	}
	return []Outcome{o}, next
}
