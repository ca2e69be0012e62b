package plan

import (
	"time"

	"github.com/volley-test/volley/internal/event"
)

// Estimator predicts durations from past runs. The zero answer (false)
// means "never seen".
type Estimator interface {
	// Test is the expected duration of one test.
	Test(suite, test string) (time.Duration, bool)
	// Suite is the expected wall time of a whole-suite process.
	Suite(suite string) (time.Duration, bool)
	// Failed reports whether the test (or, with test "", the suite) failed
	// in the last run.
	Failed(suite, test string) bool
	// Parallel is how the test ran beside others of its process last time
	// (a Go test's t.Parallel); 0 when it did not, or is unknown.
	Parallel(suite, test string) event.Parallel
}

// noHistory is the Estimator of a first run.
type noHistory struct{}

func (noHistory) Test(string, string) (time.Duration, bool) { return 0, false }
func (noHistory) Suite(string) (time.Duration, bool)        { return 0, false }
func (noHistory) Failed(string, string) bool                { return false }
func (noHistory) Parallel(string, string) event.Parallel    { return 0 }
