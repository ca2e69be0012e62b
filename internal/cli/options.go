package cli

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/volley-test/volley/internal/bytesize"
	"github.com/volley-test/volley/internal/config"
	"github.com/volley-test/volley/internal/statedir"
	"github.com/volley-test/volley/internal/testrun"
)

// runOptions are the options of `volley test` (and the demo).
type runOptions struct {
	jobs       int
	timeout    time.Duration
	timeoutSet bool // --timeout or [run] timeout given: it overrides the harnesses' defaults
	grace      time.Duration
	failFast   bool
	maxFail    int
	verbose    int
	filter     string
	noCapture  bool
	protocol   string
	configPath string
	profile    string
	noCache    bool
	format     string
	runIgnored bool
	order      string
	reports    testrun.Reports

	retries     int
	flakyResult string
	slowTimeout time.Duration
	slowSet     bool // --slow-timeout or [run] slow_timeout given
	leak        string
	memBudget   string
	noDiagnose  bool

	stateDir     string
	explainCache bool
	failedOnly   bool
	partition    string
	outputDir    string

	remote  testrun.Remote
	cover   testrun.Coverage
	archive string

	// The flags of `tml test`, for TML checkouts.
	quiet      bool
	noColor    bool
	suites     []string // --suite=core/str: lib/core/tests/str
	listSuites bool
}

func defaultRunOptions() runOptions {
	return runOptions{jobs: runtime.NumCPU(), timeout: 20 * time.Second, grace: 2 * time.Second, order: "smart"}
}

// addRunFlags registers the run flags on fs, bound to o.
func addRunFlags(fs *pflag.FlagSet, o *runOptions) {
	fs.IntVarP(&o.jobs, "jobs", "j", o.jobs, "run `N` test processes at once (default: CPU count)")
	fs.IntVar(&o.jobs, "test-threads", o.jobs, "alias of --jobs")
	fs.Var((*seconds)(&o.timeout), "timeout", "kill a test that runs longer than `DUR` (per test; a bare number is seconds)")
	fs.Var((*seconds)(&o.grace), "grace", "time between SIGTERM and SIGKILL for a killed test (a bare number is seconds)")
	fs.BoolVarP(&o.failFast, "fail-fast", "x", false, "stop launching tests after the first failure")
	fs.IntVar(&o.maxFail, "max-fail", 0, "stop launching tests after `N` failures (0: never)")
	fs.CountVarP(&o.verbose, "verbose", "v", "print every test (-v) and every process (-vv)")
	fs.StringVar(&o.filter, "filter", "", "run only tests whose name (suite::test) matches `REGEX`; in a TML checkout, test files whose path contains it")
	fs.BoolVar(&o.noCapture, "no-capture", false, "let tests print straight to the terminal")
	fs.BoolVar(&o.noCapture, "nocapture", false, "alias of --no-capture")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print only failures and the summary")
	fs.BoolVar(&o.noColor, "no-color", false, "no color in the terminal output (also NO_COLOR)")
	fs.StringArrayVar(&o.suites, "suite", nil, "in a TML checkout, run the test files of `LIB/MOD` (core/str: lib/core/tests/str; repeatable)")
	fs.BoolVar(&o.listSuites, "list-suites", false, "list the test modules of a TML checkout (for --suite) and exit")
	fs.StringVar(&o.protocol, "protocol", "", "treat every executable as speaking this protocol: exec, tml, tap, gotest, gtest or libtest (default: volley.toml, else detected)")
	fs.StringVar(&o.configPath, "config", "", "read `FILE` instead of the nearest volley.toml")
	fs.StringVar(&o.profile, "profile", "", "apply [profile.`NAME`] of volley.toml")
	fs.BoolVar(&o.noCache, "no-cache", false, "run every test even if an unchanged passing result is cached")
	fs.BoolVar(&o.runIgnored, "run-ignored", false, "also run tests the harness marks ignored or disabled")
	fs.StringVar(&o.order, "order", "smart", "run order: smart (failed first, then longest), name, or random[:SEED]")
	fs.StringVar(&o.reports.JUnit, "junit", "", "write a JUnit XML report to `FILE`")
	fs.StringVar(&o.reports.JSON, "json", "", "write the event log (test2json lines) to `FILE` as events happen; - for stdout")
	fs.StringVar(&o.reports.HTML, "html", "", "write a self-contained HTML report with a timeline to `FILE`")
	fs.StringVar(&o.reports.Format, "format", "auto", "terminal output: auto, live, plain, line (a line per test) or verbose")
	fs.IntVar(&o.reports.Slowest, "slowest", 0, "list the `N` slowest tests in the summary")
	fs.IntVar(&o.retries, "retries", 0, "run a failing test up to `N` more times; one that then passes is FLAKY")
	fs.StringVar(&o.flakyResult, "flaky-result", "pass", "what a flaky test counts as: pass or fail")
	fs.Var((*seconds)(&o.slowTimeout), "slow-timeout", "warn about a test running longer than `DUR`, and again each period (0: never)")
	fs.StringVar(&o.leak, "leak", "warn", "a test that leaves processes running: warn or fail")
	fs.StringVar(&o.memBudget, "memory-budget", "", "do not start a test whose expected peak memory would exceed `SIZE` in total (e.g. 8G; default half of available memory; 0: off)")
	fs.BoolVar(&o.noDiagnose, "no-diagnose", false, "kill hung tests without collecting stack dumps first")
	fs.StringVar(&o.stateDir, "state-dir", "", "keep history and the result cache in `DIR` (default .volley next to volley.toml)")
	fs.BoolVar(&o.explainCache, "explain-cache", false, "say why each suite missed the cache (also VOLLEY_DEBUG=cache)")
	fs.BoolVar(&o.failedOnly, "failed", false, "run only the last run's failures, plus tests never seen")
	fs.StringVar(&o.partition, "partition", "", "run one shard: hash:K/N, slice:K/N or time:K/N (default: from the CI environment)")
	fs.StringVar(&o.outputDir, "output-dir", "", "write this run's event log, JUnit, plan and history into `DIR` (for volley merge)")
	fs.StringVar(&o.remote.URL, "remote", "", "run tests on a Remote Execution API service: grpc://HOST:PORT or grpcs://HOST:PORT")
	fs.StringVar(&o.remote.Instance, "remote-instance", "", "remote execution instance `NAME`")
	fs.StringArrayVar(&o.remote.Platform, "remote-platform", nil, "platform property `K=V` workers must match (repeatable)")
	fs.IntVar(&o.remote.Jobs, "remote-jobs", 32, "remote actions in flight at once (independent of local cores)")
	fs.BoolVar(&o.remote.Cache, "remote-cache", false, "share results through the service's action cache")
	fs.StringVar(&o.remote.HeadersEnv, "remote-headers-env", "", "environment variable `NAME` holding \"Key: Value\" header lines (auth)")
	fs.StringVar(&o.remote.HeadersFile, "remote-headers-file", "", "`FILE` of \"Key: Value\" header lines (auth)")
	fs.StringVar(&o.remote.CACert, "remote-ca", "", "PEM `FILE` of the CA for grpcs:// (default: system roots)")
	fs.BoolVar(&o.cover.On, "coverage", false, "give every test process its own coverage file and merge them (tml, Go -cover, LLVM)")
	fs.StringVar(&o.cover.Output, "coverage-output", "", "write coverage reports into `DIR`, or name the HTML report FILE.html (default .volley/coverage; build/coverage in a TML checkout); implies --coverage")
	fs.StringArrayVar(&o.cover.Sources, "coverage-source", nil, "scan TML library sources in `DIR` for every function, for coverage percentages (repeatable; default lib/core lib/std lib/test in a TML checkout)")
	fs.StringVar(&o.cover.Functions, "coverage-functions", "", "`FILE` listing every library function, one per line, for coverage percentages")
	fs.StringArrayVar(&o.cover.Objects, "coverage-object", nil, "another instrumented binary the tests run, for LLVM coverage (repeatable)")
	fs.StringVar(&o.archive, "archive", "", "run the suites packed in `FILE` by volley archive (extracted to a temporary directory)")
	_ = fs.MarkHidden("test-threads")
	_ = fs.MarkHidden("nocapture")
}

// loadConfig finds and loads volley.toml: the --config file, or the nearest
// one walking up from cwd. It returns nil when there is none.
func loadConfig(o *runOptions, cwd string) (*config.File, error) {
	path := o.configPath
	if path == "" {
		var err error
		path, err = config.Find(cwd)
		if err != nil {
			return nil, usage(err)
		}
		if path == "" {
			return nil, nil
		}
	} else if _, err := os.Stat(path); err != nil {
		return nil, usage(fmt.Errorf("--config %s: no such file", path))
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	f, err := config.Load(path)
	if err != nil {
		return nil, usage(err)
	}
	return f, nil
}

// applyConfig lays the config's [run] table and the chosen profile under
// the flags the user set explicitly.
func applyConfig(o *runOptions, cfg *config.File, fs changedFunc) error {
	o.timeoutSet = o.timeoutSet || fs != nil && fs.Changed("timeout")
	o.slowSet = fs != nil && fs.Changed("slow-timeout")
	if cfg == nil {
		if o.profile != "" && o.profile != "default" {
			return usage(fmt.Errorf("--profile %s: there is no volley.toml to define it", o.profile))
		}
		return nil
	}
	opts := cfg.Run
	name := o.profile
	if name == "" {
		name = "default"
	}
	p, err := cfg.Profile(name)
	if err != nil {
		return usage(err)
	}
	opts = opts.Merge(p)
	set := func(flag string) bool { return fs != nil && fs.Changed(flag) }
	if opts.Jobs != nil && !set("jobs") && !set("test-threads") {
		o.jobs = *opts.Jobs
	}
	if opts.Timeout != nil && !set("timeout") {
		o.timeout = opts.Timeout.Duration
		o.timeoutSet = true
	}
	if opts.Grace != nil && !set("grace") {
		o.grace = opts.Grace.Duration
	}
	if opts.FailFast != nil && !set("fail-fast") {
		o.failFast = *opts.FailFast
	}
	if opts.MaxFail != nil && !set("max-fail") {
		o.maxFail = *opts.MaxFail
	}
	if opts.Verbose != nil && !set("verbose") {
		o.verbose = *opts.Verbose
	}
	if opts.Filter != nil && !set("filter") {
		o.filter = *opts.Filter
	}
	if opts.NoCapture != nil && !set("no-capture") && !set("nocapture") {
		o.noCapture = *opts.NoCapture
	}
	if opts.NoCache != nil && !set("no-cache") {
		o.noCache = *opts.NoCache
	}
	if opts.Protocol != nil && !set("protocol") {
		o.protocol = *opts.Protocol
	}
	if opts.Order != nil && !set("order") {
		o.order = *opts.Order
	}
	strOpt := func(flag string, dst *string, v *string) {
		if v != nil && !set(flag) {
			*dst = *v
		}
	}
	strOpt("junit", &o.reports.JUnit, opts.JUnit)
	strOpt("json", &o.reports.JSON, opts.JSON)
	strOpt("html", &o.reports.HTML, opts.HTML)
	strOpt("format", &o.reports.Format, opts.Format)
	strOpt("leak", &o.leak, opts.Leak)
	strOpt("memory-budget", &o.memBudget, opts.MemoryBudget)
	if opts.Coverage != nil && !set("coverage") {
		o.cover.On = *opts.Coverage
	}
	if opts.Retries != nil && !set("retries") {
		o.retries = *opts.Retries
	}
	if opts.SlowTimeout != nil && !set("slow-timeout") {
		o.slowTimeout = opts.SlowTimeout.Duration
		o.slowSet = true
	}
	return nil
}

func (o *runOptions) validate() error {
	switch {
	case o.jobs < 1:
		return usage(fmt.Errorf("--jobs %d: must be at least 1", o.jobs))
	case o.timeout <= 0:
		return usage(fmt.Errorf("--timeout %s: must be positive", o.timeout))
	case o.grace < 0:
		return usage(fmt.Errorf("--grace %s: must not be negative", o.grace))
	case o.maxFail < 0:
		return usage(fmt.Errorf("--max-fail %d: must not be negative", o.maxFail))
	}
	if _, _, err := testrun.ParseOrder(o.order); err != nil {
		return usage(err)
	}
	switch {
	case o.retries < 0:
		return usage(fmt.Errorf("--retries %d: must not be negative", o.retries))
	case o.flakyResult != "pass" && o.flakyResult != "fail":
		return usage(fmt.Errorf("--flaky-result %s: want pass or fail", o.flakyResult))
	case o.leak != "warn" && o.leak != "fail":
		return usage(fmt.Errorf("--leak %s: want warn or fail", o.leak))
	}
	switch o.reports.Format {
	case "auto", "live", "plain", "line", "verbose":
	default:
		return usage(fmt.Errorf("--format %s: want auto, live, plain, line or verbose", o.reports.Format))
	}
	if _, err := parseSize(o.memBudget); err != nil {
		return usage(fmt.Errorf("--memory-budget %s: %v", o.memBudget, err))
	}
	if o.failFast && o.maxFail == 0 {
		o.maxFail = 1
	}
	if o.quiet {
		if o.verbose > 0 {
			return usage(fmt.Errorf("--quiet and --verbose: choose one"))
		}
		if o.reports.Format == "auto" {
			o.reports.Format = "plain"
		}
	}
	if o.cover.Output != "" {
		o.cover.On = true // as in TML: naming the report asks for it
	}
	return nil
}

// config is the run o asks for, cfg being the volley.toml found from cwd
// (nil when there is none).
func (o *runOptions) config(cfg *config.File, cwd string) testrun.Config {
	budget, _ := parseSize(o.memBudget) // checked by validate
	return testrun.Config{
		File: cfg, Cwd: cwd, StateDir: stateDir(o, cfg, cwd),
		Jobs: o.jobs, Timeout: o.timeout, TimeoutSet: o.timeoutSet, Grace: o.grace, MaxFail: o.maxFail,
		Verbose: o.verbose, Filter: o.filter, NoCapture: o.noCapture, NoColor: o.noColor,
		Protocol: o.protocol, NoCache: o.noCache, RunIgnored: o.runIgnored, Order: o.order, Suites: o.suites,
		Retries: o.retries, FlakyFail: o.flakyResult == "fail", SlowTimeout: o.slowTimeout, SlowSet: o.slowSet,
		LeakFail: o.leak == "fail", MemoryBudget: budget, NoDiagnose: o.noDiagnose,
		ExplainCache: o.explainCache, FailedOnly: o.failedOnly, Partition: o.partition, OutputDir: o.outputDir,
		Reports: o.reports, Coverage: o.cover, Remote: o.remote,
	}
}

// stateDir is where volley keeps its memory (see statedir.Dir).
func stateDir(o *runOptions, cfg *config.File, cwd string) string {
	return statedir.Dir(o.stateDir, cfg, cwd)
}

// seconds is a duration flag that also takes a bare number of seconds,
// as TML's --timeout=20 does.
type seconds time.Duration

func (d *seconds) String() string { return time.Duration(*d).String() }
func (d *seconds) Type() string   { return "duration" }

func (d *seconds) Set(s string) error {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 || n > float64(math.MaxInt64/int64(time.Second)) {
			return fmt.Errorf("%s seconds is out of range", s)
		}
		*d = seconds(time.Duration(n * float64(time.Second)))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration like 30s or 2m, or a number of seconds")
	}
	*d = seconds(v)
	return nil
}

// changedFunc tells which flags the user set explicitly.
type changedFunc interface{ Changed(flag string) bool }

// parseSize reads a byte size: 1024, 512K, 64M, 8G. Empty means unset (-1).
func parseSize(s string) (int64, error) {
	if s == "" {
		return -1, nil
	}
	n, err := bytesize.Parse(s)
	if err != nil {
		return 0, fmt.Errorf("want a size like 512M or 8G")
	}
	return n, nil
}
