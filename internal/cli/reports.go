package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/volley-test/volley/internal/report"
)

// reportFlags are the report destinations of a run.
type reportFlags struct {
	junit   string
	json    string
	html    string
	format  string
	slowest int
}

// openReports builds the reporters a run feeds: the terminal, plus every
// file report asked for. A report file that cannot be created is a warning
// (the run still happens) and a failed report at the end.
func openReports(o *runOptions, stdout, stderr io.Writer, live bool, files *[]*os.File, cov *report.CoverageSummary) (report.Reporter, []error) {
	verbose := o.verbose
	switch o.reports.format {
	case "line":
		verbose = max(verbose, 1)
	case "verbose":
		verbose = max(verbose, 2)
	}
	term := report.NewTerminal(stdout, report.TermOptions{
		Live:    live,
		Color:   isTerminal(stdout) && os.Getenv("NO_COLOR") == "" && !o.noColor,
		Verbose: verbose,
		Width:   termWidth(stdout),
		Slowest: o.reports.slowest,
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
	open(o.reports.junit, "JUnit", report.NewJUnit)
	open(o.reports.json, "event log", report.NewJSON)
	open(o.reports.html, "HTML", func(w io.Writer) report.Reporter {
		return report.NewHTML(w, report.HTMLOptions{Coverage: cov, Slowest: o.reports.slowest})
	})
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		rs = append(rs, report.NewAnnotations(stdout))
	}
	return report.Multi(rs...), errs
}

// liveView decides whether to draw the live area.
func liveView(o *runOptions, stdout io.Writer) bool {
	switch o.reports.format {
	case "live":
		return true
	case "plain", "line", "verbose":
		return false
	}
	return isTerminal(stdout) && !o.noCapture && o.reports.json != "-"
}
