package testrun

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/cache"
	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/protocol"
)

// memory is the run's view of the store: estimates for planning, the
// result cache, and the recorder of what ran.
type memory struct {
	store   *cache.Store
	explain bool
	noCache bool
	w       io.Writer
	keys    map[string]cache.Key       // by suite name, for suites whose key could be computed
	results map[string][]cache.Outcome // what ran, by suite, until save
	failed  map[string]bool            // "suite::test" and "suite" of last run's failures
	// executor names where the tests run, part of every cache key ("" =
	// locally; see remoteExecutor).
	executor string
}

// openMemory opens the store in c.StateDir, or returns nil, having said
// why on stderr, when it is unusable.
func openMemory(c *Config, stderr io.Writer) *memory {
	dir := c.StateDir
	st, warns, err := cache.Open(dir)
	for _, w := range warns {
		fmt.Fprintf(stderr, "volley: warning: %s\n", w)
	}
	if err != nil {
		fmt.Fprintf(stderr, "volley: warning: history in %s unusable (%v); running without it\n", dir, err)
		return nil
	}
	m := &memory{
		store: st, w: stderr, noCache: c.NoCache,
		explain: c.ExplainCache || strings.Contains(os.Getenv("VOLLEY_DEBUG"), "cache"),
		keys:    map[string]cache.Key{}, results: map[string][]cache.Outcome{}, failed: map[string]bool{},
		executor: remoteExecutor(c),
	}
	for _, id := range st.Failed() {
		m.failed[event.ID(id.Suite, id.Test)] = true
		m.failed[id.Suite] = true
	}
	return m
}

func (m *memory) key(s *protocol.Suite) (cache.Key, bool) {
	if k, ok := m.keys[s.Name]; ok {
		return k, true
	}
	k, err := m.store.Hasher().SuiteKey(s)
	if err != nil {
		fmt.Fprintf(m.w, "volley: warning: cannot compute the cache key of %s (%v); it will run\n", s.Name, err)
		return cache.Key{}, false
	}
	k = k.WithExecutor(m.executor)
	m.keys[s.Name] = k
	return k, true
}

// Suite implements plan.Cache.
func (m *memory) Suite(s *protocol.Suite) ([]*event.Result, bool) {
	k, ok := m.key(s)
	if !ok || m.noCache {
		return nil, false
	}
	e, hit := m.store.Lookup(s.Name, k)
	if !hit {
		m.why(s.Name, k)
		return nil, false
	}
	return e.Results(), true
}

// Test implements plan.Cache.
func (m *memory) Test(s *protocol.Suite, test string) (*event.Result, bool) {
	k, ok := m.key(s)
	if !ok || m.noCache {
		return nil, false
	}
	e, _ := m.store.Lookup(s.Name, k)
	if e == nil {
		m.why(s.Name, k)
		return nil, false
	}
	return e.Result(test)
}

func (m *memory) why(suite string, k cache.Key) {
	if !m.explain {
		return
	}
	reasons := m.store.WhyMiss(suite, k)
	if len(reasons) == 0 {
		return
	}
	fmt.Fprintf(m.w, "volley: cache miss %s: %s\n", suite, strings.Join(reasons, "; "))
	m.explain = m.explain && len(m.keys) < 10000
}

// Test implements plan.Estimator: the smoothed duration of a test.
func (m *memory) TestDuration(suite, test string) (time.Duration, bool) {
	h, ok := m.store.Test(suite, test)
	if !ok || h.Duration <= 0 {
		return 0, false
	}
	return h.Duration, true
}

// estimator adapts memory to plan.Estimator.
type estimator struct{ m *memory }

func (e estimator) Test(suite, test string) (time.Duration, bool) {
	return e.m.TestDuration(suite, test)
}
func (e estimator) Suite(suite string) (time.Duration, bool) { return e.m.store.SuiteDuration(suite) }
func (e estimator) Failed(suite, test string) bool {
	if test == "" {
		return e.m.failed[suite]
	}
	return e.m.failed[event.ID(suite, test)]
}

func (e estimator) Parallel(suite, test string) event.Parallel {
	h, ok := e.m.store.Test(suite, test)
	if !ok {
		return 0
	}
	return event.Parallel(h.Parallel)
}

// selectFailed is --failed: last run's failures, plus tests never seen.
func (m *memory) selectFailed(suite, test string) bool {
	if test == "" {
		_, seen := m.store.SuiteDuration(suite)
		return m.failed[suite] || !seen
	}
	_, seen := m.store.Test(suite, test)
	return m.failed[event.ID(suite, test)] || !seen
}

// expectedRSS is a unit's expected peak memory from history: the largest
// of its tests' (or, for a whole suite, of the suite's known tests').
func (m *memory) expectedRSS(u *protocol.Unit) int64 {
	var peak int64
	if len(u.Tests) == 0 {
		if k, ok := m.keys[u.Suite.Name]; ok {
			if e, _ := m.store.Lookup(u.Suite.Name, k); e != nil {
				for _, t := range e.Tests {
					peak = max(peak, t.MaxRSS)
				}
			}
		}
	}
	for _, t := range u.Tests {
		if h, ok := m.store.Test(u.Suite.Name, t); ok && h.MaxRSS > peak {
			peak = h.MaxRSS
		}
	}
	return peak
}

// observe collects final results for recording.
func (m *memory) observe(e *event.Event) {
	if e.Kind == event.TestEnd && e.Result != nil && !e.Result.Retrying {
		m.results[e.Result.Suite] = append(m.results[e.Result.Suite], cache.OutcomeOf(e.Result))
	}
}

// save records what ran and writes the store.
func (m *memory) save(suites []*protocol.Suite) error {
	for _, s := range suites {
		rs := m.results[s.Name]
		if len(rs) == 0 {
			continue
		}
		if k, ok := m.key(s); ok {
			m.store.RecordOutcomes(s.Name, k, rs)
		}
	}
	return m.store.Save()
}
