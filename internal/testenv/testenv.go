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
	"strconv"
	"sync"
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
