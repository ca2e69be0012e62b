package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/volley-test/volley/internal/config"
	"github.com/volley-test/volley/internal/discover"
	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/plan"
	"github.com/volley-test/volley/internal/proc"
	"github.com/volley-test/volley/internal/report"
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
	pl, err := makePlan(o, cfg, cwd, args, stderr)
	if err != nil {
		return err
	}

	live := isTerminal(stdout) && !o.noCapture
	rep := report.NewTerminal(stdout, report.TermOptions{
		Live:    live,
		Color:   isTerminal(stdout) && os.Getenv("NO_COLOR") == "",
		Verbose: o.verbose,
		Width:   termWidth(stdout),
	})

	if err := proc.EnableSubreaper(); err != nil {
		fmt.Fprintf(stderr, "volley: warning: cannot become a child subreaper (%v); daemonized grandchildren will be found by the final sweep only\n", err)
	}
	cookie := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	dog, err := proc.StartWatchdog(cookie)
	if err != nil {
		fmt.Fprintf(stderr, "volley: warning: %v; if volley is killed, its tests' descendants may survive\n", err)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	ro := runner.Options{
		Jobs: o.jobs, Timeout: o.timeout, Grace: o.grace, MaxFail: o.maxFail,
		Passthrough: o.noCapture, Cookie: cookie, Keep: pl.Keep, Interrupt: sigs,
		Preset: pl.Preset,
	}
	if live {
		ro.Tick = 200 * time.Millisecond
	}
	stats := runner.New(pl.Units, ro, rep.Event).Run()
	for _, pid := range proc.Sweep(cookie) {
		fmt.Fprintf(stderr, "volley: killed leftover process %d\n", pid)
	}
	dog.Stop()
	if err := rep.Close(); err != nil {
		fmt.Fprintf(stderr, "volley: report: %v\n", err)
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
func makePlan(o *runOptions, cfg *config.File, cwd string, args []string, stderr io.Writer) (*plan.Plan, error) {
	found, err := discover.Discover(discover.Request{
		Args: args, Config: cfg, Protocol: o.protocol, Cwd: cwd, RunIgnored: o.runIgnored,
	})
	if err != nil {
		return nil, usage(err)
	}
	filter, err := plan.NewFilter(o.filter, found.Patterns)
	if err != nil {
		return nil, usage(err)
	}
	order, seed, err := parseOrder(o.order)
	if err != nil {
		return nil, usage(err)
	}
	if order == plan.OrderRandom {
		fmt.Fprintf(stderr, "volley: random order, seed %d (rerun with --order random:%d)\n", seed, seed)
	}
	pl, err := plan.Make(context.Background(), found.Suites, plan.Options{
		Filter: filter, Jobs: o.jobs, Order: order, Seed: seed,
	})
	if err != nil {
		return nil, usage(err)
	}
	if len(pl.Units) == 0 && len(pl.Preset) == 0 {
		return nil, usage(fmt.Errorf("no test matches the filter (see volley list)"))
	}
	return pl, nil
}
