package cli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/volley-test/volley/internal/config"
	"github.com/volley-test/volley/internal/event"
)

// quarantineFile holds the tests put in quarantine with `volley quarantine add`.
const quarantineFile = "quarantine.txt"

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
	edit := func(add bool) func(*cobra.Command, []string) error {
		return func(c *cobra.Command, args []string) error {
			dir, err := resolveStateDir(&o)
			if err != nil {
				return err
			}
			set := readQuarantine(dir)
			for _, a := range args {
				if add {
					set[a] = true
				} else if !set[a] {
					return usage(fmt.Errorf("%s is not in quarantine", a))
				} else {
					delete(set, a)
				}
			}
			return writeQuarantine(dir, set)
		}
	}
	add := &cobra.Command{Use: "add NAME...", Short: "Put tests in quarantine", Args: cobra.MinimumNArgs(1), RunE: edit(true)}
	rm := &cobra.Command{Use: "rm NAME...", Short: "Take tests out of quarantine", Args: cobra.MinimumNArgs(1), RunE: edit(false)}
	list := &cobra.Command{
		Use: "list", Short: "List quarantined tests", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			dir, err := resolveStateDir(&o)
			if err != nil {
				return err
			}
			for _, id := range sortedSet(readQuarantine(dir)) {
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

func readQuarantine(dir string) map[string]bool {
	set := map[string]bool{}
	f, err := os.Open(filepath.Join(dir, quarantineFile))
	if err != nil {
		return set
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			set[l] = true
		}
	}
	return set
}

func writeQuarantine(dir string, set map[string]bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# tests in quarantine: they run, but their failures do not fail the run\n")
	for _, id := range sortedSet(set) {
		b.WriteString(id + "\n")
	}
	tmp := filepath.Join(dir, quarantineFile+".tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, quarantineFile))
}

func sortedSet(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// quarantined returns the run's quarantine test, or nil when it is empty.
func quarantined(dir string, cfg *config.File) func(suite, test string) bool {
	set := readQuarantine(dir)
	if cfg != nil {
		for _, q := range cfg.Quarantine {
			set[q] = true
		}
	}
	if len(set) == 0 {
		return nil
	}
	return func(suite, test string) bool { return set[suite] || set[event.ID(suite, test)] }
}
