package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The tests in this file build the real harness fixtures of
// testdata/harness (a Go test binary, a GoogleTest binary, a Rust libtest
// binary, TAP scripts) plus a tml suite, run them through the real volley
// CLI (the `volley` command testscript.Main puts in $PATH, run as a
// subprocess), read what volley reported from its event log (--json), and
// compare it with what each harness's own runner says: `go test -json`,
// the gtest binary run whole, `cargo test`, and prove's parser.

// harnessGoEnv keeps fixture builds independent of the caller's settings
// (test.sh may set GOFLAGS=-race).
var harnessGoEnv = []string{"GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local"}

// tmlSpec is the tml suite of the mixed directory: a symlink to a real
// volley binary with this sidecar spec.
const tmlSpec = "protocol tml\ntest pass\ntest pass sleep=10ms\ntest fail say=expected%20failure\ntest return=0\n"

// cpanStyleT is a TAP script as CPAN distributions ship them in t/.
const cpanStyleT = `use strict;
use warnings;
use Test::More tests => 3;

ok(1, 'loads');
is(lc 'ABC', 'abc', 'lowercases');
SKIP: {
    skip 'no network here', 1;
    ok(0, 'fetches');
}
`

// harnessFixtures are the built fixtures, each with the reason it is
// missing when it could not be built here.
type harnessFixtures struct {
	dir     string // the mixed directory: every fixture side by side
	goSrc   string // testdata/harness/gopkg
	goTest  string // DIR/gopkg.test (testdata/ copied beside it)
	gtest   string // DIR/gtest_sample
	rust    string // DIR/rustcrate
	crate   string // the crate's copy, where `cargo test` runs
	target  string // CARGO_TARGET_DIR
	tml     string // DIR/tmlsuite -> a volley binary
	taps    []string
	missing map[string]string // harness -> why it is absent
}

func (f *harnessFixtures) need(t *testing.T, harnesses ...string) {
	t.Helper()
	for _, h := range harnesses {
		if why := f.missing[h]; why != "" {
			t.Skipf("SKIP (%s fixture not built): %s", h, why)
		}
	}
}

// TestHarnesses runs every real harness fixture through volley and checks
// the counts against the harness's own runner, detection of all five
// protocols in one directory without config, per-test isolation of a
// crashing test, and --run-ignored.
func TestHarnesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds C++, Rust and Go fixtures; not in -short")
	}
	if _, err := exec.LookPath("volley"); err != nil {
		t.Fatalf("no volley in PATH (testscript.Main puts it there): %v", err)
	}
	f := buildHarnessFixtures(t)
	mixed := runVolley(t, f.dir, nil, "test", filepath.Join(f.dir, "*"))

	t.Run("gotest=go-test-json", func(t *testing.T) {
		t.Parallel()
		f.need(t, "gotest")
		want, extra := goTestCounts(t, f.goSrc, nil)
		if len(extra) > 0 {
			t.Logf("go test -v also reports %v; volley runs Test functions only (DESIGN.md: not Example/Benchmark/Fuzz)", extra)
		}
		checkTally(t, "gopkg.test", mixed.suite(t, "gopkg.test").tally(), want)
	})
	t.Run("gtest=whole-binary", func(t *testing.T) {
		t.Parallel()
		f.need(t, "gtest")
		want, disabled := gtestCounts(t, f.gtest)
		// GoogleTest counts DISABLED_ tests apart ("YOU HAVE 2 DISABLED
		// TESTS"); volley reports them as skipped, with the reason.
		want.Skipped += disabled
		checkTally(t, "gtest_sample", mixed.suite(t, "gtest_sample").tally(), want)
	})
	t.Run("libtest=cargo-test", func(t *testing.T) {
		t.Parallel()
		f.need(t, "libtest")
		want := cargoCounts(t, f, false)
		checkTally(t, "rustcrate", mixed.suite(t, "rustcrate").tally(), want)
	})
	t.Run("tap=prove", func(t *testing.T) {
		t.Parallel()
		f.need(t, "tap")
		for _, script := range f.taps {
			name := filepath.Base(script)
			t.Run(name, func(t *testing.T) {
				checkProve(t, script, mixed.suite(t, name))
			})
		}
	})
	t.Run("tml=spec", func(t *testing.T) {
		t.Parallel()
		f.need(t, "tml")
		s := mixed.suite(t, "tmlsuite")
		checkTally(t, "tmlsuite", s.tally(), tally{Passed: 3, Failed: 1})
		if got := s.status["2"]; got != "FAIL" {
			t.Errorf("tmlsuite::2 is %s, want FAIL", got)
		}
	})
	t.Run("mixed-dir-no-config", func(t *testing.T) {
		t.Parallel()
		f.need(t, "gotest", "gtest", "libtest", "tap", "tml")
		want := []string{"gopkg.test", "gtest_sample", "rustcrate", "tmlsuite"}
		for _, s := range f.taps {
			want = append(want, filepath.Base(s))
		}
		sort.Strings(want)
		if got := mixed.suiteNames(); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("suites in the event log: %q\nwant %q", got, want)
		}
		// The per-suite counts are checked against each harness's runner in
		// the sibling subtests; here, that the run's totals add up.
		var sum tally
		for _, s := range mixed.suites {
			c := s.tally()
			sum.Passed += c.Passed
			sum.Failed += c.Failed + c.Errors + s.suiteFailed
			sum.Skipped += c.Skipped + s.suiteSkipped
		}
		if mixed.run == nil {
			t.Fatalf("no run summary line in the event log\n%s", mixed.out)
		}
		if got := (tally{Passed: mixed.run.Passed, Failed: mixed.run.Failed, Skipped: mixed.run.Skipped}); got != sum {
			t.Errorf("run summary %+v, sum of the suites %+v", got, sum)
		}
		if mixed.run.NotRun != 0 {
			t.Errorf("run summary: %d not run", mixed.run.NotRun)
		}
	})
	t.Run("mixed-dir-shell-glob", func(t *testing.T) {
		// `volley test DIR/*` typed in a shell: the shell expands the glob,
		// so volley gets testdata/ (the Go package's data, which must sit
		// beside the Go test binary, its default cwd) as an argument too.
		t.Parallel()
		f.need(t, "gotest")
		ents, err := os.ReadDir(f.dir)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"test"}
		for _, e := range ents {
			args = append(args, filepath.Join(f.dir, e.Name()))
		}
		r := runVolleyCode(t, f.dir, nil, args...)
		if r.code == 2 {
			t.Errorf("volley test DIR/* (shell-expanded) exited 2: a data directory among the arguments stops the run:\n%s", r.out)
			return
		}
		if got := len(r.suiteNames()); got != len(mixed.suites) {
			t.Errorf("shell-expanded DIR/* ran %d suites, the quoted glob %d", got, len(mixed.suites))
		}
	})
	t.Run("isolation=granularity-test", func(t *testing.T) {
		t.Parallel()
		testIsolation(t, f)
	})
	t.Run("run-ignored", func(t *testing.T) {
		t.Parallel()
		testRunIgnored(t, f)
	})
}

// testIsolation runs each listable harness with granularity = "test" and
// its crash switch on: the crashing test is a CRASH, every other test of
// the binary still runs (and ends as under its own runner without the
// crash), each in a process of its own.
func testIsolation(t *testing.T, f *harnessFixtures) {
	type crashCase struct {
		harness, suite, path, env, test string
		native                          func(t *testing.T) tally
	}
	cases := []crashCase{
		{"gotest", "gopkg.test", f.goTest, "GOPKG_PANIC", "TestPanics", func(t *testing.T) tally { c, _ := goTestCounts(t, f.goSrc, nil); return c }},
		{"gtest", "gtest_sample", f.gtest, "GTEST_FIXTURE_CRASH", "Crash.MaybeCrashes", func(t *testing.T) tally {
			c, d := gtestCounts(t, f.gtest)
			c.Skipped += d
			return c
		}},
		{"libtest", "rustcrate", f.rust, "RUSTCRATE_CRASH", "tests::maybe_crashes", func(t *testing.T) tally { return cargoCounts(t, f, false) }},
	}
	var cfg strings.Builder
	var run []crashCase
	for _, c := range cases {
		if f.missing[c.harness] != "" {
			t.Logf("SKIP %s: %s", c.harness, f.missing[c.harness])
			continue
		}
		run = append(run, c)
		fmt.Fprintf(&cfg, "[[suite]]\nname = %q\npaths = [%q]\ngranularity = \"test\"\nenv = { %s = \"1\" }\n\n", c.harness, c.path, c.env)
	}
	if len(run) == 0 {
		t.Skip("SKIP: no listable harness fixture could be built")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "volley.toml"), []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runVolley(t, dir, nil, "test", "-vv")
	for _, c := range run {
		t.Run(c.harness, func(t *testing.T) {
			s := r.suite(t, c.suite)
			if got := s.status[c.test]; got != "CRASH" {
				t.Errorf("%s::%s is %q, want CRASH", c.suite, c.test, got)
			}
			// Without the crash switch the test passes: so, with it, one
			// pass becomes a failure and nothing else changes.
			want := c.native(t)
			want.Passed--
			want.Failed++
			checkTally(t, c.suite, s.tally(), want)
			ran := len(s.status) - s.preset
			if len(s.procs) != ran {
				t.Errorf("%s: %d tests ran in %d processes (%v), want one process per test", c.suite, ran, len(s.procs), s.procs)
			}
			if s.summaryProcs != len(s.procs) {
				t.Errorf("%s: suite line says procs=%d, test lines name %d processes", c.suite, s.summaryProcs, len(s.procs))
			}
		})
	}
	// -vv prints a START line per process.
	starts := len(regexp.MustCompile(`(?m)^START `).FindAllString(r.out, -1))
	var procs int
	for _, s := range r.suites {
		procs += len(s.procs)
	}
	if starts != procs {
		t.Errorf("-vv printed %d START lines, the event log names %d processes", starts, procs)
	}
}

// testRunIgnored checks --run-ignored against each harness's own way of
// running its disabled or ignored tests.
func testRunIgnored(t *testing.T, f *harnessFixtures) {
	var paths []string
	for _, h := range []struct{ harness, path string }{{"gtest", f.gtest}, {"libtest", f.rust}} {
		if f.missing[h.harness] == "" {
			paths = append(paths, h.path)
		} else {
			t.Logf("SKIP %s: %s", h.harness, f.missing[h.harness])
		}
	}
	if len(paths) == 0 {
		t.Skip("SKIP: neither the gtest nor the libtest fixture could be built")
	}
	r := runVolley(t, t.TempDir(), nil, append([]string{"test", "--run-ignored"}, paths...)...)
	if f.missing["gtest"] == "" {
		t.Run("gtest=also-run-disabled", func(t *testing.T) {
			want, disabled := gtestCounts(t, f.gtest, "--gtest_also_run_disabled_tests")
			if disabled != 0 {
				t.Fatalf("gtest --gtest_also_run_disabled_tests still reports %d disabled", disabled)
			}
			s := r.suite(t, "gtest_sample")
			checkTally(t, "gtest_sample", s.tally(), want)
			for _, n := range []string{"Math.DISABLED_Slow", "DISABLED_Off.Never"} {
				if st := s.status[n]; st == "" || st == "SKIP" || s.presetTests[n] {
					t.Errorf("%s: %q, want it run", n, st)
				}
			}
		})
	}
	if f.missing["libtest"] == "" {
		t.Run("libtest=include-ignored", func(t *testing.T) {
			want := cargoCounts(t, f, true)
			s := r.suite(t, "rustcrate")
			checkTally(t, "rustcrate", s.tally(), want)
			for _, n := range []string{"tests::ignored_plain", "tests::ignored_with_reason"} {
				if st := s.status[n]; st != "PASS" {
					t.Errorf("%s: %q, want PASS", n, st)
				}
			}
		})
	}
}

// buildHarnessFixtures builds every fixture it can, concurrently, into one
// directory, as a CI job would leave them.
func buildHarnessFixtures(t *testing.T) *harnessFixtures {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	f := &harnessFixtures{
		dir:     filepath.Join(work, "mixed"),
		goSrc:   filepath.Join(root, "testdata", "harness", "gopkg"),
		crate:   filepath.Join(work, "rustcrate"),
		target:  filepath.Join(work, "rust-target"),
		missing: map[string]string{},
	}
	if err := os.MkdirAll(filepath.Join(f.dir, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	fail := func(h, why string) {
		mu.Lock()
		defer mu.Unlock()
		f.missing[h] = why
	}
	var errs []error
	var wg sync.WaitGroup
	build := func(h string, fn func() (skip string, err error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			skip, err := fn()
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", h, err))
				mu.Unlock()
				skip = err.Error()
			}
			if skip != "" {
				fail(h, skip)
			}
		}()
	}
	build("gotest", func() (string, error) {
		gobin, err := exec.LookPath("go")
		if err != nil {
			return "go not in PATH", nil
		}
		if err := copyFile(filepath.Join(f.goSrc, "testdata", "input.txt"), filepath.Join(f.dir, "testdata", "input.txt"), 0o644); err != nil {
			return "", err
		}
		f.goTest = filepath.Join(f.dir, "gopkg.test")
		_, err = runIn(f.goSrc, harnessGoEnv, gobin, "test", "-c", "-o", f.goTest, ".")
		return "", err
	})
	build("tml", func() (string, error) {
		gobin, err := exec.LookPath("go")
		if err != nil {
			return "go not in PATH", nil
		}
		// A real volley binary, not this test binary: a symlink to a Go
		// test binary would be detected as gotest.
		exe := filepath.Join(work, "volley")
		if _, err := runIn(root, harnessGoEnv, gobin, "build", "-o", exe, "./cmd/volley"); err != nil {
			return "", err
		}
		f.tml = filepath.Join(f.dir, "tmlsuite")
		if err := os.Symlink(exe, f.tml); err != nil {
			return "", err
		}
		return "", os.WriteFile(f.tml+".fixture", []byte(tmlSpec), 0o644)
	})
	build("gtest", func() (string, error) {
		if _, err := os.Stat("/usr/include/gtest/gtest.h"); err != nil {
			return "libgtest-dev not installed (apt-get install libgtest-dev)", nil
		}
		cxx, err := exec.LookPath("g++")
		if err != nil {
			return "g++ not installed (apt-get install g++)", nil
		}
		f.gtest = filepath.Join(f.dir, "gtest_sample")
		_, err = runIn("", nil, cxx, "-std=c++17", "-O0", "-o", f.gtest,
			filepath.Join(root, "testdata", "harness", "gtest", "sample_test.cc"), "-lgtest", "-lgtest_main", "-pthread")
		return "", err
	})
	build("libtest", func() (string, error) {
		cargo, err := exec.LookPath("cargo")
		if err != nil {
			return "cargo not installed (apt-get install cargo, or rustup)", nil
		}
		src := filepath.Join(root, "testdata", "harness", "rustcrate")
		for _, p := range []string{"Cargo.toml", "src/lib.rs"} {
			if err := copyFile(filepath.Join(src, p), filepath.Join(f.crate, p), 0o644); err != nil {
				return "", err
			}
		}
		out, err := runIn(f.crate, f.rustEnv(), cargo, "test", "--no-run", "--offline", "--lib", "--message-format=json")
		if err != nil {
			return "", err
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m struct {
				Reason     string
				Executable string
				Profile    struct{ Test bool }
			}
			if json.Unmarshal(sc.Bytes(), &m) == nil && m.Reason == "compiler-artifact" && m.Profile.Test && m.Executable != "" {
				f.rust = filepath.Join(f.dir, "rustcrate")
				return "", copyFile(m.Executable, f.rust, 0o755)
			}
		}
		return "", errors.New("cargo test --no-run: no test executable in its JSON messages")
	})
	build("tap", func() (string, error) {
		if _, err := exec.LookPath("prove"); err != nil {
			return "prove not installed (Debian package perl)", nil
		}
		scripts, err := filepath.Glob(filepath.Join(root, "testdata", "harness", "tap", "*.t"))
		if err != nil || len(scripts) == 0 {
			return "", fmt.Errorf("no TAP scripts: %v", err)
		}
		for _, s := range scripts {
			dst := filepath.Join(f.dir, filepath.Base(s))
			if err := copyFile(s, dst, 0o755); err != nil {
				return "", err
			}
			f.taps = append(f.taps, dst)
		}
		// A CPAN-style t/ file: no #! line, not executable; prove (and
		// volley) run it with perl from $PATH.
		cpan := filepath.Join(f.dir, "cpan_style.t")
		f.taps = append(f.taps, cpan)
		return "", os.WriteFile(cpan, []byte(cpanStyleT), 0o644)
	})
	wg.Wait()
	for _, err := range errs {
		t.Errorf("build: %v", err)
	}
	if t.Failed() {
		t.FailNow()
	}
	return f
}

func (f *harnessFixtures) rustEnv() []string {
	return []string{"CARGO_TARGET_DIR=" + f.target, "CARGO_TERM_COLOR=never"}
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

// runIn runs a command in dir and returns its stdout; the error carries
// stderr.
func runIn(dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// tally is a count of test outcomes. Errors are volley's ERROR results
// (tests that could not run, e.g. after a TAP bail-out).
type tally struct{ Passed, Failed, Skipped, Errors int }

func checkTally(t *testing.T, suite string, got, want tally) {
	t.Helper()
	if got != want {
		t.Errorf("%s: volley passed/failed/skipped/errors = %d/%d/%d/%d; the harness's own runner: %d/%d/%d/%d",
			suite, got.Passed, got.Failed, got.Skipped, got.Errors, want.Passed, want.Failed, want.Skipped, want.Errors)
	}
}

// --- the harnesses' own runners ---------------------------------------------

// goTestCounts runs `go test -json` in the package and counts the
// top-level Test functions' outcomes; extra lists the other top-level
// entries go test reports (examples, fuzz seed corpora).
func goTestCounts(t *testing.T, src string, env []string) (tally, []string) {
	t.Helper()
	out, _ := runIn(src, append(append([]string{}, harnessGoEnv...), env...), "go", "test", "-count=1", "-json", ".")
	var c tally
	var extra []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct{ Action, Test string }
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Test == "" || strings.Contains(e.Test, "/") {
			continue
		}
		if e.Action != "pass" && e.Action != "fail" && e.Action != "skip" {
			continue
		}
		if !strings.HasPrefix(e.Test, "Test") {
			extra = append(extra, e.Action+" "+e.Test)
			continue
		}
		switch e.Action {
		case "pass":
			c.Passed++
		case "fail":
			c.Failed++
		case "skip":
			c.Skipped++
		}
	}
	if c == (tally{}) {
		t.Fatalf("go test -json: no test results\n%s", out)
	}
	return c, extra
}

// gtestCounts runs the GoogleTest binary whole and reads its summary.
func gtestCounts(t *testing.T, bin string, args ...string) (c tally, disabled int) {
	t.Helper()
	out, _ := runIn("", nil, bin, args...) // exits 1: a test fails
	num := func(re string) int {
		m := regexp.MustCompile(re).FindSubmatch(out)
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	if !bytes.Contains(out, []byte("[  PASSED  ]")) {
		t.Fatalf("%s: no summary\n%s", bin, out)
	}
	c.Passed = num(`(?m)^\[  PASSED  \] (\d+) tests?\.`)
	c.Failed = num(`(?m)^\[  FAILED  \] (\d+) tests?, listed below`)
	c.Skipped = num(`(?m)^\[  SKIPPED \] (\d+) tests?, listed below`)
	disabled = num(`YOU HAVE (\d+) DISABLED TESTS?`)
	return c, disabled
}

// cargoCounts runs `cargo test --lib` (with --include-ignored when asked)
// and reads its result line; ignored tests count as skipped.
func cargoCounts(t *testing.T, f *harnessFixtures, ignored bool) tally {
	t.Helper()
	args := []string{"test", "--offline", "--lib"}
	if ignored {
		args = append(args, "--", "--include-ignored")
	}
	out, _ := runIn(f.crate, f.rustEnv(), "cargo", args...)
	m := regexp.MustCompile(`test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("cargo test: no result line in\n%s", out)
	}
	var c tally
	c.Passed, _ = strconv.Atoi(string(m[1]))
	c.Failed, _ = strconv.Atoi(string(m[2]))
	c.Skipped, _ = strconv.Atoi(string(m[3]))
	return c
}

// tapCountPL reads a TAP script with TAP::Parser, the parser prove runs,
// and prints the counts prove's summary is made of. `passed` includes the
// skipped tests and the failing TODO tests (both are "ok" to prove).
const tapCountPL = `use strict; use warnings; use TAP::Parser;
my $p = TAP::Parser->new({ source => $ARGV[0] });
$p->run;
printf "passed=%d failed=%d skipped=%d todo=%d run=%d planned=%d\n",
  scalar($p->passed), scalar($p->failed), scalar($p->skipped), scalar($p->todo),
  $p->tests_run, $p->tests_planned // -1;
`

// checkProve compares volley's results for one TAP script with prove's: the
// file's verdict (PASS, FAIL or NOTESTS, from prove itself) and its okay,
// failed and skipped tests (from TAP::Parser, as prove counts them: a
// `not ok # TODO` test is okay).
func checkProve(t *testing.T, script string, s *suiteLog) {
	t.Helper()
	out, _ := exec.Command("prove", script).CombinedOutput()
	m := regexp.MustCompile(`Result: (\w+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("prove %s: no result in\n%s", script, out)
	}
	result := string(m[1])
	pl, err := exec.Command("perl", "-e", tapCountPL, script).Output()
	if err != nil && len(pl) == 0 {
		t.Fatalf("perl TAP::Parser %s: %v", script, err)
	}
	var passed, failed, skipped, todo, ran, planned int
	if _, err := fmt.Sscanf(string(pl), "passed=%d failed=%d skipped=%d todo=%d run=%d planned=%d",
		&passed, &failed, &skipped, &todo, &ran, &planned); err != nil {
		t.Fatalf("TAP::Parser output %q: %v", pl, err)
	}
	want := tally{Passed: passed - skipped, Failed: failed, Skipped: skipped}
	got := s.tally()
	// Tests announced by the plan but never run after a bail-out are
	// volley ERRORs; prove counts them only as a bad plan.
	if result == "FAIL" && got.Errors > 0 && got.Errors == planned-ran {
		want.Errors = got.Errors
	}
	if got != want {
		t.Errorf("%s: volley passed/failed/skipped/errors = %d/%d/%d/%d; prove: %d okay (%d of them TODO), %d failed, %d skipped%s",
			s.name, got.Passed, got.Failed, got.Skipped, got.Errors, want.Passed, todo, want.Failed, want.Skipped,
			map[bool]string{true: " (prove counts a failing `# TODO` test as okay; volley as skipped)"}[todo > 0])
	}
	verdict := "PASS"
	switch {
	case s.failedAny():
		verdict = "FAIL"
	case s.suiteSkipped > 0 && got.Passed+got.Failed+got.Skipped == 0:
		verdict = "NOTESTS"
	}
	if verdict != result {
		t.Errorf("%s: volley's verdict %s %q, prove's %s", s.name, verdict, s.reasons, result)
	}
}

// --- volley's side: run it, read its event log -----------------------------

// volleyRun is one volley run, read back from its --json event log.
type volleyRun struct {
	code   int
	out    string // stdout and stderr
	suites map[string]*suiteLog
	run    *struct {
		Passed, Failed, Skipped int
		NotRun                  int `json:"not_run"`
	}
}

// suiteLog is what the event log says about one suite.
type suiteLog struct {
	name         string
	status       map[string]string // test -> Volley.status of its last attempt
	presetTests  map[string]bool   // tests decided without a process (proc 0)
	preset       int
	procs        map[int]bool // volley process numbers that ran its tests
	suiteFailed  int          // suite-level outcomes (the suite itself failed)
	suiteSkipped int
	summaryProcs int      // procs on the suite's pass/fail line
	reasons      []string // of the suite-level outcomes
}

func (s *suiteLog) tally() tally {
	var c tally
	for _, st := range s.status {
		switch st {
		case "PASS":
			c.Passed++
		case "SKIP":
			c.Skipped++
		case "ERROR":
			c.Errors++
		default:
			c.Failed++
		}
	}
	return c
}

func (s *suiteLog) failedAny() bool {
	c := s.tally()
	return c.Failed > 0 || c.Errors > 0 || s.suiteFailed > 0
}

func (r *volleyRun) suite(t *testing.T, name string) *suiteLog {
	t.Helper()
	s := r.suites[name]
	if s == nil {
		t.Fatalf("suite %s is not in the event log (suites: %q)\n%s", name, r.suiteNames(), r.out)
	}
	return s
}

func (r *volleyRun) suiteNames() []string {
	var n []string
	for k := range r.suites {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// runVolley runs `volley ARGS --json FILE --state-dir DIR --no-cache` in
// dir and requires exit code 0 or 1 (tests failed).
func runVolley(t *testing.T, dir string, env []string, args ...string) *volleyRun {
	t.Helper()
	r := runVolleyCode(t, dir, env, args...)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("volley %s: exit code %d\n%s", strings.Join(args, " "), r.code, r.out)
	}
	return r
}

func runVolleyCode(t *testing.T, dir string, env []string, args ...string) *volleyRun {
	t.Helper()
	tmp := t.TempDir()
	log := filepath.Join(tmp, "events.json")
	args = append(args, "--json", log, "--state-dir", filepath.Join(tmp, "state"), "--no-cache")
	cmd := exec.Command("volley", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		cmd.Env = append(cmd.Env, strings.TrimSpace("GORACE="+g+" atexit_sleep_ms=0"))
	}
	out, err := cmd.CombinedOutput()
	r := &volleyRun{out: string(out), suites: map[string]*suiteLog{}}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("volley: %v", err)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		return r // a usage error: no log
	}
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var e struct {
			Action, Package, Test string
			Volley                struct {
				Test   *string
				Status string
				Reason string
				Proc   int
				Procs  int
				Run    json.RawMessage
			}
		}
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("event log line %d: %v: %s", i+1, err, line)
		}
		if e.Package == "" {
			if len(e.Volley.Run) > 0 {
				if err := json.Unmarshal(e.Volley.Run, &r.run); err != nil {
					t.Fatalf("event log line %d: run: %v", i+1, err)
				}
			}
			continue
		}
		s := r.suites[e.Package]
		if s == nil {
			s = &suiteLog{name: e.Package, status: map[string]string{}, presetTests: map[string]bool{}, procs: map[int]bool{}}
			r.suites[e.Package] = s
		}
		if e.Action != "pass" && e.Action != "fail" && e.Action != "skip" {
			continue
		}
		switch {
		case e.Test == "": // the suite's own line
			s.summaryProcs = e.Volley.Procs
		case e.Volley.Test == nil: // an outcome of the suite as a whole
			s.reasons = append(s.reasons, e.Volley.Status+": "+e.Volley.Reason)
			if e.Action == "skip" {
				s.suiteSkipped++
			} else if e.Action == "fail" {
				s.suiteFailed++
			}
			if e.Volley.Proc != 0 {
				s.procs[e.Volley.Proc] = true
			}
		default:
			name := *e.Volley.Test
			s.status[name] = e.Volley.Status
			if e.Volley.Proc == 0 {
				if !s.presetTests[name] {
					s.preset++
				}
				s.presetTests[name] = true
			} else {
				s.procs[e.Volley.Proc] = true
			}
		}
	}
	return r
}
