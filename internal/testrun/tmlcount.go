package testrun

import (
	"strconv"
	"time"

	"github.com/volley-test/volley/internal/protocol"
)

// knownCounts gives each tml suite whose test count is not otherwise known
// (no test names) the count its history shows: one more than the highest
// index a past run reported. With a count, the rest of a suite after a
// failure runs all at once instead of being probed for its end.
//
// A suite of known count whose expected duration is longer than a slot's
// share of the whole run (it would be the critical path) is split: each
// test runs by --test-index from the start, spread over free slots. Only
// when its tests are long enough that a process each costs little beside
// them: a suite of 100,000 tests of microseconds stays one --run-all.
func (m *memory) knownCounts(suites []*protocol.Suite, jobs int) {
	var total time.Duration
	for _, s := range suites {
		if d, ok := m.store.SuiteDuration(s.Name); ok {
			total += d
		}
	}
	share := total / time.Duration(max(jobs, 1))
	for _, s := range suites {
		if s.Protocol != "tml" || s.KnownCount > 0 || s.TestNames != nil {
			if s.Protocol == "tml" && s.KnownCount == 0 {
				s.KnownCount = len(s.TestNames)
			}
			continue
		}
		n := 0
		for _, t := range m.store.Tests(s.Name) {
			if i, err := strconv.Atoi(t); err == nil && i >= 0 && strconv.Itoa(i) == t {
				n = max(n, i+1)
			}
		}
		s.KnownCount = n
	}
	for _, s := range suites {
		if s.Protocol != "tml" || max(s.KnownCount, len(s.TestNames)) < 2 {
			continue
		}
		n := max(s.KnownCount, len(s.TestNames))
		if d, ok := m.store.SuiteDuration(s.Name); ok && d > share && d >= minSplit && d/time.Duration(n) >= minSplitMean {
			s.SplitTML = true
		}
	}
}

// minSplit: a suite shorter than this runs as one --run-all whatever its
// share; a process per test would cost more than it saves.
const minSplit = 500 * time.Millisecond

// minSplitMean: a suite is split only when its tests take this long on
// average. A supervised process start costs 10-35 ms of wall and CPU on a
// busy 2-core machine, so a process per test adds at most about a quarter
// to the suite's work.
const minSplitMean = 100 * time.Millisecond
