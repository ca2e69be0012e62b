package protocol

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// Suite is one test executable and how to run it.
type Suite struct {
	Name        string
	Path        string   // the executable or script, absolute
	Protocol    string   // "exec", "tml", ...
	Args        []string // extra arguments, placed before the protocol's own
	Interpreter []string // run Path through this program (TAP scripts)
	Cwd         string   // working directory; empty means volley's own
	Env         []string // KEY=VALUE added to the child's environment
	Timeout     time.Duration
	Granularity string   // "suite", "test" or "auto" (default: auto where tests are listable)
	RunIgnored  bool     // run tests the harness marks ignored/disabled
	Inputs      []string // absolute paths of declared inputs (cache key)
	Threads     int      // slots one process of this suite occupies (default 1)
	Group       string   // concurrency group ([groups.NAME] max = N)
	Retries     int      // extra attempts for a failing test; 0 = the run's default, < 0 = none
	// TestNames names a tml suite's tests by index (a TML checkout's test
	// files, or the sidecar list next to the executable); nil when unknown.
	TestNames []string
	// KnownCount is the number of tests a tml suite is known to hold (from
	// TestNames or history); 0 when unknown.
	KnownCount int
	// SplitTML runs a tml suite of known count one --test-index process per
	// test from the start, spread over free slots, instead of one --run-all
	// (a suite long enough to be the run's critical path).
	SplitTML bool
}

// Unit is one process to run.
type Unit struct {
	Suite   *Suite
	Args    []string // protocol arguments, after Suite.Args
	Label   string   // what it runs, for display ("suite", "suite --test-index=3")
	Tests   []string // the tests it runs, when known in advance
	Session Session
	// Est is the unit's expected wall time from history; 0 when nothing
	// in it has run before.
	Est time.Duration
	// Threads is the slots the unit occupies when it differs from its
	// suite's (a batch of Go tests that call t.Parallel); 0 = Suite.Threads.
	Threads int
}

// Argv is the full command line of the unit.
func (u *Unit) Argv() []string {
	s := u.Suite
	argv := make([]string, 0, len(s.Interpreter)+1+len(s.Args)+len(u.Args))
	argv = append(argv, s.Interpreter...)
	argv = append(argv, s.Path)
	argv = append(argv, s.Args...)
	return append(argv, u.Args...)
}

// Outcome is a test result reported by a session. Test is empty when the
// outcome is about the whole suite (exec protocol, or a suite that could not
// run at all).
type Outcome struct {
	Test     string
	Status   event.Status
	Reason   string
	ExitCode int
	// Start and Duration, when Start is set, are the test's time as known
	// by whoever ran it (a remote worker's), instead of when its result
	// was read. Cached marks a result a remote action cache served.
	Start    time.Time
	Duration time.Duration
	Cached   bool
	Parallel event.Parallel // the test or its subtests ran in parallel (Go)
}

// Exit is how a unit's process ended.
type Exit struct {
	Code     int    // exit status; -1 when killed by a signal
	Signal   string // "SIGSEGV" when killed by a signal
	TimedOut bool   // volley killed it after Timeout without a result
	Timeout  time.Duration
	Err      error // the process could not be started
}

// Session reads one process's output. It is used by one goroutine at a time.
type Session interface {
	// Line consumes one line of standard output (newline stripped) as it
	// arrives and returns the outcomes it completes.
	Line(line []byte) []Outcome
	// Running names the test the process is running now, "" if unknown.
	Running() string
	// Exit is called once, after the process ended; it returns the outcomes
	// still owed and the follow-up units that must run.
	Exit(x Exit) ([]Outcome, []*Unit)
	// Warnings returns, and forgets, protocol oddities noticed so far.
	Warnings() []string
}

// Explainer is implemented by protocols that can find, in a failed test's
// output, the line that says why it failed (TML's `FATAL [runtime] ...`).
type Explainer interface {
	Explain(out []byte) string
}

// Protocol is a harness.
type Protocol interface {
	Name() string
	// Units returns the processes that run the whole suite.
	Units(s *Suite) []*Unit
}

// Test is one test a harness listed.
type Test struct {
	Name    string
	Ignored bool   // disabled/ignored by the harness; reported as skipped unless RunIgnored
	Reason  string // why it is ignored, when known
}

// Lister is implemented by harnesses whose tests can be listed without
// running them; such suites can run a test, or a batch of tests, per process.
type Lister interface {
	// List returns the suite's tests in the harness's order. env is added
	// to the environment of every process listing starts (the run's mark,
	// proc.CookieVar), replacing volley's own entries of the same names.
	List(ctx context.Context, s *Suite, env []string) ([]Test, error)
	// Batch returns the unit that runs exactly these tests of s in one process.
	Batch(s *Suite, tests []string) *Unit
}

var registry = map[string]Protocol{}

func register(p Protocol) { registry[p.Name()] = p }

// Lookup returns the named protocol.
func Lookup(name string) (Protocol, error) {
	if p, ok := registry[name]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("unknown protocol %q (known: %s)", name, Names())
}

// Names lists the known protocols.
func Names() []string {
	var n []string
	for k := range registry {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// SuiteName derives a suite name from an executable path.
func SuiteName(path string) string {
	return filepath.Base(path)
}

// describeExit says in words how a process ended.
func describeExit(x Exit) string {
	switch {
	case x.Err != nil:
		return x.Err.Error()
	case x.TimedOut:
		return fmt.Sprintf("timed out after %s", x.Timeout)
	case x.Signal != "":
		return "killed by " + x.Signal
	default:
		return fmt.Sprintf("exit code %d", x.Code)
	}
}

// RetryUnit returns the unit that runs one test of s again, alone where the
// harness allows it: a listed test as a batch of one, a tml test by its
// index, anything else by running the whole suite again.
func RetryUnit(s *Suite, test string) *Unit {
	p, err := Lookup(s.Protocol)
	if err != nil {
		return nil
	}
	if l, ok := p.(Lister); ok && test != "" {
		return l.Batch(s, []string{test})
	}
	if s.Protocol == "tml" && test != "" {
		if i, ok := TMLTestIndex(s, test); ok {
			return TMLIndexUnit(s, i)
		}
	}
	us := p.Units(s)
	if len(us) != 1 {
		return nil
	}
	return us[0]
}
