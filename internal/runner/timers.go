package runner

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/proc"
	"github.com/volley-test/volley/internal/protocol"
)

// resetTimer arms timer for the earliest thing that must happen: a
// timeout, a SIGKILL after a grace, a slow warning, a retry.
func (d *Dispatcher) resetTimer(t *time.Timer) {
	var next time.Time
	at := func(x time.Time) {
		if !x.IsZero() && (next.IsZero() || x.Before(next)) {
			next = x
		}
	}
	for _, r := range d.running {
		switch {
		case !r.killAt.IsZero():
			at(r.killAt)
		case !r.killed && !r.stopped:
			at(r.deadline)
			at(r.slowAt)
		}
	}
	if !d.stopping {
		for _, du := range d.delayed {
			at(du.at)
		}
	}
	if next.IsZero() {
		next = d.now().Add(time.Hour)
	}
	t.Reset(next.Sub(d.now()))
}

// enforce acts on every time that has passed.
func (d *Dispatcher) enforce(now time.Time) {
	for _, r := range d.running {
		switch {
		case !r.killAt.IsZero():
			if !now.Before(r.killAt) {
				r.ask(proc.ReqKill)
				r.killAt = time.Time{}
			}
		case r.killed || r.stopped || r.pid <= 0:
		case !now.Before(r.deadline):
			d.timeout(r)
		case !r.slowAt.IsZero() && !now.Before(r.slowAt):
			d.send(&event.Event{Kind: event.Warn, Suite: r.unit.Suite.Name, Message: fmt.Sprintf(
				"SLOW %s: running for %s", event.ID(r.unit.Suite.Name, r.current), now.Sub(r.curStart).Round(time.Second))})
			r.slowAt = now.Add(d.o.SlowAfter)
		}
	}
	if !d.stopping && len(d.delayed) > 0 {
		sort.SliceStable(d.delayed, func(i, j int) bool { return d.delayed[i].at.Before(d.delayed[j].at) })
		n := 0
		for n < len(d.delayed) && !now.Before(d.delayed[n].at) {
			d.queue = append([]*protocol.Unit{d.delayed[n].u}, d.queue...)
			n++
		}
		d.delayed = d.delayed[n:]
	}
}

// timeout starts killing a hung process: diagnostics first (collected by
// its supervisor; the dispatcher never waits), then SIGTERM, then SIGKILL.
func (d *Dispatcher) timeout(r *running) {
	r.killed = true
	r.ask(ReqTimeout)
	if d.o.NoDiagnose {
		r.ask(proc.ReqTerm)
		r.killAt = d.now().Add(d.o.Grace)
		return
	}
	r.ask(proc.ReqDiagnose)
}

// diagnosed continues a timeout kill once diagnostics are collected.
func (d *Dispatcher) diagnosed(r *running, dg *Diagnosis, now time.Time) {
	r.diag = dg.Text
	if !dg.QuitSent {
		r.ask(proc.ReqTerm)
	}
	r.killAt = now.Add(d.o.Grace)
}

// interrupt handles SIGINT/SIGTERM: the first stops launching and terminates
// running groups (SIGKILL after the grace); the second kills at once.
func (d *Dispatcher) interrupt() {
	d.interrupted++
	d.stopping = true
	d.stats.Interrupted = true
	now := d.now()
	for _, r := range d.running {
		r.stopped = true
		if d.interrupted == 1 {
			r.ask(proc.ReqTerm)
			r.killAt = now.Add(d.o.Grace)
		} else {
			r.ask(proc.ReqKill)
			r.killAt = time.Time{}
		}
	}
	msg := "interrupted: stopping running tests (interrupt again to kill them now)"
	if d.interrupted > 1 {
		msg = "interrupted again: killing every running test"
	}
	d.send(&event.Event{Kind: event.Warn, Message: msg})
}

// inspect answers SIGUSR1: every running test with its pid, elapsed time
// and the output so far.
func (d *Dispatcher) inspect() {
	now := d.now()
	rs := make([]*running, 0, len(d.running))
	for _, r := range d.running {
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].start.Before(rs[j].start) })
	var b strings.Builder
	fmt.Fprintf(&b, "%d running, %d queued, %d done\n", len(rs), len(d.queue)+len(d.delayed), d.stats.Done)
	for _, r := range rs {
		fmt.Fprintf(&b, "  %s  pid %d  running %s (test %s)\n", r.unit.Label, r.pid,
			now.Sub(r.start).Round(time.Millisecond), now.Sub(r.curStart).Round(time.Millisecond))
		out, dropped := r.capture.Segment(r.segStart, r.capture.Len(), 2<<10)
		if dropped > 0 {
			fmt.Fprintf(&b, "    [... %d earlier bytes]\n", dropped)
		}
		for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			if l != "" {
				fmt.Fprintf(&b, "    | %s\n", l)
			}
		}
	}
	d.send(&event.Event{Kind: event.Info, Message: b.String()})
}

// stopAckWait bounds how long suspend waits for its stop requests to be
// passed on before volley stops itself.
const stopAckWait = 5 * time.Second

// suspend handles SIGTSTP: every running test is stopped, volley stops
// (Options.Stop), and when it is continued the tests continue with every
// clock of the run moved on by the time spent stopped.
func (d *Dispatcher) suspend() {
	// Every test is told to stop before volley stops: a request still in
	// a channel when volley stops would reach its supervisor only on fg.
	// An executor passes requests on, or drops them once its process has
	// ended, for as long as it runs; one that has returned is done. The
	// bound (one for all) is for an executor that does neither, which is a
	// bug, not a reason to hang on Ctrl-Z.
	expired := make(chan struct{})
	bound := time.AfterFunc(stopAckWait, func() { close(expired) })
	defer bound.Stop()
	acks := make(map[*running]chan struct{}, len(d.running))
	for _, r := range d.running {
		acks[r] = make(chan struct{})
		r.askDone(proc.ReqStop, acks[r])
	}
	for r, ack := range acks {
		select {
		case <-ack:
		case <-r.done:
		case <-expired:
		}
	}
	d.send(&event.Event{Kind: event.Info, Message: fmt.Sprintf("suspended: %d running tests stopped; `fg` continues them", len(d.running))})
	start := d.now()
	if d.o.Stop != nil {
		d.o.Stop()
	}
	paused := d.now().Sub(start)
	later := func(t *time.Time) {
		if !t.IsZero() {
			*t = t.Add(paused)
		}
	}
	for _, r := range d.running {
		later(&r.deadline)
		later(&r.slowAt)
		later(&r.killAt)
		later(&r.curStart)
		later(&r.ran)
		r.ask(proc.ReqCont)
	}
	for i := range d.delayed {
		later(&d.delayed[i].at)
	}
	d.send(&event.Event{Kind: event.Info, Message: fmt.Sprintf("continued after %s stopped", paused.Round(time.Millisecond))})
}
