package cache

import (
	"fmt"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// SuiteEntry is what the cache remembers of a suite's last recorded run
// under one key. For a suite that runs as one process (exec, tml run whole)
// the entry is the unit of caching; for a listable harness each TestEntry
// is.
type SuiteEntry struct {
	Suite string      `json:"-"`
	Key   Key         `json:"key"`
	Run   int64       `json:"run"`  // the run that last recorded or used it
	Time  time.Time   `json:"time"` // when
	Tests []TestEntry `json:"tests"`
}

// TestEntry is one test's last recorded outcome under the entry's key.
type TestEntry struct {
	Test     string        `json:"test"` // "" when the suite is the test
	Status   string        `json:"status"`
	Duration time.Duration `json:"dur"`
	CPU      time.Duration `json:"cpu,omitempty"`
	MaxRSS   int64         `json:"rss,omitempty"`
}

// Passed reports whether the whole entry can be served from the cache:
// it has tests and every one passed or was skipped.
func (e *SuiteEntry) Passed() bool {
	if len(e.Tests) == 0 {
		return false
	}
	for _, t := range e.Tests {
		if failed(t.Status) {
			return false
		}
	}
	return true
}

// Result returns test's cached result, if it passed (or was skipped) last
// time; a failing test is never served from the cache.
func (e *SuiteEntry) Result(test string) (*event.Result, bool) {
	for i := range e.Tests {
		if t := &e.Tests[i]; t.Test == test {
			if failed(t.Status) {
				return nil, false
			}
			return e.result(t), true
		}
	}
	return nil, false
}

// Results returns the cached results of every test that passed or was
// skipped, in recorded order: Cached set, the recorded status (PASS or
// SKIP), duration, CPU and peak RSS.
func (e *SuiteEntry) Results() []*event.Result {
	var rs []*event.Result
	for i := range e.Tests {
		if t := &e.Tests[i]; !failed(t.Status) {
			rs = append(rs, e.result(t))
		}
	}
	return rs
}

func (e *SuiteEntry) result(t *TestEntry) *event.Result {
	st, _ := event.ParseStatus(t.Status)
	return &event.Result{
		Suite:    e.Suite,
		Test:     t.Test,
		Status:   st,
		Duration: t.Duration,
		CPU:      t.CPU,
		MaxRSS:   t.MaxRSS,
		Attempt:  1,
		Cached:   true,
	}
}

func (e *SuiteEntry) clone() *SuiteEntry {
	c := *e
	c.Tests = append([]TestEntry(nil), e.Tests...)
	return &c
}

// Lookup returns suite's entry if it was recorded under key (nil
// otherwise), and whether the whole suite is a hit: the key matches and the
// last run of every recorded test passed or was skipped. For a listable
// suite that misses as a whole, entry.Result still serves the tests that
// passed.
func (s *Store) Lookup(suite string, key Key) (entry *SuiteEntry, hit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.st.Suites[suite]
	if e == nil || e.Key.Sum != key.Sum {
		return nil, false
	}
	return e.clone(), e.Passed()
}

// WhyMiss explains, for VOLLEY_DEBUG=cache, why Lookup(suite, key) is not
// a hit; nil when it is one.
func (s *Store) WhyMiss(suite string, key Key) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.st.Suites[suite]
	switch {
	case e == nil:
		return []string{"no previous run recorded"}
	case e.Key.Sum != key.Sum:
		return Explain(e.Key, key)
	case len(e.Tests) == 0:
		return []string{"no results recorded"}
	}
	var why []string
	for _, t := range e.Tests {
		if failed(t.Status) {
			if len(why) == 5 {
				why = append(why, "and more failed")
				break
			}
			why = append(why, fmt.Sprintf("%s was %s last time", event.ID(suite, t.Test), t.Status))
		}
	}
	return why
}

// Record remembers the results of one suite run under key: the cache entry
// (replaced if the key changed, else merged test by test, so a listable
// suite accumulates the tests that passed across runs) and every test's
// history. Results served from the cache (Cached) only mark their tests as
// still present. If any attempt of a test failed, the entry keeps the
// failure, so a test that passed only on retry is not cached. Record keeps
// no reference to results.
func (s *Store) Record(suite string, key Key, results []*event.Result) {
	outs := make([]Outcome, len(results))
	for i, r := range results {
		outs[i] = OutcomeOf(r)
	}
	s.RecordOutcomes(suite, key, outs)
}

// OutcomeOf is what the store keeps of a result: the test, its status,
// duration, CPU and peak memory. A run of many tests records these instead
// of holding every result, output and all, until the end.
func OutcomeOf(r *event.Result) Outcome {
	return Outcome{test: r.Test, status: r.Status, dur: r.Duration, cpu: r.CPU, rss: r.MaxRSS, cached: r.Cached, parallel: r.Parallel}
}

// RecordOutcomes is Record for outcomes taken with OutcomeOf.
func (s *Store) RecordOutcomes(suite string, key Key, tests []Outcome) {
	op := record{suite: suite, key: key, time: time.Now(), tests: tests}
	s.mu.Lock()
	defer s.mu.Unlock()
	op.apply(s.st, s.st.Run+1)
	s.ops = append(s.ops, op)
}

// record is one Record call, kept until Save replays it onto the file.
type record struct {
	suite string
	key   Key
	time  time.Time
	tests []Outcome
}

// Outcome is one test's result as the store records it (see OutcomeOf).
type Outcome struct {
	test     string
	status   event.Status
	dur, cpu time.Duration
	rss      int64
	cached   bool
	parallel event.Parallel
}

func (op *record) apply(st *state, run int64) {
	e := st.Suites[op.suite]
	if e == nil || e.Key.Sum != op.key.Sum {
		e = &SuiteEntry{Suite: op.suite, Key: op.key}
		st.Suites[op.suite] = e
	}
	e.Run, e.Time = run, op.time
	index := make(map[string]int, len(e.Tests))
	for i, t := range e.Tests {
		index[t.Test] = i
	}
	hist := st.History[op.suite]
	if hist == nil {
		hist = map[string]*TestHistory{}
		st.History[op.suite] = hist
	}
	failedHere := map[string]string{}
	for _, o := range op.tests {
		h := hist[o.test]
		if o.cached {
			if h != nil {
				h.LastSeen = run // still there: keep it from being pruned
			}
			continue
		}
		if h == nil {
			h = &TestHistory{}
			hist[o.test] = h
		}
		h.LastSeen = run
		h.observe(o, op.time)
		t := TestEntry{Test: o.test, Status: o.status.String(), Duration: o.dur, CPU: o.cpu, MaxRSS: o.rss}
		if f, ok := failedHere[o.test]; ok && !failed(t.Status) {
			t.Status = f
		}
		if failed(t.Status) {
			failedHere[o.test] = t.Status
		}
		if i, ok := index[o.test]; ok {
			e.Tests[i] = t
		} else {
			index[o.test] = len(e.Tests)
			e.Tests = append(e.Tests, t)
		}
	}
}
