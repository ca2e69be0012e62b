package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/volley-test/volley/internal/discover"
	"github.com/volley-test/volley/internal/testrun"
)

func newListCmd() *cobra.Command {
	o := defaultRunOptions()
	var asJSON bool
	c := &cobra.Command{
		Use:   "list [flags] [PATH|GLOB|NAME ...]",
		Short: "List the suites (and, where the harness can tell, the tests) a run would take",
		RunE: func(c *cobra.Command, args []string) error {
			return listSuites(&o, c.Flags(), args, asJSON, c.OutOrStdout())
		},
	}
	fs := c.Flags()
	fs.StringVar(&o.filter, "filter", "", "list only tests whose name (suite::test) matches `REGEX`")
	fs.StringVar(&o.protocol, "protocol", "", "treat every executable as speaking this protocol")
	fs.StringVar(&o.configPath, "config", "", "read `FILE` instead of the nearest volley.toml")
	fs.StringVar(&o.profile, "profile", "", "apply [profile.`NAME`] of volley.toml")
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	fs.BoolVar(&o.failedOnly, "failed", false, "list only the last run's failures (plus tests never seen)")
	fs.StringVar(&o.stateDir, "state-dir", "", "volley's state directory (default .volley next to volley.toml)")
	return c
}

// listedSuite is one line of `volley list --json`.
type listedSuite struct {
	Name     string   `json:"name"`
	Protocol string   `json:"protocol"`
	Path     string   `json:"path"`
	Tests    []string `json:"tests,omitempty"`
}

func listSuites(o *runOptions, fs changedFunc, args []string, asJSON bool, w io.Writer) error {
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	cfg, err := loadConfig(o, cwd)
	if err != nil {
		return err
	}
	if err := applyConfig(o, cfg, fs); err != nil {
		return err
	}
	pl, err := testrun.Plan(o.config(cfg, cwd), args, os.Stderr)
	if err != nil {
		return runError(err)
	}
	var out []listedSuite
	seen := map[string]int{}
	for _, u := range pl.Units {
		i, ok := seen[u.Suite.Path]
		if !ok {
			i = len(out)
			seen[u.Suite.Path] = i
			out = append(out, listedSuite{Name: u.Suite.Name, Protocol: u.Suite.Protocol, Path: u.Suite.Path})
		}
		out[i].Tests = append(out[i].Tests, u.Tests...)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, s := range out {
		tests := "tests known when run"
		if len(s.Tests) > 0 {
			tests = fmt.Sprintf("%d tests", len(s.Tests))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Protocol, tests, s.Path)
		for _, t := range s.Tests {
			fmt.Fprintf(tw, "  %s\t\t\t\n", t)
		}
	}
	return tw.Flush()
}

// listModules is `volley test --list-suites`: the test modules of a TML
// checkout, as `tml test --list-suites` prints them, with what --suite
// selects each one.
func listModules(cwd string, w io.Writer) error {
	ck, err := discover.FindCheckout(cwd)
	if err != nil {
		return usage(err)
	}
	if ck == nil {
		return usage(fmt.Errorf("--list-suites lists the test modules of a TML checkout, and there is none here (volley list shows what volley would run)"))
	}
	mods := ck.Modules()
	fmt.Fprintf(w, "Available test suites (%d files) in %s:\n\n", len(ck.Files), ck.Root)
	for i := 0; i < len(mods); {
		j, files, tests := i, 0, 0
		for ; j < len(mods) && mods[j].Lib == mods[i].Lib; j++ {
			files += mods[j].Files
			tests += mods[j].Tests
		}
		fmt.Fprintf(w, "%s  (%d modules, %d files, %d tests)\n", mods[i].Lib, j-i, files, tests)
		for _, m := range mods[i:j] {
			fmt.Fprintf(w, "  --suite=%s/%s  (%d files, %d tests", m.Lib, m.Name, m.Files, m.Tests)
			if m.NotBuilt > 0 {
				fmt.Fprintf(w, ", %d not built", m.NotBuilt)
			}
			fmt.Fprintln(w, ")")
		}
		i = j
	}
	fmt.Fprintf(w, "\nUsage: volley test --suite=core/str --no-cache\n")
	return nil
}
