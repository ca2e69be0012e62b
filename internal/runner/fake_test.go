package runner_test

// A fake executor and a harness that drives the dispatcher with it: no
// process is started and nothing sleeps. A fake process reports what the
// test tells it to, when it tells it to, and the harness waits for the
// dispatcher to have acted on it before it returns.

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/protocol"
	"github.com/volley-test/volley/internal/runner"
)

// patience bounds every wait of the harness: a dispatcher that has not
// acted after it is stuck.
const patience = 10 * time.Second

// fake is a runner.Executor whose processes are driven by the test.
type fake struct {
	procs chan *fakeProc // every process the dispatcher starts
}

// fakeProc is one process of the fake executor.
type fakeProc struct {
	*runner.Process
	ctx    context.Context
	report func(runner.Event)
	reqs   chan string   // the dispatcher's requests, in order
	end    chan struct{} // closed once the test has reported its exit
}

// Execute implements runner.Executor: it hands the process to the test and
// passes the dispatcher's requests on until the test has ended it.
func (f *fake) Execute(ctx context.Context, p *runner.Process, report func(runner.Event)) {
	fp := &fakeProc{Process: p, ctx: ctx, report: report, reqs: make(chan string, 64), end: make(chan struct{})}
	f.procs <- fp
	for {
		select {
		case rq := <-p.Requests:
			fp.reqs <- rq.Q
			rq.Carried()
		case <-fp.end:
			return
		}
	}
}

// name is the suite of the process.
func (fp *fakeProc) name() string { return fp.Unit.Suite.Name }

// sched runs a dispatcher on the fake executor.
type sched struct {
	t         *testing.T
	d         *runner.Dispatcher // its Fatal may be read once wait has returned
	fake      *fake
	now       func() time.Time
	inspect   chan os.Signal
	interrupt chan os.Signal
	suspend   chan os.Signal
	stats     chan event.Stats
	live      map[int]*fakeProc // started by the dispatcher and not yet ended by the test

	mu      sync.Mutex
	events  []*event.Event
	changed chan struct{} // closed and replaced at every event
}

// newSched starts a run of units with o on the fake executor; now, when
// set, is the dispatcher's clock.
func newSched(t *testing.T, o runner.Options, now func() time.Time, units ...*protocol.Unit) *sched {
	t.Helper()
	h := &sched{
		t: t, fake: &fake{procs: make(chan *fakeProc, 1000)}, now: now,
		inspect: make(chan os.Signal, 1), interrupt: make(chan os.Signal, 1), suspend: make(chan os.Signal, 1),
		stats: make(chan event.Stats, 1), live: map[int]*fakeProc{}, changed: make(chan struct{}),
	}
	if h.now == nil {
		h.now = time.Now
	}
	o.Executor = h.fake
	o.Inspect, o.Interrupt, o.Suspend = h.inspect, h.interrupt, h.suspend
	if o.TempDir == "" {
		o.TempDir = t.TempDir()
	}
	d := runner.New(units, o, func(e *event.Event) {
		h.mu.Lock()
		h.events = append(h.events, e)
		close(h.changed)
		h.changed = make(chan struct{})
		h.mu.Unlock()
	})
	if now != nil {
		d.SetClock(now)
	}
	h.d = d
	go func() { h.stats <- d.Run(t.Context()) }()
	return h
}

// units are the units of exec suites, one each, named and set up by set.
func units(names []string, set func(*protocol.Suite)) []*protocol.Unit {
	var us []*protocol.Unit
	for _, n := range names {
		s := &protocol.Suite{Name: n, Path: "/fake/" + n, Protocol: "exec"}
		if set != nil {
			set(s)
		}
		us = append(us, protocol.Exec{}.Units(s)...)
	}
	return us
}

// mark is the number of events so far.
func (h *sched) mark() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

// waitEvent returns the first event from the mark-th on that ok accepts,
// waiting for it.
func (h *sched) waitEvent(mark int, what string, ok func(*event.Event) bool) *event.Event {
	h.t.Helper()
	timeout := time.After(patience)
	for {
		h.mu.Lock()
		for _, e := range h.events[mark:] {
			if ok(e) {
				h.mu.Unlock()
				return e
			}
		}
		mark = len(h.events)
		changed := h.changed
		h.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			h.t.Fatalf("no %s after %s", what, patience)
		}
	}
}

// settle waits until the dispatcher has started everything it will start
// now, and returns its running processes in the order they started.
func (h *sched) settle() []*fakeProc {
	h.t.Helper()
	mark := h.mark()
	h.inspect <- syscall.SIGUSR1
	var n int
	h.waitEvent(mark, "inspection", func(e *event.Event) bool {
		_, err := fmt.Sscanf(e.Message, "%d running,", &n)
		return e.Kind == event.Info && err == nil
	})
	timeout := time.After(patience)
	for len(h.live) < n {
		select {
		case fp := <-h.fake.procs:
			h.live[fp.ID] = fp
		case <-timeout:
			h.t.Fatalf("%d processes reached the executor, the dispatcher runs %d", len(h.live), n)
		}
	}
	if len(h.live) != n {
		h.t.Fatalf("%d processes reached the executor, the dispatcher runs %d", len(h.live), n)
	}
	return h.running()
}

// running are the processes not yet ended, in the order they started.
func (h *sched) running() []*fakeProc {
	var ps []*fakeProc
	for _, fp := range h.live {
		ps = append(ps, fp)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	return ps
}

// next waits for the next process the dispatcher starts (after a retry's
// backoff, say).
func (h *sched) next() *fakeProc {
	h.t.Helper()
	select {
	case fp := <-h.fake.procs:
		h.live[fp.ID] = fp
		return fp
	case <-time.After(patience):
		h.t.Fatalf("no process started after %s", patience)
		return nil
	}
}

// start reports fp started.
func (h *sched) start(fp *fakeProc) {
	h.t.Helper()
	mark := h.mark()
	fp.report(&runner.Started{PID: 100000 + fp.ID})
	h.waitEvent(mark, "ProcStart", func(e *event.Event) bool { return e.Kind == event.ProcStart && e.Proc.ID == fp.ID })
}

// exit reports fp's exit and waits for the dispatcher to have taken it.
func (h *sched) exit(fp *fakeProc, x runner.Exited) {
	h.t.Helper()
	if x.End.IsZero() {
		x.End = h.now()
	}
	mark := h.mark()
	fp.report(&x)
	close(fp.end)
	h.waitEvent(mark, "ProcEnd", func(e *event.Event) bool { return e.Kind == event.ProcEnd && e.Proc.ID == fp.ID })
	delete(h.live, fp.ID)
}

// pass ends fp with exit code 0, its test passed.
func (h *sched) pass(fp *fakeProc) {
	h.t.Helper()
	h.exit(fp, runner.Exited{Reported: runner.Reported{Outcomes: []protocol.Outcome{{Status: event.Pass}}}})
}

// fail ends fp with exit code 1, its test failed.
func (h *sched) fail(fp *fakeProc) {
	h.t.Helper()
	h.exit(fp, runner.Exited{
		Reported: runner.Reported{Outcomes: []protocol.Outcome{{Status: event.Fail, ExitCode: 1, Reason: "exit code 1"}}},
		Exit:     protocol.Exit{Code: 1},
	})
}

// request waits for the next request fp gets.
func (h *sched) request(fp *fakeProc) string {
	h.t.Helper()
	select {
	case q := <-fp.reqs:
		return q
	case <-time.After(patience):
		h.t.Fatalf("%s got no request after %s", fp.name(), patience)
		return ""
	}
}

// wait waits for the run to end and returns its statistics; no process
// may be left to the executor.
func (h *sched) wait() event.Stats {
	h.t.Helper()
	select {
	case st := <-h.stats:
		select {
		case fp := <-h.fake.procs:
			h.t.Errorf("%s was started after the last inspection and never ended", fp.name())
		default:
		}
		return st
	case <-time.After(patience):
		h.t.Fatalf("the run has not ended after %s", patience)
		return event.Stats{}
	}
}

// results are the TestEnd results, in order.
func (h *sched) results() []*event.Result {
	h.mu.Lock()
	defer h.mu.Unlock()
	var rs []*event.Result
	for _, e := range h.events {
		if e.Kind == event.TestEnd {
			rs = append(rs, e.Result)
		}
	}
	return rs
}

// messages are the messages of the events of kind k.
func (h *sched) messages(k event.Kind) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.events {
		if e.Kind == k {
			out = append(out, e.Message)
		}
	}
	return out
}

// names are the suites of ps.
func names(ps []*fakeProc) string {
	var s []string
	for _, fp := range ps {
		s = append(s, fp.name())
	}
	return fmt.Sprint(s)
}
