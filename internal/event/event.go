package event

import (
	"fmt"
	"time"
)

// Status is how one test ended.
type Status uint8

// Test outcomes. The zero value is not a valid outcome.
const (
	Pass    Status = iota + 1 // the test passed
	Fail                      // the test reported failure
	Skip                      // the test was skipped (exit 77, SKIP, ignored)
	Crash                     // the process died without reporting (signal or unexpected exit)
	Timeout                   // the test hung and was killed
	Error                     // the suite could not be run or broke its protocol
)

var statusNames = [...]string{"", "PASS", "FAIL", "SKIP", "CRASH", "TIMEOUT", "ERROR"}

func (s Status) String() string {
	if int(s) < len(statusNames) && s != 0 {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Failed reports whether the status counts against the run.
func (s Status) Failed() bool { return s >= Fail && s != Skip }

// ParseStatus is the inverse of Status.String.
func ParseStatus(s string) (Status, bool) {
	for i, n := range statusNames {
		if i > 0 && n == s {
			return Status(i), true
		}
	}
	return 0, false
}

// Kind says what happened.
type Kind uint8

// Event kinds, in the order a run emits them.
const (
	RunStart  Kind = iota + 1 // the plan is known; Stats.Suites is set
	ProcStart                 // a process was started; Proc is set
	TestStart                 // a test is now believed to be running; Suite, Test set
	TestEnd                   // a test finished; Result is set
	ProcEnd                   // a process ended; Proc is set, with rusage
	Warn                      // something worth telling the user; Message is set
	Tick                      // a periodic redraw opportunity for live views
	Info                      // an answer to the user (inspection); Message is set
	RunEnd                    // the run is over; Stats are final
)

var kindNames = [...]string{"", "run-start", "proc-start", "test-start", "test-end", "proc-end", "warn", "tick", "info", "run-end"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Event is one thing that happened during a run. Events are created by the
// dispatcher only and handed to reporters one at a time, in order.
type Event struct {
	Kind    Kind
	Time    time.Time
	Suite   string  // the suite the event is about, if any
	Test    string  // the test within Suite; empty when the suite is the test
	Result  *Result // TestEnd
	Proc    *Proc   // ProcStart, ProcEnd
	Message string  // Warn
	Stats   Stats   // running totals after this event
}

// Result is the outcome of one test.
type Result struct {
	Suite    string
	Test     string // empty when the whole suite is one test (exec protocol)
	Status   Status
	Reason   string // why it failed, in words: "killed by SIGSEGV", "timed out after 20s"
	Start    time.Time
	Duration time.Duration
	// Output is the output captured while this test ran, bounded; when the
	// capture had to drop bytes, Truncated says how many were dropped.
	Output    []byte
	Truncated int64
	ExitCode  int    // the process's or the test's own exit code; -1 when killed by a signal
	Signal    string // "SIGSEGV" when killed by a signal
	Proc      int    // Proc.ID of the process that ran it (0 for cached results)
	Slot      int    // the parallel slot the process ran in
	CPU       time.Duration
	MaxRSS    int64 // peak resident set size of the process, bytes
	Attempt   int   // 1 for the first attempt
	Cached    bool  // served from the result cache, not run
	// Retrying marks a failed attempt that will be retried: not final, not
	// counted in Stats; the test's final result follows.
	Retrying bool
	// Flaky marks a final PASS after failed attempts.
	Flaky bool
	// Quarantined marks a test on the quarantine list: it ran, but its
	// failure does not fail the run.
	Quarantined bool
	// Diagnostics is what volley collected before killing a hung test:
	// stack dumps, the process tree.
	Diagnostics string
	// Leaked lists processes the test left running ("pid cmdline"), which
	// volley killed.
	Leaked []string
	// Parallel says whether the test, or its subtests, ran in parallel
	// with others (a Go test's t.Parallel).
	Parallel Parallel
}

// Parallel is how a test ran beside others of its process, as its harness
// showed (Go prints "=== PAUSE" when a test calls t.Parallel).
type Parallel int

// Parallel bits.
const (
	ParallelSelf     Parallel = 1 << iota // the test called t.Parallel
	ParallelSubtests                      // some of its subtests did
)

// ID is the display identity of the result's test.
func (r *Result) ID() string { return ID(r.Suite, r.Test) }

// ID joins a suite and test name for display: "suite" or "suite::test".
func ID(suite, test string) string {
	if test == "" {
		return suite
	}
	return suite + "::" + test
}

// Proc describes one process volley ran.
type Proc struct {
	ID       int // 1-based, unique within the run
	PID      int
	Slot     int // parallel slot, 0..jobs-1
	Suite    string
	Label    string   // what the process is running, for display
	Args     []string // argv
	Start    time.Time
	End      time.Time
	CPU      time.Duration // user+system, from rusage
	MaxRSS   int64         // bytes, from rusage
	ExitCode int           // -1 when killed by a signal
	Signal   string
	TimedOut bool
	Err      string // could not start, or a protocol error
	Output   int64  // bytes of output captured
}

// Stats are the running totals of a run. Every event carries them, so no
// reporter recomputes state.
type Stats struct {
	Start       time.Time
	Suites      int // suites in the plan
	SuitesDone  int
	Expected    int // tests expected, where known (listed or from history); 0 when unknown
	Done        int // tests finished
	Passed      int
	Failed      int // every failing status: FAIL, CRASH, TIMEOUT, ERROR
	Skipped     int
	Cached      int // of Passed, served from the cache
	Flaky       int // of Passed, passed only on a retry
	Quarantined int // failures of quarantined tests: reported, not counted in Failed
	Leaks       int // processes that left descendants running
	Running     int // processes running now
	NotRun      int // planned units never started (fail-fast, interrupt)
	CPU         time.Duration
	// Left is the expected wall time still to run, from history: the
	// larger of the queued and running units' expected work over the
	// slots and the longest of them. Set on Tick events; 0 when no unit
	// in the plan has a history.
	Left        time.Duration
	Wall        time.Duration // set on RunEnd
	Interrupted bool
}

// Count adds a final result to the totals (attempts that will be retried
// are not counted).
func (s *Stats) Count(r *Result) {
	if r.Retrying {
		return
	}
	s.Done++
	switch {
	case r.Status == Pass:
		s.Passed++
		if r.Cached {
			s.Cached++
		}
		if r.Flaky {
			s.Flaky++
		}
	case r.Quarantined && r.Status.Failed():
		s.Quarantined++
	case r.Status == Skip:
		s.Skipped++
	default:
		s.Failed++
	}
}

// Summary is the final line of every run, alone on its line.
func (s Stats) Summary() string {
	return fmt.Sprintf("volley: %d passed, %d failed, %d skipped", s.Passed, s.Failed, s.Skipped)
}

// Parallelism is CPU time over wall time: how many cores the run kept busy.
func (s Stats) Parallelism() float64 {
	if s.Wall <= 0 {
		return 0
	}
	return float64(s.CPU) / float64(s.Wall)
}
