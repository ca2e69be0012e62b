package runner

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/proc"
	"github.com/volley-test/volley/internal/protocol"
)

// Options control a run.
type Options struct {
	Jobs        int           // parallel processes; <= 0 means the CPU count
	Timeout     time.Duration // per test, unless the suite sets its own
	Grace       time.Duration // between SIGTERM and SIGKILL
	MaxFail     int           // stop launching after this many failures; 0 = never
	Tick        time.Duration // Tick event period for live views; 0 = none
	Passthrough bool          // --no-capture: copy child output to volley's own
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
	// Interrupt delivers the user's interrupts: the first stops the run
	// gracefully, the second kills everything at once.
	Interrupt <-chan os.Signal
	// TempDir receives capture spill files.
	TempDir string
	// Preset are results decided without running (ignored tests, cached
	// results); they are reported first.
	Preset []*event.Result
}

// Dispatcher owns a run's state. Create it with New and call Run once.
type Dispatcher struct {
	o           Options
	emit        func(*event.Event)
	queue       []*protocol.Unit
	running     map[int]*running
	slots       []bool
	stats       event.Stats
	nextID      int
	stopping    bool // no more launches (fail-fast, interrupt)
	interrupted int
	msgs        chan msg
	baseEnv     []string
	pending     map[*protocol.Suite]int // units queued or running, per suite
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
	if o.Cookie == "" {
		o.Cookie = fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	}
	d := &Dispatcher{
		o:       o,
		emit:    emit,
		queue:   append([]*protocol.Unit(nil), units...),
		running: map[int]*running{},
		slots:   make([]bool, o.Jobs),
		msgs:    make(chan msg, 64),
		pending: map[*protocol.Suite]int{},
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
	for _, u := range units {
		suites[u.Suite.Name] = true
		d.pending[u.Suite]++
		d.stats.Expected += len(u.Tests)
	}
	d.stats.Suites = len(suites)
	return d
}

// Run runs everything and returns the final statistics.
func (d *Dispatcher) Run() event.Stats {
	d.stats.Start = time.Now()
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
		d.launch()
		if len(d.running) == 0 && (d.stopping || len(d.queue) == 0) {
			break
		}
		d.resetTimer(timer)
		select {
		case m := <-d.msgs:
			d.handle(m)
		case now := <-timer.C:
			d.enforce(now)
		case <-tick:
			d.send(&event.Event{Kind: event.Tick})
		case <-d.o.Interrupt:
			d.interrupt()
		}
	}
	for _, u := range d.queue {
		if d.stopping {
			d.stats.NotRun += max(1, len(u.Tests))
		}
	}
	d.stats.Wall = time.Since(d.stats.Start)
	d.send(&event.Event{Kind: event.RunEnd})
	return d.stats
}

func (d *Dispatcher) send(e *event.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Stats = d.stats
	d.emit(e)
}

// launch starts queued units while slots are free.
func (d *Dispatcher) launch() {
	for !d.stopping && len(d.queue) > 0 && len(d.running) < d.o.Jobs {
		u := d.queue[0]
		d.queue = d.queue[1:]
		d.start(u)
	}
}

func (d *Dispatcher) start(u *protocol.Unit) {
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
	now := time.Now()
	r := &running{
		id: d.nextID, unit: u, slot: slot, start: now, timeout: timeout,
		capture: NewCapture(d.o.TempDir), deadline: now.Add(timeout), curStart: now,
	}
	env := append(append([]string(nil), d.baseEnv...), u.Suite.Env...)
	env = append(env, proc.CookieVar+"="+cookie(d.o.Cookie, r.id))
	if d.o.Env != nil {
		extra, done := d.o.Env(u, r.id)
		env = append(env, extra...)
		r.cleanup = done
	}
	r.env = env
	d.running[r.id] = r
	d.stats.Running = len(d.running)
	go execute(r, d.msgs, d.o.Passthrough)
}

func (d *Dispatcher) procEvent(r *running) *event.Proc {
	return &event.Proc{
		ID: r.id, PID: int(r.pid.Load()), Slot: r.slot, Suite: r.unit.Suite.Name,
		Label: r.unit.Label, Args: r.unit.Argv(), Start: r.start,
	}
}

func (d *Dispatcher) handle(m msg) {
	r := m.r
	now := time.Now()
	if m.started {
		if r.stopped.Load() {
			proc.KillGroup(int(r.pid.Load()), syscall.SIGKILL)
		}
		d.send(&event.Event{Kind: event.ProcStart, Suite: r.unit.Suite.Name, Proc: d.procEvent(r)})
		d.setCurrent(r, m.next, now, 0)
		return
	}
	for _, w := range m.warns {
		d.send(&event.Event{Kind: event.Warn, Suite: r.unit.Suite.Name, Message: w})
	}
	for _, o := range m.outcomes {
		d.result(r, o, m.offset, now, m.exited)
	}
	if m.exited == nil {
		if len(m.outcomes) > 0 {
			r.deadline = now.Add(r.timeout) // the timeout runs from the last result
			d.setCurrent(r, m.next, now, m.offset)
		}
		return
	}
	d.finish(r, m.exited)
}

func (d *Dispatcher) setCurrent(r *running, test string, now time.Time, offset int64) {
	r.current, r.curStart, r.segStart = test, now, offset
	if test != "" || len(r.unit.Tests) == 0 {
		d.send(&event.Event{Kind: event.TestStart, Suite: r.unit.Suite.Name, Test: test, Proc: d.procEvent(r)})
	}
}

func (d *Dispatcher) result(r *running, o protocol.Outcome, offset int64, now time.Time, ex *exitInfo) {
	if d.o.Keep != nil && !d.o.Keep(r.unit.Suite.Name, o.Test) {
		r.segStart = offset
		return
	}
	if r.stopped.Load() && ex != nil {
		// Killed by an interrupt: what it did not report did not run.
		d.stats.NotRun++
		return
	}
	out, dropped := r.capture.Segment(r.segStart, offset, d.o.MaxOutput)
	if o.Status.Failed() && o.Status != event.Fail && len(out) == 0 {
		// A crash between tests: show the process's last output.
		out, dropped = r.capture.Segment(0, offset, d.o.MaxOutput)
	}
	res := &event.Result{
		Suite: r.unit.Suite.Name, Test: o.Test, Status: o.Status, Reason: o.Reason,
		Start: r.curStart, Duration: now.Sub(r.curStart), Output: out, Truncated: dropped,
		ExitCode: o.ExitCode, Proc: r.id, Slot: r.slot, Attempt: 1,
	}
	if ex != nil {
		res.Signal = ex.x.Signal
		if len(r.unit.Tests) <= 1 {
			res.CPU, res.MaxRSS = ex.cpu, ex.maxRSS
		}
	}
	d.stats.Count(res)
	if d.o.MaxFail > 0 && d.stats.Failed >= d.o.MaxFail && !d.stopping {
		d.stopping = true
	}
	d.send(&event.Event{Kind: event.TestEnd, Suite: res.Suite, Test: res.Test, Result: res})
	r.segStart = offset
	r.curStart = now
}

func (d *Dispatcher) finish(r *running, ex *exitInfo) {
	for _, pid := range proc.Orphans(cookie(d.o.Cookie, r.id)) {
		cmd := proc.Cmdline(pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		d.send(&event.Event{Kind: event.Warn, Suite: r.unit.Suite.Name, Message: fmt.Sprintf(
			"%s left process %d (%s) running after it exited; killed it", r.unit.Label, pid, cmd)})
	}
	delete(d.running, r.id)
	d.slots[r.slot] = false
	d.stats.Running = len(d.running)
	d.stats.CPU += ex.cpu
	d.pending[r.unit.Suite]--
	if !d.stopping {
		d.pending[r.unit.Suite] += len(ex.followUp)
	}
	if d.pending[r.unit.Suite] == 0 {
		d.stats.SuitesDone++
	}
	p := d.procEvent(r)
	p.End, p.CPU, p.MaxRSS = ex.end, ex.cpu, ex.maxRSS
	p.ExitCode, p.Signal, p.TimedOut = ex.x.Code, ex.x.Signal, ex.x.TimedOut
	p.Output = r.capture.Len()
	if ex.x.Err != nil {
		p.Err = ex.x.Err.Error()
	}
	d.send(&event.Event{Kind: event.ProcEnd, Suite: r.unit.Suite.Name, Proc: p})
	if r.cleanup != nil {
		r.cleanup()
	}
	r.capture.Close()
	if !d.stopping {
		// Follow-ups (the rest of a crashed suite) go first.
		d.queue = append(append([]*protocol.Unit(nil), ex.followUp...), d.queue...)
	}
}

// resetTimer arms timer for the earliest deadline of the running processes.
func (d *Dispatcher) resetTimer(t *time.Timer) {
	var next time.Time
	for _, r := range d.running {
		at := r.deadline
		if !r.killAt.IsZero() {
			at = r.killAt
		} else if r.killed.Load() || r.stopped.Load() {
			continue
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	if next.IsZero() {
		next = time.Now().Add(time.Hour)
	}
	t.Reset(time.Until(next))
}

// enforce applies timeouts and kill deadlines that have passed.
func (d *Dispatcher) enforce(now time.Time) {
	for _, r := range d.running {
		pid := int(r.pid.Load())
		switch {
		case !r.killAt.IsZero():
			if !now.Before(r.killAt) {
				proc.KillGroup(pid, syscall.SIGKILL)
				r.killAt = time.Time{}
			}
		case !r.killed.Load() && !r.stopped.Load() && !now.Before(r.deadline) && pid > 0:
			r.killed.Store(true)
			proc.KillGroup(pid, syscall.SIGTERM)
			r.killAt = now.Add(d.o.Grace)
		}
	}
}

// interrupt handles SIGINT/SIGTERM: the first stops launching and terminates
// running groups (SIGKILL after the grace); the second kills at once.
func (d *Dispatcher) interrupt() {
	d.interrupted++
	d.stopping = true
	d.stats.Interrupted = true
	now := time.Now()
	for _, r := range d.running {
		r.stopped.Store(true)
		pid := int(r.pid.Load())
		if d.interrupted == 1 {
			proc.KillGroup(pid, syscall.SIGTERM)
			r.killAt = now.Add(d.o.Grace)
		} else {
			proc.KillGroup(pid, syscall.SIGKILL)
			r.killAt = time.Time{}
		}
	}
	msg := "interrupted: stopping running tests (interrupt again to kill them now)"
	if d.interrupted > 1 {
		msg = "interrupted again: killing every running test"
	}
	d.send(&event.Event{Kind: event.Warn, Message: msg})
}
