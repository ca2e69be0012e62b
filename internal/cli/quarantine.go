package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/volley-test/volley/internal/quarantine"
)

func newQuarantineCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "quarantine",
		Short: "Tests that run but do not fail the run (add, rm, list)",
		Long: `Quarantined tests still run and are reported, separately; their failures do
not fail the run. Names are suite::test, or a suite name for all its tests.
The list lives in the state directory; volley.toml can add more with
quarantine = ["suite::test"].`,
	}
	o := defaultRunOptions()
	edit := func(change func(dir string, names ...string) error) func(*cobra.Command, []string) error {
		return func(c *cobra.Command, args []string) error {
			dir, err := resolveStateDir(&o)
			if err != nil {
				return err
			}
			err = change(dir, args...)
			var nl *quarantine.NotListedError
			if errors.As(err, &nl) {
				return usage(err)
			}
			return err
		}
	}
	add := &cobra.Command{Use: "add NAME...", Short: "Put tests in quarantine", Args: cobra.MinimumNArgs(1), RunE: edit(quarantine.Add)}
	rm := &cobra.Command{Use: "rm NAME...", Short: "Take tests out of quarantine", Args: cobra.MinimumNArgs(1), RunE: edit(quarantine.Remove)}
	list := &cobra.Command{
		Use: "list", Short: "List quarantined tests", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			dir, err := resolveStateDir(&o)
			if err != nil {
				return err
			}
			names, err := quarantine.List(dir)
			if err != nil {
				return err
			}
			for _, id := range names {
				fmt.Fprintln(c.OutOrStdout(), id)
			}
			return nil
		},
	}
	for _, sub := range []*cobra.Command{add, rm, list} {
		stateFlags(sub, &o)
		c.AddCommand(sub)
	}
	return c
}
