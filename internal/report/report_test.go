package report

import (
	"errors"
	"testing"

	"github.com/volley-test/volley/internal/event"
)

type closeErr struct {
	n   *int
	err error
}

func (c closeErr) Event(*event.Event) { *c.n++ }
func (c closeErr) Close() error       { return c.err }

func TestMulti(t *testing.T) {
	var n int
	e1, e2 := errors.New("one"), errors.New("two")
	var seen []event.Kind
	f := Func(func(e *event.Event) { seen = append(seen, e.Kind) })
	m := Multi(closeErr{&n, nil}, nil, Multi(closeErr{&n, e1}, f), closeErr{&n, e2})
	m.Event(&event.Event{Kind: event.Tick})
	m.Event(&event.Event{Kind: event.RunEnd})
	if n != 6 || len(seen) != 2 || seen[1] != event.RunEnd {
		t.Errorf("events delivered: counters %d, func saw %v", n, seen)
	}
	if err := m.Close(); err != e1 {
		t.Errorf("Close() = %v, want the first error %v", err, e1)
	}
	if one := Multi(nil, f); one == nil {
		t.Error("Multi of one reporter is nil")
	}
	if err := f.Close(); err != nil {
		t.Errorf("Func.Close() = %v", err)
	}
}
