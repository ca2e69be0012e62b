package coverage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/volley-test/volley/internal/event"
)

func writeSrc(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestExtractFunctions pins TML's scanner rules, quirks included.
func TestExtractFunctions(t *testing.T) {
	dir := t.TempDir()
	src := `pub func len(s: Str) -> I64 { return 0 }
func helper() {}
func test_helper() {}
func ffi_strlen() {}
@extern("c", "strlen")
func strlen(p: Ptr) -> I64
impl Str {
    pub func split(this) -> List { }
    func find(this) {
    }
}
func after_impl() {}
impl[T] PartialEq for Maybe[T] {
    func eq(this, other) -> Bool { return true }
}
impl Borrow for T {
    func borrow(this) {}
}
pub behavior Display {
    func fmt(this) -> Str
    func show(this) { }
}
impl Drop for Arc[T] {
    func drop(this) {}
}
impl Later
{
    func not_in_impl() {}
}
`
	p := filepath.Join(dir, "str.tml")
	os.WriteFile(p, []byte(src), 0o644)
	got, err := extractFunctions(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"len", "helper", "Str::split", "Str::find", "after_impl", "Maybe::eq", "Borrow::borrow",
		"Display::show", "Arc::drop", "not_in_impl"}
	if !slices.Equal(got, want) {
		t.Errorf("functions\n %q\nwant\n %q", got, want)
	}
}

func TestModuleName(t *testing.T) {
	for rel, want := range map[string]string{
		"src/str.tml":              "str",
		"src/collections/list.tml": "collections/list",
		"src/collections/mod.tml":  "collections",
		"runtime/src/x.tml":        "x",
		"mod.tml":                  "mod",
		"other/thing.tml":          "other/thing",
	} {
		if got := moduleName(rel); got != want {
			t.Errorf("moduleName(%s) = %s, want %s", rel, got, want)
		}
	}
}

func TestScanSources(t *testing.T) {
	root := t.TempDir()
	writeSrc(t, root, map[string]string{
		"core/src/str.tml":             "pub func len() {}\nfunc len() {}\n",
		"core/src/collections/mod.tml": "impl List {\n  func push(this) {}\n}\n",
		"core/src/skip.test.tml":       "func counted_not() {}\n",
		"core/tests/str/split.tml":     "func in_tests() {}\n",
		"core/src/notes.md":            "func no() {}\n",
		"std/src/str.tml":              "func from_std() {}\n",
		"std/src/empty.tml":            "// nothing\n",
	})
	mods, missing, err := scanSources([]string{filepath.Join(root, "core"), filepath.Join(root, "std"), filepath.Join(root, "nope")})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || !strings.HasSuffix(missing[0], "nope") {
		t.Errorf("missing %v", missing)
	}
	var got []string
	for _, m := range mods {
		got = append(got, m.name+"="+strings.Join(m.funcs, ","))
	}
	want := []string{"builtins=" + strings.Join(Builtins, ","), "collections=List::push", "str=len,from_std"}
	if !slices.Equal(got, want) {
		t.Errorf("modules\n %q\nwant\n %q", got, want)
	}
}

// TestSourceReport is the report over scanned sources: TML's denominator
// and schema, the processes that should have written coverage and did
// not, and the HTML named by the caller.
func TestSourceReport(t *testing.T) {
	dir := t.TempDir()
	writeSrc(t, dir, map[string]string{
		"lib/core/src/str.tml": "pub func len() {}\nimpl Str {\n  func split(this) {}\n  func find(this) {}\n}\n",
	})
	out := filepath.Join(dir, "out")
	c, err := NewCollector(Options{Dir: out, HTMLName: "report.html", Sources: []string{filepath.Join(dir, "lib/core")},
		TestCount: func(_, test string) int { return len(test) }, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	env, done := c.Env(unit("s1", "/bin/s1", "tml", ""), 1)
	os.WriteFile(envValue(env, TMLEnv), []byte("len\nStr::split\nSlice::len\ntest_len\n"), 0o644)
	done()
	c.Observe(&event.Result{Suite: "s1", Test: "lib/a.test.tml", Status: event.Pass, Proc: 1})
	// A passing process without a file: warned about, by suite and test.
	_, done = c.Env(unit("s2", "/bin/s2", "tml", ""), 2)
	done()
	c.Observe(&event.Result{Suite: "s2", Test: "lib/b.test.tml", Status: event.Pass, Proc: 2})
	// A process whose test failed writes none, rightly: no warning.
	_, done = c.Env(unit("s3", "/bin/s3", "tml", ""), 3)
	done()
	c.Observe(&event.Result{Suite: "s3", Test: "lib/c.test.tml", Status: event.Fail, Proc: 3})
	r := mustMerge(t, c)
	if !hasWarning(r, "1 process passed tests but wrote no TML coverage file", "suite s2 (test lib/b.test.tml)") {
		t.Errorf("warnings %q", r.Warnings)
	}
	if hasWarning(r, "s3") || hasWarning(r, "not in the function list") {
		t.Errorf("warnings %q", r.Warnings)
	}
	s := r.Totals
	if s.LibraryFunctions != 3+len(Builtins) || s.LibraryCovered != 3 || s.RuntimeCovered != 4 || s.TestsPassed != 28 || s.TestFiles != 3 {
		t.Errorf("totals %+v", s)
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Modules []struct {
			Name string `json:"name"`
		} `json:"modules"`
	}
	json.Unmarshal(b, &j)
	if len(j.Modules) != 2 || j.Modules[0].Name != "builtins" || j.Modules[1].Name != "str" {
		t.Errorf("modules %+v", j.Modules)
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil || !strings.Contains(string(html), `<div class="stat-value">3 / 21</div>`) {
		t.Errorf("report.html lacks the count TML reads back: %v", err)
	}
	h, _ := os.ReadFile(filepath.Join(out, HistoryFile))
	if !strings.Contains(string(h), `"no_cache":true`) || !strings.Contains(string(h), `"modules":[{"n":"builtins","t":18,"c":1},{"n":"str","t":3,"c":2}]`) {
		t.Errorf("history %s", h)
	}

	// A run that covers nothing leaves the reports and the history alone.
	c, _ = NewCollector(Options{Dir: out, HTMLName: "report.html", Sources: []string{filepath.Join(dir, "lib/core")}})
	env, done = c.Env(unit("s1", "/bin/s1", "tml", ""), 1)
	os.WriteFile(envValue(env, TMLEnv), nil, 0o644)
	done()
	r = mustMerge(t, c)
	if !hasWarning(r, "no function was covered: report.html, report.json and coverage_history.jsonl left as they were") {
		t.Errorf("warnings %q", r.Warnings)
	}
	h2, _ := os.ReadFile(filepath.Join(out, HistoryFile))
	b2, _ := os.ReadFile(filepath.Join(out, "report.json"))
	if string(h2) != string(h) || string(b2) != string(b) {
		t.Error("a run covering nothing changed the report or the history")
	}
}
