package coverage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/fixture"
	"github.com/volley-test/volley/internal/protocol"
)

// tmlSuites are fake tml suites: name -> tests, each the actions it runs.
var tmlSuites = []struct {
	name  string
	tests [][]string
}{
	{"parser_test", [][]string{
		{fixture.Cover("parser::parse_expr", "parser::parse_stmt")},
		{fixture.Cover("parser::parse_stmt", "parser::only_when_failing"), fixture.Fail},
		{fixture.Cover("util::intern")},
	}},
	{"lexer_test", [][]string{
		{fixture.Cover("lexer::scan", "lexer::peek")},
		{fixture.Cover("lexer::skip_comment")},
		{fixture.Cover("top_level")},
		{fixture.Cover("lexer::types::unicode")},
	}},
	{"codegen_test", [][]string{
		{fixture.Cover("codegen::emit")},
		{fixture.Cover("codegen::emit")}, // a TML file that returns always writes the file
	}},
}

// writeTMLSuites lays the suites out in dir and returns their paths.
func writeTMLSuites(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	for _, s := range tmlSuites {
		b := fixture.NewSpec(fixture.TML)
		for _, acts := range s.tests {
			b.Test(acts...)
		}
		p, err := fixture.WriteSuite(dir, s.name, fixtureExe, b.String())
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// TestTMLPerTestEqualsWholeSuite is the accuracy test: the same suites run
// once a test per process and once whole (--run-all, then the tests after
// a failure one by one, as volley runs them), each process with its own
// file, give the same merged set of covered functions: the union of what
// the passing tests cover (a failing TML test file writes nothing).
func TestTMLPerTestEqualsWholeSuite(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	paths := writeTMLSuites(t, tmp)
	funcs := filepath.Join(tmp, "functions.txt")
	all := "# every function\nparser::parse_expr\nparser::parse_stmt\nparser::only_when_failing\nparser::unused\n" +
		"util::intern\nlexer::scan\nlexer::peek\nlexer::skip_comment\nlexer::types::unicode\nlexer::dead\n" +
		"top_level\ncodegen::emit\ncodegen::unused\nnever::called\n"
	if err := os.WriteFile(funcs, []byte(all), 0o644); err != nil {
		t.Fatal(err)
	}

	// One process per test, as volley runs a listable tml suite.
	per, err := NewCollector(Options{Dir: filepath.Join(tmp, "per-test"), Functions: funcs})
	if err != nil {
		t.Fatal(err)
	}
	id := 0
	for si, path := range paths {
		s := &protocol.Suite{Name: tmlSuites[si].name, Path: path, Protocol: "tml"}
		for i := 0; ; i++ {
			id++
			env, done := per.Env(protocol.TMLIndexUnit(s, i), id)
			code, out := run(t, tmp, childEnv(env...), path, protocol.TMLIndexFlag+strconv.Itoa(i))
			done()
			if code == protocol.TMLExitBadIndex {
				break
			}
			st := map[int]event.Status{0: event.Pass, 1: event.Fail}[code]
			if st == 0 {
				t.Fatalf("%s test %d: exit %d: %s", s.Name, i, code, out)
			}
			per.Observe(&event.Result{Suite: s.Name, Test: strconv.Itoa(i), Status: st, Proc: id})
		}
	}
	perReport := mustMerge(t, per)

	// Whole suites, each in its own process; after a failure the tests
	// after the failing one run alone.
	whole, err := NewCollector(Options{Dir: filepath.Join(tmp, "whole"), Functions: funcs})
	if err != nil {
		t.Fatal(err)
	}
	id = 0
	for si, path := range paths {
		s := &protocol.Suite{Name: tmlSuites[si].name, Path: path, Protocol: "tml"}
		id++
		env, done := whole.Env(unit(s.Name, path, "tml", ""), id)
		code, out := run(t, tmp, childEnv(env...), path, protocol.TMLRunAll)
		done()
		if code > 1 {
			t.Fatalf("%s --run-all: exit %d: %s", path, code, out)
		}
		if code == 0 {
			continue
		}
		next := strings.Count(out, "TML_RESULT:") + 1 // the failing test is the first without a line
		for i := next; i < len(tmlSuites[si].tests); i++ {
			id++
			env, done := whole.Env(protocol.TMLIndexUnit(s, i), id)
			run(t, tmp, childEnv(env...), path, protocol.TMLIndexFlag+strconv.Itoa(i))
			done()
		}
	}
	wholeReport := mustMerge(t, whole)

	var want []string
	for _, s := range tmlSuites {
		for _, acts := range s.tests {
			if slices.Contains(acts, fixture.Fail) {
				continue
			}
			for _, a := range acts {
				if names, ok := strings.CutPrefix(a, "cover="); ok {
					want = append(want, strings.Split(names, ",")...)
				}
			}
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	if !slices.Equal(perReport.Covered, wholeReport.Covered) {
		t.Errorf("per-test covered %q\nwhole-suite covered %q", perReport.Covered, wholeReport.Covered)
	}
	if !slices.Equal(perReport.Covered, want) {
		t.Errorf("covered %q, want %q", perReport.Covered, want)
	}
	if len(perReport.Warnings) != 0 || len(wholeReport.Warnings) != 0 {
		t.Errorf("warnings: %q %q", perReport.Warnings, wholeReport.Warnings)
	}

	// The per-test report, as coverage.json has it.
	b, err := os.ReadFile(filepath.Join(per.Dir(), JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Summary map[string]any `json:"summary"`
		Modules []struct {
			Name               string   `json:"name"`
			Total              int      `json:"total"`
			Covered            int      `json:"covered"`
			Uncovered          int      `json:"uncovered"`
			Percent            *float64 `json:"percent"`
			UncoveredFunctions []string `json:"uncovered_functions"`
		} `json:"modules"`
		Volley map[string]any `json:"volley"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	// TML's summary, exactly its fields.
	sum := j.Summary
	for k, v := range map[string]float64{
		"library_functions": 14, "library_covered": 9, "coverage_percent": 64.29,
		"modules_full": 2, "modules_partial": 3, "modules_zero": 1, // util, (none) full; never zero
		"tests_passed": 8, "test_files": 9,
	} {
		if sum[k] != v {
			t.Errorf("summary %s = %v, want %v", k, sum[k], v)
		}
	}
	if _, ok := sum["duration_ms"]; !ok || len(sum) != 9 {
		t.Errorf("summary %v: want TML's 9 fields", sum)
	}
	if !strings.Contains(string(b), `"coverage_percent": 64.29,`) || !strings.Contains(string(b), `"percent": 80.0,`) {
		t.Errorf("percentages not written as TML writes them:\n%s", b)
	}
	for k, v := range map[string]float64{"tests_failed": 1, "processes": 8, "failed_processes": 0, "covered_only_by_failed": 0} {
		if j.Volley[k] != v {
			t.Errorf("volley %s = %v, want %v", k, j.Volley[k], v)
		}
	}
	// Modules: an array, most uncovered first, then by name.
	var order []string
	for _, m := range j.Modules {
		order = append(order, m.Name)
		switch m.Name {
		case "lexer":
			if m.Total != 5 || m.Covered != 4 || m.Uncovered != 1 || m.Percent == nil || *m.Percent != 80 ||
				!slices.Equal(m.UncoveredFunctions, []string{"lexer::dead"}) {
				t.Errorf("module lexer = %+v", m)
			}
		case NoModule:
			if m.Total != 1 || m.Covered != 1 || len(m.UncoveredFunctions) != 0 {
				t.Errorf("module %s = %+v", NoModule, m)
			}
		case "never":
			if m.Covered != 0 || !slices.Equal(m.UncoveredFunctions, []string{"never::called"}) {
				t.Errorf("module never = %+v", m)
			}
		}
	}
	if want := []string{"parser", "codegen", "lexer", "never", NoModule, "util"}; !slices.Equal(order, want) {
		t.Errorf("modules in order %v, want %v", order, want)
	}
	sumText := perReport.Summary()
	for _, want := range []string{"9 of 14 functions (64.3%)", "2 full, 3 partial, 1 zero"} {
		if !strings.Contains(sumText, want) {
			t.Errorf("summary lacks %q:\n%s", want, sumText)
		}
	}
	html, err := os.ReadFile(filepath.Join(per.Dir(), HTMLFile))
	if err != nil || !strings.Contains(string(html), "lexer::dead") || !strings.Contains(string(html), "64.3%") {
		t.Errorf("coverage.html: %v\n%.2000s", err, html)
	}
}

// TestTMLMisbehaviour feeds the merge what killed and broken processes
// leave behind: the rest is merged and every problem is a warning naming
// its suite.
func TestTMLMisbehaviour(t *testing.T) {
	t.Parallel()
	c, err := NewCollector(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	files := []struct {
		suite, content string
	}{
		{"parser", "parser::a\nparser::b\nparser::cut_sho"},
		{"lexer", ""},
		{"junk", "junk::ok\r\n\x00\x01binary\n\xff\xfe bad utf8\n" + strings.Repeat("x", 70000) + "\n  junk::ok2  \n\n" +
			strings.Repeat("y", MaxNameLen+1) + "\n"},
		{"tail", "tail::f\n" + strings.Repeat("z", 100000)},
		{"good", "good::f\nparser::a\n"},
	}
	for i, f := range files {
		env, done := c.Env(unit(f.suite, "/bin/"+f.suite, "tml", ""), i+1)
		if err := os.WriteFile(envValue(env, TMLEnv), []byte(f.content), 0o644); err != nil {
			t.Fatal(err)
		}
		done()
	}
	c.Observe(&event.Result{Suite: "parser", Test: "3", Status: event.Crash, Proc: 1})
	r := mustMerge(t, c)
	want := []string{"good::f", "junk::ok", "junk::ok2", "parser::a", "parser::b", "tail::f"}
	if !slices.Equal(r.Covered, want) {
		t.Errorf("covered %q, want %q", r.Covered, want)
	}
	for _, w := range [][]string{
		{"suite parser (process 1", "cut short", `"parser::cut_sho"`},
		{"suite lexer (process 2", "empty coverage file"},
		{"suite junk (process 3", "4 lines rejected", "1 invalid UTF-8", "1 NUL or control bytes", "2 longer than 4096 bytes"},
		{"suite tail (process 4", "cut short"},
	} {
		if !hasWarning(r, w...) {
			t.Errorf("no warning with %q in %q", w, r.Warnings)
		}
	}
	if len(r.Warnings) != 4 {
		t.Errorf("%d warnings, want 4: %q", len(r.Warnings), r.Warnings)
	}
	if s := r.Totals; s.FailedProcesses != 1 || s.OnlyFromFailed != 1 || s.CoveragePercent != nil ||
		s.LibraryFunctions != 6 || s.ModulesFull != 4 || !slices.Equal(s.FailedSuites, []string{"parser"}) {
		t.Errorf("totals %+v", s)
	}
	if !strings.Contains(r.Summary(), "4 warnings") || !strings.Contains(r.Summary(), "no function list") {
		t.Errorf("summary:\n%s", r.Summary())
	}
}

func TestTMLNoData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	funcs := filepath.Join(dir, "f.txt")
	os.WriteFile(funcs, []byte("a::x\na::y\nb::z"), 0o644) // no last newline: kept
	c, err := NewCollector(Options{Dir: filepath.Join(dir, "cov"), Functions: funcs})
	if err != nil {
		t.Fatal(err)
	}
	_, done := c.Env(unit("s", "/bin/s", "tml", ""), 1)
	done()
	c.Observe(&event.Result{Suite: "s", Status: event.Pass, Cached: true})
	r := mustMerge(t, c)
	if s := r.Totals; s.LibraryFunctions != 3 || s.LibraryCovered != 0 || *s.CoveragePercent != 0 || s.ModulesZero != 2 {
		t.Errorf("totals %+v", s)
	}
	if !hasWarning(r, "no process wrote a TML coverage file") || !hasWarning(r, "1 result was served from the result cache") {
		t.Errorf("warnings %q", r.Warnings)
	}
	// Nothing at all: a warning, no files.
	c, err = NewCollector(Options{Dir: filepath.Join(dir, "none")})
	if err != nil {
		t.Fatal(err)
	}
	r = mustMerge(t, c)
	if !hasWarning(r, "no process wrote coverage data") || len(r.Files) != 0 || !strings.Contains(r.Summary(), "no process wrote") {
		t.Errorf("no data: %q %q", r.Warnings, r.Files)
	}
	if _, err := NewCollector(Options{Dir: dir, Functions: filepath.Join(dir, "missing")}); err == nil {
		t.Error("missing function list accepted")
	}
}

func TestEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := NewCollector(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	env, done := c.Env(unit("a/b c", "/bin/x", "gotest", ""), 7)
	want := []string{
		TMLEnv + "=" + filepath.Join(dir, "raw", "tml", "a_b_c-7.txt"),
		GoEnv + "=" + filepath.Join(dir, "raw", "go", "7"),
		LLVMEnv + "=" + filepath.Join(dir, "raw", "llvm", "7-%p-%m.profraw"),
	}
	if !slices.Equal(env, want) {
		t.Errorf("env %q, want %q", env, want)
	}
	if fi, err := os.Stat(filepath.Join(dir, "raw", "go", "7")); err != nil || !fi.IsDir() {
		t.Errorf("GOCOVERDIR not created: %v", err)
	}
	// fixtureExe is a Go binary built without -cover: it must not get the flag.
	if f, ok := GoTestFlag(fixtureExe, env); ok {
		t.Errorf("GoTestFlag of a binary built without -cover = %q", f)
	}
	done()
	if _, err := os.Stat(filepath.Join(dir, "raw", "go", "7")); !os.IsNotExist(err) {
		t.Errorf("empty GOCOVERDIR left behind: %v", err)
	}
	// Raw data of an earlier run is removed.
	if _, err := NewCollector(Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "raw")); !os.IsNotExist(err) {
		t.Errorf("stale raw dir kept: %v", err)
	}
}
