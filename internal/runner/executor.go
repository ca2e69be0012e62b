package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/volley-test/volley/internal/proc"
	"github.com/volley-test/volley/internal/protocol"
)

// drainDelay is how long the executor waits, once a process has exited,
// its leftovers are killed and its pipes are empty, before it stops
// waiting for the EOF that a descendant still holding a pipe withholds.
// Output already in a pipe is always read, however long that takes.
const drainDelay = 300 * time.Millisecond

// drainCap bounds how long a pipe kept full by a descendant volley could
// not kill is read after its process exited. It never cuts what was in the
// pipes when the process exited: only once more than the pipes can hold
// has been read since does a writer still feeding them count as such.
var drainCap = 30 * time.Second

// maxLine bounds the part of an output line given to a protocol parser.
const maxLine = 64 << 10

// Local runs processes on this machine, each launched under a supervisor
// of its own (proc.Launch) and held only through it.
type Local struct {
	Passthrough bool // copy the processes' output to volley's own as well
}

// Execute runs p's process to completion. Execute is the only owner of
// the process and carries out the dispatcher's requests on it.
func (l *Local) Execute(_ context.Context, p *Process, report func(Event)) {
	u := p.Unit
	argv := p.Argv
	fail := func(err error) {
		x := protocol.Exit{Code: -1, Err: err}
		outs, follow := u.Session.Exit(x)
		report(&Exited{Reported: Reported{Outcomes: outs, Offset: p.Output.Len()}, Exit: x, FollowUp: follow, End: time.Now()})
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		fail(fmt.Errorf("run %s: %w", u.Label, err))
		return
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		fail(fmt.Errorf("run %s: %w", u.Label, err))
		return
	}
	child, err := proc.Launch(proc.Spec{Path: argv[0], Args: argv, Env: p.Env, Dir: u.Suite.Cwd,
		Stdout: outW, Stderr: errW, NoStack: len(u.Suite.Interpreter) > 0})
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		fail(startError(argv[0], err))
		return
	}
	// The dispatcher's requests, until the process has ended (timedOut is
	// read once served is closed), served from before the Started report:
	// the dispatcher may be waiting for one (Ctrl-Z) and not yet reading
	// reports.
	timedOut := false
	take := func(rq Request) {
		if rq.Q == ReqTimeout {
			timedOut = true
		} else {
			child.Request(rq.Q)
		}
		rq.Carried()
	}
	ended := make(chan struct{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			select {
			case q := <-p.Requests:
				take(q)
			case <-ended:
				return
			}
		}
	}()
	report(&Started{PID: child.Pid(), Next: u.Session.Running()})

	var wg sync.WaitGroup
	wg.Add(2)
	var errSink io.Writer = p.Output
	var outSink io.Writer = p.Output
	if l.Passthrough {
		errSink = io.MultiWriter(p.Output, os.Stderr)
		outSink = io.MultiWriter(p.Output, os.Stdout)
	}
	go func() {
		defer wg.Done()
		_, _ = io.Copy(errSink, newRawReader(errR))
	}()
	go func() {
		defer wg.Done()
		ReadLines(newRawReader(outR), outSink, func(line []byte) {
			outs := u.Session.Line(line)
			warns := u.Session.Warnings()
			if len(outs) > 0 || len(warns) > 0 {
				report(&Reported{Outcomes: outs, Offset: p.Output.Len(), Next: u.Session.Running(), Warnings: warns})
			}
		})
	}()
	// The supervisor reports diagnostics, then the end: the test's group
	// killed, what it left behind killed and named, the test reaped.
	var rep *proc.ExitReport
	var waitErr error
	for rep == nil && waitErr == nil {
		ev, err := child.Next()
		switch {
		case err != nil:
			waitErr = err
		case ev.Diag != nil:
			report(&Diagnosis{Text: ev.Diag.Text, QuitSent: ev.Diag.QuitSent})
		default:
			rep = ev.Exit
		}
	}
	close(ended)
	<-served
	// A timeout that came with the end still makes it a timeout.
	for pending := true; pending; {
		select {
		case rq := <-p.Requests:
			if rq.Q == ReqTimeout {
				timedOut = true
			}
			rq.Carried() // the process has ended: nothing to pass on
		default:
			pending = false
		}
	}
	// Later requests are dropped until Execute returns: nothing is left
	// to act on them.
	defer p.DropRequests()()

	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	cut := drain(drained, p.Output.Len, outR, errR)
	outR.Close()
	errR.Close()

	x := protocol.Exit{Code: -1, Timeout: p.Timeout, TimedOut: timedOut}
	ex := &Exited{End: time.Now()}
	if rep != nil {
		ws := rep.Status
		if ws.Signaled() {
			x.Signal = proc.SignalName(ws.Signal())
		} else {
			x.Code = ws.ExitStatus()
		}
		ex.CPU, ex.MaxRSS, ex.Leaked = rep.CPU, rep.MaxRSS, rep.Leaked
	} else {
		x.Err = waitErr
	}
	ex.Exit = x
	outs, follow := u.Session.Exit(x)
	ex.FollowUp = follow
	warns := u.Session.Warnings()
	if cut {
		warns = append(warns, fmt.Sprintf("%s: stopped reading its output %s after it exited: a process outside its group went on writing to its pipes; what it wrote after that is not kept", u.Label, drainCap))
	}
	ex.Reported = Reported{Outcomes: outs, Offset: p.Output.Len(), Warnings: warns}
	report(ex)
}

// drain waits for the readers of a process's pipes to reach EOF (drained
// closes). Everything already in the pipes is read, however long that
// takes on a loaded machine: a deadline is set only when both pipes are
// empty and still not at EOF for drainDelay, which means a descendant
// outside the process's group holds them open and writes nothing (it was
// killed, or is being), or when, after drainCap, more has been read since
// the exit than the pipes hold (read counts the bytes read so far), which
// means such a descendant keeps writing. The process itself has exited, so
// anything it wrote is in the pipes or already read.
// It reports whether it cut a writer off.
func drain(drained <-chan struct{}, read func() int64, pipes ...*os.File) (cut bool) {
	t := time.NewTimer(drainDelay)
	defer t.Stop()
	capAt := time.Now().Add(drainCap)
	start := read()
	var held int64
	for _, f := range pipes {
		held += int64(pipeSize(f))
	}
	for {
		select {
		case <-drained:
			return false
		case now := <-t.C:
			empty := true
			for _, f := range pipes {
				empty = empty && unread(f) == 0
			}
			// A writer that went on is cut off even when its reader
			// happens to have just emptied the pipes.
			goesOn := now.After(capAt) && read()-start > held
			if empty || goesOn {
				for _, f := range pipes {
					_ = f.SetReadDeadline(now)
				}
				<-drained
				return goesOn
			}
			t.Reset(drainDelay)
		}
	}
}

// pipeSize is the capacity of pipe f (F_GETPIPE_SZ); 1 MiB, the most an
// unprivileged process may set, when it cannot be known.
func pipeSize(f *os.File) int {
	n := 1 << 20
	if sc, err := f.SyscallConn(); err == nil {
		_ = sc.Control(func(fd uintptr) {
			if v, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0); err == nil && v > 0 {
				n = v
			}
		})
	}
	return n
}

// unread is the number of bytes waiting in pipe f (FIONREAD); 0 when it
// cannot be known.
func unread(f *os.File) int {
	sc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	_ = sc.Control(func(fd uintptr) {
		if v, err := unix.IoctlGetInt(int(fd), unix.TIOCINQ); err == nil { // FIONREAD
			n = v
		}
	})
	return n
}

// ReadLines copies r to sink and calls line for every complete line (and a
// final unterminated one), each bounded to maxLine bytes.
func ReadLines(r io.Reader, sink io.Writer, line func([]byte)) {
	buf := make([]byte, 32<<10)
	var cur []byte
	overlong := false
	for {
		n, err := r.Read(buf)
		chunk := buf[:n]
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			part := chunk
			if i >= 0 {
				part = chunk[:i]
			}
			if !overlong {
				room := maxLine - len(cur)
				if len(part) > room {
					part, overlong = part[:room], true
				}
				cur = append(cur, part...)
			}
			if i < 0 {
				// No newline: the rest is part of a line still coming.
				_, _ = sink.Write(chunk)
				break
			}
			// The line is in the capture before its parser sees it, so the
			// outcome's offset falls right after it.
			_, _ = sink.Write(chunk[:i+1])
			line(cur)
			cur, overlong = cur[:0], false
			chunk = chunk[i+1:]
		}
		if err != nil {
			if len(cur) > 0 {
				line(cur)
			}
			return
		}
	}
}

// startError explains why a process could not be started and what to do.
func startError(path string, err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist):
		if _, statErr := os.Stat(path); statErr == nil {
			interp := "the interpreter on its #! line"
			if b, rerr := os.ReadFile(path); rerr == nil && bytes.HasPrefix(b, []byte("#!")) {
				line, _, _ := bytes.Cut(b[2:], []byte("\n"))
				if f := strings.Fields(string(line)); len(f) > 0 {
					interp = "its interpreter " + f[0]
				}
			}
			return fmt.Errorf("cannot run %s: %s does not exist (install it, or set interpreter in volley.toml)", path, interp)
		}
		return fmt.Errorf("cannot run %s: no such file (was it built? check the path or glob)", path)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("cannot run %s: permission denied (is it executable? chmod +x it)", path)
	case errors.Is(err, syscall.E2BIG):
		return fmt.Errorf("cannot run %s: argument list too long for the kernel (a test name or the environment is too large; shorten it or split the suite)", path)
	case errors.Is(err, syscall.ENOEXEC):
		return fmt.Errorf("cannot run %s: not an executable this machine can run (exec format error; a script needs a #! line or an interpreter in volley.toml)", path)
	}
	return fmt.Errorf("cannot run %s: %w", path, err)
}

// cookie is the value of proc.CookieVar for process id of run.
func cookie(run string, id int) string { return run + "." + strconv.Itoa(id) }
