package plan

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/protocol"
)

// Options shape a plan.
type Options struct {
	Filter   *Filter
	Est      Estimator // nil: no history
	Jobs     int
	Order    Order
	Seed     int64
	Overhead float64 // start-up share allowed per batch in auto granularity (default 0.05)
}

// Plan is what a run will do.
type Plan struct {
	Units []*protocol.Unit
	// Preset are results decided without running anything: tests the
	// harness marks ignored, suites whose tests could not be listed.
	Preset []*event.Result
	// Keep filters results after the fact, for suites that run whole
	// though only some of their tests were asked for; nil keeps all.
	Keep func(suite, test string) bool
}

// Make plans suites: lists the tests of listable harnesses (in parallel),
// applies the filter, splits into units by each suite's granularity and
// orders them.
func Make(ctx context.Context, suites []*protocol.Suite, o Options) (*Plan, error) {
	if o.Est == nil {
		o.Est = noHistory{}
	}
	if o.Jobs < 1 {
		o.Jobs = 1
	}
	listed, err := listAll(ctx, suites, o.Jobs)
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	partial := map[string]bool{}
	var total time.Duration
	var batched []*listing
	for i, s := range suites {
		pr, err := protocol.Lookup(s.Protocol)
		if err != nil {
			return nil, err
		}
		l := listed[i]
		if l == nil { // not listable: the suite runs whole
			switch {
			case o.Filter.All() || o.Filter.matchID(s.Name):
			case s.Protocol == "tml" && o.Filter.anyIndex(s.Name):
				partial[s.Name] = true
			default:
				continue
			}
			p.Units = append(p.Units, pr.Units(s)...)
			continue
		}
		if l.err != nil {
			p.Preset = append(p.Preset, &event.Result{Suite: s.Name, Status: event.Error, Attempt: 1,
				Reason: fmt.Sprintf("cannot list the tests of %s: %v", s.Name, l.err), ExitCode: -1})
			continue
		}
		var run []string
		for _, t := range l.tests {
			if !o.Filter.Match(s.Name, t.Name) {
				continue
			}
			if t.Ignored && !s.RunIgnored {
				reason := t.Reason
				if reason == "" {
					reason = "ignored by the harness (--run-ignored runs it)"
				}
				p.Preset = append(p.Preset, &event.Result{Suite: s.Name, Test: t.Name, Status: event.Skip, Reason: reason, Attempt: 1})
				continue
			}
			run = append(run, t.Name)
		}
		if len(run) == 0 {
			continue
		}
		l.run = run
		for _, t := range run {
			d, ok := o.Est.Test(s.Name, t)
			if !ok {
				d = defaultTestGuess
			}
			total += d
		}
		batched = append(batched, l)
	}
	for _, l := range batched {
		p.Units = append(p.Units, l.units(o, total)...)
	}
	if len(partial) > 0 {
		f := o.Filter
		p.Keep = func(suite, test string) bool { return !partial[suite] || f.Match(suite, test) }
	}
	Sort(p.Units, o.Est, o.Order, o.Seed)
	return p, nil
}

// listing is one listable suite's tests.
type listing struct {
	suite   *protocol.Suite
	lister  protocol.Lister
	tests   []protocol.Test
	startup time.Duration
	err     error
	run     []string
}

func (l *listing) units(o Options, total time.Duration) []*protocol.Unit {
	s := l.suite
	switch s.Granularity {
	case "suite":
		return []*protocol.Unit{l.lister.Batch(s, l.run)}
	case "test":
		us := make([]*protocol.Unit, len(l.run))
		for i, t := range l.run {
			us[i] = l.lister.Batch(s, []string{t})
		}
		return us
	}
	est := func(t string) time.Duration {
		if d, ok := o.Est.Test(s.Name, t); ok {
			return d
		}
		return defaultTestGuess
	}
	var us []*protocol.Unit
	for _, b := range Batches(l.run, est, BatchOptions{
		Startup: l.startup, Overhead: o.Overhead, MinUnits: 3 * o.Jobs, Total: total,
	}) {
		us = append(us, l.lister.Batch(s, b))
	}
	return us
}

// listAll lists every listable suite, o.Jobs at a time. Entries for
// suites whose harness cannot list are nil.
func listAll(ctx context.Context, suites []*protocol.Suite, jobs int) ([]*listing, error) {
	out := make([]*listing, len(suites))
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, s := range suites {
		pr, err := protocol.Lookup(s.Protocol)
		if err != nil {
			return nil, err
		}
		lister, ok := pr.(protocol.Lister)
		if !ok {
			continue
		}
		l := &listing{suite: s, lister: lister}
		out[i] = l
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			l.tests, l.err = lister.List(ctx, s)
			l.startup = time.Since(start)
		}()
	}
	wg.Wait()
	return out, nil
}
