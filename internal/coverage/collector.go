package coverage

import (
	"debug/buildinfo"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/protocol"
)

// Environment variables a Collector gives every process.
const (
	TMLEnv  = "TML_COVERAGE_FILE" // the tml protocol's covered-function file
	GoEnv   = "GOCOVERDIR"        // Go's coverage data directory
	LLVMEnv = "LLVM_PROFILE_FILE" // LLVM's raw profile pattern
)

// DefaultDir is where coverage goes when Options.Dir is empty.
const DefaultDir = ".volley/coverage"

// DefaultToolTimeout bounds each run of an external tool.
const DefaultToolTimeout = 5 * time.Minute

// Options configure a Collector.
type Options struct {
	// Dir receives the report; per-process raw files go under Dir/raw,
	// which NewCollector empties. Empty means DefaultDir.
	Dir string
	// Functions is an optional file listing every function of the library,
	// one a line (blank lines and lines starting with '#' are skipped);
	// with it the report gives percentages and uncovered functions.
	Functions string
	// Objects are instrumented binaries llvm-cov should read besides the
	// suites that wrote LLVM profiles: tools the tests run (a compiler under
	// test), shared libraries.
	Objects []string
	// LLVMBin, when set, is searched first for llvm-profdata and llvm-cov.
	// Profiles must be read by the LLVM that wrote them: for Rust, that is
	// rustc's (`rustup component add llvm-tools`, then
	// $(rustc --print sysroot)/lib/rustlib/<host>/bin).
	LLVMBin string
	// ToolTimeout bounds each external tool run; 0 means DefaultToolTimeout.
	ToolTimeout time.Duration
	// Sources are TML library directories (lib/core, lib/std, lib/test of
	// a TML checkout) scanned for every function the way TML's report
	// does, grouped by source module; an alternative to Functions.
	Sources []string
	// HTMLName is the HTML report's file name in Dir (default
	// coverage.html); the JSON report is named after it with .json.
	HTMLName string
	// TestCount weighs a passed test in tests_passed (a TML test file
	// counts its @test functions); nil counts 1 each.
	TestCount func(suite, test string) int
	// NoCache is recorded in the history: the run did not use the result
	// cache.
	NoCache bool
}

// procInfo is what the Collector remembers about one process.
type procInfo struct {
	suite    string // suite name, for warnings
	path     string // the executable, for llvm-cov
	protocol string
	cwd      string // where it ran: Go packages are resolved from there
	failed   bool   // one of its tests failed, crashed or timed out
}

// Collector hands out coverage destinations during a run and merges them
// after it. Its methods are safe for concurrent use.
type Collector struct {
	o     Options
	dir   string // absolute
	raw   string // dir/raw
	start time.Time

	mu        sync.Mutex
	procs     map[int]*procInfo
	dirsMade  bool
	warnings  []string // problems met while handing out destinations
	passed    int
	failed    int
	cached    int
	failSuite map[string]bool
	failProc  map[int]bool
	first     time.Time // earliest observed test start
	last      time.Time // latest observed test end
	weighed   int       // passed tests, weighed by TestCount
	tests     int       // final results observed
	testTime  time.Duration
	passProc  map[int]string // a passed test of each process, by process

	maxArg int // tests: the covdata argument limit, 0 = maxArg
}

// NewCollector prepares a collector: it makes o.Dir absolute (processes may
// run in other directories), checks that o.Functions can be read, and
// removes raw files left by an earlier run. Directories are created when
// the first process starts.
func NewCollector(o Options) (*Collector, error) {
	if o.Dir == "" {
		o.Dir = DefaultDir
	}
	if o.ToolTimeout <= 0 {
		o.ToolTimeout = DefaultToolTimeout
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("coverage: %w", err)
	}
	if o.HTMLName == "" {
		o.HTMLName = HTMLFile
	}
	if o.Functions != "" && len(o.Sources) > 0 {
		return nil, fmt.Errorf("coverage: a function list (%s) and library sources (%s) both give the functions: choose one", o.Functions, strings.Join(o.Sources, ", "))
	}
	if o.Functions != "" {
		f, err := os.Open(o.Functions)
		if err != nil {
			return nil, fmt.Errorf("coverage function list: %w", err)
		}
		f.Close()
	}
	raw := filepath.Join(dir, "raw")
	if err := os.RemoveAll(raw); err != nil {
		return nil, fmt.Errorf("coverage: remove stale raw data: %w", err)
	}
	return &Collector{
		o: o, dir: dir, raw: raw, start: time.Now(),
		procs: map[int]*procInfo{}, failSuite: map[string]bool{}, failProc: map[int]bool{}, passProc: map[int]string{},
	}, nil
}

// Dir is the absolute directory the report is written to.
func (c *Collector) Dir() string { return c.dir }

// Env returns the coverage destinations of process procID running u, to be
// added to its environment, and a function to call once the process has
// ended. It implements runner.Options.Env.
//
// Every process gets all three destinations. Go's runtime does not create
// GOCOVERDIR, so each process gets its own directory, removed by done when
// the process left nothing in it.
func (c *Collector) Env(u *protocol.Unit, procID int) (env []string, done func()) {
	info := &procInfo{suite: "?"}
	if u != nil && u.Suite != nil {
		s := u.Suite
		info = &procInfo{suite: s.Name, path: s.Path, protocol: s.Protocol, cwd: s.Cwd}
		if info.suite == "" {
			info.suite = protocol.SuiteName(s.Path)
		}
	}
	c.mu.Lock()
	c.procs[procID] = info
	if !c.dirsMade {
		c.dirsMade = true
		for _, d := range []string{"tml", "go", "llvm"} {
			if err := os.MkdirAll(filepath.Join(c.raw, d), 0o755); err != nil {
				c.warnings = append(c.warnings, fmt.Sprintf("cannot create coverage directory: %v", err))
			}
		}
	}
	c.mu.Unlock()

	id := strconv.Itoa(procID)
	goDir := filepath.Join(c.raw, "go", id)
	if err := os.Mkdir(goDir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		c.warn(fmt.Sprintf("suite %s (process %d): cannot create %s: %v", info.suite, procID, GoEnv, err))
	}
	env = []string{
		TMLEnv + "=" + filepath.Join(c.raw, "tml", fileName(info.suite)+"-"+id+".txt"),
		GoEnv + "=" + goDir,
		LLVMEnv + "=" + filepath.Join(c.raw, "llvm", id+"-%p-%m.profraw"),
	}
	return env, func() { os.Remove(goDir) } // fails, as it should, when not empty
}

// GoTestFlag returns the -test.gocoverdir flag a Go test binary needs to
// write its coverage into the GOCOVERDIR of env: test binaries read only
// the flag. ok is false when env has no GOCOVERDIR or when the binary was
// not built with -cover (such a binary exits 2 when given the flag).
func GoTestFlag(binary string, env []string) (flag string, ok bool) {
	dir := ""
	for i := len(env) - 1; i >= 0 && dir == ""; i-- {
		if v, found := strings.CutPrefix(env[i], GoEnv+"="); found {
			dir = v
		}
	}
	if dir == "" || !builtWithCover(binary) {
		return "", false
	}
	return "-test.gocoverdir=" + dir, true
}

// coverBuilds remembers which binaries were built with -cover, by path,
// size and modification time.
var coverBuilds sync.Map

// builtWithCover reports whether the Go binary at path was built with
// -cover, from its build information.
func builtWithCover(path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", path, fi.Size(), fi.ModTime().UnixNano())
	if v, ok := coverBuilds.Load(key); ok {
		return v.(bool)
	}
	cover := false
	if info, err := buildinfo.ReadFile(path); err == nil {
		for _, s := range info.Settings {
			if s.Key == "-cover" && s.Value == "true" {
				cover = true
			}
		}
	}
	coverBuilds.Store(key, cover)
	return cover
}

// Observe records a test result, so the report knows how many tests passed
// and which processes' coverage comes from failed tests. Feed it every
// TestEnd result.
func (c *Collector) Observe(r *event.Result) {
	if r == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Cached {
		c.cached++
	}
	c.tests++
	if !r.Cached {
		c.testTime += r.Duration
	}
	switch {
	case r.Status == event.Pass:
		c.passed++
		w := 1
		if c.o.TestCount != nil {
			w = max(1, c.o.TestCount(r.Suite, r.Test))
		}
		c.weighed += w
		if _, ok := c.passProc[r.Proc]; !ok && r.Proc > 0 {
			c.passProc[r.Proc] = r.Test
		}
	case r.Status.Failed():
		c.failed++
		c.failSuite[r.Suite] = true
		if r.Proc > 0 {
			c.failProc[r.Proc] = true
		}
	}
	if !r.Cached && !r.Start.IsZero() {
		if c.first.IsZero() || r.Start.Before(c.first) {
			c.first = r.Start
		}
		if end := r.Start.Add(r.Duration); end.After(c.last) {
			c.last = end
		}
	}
}

func (c *Collector) warn(msg string) {
	c.mu.Lock()
	c.warnings = append(c.warnings, msg)
	c.mu.Unlock()
}

// fileName makes a suite name safe as part of a file name.
func fileName(suite string) string {
	b := []byte(suite)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_' || ch == '+' || ch == '-') {
			b[i] = '_'
		}
	}
	s := strings.Trim(string(b), ".")
	if s == "" {
		s = "suite"
	}
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// snapshot is the Collector's state, copied for Merge.
type snapshot struct {
	procs        map[int]*procInfo
	warnings     []string
	passed       int
	failed       int
	cached       int
	failedSuites []string
	duration     time.Duration
	weighed      int
	tests        int
	passProc     map[int]string
}

func (c *Collector) snapshot() *snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &snapshot{
		procs: map[int]*procInfo{}, warnings: append([]string(nil), c.warnings...),
		passed: c.passed, failed: c.failed, cached: c.cached,
		weighed: c.weighed, tests: c.tests, duration: c.testTime, passProc: maps.Clone(c.passProc),
	}
	for id, p := range c.procs {
		cp := *p
		cp.failed = c.failProc[id]
		s.procs[id] = &cp
	}
	for name := range c.failSuite {
		s.failedSuites = append(s.failedSuites, name)
	}
	slices.Sort(s.failedSuites)
	return s
}

// suiteOf names the suite of process id for warnings: the one the
// Collector started, else the one in the file name.
func (s *snapshot) suiteOf(id int, fromFile string) string {
	if p := s.procs[id]; p != nil && p.suite != "?" {
		return p.suite
	}
	if fromFile != "" {
		return fromFile
	}
	return "?"
}
