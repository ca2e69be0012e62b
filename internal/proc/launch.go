package proc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Spec is a process to launch under a supervisor.
type Spec struct {
	Path   string   // executable (absolute, or a name looked up in PATH)
	Args   []string // argv, Args[0] included
	Env    []string
	Dir    string
	Stdout *os.File // write ends; the caller closes its copies after Launch
	Stderr *os.File
	// NoStack: a timeout diagnosis lists the process tree only (the
	// executable is an interpreter).
	NoStack bool
}

// Child is a process launched under a supervisor, owned by whoever
// launched it: the only way to signal it is a request, which the
// supervisor carries out on a process it has not reaped. The Child owns
// the supervisor from Launch until the exit report; after that the
// supervisor serves the next Launch, and the Child's requests go nowhere.
type Child struct {
	sup  *super
	seq  uint64 // this process's number, on its requests and reports
	pid  int
	mu   sync.Mutex
	done bool // the supervisor is no longer this Child's
}

// super is a running supervisor, idle or serving one Child.
type super struct {
	cmd *exec.Cmd
	ctl *os.File // control pipe: start lines and requests
	fds *os.File // socket the started process's stdout and stderr go over
	rep *bufio.Reader
}

// The idle supervisors, each ready for a process.
var (
	idleMu sync.Mutex
	idle   []*super
	seqs   atomic.Uint64
)

// Launch starts spec under a supervisor — an idle one left by an ended
// process, or a new one (the volley executable again) — and returns once
// the process has started, or why it could not.
func Launch(spec Spec) (*Child, error) {
	path := spec.Path
	if !strings.Contains(path, "/") {
		if p, err := exec.LookPath(path); err == nil {
			path = p
		}
	}
	// The start line says all a fresh supervisor would have taken from
	// volley as it is now: the directory, and the environment when the
	// spec has none (volley's, without the run's cookie).
	dir, env := spec.Dir, spec.Env
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		dir = wd
	}
	if env == nil {
		env = superEnv()
	}
	seq := seqs.Add(1)
	first, err := json.Marshal(startSpec{Seq: seq, Dir: dir, Path: path, Argv: spec.Args, Env: env, NoStack: spec.NoStack})
	if err != nil {
		return nil, err
	}
	first = append(first, '\n')
	for {
		s := takeIdle()
		reused := s != nil
		if !reused {
			if s, err = startSuper(); err != nil {
				return nil, err
			}
		}
		r, err := s.start(first, spec)
		switch {
		case err != nil:
		case r.Fatal:
			err = errors.New(r.Err)
		case r.Seq != seq:
			err = fmt.Errorf("it reported on another process (%d, not %d)", r.Seq, seq)
		}
		if err != nil {
			s.close()
			if reused {
				continue // it died while idle: a new one is started
			}
			return nil, fmt.Errorf("supervisor of %s: %w", spec.Path, err)
		}
		if r.Pid == 0 {
			// The supervisor is sound and idle again; the process
			// did not start.
			putIdle(s)
			if r.Errno != 0 {
				return nil, &os.PathError{Op: "fork/exec", Path: path, Err: syscall.Errno(r.Errno)}
			}
			return nil, errors.New(r.Err)
		}
		return &Child{sup: s, seq: seq, pid: r.Pid}, nil
	}
}

func takeIdle() *super {
	idleMu.Lock()
	defer idleMu.Unlock()
	if len(idle) == 0 {
		return nil
	}
	s := idle[len(idle)-1]
	idle = idle[:len(idle)-1]
	return s
}

func putIdle(s *super) {
	idleMu.Lock()
	idle = append(idle, s)
	idleMu.Unlock()
}

// CloseIdle ends every idle supervisor and waits until each has exited.
// Call it when a run is over: a supervisor that is not closed lives until
// volley exits. Supervisors serving a process are not affected, and are
// idle again (until the next CloseIdle or volley's exit) once it ends.
func CloseIdle() {
	idleMu.Lock()
	all := idle
	idle = nil
	idleMu.Unlock()
	for _, s := range all {
		s.close()
	}
}

// startSuper starts a supervisor: the volley executable with superviseArg.
func startSuper() (*super, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the volley executable for the supervisor: %w", err)
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	fdsMine, fdsTheirs := os.NewFile(uintptr(pair[0]), "fds"), os.NewFile(uintptr(pair[1]), "fds")
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		fdsMine.Close()
		fdsTheirs.Close()
		return nil, err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		fdsMine.Close()
		fdsTheirs.Close()
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	env := superEnv()
	// Standard input and output are /dev/null: a test's stdout and stderr
	// come over the fds socket, one test at a time, and the supervisor
	// keeps no copy. Its standard error is volley's, for its own crash.
	cmd := &exec.Cmd{Path: exe, Args: []string{exe, superviseArg}, Env: env, Stderr: os.Stderr,
		ExtraFiles: []*os.File{ctlR, repW, fdsTheirs},
		// Its own process group, so the terminal's signals reach volley
		// only; no parent-death signal: it outlives volley to clean up.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	err = startUnsupervised(cmd)
	ctlR.Close()
	repW.Close()
	fdsTheirs.Close()
	if err != nil {
		ctlW.Close()
		repR.Close()
		fdsMine.Close()
		return nil, err
	}
	return &super{cmd: cmd, ctl: ctlW, fds: fdsMine, rep: bufio.NewReader(repR)}, nil
}

// superEnv is volley's environment without the run's cookie.
func superEnv() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, CookieVar+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// start hands the supervisor a process to start: its stdout and stderr
// over the fds socket, then the start line. It returns the first report:
// the pid, or why the process did not start. An error means the
// supervisor is unusable.
func (s *super) start(line []byte, spec Spec) (report, error) {
	var files [2]*os.File
	for i, f := range []*os.File{spec.Stdout, spec.Stderr} {
		if f == nil {
			null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				return report{}, err
			}
			defer null.Close()
			f = null
		}
		files[i] = f
	}
	if err := sendFiles(s.fds, files[:]); err != nil {
		return report{}, err
	}
	if _, err := s.ctl.Write(line); err != nil {
		return report{}, err
	}
	return s.next()
}

// sendFiles sends the descriptors of files over the socket sock.
func sendFiles(sock *os.File, files []*os.File) error {
	fds := make([]int, len(files))
	for i, f := range files {
		rc, err := f.SyscallConn()
		if err != nil {
			return err
		}
		if err := rc.Control(func(fd uintptr) { fds[i] = int(fd) }); err != nil {
			return err
		}
	}
	rc, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.Sendmsg(int(fd), []byte{'f'}, unix.UnixRights(fds...), nil, unix.MSG_NOSIGNAL)
	})
	runtime.KeepAlive(files) // their descriptors were in use until Sendmsg returned
	if err != nil {
		return err
	}
	return serr
}

func (s *super) next() (report, error) {
	line, err := s.rep.ReadBytes('\n')
	if err != nil {
		if len(line) == 0 {
			return report{}, err
		}
	}
	var r report
	if err := json.Unmarshal(line, &r); err != nil {
		return report{}, fmt.Errorf("bad report from the supervisor: %w", err)
	}
	return r, nil
}

// close closes the control pipe (the supervisor exits, killing anything
// left) and waits for the supervisor.
func (s *super) close() {
	s.ctl.Close()
	s.fds.Close()
	_ = Wait(s.cmd)
}

// startUnsupervised starts cmd through the process table volley reaps by.
func startUnsupervised(cmd *exec.Cmd) error {
	return startLocked(cmd)
}

// Pid is the process's id, for display.
func (c *Child) Pid() int { return c.pid }

// Request asks the supervisor for one of the Req* actions on this
// process. After the process has been reported ended it does nothing.
func (c *Child) Request(q string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		_, _ = io.WriteString(c.sup.ctl, strconv.FormatUint(c.seq, 10)+" "+q+"\n")
	}
}

// Event is what a supervisor reports after the start: a diagnosis, or the
// end (the last event).
type Event struct {
	Diag *Diagnosis
	Exit *ExitReport
}

// Next waits for the next event. When the supervisor dies without
// reporting the end, the error says so. After the end it returns an error.
func (c *Child) Next() (Event, error) {
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	if done {
		return Event{}, fmt.Errorf("process %d has already been reported ended", c.pid)
	}
	r, err := c.sup.next()
	if err == nil && r.Seq != c.seq {
		err = fmt.Errorf("the supervisor of process %d reported on another process (%d, not %d)", c.pid, r.Seq, c.seq)
	}
	if err != nil {
		c.release(false)
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("the supervisor of process %d ended without reporting its exit (%s)", c.pid, c.sup.cmd.ProcessState)
		}
		return Event{}, err
	}
	if r.Exit != nil {
		// Everything the process left is dead: the supervisor is ready
		// for another one.
		c.release(true)
	}
	return Event{Diag: r.Diag, Exit: r.Exit}, nil
}

// release ends the Child's hold on its supervisor, which is kept for the
// next process when sound, or closed.
func (c *Child) release(sound bool) {
	c.mu.Lock()
	c.done = true
	c.mu.Unlock()
	if sound {
		putIdle(c.sup)
	} else {
		c.sup.close()
	}
}
