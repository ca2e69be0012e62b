package coverage

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Report is a merged coverage report. coverage.json is its JSON form in
// TML's own schema (see writeJSON).
type Report struct {
	Dir      string             // where the files were written
	Totals   Totals             // function coverage (TML) and run totals
	Modules  map[string]*Module // by module name
	Go       *Toolchain
	LLVM     *Toolchain
	Warnings []string // every problem met, in words
	// Covered lists every covered function name, sorted.
	Covered []string
	// Files are the files written, relative to Dir.
	Files []string

	delta     string
	functions bool     // there is function (TML) coverage
	order     []string // module names in the library's order
	html      string   // the HTML report's file name
}

// Totals are the headline of the function coverage, and the run's.
type Totals struct {
	// LibraryFunctions is the number of functions in the function list, or
	// the number covered when there is no list.
	LibraryFunctions int `json:"library_functions"`
	LibraryCovered   int `json:"library_covered"`
	// CoveragePercent is set only when the full function list is known.
	CoveragePercent *float64 `json:"coverage_percent,omitempty"`
	ModulesFull     int      `json:"modules_full"`
	ModulesPartial  int      `json:"modules_partial"`
	ModulesZero     int      `json:"modules_zero"`
	// TestsPassed counts the passed tests; a TML test file counts its
	// @test functions, as TML's report does.
	TestsPassed int `json:"tests_passed"`
	TestsFailed int `json:"tests_failed"`
	// TestFiles is the number of tests run (a TML test is one file).
	TestFiles int `json:"test_files"`
	// DurationMS is the sum of the tests' durations, as TML gives it.
	DurationMS int64 `json:"duration_ms"`
	// RuntimeCovered counts every covered name, in the library or not.
	RuntimeCovered int `json:"runtime_covered_functions"`
	// Processes is the number of covered-function files merged.
	Processes int `json:"processes"`
	// FailedProcesses counts the merged files written by processes in which
	// a test failed, crashed or timed out; OnlyFromFailed the functions that
	// only such processes covered.
	FailedProcesses int      `json:"failed_processes"`
	OnlyFromFailed  int      `json:"covered_only_by_failed"`
	FailedSuites    []string `json:"failed_suites,omitempty"`
	// NotListed are covered functions missing from the function list; they
	// are not counted.
	NotListed []string `json:"not_in_function_list,omitempty"`
	// CachedResults were served from the result cache: their coverage is
	// not in this report.
	CachedResults int `json:"cached_results,omitempty"`
}

// Module is the coverage of one module.
type Module struct {
	Total     int      `json:"total"`
	Covered   int      `json:"covered"`
	Percent   *float64 `json:"percent,omitempty"` // only with a function list
	Uncovered []string `json:"uncovered"`
}

// Toolchain is the merged coverage of Go or LLVM data.
type Toolchain struct {
	Unit      string   `json:"unit"` // what Total counts: "statements", "lines"
	Total     int      `json:"total"`
	Covered   int      `json:"covered"`
	Percent   float64  `json:"percent"`
	Processes int      `json:"processes"` // processes whose data was merged
	Dropped   int      `json:"dropped"`   // data files that could not be read
	Outputs   []string `json:"outputs"`   // files written, relative to the report's Dir
	// Problem, when set, says why the data found could not be merged.
	Problem string `json:"problem,omitempty"`
}

func (t *Toolchain) line(name string) string {
	if t.Problem != "" {
		return fmt.Sprintf("%s: NOT MERGED: %s", name, t.Problem)
	}
	s := fmt.Sprintf("%s: %.1f%% of %s (%d of %d) from %s", name, t.Percent, t.Unit, t.Covered, t.Total,
		plural(t.Processes, "process", "processes"))
	if t.Dropped > 0 {
		s += ", " + plural(t.Dropped, "unreadable data file", "unreadable data files") + " dropped"

	}
	if len(t.Outputs) > 0 {
		s += " -> " + strings.Join(t.Outputs, ", ")
	}
	return s
}

// hasFunctions reports whether the report has function (TML) coverage.
func (r *Report) hasFunctions() bool { return r.functions }

// Summary is a few lines for the terminal.
func (r *Report) Summary() string {
	var b strings.Builder
	s := &r.Totals
	if r.hasFunctions() {
		if s.CoveragePercent != nil {
			fmt.Fprintf(&b, "coverage: %d of %d functions (%.1f%%); modules: %d full, %d partial, %d zero\n",
				s.LibraryCovered, s.LibraryFunctions, *s.CoveragePercent, s.ModulesFull, s.ModulesPartial, s.ModulesZero)
		} else {
			fmt.Fprintf(&b, "coverage: %s covered in %s (no function list: no percentage)\n",
				plural(s.LibraryCovered, "function", "functions"), plural(len(r.Modules), "module", "modules"))
		}
		if s.FailedProcesses > 0 {
			fmt.Fprintf(&b, "  includes coverage from %s with failed or crashed tests (%s covered only there)\n",
				plural(s.FailedProcesses, "process", "processes"), plural(s.OnlyFromFailed, "function", "functions"))
		}
	}
	if r.Go != nil {
		b.WriteString(r.Go.line("Go") + "\n")
	}
	if r.LLVM != nil {
		b.WriteString(r.LLVM.line("LLVM") + "\n")
	}
	if !r.hasFunctions() && r.Go == nil && r.LLVM == nil {
		b.WriteString("coverage: no process wrote coverage data\n")
	}
	if n := len(r.Warnings); n > 0 {
		fmt.Fprintf(&b, "coverage: %s (in coverage.json)\n", plural(n, "warning", "warnings"))
	}
	if len(r.Files) > 0 {
		main := r.Files[0]
		for _, f := range r.Files {
			if f == r.html {
				main = f
			}
		}
		fmt.Fprintf(&b, "coverage report: %s\n", filepath.Join(r.Dir, main))
	}
	return strings.TrimRight(b.String(), "\n")
}

// Delta says how coverage changed since the previous run in the history;
// a drop is loud: "COVERAGE DROPPED: 81.2% → 79.9% (...)".
func (r *Report) Delta() string { return r.delta }

// fixed is a number written with a fixed count of decimals, as TML's
// report writes percentages.
type fixed struct {
	v      float64
	digits int
}

func (f fixed) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(f.v, 'f', f.digits, 64)), nil
}

// ratio is covered/total in percent, unrounded; 0 for an empty total.
func ratio(covered, total int) float64 {
	if total <= 0 {
		return 0
	}
	return 100 * float64(covered) / float64(total)
}

// The schema of TML's coverage.json (library_coverage_report.cpp), which
// TML's tools read; volley's own facts are under "volley".
type (
	jsonReport struct {
		Summary jsonSummary  `json:"summary"`
		Modules []jsonModule `json:"modules"`
		Volley  jsonVolley   `json:"volley"`
	}
	jsonSummary struct {
		LibraryFunctions int    `json:"library_functions"`
		LibraryCovered   int    `json:"library_covered"`
		CoveragePercent  *fixed `json:"coverage_percent,omitempty"`
		ModulesFull      int    `json:"modules_full"`
		ModulesPartial   int    `json:"modules_partial"`
		ModulesZero      int    `json:"modules_zero"`
		TestsPassed      int    `json:"tests_passed"`
		TestFiles        int    `json:"test_files"`
		DurationMS       int64  `json:"duration_ms"`
	}
	jsonModule struct {
		Name               string   `json:"name"`
		Total              int      `json:"total"`
		Covered            int      `json:"covered"`
		Uncovered          int      `json:"uncovered"`
		Percent            *fixed   `json:"percent,omitempty"`
		UncoveredFunctions []string `json:"uncovered_functions"`
	}
	jsonVolley struct {
		TestsFailed     int        `json:"tests_failed"`
		RuntimeCovered  int        `json:"runtime_covered_functions"`
		Processes       int        `json:"processes"`
		FailedProcesses int        `json:"failed_processes"`
		OnlyFromFailed  int        `json:"covered_only_by_failed"`
		FailedSuites    []string   `json:"failed_suites,omitempty"`
		NotListed       []string   `json:"not_in_function_list,omitempty"`
		CachedResults   int        `json:"cached_results,omitempty"`
		Go              *Toolchain `json:"go,omitempty"`
		LLVM            *Toolchain `json:"llvm,omitempty"`
		Warnings        []string   `json:"warnings"`
	}
)

// jsonModules are the modules with functions, as coverage.json lists them:
// most uncovered functions first, then by name.
func (r *Report) jsonModules() []jsonModule {
	out := []jsonModule{}
	for name, m := range r.Modules {
		if m.Total == 0 {
			continue
		}
		jm := jsonModule{Name: name, Total: m.Total, Covered: m.Covered, Uncovered: m.Total - m.Covered, UncoveredFunctions: m.Uncovered}
		if m.Percent != nil {
			jm.Percent = &fixed{ratio(m.Covered, m.Total), 1}
		}
		out = append(out, jm)
	}
	slices.SortFunc(out, func(a, b jsonModule) int {
		return cmp.Or(cmp.Compare(b.Uncovered, a.Uncovered), strings.Compare(a.Name, b.Name))
	})
	return out
}

func (r *Report) writeJSON(w io.Writer) error {
	s := &r.Totals
	j := jsonReport{
		Summary: jsonSummary{
			LibraryFunctions: s.LibraryFunctions, LibraryCovered: s.LibraryCovered,
			ModulesFull: s.ModulesFull, ModulesPartial: s.ModulesPartial, ModulesZero: s.ModulesZero,
			TestsPassed: s.TestsPassed, TestFiles: s.TestFiles, DurationMS: s.DurationMS,
		},
		Modules: r.jsonModules(),
		Volley: jsonVolley{
			TestsFailed: s.TestsFailed, RuntimeCovered: s.RuntimeCovered, Processes: s.Processes,
			FailedProcesses: s.FailedProcesses, OnlyFromFailed: s.OnlyFromFailed, FailedSuites: s.FailedSuites,
			NotListed: s.NotListed, CachedResults: s.CachedResults, Go: r.Go, LLVM: r.LLVM, Warnings: r.Warnings,
		},
	}
	if s.CoveragePercent != nil {
		j.Summary.CoveragePercent = &fixed{ratio(s.LibraryCovered, s.LibraryFunctions), 2}
	}
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	e.SetEscapeHTML(false)
	return e.Encode(j)
}
