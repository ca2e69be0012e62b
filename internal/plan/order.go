package plan

import (
	"math/rand"
	"sort"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/protocol"
)

// Order names a unit ordering.
type Order string

// Orderings.
const (
	OrderSmart  Order = "smart"  // last run's failures first, then longest expected first
	OrderName   Order = "name"   // by suite name, then plan order
	OrderRandom Order = "random" // shuffled with a seed
)

// Expected returns a unit's expected wall time and whether any of it is
// known from history. Unknown tests are guessed from their suite's known
// tests, else from defaultTestGuess.
func Expected(u *protocol.Unit, est Estimator) (time.Duration, bool) {
	if est == nil {
		est = noHistory{}
	}
	if len(u.Tests) == 0 {
		return est.Suite(u.Suite.Name)
	}
	// A unit holding several slots (Go tests that call t.Parallel) runs
	// its parallel tests that many at a time; a test whose subtests are
	// parallel took its own time whole.
	w := time.Duration(max(u.Threads, 1))
	var sum time.Duration
	known := 0
	for _, t := range u.Tests {
		if d, ok := est.Test(u.Suite.Name, t); ok {
			if w > 1 && est.Parallel(u.Suite.Name, t)&event.ParallelSelf != 0 {
				d /= w
			}
			sum += d
			known++
		}
	}
	if known == 0 {
		return time.Duration(len(u.Tests)) * defaultTestGuess / w, false
	}
	return sum + time.Duration(len(u.Tests)-known)*(sum/time.Duration(known)), true
}

// Sort orders units in place. Smart ordering puts units holding a test that
// failed last time first, then the longest expected first (LPT scheduling,
// so the run ends as early as the longest unit allows); units never seen
// take the median of the known ones; when none is known, the units that
// list their tests are ordered by their count of tests.
func Sort(units []*protocol.Unit, est Estimator, o Order, seed int64) {
	if est == nil {
		est = noHistory{}
	}
	switch o {
	case OrderName:
		sort.SliceStable(units, func(i, j int) bool { return units[i].Suite.Name < units[j].Suite.Name })
	case OrderRandom:
		r := rand.New(rand.NewSource(seed))
		r.Shuffle(len(units), func(i, j int) { units[i], units[j] = units[j], units[i] })
	default:
		exp := make(map[*protocol.Unit]time.Duration, len(units))
		var known []time.Duration
		for _, u := range units {
			if d, ok := Expected(u, est); ok {
				exp[u] = d
				known = append(known, d)
			}
		}
		if len(known) == 0 {
			// Nothing is known (a first run). Units that list their tests
			// are ordered among themselves by their count of tests, most
			// first, where a long test is likeliest to hide; a unit that
			// lists none (a whole suite) keeps its place, as nothing says
			// how it compares.
			firstRun(units)
		}
		guess := defaultTestGuess
		if len(known) > 0 {
			sort.Slice(known, func(i, j int) bool { return known[i] < known[j] })
			guess = known[len(known)/2]
		}
		for _, u := range units {
			if _, ok := exp[u]; !ok {
				exp[u] = guess
			}
		}
		failed := func(u *protocol.Unit) bool {
			if len(u.Tests) == 0 {
				return est.Failed(u.Suite.Name, "")
			}
			for _, t := range u.Tests {
				if est.Failed(u.Suite.Name, t) {
					return true
				}
			}
			return false
		}
		sort.SliceStable(units, func(i, j int) bool {
			fi, fj := failed(units[i]), failed(units[j])
			if fi != fj {
				return fi
			}
			return exp[units[i]] > exp[units[j]]
		})
	}
}

// firstRun orders the units that list their tests by their count of tests,
// most first (stable), each in a place such a unit held; the others keep
// their places.
func firstRun(units []*protocol.Unit) {
	var at []int
	var listed []*protocol.Unit
	for i, u := range units {
		if len(u.Tests) > 0 {
			at = append(at, i)
			listed = append(listed, u)
		}
	}
	sort.SliceStable(listed, func(i, j int) bool { return len(listed[i].Tests) > len(listed[j].Tests) })
	for k, i := range at {
		units[i] = listed[k]
	}
}
