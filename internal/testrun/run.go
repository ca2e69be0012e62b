package testrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/volley-test/volley/internal/coverage"
	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/proc"
	"github.com/volley-test/volley/internal/protocol"
	"github.com/volley-test/volley/internal/quarantine"
	"github.com/volley-test/volley/internal/remote"
	"github.com/volley-test/volley/internal/report"
	"github.com/volley-test/volley/internal/runner"
	"github.com/volley-test/volley/internal/tty"
)

// Outcome is how a run that completed went.
type Outcome struct {
	Stats event.Stats
	// Signal is the first of INT, TERM, HUP and QUIT that stopped the run;
	// 0 when none came.
	Signal syscall.Signal
}

// Run is `volley test` with args (executables, globs, directories, name
// patterns): discover, plan, run, report. The reports and the summary go
// to stdout, warnings to stderr (with the event log on standard output,
// --json -, every line meant for people goes to stderr).
//
// INT, TERM, HUP and QUIT all stop the run the same way: running tests are
// terminated, the summary and the event log are completed, and Run returns
// with Stats.Interrupted and the Signal. An error that kept the run from
// happening or completing is an *Error, when its Kind is known.
func Run(c Config, args []string, stdout, stderr io.Writer) (Outcome, error) {
	tightHeap()
	if err := useOutputDir(&c); err != nil {
		return Outcome{}, err
	}
	cov, err := startCoverage(&c)
	if err != nil {
		return Outcome{}, err
	}
	mem := openMemory(&c, stderr)
	// Supervision starts before planning: listing runs test binaries too.
	if err := proc.EnableSubreaper(); err != nil {
		fmt.Fprintf(stderr, "volley: warning: cannot become a child subreaper (%v); daemonized grandchildren will be found by the final sweep only\n", err)
	}
	defer proc.CloseIdle() // the supervisors kept for reuse end with the run
	cookie := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	dog, err := proc.StartWatchdog(cookie)
	if err != nil {
		fmt.Fprintf(stderr, "volley: warning: %v; if volley is killed, its tests' descendants may survive\n", err)
	}
	defer dog.Stop()
	// Listing processes carry the run's mark too.
	listEnv := []string{proc.CookieVar + "=" + cookie + ".list"}
	pl, suites, err := makePlan(&c, args, mem, listEnv, stderr)
	if err != nil {
		proc.Sweep(cookie)
		return Outcome{}, err
	}
	harnessTimeouts(&c, suites)
	if pl.Share != "" {
		fmt.Fprintf(stderr, "volley: %s\n", pl.Share)
	}

	human := stdout
	if c.Reports.JSON == "-" {
		human = stderr
	}
	live := liveView(&c, human)
	var files []*os.File
	var covSum report.CoverageSummary
	rep, reportErrs := openReports(&c, human, stdout, stderr, live, &files, &covSum)
	if cov != nil {
		rep = report.Multi(rep, coverageObserver(cov))
	}
	if mem != nil {
		rep = report.Multi(rep, report.Func(mem.observe))
	}

	caught := make(chan os.Signal, 4)
	signal.Notify(caught, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(caught)
	sigs := make(chan os.Signal, 4)
	var first atomic.Int32
	go func() {
		for sig := range caught {
			if n, ok := sig.(syscall.Signal); ok {
				first.CompareAndSwap(0, int32(n))
			}
			sigs <- sig
		}
	}()
	inspect := make(chan os.Signal, 1)
	signal.Notify(inspect, syscall.SIGUSR1)
	defer signal.Stop(inspect)
	// A person at the terminal presses `t` to list the running tests.
	var keys *tty.Keys
	if live {
		keys = tty.WatchKeys(os.Stdin, func(b byte) {
			if b == 't' || b == 'T' {
				select {
				case inspect <- syscall.SIGUSR1:
				default:
				}
			}
		})
		defer keys.Close()
	}
	// Ctrl-Z: the dispatcher stops the running tests, then volley stops
	// itself, the terminal put back first; fg continues it, and it
	// continues the tests.
	suspend := make(chan os.Signal, 1)
	signal.Notify(suspend, syscall.SIGTSTP)
	defer signal.Stop(suspend)
	stop := func() {
		keys.Pause()
		tty.StopSelf()
		keys.Resume()
	}

	ro := runner.Options{
		Jobs: c.Jobs, Timeout: c.Timeout, Grace: c.Grace, MaxFail: c.MaxFail,
		Passthrough: c.NoCapture, Cookie: cookie, Keep: pl.Keep, Interrupt: sigs, Inspect: inspect,
		Suspend: suspend, Stop: stop,
		Preset: pl.Preset, Retries: c.Retries, FlakyFail: c.FlakyFail,
		LeakFail: c.LeakFail, SlowAfter: c.SlowTimeout, NoDiagnose: c.NoDiagnose,
	}
	ro.Quarantined = quarantined(&c, stderr)
	if c.File != nil {
		ro.Groups = map[string]int{}
		for name, g := range c.File.Groups {
			ro.Groups[name] = g.Max
		}
	}
	if live {
		ro.Tick = 200 * time.Millisecond
	} else {
		// For the status line of a quiet plain run, and so that the event
		// log, which batches a test's lines, is never more than a second late.
		ro.Tick = time.Second
	}
	rc, err := dialRemote(&c, stderr)
	if err != nil {
		return Outcome{}, err
	}
	if cov != nil {
		ro.Env = cov.Env
		ro.ExtraArgs = goCoverArgs
	}
	if rc != nil {
		defer rc.Close()
		ro.Executor = &remote.Executor{Runner: rc}
		ro.Jobs = c.Remote.Jobs
	}
	if mem != nil {
		ro.ExpectedRSS = mem.expectedRSS
		ro.MemoryBudget = memoryBudget(c.MemoryBudget)
	}
	disp := runner.New(pl.Units, ro, rep.Event)
	restore := func() {}
	if rc == nil {
		restore = oneProcessor()
	}
	stats := disp.Run(context.Background())
	restore()
	for _, pid := range proc.Sweep(cookie) {
		fmt.Fprintf(stderr, "volley: killed leftover process %d\n", pid)
	}
	for _, l := range proc.KillAdopted() {
		fmt.Fprintf(stderr, "volley: killed leftover process %s (it had dropped volley's environment mark)\n", l)
	}
	dog.Stop()
	if mem != nil {
		if err := mem.save(suites); err != nil {
			fmt.Fprintf(stderr, "volley: warning: cannot save history: %v\n", err)
		}
	}
	if cov != nil {
		if err := finishCoverage(cov, human, &covSum); err != nil {
			reportErrs = append(reportErrs, err)
		}
	}
	if err := rep.Close(); err != nil {
		reportErrs = append(reportErrs, fmt.Errorf("report: %w", err))
	}
	for _, f := range files {
		if err := f.Close(); err != nil {
			reportErrs = append(reportErrs, fmt.Errorf("report %s: %w", f.Name(), err))
		}
	}
	if err := writeShardFiles(&c, pl); err != nil {
		reportErrs = append(reportErrs, fmt.Errorf("output dir: %w", err))
	}
	if rc != nil && c.Verbose > 0 {
		st := rc.Stats()
		fmt.Fprintf(stderr, "volley: remote: %d actions, %d bytes in %d blobs uploaded, %d bytes downloaded, %d cache hits, %d retries, %d timed out (%s of action timeouts)\n",
			st.Executions, st.BytesUploaded, st.BlobsUploaded, st.BytesDownloaded, st.CacheHits, st.Retries, st.TimedOut, st.TimeoutSpent)
	}
	if err := disp.Fatal(); err != nil {
		return Outcome{}, remoteFailure(err)
	}
	if len(reportErrs) > 0 {
		// Every report error is said, and the run is incomplete whatever
		// the tests did.
		return Outcome{}, incomplete(errors.Join(reportErrs...))
	}
	return Outcome{Stats: stats, Signal: syscall.Signal(first.Load())}, nil
}

// oneProcessor runs the Go scheduler on one processor until restore is
// called, unless GOMAXPROCS is set in the environment. While local tests
// run, volley's own work is reading lines from pipes and handing each from
// the goroutine that parsed it to the dispatcher and the reporters; with
// more than one processor every handoff wakes another thread (a futex
// wake, a context switch, and the idle thread's sleep after), which costs
// more than the line's parsing: on a TAP suite printing results one at a
// time, volley's CPU per line fell by a quarter to two fifths on one
// processor (bench/harness.sh (c)). The tests themselves are other
// processes and keep every CPU.
func oneProcessor() (restore func()) {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	runtime.GOMAXPROCS(1)
	// Back to the runtime's own choice, which follows the CPU limit.
	return runtime.SetDefaultGOMAXPROCS
}

// tightHeap has the collector run at 80% heap growth instead of 100%
// (unless GOGC is set) for the rest of the run. A run's heap is mostly what
// it remembers of every test; on one processor (oneProcessor) the collector
// marks with a fraction of it while the dispatcher goes on allocating, and
// the heap overshoots its goal by more: a run of 100,000 results with
// history peaked at 123-141 MB, against 113-118 MB before the change to
// one processor (bench/faults.sh (d)).
func tightHeap() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(80)
	}
}

// goCoverArgs are the extra arguments of a coverage run's process: a Go
// test binary built with -cover gets the flag coverage.GoTestFlag gives
// it; other harnesses none.
func goCoverArgs(u *protocol.Unit, env []string) []string {
	if u.Suite.Protocol != "gotest" {
		return nil
	}
	if flag, ok := coverage.GoTestFlag(u.Suite.Path, env); ok {
		return []string{flag}
	}
	return nil
}

// memoryBudget is the run's memory budget in bytes: the one given, or by
// default (negative) half of the memory available now; 0 is none.
func memoryBudget(given int64) int64 {
	if given < 0 {
		return availableMemory() / 2
	}
	return given
}

// quarantined returns the run's quarantine test, or nil when it is empty.
// An unreadable list is warned about and left out.
func quarantined(c *Config, stderr io.Writer) func(suite, test string) bool {
	var extra []string
	if c.File != nil {
		extra = c.File.Quarantine
	}
	m, err := quarantine.Matcher(c.StateDir, extra)
	if err != nil {
		fmt.Fprintf(stderr, "volley: warning: %v; running without the quarantine list\n", err)
	}
	return m
}
