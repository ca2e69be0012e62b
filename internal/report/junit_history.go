package report

import (
	"github.com/volley-test/volley/internal/event"
)

// This file holds what the whole-document reporters (JUnit, HTML,
// annotations) remember of a run: every test with all its attempts.

// attempt is one result as the file reporters keep it: the result without
// its raw output, and that output cleaned and bounded.
type attempt struct {
	*event.Result
	out string // outputTail of the result
}

// record is one test and its attempts, in order. A rerun (Attempt > 1) of a
// test whose latest attempt failed joins that test's record; anything else
// starts a new record.
type record struct {
	attempts []attempt
}

// last is the attempt that decides the test's outcome.
func (t *record) last() attempt { return t.attempts[len(t.attempts)-1] }

// first is the first attempt.
func (t *record) first() attempt { return t.attempts[0] }

// failed reports whether the test's latest attempt failed.
func (t *record) failed() bool { return failed(t.last().Result) }

// flaky reports whether the test failed and then did not: it passed (or was
// skipped) on a rerun.
func (t *record) flaky() bool { return len(t.attempts) > 1 && !t.failed() }

// history is every test of a run, in the order each first ended.
type history struct {
	tests []*record
	open  map[string]*record // by id: tests whose latest attempt failed, awaiting a rerun
	// keepOut decides whether an attempt's output is kept; nil keeps all.
	keepOut func(*event.Result) bool
}

// add records a result.
func (h *history) add(r *event.Result) *record {
	c := *r
	c.Output = nil
	a := attempt{Result: &c}
	if h.keepOut == nil || h.keepOut(r) {
		a.out = outputTail(r, maxFileOutput)
	}
	id := r.ID()
	t := h.open[id]
	if t == nil || r.Attempt <= 1 {
		t = &record{}
		h.tests = append(h.tests, t)
	}
	t.attempts = append(t.attempts, a)
	if failed(r) {
		if h.open == nil {
			h.open = map[string]*record{}
		}
		h.open[id] = t
	} else {
		delete(h.open, id)
	}
	return t
}
