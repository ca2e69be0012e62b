package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoParallelTestsHoldTheirSlots: Go tests that called t.Parallel in the
// last run run together in one process that holds as many slots as it may
// run tests at once, with -test.parallel set to that, so a -j2 run never
// has more than two tests running. The fixture's tests write when they
// start and end, in one file, in the order it happened.
func TestGoParallelTestsHoldTheirSlots(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not in PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	bin := filepath.Join(work, "goparallel.test")
	if _, err := runIn(filepath.Join(root, "testdata", "harness", "goparallel"), harnessGoEnv, gobin, "test", "-c", "-o", bin, "."); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(work, "state")
	run := func(n int) []string {
		t.Helper()
		log, rendezvous := filepath.Join(work, "log"), filepath.Join(work, "d")
		os.Remove(log)
		os.RemoveAll(rendezvous)
		if err := os.Mkdir(rendezvous, 0o755); err != nil {
			t.Fatal(err)
		}
		// GOMAXPROCS=4: a test binary's own -test.parallel default is 4.
		cmd := exec.Command("volley", "test", "-j2", "--no-cache", "--state-dir", state, bin)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "PAR_LOG="+log, "PAR_DIR="+rendezvous, "GOMAXPROCS=4")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("run %d: %v\n%s", n, err, out)
		}
		if !strings.Contains(string(out), "volley: 8 passed, 0 failed") {
			t.Fatalf("run %d: want 8 passed\n%s", n, out)
		}
		data, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(data)), "\n")
	}
	run(1) // history learns which tests call t.Parallel
	lines := run(2)

	running := map[string]string{} // test -> pid, while it runs
	parPID := ""
	most := 0
	for _, l := range lines {
		f := strings.Fields(l) // start|end TEST PID PARALLEL
		if len(f) != 4 {
			t.Fatalf("bad line %q in the fixture's log", l)
		}
		what, test, pid, parallel := f[0], f[1], f[2], f[3]
		isPar := strings.HasPrefix(test, "TestPar")
		if what == "end" {
			delete(running, test)
			continue
		}
		if isPar {
			if parallel != "2" {
				t.Errorf("%s ran with -test.parallel=%s, want 2 (the slots its process holds)", test, parallel)
			}
			if parPID == "" {
				parPID = pid
			} else if pid != parPID {
				t.Errorf("the parallel tests ran in processes %s and %s, want one", parPID, pid)
			}
		}
		for other, opid := range running {
			if (isPar || strings.HasPrefix(other, "TestPar")) && opid != pid {
				t.Errorf("%s started while %s ran in another process: the parallel tests' process holds both slots", test, other)
			}
		}
		running[test] = pid
		most = max(most, len(running))
	}
	if most > 2 {
		t.Errorf("%d tests ran at once with -j2\n%s", most, strings.Join(lines, "\n"))
	}
	if parPID == "" {
		t.Errorf("the parallel tests did not run\n%s", strings.Join(lines, "\n"))
	}
}
