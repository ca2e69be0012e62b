package report

import "github.com/volley-test/volley/internal/event"

// Reporter consumes a run's events, one at a time, in order, from the
// dispatcher goroutine only.
type Reporter interface {
	Event(e *event.Event)
	Close() error // flush; report the first write error seen
}

// Func adapts a function to a Reporter whose Close does nothing.
type Func func(*event.Event)

// Event calls f(e).
func (f Func) Event(e *event.Event) { f(e) }

// Close returns nil.
func (Func) Close() error { return nil }

// Multi returns a Reporter that hands every event to each of rs in order.
// Nil reporters are dropped; Close closes all and returns the first error.
func Multi(rs ...Reporter) Reporter {
	var m multi
	for _, r := range rs {
		switch r := r.(type) {
		case nil:
		case multi:
			m = append(m, r...)
		default:
			m = append(m, r)
		}
	}
	if len(m) == 1 {
		return m[0]
	}
	return m
}

type multi []Reporter

func (m multi) Event(e *event.Event) {
	for _, r := range m {
		r.Event(e)
	}
}

func (m multi) Close() error {
	var first error
	for _, r := range m {
		if err := r.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
