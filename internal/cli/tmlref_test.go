package cli_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/tmlref"
)

// tmlShapes are suites of the reference TML suite (C, built with the
// machine's compiler) in every failure shape a TML suite has.
var tmlShapes = map[string]string{
	"allpass":     "cover=a0 sleep=20; cover=a1; cover=a2",
	"failfirst":   "cover=b0 fail=first; cover=b1; cover=b2",
	"failmiddle":  "cover=c0; cover=c1 fail=middle; cover=c2",
	"faillast":    "cover=d0; cover=d1; cover=d2 fail=last",
	"failcrash":   "cover=e0; fail=then; cover=e2 crash; cover=e3",
	"crashmain":   "cover=f0 crash; cover=f1 return=2; cover=f2",
	"hang":        "cover=g0; cover=g1 hang; cover=g2",
	"shouldpanic": "cover=h0 should_panic=boom; cover=h1 no_panic; cover=h2",
	"panics":      "cover=i0; panic=oops; cover=i2",
}

// aloneVerdict runs index i of exe by itself and says what it is, the way
// a user reading exit codes would: "" past the end (99).
func aloneVerdict(t *testing.T, exe string, i int, timeout time.Duration, cov string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "--test-index="+strconv.Itoa(i))
	cmd.Env = append(os.Environ(), "TML_COVERAGE_FILE="+cov)
	err := cmd.Run()
	if ctx.Err() != nil {
		return "TIMEOUT"
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "PASS"
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return "CRASH"
		}
		if ws.ExitStatus() == 99 {
			return ""
		}
		return "FAIL"
	}
	t.Fatal(err)
	return ""
}

// Every index's verdict under volley equals running that index alone, and
// the merged coverage is the union of what the files that return write
// when run alone.
func TestTMLReferenceSuitesVerdictsEqualRunningAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var paths []string
	names := make([]string, 0, len(tmlShapes))
	for n := range tmlShapes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		files, err := tmlref.Parse(tmlShapes[n])
		if err != nil {
			t.Fatal(err)
		}
		exe, err := tmlref.Build(dir, n, files)
		if err != nil {
			t.Skip(err)
		}
		paths = append(paths, exe)
	}
	timeout := 2 * time.Second * time.Duration(timeScale())
	want := map[string]map[string]string{}
	union := map[string]bool{}
	for i, n := range names {
		want[n] = map[string]string{}
		for k := 0; ; k++ {
			cov := filepath.Join(dir, n+".cov"+strconv.Itoa(k))
			v := aloneVerdict(t, paths[i], k, timeout, cov)
			if v == "" {
				break
			}
			want[n][strconv.Itoa(k)] = v
			// A file that returns writes its coverage, whatever it returns
			// (a user main's non-zero); one that fails or crashes writes none.
			if b, err := os.ReadFile(cov); err == nil {
				for _, f := range strings.Fields(string(b)) {
					union[f] = true
				}
			}
		}
	}
	covDir := filepath.Join(t.TempDir(), "cov")
	args := append([]string{"test", "--protocol", "tml", "-j4", "--timeout", timeout.String(), "--grace", "200ms",
		"--coverage", "--coverage-output", covDir}, paths...)
	r := runVolley(t, dir, nil, args...)
	for _, n := range names {
		s := r.suite(t, n)
		for k, v := range want[n] {
			if got := s.status[k]; got != v {
				t.Errorf("%s::%s: volley says %q, running it alone says %q", n, k, got, v)
			}
		}
		if len(s.status) != len(want[n]) || s.suiteFailed != 0 {
			t.Errorf("%s: volley reported %v (suite-level %q), want %v", n, s.status, s.reasons, want[n])
		}
	}
	b, err := os.ReadFile(filepath.Join(covDir, "covered_functions.txt"))
	if err != nil {
		t.Fatalf("merged coverage: %v\n%s", err, r.out)
	}
	got := strings.Fields(string(b))
	var wantCov []string
	for f := range union {
		wantCov = append(wantCov, f)
	}
	sort.Strings(got)
	sort.Strings(wantCov)
	if strings.Join(got, " ") != strings.Join(wantCov, " ") {
		t.Errorf("merged coverage %q, want the union of what each file writes alone %q", got, wantCov)
	}
	if t.Failed() {
		t.Logf("volley output:\n%s", r.out)
	}
	// The reason is the runtime's own line.
	for _, want := range []string{"assertion failed at tests/file0.test.tml:3: first", "panic: oops", "test did not panic as expected"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks the failure's own line %q", want)
		}
	}
}

// timeScale is the factor the few timeouts in these tests are scaled by:
// VOLLEY_TEST_TIMEOUT_SCALE, else 1 (3 under the race detector).
func timeScale() int {
	if v, err := strconv.Atoi(os.Getenv("VOLLEY_TEST_TIMEOUT_SCALE")); err == nil && v > 0 {
		return v
	}
	if raceEnabled {
		return 3
	}
	return 1
}
