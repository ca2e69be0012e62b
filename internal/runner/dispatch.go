package runner

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/proc"
	"github.com/volley-test/volley/internal/protocol"
)

// Options control a run.
type Options struct {
	Jobs        int           // parallel slots; <= 0 means the CPU count
	Timeout     time.Duration // per test, unless the suite sets its own
	Grace       time.Duration // between SIGTERM and SIGKILL
	MaxFail     int           // stop launching after this many failures; 0 = never
	Tick        time.Duration // Tick event period for live views; 0 = none
	Passthrough bool          // --no-capture: copy child output to volley's own (Local)
	// Cookie marks every child's environment (proc.CookieVar); "" = a fresh one.
	Cookie string
	// MaxOutput bounds the output kept on each result.
	MaxOutput int
	// Keep decides whether a result is reported (filters on test names that
	// can only be applied after the fact); nil keeps all.
	Keep func(suite, test string) bool
	// Env, when set, returns extra environment for a process and a function
	// to call when it is done (coverage destinations).
	Env func(u *protocol.Unit, procID int) (env []string, done func())
	// ExtraArgs, when set, returns arguments placed right after the
	// executable, given the process's environment (Go's -test.gocoverdir).
	ExtraArgs func(u *protocol.Unit, env []string) []string
	// Interrupt delivers the user's interrupts: the first stops the run
	// gracefully, the second kills everything at once.
	Interrupt <-chan os.Signal
	// Inspect asks for a listing of every running test (SIGUSR1, `t`).
	Inspect <-chan os.Signal
	// Suspend delivers the terminal's stop request (SIGTSTP: Ctrl-Z). The
	// dispatcher stops every running test (their whole process trees),
	// calls Stop, which suspends volley itself and returns once it is
	// continued (`fg`), then continues the tests. Time spent stopped counts
	// toward no test's timeout, slow warning or duration.
	Suspend <-chan os.Signal
	Stop    func()
	// TempDir receives capture spill files.
	TempDir string
	// Preset are results decided without running (ignored tests, cached
	// results); they are reported first.
	Preset []*event.Result

	// Retries is the number of extra attempts for a failing test, unless
	// its suite sets its own; RetryBackoff the delay before the first retry,
	// doubled for each further one.
	Retries      int
	RetryBackoff time.Duration
	FlakyFail    bool                          // a test that passed only on a retry counts as failed
	Quarantined  func(suite, test string) bool // failures reported, not counted
	LeakFail     bool                          // a test that leaves processes behind fails
	SlowAfter    time.Duration                 // warn about a test running longer, then again each period
	NoDiagnose   bool                          // kill hung tests without collecting stacks first

	// Groups limits how many processes of a concurrency group run at once.
	Groups map[string]int
	// MemoryBudget, with ExpectedRSS, keeps the expected peak memory of the
	// running processes under a budget (bytes; 0 = no budget).
	MemoryBudget int64
	ExpectedRSS  func(u *protocol.Unit) int64

	// Executor runs the processes; nil means Local (with Passthrough).
	Executor Executor
}

// Dispatcher owns a run's state. Create it with New and call Run once.
type Dispatcher struct {
	o           Options
	emit        func(*event.Event)
	queue       []*protocol.Unit
	delayed     []delayedUnit
	running     map[int]*running
	slots       []bool
	used        int // slots in use, counting threads
	groupUse    map[string]int
	memUse      int64
	stats       event.Stats
	nextID      int
	stopping    bool // no more launches (fail-fast, interrupt)
	interrupted int
	reports     chan report
	baseEnv     []string
	pending     map[*protocol.Suite]int // units queued or running, per suite
	attempts    map[string]int          // attempts so far of tests waiting for a retry, per test id
	fatal       error                   // what stopped the run, if anything did
	now         func() time.Time        // the clock (time.Now)
	guess       time.Duration           // expected time of a unit with no history: the plan's mean; 0 = none known
}

// running is one live process; it belongs to the dispatcher, except req,
// done and capture (safe for concurrent use), shared with its executor.
type running struct {
	id      int
	unit    *protocol.Unit
	slot    int
	start   time.Time
	ran     time.Time // start, moved on by the time volley was stopped (Ctrl-Z): for expected ends
	timeout time.Duration
	capture *Capture
	env     []string
	argv    []string
	cookie  string
	req     chan Request  // requests to the executor (Process.Requests)
	done    chan struct{} // closed when the executor has returned
	pid     int           // 0 until started, and for a process elsewhere
	killed  bool          // timed out: volley is killing it
	stopped bool          // interrupted, or the run stopped: volley is killing it

	deadline time.Time // when the current test times out
	killAt   time.Time // when SIGKILL follows the SIGTERM
	current  string    // the test running now
	curStart time.Time
	segStart int64     // capture offset where the current test's output starts
	cleanup  func()    // run when the process is done
	slowAt   time.Time // when to warn that the current test is slow
	threads  int       // slots it occupies
	rss      int64     // expected peak RSS, for the memory budget
	diag     string    // diagnostics collected at timeout
	leaked   []string  // processes it left behind
	held     []held    // outcomes of a one-test process, until it exits
}

// report is an executor's event about the process of r.
type report struct {
	r *running
	e Event
}

// ask sends the executor of r a request. It never blocks the dispatcher:
// the executor reads requests until it has returned.
func (r *running) ask(q string) { r.askDone(q, nil) }

// askDone is ask with a channel the executor closes once it has passed q on.
func (r *running) askDone(q string, done chan struct{}) {
	rq := Request{Q: q, Done: done}
	select {
	case r.req <- rq:
	default:
		go func() {
			select {
			case r.req <- rq:
			case <-r.done:
			}
		}()
	}
}

// held is an outcome waiting for its process to exit.
type held struct {
	o      protocol.Outcome
	offset int64
	at     time.Time
	start  time.Time // the test's start and output offset when it was held
	seg    int64
}

type delayedUnit struct {
	at time.Time
	u  *protocol.Unit
}

// New prepares a run of units. emit receives every event, from the
// dispatcher goroutine only.
func New(units []*protocol.Unit, o Options, emit func(*event.Event)) *Dispatcher {
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 2 * time.Second
	}
	if o.MaxOutput <= 0 {
		o.MaxOutput = 64 << 10
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 100 * time.Millisecond
	}
	if o.Executor == nil {
		o.Executor = &Local{Passthrough: o.Passthrough}
	}
	if o.Cookie == "" {
		o.Cookie = fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	}
	d := &Dispatcher{
		o:        o,
		emit:     emit,
		queue:    append([]*protocol.Unit(nil), units...),
		running:  map[int]*running{},
		slots:    make([]bool, o.Jobs),
		groupUse: map[string]int{},
		reports:  make(chan report, 64),
		pending:  map[*protocol.Suite]int{},
		attempts: map[string]int{},
		now:      time.Now,
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, proc.CookieVar+"=") {
			d.baseEnv = append(d.baseEnv, kv)
		}
	}
	suites := map[string]bool{}
	for _, r := range o.Preset {
		suites[r.Suite] = true
		d.stats.Expected++
	}
	var known time.Duration
	nknown := 0
	for _, u := range units {
		suites[u.Suite.Name] = true
		d.pending[u.Suite]++
		d.stats.Expected += len(u.Tests)
		if u.Est > 0 {
			known += u.Est
			nknown++
		}
	}
	if nknown > 0 {
		d.guess = known / time.Duration(nknown)
	}
	d.stats.Suites = len(suites)
	return d
}

// Fatal is the error that stopped the run early (a remote platform no
// worker matches), or nil.
func (d *Dispatcher) Fatal() error { return d.fatal }

// Run runs everything and returns the final statistics. The executors'
// ctx is derived from ctx and cancelled at the first interrupt.
func (d *Dispatcher) Run(ctx context.Context) event.Stats {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.stats.Start = d.now()
	d.send(&event.Event{Kind: event.RunStart})
	for _, r := range d.o.Preset {
		if d.o.Keep != nil && !d.o.Keep(r.Suite, r.Test) {
			continue
		}
		d.stats.Count(r)
		d.send(&event.Event{Kind: event.TestEnd, Suite: r.Suite, Test: r.Test, Result: r})
	}
	var tick <-chan time.Time
	if d.o.Tick > 0 {
		t := time.NewTicker(d.o.Tick)
		defer t.Stop()
		tick = t.C
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d.launch(ctx)
		if len(d.running) == 0 && (d.stopping || len(d.queue) == 0 && len(d.delayed) == 0) {
			break
		}
		d.resetTimer(timer)
		select {
		case m := <-d.reports:
			d.handle(m.r, m.e)
		case <-timer.C:
			d.enforce(d.now())
		case <-tick:
			d.stats.Left = d.left(d.now())
			d.send(&event.Event{Kind: event.Tick})
		case <-d.o.Interrupt:
			cancel() // remote actions in flight
			d.interrupt()
		case <-d.o.Inspect:
			d.inspect()
		case <-d.o.Suspend:
			d.suspend()
		}
	}
	if d.stopping {
		for _, u := range d.queue {
			d.stats.NotRun += max(1, len(u.Tests))
		}
		d.stats.NotRun += len(d.delayed)
	}
	cancel()
	d.stats.Wall = d.now().Sub(d.stats.Start)
	d.send(&event.Event{Kind: event.RunEnd})
	return d.stats
}

func (d *Dispatcher) send(e *event.Event) {
	if e.Time.IsZero() {
		e.Time = d.now()
	}
	e.Stats = d.stats
	d.emit(e)
}

// threads is the number of slots a unit occupies.
func (d *Dispatcher) threads(u *protocol.Unit) int {
	n := u.Suite.Threads
	if u.Threads > 0 {
		n = u.Threads
	}
	return min(max(n, 1), d.o.Jobs)
}

// expected is a unit's expected time: its own, or the plan's mean.
func (d *Dispatcher) expected(u *protocol.Unit) time.Duration {
	if u.Est > 0 {
		return u.Est
	}
	return d.guess
}

// reservation is, when the first queued unit waits for slots, when the
// running units are expected to have freed enough of them (at) and how
// many of those it will not need (extra). reserved is false when it does
// not wait for slots, or nothing is known of the units' times.
func (d *Dispatcher) reservation(now time.Time) (at time.Time, extra int, reserved bool) {
	head := d.queue[0]
	need := d.threads(head)
	if d.guess == 0 || d.used+need <= d.o.Jobs {
		return time.Time{}, 0, false
	}
	type end struct {
		at      time.Time
		threads int
	}
	ends := make([]end, 0, len(d.running))
	for _, r := range d.running {
		at := r.ran.Add(d.expected(r.unit))
		if at.Before(now) { // overdue: it may end any moment
			at = now
		}
		ends = append(ends, end{at, r.threads})
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].at.Before(ends[j].at) })
	free := d.o.Jobs - d.used
	for _, e := range ends {
		free += e.threads
		if free >= need {
			return e.at, free - need, true
		}
	}
	return time.Time{}, 0, false
}

// left is the expected wall time still to run, from the units' expected
// times (Unit.Est; units without one take the mean of the plan's known
// ones): the queued and running work spread over the slots, or the longest
// single unit's remainder, whichever is more. 0 when nothing is known.
func (d *Dispatcher) left(now time.Time) time.Duration {
	if d.guess == 0 {
		return 0
	}
	var work, longest time.Duration
	for _, u := range d.queue {
		e := d.expected(u)
		work += e * time.Duration(d.threads(u))
		longest = max(longest, e)
	}
	for _, du := range d.delayed { // retries waiting out their backoff
		e := d.expected(du.u) + max(du.at.Sub(now), 0)
		work += d.expected(du.u) * time.Duration(d.threads(du.u))
		longest = max(longest, e)
	}
	for _, r := range d.running {
		e := max(d.expected(r.unit)-now.Sub(r.ran), 0)
		work += e * time.Duration(r.threads)
		longest = max(longest, e)
	}
	return max(work/time.Duration(d.o.Jobs), longest)
}

// fits reports whether u can start now without exceeding the slots, its
// group's limit or the memory budget. With nothing running, anything fits.
func (d *Dispatcher) fits(u *protocol.Unit) bool {
	return d.used+d.threads(u) <= d.o.Jobs && d.fitsBesidesSlots(u)
}

// fitsBesidesSlots is fits without the count of slots.
func (d *Dispatcher) fitsBesidesSlots(u *protocol.Unit) bool {
	if g := u.Suite.Group; g != "" {
		if lim, ok := d.o.Groups[g]; ok && lim > 0 && d.groupUse[g] >= lim {
			return false
		}
	}
	if d.o.MemoryBudget > 0 && d.o.ExpectedRSS != nil && len(d.running) > 0 {
		if d.memUse+d.o.ExpectedRSS(u) > d.o.MemoryBudget {
			return false
		}
	}
	return true
}

// launch starts queued units while they fit, first come first served but
// letting a unit that fits pass one that must wait. A unit waiting for
// more slots than are free is not starved by narrower ones behind it:
// when the units' expected times are known, it has the slots reserved
// from when the running units are expected to free them, and a unit may
// pass it only if it is expected to end by then or uses slots the reserved
// unit will not need (backfilling). When that wait would be longer than
// the unit itself is expected to run, a batch volley made of parallel Go
// tests (Unit.Threads) starts at once in the free slots instead: a short
// parallel batch does not wait for a long test to end. A suite's own
// threads are always waited for.
func (d *Dispatcher) launch(ctx context.Context) {
	constrained := len(d.o.Groups) > 0 || d.o.MemoryBudget > 0
	for !d.stopping && len(d.queue) > 0 && d.used < d.o.Jobs {
		i := -1
		if !constrained && d.threads(d.queue[0]) == 1 {
			i = 0
		} else {
			now := d.now()
			at, extra, reserved := d.reservation(now)
			if head := d.queue[0]; reserved && head.Threads > 0 && at.Sub(now) > d.expected(head) && d.fitsBesidesSlots(head) {
				// Waiting for its slots would take longer than running
				// it: it runs now in the slots that are free, which it
				// holds (it may use more CPUs for its time).
				u := d.queue[0]
				d.queue = d.queue[1:]
				d.startIn(ctx, u, d.o.Jobs-d.used)
				continue
			}
			for j, u := range d.queue {
				if !d.fits(u) {
					continue
				}
				if j > 0 && reserved && now.Add(d.expected(u)).After(at) && d.threads(u) > extra {
					continue // it would hold slots the first unit has reserved
				}
				i = j
				break
			}
		}
		if i < 0 {
			return
		}
		u := d.queue[i]
		d.queue = append(d.queue[:i], d.queue[i+1:]...)
		d.start(ctx, u)
	}
}

func (d *Dispatcher) start(ctx context.Context, u *protocol.Unit) {
	d.startIn(ctx, u, d.threads(u))
}

// startIn starts u holding threads slots.
func (d *Dispatcher) startIn(ctx context.Context, u *protocol.Unit, threads int) {
	d.nextID++
	slot := 0
	for i, busy := range d.slots {
		if !busy {
			slot = i
			break
		}
	}
	d.slots[slot] = true
	timeout := d.o.Timeout
	if u.Suite.Timeout > 0 {
		timeout = u.Suite.Timeout
	}
	now := d.now()
	r := &running{
		id: d.nextID, unit: u, slot: slot, start: now, ran: now, timeout: timeout,
		capture: NewCapture(d.o.TempDir), deadline: now.Add(timeout), curStart: now,
		threads: threads, cookie: cookie(d.o.Cookie, d.nextID),
		req: make(chan Request, 16), done: make(chan struct{}),
	}
	if d.o.SlowAfter > 0 {
		r.slowAt = now.Add(d.o.SlowAfter)
	}
	if d.o.ExpectedRSS != nil {
		r.rss = d.o.ExpectedRSS(u)
	}
	env := append(append([]string(nil), d.baseEnv...), u.Suite.Env...)
	env = append(env, proc.CookieVar+"="+r.cookie)
	if d.o.Env != nil {
		extra, done := d.o.Env(u, r.id)
		env = append(env, extra...)
		r.cleanup = done
	}
	r.env = env
	r.argv = u.Argv()
	if d.o.ExtraArgs != nil {
		if extra := d.o.ExtraArgs(u, env); len(extra) > 0 {
			n := len(u.Suite.Interpreter) + 1
			r.argv = append(append(append([]string(nil), r.argv[:n]...), extra...), r.argv[n:]...)
		}
	}
	d.running[r.id] = r
	d.used += r.threads
	d.memUse += r.rss
	if g := u.Suite.Group; g != "" {
		d.groupUse[g]++
	}
	d.stats.Running = len(d.running)
	p := &Process{ID: r.id, Unit: u, Argv: r.argv, Env: r.env, Timeout: timeout, Output: r.capture, Requests: r.req}
	go func() {
		defer close(r.done)
		d.o.Executor.Execute(ctx, p, func(e Event) { d.reports <- report{r, e} })
	}()
}

func (d *Dispatcher) procEvent(r *running) *event.Proc {
	return &event.Proc{
		ID: r.id, PID: r.pid, Slot: r.slot, Suite: r.unit.Suite.Name,
		Label: r.unit.Label, Args: r.argv, Start: r.start,
	}
}

// handle acts on an event from the executor of r.
func (d *Dispatcher) handle(r *running, e Event) {
	now := d.now()
	switch e := e.(type) {
	case *Started:
		r.pid = e.PID
		if r.stopped {
			r.ask(proc.ReqKill)
		}
		// The timeout runs from the process's start, not from its launch.
		r.deadline = now.Add(r.timeout)
		d.send(&event.Event{Kind: event.ProcStart, Suite: r.unit.Suite.Name, Proc: d.procEvent(r)})
		d.setCurrent(r, e.Next, now, 0)
	case *Diagnosis:
		d.diagnosed(r, e, now)
	case *Warning:
		d.send(&event.Event{Kind: event.Warn, Suite: r.unit.Suite.Name, Message: e.Message})
	case *Reported:
		d.reported(r, e, nil, now)
		if len(e.Outcomes) > 0 {
			r.deadline = now.Add(r.timeout) // the timeout runs from the last result
			d.setCurrent(r, e.Next, now, e.Offset)
		}
	case *Exited:
		if e.Fatal != nil {
			// What it did not run is not run: the run stops.
			r.stopped = true
		}
		d.reported(r, &e.Reported, e, now)
		d.finish(r, e)
	}
}

// reported counts the outcomes rep carries, ex being the exit that came
// with them, if it did.
func (d *Dispatcher) reported(r *running, rep *Reported, ex *Exited, now time.Time) {
	for _, w := range rep.Warnings {
		d.send(&event.Event{Kind: event.Warn, Suite: r.unit.Suite.Name, Message: w})
	}
	if ex != nil && len(ex.Leaked) > 0 {
		d.leaked(r, rep.Outcomes, ex.Leaked)
	}
	if ex == nil && len(r.unit.Tests) == 1 && len(rep.Outcomes) > 0 {
		// A process that runs one test: its result waits for the exit (a
		// few milliseconds), so it carries the process's CPU and memory.
		for _, o := range rep.Outcomes {
			r.held = append(r.held, held{o, rep.Offset, now, r.curStart, r.segStart})
		}
		return
	}
	if ex != nil {
		for _, h := range r.held {
			r.curStart, r.segStart = h.start, h.seg
			d.result(r, h.o, h.offset, h.at, ex)
		}
		r.held = nil
	}
	for _, o := range rep.Outcomes {
		d.result(r, o, rep.Offset, now, ex)
	}
}

// leaked reports processes a unit left running (already killed by its
// supervisor, which attributes them exactly); outs came with the exit.
// With LeakFail, the test of a process that runs only it fails, whether its
// result came with the exit or before it (held).
func (d *Dispatcher) leaked(r *running, outs []protocol.Outcome, procs []string) {
	d.stats.Leaks++
	verdict := "killed them"
	var one *protocol.Outcome
	switch {
	case len(r.unit.Tests) > 1 || len(r.held)+len(outs) != 1:
	case len(r.held) == 1:
		one = &r.held[0].o
	default:
		one = &outs[0]
	}
	if d.o.LeakFail && one != nil && one.Status == event.Pass {
		one.Status = event.Fail
		one.Reason = "LEAK: left processes running after it exited"
		verdict = "killed them; the test fails (leak = \"fail\")"
	}
	d.send(&event.Event{Kind: event.Warn, Suite: r.unit.Suite.Name, Message: fmt.Sprintf(
		"LEAK %s: left %d process(es) running after it exited: %s; %s",
		r.unit.Label, len(procs), strings.Join(procs, ", "), verdict)})
	r.leaked = procs
}

func (d *Dispatcher) setCurrent(r *running, test string, now time.Time, offset int64) {
	r.current, r.curStart, r.segStart = test, now, offset
	if d.o.SlowAfter > 0 {
		r.slowAt = now.Add(d.o.SlowAfter)
	}
	if test != "" || len(r.unit.Tests) == 0 {
		d.send(&event.Event{Kind: event.TestStart, Suite: r.unit.Suite.Name, Test: test, Proc: d.procEvent(r)})
	}
}
