package plan

import (
	"context"
	"fmt"
	"sort"
	"strings"
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
	// Partition, when set, keeps only this shard's share of the plan.
	Partition *Partition
	// Cache serves unchanged passing results instead of running them.
	Cache Cache
	// Select, when set, keeps only the tests it accepts (--failed); test
	// is "" for a suite whose tests cannot be listed.
	Select func(suite, test string) bool
	// Remote: the tests run on a remote executor, where each action has a
	// machine of its own: Go tests that call t.Parallel are not grouped
	// into units holding several slots.
	Remote bool
	// ListEnv is added to the environment of every process listing starts:
	// the run's mark (proc.CookieVar), so that what a listing leaves
	// behind is found and killed with the rest of the run.
	ListEnv []string
}

// Cache is the result cache as the planner sees it.
type Cache interface {
	// Suite returns the cached results of a whole suite, when its key is
	// unchanged and everything in it passed last time.
	Suite(s *protocol.Suite) ([]*event.Result, bool)
	// Test returns the cached result of one listed test.
	Test(s *protocol.Suite, test string) (*event.Result, bool)
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
	// Share describes this shard's part of the plan, when partitioned:
	// "shard 2/4 (time): 903 of 3632 tests, 118 of 454 suites".
	Share string
	// Items is every test id (or suite, when its tests are unknown) the
	// plan covers, before partitioning.
	Items []string
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
	listed, err := listAll(ctx, suites, o.Jobs, o.ListEnv)
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	partial := map[string]bool{}
	var total time.Duration
	var batched []*listing
	type whole struct {
		s  *protocol.Suite
		pr protocol.Protocol
	}
	var wholes []whole
	for i, s := range suites {
		pr, err := protocol.Lookup(s.Protocol)
		if err != nil {
			return nil, err
		}
		l := listed[i]
		if l == nil { // not listable: the suite runs whole
			if o.Select != nil && !o.Select(s.Name, "") {
				continue
			}
			switch {
			case o.Filter.All() || o.Filter.matchID(s.Name):
			case s.Protocol == "tml" && o.Filter.anyIndex(s.Name):
				partial[s.Name] = true
			default:
				continue
			}
			if o.Cache != nil {
				if rs, ok := o.Cache.Suite(s); ok {
					p.Preset = append(p.Preset, rs...)
					continue
				}
			}
			wholes = append(wholes, whole{s, pr})
			continue
		}
		if l.err != nil {
			p.Preset = append(p.Preset, &event.Result{Suite: s.Name, Status: event.Error, Attempt: 1,
				Reason: fmt.Sprintf("cannot list the tests of %s: %v", s.Name, l.err), ExitCode: -1})
			continue
		}
		var run []string
		for _, t := range l.tests {
			if !o.Filter.Match(s.Name, t.Name) || o.Select != nil && !o.Select(s.Name, t.Name) {
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
			if o.Cache != nil {
				if r, ok := o.Cache.Test(s, t.Name); ok {
					p.Preset = append(p.Preset, r)
					continue
				}
			}
			run = append(run, t.Name)
		}
		if len(run) == 0 {
			continue
		}
		l.run = run
		batched = append(batched, l)
	}

	// Shard: every listed test, and every whole suite, is one item.
	var items []item
	for _, w := range wholes {
		d, ok := o.Est.Suite(w.s.Name)
		if !ok {
			d = defaultTestGuess * 8
		}
		items = append(items, item{suite: w.s.Name, est: d})
	}
	for _, l := range batched {
		for _, t := range l.run {
			d, ok := o.Est.Test(l.suite.Name, t)
			if !ok {
				d = defaultTestGuess
			}
			items = append(items, item{suite: l.suite.Name, test: t, est: d})
		}
	}
	// Results decided without running (cached, ignored) are items too, so
	// each is reported by exactly one shard.
	for _, r := range p.Preset {
		items = append(items, item{suite: r.Suite, test: r.Test})
	}
	for _, it := range items {
		p.Items = append(p.Items, it.id())
	}
	if o.Partition != nil {
		sort.SliceStable(items, func(i, j int) bool { return items[i].id() < items[j].id() })
		if o.Partition.Strategy == "slice" {
			sort.SliceStable(items, func(i, j int) bool { return items[i].est > items[j].est })
		}
		shards := o.Partition.shardOf(items)
		mine := map[string]bool{}
		for i, it := range items {
			if shards[i] == o.Partition.K-1 {
				mine[it.id()] = true
			}
		}
		presets := p.Preset[:0]
		for _, r := range p.Preset {
			if mine[event.ID(r.Suite, r.Test)] {
				presets = append(presets, r)
			}
		}
		p.Preset = presets
		kept := wholes[:0]
		for _, w := range wholes {
			if mine[w.s.Name] {
				kept = append(kept, w)
			}
		}
		wholes = kept
		keptL := batched[:0]
		for _, l := range batched {
			var run []string
			for _, t := range l.run {
				if mine[event.ID(l.suite.Name, t)] {
					run = append(run, t)
				}
			}
			if len(run) > 0 {
				l.run = run
				keptL = append(keptL, l)
			}
		}
		batched = keptL
		p.Share = fmt.Sprintf("shard %d/%d (%s): %d of %d tests or whole suites", o.Partition.K, o.Partition.N,
			o.Partition.Strategy, len(mine), len(items))
	}
	for _, w := range wholes {
		p.Units = append(p.Units, w.pr.Units(w.s)...)
	}
	for _, l := range batched {
		for _, t := range l.run {
			d, ok := o.Est.Test(l.suite.Name, t)
			if !ok {
				d = defaultTestGuess
			}
			total += d
		}
	}
	for _, l := range batched {
		p.Units = append(p.Units, l.units(o, total, len(wholes)+len(batched))...)
	}
	if len(partial) > 0 {
		f := o.Filter
		p.Keep = func(suite, test string) bool { return !partial[suite] || f.Match(suite, test) }
	}
	Sort(p.Units, o.Est, o.Order, o.Seed)
	for _, u := range p.Units {
		if d, ok := Expected(u, o.Est); ok {
			u.Est = d
		}
	}
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

func (l *listing) units(o Options, total time.Duration, suites int) []*protocol.Unit {
	s := l.suite
	grouped := parallelizable(s) && o.Jobs > 1 && !o.Remote
	subs := func(tests []string) bool {
		for _, t := range tests {
			if o.Est.Parallel(s.Name, t)&event.ParallelSubtests != 0 {
				return true
			}
		}
		return false
	}
	switch s.Granularity {
	case "suite":
		return protocol.Fit(l.lister, s, l.run)
	case "test":
		us := make([]*protocol.Unit, len(l.run))
		for i, t := range l.run {
			us[i] = l.lister.Batch(s, []string{t})
			if grouped && subs(us[i].Tests) {
				protocol.GoParallel(us[i], o.Jobs, true)
			}
		}
		return us
	}
	est := func(t string) time.Duration {
		if d, ok := o.Est.Test(s.Name, t); ok {
			return d
		}
		return defaultTestGuess
	}
	serial, par := l.run, []string(nil)
	if grouped {
		serial = nil
		for _, t := range l.run {
			if o.Est.Parallel(s.Name, t) != 0 {
				par = append(par, t)
			} else {
				serial = append(serial, t)
			}
		}
		if len(par) == 1 && !subs(par) { // one t.Parallel test alone runs alone
			serial, par = l.run, nil
		}
	}
	us := l.batches(o, serial, est, total, suites)
	if len(par) == 0 {
		return us
	}
	// The tests that ran in parallel last time run together in batches
	// that hold as many slots as they may use at once, with go test's
	// -test.parallel set to that: never more at once than the slots held.
	// A batch has at least as many of them as it may run at once, or it
	// could not use its slots.
	w := min(o.Jobs, len(par))
	if subs(par) {
		w = o.Jobs
	}
	var batches [][]string
	var cur []string
	for _, b := range Batches(par, func(t string) time.Duration { return est(t) / time.Duration(w) }, BatchOptions{
		Startup: l.startup, Overhead: o.Overhead, MinUnits: 3 * o.Jobs, Total: total,
	}) {
		cur = append(cur, b...)
		if len(cur) >= w || subs(cur) {
			batches, cur = append(batches, cur), nil
		}
	}
	if len(cur) > 0 {
		if n := len(batches); n > 0 {
			batches[n-1] = append(batches[n-1], cur...)
		} else {
			batches = append(batches, cur)
		}
	}
	for _, b := range batches {
		for _, u := range protocol.Fit(l.lister, s, b) {
			protocol.GoParallel(u, o.Jobs, subs(u.Tests))
			us = append(us, u)
		}
	}
	return us
}

// parallelizable reports whether the suite's tests may be grouped by
// parallelism: Go tests, in a suite that sets neither its slots (threads)
// nor -test.parallel itself.
func parallelizable(s *protocol.Suite) bool {
	if s.Protocol != "gotest" || s.Threads > 1 {
		return false
	}
	for _, a := range s.Args {
		if strings.HasPrefix(strings.TrimLeft(a, "-"), "test.parallel") {
			return false
		}
	}
	return true
}

// batches is the auto granularity's split of tests into units.
func (l *listing) batches(o Options, tests []string, est func(string) time.Duration, total time.Duration, suites int) []*protocol.Unit {
	if len(tests) == 0 {
		return nil
	}
	s := l.suite
	// With enough suites to keep every slot busy, a suite no longer than a
	// slot's share of the run is not split: each extra process would pay
	// the suite's start-up (and its set-up) again for nothing.
	if suites >= 3*o.Jobs {
		var sum time.Duration
		for _, t := range tests {
			sum += est(t)
		}
		if sum <= total/time.Duration(max(o.Jobs, 1)) {
			return protocol.Fit(l.lister, s, tests)
		}
	}
	var us []*protocol.Unit
	for _, b := range Batches(tests, est, BatchOptions{
		Startup: l.startup, Overhead: o.Overhead, MinUnits: 3 * o.Jobs, Total: total,
	}) {
		us = append(us, protocol.Fit(l.lister, s, b)...)
	}
	return us
}

// listAll lists every listable suite, jobs at a time, env added to the
// listing processes' environment. Entries for suites whose harness cannot
// list are nil.
func listAll(ctx context.Context, suites []*protocol.Suite, jobs int, env []string) ([]*listing, error) {
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
			l.tests, l.err = lister.List(ctx, s, env)
			l.startup = time.Since(start)
		}()
	}
	wg.Wait()
	return out, nil
}
