package testrun

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/config"
	"github.com/volley-test/volley/internal/plan"
)

// Config is a run with every setting resolved (flags laid over volley.toml
// and its profile).
type Config struct {
	// File is the loaded volley.toml, nil when there is none.
	File *config.File
	// Cwd is the directory the run started in; StateDir holds the history,
	// the result cache and the quarantine list.
	Cwd      string
	StateDir string

	Jobs       int           // test processes at once
	Timeout    time.Duration // per test, unless the suite sets its own
	TimeoutSet bool          // Timeout was asked for: it overrides the harnesses' defaults
	Grace      time.Duration // between SIGTERM and SIGKILL
	MaxFail    int           // stop launching after this many failures; 0 = never
	Verbose    int           // 1: every test; 2: every process
	Filter     string        // test names (suite::test) to run; in a TML checkout, test-file paths
	NoCapture  bool          // tests print straight to the terminal
	NoColor    bool
	Protocol   string   // every executable speaks this protocol; "" = volley.toml, else detected
	NoCache    bool     // run tests even when an unchanged passing result is cached
	RunIgnored bool     // also run tests the harness marks ignored
	Order      string   // smart, name, random or random:SEED (see ParseOrder)
	Suites     []string // TML checkout modules to run (LIB/MOD)

	Retries      int           // extra attempts for a failing test
	FlakyFail    bool          // a test that passed only on a retry counts as failed
	SlowTimeout  time.Duration // warn about a test running longer, and again each period
	SlowSet      bool          // SlowTimeout was asked for: no harness default replaces it
	LeakFail     bool          // a test that leaves processes behind fails
	MemoryBudget int64         // bytes; 0: none; negative: half the memory available when the tests start
	NoDiagnose   bool          // kill hung tests without collecting stack dumps first

	ExplainCache bool   // say why each suite missed the cache
	FailedOnly   bool   // run only the last run's failures, plus tests never seen
	Partition    string // the shard to run (see shard.FromEnv); "" = from the CI environment
	OutputDir    string // where the run's shard files go, for volley merge; "" = none

	Reports  Reports
	Coverage Coverage
	Remote   Remote
}

// Reports are the run's report destinations; "" is none, "-" standard
// output.
type Reports struct {
	JUnit, JSON, HTML string
	Format            string // auto, live, plain, line or verbose
	Slowest           int    // list this many slowest tests in the summary
}

// Coverage configures coverage collection.
type Coverage struct {
	On        bool
	Output    string   // report directory, or FILE.html
	Functions string   // file listing every library function
	Objects   []string // more instrumented binaries, for LLVM coverage
	Sources   []string // TML library source directories
}

// Remote configures remote execution; URL "" runs locally.
type Remote struct {
	URL, Instance, HeadersEnv, HeadersFile, CACert string
	Platform                                       []string // KEY=VALUE
	Jobs                                           int
	Cache                                          bool
}

// ParseOrder reads a run order: smart, name, random or random:SEED. A
// random order without a seed gets one from the clock.
func ParseOrder(s string) (plan.Order, int64, error) {
	name, seedText, hasSeed := strings.Cut(s, ":")
	switch plan.Order(name) {
	case plan.OrderSmart, plan.OrderName:
		if hasSeed {
			return "", 0, fmt.Errorf("--order %s: only random takes a seed", s)
		}
		return plan.Order(name), 0, nil
	case plan.OrderRandom:
		if !hasSeed {
			return plan.OrderRandom, time.Now().UnixNano() % 1000000, nil
		}
		seed, err := strconv.ParseInt(seedText, 10, 64)
		if err != nil {
			return "", 0, fmt.Errorf("--order %s: the seed must be an integer", s)
		}
		return plan.OrderRandom, seed, nil
	}
	return "", 0, fmt.Errorf("--order %s: want smart, name or random[:SEED]", s)
}

// Kind classifies the errors that keep a run from happening or completing.
type Kind int

const (
	// Usage: a setting, argument or volley.toml to fix.
	Usage Kind = iota + 1
	// Incomplete: a problem outside the tests (a remote service unusable, a
	// report unwritable) kept the run from completing.
	Incomplete
)

// Error is an error of a given Kind.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func usage(err error) error      { return &Error{Kind: Usage, Err: err} }
func incomplete(err error) error { return &Error{Kind: Incomplete, Err: err} }
