package proc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
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

// Child is a process launched under its own supervisor, owned by whoever
// launched it: the only way to signal it is a request, which the
// supervisor carries out on a process it has not reaped.
type Child struct {
	sup  *exec.Cmd
	ctl  *os.File
	rep  *bufio.Reader
	pid  int
	mu   sync.Mutex
	done bool
}

// Launch starts spec under a new supervisor (the volley executable again)
// and returns once the process has started, or why it could not.
func Launch(spec Spec) (*Child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the volley executable for the supervisor: %w", err)
	}
	path := spec.Path
	if !strings.Contains(path, "/") {
		if p, err := exec.LookPath(path); err == nil {
			path = p
		}
	}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, err
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, CookieVar+"=") {
			env = append(env, kv)
		}
	}
	first, err := json.Marshal(startSpec{Dir: spec.Dir, Path: path, Argv: spec.Args, Env: spec.Env, NoStack: spec.NoStack})
	if err != nil {
		return nil, err
	}
	sup := &exec.Cmd{Path: exe, Args: []string{exe, superviseArg}, Env: env, Stdout: spec.Stdout, Stderr: spec.Stderr,
		ExtraFiles: []*os.File{ctlR, repW},
		// Its own process group, so the terminal's signals reach volley
		// only; no parent-death signal: it outlives volley to clean up.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	err = startUnsupervised(sup)
	ctlR.Close()
	repW.Close()
	if err != nil {
		ctlW.Close()
		repR.Close()
		return nil, err
	}
	c := &Child{sup: sup, ctl: ctlW, rep: bufio.NewReader(repR)}
	if _, err := ctlW.Write(append(first, '\n')); err != nil {
		c.reap()
		return nil, fmt.Errorf("supervisor of %s: %w", spec.Path, err)
	}
	r, err := c.next()
	switch {
	case err != nil:
		c.reap()
		return nil, fmt.Errorf("supervisor of %s: %w", spec.Path, err)
	case r.Pid == 0:
		c.reap()
		if r.Errno != 0 {
			return nil, &os.PathError{Op: "fork/exec", Path: path, Err: syscall.Errno(r.Errno)}
		}
		return nil, errors.New(r.Err)
	}
	c.pid = r.Pid
	return c, nil
}

// startUnsupervised starts cmd through the process table volley reaps by.
func startUnsupervised(cmd *exec.Cmd) error {
	return startLocked(cmd)
}

// Pid is the process's id, for display.
func (c *Child) Pid() int { return c.pid }

// Request asks the supervisor for one of the Req* actions. After the
// process has been reported ended it does nothing.
func (c *Child) Request(q string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		_, _ = io.WriteString(c.ctl, q+"\n")
	}
}

// Event is what a supervisor reports after the start: a diagnosis, or the
// end (the last event).
type Event struct {
	Diag *Diagnosis
	Exit *ExitReport
}

// Next waits for the next event. When the supervisor dies without
// reporting the end, the error says so.
func (c *Child) Next() (Event, error) {
	r, err := c.next()
	if err != nil {
		c.reap()
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("the supervisor of process %d ended without reporting its exit (%s)", c.pid, c.sup.ProcessState)
		}
		return Event{}, err
	}
	if r.Exit != nil {
		c.reap()
	}
	return Event{Diag: r.Diag, Exit: r.Exit}, nil
}

func (c *Child) next() (report, error) {
	line, err := c.rep.ReadBytes('\n')
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

// reap closes the control pipe (the supervisor exits, killing anything
// left) and waits for the supervisor.
func (c *Child) reap() {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	c.done = true
	c.ctl.Close()
	c.mu.Unlock()
	_ = Wait(c.sup)
}
