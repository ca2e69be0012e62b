package runner

import (
	"fmt"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/protocol"
)

// maxBackoff caps the delay before a retry.
const maxBackoff = 5 * time.Second

// result turns a session's outcome into a reported result: output segment,
// attempts and retries, flaky and quarantine verdicts, statistics.
func (d *Dispatcher) result(r *running, o protocol.Outcome, offset int64, now time.Time, ex *Exited) {
	s := r.unit.Suite
	if d.o.Keep != nil && !d.o.Keep(s.Name, o.Test) {
		r.segStart = offset
		return
	}
	if r.stopped && ex != nil && !now.Before(ex.End) {
		// Killed by an interrupt: what it did not report did not run.
		d.stats.NotRun++
		return
	}
	out, dropped := r.capture.Segment(r.segStart, offset, d.o.MaxOutput)
	if o.Status.Failed() && o.Status != event.Fail && len(out) == 0 {
		// A crash between tests: show the process's last output.
		out, dropped = r.capture.Segment(0, offset, d.o.MaxOutput)
	}
	reason := o.Reason
	if o.Status.Failed() && o.Status != event.Error {
		if why := explain(r, out, offset); why != "" {
			reason = why + " (" + o.Reason + ")"
		}
	}
	res := &event.Result{
		Suite: s.Name, Test: o.Test, Status: o.Status, Reason: reason,
		Start: r.curStart, Duration: now.Sub(r.curStart), Output: out, Truncated: dropped,
		ExitCode: o.ExitCode, Proc: r.id, Slot: r.slot, Cached: o.Cached, Parallel: o.Parallel,
	}
	if !o.Start.IsZero() {
		res.Start, res.Duration = o.Start, o.Duration
	}
	if ex != nil {
		res.Signal = ex.Exit.Signal
		res.Leaked = r.leaked
		if len(r.unit.Tests) <= 1 {
			res.CPU, res.MaxRSS = ex.CPU, ex.MaxRSS
		}
		if o.Status == event.Timeout {
			res.Diagnostics = r.diag
		}
	}
	// Only tests that failed and will run again are remembered: the map
	// stays empty in a run without retries, however many tests it has.
	id := event.ID(s.Name, o.Test)
	res.Attempt = d.attempts[id] + 1
	delete(d.attempts, id)
	retries := d.o.Retries
	switch {
	case s.Retries > 0:
		retries = s.Retries
	case s.Retries < 0:
		retries = 0
	}
	switch {
	case res.Status.Failed() && res.Status != event.Error && res.Attempt <= retries && !d.stopping:
		if u := protocol.RetryUnit(s, o.Test); u != nil {
			res.Retrying = true
			d.attempts[id] = res.Attempt
			d.retry(u, res.Attempt)
		}
	case res.Status == event.Pass && res.Attempt > 1:
		res.Flaky = true
		if d.o.FlakyFail {
			res.Status = event.Fail
			res.Reason = fmt.Sprintf("flaky: passed on attempt %d after failing (--flaky-result fail)", res.Attempt)
		}
	}
	if res.Status.Failed() && d.o.Quarantined != nil && d.o.Quarantined(s.Name, o.Test) {
		res.Quarantined = true
	}
	d.stats.Count(res)
	if d.o.MaxFail > 0 && d.stats.Failed >= d.o.MaxFail && !d.stopping {
		d.stopping = true
	}
	d.send(&event.Event{Kind: event.TestEnd, Suite: res.Suite, Test: res.Test, Result: res})
	r.segStart = offset
	r.curStart = now
}

// retry queues u after a backoff that doubles with each attempt.
func (d *Dispatcher) retry(u *protocol.Unit, attempt int) {
	delay := d.o.RetryBackoff << (attempt - 1)
	if delay > maxBackoff || delay <= 0 {
		delay = maxBackoff
	}
	d.pending[u.Suite]++
	d.delayed = append(d.delayed, delayedUnit{at: d.now().Add(delay), u: u})
}

func (d *Dispatcher) finish(r *running, ex *Exited) {
	if ex.Fatal != nil && d.fatal == nil {
		d.fatal = ex.Fatal
		d.stopping = true
		d.send(&event.Event{Kind: event.Warn, Message: "stopping the run: " + ex.Fatal.Error()})
	}
	delete(d.running, r.id)
	d.slots[r.slot] = false
	d.used -= r.threads
	d.memUse -= r.rss
	if g := r.unit.Suite.Group; g != "" {
		d.groupUse[g]--
	}
	d.stats.Running = len(d.running)
	d.stats.CPU += ex.CPU
	d.pending[r.unit.Suite]--
	if !d.stopping {
		d.pending[r.unit.Suite] += len(ex.FollowUp)
	}
	if d.pending[r.unit.Suite] == 0 {
		d.stats.SuitesDone++
	}
	p := d.procEvent(r)
	p.End, p.CPU, p.MaxRSS = ex.End, ex.CPU, ex.MaxRSS
	p.ExitCode, p.Signal, p.TimedOut = ex.Exit.Code, ex.Exit.Signal, ex.Exit.TimedOut
	p.Output = r.capture.Len()
	if ex.Exit.Err != nil {
		p.Err = ex.Exit.Err.Error()
	}
	d.send(&event.Event{Kind: event.ProcEnd, Suite: r.unit.Suite.Name, Proc: p})
	if r.cleanup != nil {
		r.cleanup()
	}
	r.capture.Close()
	if !d.stopping {
		// Follow-ups (the rest of a crashed suite) go first.
		protocol.InheritParallel(r.unit, ex.FollowUp)
		d.queue = append(append([]*protocol.Unit(nil), ex.FollowUp...), d.queue...)
	}
}

// explain asks the protocol for the line of a failed test's output that
// says why it failed: first in the test's own segment, then (a stderr line
// can overtake the stdout line before it) anywhere in the process's output.
func explain(r *running, seg []byte, offset int64) string {
	p, err := protocol.Lookup(r.unit.Suite.Protocol)
	if err != nil {
		return ""
	}
	ex, ok := p.(protocol.Explainer)
	if !ok {
		return ""
	}
	if why := ex.Explain(seg); why != "" {
		return why
	}
	const tail = 64 << 10
	all, _ := r.capture.Segment(max(0, offset-tail), offset, tail)
	return ex.Explain(all)
}
