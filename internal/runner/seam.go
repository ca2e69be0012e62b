package runner

// The seam between the dispatcher and the executors: the interface, what
// an executor is given, and the typed events it reports.

import (
	"context"
	"time"

	"github.com/volley-test/volley/internal/protocol"
)

// Executor runs processes for the dispatcher: Local on this machine, or
// another implementation elsewhere (remote.Executor on a remote execution
// service).
type Executor interface {
	// Execute runs p to its end: it starts it, writes its output to
	// p.Output, feeds its standard output to p.Unit.Session, carries out
	// p.Requests, and reports what happens through report, the last event
	// being one *Exited. The dispatcher calls Execute on a goroutine of
	// its own for every process; report blocks until the dispatcher has
	// taken the event and must not be called once Execute has returned.
	// ctx is cancelled when the run is interrupted.
	Execute(ctx context.Context, p *Process, report func(Event))
}

// Process is one run of a unit, as its executor sees it. The dispatcher
// changes none of its fields while it runs.
type Process struct {
	ID      int // unique within the run
	Unit    *protocol.Unit
	Argv    []string      // the command line, extra arguments in place
	Env     []string      // the complete environment
	Timeout time.Duration // per test
	// Output receives the process's standard output and error; the
	// offsets of reported outcomes index it.
	Output *Capture
	// Requests carries the dispatcher's requests (proc.Req*, ReqTimeout)
	// until Execute returns. An executor ignores what it cannot act on.
	Requests <-chan Request
}

// Request is one of the dispatcher's requests. When Done is not nil the
// executor closes it once it has passed the request on (or dropped it: the
// process had ended), so the dispatcher can wait for it: volley must not
// stop itself on Ctrl-Z before its tests have been told to stop.
type Request struct {
	Q    string
	Done chan struct{}
}

// Carried closes r.Done, if any.
func (r Request) Carried() {
	if r.Done != nil {
		close(r.Done)
	}
}

// DropRequests takes p's requests from now on and marks each carried
// without acting on it, until stop is called (an executor defers it to its
// return): a dispatcher waiting on one (Ctrl-Z) does not wait in vain.
func (p *Process) DropRequests() (stop func()) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case rq := <-p.Requests:
				rq.Carried()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}

// ReqTimeout tells an executor that the current test of its process has
// run past its timeout: the requests that stop the process follow, and its
// exit is a timeout (protocol.Exit.TimedOut). It is not a signal.
const ReqTimeout = "timeout"

// Event is what an executor reports about its process: *Started,
// *Reported, *Warning, *Diagnosis or *Exited.
type Event interface{ isEvent() }

// Started says the process is running, and the test it runs first. PID is
// 0 for a process that is not on this machine: the dispatcher enforces no
// timeout on it (its executor does).
type Started struct {
	PID  int
	Next string
}

// Reported carries results the process reported while it runs.
type Reported struct {
	Outcomes []protocol.Outcome
	Offset   int64    // the length of Output after the line that completed them
	Next     string   // the test the process runs now
	Warnings []string // the protocol's warnings about its output so far
}

// Warning is a message about the process for the user (a remote service
// that keeps it waiting).
type Warning struct {
	Message string
}

// Diagnosis is what was collected from a hung process (proc.ReqDiagnose)
// before it is killed.
type Diagnosis struct {
	Text     string
	QuitSent bool // a Go binary got SIGQUIT and is dumping its goroutines
}

// Exited says the process has ended and its output has been read; it is
// the last event of a process.
type Exited struct {
	Reported // the outcomes its exit decided (protocol.Session.Exit); Next is unused
	Exit     protocol.Exit
	FollowUp []*protocol.Unit // units to run for the tests it did not run
	CPU      time.Duration
	MaxRSS   int64
	End      time.Time
	Leaked   []string // "pid cmdline" of the processes it left running, killed
	// Fatal is an error no retry will heal (a setting the remote service
	// rejects, a service that stays down): the run stops, and what the
	// process did not run is not run rather than failed.
	Fatal error
}

func (*Started) isEvent()   {}
func (*Reported) isEvent()  {}
func (*Warning) isEvent()   {}
func (*Diagnosis) isEvent() {}
func (*Exited) isEvent()    {}
