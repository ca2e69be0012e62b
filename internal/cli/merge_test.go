package cli

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/cache"
	"github.com/volley-test/volley/internal/fixture"
	"github.com/volley-test/volley/internal/report"
	"github.com/volley-test/volley/internal/shard"
	"github.com/volley-test/volley/internal/testenv"
)

// volleyExe is the `volley` command testscript.Main put on PATH: a copy of
// this test binary that runs cli.Main (and the watchdog). `volley test`
// must run in such a process, never in the test process itself: its
// watchdog re-executes os.Executable().
func volleyExe(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs volley processes")
	}
	p, err := exec.LookPath("volley")
	if err != nil || !strings.Contains(p, "testscript-main") {
		t.Skipf("no testscript volley on PATH (%v)", err)
	}
	return p
}

// runVolley runs `volley ARGS` in dir and returns its output and exit code.
func runVolley(t *testing.T, dir string, args ...string) (out string, code int) {
	t.Helper()
	cmd := exec.Command(volleyExe(t), args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		// Not a CI shard ourselves; no exit-code file of a script.
		if k, _, _ := strings.Cut(kv, "="); !strings.Contains(k, "NODE_") && !strings.Contains(k, "SHARD") &&
			!strings.HasPrefix(k, "BUILDKITE") && k != "VOLLEY_SCRIPT_EXIT_FILE" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(b), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("volley %s: %v", strings.Join(args, " "), err)
	}
	return string(b), 0
}

var summaryRE = regexp.MustCompile(`(?m)^volley: \d+ passed, \d+ failed, \d+ skipped$`)

func summaryOf(t *testing.T, out string) string {
	t.Helper()
	s := summaryRE.FindString(out)
	if s == "" {
		t.Fatalf("no summary line in:\n%s", out)
	}
	return s
}

// testCorpus writes a small corpus of tml fixture suites into dir: 12
// suites, 60 tests, 2 failing, 1 crashing (its suite's later tests run
// as follow-ups).
func testCorpus(t *testing.T, dir string) string {
	t.Helper()
	c := fixture.Corpus{Suites: 12, Tests: 60, Mean: time.Millisecond, Seed: 11, Failures: 2, Crashes: 1}
	if err := fixture.WriteCorpus(dir, fixtureExe(t), c); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "volley.toml")
}

// fixtureExe is the fixture alone, built without -race (see
// testenv.PlainFixture).
func fixtureExe(t *testing.T) string {
	t.Helper()
	return testenv.PlainFixture(t, "../fixture/testdata/fixturemain")
}

func copyHistory(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(from, shard.OutHistory))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(to, shard.OutHistory), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// merge runs `volley merge` in process and returns its stdout, stderr and
// exit code.
func merge(out string, dirs ...string) (string, string, int) {
	var stdout, stderr bytes.Buffer
	err := runMerge(out, dirs, &stdout, &stderr)
	code := ExitCode(err, &stderr)
	return stdout.String(), stderr.String(), code
}

// TestMergeReproducesUnsharded: for every strategy and N in {1,2,3,7}, the
// K/N shards (each on its own copy of the history, as on separate
// machines) merge into the unsharded run's counts, with no overlap and no
// gap. The hash runs keep the result cache on, so every shard also
// reports the cached suites; they must count once.
func TestMergeReproducesUnsharded(t *testing.T) {
	t.Parallel()
	volleyExe(t)
	work := t.TempDir()
	cfg := testCorpus(t, filepath.Join(work, "corpus"))
	base := filepath.Join(work, "base")
	out, code := runVolley(t, work, "test", "--config", cfg, "-j4", "--format", "plain", "--state-dir", base,
		"--output-dir", filepath.Join(work, "all"))
	if code != ExitTestsFailed {
		t.Fatalf("unsharded run: exit %d, want 1\n%s", code, out)
	}
	want := summaryOf(t, out)

	for _, strategy := range []string{"hash", "slice", "time"} {
		t.Run(strategy, func(t *testing.T) {
			t.Parallel()
			for _, n := range []int{1, 2, 3, 7} {
				dir := filepath.Join(work, fmt.Sprintf("%s-%d", strategy, n))
				var dirs []string
				for k := 1; k <= n; k++ {
					state := filepath.Join(dir, fmt.Sprint("state", k))
					copyHistory(t, base, state)
					sdir := filepath.Join(dir, fmt.Sprint("shard", k))
					args := []string{"test", "--config", cfg, "-j4", "--format", "plain", "--state-dir", state,
						"--partition", fmt.Sprintf("%s:%d/%d", strategy, k, n), "--output-dir", sdir}
					if strategy != "hash" {
						args = append(args, "--no-cache")
					}
					out, code := runVolley(t, work, args...)
					if code == ExitUsage && strings.Contains(out, "no test matches") {
						continue // an empty shard (more shards than suites to run)
					}
					if code != ExitOK && code != ExitTestsFailed {
						t.Fatalf("%s:%d/%d: exit %d\n%s", strategy, k, n, code, out)
					}
					dirs = append(dirs, sdir)
				}
				stdout, stderr, code := merge(filepath.Join(dir, "merged"), dirs...)
				if code != ExitTestsFailed || !strings.Contains(stdout, want+"\n") {
					t.Errorf("%s /%d: merge exit %d, want 1 and %q\nstdout:\n%s\nstderr:\n%s", strategy, n, code, want, stdout, stderr)
				}
			}
		})
	}
	t.Run("junit-history", func(t *testing.T) {
		t.Parallel()
		// Two shards on empty histories: the merged history has both
		// shards' suites, the JUnit every test once.
		dir := filepath.Join(work, "fresh")
		var dirs []string
		for k := 1; k <= 2; k++ {
			shard := filepath.Join(dir, fmt.Sprint("shard", k))
			out, code := runVolley(t, work, "test", "--config", cfg, "-j4", "--format", "plain",
				"--state-dir", filepath.Join(dir, fmt.Sprint("state", k)), "--partition", fmt.Sprintf("slice:%d/2", k),
				"--output-dir", shard)
			if code != ExitTestsFailed && code != ExitOK {
				t.Fatalf("shard %d: exit %d\n%s", k, code, out)
			}
			dirs = append(dirs, shard)
		}
		merged := filepath.Join(dir, "merged")
		if stdout, stderr, code := merge(merged, dirs...); code != ExitTestsFailed || !strings.Contains(stdout, want) {
			t.Fatalf("merge: exit %d\n%s%s", code, stdout, stderr)
		}
		st, warn, err := cache.Open(merged)
		if err != nil || warn != nil {
			t.Fatal(err, warn)
		}
		var suites []string
		for _, id := range readPlan(t, filepath.Join(work, "all")).Planned {
			suites = append(suites, id)
			if _, ok := st.SuiteDuration(id); !ok {
				t.Errorf("merged history lacks suite %s", id)
			}
		}
		if len(suites) != 12 {
			t.Errorf("planned %v, want 12 suites", suites)
		}
		checkJUnit(t, filepath.Join(merged, shard.OutJUnit), want)
		// The merged event log is every shard's, line for line.
		var n int
		for _, d := range dirs {
			n += countLines(t, filepath.Join(d, shard.OutEvents))
		}
		if got := countLines(t, filepath.Join(merged, shard.OutEvents)); got != n {
			t.Errorf("merged events.json has %d lines, the shards %d", got, n)
		}
	})
	t.Run("overlap-missing", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(work, "bad")
		var dirs []string
		for k := 1; k <= 2; k++ {
			shard := filepath.Join(dir, fmt.Sprint("shard", k))
			runVolley(t, work, "test", "--config", cfg, "-j4", "--format", "plain", "--no-cache",
				"--state-dir", filepath.Join(dir, "state"), "--partition", fmt.Sprintf("hash:%d/2", k), "--output-dir", shard)
			dirs = append(dirs, shard)
		}
		// Shard 1 alone: shard 2's suites are missing.
		missing := readPlan(t, dirs[1])
		_, stderr, code := merge(filepath.Join(dir, "m1"), dirs[0])
		if code != ExitUsage || !strings.Contains(stderr, "reported by no shard") || !strings.Contains(stderr, "no shard 2/2") {
			t.Errorf("shard 1 of 2 alone: exit %d, want 2 naming the missing tests\n%s", code, stderr)
		}
		if shard2 := suitesRun(t, dirs[1]); len(shard2) == 0 || !strings.Contains(stderr, shard2[0]) {
			t.Errorf("the missing ids (%v) are not listed:\n%s", missing.Planned, stderr)
		}
		// Shard 1 twice: overlap.
		_, stderr, code = merge(filepath.Join(dir, "m2"), dirs[0], dirs[0], dirs[1])
		if code != ExitUsage || !strings.Contains(stderr, "reported by more than one shard") {
			t.Errorf("shard 1 twice: exit %d, want 2 naming the overlap\n%s", code, stderr)
		}
		// The output directory may not be an input.
		if _, _, code := merge(dirs[0], dirs...); code != ExitUsage {
			t.Errorf("merging into an input: exit %d, want 2", code)
		}
		if _, stderr, code := merge(filepath.Join(dir, "m3"), work); code != ExitUsage || !strings.Contains(stderr, "plan.json") {
			t.Errorf("a directory that is no shard: exit %d\n%s", code, stderr)
		}
	})
}

func readPlan(t *testing.T, dir string) shard.Plan {
	t.Helper()
	var p shard.Plan
	b, err := os.ReadFile(filepath.Join(dir, shard.OutPlan))
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// suitesRun lists the suites a shard ran.
func suitesRun(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, shard.OutEvents))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	log, err := report.ReadLog(f, f.Name())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range log.Results {
		if !seen[r.Suite] {
			seen[r.Suite] = true
			out = append(out, r.Suite)
		}
	}
	return out
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// checkJUnit checks the document's totals against a summary line.
func checkJUnit(t *testing.T, path, summary string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Skipped  int `xml:"skipped,attr"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("volley: %d passed, %d failed, %d skipped",
		doc.Tests-doc.Failures-doc.Errors-doc.Skipped, doc.Failures+doc.Errors, doc.Skipped)
	if got != summary {
		t.Errorf("junit.xml totals: %s, want %s", got, summary)
	}
}
