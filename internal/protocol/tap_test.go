package protocol

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/volley-test/volley/internal/event"
)

// proveSummary is what prove says about one file.
type proveSummary struct {
	tests, failed int
	result        string // PASS, FAIL, NOTESTS
}

func prove(t *testing.T, script string) proveSummary {
	out, _ := exec.Command("prove", script).CombinedOutput()
	var p proveSummary
	m := regexp.MustCompile(`Files=1, Tests=(\d+)`).FindSubmatch(out)
	r := regexp.MustCompile(`Result: (\w+)`).FindSubmatch(out)
	if m == nil || r == nil {
		t.Fatalf("prove %s: no summary in\n%s", script, out)
	}
	fmt.Sscan(string(m[1]), &p.tests)
	p.result = string(r[1])
	if f := regexp.MustCompile(`Tests: \d+ Failed: (\d+)\)`).FindSubmatch(out); f != nil {
		fmt.Sscan(string(f[1]), &p.failed)
	}
	return p
}

// summarize counts what a TAP run reported the way prove does: tests are
// the outcomes of test lines; the suite fails on any failed outcome.
func summarize(r runResult) proveSummary {
	var p proveSummary
	p.result = "PASS"
	suiteSkip := false
	for _, o := range r.outs {
		if o.Test != "" && (o.Status == event.Pass || o.Status == event.Fail || o.Status == event.Skip) {
			p.tests++
		}
		if o.Test != "" && o.Status == event.Fail {
			p.failed++
		}
		if o.Status.Failed() {
			p.result = "FAIL"
		}
		suiteSkip = suiteSkip || (o.Test == "" && o.Status == event.Skip)
	}
	if suiteSkip && p.tests == 0 && p.result == "PASS" {
		p.result = "NOTESTS"
	}
	return p
}

func TestTAPScriptsMatchProve(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("prove"); err != nil {
		t.Skip("prove not installed (Debian package perl)")
	}
	scripts, err := filepath.Glob(filepath.Join(repoRoot(t), "testdata", "harness", "tap", "*.t"))
	if err != nil || len(scripts) < 6 {
		t.Fatalf("scripts: %q %v", scripts, err)
	}
	for _, script := range scripts {
		t.Run(filepath.Base(script), func(t *testing.T) {
			t.Parallel()
			want := prove(t, script)
			// Not executable, as a checkout may leave it: the harness runs it
			// through its #! line, as prove does.
			data, err := os.ReadFile(script)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), filepath.Base(script))
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			s := &Suite{Name: filepath.Base(script), Path: path, Protocol: "tap"}
			r := runReal(t, TAP{}.Units(s)[0], nil, 0)
			if len(s.Interpreter) == 0 {
				t.Errorf("no interpreter for a script without the executable bit")
			}
			if got := summarize(r); got != want {
				t.Errorf("volley %+v, prove %+v\n%s", got, want, r)
			}
		})
	}
}

func TestTAPInterpreter(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{write("exec.t", "#!/bin/sh\necho 1..0\n", 0o755), nil},
		{write("noexec.t", "#!/usr/bin/env perl -w\nprint 1..0\n", 0o644), []string{"/usr/bin/env", "perl", "-w"}},
		{write("bare.t", "print qq(1..0\\n);\n", 0o644), []string{"perl"}},
		{write("bare.tap", "1..0\n", 0o644), nil},
		{filepath.Join(dir, "missing.t"), nil},
	} {
		if got := tapInterpreter(tc.path); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("tapInterpreter(%s) = %q, want %q", filepath.Base(tc.path), got, tc.want)
		}
	}
	s := &Suite{Name: "x", Path: filepath.Join(dir, "bare.t"), Interpreter: []string{"sh"}}
	TAP{}.Units(s)
	if !reflect.DeepEqual(s.Interpreter, []string{"sh"}) {
		t.Errorf("Units replaced the configured interpreter: %q", s.Interpreter)
	}
}

func TestTAPDirective(t *testing.T) {
	for in, want := range map[string][2]string{
		"SKIP no network":    {"skip", "no network"},
		"skip":               {"skip", ""},
		"Skipped: slow host": {"skip", "slow host"},
		"TODO not written":   {"todo", "not written"},
		"todo: later":        {"todo", "later"},
		"a comment":          {"", "a comment"},
		"":                   {"", ""},
	} {
		kw, rest := tapDirective(in)
		if kw != want[0] || rest != want[1] {
			t.Errorf("tapDirective(%q) = %q, %q; want %q", in, kw, rest, want)
		}
	}
}

func TestTAPNotListable(t *testing.T) {
	if _, ok := Protocol(TAP{}).(Lister); ok {
		t.Error("TAP implements Lister; TAP streams cannot be listed")
	}
	for _, name := range []string{"gotest", "gtest", "libtest"} {
		p, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := p.(Lister); !ok {
			t.Errorf("%s does not implement Lister", name)
		}
	}
	if !strings.Contains(strings.Join(Names(), " "), "tap") {
		t.Errorf("tap not registered: %q", Names())
	}
}

func TestTAPGolden(t *testing.T) { testGolden(t, "tap") }

func FuzzTAPSession(f *testing.F) {
	goldenSeeds(f, "tap")
	f.Add([]byte("TAP version 13\n1..2\nnot ok 1\n  ---\n  message: x\n"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		fuzzSession(t, "tap", nil, data, sel&^2)
	})
}

// TestTAPDiagnosticsFollowTheirTest: Test::More's got/expected lines after
// a failure are its reason, not the next test's.
func TestTAPDiagnosticsFollowTheirTest(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("perl not installed")
	}
	script := filepath.Join(repoRoot(t), "testdata", "harness", "tap", "testmore.t")
	s := &Suite{Name: "testmore.t", Path: script, Protocol: "tap", Interpreter: []string{"perl"}}
	r := runReal(t, TAP{}.Units(s)[0], nil, 0)
	o, _ := r.find("arithmetic")
	if o.Status != event.Fail || !strings.Contains(o.Reason, "got: '4'") || !strings.Contains(o.Reason, "expected: '5'") {
		t.Errorf("arithmetic: %s; want FAIL with got and expected", formatOutcome(o))
	}
	if o, _ := r.find("lists"); o.Status != event.Pass || o.Reason != "" {
		t.Errorf("lists: %s; want a plain PASS", formatOutcome(o))
	}
}
