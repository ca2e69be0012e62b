package cli

import (
	"errors"
	"io"
	"os"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/testrun"
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

// runTests is `volley test`: the options resolved (flags over volley.toml
// and its profile), the run (testrun.Run), its outcome as an exit code.
func runTests(o *runOptions, fs changedFunc, args []string, stdout, stderr io.Writer) error {
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
	if err := applyConfig(o, cfg, fs); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	if o.listSuites {
		return listModules(cwd, stdout)
	}
	out, err := testrun.Run(o.config(cfg, cwd), args, stdout, stderr)
	if err != nil {
		return runError(err)
	}
	// A run stopped by HUP or QUIT exits 128 + N; by INT or TERM, 130.
	if n := out.Signal; out.Stats.Interrupted && (n == syscall.SIGHUP || n == syscall.SIGQUIT) {
		return silent(128 + int(n))
	}
	return outcome(out.Stats)
}

// runError gives an error of the run (testrun) its exit code.
func runError(err error) error {
	var te *testrun.Error
	if errors.As(err, &te) {
		switch te.Kind {
		case testrun.Usage:
			return usage(te.Err)
		case testrun.Incomplete:
			return incomplete(te.Err)
		}
	}
	return err
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
