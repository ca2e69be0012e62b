package testrun

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/volley-test/volley/internal/coverage"
	"github.com/volley-test/volley/internal/discover"
	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/report"
)

// startCoverage makes the collector that gives every process its own
// coverage destination, or nil when coverage is off. Coverage runs do not
// read the result cache: a cached result has no coverage data, so serving
// it would silently shrink the report.
func startCoverage(c *Config) (*coverage.Collector, error) {
	if !c.Coverage.On {
		return nil, nil
	}
	cfg := c.File
	root := ""
	if cfg == nil {
		root = discover.CheckoutRoot(c.Cwd)
	}
	out, fns, html := c.Coverage.Output, c.Coverage.Functions, ""
	if strings.HasSuffix(out, ".html") {
		// As in TML: --coverage-output=FILE.html names the HTML report;
		// coverage.json-like FILE.json and the history go beside it.
		out, html = filepath.Dir(out), filepath.Base(out)
	}
	if cfg != nil {
		if out == "" {
			out = cfg.Coverage.Output
		}
		if fns == "" && len(c.Coverage.Sources) == 0 {
			fns = cfg.Coverage.Functions
		}
	}
	if out == "" && root != "" {
		out = filepath.Join(root, "build", "coverage") // where TML's tools look
	}
	if out == "" {
		out = filepath.Join(c.StateDir, "coverage")
	}
	sources := c.Coverage.Sources
	if len(sources) == 0 && c.Coverage.Functions == "" && cfg != nil {
		sources = cfg.Coverage.Sources // with functions too: NewCollector says to choose
	}
	if len(sources) == 0 && fns == "" && root != "" {
		for _, d := range []string{"lib/core", "lib/std", "lib/test"} {
			if st, err := os.Stat(filepath.Join(root, d)); err == nil && st.IsDir() {
				sources = append(sources, filepath.Join(root, d))
			}
		}
	}
	co := coverage.Options{Dir: out, Functions: fns, Objects: c.Coverage.Objects, Sources: sources, HTMLName: html, NoCache: c.NoCache}
	if root != "" {
		co.TestCount = tmlTestCount(root)
	}
	col, err := coverage.NewCollector(co)
	if err != nil {
		return nil, usage(fmt.Errorf("--coverage: %w", err))
	}
	c.NoCache = true
	return col, nil
}

// coverageObserver feeds the collector every final result.
func coverageObserver(c *coverage.Collector) report.Reporter {
	return report.Func(func(e *event.Event) {
		if e.Kind == event.TestEnd && e.Result != nil && !e.Result.Retrying {
			c.Observe(e.Result)
		}
	})
}

// finishCoverage merges the coverage of every process and prints the
// summary and the change since the last run. It fills sum for the HTML
// report.
func finishCoverage(c *coverage.Collector, w io.Writer, sum *report.CoverageSummary) error {
	rep, err := c.Merge(context.Background())
	if err != nil {
		return fmt.Errorf("coverage: %w", err)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, strings.TrimRight(rep.Summary(), "\n")+"\n")
	if d := rep.Delta(); d != "" {
		fmt.Fprintln(w, d)
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintf(w, "volley: coverage warning: %s\n", warn)
	}
	fmt.Fprintf(w, "coverage reports in %s\n", rep.Dir)
	t := rep.Totals
	sum.Covered, sum.Total = t.LibraryCovered, t.LibraryFunctions
	if t.CoveragePercent != nil {
		sum.Percent = *t.CoveragePercent
	} else if t.LibraryFunctions > 0 {
		sum.Percent = 100 * float64(t.LibraryCovered) / float64(t.LibraryFunctions)
	}
	return nil
}

// tmlTestCount weighs a passed test of a TML checkout by its @test
// functions, as TML's report counts tests: the test is named by its file,
// or by its index in its suite.
func tmlTestCount(root string) func(suite, test string) int {
	var once sync.Once
	var ck *discover.Checkout
	return func(suite, test string) int {
		if filepath.IsLocal(test) && strings.HasSuffix(test, ".tml") {
			return discover.CountTests(filepath.Join(root, test))
		}
		i, err := strconv.Atoi(test)
		if err != nil {
			return 1
		}
		once.Do(func() { ck, _ = discover.FindCheckout(root) })
		if ck == nil {
			return 1
		}
		if files := ck.FilesOf(suite); i >= 0 && i < len(files) {
			return discover.CountTests(filepath.Join(root, files[i]))
		}
		return 1
	}
}
