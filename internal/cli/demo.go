package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/volley-test/volley/internal/fixture"
)

func newDemoCmd() *cobra.Command {
	o := defaultRunOptions()
	var dir string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Build a sample corpus of test suites and run it",
		Long: `Writes a sample corpus of tml suites (a spread of durations, a couple of
failures, a crash and a hang) into a directory and runs it, so you can see
the whole product with nothing else installed.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runDemo(&o, c.Flags(), dir, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	addRunFlags(c.Flags(), &o)
	c.Flags().StringVar(&dir, "dir", "", "write the corpus into `DIR` (default: a new temporary directory)")
	return c
}

func runDemo(o *runOptions, fs changedFunc, dir string, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo: cannot find the volley executable: %w", err)
	}
	if dir == "" {
		dir, err = os.MkdirTemp("", "volley-demo-")
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := fixture.WriteCorpus(dir, exe, fixture.Demo()); err != nil {
		return fmt.Errorf("demo: write corpus: %w", err)
	}
	fmt.Fprintf(stdout, "volley demo: a sample corpus of tml suites in %s\n\n", dir)
	o.configPath = filepath.Join(dir, "volley.toml")
	if !fs.Changed("timeout") {
		o.timeout = 3 * time.Second // the demo's hang should not keep a new user waiting
		o.timeoutSet = true
	}
	err = runTests(o, fs, nil, stdout, stderr)
	fmt.Fprintf(stdout, "\nThe corpus is in %s (failures, a crash and a hang are planted).\nRun it again with:\n  volley test --config %s --timeout %s\n", dir, o.configPath, o.timeout)
	return err
}
