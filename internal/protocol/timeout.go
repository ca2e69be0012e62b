package protocol

import "time"

// Default time limits, per harness, matching what each harness's own
// runner does. A limit applies per test: for a process that runs several
// tests it runs from the last result the process reported.
const (
	// TimeoutGo is `go test`'s default -timeout (10 minutes per binary).
	TimeoutGo = 10 * time.Minute
	// TimeoutTML is TML's runner default (--timeout=20, per test file).
	TimeoutTML = 20 * time.Second
	// TimeoutOther bounds harnesses whose runners never kill (prove,
	// cargo test, GoogleTest, plain executables; nextest only warns by
	// default): generous, so a hung CI job still ends.
	TimeoutOther = 5 * time.Minute
	// SlowOther is when a test is called slow where the runner has no
	// such limit: libtest's and nextest's 60 seconds.
	SlowOther = 60 * time.Second
)

// DefaultTimeout is the per-test time limit for a harness when neither the
// command line nor the suite's configuration sets one.
func DefaultTimeout(protocol string) time.Duration {
	switch protocol {
	case "gotest":
		return TimeoutGo
	case "tml":
		return TimeoutTML
	}
	return TimeoutOther
}

// DefaultSlow is when a running test is reported as slow, well before it
// is killed: 60 seconds, or half the time limit when that is shorter.
func DefaultSlow(protocol string) time.Duration {
	return min(SlowOther, DefaultTimeout(protocol)/2)
}
