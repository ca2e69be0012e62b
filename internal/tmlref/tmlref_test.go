package tmlref

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

type run struct {
	code           int
	sig            syscall.Signal
	stdout, stderr string
}

func runIt(t *testing.T, exe string, env []string, args ...string) run {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := run{stdout: o.String(), stderr: e.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			r.sig = ws.Signal()
		} else {
			r.code = ws.ExitStatus()
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func build(t *testing.T, spec string) string {
	t.Helper()
	files, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := Build(t.TempDir(), "suite", files)
	if err != nil {
		t.Skip(err)
	}
	return exe
}

// The points of TML's generated dispatcher and runtime, one by one.
func TestBehavesLikeTheGeneratedSuite(t *testing.T) {
	exe := build(t, "cover=a print=hi; cover=b return=3; fail=x%20is%202 cover=c; should_panic=boom; pass")
	cases := []struct {
		args           []string
		code           int
		stdout, stderr string // stderr: substring
	}{
		{nil, 98, "ERROR: --test-index=N argument required\n", ""},
		{[]string{"--bogus"}, 98, "ERROR: --test-index=N argument required\n", ""},
		{[]string{"--run-all"}, 1, "hi\nTML_RESULT:0:PASS:0\nTML_RESULT:1:FAIL:3\n", "FATAL [runtime] assertion failed at tests/file2.test.tml:2: x is 2\n"},
		{[]string{"--test-index=0"}, 0, "hi\n", ""},
		{[]string{"--test-index=1"}, 3, "", ""},
		{[]string{"--test-index=2"}, 1, "", "FATAL [runtime] assertion failed"},
		{[]string{"--test-index=3"}, 0, "", ""},
		{[]string{"--test-index=abc"}, 0, "hi\n", ""},
		{[]string{"--test-index=5"}, 99, "ERROR: invalid test index 5\n", ""},
		{[]string{"--test-index=-1"}, 99, "ERROR: invalid test index -1\n", ""},
		{[]string{"x", "--test-index=1", "--run-all"}, 3, "", ""},
	}
	for _, c := range cases {
		r := runIt(t, exe, nil, c.args...)
		if r.code != c.code || r.stdout != c.stdout || !strings.Contains(r.stderr, c.stderr) || r.sig != 0 {
			t.Errorf("%q: exit %d sig %v stdout %q stderr %q; want %d %q %q", c.args, r.code, r.sig, r.stdout, r.stderr, c.code, c.stdout, c.stderr)
		}
	}
	r := runIt(t, build(t, "pass; no_panic; pass"), nil, "--run-all")
	if r.code != 1 || r.stdout != "TML_RESULT:0:PASS:0\ntest did not panic as expected\n" {
		t.Errorf("no_panic: exit %d stdout %q", r.code, r.stdout)
	}
	r = runIt(t, build(t, "pass; crash; pass"), nil, "--run-all")
	if r.sig != syscall.SIGSEGV || r.stdout != "TML_RESULT:0:PASS:0\n" {
		t.Errorf("crash: sig %v stdout %q", r.sig, r.stdout)
	}
	r = runIt(t, build(t, "panic=oops"), nil, "--run-all")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "FATAL [runtime] panic: oops") {
		t.Errorf("panic: %+v", r)
	}
	if r := runIt(t, build(t, ""), nil, "--run-all"); r.code != 0 || r.stdout != "" {
		t.Errorf("no tests: %+v", r)
	}
}

func TestCoverageIsRewrittenAfterEveryFileThatReturns(t *testing.T) {
	exe := build(t, "cover=a,b; cover=c; cover=d fail=no")
	cov := filepath.Join(t.TempDir(), "cov")
	if err := os.WriteFile(cov, []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runIt(t, exe, []string{"TML_COVERAGE_FILE=" + cov}, "--run-all")
	b, _ := os.ReadFile(cov)
	if string(b) != "a\nb\nc\n" {
		t.Errorf("coverage %q, want the names of files 0 and 1 only, truncated", b)
	}
	os.Remove(cov)
	runIt(t, build(t, "cover=x fail=no"), []string{"TML_COVERAGE_FILE=" + cov}, "--run-all")
	if _, err := os.Stat(cov); !os.IsNotExist(err) {
		t.Errorf("file 0 failed, yet a coverage file exists (%v)", err)
	}
}
