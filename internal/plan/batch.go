package plan

import (
	"time"
)

// BatchOptions size the batches of the "auto" granularity.
type BatchOptions struct {
	// Startup is the measured cost of starting the suite's process (its
	// list run is a good proxy).
	Startup time.Duration
	// Overhead is the largest share of a batch's time start-up may take
	// (0.05: start-up at most 5% of test time).
	Overhead float64
	// MinUnits is the number of units the whole run wants at least, so
	// every slot stays busy (a few per slot).
	MinUnits int
	// Total is the expected test time of the whole run, for MinUnits.
	Total time.Duration
}

// defaultTestGuess is the duration assumed for a test never seen before.
const defaultTestGuess = 20 * time.Millisecond

// Batches splits tests (in order) into consecutive batches so that a
// process's start-up stays within the overhead share of its batch's test
// time, without making batches so long that too few units remain to keep
// every slot busy. est gives each test's expected duration.
func Batches(tests []string, est func(string) time.Duration, o BatchOptions) [][]string {
	if len(tests) == 0 {
		return nil
	}
	if o.Overhead <= 0 {
		o.Overhead = 0.05
	}
	target := time.Duration(float64(o.Startup) / o.Overhead)
	if o.MinUnits > 0 && o.Total > 0 {
		if cap := o.Total / time.Duration(o.MinUnits); cap < target {
			target = cap
		}
	}
	var out [][]string
	var cur []string
	var sum time.Duration
	for _, t := range tests {
		d := est(t)
		if len(cur) > 0 && sum+d > target {
			out = append(out, cur)
			cur, sum = nil, 0
		}
		cur = append(cur, t)
		sum += d
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
