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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/volley-test/volley/internal/proc"
	"github.com/volley-test/volley/internal/protocol"
	"golang.org/x/sys/unix"
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

// running is one live process. Fields marked (d) belong to the dispatcher.
type running struct {
	id      int
	unit    *protocol.Unit
	slot    int
	start   time.Time
	timeout time.Duration
	capture *Capture
	env     []string
	argv    []string
	cookie  string
	req     chan string   // requests to the executor (proc.Req*)
	done    chan struct{} // closed when the executor is finished with it
	pid     atomic.Int64
	killed  atomic.Bool // timed out: volley is killing it
	stopped atomic.Bool // interrupted: volley is killing it

	deadline time.Time // (d) when the current test times out
	killAt   time.Time // (d) when SIGKILL follows the SIGTERM
	current  string    // (d) the test running now
	curStart time.Time // (d)
	segStart int64     // (d) capture offset where the current test's output starts
	cleanup  func()    // (d) run when the process is done
	slowAt   time.Time // (d) when to warn that the current test is slow
	threads  int       // slots it occupies
	rss      int64     // expected peak RSS, for the memory budget
	diag     string    // (d) diagnostics collected at timeout
	leaked   []string  // (d) processes it left behind
	held     []held    // (d) outcomes of a one-test process, until it exits
}

// msg is what an executor tells the dispatcher.
type msg struct {
	r        *running
	started  bool
	outcomes []protocol.Outcome
	offset   int64  // capture offset at the end of the line that completed outcomes
	next     string // the test the process runs now (after outcomes)
	warns    []string
	exited   *exitInfo
	diag     *diagnosis // timeout diagnostics are ready
}

type exitInfo struct {
	x        protocol.Exit
	followUp []*protocol.Unit
	cpu      time.Duration
	maxRSS   int64
	end      time.Time
	leaked   []string // "pid cmdline" of processes it left running
	fatal    error    // an error no retry will heal: the run stops
}

// execute runs r's process to completion, reporting to out. The process
// is launched under its own supervisor (proc.Launch); execute is its only
// owner and carries out the dispatcher's requests (r.req) on it.
func execute(ctx context.Context, r *running, out chan<- msg, passthrough bool, rm Remote) {
	defer close(r.done)
	if rm != nil {
		executeRemote(ctx, rm, r, out)
		return
	}
	u := r.unit
	argv := r.argv
	send := func(m msg) { m.r = r; out <- m }
	fail := func(err error) {
		outs, follow := u.Session.Exit(protocol.Exit{Code: -1, Err: err})
		send(msg{outcomes: outs, offset: r.capture.Len(), exited: &exitInfo{x: protocol.Exit{Code: -1, Err: err}, followUp: follow, end: time.Now()}})
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
	child, err := proc.Launch(proc.Spec{Path: argv[0], Args: argv, Env: r.env, Dir: u.Suite.Cwd,
		Stdout: outW, Stderr: errW, NoStack: len(u.Suite.Interpreter) > 0})
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		fail(startError(argv[0], err))
		return
	}
	r.pid.Store(int64(child.Pid()))
	send(msg{started: true, next: u.Session.Running()})

	var wg sync.WaitGroup
	wg.Add(2)
	var errSink io.Writer = r.capture
	var outSink io.Writer = r.capture
	if passthrough {
		errSink = io.MultiWriter(r.capture, os.Stderr)
		outSink = io.MultiWriter(r.capture, os.Stdout)
	}
	go func() {
		defer wg.Done()
		_, _ = io.Copy(errSink, errR)
	}()
	go func() {
		defer wg.Done()
		readLines(outR, outSink, func(line []byte) {
			outs := u.Session.Line(line)
			warns := u.Session.Warnings()
			if len(outs) > 0 || len(warns) > 0 {
				send(msg{outcomes: outs, offset: r.capture.Len(), next: u.Session.Running(), warns: warns})
			}
		})
	}()
	// The dispatcher's requests, until the process has ended.
	ended := make(chan struct{})
	go func() {
		for {
			select {
			case q := <-r.req:
				child.Request(q)
			case <-ended:
				return
			}
		}
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
			send(msg{diag: &diagnosis{text: ev.Diag.Text, quitSent: ev.Diag.QuitSent}})
		default:
			rep = ev.Exit
		}
	}
	close(ended)

	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	cut := drain(drained, r.capture.Len, outR, errR)
	outR.Close()
	errR.Close()

	x := protocol.Exit{Code: -1, Timeout: r.timeout, TimedOut: r.killed.Load()}
	ei := &exitInfo{end: time.Now()}
	if rep != nil {
		ws := rep.Status
		if ws.Signaled() {
			x.Signal = proc.SignalName(ws.Signal())
		} else {
			x.Code = ws.ExitStatus()
		}
		ei.cpu, ei.maxRSS, ei.leaked = rep.CPU, rep.MaxRSS, rep.Leaked
	} else {
		x.Err = waitErr
	}
	ei.x = x
	outs, follow := u.Session.Exit(x)
	ei.followUp = follow
	warns := u.Session.Warnings()
	if cut {
		warns = append(warns, fmt.Sprintf("%s: stopped reading its output %s after it exited: a process outside its group went on writing to its pipes; what it wrote after that is not kept", u.Label, drainCap))
	}
	send(msg{outcomes: outs, offset: r.capture.Len(), warns: warns, exited: ei})
}

// ask sends the process of r a request (proc.Req*). It never blocks the
// dispatcher: the executor reads requests until the process has ended.
func (r *running) ask(q string) {
	select {
	case r.req <- q:
	default:
		go func() {
			select {
			case r.req <- q:
			case <-r.done:
			}
		}()
	}
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
			if empty || now.After(capAt) && read()-start > held {
				for _, f := range pipes {
					_ = f.SetReadDeadline(now)
				}
				<-drained
				return !empty
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

// readLines copies r to sink and calls line for every complete line (and a
// final unterminated one), each bounded to maxLine bytes.
func readLines(r io.Reader, sink io.Writer, line func([]byte)) {
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
