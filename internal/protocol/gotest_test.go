package protocol

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// goBuildEnv keeps the fixture builds independent of the caller's settings.
var goBuildEnv = []string{"GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local"}

var gopkgBin artifact

// gopkgSrc is the fixture package's source directory.
func gopkgSrc(t testing.TB) string { return filepath.Join(repoRoot(t), "testdata", "harness", "gopkg") }

// gopkgTest builds testdata/harness/gopkg with `go test -c -o` into a
// directory away from the package, without its testdata/: the harness must
// find the package directory from the binary itself.
func gopkgTest(t *testing.T) string {
	return gopkgBin.get(t, func() (string, string, error) {
		gobin, err := exec.LookPath("go")
		if err != nil {
			return "", "go is not in PATH", nil
		}
		dir := filepath.Join(artifacts, "gopkg")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", "", err
		}
		bin := filepath.Join(dir, "gopkg.test")
		_, err = command(gopkgSrc(t), goBuildEnv, gobin, "test", "-c", "-o", bin, ".")
		return bin, "", err
	})
}

// gopkgSuite is the fixture binary as planning leaves it: its cwd settled.
func gopkgSuite(t *testing.T) *Suite {
	s := &Suite{Name: "gopkg.test", Path: gopkgTest(t), Protocol: "gotest"}
	settleGoCwd(context.Background(), s, nil)
	return s
}

var gopkgTests = []string{
	"TestPass", "TestFail", "TestSkip", "TestSub", "TestFramingLookalike", "TestReadsTestdata",
	"TestParallelA", "TestParallelB", "TestPanics", "TestHangs", "TestLast",
	"FuzzAdd", "ExampleAdd", "ExampleAdd_mismatch",
}

func TestGoTestList(t *testing.T) {
	t.Parallel()
	s := &Suite{Name: "gopkg.test", Path: gopkgTest(t), Protocol: "gotest"}
	tests, err := GoTest{}.List(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tt := range tests {
		names = append(names, tt.Name)
		if tt.Ignored {
			t.Errorf("%s: ignored", tt.Name)
		}
	}
	if !reflect.DeepEqual(names, gopkgTests) {
		t.Errorf("List = %q\nwant %q", names, gopkgTests)
	}
	if want := gopkgSrc(t); s.Cwd != want {
		t.Errorf("List settled cwd %q; want the package directory %s (from the binary's line table)", s.Cwd, want)
	}
}

func TestGoTestListError(t *testing.T) {
	t.Parallel()
	s := &Suite{Name: "broken", Path: "/bin/sh", Args: []string{"-c", "echo no such flag >&2; exit 2"}}
	_, err := GoTest{}.List(context.Background(), s, nil)
	if err == nil || !strings.Contains(err.Error(), "list broken") || !strings.Contains(err.Error(), "no such flag") {
		t.Fatalf("List error = %v; want one naming the suite and quoting its stderr", err)
	}
}

// goTestJSON runs `go test -json` on the fixture package and returns the
// top-level results.
func goTestJSON(t *testing.T, env ...string) map[string]event.Status {
	return goTestJSONIn(t, gopkgSrc(t), ".", env...)
}

// goTestJSONIn runs `go test -json` on pkg from dir and returns its
// top-level results.
func goTestJSONIn(t *testing.T, dir, pkg string, env ...string) map[string]event.Status {
	out, err := command(dir, append(append([]string(nil), goBuildEnv...), env...), "go", "test", "-json", "-count=1", pkg)
	if err != nil && len(out) == 0 {
		t.Fatal(err)
	}
	got := map[string]event.Status{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var e struct{ Action, Test string }
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Test == "" || strings.Contains(e.Test, "/") {
			continue
		}
		switch e.Action {
		case "pass":
			got[e.Test] = event.Pass
		case "fail":
			got[e.Test] = event.Fail
		case "skip":
			got[e.Test] = event.Skip
		}
	}
	return got
}

func TestGoTestWholeMatchesGoTest(t *testing.T) {
	t.Parallel()
	s := gopkgSuite(t)
	units := GoTest{}.Units(s)
	if len(units) != 1 || s.Cwd != gopkgSrc(t) {
		t.Fatalf("Units: %d units, cwd %q; want 1 unit in the package directory", len(units), s.Cwd)
	}
	env := []string{"GOPKG_EXAMPLE_FAIL=1", "GOPKG_FUZZ_FAIL=1"}
	r := runReal(t, units[0], env, 0)
	want := goTestJSON(t, env...)
	if got := r.byTest(); !reflect.DeepEqual(got, want) {
		t.Fatalf("whole run:\n%s\ngo test -json: %s", r, statuses(want))
	}
	if o, _ := r.find("TestSkip"); o.Reason != "needs a network" {
		t.Errorf("TestSkip reason %q, want the t.Skip message", o.Reason)
	}
	if o, _ := r.find("TestFail"); !strings.Contains(o.Reason, "want 5") {
		t.Errorf("TestFail reason %q, want the t.Errorf message", o.Reason)
	}
	if o, _ := r.find("ExampleAdd_mismatch"); o.Reason != "got five; want 4" {
		t.Errorf("ExampleAdd_mismatch reason %q, want its got and want", o.Reason)
	}
	if o, _ := r.find("FuzzAdd"); !strings.Contains(o.Reason, "FuzzAdd/seed40 failed") || !strings.Contains(o.Reason, "seed from testdata/fuzz ran") {
		t.Errorf("FuzzAdd reason %q, want the failing seed from testdata/fuzz and its message", o.Reason)
	}
	if len(r.warns) > 0 {
		t.Errorf("warnings: %q", r.warns)
	}
}

func TestGoTestBatchMatchesWhole(t *testing.T) {
	t.Parallel()
	s := gopkgSuite(t)
	whole := runReal(t, GoTest{}.Units(s)[0], nil, 0).byTest()
	r := runReal(t, GoTest{}.Batch(s, gopkgTests), nil, 0)
	want := map[string]event.Status{}
	for _, n := range gopkgTests {
		want[n] = whole[n]
	}
	if got := r.byTest(); !reflect.DeepEqual(got, want) || len(r.units) != 1 {
		t.Fatalf("batch of all (%d units):\n%s\nwant %s", len(r.units), r, statuses(want))
	}
	one := runReal(t, GoTest{}.Batch(s, []string{"TestSkip", "TestReadsTestdata"}), nil, 0)
	if got := statuses(one.byTest()); got != "TestReadsTestdata=PASS TestSkip=SKIP " {
		t.Errorf("batch of two: %s", got)
	}
}

func TestGoTestPanicContinuesInFollowUp(t *testing.T) {
	t.Parallel()
	s := gopkgSuite(t)
	env := []string{"GOPKG_PANIC=1"}
	r := runReal(t, GoTest{}.Batch(s, gopkgTests), env, 0)
	o, _ := r.find("TestPanics")
	if o.Status != event.Crash || !strings.Contains(o.Reason, "panic") {
		t.Errorf("TestPanics: %s; want CRASH saying it panicked", formatOutcome(o))
	}
	if len(r.units) != 2 || len(r.outs) != len(gopkgTests) {
		t.Fatalf("%d units, %d outcomes; want 2 units (the rest in a follow-up) and one outcome per test:\n%s", len(r.units), len(r.outs), r)
	}
	if got := r.units[1].Tests; !reflect.DeepEqual(got, []string{"TestParallelA", "TestParallelB", "TestHangs", "TestLast", "FuzzAdd", "ExampleAdd", "ExampleAdd_mismatch"}) {
		t.Errorf("follow-up runs %q; want the paused parallel tests and those after the panic", got)
	}
	for _, o := range r.outs {
		if o.Test != "TestPanics" && o.Test != "TestFail" && o.Status.Failed() {
			t.Errorf("%s", formatOutcome(o))
		}
	}

	whole := runReal(t, GoTest{}.Units(s)[0], env, 0)
	if o, _ := whole.find("TestPanics"); o.Status != event.Crash {
		t.Errorf("whole run: TestPanics %s", formatOutcome(o))
	}
	if _, ok := whole.find("TestLast"); ok || len(whole.warns) != 1 || !strings.Contains(whole.warns[0], "did not run") {
		t.Errorf("whole run: want TestLast not run and a warning saying so:\n%s", whole)
	}
}

func TestGoTestTimeout(t *testing.T) {
	t.Parallel()
	s := gopkgSuite(t)
	r := runReal(t, GoTest{}.Batch(s, gopkgTests), []string{"GOPKG_HANG=1"}, 2*time.Second)
	if o, _ := r.find("TestHangs"); o.Status != event.Timeout {
		t.Errorf("TestHangs: %s; want TIMEOUT", formatOutcome(o))
	}
	if o, _ := r.find("TestLast"); o.Status != event.Pass || len(r.units) != 2 {
		t.Errorf("TestLast: %s in %d units; want PASS in a follow-up:\n%s", formatOutcome(o), len(r.units), r)
	}
}

func TestGoRunPattern(t *testing.T) {
	got := goRunPattern([]string{"TestA", "Test_b.c", "Test(x)"})
	want := `-test.run=^(TestA|Test_b\.c|Test\(x\))$`
	if got != want {
		t.Errorf("goRunPattern = %s, want %s", got, want)
	}
}

func TestParseGoList(t *testing.T) {
	out := "TestA\nExampleA\nBenchmarkA\nFuzzA\nTestB\nhello from TestMain\n\nTestC\r\n"
	var got []string
	for _, tt := range parseGoList([]byte(out)) {
		got = append(got, tt.Name)
	}
	if want := []string{"TestA", "ExampleA", "FuzzA", "TestB", "TestC"}; !reflect.DeepEqual(got, want) {
		t.Errorf("parseGoList = %q, want %q", got, want)
	}
}

func TestGoSkipReason(t *testing.T) {
	for in, want := range map[string]string{
		"gopkg_test.go:22: needs a network": "needs a network",
		"x_test.go:7: a: b":                 "a: b",
		"no location here":                  "no location here",
		"":                                  "skipped",
		"dir with space/x.go:1: m":          "dir with space/x.go:1: m",
	} {
		if got := goSkipReason(in); got != want {
			t.Errorf("goSkipReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGoTestGolden(t *testing.T) { testGolden(t, "gotest") }

func FuzzGoTestSession(f *testing.F) {
	goldenSeeds(f, "gotest")
	f.Add([]byte("\x16=== RUN   TestA\n\x16--- FAIL: TestA (0.00s)\npanic: boom\n"), uint8(2+8))
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		fuzzSession(t, "gotest", []string{"TestA", "TestB", "TestPass"}, data, sel)
	})
}

// stdTest builds the test binary of a standard-library package with `go
// test -c` (extra build flags first) into a directory of its own.
func stdTest(t *testing.T, pkg string, flags ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds standard-library test binaries (-short)")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not in PATH")
	}
	bin := filepath.Join(t.TempDir(), strings.ReplaceAll(pkg, "/", "_")+".test")
	args := append(append([]string{"test", "-c"}, flags...), "-o", bin, pkg)
	if _, err := command(t.TempDir(), goBuildEnv, gobin, args...); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestGoTestStdPackagesMatchGoTest runs real standard-library test binaries,
// built elsewhere than their package, whole and as a listed batch: every
// test, example and fuzz seed corpus `go test -json` runs, with the same
// results (compress/flate reads testdata/ relative to its package).
func TestGoTestStdPackagesMatchGoTest(t *testing.T) {
	t.Parallel()
	for _, pkg := range []string{"strings", "sort", "compress/flate"} {
		t.Run(pkg, func(t *testing.T) {
			bin := stdTest(t, pkg)
			want := goTestJSONIn(t, t.TempDir(), pkg)
			s := &Suite{Name: filepath.Base(bin), Path: bin, Protocol: "gotest"}
			tests, err := GoTest{}.List(context.Background(), s, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(tests) != len(want) {
				t.Errorf("List: %d tests; go test -json ran %d", len(tests), len(want))
			}
			r := runReal(t, GoTest{}.Batch(s, testNames(tests)), nil, 0)
			if got := r.byTest(); !reflect.DeepEqual(got, want) {
				t.Fatalf("volley (cwd %s):\n%s\ngo test -json: %s", s.Cwd, r, statuses(want))
			}
			if len(r.warns) > 0 {
				t.Errorf("warnings: %q", r.warns)
			}
		})
	}
}

// TestGoTestCwdFromBuildInfo: a -trimpath binary names no source files;
// its import path (build info) leads to GOROOT/src.
func TestGoTestCwdFromBuildInfo(t *testing.T) {
	t.Parallel()
	bin := stdTest(t, "sort", "-trimpath")
	if d := goTestFileDir(bin); d != "" {
		t.Fatalf("goTestFileDir of a -trimpath binary = %q; want none", d)
	}
	out, err := command("", goBuildEnv, "go", "env", "GOROOT")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(strings.TrimSpace(string(out)), "src", "sort")
	s := &Suite{Name: "sort.test", Path: bin, Protocol: "gotest"}
	GoTest{}.Units(s)
	if s.Cwd != want {
		t.Errorf("cwd %q; want %q", s.Cwd, want)
	}
	s = &Suite{Name: "sort.test", Path: bin, Protocol: "gotest", Cwd: "/configured"}
	GoTest{}.Units(s)
	if s.Cwd != "/configured" {
		t.Errorf("a configured cwd became %q", s.Cwd)
	}
}

// A test that called t.Parallel, or whose subtests did, says so on its
// outcome; a parallel test's time is the testing package's own.
func TestGoSessionParallel(t *testing.T) {
	g := newGoSession(&Suite{Name: "p", Protocol: "gotest"}, []string{"TestA", "TestB", "TestC", "TestD"})
	var outs []Outcome
	for _, l := range []string{
		"=== RUN   TestA", "=== PAUSE TestA",
		"=== RUN   TestB", "=== RUN   TestB/x", "=== PAUSE TestB/x", "=== CONT  TestB/x", "--- PASS: TestB/x (0.00s)", "--- PASS: TestB (0.01s)",
		"=== RUN   TestC", "--- PASS: TestC (0.00s)",
		"=== CONT  TestA", "--- PASS: TestA (1.50s)",
		"=== RUN   TestD", "=== PAUSE TestD", "=== CONT  TestD", "--- PASS: TestD (0.00s)",
	} {
		outs = append(outs, g.Line([]byte("\x16"+l))...)
	}
	want := map[string]event.Parallel{"TestA": event.ParallelSelf, "TestB": event.ParallelSubtests, "TestC": 0, "TestD": event.ParallelSelf}
	if len(outs) != len(want) {
		t.Fatalf("outcomes %+v, want 4", outs)
	}
	for _, o := range outs {
		if o.Parallel != want[o.Test] {
			t.Errorf("%s: parallel %d, want %d", o.Test, o.Parallel, want[o.Test])
		}
		if o.Test == "TestA" && (o.Duration != 1500*time.Millisecond || o.Start.IsZero()) {
			t.Errorf("TestA: duration %v (start %v), want the 1.5s it reported", o.Duration, o.Start)
		}
		if o.Test == "TestD" && !o.Start.IsZero() {
			t.Errorf("TestD: its \"(0.00s)\" taken as its time (%v); volley's own timing says more", o.Duration)
		}
	}
}

func TestGoParallelUnits(t *testing.T) {
	s := &Suite{Name: "p", Path: "/x/p.test", Protocol: "gotest"}
	has := func(u *Unit, arg string) bool { return slices.Contains(u.Args, arg) }
	u := GoTest{}.Batch(s, []string{"TestA", "TestB", "TestC"})
	GoParallel(u, 2, false)
	if u.Threads != 2 || !has(u, "-test.parallel=2") {
		t.Errorf("3 parallel tests on 2 slots: threads %d, args %q", u.Threads, u.Args)
	}
	one := GoTest{}.Batch(s, []string{"TestA"})
	GoParallel(one, 4, false)
	if one.Threads != 0 || len(one.Args) != len(GoTest{}.Batch(s, []string{"TestA"}).Args) {
		t.Errorf("one parallel test alone: threads %d, args %q; want it left as it is", one.Threads, one.Args)
	}
	sub := GoTest{}.Batch(s, []string{"TestA"})
	GoParallel(sub, 4, true)
	if sub.Threads != 4 || !has(sub, "-test.parallel=4") {
		t.Errorf("a test with parallel subtests on 4 slots: threads %d, args %q", sub.Threads, sub.Args)
	}
	// The rest of a crashed batch keeps its slots and -test.parallel.
	rest := []*Unit{GoTest{}.Batch(s, []string{"TestB", "TestC"})}
	InheritParallel(u, rest)
	if rest[0].Threads != 2 || !has(rest[0], "-test.parallel=2") {
		t.Errorf("follow-up: threads %d, args %q", rest[0].Threads, rest[0].Args)
	}
	plain := []*Unit{GoTest{}.Batch(s, []string{"TestB"})}
	InheritParallel(GoTest{}.Batch(s, []string{"TestA", "TestB"}), plain)
	if plain[0].Threads != 0 || has(plain[0], "-test.parallel=2") {
		t.Errorf("follow-up of a plain batch changed: threads %d, args %q", plain[0].Threads, plain[0].Args)
	}
}
