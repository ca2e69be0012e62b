// Package testenv gives volley's tests one factor for every timeout they
// use, the way cmd/go's internal/testenv does: tests wait on events, and a
// timeout only bounds how long they wait before they fail. On a slow or
// busy machine, raise the factor instead of editing tests:
//
//	VOLLEY_TEST_TIMEOUT_SCALE=3 go test ./...
//
// Under the race detector, which makes programs several times slower, the
// factor is multiplied by RaceFactor.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// ScaleVar is the environment variable of the factor (default 1).
const ScaleVar = "VOLLEY_TEST_TIMEOUT_SCALE"

// RaceFactor is how much more time a test gets under -race.
const RaceFactor = 4

var factor = sync.OnceValue(func() float64 {
	f := 1.0
	if s := os.Getenv(ScaleVar); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "testenv: %s=%q is not a positive number; using 1\n", ScaleVar, s)
		} else {
			f = v
		}
	}
	if raceEnabled {
		f *= RaceFactor
	}
	return f
})

// Factor is the factor Scale multiplies by: $VOLLEY_TEST_TIMEOUT_SCALE
// (default 1), times RaceFactor under -race.
func Factor() float64 { return factor() }

// Scale is d multiplied by Factor: use it for every timeout, deadline or
// --timeout flag a test sets.
func Scale(d time.Duration) time.Duration { return time.Duration(float64(d) * factor()) }

// Race reports whether the test binary was built with -race.
func Race() bool { return raceEnabled }

// PlainFixture builds volley's fixture alone (the package in dir, normally
// internal/fixture/testdata/fixturemain) without -race into a temporary
// directory of t. A corpus of fixture suites starts dozens of processes,
// and a suite may print a great deal; the race-instrumented test binary
// would spend the test's time doing that. Without a go command it returns
// the test binary itself, which must then act as the fixture.
func PlainFixture(t testing.TB, dir string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return self
	}
	exe := filepath.Join(t.TempDir(), "fixture")
	cmd := exec.Command(gobin, "build", "-o", exe, "./"+filepath.ToSlash(filepath.Clean(dir)))
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the fixture: %v\n%s", err, out)
	}
	return exe
}
