package cache

import (
	"sort"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/event"
)

const (
	alpha  = 0.3 // weight of the newest duration in the moving average
	recall = 16  // outcomes kept in TestHistory.Recent
)

// TestHistory is what volley remembers of one test across runs, whatever
// its cache key.
type TestHistory struct {
	Suite string `json:"-"`
	Test  string `json:"-"`
	// Duration and CPU are exponentially weighted moving averages (alpha
	// 0.3) over the runs that did not skip.
	Duration time.Duration `json:"dur"`
	CPU      time.Duration `json:"cpu,omitempty"`
	MaxRSS   int64         `json:"rss,omitempty"` // the largest peak RSS seen
	// LastStatus is the status of the latest run ("PASS", "FAIL", ...).
	LastStatus string    `json:"status"`
	PassStreak int       `json:"pass_streak,omitempty"`
	FailStreak int       `json:"fail_streak,omitempty"`
	Runs       int       `json:"runs"`
	LastSeen   int64     `json:"seen"` // the run counter when last run or served from cache
	LastRun    time.Time `json:"time"`
	// Recent holds the latest outcomes, oldest first, one letter each:
	// P(ass) F(ail) S(kip) C(rash) T(imeout) E(rror).
	Recent string `json:"recent"`
	// Parallel is how the test ran beside others of its process in its
	// latest run that did not skip (event.Parallel bits: a Go test's
	// t.Parallel, its own or its subtests').
	Parallel int `json:"parallel,omitempty"`
}

func (h *TestHistory) observe(o Outcome, when time.Time) {
	h.Runs++
	if o.status != event.Skip {
		h.Parallel = int(o.parallel)
		if h.Duration == 0 && h.CPU == 0 {
			h.Duration, h.CPU = o.dur, o.cpu
		} else {
			h.Duration = ewma(h.Duration, o.dur)
			h.CPU = ewma(h.CPU, o.cpu)
		}
	}
	h.MaxRSS = max(h.MaxRSS, o.rss)
	h.LastStatus = o.status.String()
	switch {
	case o.status == event.Pass:
		h.PassStreak++
		h.FailStreak = 0
	case o.status.Failed() || o.status == 0:
		h.FailStreak++
		h.PassStreak = 0
	}
	letter := "?"
	if s := o.status.String(); !strings.HasPrefix(s, "Status(") {
		letter = s[:1]
	}
	h.Recent += letter
	if len(h.Recent) > recall {
		h.Recent = h.Recent[len(h.Recent)-recall:]
	}
	h.LastRun = when
}

func ewma(old, x time.Duration) time.Duration {
	return time.Duration(alpha*float64(x) + (1-alpha)*float64(old))
}

// Flaky reports whether the test's recent outcomes flip between passing and
// failing more than once (skips aside): PFP or FPF, not PPF (just broke) or
// FFP (just fixed).
func (h TestHistory) Flaky() bool {
	flips, prev := 0, byte(0)
	for i := 0; i < len(h.Recent); i++ {
		c := h.Recent[i]
		if c == 'S' {
			continue
		}
		pass := c == 'P'
		if prev != 0 && pass != (prev == 'P') {
			flips++
		}
		prev = c
	}
	return flips >= 2
}

// Test returns the history of one test ("" for a suite that is one test).
func (s *Store) Test(suite, test string) (TestHistory, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.st.History[suite][test]
	if h == nil {
		return TestHistory{}, false
	}
	c := *h
	c.Suite, c.Test = suite, test
	return c, true
}

// SuiteDuration is the expected wall time of running the whole suite in one
// process: the sum of its tests' average durations.
func (s *Store) SuiteDuration(suite string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tests := s.st.History[suite]
	if len(tests) == 0 {
		return 0, false
	}
	var d time.Duration
	for _, h := range tests {
		d += h.Duration
	}
	return d, true
}

// TestID names one test.
type TestID struct{ Suite, Test string }

// Failed lists the tests whose latest recorded run failed (for --failed),
// sorted. A test that failed in an earlier run and was not run since is
// still listed: as far as volley knows it still fails.
func (s *Store) Failed() []TestID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []TestID
	for suite, tests := range s.st.History {
		for test, h := range tests {
			if failed(h.LastStatus) {
				ids = append(ids, TestID{suite, test})
			}
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].Suite != ids[j].Suite {
			return ids[i].Suite < ids[j].Suite
		}
		return ids[i].Test < ids[j].Test
	})
	return ids
}

// Tests lists the tests of suite that the history holds, sorted.
func (s *Store) Tests(suite string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ts []string
	for t := range s.st.History[suite] {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}
