package protocol

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"

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

// TML is the compiler team's suite protocol, as the TML compiler generates
// it. `SUITE --run-all` runs test 0, 1, ... in order and prints
// `TML_RESULT:<index>:<PASS|FAIL>:<rc>` after each test that returns. A
// failing test does not return: it writes `FATAL [runtime] ...` (or
// `panic: ...`) to stderr and the process exits 1 with no line for it, so
// the first index without a line is the one that failed (exit 1), crashed
// (a signal) or hung (the timeout), and every index after it never ran.
// Those run as `SUITE --test-index=N` processes, which print no line: the
// exit code is the verdict. They are spread over free slots: all at once
// when the suite's test count is known, in a widening window of probes
// until the suite answers 99 (no such test) when it is not.
type TML struct{}

func init() { register(TML{}) }

// Name implements Protocol.
func (TML) Name() string { return "tml" }

// Units implements Protocol.
func (TML) Units(s *Suite) []*Unit {
	st := newTMLState(s)
	if s.SplitTML && st.known > 0 {
		return st.rest(0, nil)
	}
	u := &Unit{Suite: s, Args: []string{TMLRunAll}, Label: s.Name,
		Session: &tmlSession{st: st, index: -1, last: -1}}
	if n := st.known; n > 0 {
		for i := range n {
			u.Tests = append(u.Tests, st.name(i))
		}
	}
	return []*Unit{u}
}

// Limits on following a suite whose test count is not known.
const (
	// tmlWindow is the most --test-index processes of one suite in flight
	// at once while probing for its end.
	tmlWindow = 8
	// tmlMaxFailRun: after this many failing indices in a row past every
	// known test, the suite is taken to fail every index (a program that
	// ignores --test-index) rather than probed forever.
	tmlMaxFailRun = 8
	// tmlMaxIndex bounds probing outright: no suite is followed past it.
	tmlMaxIndex = 100000
	// tmlMaxGap bounds how far ahead of the next expected index a result
	// line may jump when the count is unknown; further is garbage.
	tmlMaxGap = 64
)

// TMLIndexUnit is the unit that runs test index i of s alone.
func TMLIndexUnit(s *Suite, i int) *Unit {
	return newTMLState(s).unit(i, false)
}

// TMLTestIndex maps a tml test's reported name back to its index: a name
// from s.TestNames, or the decimal index itself.
func TMLTestIndex(s *Suite, test string) (int, bool) {
	for i, n := range s.TestNames {
		if n == test {
			return i, true
		}
	}
	i, err := strconv.Atoi(test)
	if err != nil || i < 0 || strconv.Itoa(i) != test {
		return 0, false
	}
	return i, true
}

// tmlState is what the processes of one suite learn together: where the
// suite ends, and how the indices past the known ones went. Sessions of one
// suite run on different goroutines, hence the lock.
type tmlState struct {
	suite *Suite
	known int // tests the suite is known to hold; 0 = unknown

	mu       sync.Mutex
	end      int // the lowest index that answered 99; -1 = not seen
	next     int // the next index to hand to a probe
	inflight int // probes started and not yet ended
	failRun  int // consecutive failing verdicts among probes
	stopped  bool
}

func newTMLState(s *Suite) *tmlState {
	known := s.KnownCount
	if known <= 0 {
		known = len(s.TestNames)
	}
	return &tmlState{suite: s, known: known, end: -1}
}

// name is how test i is reported.
func (st *tmlState) name(i int) string {
	if i >= 0 && i < len(st.suite.TestNames) && st.suite.TestNames[i] != "" {
		return st.suite.TestNames[i]
	}
	return strconv.Itoa(i)
}

// unit runs index i alone; a probe, on ending, starts the probes after it.
func (st *tmlState) unit(i int, probe bool) *Unit {
	s := st.suite
	arg := TMLIndexFlag + strconv.Itoa(i)
	return &Unit{
		Suite:   s,
		Args:    []string{arg},
		Label:   s.Name + " " + arg,
		Tests:   []string{st.name(i)},
		Session: &tmlSession{st: st, index: i, last: i - 1, probe: probe},
	}
}

// rest returns the units that run every index from `from` on, each alone:
// the known ones all at once (and one probe past them, in case the count is
// stale), the unknown ones as a first probe whose verdicts widen the window.
func (st *tmlState) rest(from int, gaps []int) []*Unit {
	var us []*Unit
	for _, g := range gaps {
		us = append(us, st.unit(g, false))
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if from < st.known {
		// The known ones all at once; the last of them, when it ends,
		// probes past the count in case the suite grew.
		for i := from; i < st.known; i++ {
			us = append(us, st.unit(i, false))
		}
		us[len(us)-1].Session.(*tmlSession).tail = true
		return us
	}
	if st.end >= 0 && from >= st.end || from >= tmlMaxIndex {
		return us
	}
	st.next = from + 1
	st.inflight = 1
	return append(us, st.unit(from, true))
}

// probed records how probe i ended and returns the probes to start next.
// answered99 means index i is past the suite's last test.
func (st *tmlState) probed(i int, answered99 bool, failed bool) (next []*Unit, warn string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.inflight--
	switch {
	case answered99:
		if st.end < 0 || i < st.end {
			st.end = i
		}
		return nil, ""
	case failed:
		st.failRun++
	default:
		st.failRun = 0
	}
	if st.stopped {
		return nil, ""
	}
	if st.failRun >= tmlMaxFailRun {
		st.stopped = true
		return nil, fmt.Sprintf("%s: %d tests in a row past the last known one failed without the suite ever answering 99 (up to test %d); stopped running further indices (does it answer --test-index=N past its last test with exit 99? a list of test names next to it, %s.names, gives volley the count)",
			st.suite.Name, tmlMaxFailRun, i, st.suite.Name)
	}
	// Each verdict starts up to two more probes: the window widens from
	// one process to tmlWindow while the suite keeps having tests.
	for k := 0; k < 2 && st.inflight < tmlWindow; k++ {
		if st.end >= 0 && st.next >= st.end {
			break
		}
		if st.next >= tmlMaxIndex {
			st.stopped = true
			return next, fmt.Sprintf("%s: still answering at test %d; stopped following it there", st.suite.Name, tmlMaxIndex)
		}
		next = append(next, st.unit(st.next, true))
		st.next++
		st.inflight++
	}
	return next, ""
}

// endAt is the index the suite answered 99 at, or -1.
func (st *tmlState) endAt() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.end
}

// TMLResult is one parsed result line.
type TMLResult struct {
	Index    int
	Status   event.Status
	ExitCode int
}

// ParseTMLResult parses a `TML_RESULT:<index>:<PASS|FAIL|SKIP>:<code>` line.
// Only a line that starts with TML_RESULT: is a result line (ok); err is set
// when it starts like one but is malformed.
func ParseTMLResult(line []byte) (r TMLResult, ok bool, err error) {
	line = bytes.TrimRight(line, "\r \t")
	if !bytes.HasPrefix(line, []byte(TMLResultPrefix)) {
		return r, false, nil
	}
	fields := bytes.Split(line[len(TMLResultPrefix):], []byte(":"))
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
	st       *tmlState
	index    int
	probe    bool     // a --test-index probe past the known tests: its verdict widens the window
	tail     bool     // the last known index: when it ends, a probe looks past it
	last     int      // the highest index reported so far, -1 for none
	reported indexSet // the indices that printed a result line
	failed   bool     // a FAIL line was reported
	buried   []int    // indices whose result line was glued to the end of other output
	warns    []string
}

func (t *tmlSession) suite() *Suite { return t.st.suite }

func (t *tmlSession) Line(line []byte) []Outcome {
	r, ok, err := ParseTMLResult(line)
	if !ok {
		t.noticeBuried(line)
		return nil
	}
	s := t.suite()
	if err != nil {
		t.warns = append(t.warns, fmt.Sprintf("%s: %v", s.Name, err))
		return nil
	}
	if t.index >= 0 && r.Index != t.index {
		t.warns = append(t.warns, fmt.Sprintf("%s: asked for test %d, got a result line for test %d; ignored", s.Name, t.index, r.Index))
		return nil
	}
	if t.reported.has(r.Index) {
		t.warns = append(t.warns, fmt.Sprintf("%s: test %d reported twice; the first result stands", s.Name, r.Index))
		return nil
	}
	if t.index < 0 && r.Index > t.last+1 {
		if k := t.st.known; k > 0 && r.Index >= k || k == 0 && r.Index > t.last+1+tmlMaxGap {
			t.warns = append(t.warns, fmt.Sprintf("%s: result line for test %d, which the suite cannot hold (next expected: %d); ignored", s.Name, r.Index, t.last+1))
			return nil
		}
	}
	t.reported.add(r.Index)
	if r.Index > t.last {
		t.last = r.Index
	}
	o := Outcome{Test: t.st.name(r.Index), Status: r.Status, ExitCode: r.ExitCode}
	if r.Status == event.Fail {
		t.failed = true
		o.Reason = fmt.Sprintf("returned %d (TML_RESULT FAIL)", r.ExitCode)
	}
	return []Outcome{o}
}

// noticeBuried remembers a result line glued to the end of a test's own
// output (it printed without a final newline): it does not count, but the
// index is run alone afterwards so its verdict is not lost.
func (t *tmlSession) noticeBuried(line []byte) {
	if t.index >= 0 {
		return
	}
	i := bytes.LastIndex(line, []byte(TMLResultPrefix))
	if i <= 0 {
		return
	}
	r, ok, err := ParseTMLResult(line[i:])
	if !ok || err != nil {
		return
	}
	t.buried = append(t.buried, r.Index)
	t.warns = append(t.warns, fmt.Sprintf("%s: a result line for test %d follows other output on the same line (does the test print without a newline?); not counted, test %d runs alone to get its verdict",
		t.suite().Name, r.Index, r.Index))
}

func (t *tmlSession) Running() string {
	if t.index >= 0 {
		if t.reported.has(t.index) {
			return ""
		}
		return t.st.name(t.index)
	}
	return t.st.name(t.last + 1)
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

// gaps are the indices below the highest reported one without a result.
func (t *tmlSession) gaps() []int {
	var g []int
	for i := 0; i < t.last; i++ {
		if !t.reported.has(i) {
			g = append(g, i)
		}
	}
	return g
}

func (t *tmlSession) exitRunAll(x Exit) ([]Outcome, []*Unit) {
	s := t.suite()
	st := t.st
	clean := !x.TimedOut && x.Signal == ""
	switch {
	case x.Err != nil:
		return []Outcome{{Status: event.Error, Reason: x.Err.Error(), ExitCode: -1}}, nil
	case clean && x.Code == TMLExitNoArg:
		return []Outcome{{Status: event.Error, ExitCode: x.Code, Reason: fmt.Sprintf(
			"%s exited 98 (no argument) on %s: it does not speak the tml protocol; run it with --protocol exec or set protocol in volley.toml",
			s.Name, TMLRunAll)}}, nil
	case clean && x.Code == TMLExitBadIndex:
		return []Outcome{{Status: event.Error, ExitCode: x.Code, Reason: fmt.Sprintf(
			"%s exited 99 (invalid index) on %s, which takes no index: protocol error in the suite", s.Name, TMLRunAll)}}, nil
	}
	next := t.last + 1 // the index running when the process ended
	gaps := t.gaps()
	if clean && x.Code == 0 {
		// The suite ran to its end.
		if t.reported.len() == 0 && st.known == 0 && len(t.buried) == 0 {
			if s.TestNames != nil {
				return nil, nil // known to hold no tests
			}
			return []Outcome{{Status: event.Error, ExitCode: 0, Reason: fmt.Sprintf(
				"%s exited 0 on %s without printing a single TML_RESULT line: is it a tml suite? (run it with --protocol exec, or print TML_RESULT:<i>:PASS:0 after each test and flush)",
				s.Name, TMLRunAll)}}, nil
		}
		if t.failed {
			t.warns = append(t.warns, fmt.Sprintf("%s: exited 0 although a test reported FAIL", s.Name))
		}
		from := -1
		switch {
		case next < st.known:
			t.warns = append(t.warns, fmt.Sprintf("%s: exited 0 after %d result lines, but it holds %d tests; running the rest alone", s.Name, next, st.known))
			from = next
		case len(t.buried) > 0:
			from = next // a buried line may have been the last test's
		}
		if from < 0 && len(gaps) == 0 {
			return nil, nil
		}
		if from < 0 {
			return nil, st.leftovers(gaps)
		}
		return nil, st.rest(from, gaps)
	}

	// Ended early, or exited 1 at the end: index `next` has no line.
	o := Outcome{Test: st.name(next), ExitCode: x.Code}
	switch {
	case x.TimedOut:
		o.Status = event.Timeout
		o.Reason = fmt.Sprintf("timed out after %s without returning", x.Timeout)
	case x.Signal != "":
		o.Status = event.Crash
		o.Reason = "killed by " + x.Signal
	case x.Code == 1:
		switch {
		case st.known > 0 && next >= st.known:
			// Every known test reported: exit 1 is the FAIL lines' verdict.
			if !t.failed {
				t.warns = append(t.warns, fmt.Sprintf("%s: exited 1 although all %d tests reported PASS", s.Name, st.known))
			}
			return nil, st.rest(next, gaps)
		case t.failed && st.known == 0:
			// A returned FAIL also makes --run-all exit 1 at its end: whether
			// test `next` exists and failed, it alone can tell.
			return nil, st.rest(next, gaps)
		}
		o.Status = event.Fail
		o.Reason = "exited 1 (a failed assertion or panic)"
	default:
		o.Status = event.Fail
		o.Reason = fmt.Sprintf("exited with code %d", x.Code)
	}
	return []Outcome{o}, st.rest(next+1, gaps)
}

// leftovers runs the given indices alone, with no probing.
func (st *tmlState) leftovers(idx []int) []*Unit {
	var us []*Unit
	for _, i := range idx {
		us = append(us, st.unit(i, false))
	}
	return us
}

func (t *tmlSession) exitIndex(x Exit) ([]Outcome, []*Unit) {
	s := t.suite()
	st := t.st
	name := st.name(t.index)
	clean := !x.TimedOut && x.Signal == "" && x.Err == nil
	if clean && x.Code == TMLExitBadIndex && !t.reported.has(t.index) {
		// Past the last test: the suite ends here.
		if t.index < len(s.TestNames) {
			t.warns = append(t.warns, fmt.Sprintf("%s: answered 99 (no such test) for test %d, but it was expected to hold %d tests; is the executable older than its test list?", s.Name, t.index, st.known))
		}
		if t.probe || t.tail {
			if t.tail {
				st.mu.Lock()
				st.inflight++ // probed counts it out
				st.mu.Unlock()
			}
			next, w := st.probed(t.index, true, false)
			t.warn(w)
			return nil, next
		}
		return nil, nil
	}
	var outs []Outcome
	failed := false
	if t.reported.has(t.index) {
		// A producer that prints its line under --test-index too: the line
		// was the verdict.
		if !clean || x.Code != 0 && x.Code != 1 {
			t.warns = append(t.warns, fmt.Sprintf("%s: test %d reported its result, then the process ended: %s", s.Name, t.index, describeExit(x)))
		}
		failed = t.failed
	} else {
		o := Outcome{Test: name, ExitCode: x.Code, Reason: describeExit(x)}
		switch {
		case x.Err != nil:
			o.Status, o.ExitCode = event.Error, -1
		case x.TimedOut:
			o.Status = event.Timeout
		case x.Signal != "":
			o.Status = event.Crash
		case x.Code == TMLExitNoArg:
			o.Status = event.Error
			o.Reason = fmt.Sprintf("%s exited 98 (no argument) on %s%d: it does not understand --test-index", s.Name, TMLIndexFlag, t.index)
		case x.Code == 0:
			o.Status, o.Reason = event.Pass, ""
		case x.Code == 1:
			o.Status, o.Reason = event.Fail, "exited 1 (a failed assertion or panic)"
		default:
			o.Status, o.Reason = event.Fail, fmt.Sprintf("exited with code %d", x.Code)
		}
		failed = o.Status != event.Pass
		outs = []Outcome{o}
		if o.Status == event.Error {
			if t.probe {
				st.probed(t.index, true, false) // stop probing: nothing more will answer
			}
			return outs, nil
		}
	}
	if t.tail {
		return outs, st.rest(st.known, nil)
	}
	if !t.probe {
		return outs, nil
	}
	next, w := st.probed(t.index, false, failed)
	t.warn(w)
	return outs, next
}

func (t *tmlSession) warn(w string) {
	if w != "" {
		t.warns = append(t.warns, w)
	}
}

// Explain finds, in a failed tml test's output, the lines that say why it
// failed: the runtime's `FATAL [runtime] ...` line (its time stamp cut),
// a `panic: ...` line, or should_panic's complaint. "" when there is none.
func (TML) Explain(out []byte) string {
	var why string
	for len(out) > 0 {
		line := out
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			line, out = out[:i], out[i+1:]
		} else {
			out = nil
		}
		line = bytes.TrimRight(line, "\r")
		if i := bytes.Index(line, []byte("FATAL [")); i >= 0 {
			rest := line[i+len("FATAL ["):]
			if j := bytes.Index(rest, []byte("] ")); j >= 0 {
				rest = rest[j+2:]
			}
			why = string(rest) // the last FATAL line: the process ended right after it
			continue
		}
		if why == "" && (bytes.HasPrefix(line, []byte("panic: ")) ||
			bytes.Equal(line, []byte("test did not panic as expected")) ||
			bytes.HasPrefix(line, []byte("panic message did not contain expected string"))) {
			why = string(line)
		}
	}
	return clipString(why, 400)
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// indexSet is a set of test indices, a bit each: a --run-all of 100,000
// tests remembers which reported in 12 KiB rather than a map of megabytes.
type indexSet struct {
	bits []uint64
	n    int
}

func (s *indexSet) has(i int) bool {
	return i >= 0 && i/64 < len(s.bits) && s.bits[i/64]&(1<<(i%64)) != 0
}

func (s *indexSet) add(i int) {
	if i < 0 || s.has(i) {
		return
	}
	for i/64 >= len(s.bits) {
		s.bits = append(s.bits, 0)
	}
	s.bits[i/64] |= 1 << (i % 64)
	s.n++
}

func (s *indexSet) len() int { return s.n }
