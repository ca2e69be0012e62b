package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/volley-test/volley/internal/config"
	"github.com/volley-test/volley/internal/coverage"
	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/report"
)

// coverageFlags configure --coverage.
type coverageFlags struct {
	on        bool
	output    string
	functions string
	objects   []string
	sources   []string
}

// startCoverage makes the collector that gives every process its own
// coverage destination, or nil when coverage is off. Coverage runs do not
// read the result cache: a cached result has no coverage data, so serving
// it would silently shrink the report.
func startCoverage(o *runOptions, cfg *config.File, state string) (*coverage.Collector, error) {
	if !o.cover.on {
		return nil, nil
	}
	out, fns := o.cover.output, o.cover.functions
	if cfg != nil {
		if out == "" {
			out = cfg.Coverage.Output
		}
		if fns == "" {
			fns = cfg.Coverage.Functions
		}
	}
	if out == "" {
		out = filepath.Join(state, "coverage")
	}
	c, err := coverage.NewCollector(coverage.Options{Dir: out, Functions: fns, Objects: o.cover.objects})
	if err != nil {
		return nil, usage(fmt.Errorf("--coverage: %w", err))
	}
	o.noCache = true
	return c, nil
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
