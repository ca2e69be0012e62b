package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/volley-test/volley/internal/coverage"
	"github.com/volley-test/volley/internal/protocol"
	"github.com/volley-test/volley/internal/report"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/volley-test/volley/internal/config"
	"github.com/volley-test/volley/internal/discover"
	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/plan"
	"github.com/volley-test/volley/internal/proc"
	"github.com/volley-test/volley/internal/runner"
)

func newTestCmd() *cobra.Command {
	o := defaultRunOptions()
	c := &cobra.Command{
		Use:   "test [flags] [PATH|GLOB|NAME ...]",
		Short: "Run test suites as parallel subprocesses",
		Long: `Run test executables, many at once. Arguments are executables, globs or
directories; other words are name patterns that select tests. Without
executables, the suites of the nearest volley.toml run.`,
		RunE: func(c *cobra.Command, args []string) error {
			return runTests(&o, c.Flags(), args, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	addRunFlags(c.Flags(), &o)
	return c
}

// runTests is `volley test`: discover, plan, run, report.
func runTests(o *runOptions, fs interface{ Changed(string) bool }, args []string, stdout, stderr io.Writer) error {
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	if o.archive != "" {
		p, cleanup, err := extractArchive(o.archive)
		if err != nil {
			return err
		}
		defer cleanup()
		o.configPath = p
	}
	cfg, err := loadConfig(o, cwd)
	if err != nil {
		return err
	}
	if err := applyConfigFlags(o, cfg, fs); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	if o.listSuites {
		return listModules(cfg, cwd, args, o, stdout)
	}
	if err := useOutputDir(o); err != nil {
		return err
	}
	cov, err := startCoverage(o, cfg, stateDir(o, cfg, cwd))
	if err != nil {
		return err
	}
	mem := openMemory(stateDir(o, cfg, cwd), o, stderr)
	// Supervision starts before planning: listing runs test binaries too.
	if err := proc.EnableSubreaper(); err != nil {
		fmt.Fprintf(stderr, "volley: warning: cannot become a child subreaper (%v); daemonized grandchildren will be found by the final sweep only\n", err)
	}
	cookie := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	dog, err := proc.StartWatchdog(cookie)
	if err != nil {
		fmt.Fprintf(stderr, "volley: warning: %v; if volley is killed, its tests' descendants may survive\n", err)
	}
	defer dog.Stop()
	// Listing processes carry the run's mark too.
	listEnv := []string{proc.CookieVar + "=" + cookie + ".list"}
	pl, suites, err := makePlan(o, cfg, cwd, args, mem, listEnv, stderr)
	if err != nil {
		proc.Sweep(cookie)
		return err
	}
	harnessTimeouts(o, suites)
	if pl.Share != "" {
		fmt.Fprintf(stderr, "volley: %s\n", pl.Share)
	}

	// With --json -, standard output carries the event log alone: every
	// line meant for people goes to standard error.
	human := stdout
	if o.reports.json == "-" {
		human = stderr
	}
	live := liveView(o, human)
	var files []*os.File
	var covSum report.CoverageSummary
	rep, reportErrs := openReports(o, human, stdout, stderr, live, &files, &covSum)
	if cov != nil {
		rep = report.Multi(rep, coverageObserver(cov))
	}
	if mem != nil {
		rep = report.Multi(rep, report.Func(mem.observe))
	}

	// INT, TERM, HUP and QUIT all stop the run the same way: running tests
	// are terminated, the summary and the event log are completed, and the
	// exit code is 130 for INT and TERM, 128 + N for HUP and QUIT.
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
	if live {
		defer watchKeys(inspect)()
	}

	ro := runner.Options{
		Jobs: o.jobs, Timeout: o.timeout, Grace: o.grace, MaxFail: o.maxFail,
		Passthrough: o.noCapture, Cookie: cookie, Keep: pl.Keep, Interrupt: sigs, Inspect: inspect,
		Preset: pl.Preset, Retries: o.retries, FlakyFail: o.flakyResult == "fail",
		LeakFail: o.leak == "fail", SlowAfter: o.slowTimeout, NoDiagnose: o.noDiagnose,
	}
	ro.Quarantined = quarantined(stateDir(o, cfg, cwd), cfg)
	if cfg != nil {
		ro.Groups = map[string]int{}
		for name, g := range cfg.Groups {
			ro.Groups[name] = g.Max
		}
	}
	if live {
		ro.Tick = 200 * time.Millisecond
	} else {
		ro.Tick = 5 * time.Second // for the status line of a quiet plain run
	}
	rc, err := dialRemote(o, stderr)
	if err != nil {
		return err
	}
	if cov != nil {
		ro.Env = cov.Env
		ro.ExtraArgs = func(u *protocol.Unit, env []string) []string {
			if u.Suite.Protocol != "gotest" {
				return nil
			}
			if flag, ok := coverage.GoTestFlag(u.Suite.Path, env); ok {
				return []string{flag}
			}
			return nil
		}
	}
	if rc != nil {
		defer rc.Close()
		ro.Remote = rc
		ro.Jobs = o.remote.jobs
	}
	if mem != nil {
		ro.ExpectedRSS = mem.expectedRSS
		budget, _ := parseSize(o.memBudget)
		if budget < 0 {
			budget = availableMemory() / 2
		}
		ro.MemoryBudget = budget
	}
	disp := runner.New(pl.Units, ro, rep.Event)
	stats := disp.Run()
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
	if err := writeShardFiles(o, pl, stateDir(o, cfg, cwd)); err != nil {
		reportErrs = append(reportErrs, fmt.Errorf("output dir: %w", err))
	}
	if rc != nil && o.verbose > 0 {
		st := rc.Stats()
		fmt.Fprintf(stderr, "volley: remote: %d actions, %d bytes in %d blobs uploaded, %d bytes downloaded, %d cache hits, %d retries, %d timed out (%s of action timeouts)\n",
			st.Executions, st.BytesUploaded, st.BlobsUploaded, st.BytesDownloaded, st.CacheHits, st.Retries, st.TimedOut, st.TimeoutSpent)
	}
	if err := disp.Fatal(); err != nil {
		return remoteFailure(err)
	}
	if len(reportErrs) > 0 {
		// Every report error is said, and the run is incomplete whatever
		// the tests did.
		return incomplete(errors.Join(reportErrs...))
	}
	if n := syscall.Signal(first.Load()); stats.Interrupted && (n == syscall.SIGHUP || n == syscall.SIGQUIT) {
		return silent(128 + int(n))
	}
	return outcome(stats)
}

// applyConfigFlags adapts applyConfig to the flag-set interface.
func applyConfigFlags(o *runOptions, cfg *config.File, fs interface{ Changed(string) bool }) error {
	return applyConfig(o, cfg, fs)
}

// outcome maps final statistics to the exit code.
func outcome(s event.Stats) error {
	switch {
	case s.Interrupted:
		return silent(ExitInterrupted)
	case s.Failed > 0:
		return silent(ExitTestsFailed)
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil {
			return wd
		}
	}
	return 0
}

// makePlan discovers the suites and plans the run.
func makePlan(o *runOptions, cfg *config.File, cwd string, args []string, mem *memory, listEnv []string, stderr io.Writer) (*plan.Plan, []*protocol.Suite, error) {
	found, err := discover.Discover(discover.Request{
		Args: args, Config: cfg, Protocol: o.protocol, Cwd: cwd, RunIgnored: o.runIgnored,
		Filter: o.filter, Suites: o.suites,
	})
	if err != nil {
		return nil, nil, usage(err)
	}
	for _, w := range found.Warnings {
		fmt.Fprintf(stderr, "volley: warning: %s\n", w)
	}
	if mem != nil {
		mem.knownCounts(found.Suites, o.jobs)
	}
	nameFilter := o.filter
	if found.Checkout != nil {
		nameFilter = "" // applied to test-file paths by discover
	}
	filter, err := plan.NewFilter(nameFilter, found.Patterns)
	if err != nil {
		return nil, nil, usage(err)
	}
	order, seed, err := parseOrder(o.order)
	if err != nil {
		return nil, nil, usage(err)
	}
	if order == plan.OrderRandom {
		fmt.Fprintf(stderr, "volley: random order, seed %d (rerun with --order random:%d)\n", seed, seed)
	}
	po := plan.Options{Filter: filter, Jobs: o.jobs, Order: order, Seed: seed, ListEnv: listEnv}
	if mem != nil {
		po.Est = estimator{mem}
		po.Cache = mem
		if o.failedOnly {
			po.Select = mem.selectFailed
		}
	} else if o.failedOnly {
		return nil, nil, usage(fmt.Errorf("--failed needs the history of an earlier run, and there is none"))
	}
	part, err := partitionFromEnv(o.partition, stderr)
	if err != nil {
		return nil, nil, usage(err)
	}
	po.Partition = part
	pl, err := plan.Make(context.Background(), found.Suites, po)
	if err != nil {
		return nil, nil, usage(err)
	}
	if len(pl.Units) == 0 && len(pl.Preset) == 0 && po.Partition == nil {
		return nil, nil, usage(fmt.Errorf("no test matches the filter (see volley list)"))
	}
	return pl, found.Suites, nil
}
