package cli

import (
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
	found, err := discover.Discover(discover.Request{Args: args, Config: cfg, Protocol: o.protocol, Cwd: cwd})
	if err != nil {
		return usage(err)
	}
	filter, err := plan.NewFilter(o.filter, found.Patterns)
	if err != nil {
		return usage(err)
	}
	units, keep, err := plan.Units(found.Suites, filter)
	if err != nil {
		return usage(err)
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
		Passthrough: o.noCapture, Cookie: cookie, Keep: keep, Interrupt: sigs,
	}
	if live {
		ro.Tick = 200 * time.Millisecond
	}
	stats := runner.New(units, ro, rep.Event).Run()
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
