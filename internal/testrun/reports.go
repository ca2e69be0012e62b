package testrun

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/volley-test/volley/internal/report"
	"github.com/volley-test/volley/internal/tty"
)

// openReports builds the reporters a run feeds: the terminal, plus every
// file report asked for. A report file that cannot be created is a warning
// (the run still happens) and a failed report at the end.
func openReports(c *Config, human, stdout, stderr io.Writer, live bool, files *[]*os.File, cov *report.CoverageSummary) (report.Reporter, []error) {
	verbose := c.Verbose
	switch c.Reports.Format {
	case "line":
		verbose = max(verbose, 1)
	case "verbose":
		verbose = max(verbose, 2)
	}
	term := report.NewTerminal(human, report.TermOptions{
		Live:    live,
		Color:   tty.IsTerminal(human) && os.Getenv("NO_COLOR") == "" && !c.NoColor,
		Verbose: verbose,
		Slowest: c.Reports.Slowest,
		Size:    func() (int, int) { return tty.Size(human) },
	})
	rs := []report.Reporter{term}
	var errs []error
	open := func(path, what string, mk func(io.Writer) report.Reporter) {
		if path == "" {
			return
		}
		if path == "-" {
			rs = append(rs, mk(stdout))
			return
		}
		if dir := filepath.Dir(path); dir != "" {
			_ = os.MkdirAll(dir, 0o755)
		}
		f, err := os.Create(path)
		if err != nil {
			err = fmt.Errorf("cannot write the %s report: %v (choose a writable path)", what, err)
			fmt.Fprintf(stderr, "volley: warning: %v\n", err)
			errs = append(errs, err)
			return
		}
		*files = append(*files, f)
		rs = append(rs, mk(f))
	}
	open(c.Reports.JUnit, "JUnit", report.NewJUnit)
	open(c.Reports.JSON, "event log", report.NewJSON)
	open(c.Reports.HTML, "HTML", func(w io.Writer) report.Reporter {
		return report.NewHTML(w, report.HTMLOptions{Coverage: cov, Slowest: c.Reports.Slowest})
	})
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		rs = append(rs, report.NewAnnotations(human))
	}
	return report.Multi(rs...), errs
}

// liveView decides whether to draw the live area.
func liveView(c *Config, stdout io.Writer) bool {
	switch c.Reports.Format {
	case "live":
		return true
	case "plain", "line", "verbose":
		return false
	}
	return tty.IsTerminal(stdout) && !c.NoCapture
}
