package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/volley-test/volley/internal/shard"
)

// DefaultMergeDir is where `volley merge` writes without -o.
const DefaultMergeDir = "volley-merged"

func newMergeCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "merge [-o OUTDIR] DIR...",
		Short: "Combine the --output-dir directories of shards into one report",
		Long: `Merge the output directories of sharded runs (volley test --partition K/N
--output-dir DIR) into OUTDIR: events.json (every shard's event log, one after
another), junit.xml (rebuilt from the logs' results, reruns included),
history.json (the shards' histories merged: copy it to .volley/ or run
volley history import OUTDIR/history.json) and, when shards wrote DIR/coverage,
the merged coverage in OUTDIR/coverage.

It fails (exit 2, naming the tests) when the shards do not add up to the plan:
a test run by two shards, or a planned test reported by none; the merged files
are still written, for inspection. Otherwise it prints the merged summary and
exits 1 if a test failed, like volley test. Results every shard reports without
running them (cached, ignored) count once.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runMerge(out, args, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	c.Flags().StringVarP(&out, "output", "o", DefaultMergeDir, "write the merged files into `OUTDIR`")
	return c
}

// runMerge is `volley merge`.
func runMerge(out string, dirs []string, stdout, stderr io.Writer) error {
	m, err := shard.Merge(out, dirs, stdout, stderr)
	if err != nil {
		return usage(err)
	}
	if len(m.Problems) > 0 {
		return usage(fmt.Errorf("merge: the shards do not add up to the plan:\n  %s", strings.Join(m.Problems, "\n  ")))
	}
	if m.Err != nil {
		return usage(m.Err)
	}
	return outcome(m.Stats)
}
