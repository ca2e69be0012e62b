package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/volley-test/volley/internal/cache"
)

// stateFlags are the flags of commands that only touch volley's memory.
func stateFlags(c *cobra.Command, o *runOptions) {
	c.Flags().StringVar(&o.stateDir, "state-dir", "", "volley's state directory (default .volley next to volley.toml)")
	c.Flags().StringVar(&o.configPath, "config", "", "read `FILE` instead of the nearest volley.toml")
}

// resolveStateDir finds the state directory as `volley test` would.
func resolveStateDir(o *runOptions) (string, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	cfg, err := loadConfig(o, cwd)
	if err != nil {
		return "", err
	}
	return stateDir(o, cfg, cwd), nil
}

func newCacheCmd() *cobra.Command {
	c := &cobra.Command{Use: "cache", Short: "Inspect or clear the result cache and history"}
	o := defaultRunOptions()
	stats := &cobra.Command{
		Use:   "stats",
		Short: "Show what volley remembers",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			dir, err := resolveStateDir(&o)
			if err != nil {
				return err
			}
			st, warns, err := cache.Open(dir)
			for _, w := range warns {
				fmt.Fprintf(c.ErrOrStderr(), "volley: warning: %s\n", w)
			}
			if err != nil {
				return err
			}
			s := st.Stats()
			w := c.OutOrStdout()
			fmt.Fprintf(w, "state dir  %s\n", s.Dir)
			fmt.Fprintf(w, "runs       %d\n", s.Runs)
			fmt.Fprintf(w, "suites     %d\n", s.Suites)
			fmt.Fprintf(w, "tests      %d (%d cacheable, %d failing)\n", s.Tests, s.Cached, s.Failing)
			fmt.Fprintf(w, "on disk    %d files, %d bytes\n", s.Files, s.Bytes)
			return nil
		},
	}
	stateFlags(stats, &o)
	clean := &cobra.Command{
		Use:   "clean",
		Short: "Forget every cached result and all history",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			dir, err := resolveStateDir(&o)
			if err != nil {
				return err
			}
			if err := cache.Clean(dir); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "volley: cleaned %s\n", dir)
			return nil
		},
	}
	stateFlags(clean, &o)
	c.AddCommand(stats, clean)
	return c
}
