package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/volley-test/volley/internal/cache"
)

// newHistoryCmd is `volley history`: move the history (durations, outcomes,
// cache entries) between machines. A shard that runs elsewhere needs the
// same durations to cut the same `--partition time:K/N` plan, and its
// history comes back through `volley merge` (OUTDIR/history.json).
func newHistoryCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "history",
		Short: "Export or import the run history (durations, outcomes, cached results)",
		Long: `The history lives in the state directory (.volley/history.json next to
volley.toml). Export it to hand it to other machines; import histories to
merge them into it: per suite the latest recorded run wins, per test the
latest run wins and run counts are not added twice. The history.json that
volley merge writes is such a file: volley history import OUTDIR/history.json
(or, to replace the history outright, cp OUTDIR/history.json .volley/).`,
	}
	o := defaultRunOptions()
	export := &cobra.Command{
		Use:   "export FILE",
		Short: "Write the state directory's history to FILE",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir, err := resolveStateDir(&o)
			if err != nil {
				return err
			}
			if err := cache.Export(dir, args[0]); err != nil {
				return usage(err)
			}
			fmt.Fprintf(c.OutOrStdout(), "volley: exported the history of %s to %s\n", dir, args[0])
			return nil
		},
	}
	stateFlags(export, &o)
	imp := &cobra.Command{
		Use:   "import FILE...",
		Short: "Merge history files (or directories holding history.json) into the state directory",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir, err := resolveStateDir(&o)
			if err != nil {
				return err
			}
			if err := cache.Merge(dir, args...); err != nil {
				return usage(err)
			}
			fmt.Fprintf(c.OutOrStdout(), "volley: merged %d history file(s) into %s\n", len(args), dir)
			return nil
		},
	}
	stateFlags(imp, &o)
	c.AddCommand(export, imp)
	return c
}
