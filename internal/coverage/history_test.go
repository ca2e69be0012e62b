package coverage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mergeNames runs one collection in dir where one process covered names.
func mergeNames(t *testing.T, dir, funcs string, names ...string) *Report {
	t.Helper()
	c, err := NewCollector(Options{Dir: dir, Functions: funcs})
	if err != nil {
		t.Fatal(err)
	}
	env, done := c.Env(unit("s", "/bin/s", "tml", ""), 1)
	if err := os.WriteFile(envValue(env, TMLEnv), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	done()
	return mustMerge(t, c)
}

func TestHistoryDelta(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	funcs := filepath.Join(dir, "functions")
	os.WriteFile(funcs, []byte("a::x\na::y\nb::z\n"), 0o644)
	cov := filepath.Join(dir, "cov")
	for i, step := range []struct {
		names []string
		delta string
	}{
		{[]string{"a::x", "a::y"}, "coverage: first run in the history"},
		{[]string{"a::x"}, "COVERAGE DROPPED: 66.7% → 33.3% (-33.3 points, 1 function no longer covered: a::y)"},
		{[]string{"a::x", "a::y", "b::z"}, "coverage: 33.3% → 100.0% (+66.7 points, 2 functions newly covered)"},
		{[]string{"b::z", "a::y", "a::x"}, "coverage: unchanged at 100.0% (3 of 3 functions)"},
	} {
		r := mergeNames(t, cov, funcs, step.names...)
		if got := r.Delta(); got != step.delta {
			t.Errorf("run %d: delta %q, want %q", i+1, got, step.delta)
		}
	}
	b, err := os.ReadFile(filepath.Join(cov, HistoryFile))
	if err != nil || strings.Count(string(b), "\n") != 4 || !strings.Contains(string(b), `"coverage_percent":33.33,"library_functions":3,"library_covered":1,"runtime_covered_functions":1,`) ||
		!strings.Contains(string(b), `"modules":[{"n":"a","t":2,"c":1},{"n":"b","t":1,"c":0}]`) {
		t.Errorf("history %q, %v", b, err)
	}
	// A corrupt line is skipped, with a warning; the last good one counts.
	f, _ := os.OpenFile(filepath.Join(cov, HistoryFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("{not json\n")
	f.Close()
	r := mergeNames(t, cov, funcs, "a::x", "a::y")
	if !strings.HasPrefix(r.Delta(), "COVERAGE DROPPED: 100.0% → 66.7% (-33.3 points, 1 function no longer covered: b::z)") ||
		!hasWarning(r, "1 unreadable line skipped") {
		t.Errorf("delta %q, warnings %q", r.Delta(), r.Warnings)
	}
	html, _ := os.ReadFile(filepath.Join(cov, HTMLFile))
	if !strings.Contains(string(html), `<pre class="drop">COVERAGE DROPPED`) {
		t.Errorf("the drop is not loud in coverage.html")
	}
}

func TestDeltaWithoutList(t *testing.T) {
	t.Parallel()
	cov := t.TempDir()
	mergeNames(t, cov, "", "a::x", "a::y", "c")
	r := mergeNames(t, cov, "", "a::x", "d")
	want := "COVERAGE DROPPED: 3 → 2 functions covered (-1, 2 functions no longer covered: a::y, c)"
	if r.Delta() != want {
		t.Errorf("delta %q, want %q", r.Delta(), want)
	}
	r = mergeNames(t, cov, "", "a::x", "e")
	if want := "coverage: unchanged at 2 functions covered; WARNING: 1 function no longer covered: d"; r.Delta() != want {
		t.Errorf("delta %q, want %q", r.Delta(), want)
	}
}

func TestPercentDelta(t *testing.T) {
	t.Parallel()
	a, b := 75.0, 70.0
	prev := &prevRun{GoPercent: &a, LLVMPercent: &b}
	cur := &prevRun{GoPercent: &b, LLVMPercent: &a}
	want := "GO COVERAGE DROPPED: 75.0% → 70.0% of statements (-5.0 points)\nLLVM coverage: 70.0% → 75.0% of lines (+5.0 points)"
	if got := delta(prev, cur, nil, nil); got != want {
		t.Errorf("delta %q, want %q", got, want)
	}
	if p := points(-0.01); p != "-0.01" {
		t.Errorf("points(-0.01) = %q", p)
	}
}
