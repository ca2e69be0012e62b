package discover

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSuiteKey(t *testing.T) {
	for _, c := range []struct{ root, rel, want string }{
		// TML.md's examples, in a checkout named tml.
		{"/src/tml", "lib/core/tests/str/x.test.tml", "lib_core_tests"},
		// The source stops after "tests" here too (its comment, and
		// TML.md, say compiler_tests_runtime; test_runner.cpp:48-55 at
		// d48da0fa breaks right after appending "tests").
		{"/src/tml", "compiler/tests/runtime/y.test.tml", "compiler_tests"},
		// Stops after 3 components.
		{"/src/tml", "a/b/c/d/e.test.tml", "a_b_c"},
		{"/src/tml", "lib/std/tests/json/deep/z.test.tml", "lib_std_tests"},
		{"/src/tml", "top.test.tml", "default"},
		{"/src/tml", "tests/x.tml", "tests"},
		// A checkout not named tml counts from its root.
		{"/home/u/lang", "lib/core/tests/a.test.tml", "lib_core_tests"},
		// The first tml component wins, even above the checkout (TML sees
		// absolute paths).
		{"/home/tml/work/lang", "lib/core/tests/a.test.tml", "work_lang_lib"},
		{"/home/u/lang", "vendor/tml/tests/a.test.tml", "tests"},
	} {
		if got := suiteKey(c.root, c.rel); got != c.want {
			t.Errorf("suiteKey(%s, %s) = %s, want %s", c.root, c.rel, got, c.want)
		}
	}
}

func TestGroupSuites(t *testing.T) {
	files := []string{
		"lib/core/tests/str/split.test.tml",
		"lib/core/tests/alloc.test.tml",
		"lib/core/tests/str/find.test.tml",
		"compiler/tests/runtime/only.test.tml",
	}
	slices.Sort(files)
	got := map[string][]string{}
	var order []string
	for _, g := range groupSuites("/x/tml", files, 1) {
		got[g.name] = g.files
		order = append(order, g.name)
	}
	want := map[string][]string{
		"compiler_tests":   {"compiler/tests/runtime/only.test.tml"},
		"lib_core_tests_1": {"lib/core/tests/alloc.test.tml"},
		"lib_core_tests_2": {"lib/core/tests/str/find.test.tml"},
		"lib_core_tests_3": {"lib/core/tests/str/split.test.tml"},
	}
	if len(got) != len(want) {
		t.Fatalf("suites %v, want %v", got, want)
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if !slices.IsSorted(order) {
		t.Errorf("suites not sorted by name: %v", order)
	}
	// Chunks of 2 (TML's suite mode uses larger chunks).
	var names []string
	for _, g := range groupSuites("/x/tml", files, 2) {
		names = append(names, g.name+"="+strings.Join(g.files, ","))
	}
	wantNames := []string{
		"compiler_tests=compiler/tests/runtime/only.test.tml",
		"lib_core_tests_1=lib/core/tests/alloc.test.tml,lib/core/tests/str/find.test.tml",
		"lib_core_tests_2=lib/core/tests/str/split.test.tml",
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("chunks of 2: %v, want %v", names, wantNames)
	}
}

func TestIsTestFile(t *testing.T) {
	for rel, want := range map[string]bool{
		"lib/core/tests/str/split.test.tml": true,
		"lib/core/src/str.test.tml":         true,
		"compiler/tests/main_ret.tml":       true,
		"lib/core/src/str.tml":              false,
		"lib/core/tests/x.bench.tml":        false,
		"lib/core/tests/x.error.tml":        false,
		"lib/core/tests/pending/x.test.tml": false,
		"compiler/tests/errors/e.tml":       false,
		"tests/x.tml":                       true,
		"tests/readme.md":                   false,
	} {
		if got := isTestFile(rel); got != want {
			t.Errorf("isTestFile(%s) = %v, want %v", rel, got, want)
		}
	}
}

func TestSelect(t *testing.T) {
	files := []string{"compiler/tests/runtime/a.test.tml", "lib/core/tests/str/split.test.tml", "lib/std/tests/json/p.test.tml"}
	for _, c := range []struct {
		pats, suites, want []string
	}{
		{nil, nil, files},
		{nil, []string{"core/str"}, files[1:2]},
		{nil, []string{"compiler/runtime"}, files[:1]},
		{nil, []string{"json"}, files[2:]},
		{[]string{"split"}, []string{"std/json"}, files[1:]},
		{[]string{"nothing"}, nil, nil},
	} {
		if got := Select(files, c.pats, c.suites); !slices.Equal(got, c.want) {
			t.Errorf("Select(%v, %v) = %v, want %v", c.pats, c.suites, got, c.want)
		}
	}
}

// checkout lays out a TML-shaped tree: test files, and executables for the
// suites named in built.
func checkout(t *testing.T, files []string, built ...string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tml")
	for _, f := range files {
		write(t, filepath.Join(root, f), "@test\nfunc test_a() {}\n", 0o644)
	}
	if err := os.MkdirAll(filepath.Join(root, RunCache), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range built {
		write(t, filepath.Join(root, RunCache, b+".exe"), "#!/bin/sh\n", 0o755)
	}
	return root
}

func write(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func TestCheckoutDiscovery(t *testing.T) {
	files := []string{
		"lib/core/tests/str/split.test.tml",
		"lib/core/tests/str/find.test.tml",
		"lib/core/tests/alloc.test.tml",
		"compiler/tests/runtime/only.test.tml",
		"build/ignored/tests/x.test.tml",
		"lib/core/tests/pending/later.test.tml",
	}
	root := checkout(t, files, "lib_core_tests_1", "lib_core_tests_3", "compiler_tests", "0123abcd4567ef89_exe")
	// Run from a subdirectory: the checkout is found above.
	res, err := Discover(Request{Cwd: filepath.Join(root, "lib", "core")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Checkout == nil || res.Checkout.Root != root {
		t.Fatalf("checkout = %+v, want root %s", res.Checkout, root)
	}
	got := map[string]string{}
	for _, s := range res.Suites {
		if s.Protocol != "tml" || s.KnownCount != 1 || len(s.TestNames) != 1 {
			t.Errorf("suite %s: protocol %s, names %v, count %d", s.Name, s.Protocol, s.TestNames, s.KnownCount)
		}
		if s.Path != filepath.Join(root, RunCache, s.Name+".exe") {
			t.Errorf("suite %s at %s", s.Name, s.Path)
		}
		got[s.Name] = s.TestNames[0]
	}
	want := map[string]string{
		"compiler_tests":   "compiler/tests/runtime/only.test.tml",
		"lib_core_tests_1": "lib/core/tests/alloc.test.tml",
		"lib_core_tests_3": "lib/core/tests/str/split.test.tml",
	}
	if len(got) != len(want) {
		t.Fatalf("suites %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s runs %q, want %q", k, got[k], v)
		}
	}
	w := strings.Join(res.Warnings, "\n")
	if !strings.Contains(w, "lib/core/tests/str/find.test.tml (build/debug/.run-cache/lib_core_tests_2.exe)") ||
		!strings.Contains(w, "`tml test --coverage`") {
		t.Errorf("missing suite not reported with how to build it:\n%s", w)
	}

	// Patterns: words, --filter and --suite select by path.
	res, err = Discover(Request{Cwd: root, Args: []string{"runtime"}, Suites: []string{"core/str"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range res.Suites {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"compiler_tests", "lib_core_tests_3"}) {
		t.Errorf("selected %v", names)
	}
	if len(res.Patterns) != 0 {
		t.Errorf("patterns left for the name filter: %v", res.Patterns)
	}
	res, err = Discover(Request{Cwd: root, Args: []string{"lib/core/tests/alloc.test.tml"}})
	if err != nil || len(res.Suites) != 1 || res.Suites[0].Name != "lib_core_tests_1" {
		t.Fatalf("a test file named on the command line: %v %v", res, err)
	}
	if _, err := Discover(Request{Cwd: root, Filter: "nomatch"}); err == nil || !strings.Contains(err.Error(), "no test file matches nomatch") {
		t.Errorf("no match: %v", err)
	}
	// An executable named on the command line keeps its names.
	res, err = Discover(Request{Cwd: root, Args: []string{filepath.Join(RunCache, "lib_core_tests_3.exe")}, Protocol: "tml"})
	if err != nil || res.Suites[0].TestNames[0] != "lib/core/tests/str/split.test.tml" {
		t.Fatalf("named executable: %v %v", res, err)
	}
}

func TestCheckoutNothingBuilt(t *testing.T) {
	root := checkout(t, []string{"lib/core/tests/a.test.tml"})
	_, err := Discover(Request{Cwd: root})
	if err == nil || !strings.Contains(err.Error(), "tml test --coverage") {
		t.Fatalf("err = %v, want how to build", err)
	}
}

func TestCheckoutStale(t *testing.T) {
	root := checkout(t, []string{"lib/core/tests/a.test.tml", "lib/core/tests/b.test.tml"}, "lib_core_tests_1", "lib_core_tests_2", "lib_core_tests_3")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(root, RunCache, "lib_core_tests_1.exe"), old, old)
	res, err := Discover(Request{Cwd: root})
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(res.Warnings, "\n")
	if !strings.Contains(w, "lib_core_tests_3.exe was built when lib_core_tests held another number") {
		t.Errorf("stale group not reported:\n%s", w)
	}
	if !strings.Contains(w, "lib/core/tests/a.test.tml changed after its suite lib_core_tests_1 was built") {
		t.Errorf("changed file not reported:\n%s", w)
	}
}
