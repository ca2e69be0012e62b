package proc

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The supervisor is the volley executable started again with superviseArg
// as its first argument. It is the parent and the child subreaper of one
// test process, so every descendant of that test, whatever it does to its
// environment, session or command line, is either below the test or
// adopted by the supervisor: what is left when the test exits belongs to
// that test and to no other. It is also the test's guardian: when volley
// goes away (its control pipe reaches EOF, even after SIGKILL) it kills the
// whole subtree and exits.
//
// Its command line is just: exe superviseArg; its environment volley's,
// without the run's cookie (so a search for the test's processes by cookie
// does not find it). Descriptors: 0-2 the test's, 3 the control pipe (a
// JSON line with what to start, then requests from volley, one word a
// line), 4 the report pipe (JSON lines to volley: the test's pid or why it
// did not start, diagnostics, then its exit, last).
const superviseArg = "__volley_supervise"

func init() {
	// Before any other package of the program is initialised: the
	// supervisor needs none of them. Locking the main goroutine to the
	// main thread makes the test's parent-death signal fire only when the
	// supervisor itself is gone, not when some thread of it exits.
	if len(os.Args) > 1 && os.Args[1] == superviseArg {
		runtime.LockOSThread()
		os.Exit(superviseMain(os.Args[2:]))
	}
}

// Requests volley sends a supervisor.
const (
	ReqTerm     = "term"     // SIGTERM to the test's process group
	ReqKill     = "kill"     // SIGKILL to the group and everything the test left
	ReqQuit     = "quit"     // SIGQUIT to the test (a Go binary dumps its goroutines)
	ReqDiagnose = "diagnose" // collect a process tree and stack dump, then report
	ReqStop     = "stop"     // SIGSTOP the test's processes (volley was suspended)
	ReqCont     = "cont"     // SIGCONT them
)

// report is one line of the report pipe.
type report struct {
	Pid   int         `json:"pid,omitempty"`
	Err   string      `json:"err,omitempty"`
	Errno int         `json:"errno,omitempty"`
	Diag  *Diagnosis  `json:"diag,omitempty"`
	Exit  *ExitReport `json:"exit,omitempty"`
}

// Diagnosis is what was collected from a hung test before it was killed.
type Diagnosis struct {
	Text     string `json:"text"`
	QuitSent bool   `json:"quit"` // a Go binary got SIGQUIT and is dumping its goroutines
}

// ExitReport is how a supervised test ended.
type ExitReport struct {
	Status syscall.WaitStatus `json:"status"`
	CPU    time.Duration      `json:"cpu"`
	MaxRSS int64              `json:"maxrss"` // bytes; 0 = unknown
	// Leaked are the processes the test left running that were not in its
	// own process group ("pid cmdline"), killed since.
	Leaked []string `json:"leaked,omitempty"`
}

// gdbTimeout bounds a stack dump by gdb.
const gdbTimeout = 15 * time.Second

// supervisor is the state of a supervisor process.
type supervisor struct {
	rep  *json.Encoder
	test *os.Process
	pid  int
	exe  string
	// noStack: see startSpec; killed: volley asked for the test to be
	// terminated, so its own group's members are not left behind by it.
	noStack bool
	killed  bool
}

// startSpec is the first line of the control pipe.
type startSpec struct {
	Dir  string   `json:"dir"`
	Path string   `json:"path"`
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
	// NoStack: a diagnosis lists the process tree only (an interpreted
	// suite: the stack would be the interpreter's).
	NoStack bool `json:"nostack,omitempty"`
}

func superviseMain(args []string) int {
	ctl := os.NewFile(3, "control")
	repf := os.NewFile(4, "report")
	if ctl == nil || repf == nil || len(args) != 0 {
		fmt.Fprintln(os.Stderr, "volley: the supervisor is started by volley only")
		return 2
	}
	syscall.CloseOnExec(3)
	syscall.CloseOnExec(4)
	s := &supervisor{rep: json.NewEncoder(repf)}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		s.send(report{Err: "supervisor: cannot become a child subreaper: " + err.Error()})
		return 1
	}
	// Caught, not ignored: an ignored signal would stay ignored in the test.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT,
		syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGPIPE)
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)

	sc := bufio.NewScanner(ctl)
	sc.Buffer(nil, 64<<20)
	var sp startSpec
	if !sc.Scan() {
		return 0 // volley went away before saying what to start
	}
	if err := json.Unmarshal(sc.Bytes(), &sp); err != nil || len(sp.Argv) == 0 {
		s.send(report{Err: fmt.Sprintf("supervisor: bad start request (%v)", err)})
		return 1
	}
	cmd := &exec.Cmd{Path: sp.Path, Args: sp.Argv, Dir: sp.Dir, Env: sp.Env,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}}
	if err := cmd.Start(); err != nil {
		r := report{Err: err.Error()}
		var en syscall.Errno
		if errors.As(err, &en) {
			r.Errno = int(en)
		}
		s.send(r)
		return 0
	}
	s.test, s.pid, s.exe, s.noStack = cmd.Process, cmd.Process.Pid, sp.Path, sp.NoStack
	// The test's stdio now belongs to it alone: volley's EOF on the pipes
	// comes when the last process holding them is gone.
	os.Stdout.Close()
	os.Stderr.Close()
	os.Stdin.Close()
	s.send(report{Pid: s.pid})

	reqs := make(chan string)
	go func() {
		for sc.Scan() {
			reqs <- sc.Text()
		}
		close(reqs)
	}()
	exited := make(chan struct{})
	go func() {
		// Wait without reaping: the test's pid, and so its process group
		// id, stays taken until its group is dealt with.
		var info unix.Siginfo
		for unix.Waitid(unix.P_PID, s.pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == syscall.EINTR {
		}
		close(exited)
	}()
	for {
		select {
		case q, ok := <-reqs:
			if !ok {
				// volley is gone: so is everything it ran here.
				s.killAll()
				return 0
			}
			s.request(q)
		case <-chld:
			s.reapAdopted()
		case <-sigs:
			s.killAll()
			return 0
		case <-exited:
			s.finish()
			return 0
		}
	}
}

func (s *supervisor) send(r report) { _ = s.rep.Encode(r) }

// group signals the test's process group. Safe: the test is not reaped
// before its group is dealt with, so the id cannot be another group's.
func (s *supervisor) group(sig syscall.Signal) { _ = syscall.Kill(-s.pid, sig) }

func (s *supervisor) request(q string) {
	switch q {
	case ReqTerm:
		s.killed = true
		s.group(syscall.SIGTERM)
	case ReqKill:
		s.killed = true
		s.group(syscall.SIGKILL)
		_ = s.test.Signal(syscall.SIGKILL)
	case ReqQuit:
		_ = s.test.Signal(syscall.SIGQUIT)
	case ReqStop, ReqCont:
		sig := syscall.SIGSTOP
		if q == ReqCont {
			sig = syscall.SIGCONT
		}
		s.group(sig)
		for _, k := range s.kids() {
			if pg, err := syscall.Getpgid(k); err == nil && pg == k {
				_ = syscall.Kill(-k, sig)
			}
			_ = syscall.Kill(k, sig)
		}
	case ReqDiagnose:
		d := s.diagnose()
		s.send(report{Diag: &d})
	}
}

// diagnose collects what a person needs to understand a hang: the process
// tree of the test's group and a stack dump — SIGQUIT for a Go binary (the
// runtime prints every goroutine and exits), `gdb -batch` for anything
// else when gdb is installed. An interpreted suite gets the tree only.
func (s *supervisor) diagnose() Diagnosis {
	var b strings.Builder
	if tree := groupTree(s.pid); tree != "" {
		b.WriteString("process tree at timeout:\n")
		b.WriteString(tree)
	}
	if s.noStack {
		return Diagnosis{Text: b.String()}
	}
	if _, err := buildinfo.ReadFile(s.exe); err == nil {
		_ = s.test.Signal(syscall.SIGQUIT)
		b.WriteString("sent SIGQUIT to the Go binary: its goroutine dump is at the end of the output\n")
		return Diagnosis{Text: b.String(), QuitSent: true}
	}
	if gdb, err := exec.LookPath("gdb"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), gdbTimeout)
		defer cancel()
		target := gdbTarget(s.pid)
		cmd := exec.CommandContext(ctx, gdb, "-batch", "-nx", "-p", strconv.Itoa(target), "-ex", "thread apply all bt")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Run(); err == nil || out.Len() > 0 {
			fmt.Fprintf(&b, "gdb backtrace at timeout of pid %d (%s):\n", target, Cmdline(target))
			b.WriteString(clipTail(keepBacktrace(out.String()), 32<<10))
		}
	}
	return Diagnosis{Text: b.String()}
}

// finish deals with the test's group and leftovers, then reaps it and
// reports its end.
func (s *supervisor) finish() {
	leaked := s.sweep()
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		if _, err := syscall.Wait4(s.pid, &ws, 0, &ru); err != syscall.EINTR {
			break
		}
	}
	x := &ExitReport{Status: ws, CPU: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), Leaked: leaked}
	// The test was started by vfork: it shared the supervisor's memory
	// until exec, and the kernel carries that high-water mark into its
	// ru_maxrss. No more than the supervisor's own peak says nothing.
	if m := ru.Maxrss * 1024; m > selfPeak() {
		x.MaxRSS = m
	}
	s.send(report{Exit: x})
}

// killAll kills the test and everything below the supervisor.
func (s *supervisor) killAll() {
	s.killed = true
	s.group(syscall.SIGKILL)
	_ = s.test.Signal(syscall.SIGKILL)
	// Once it is a zombie its children are the supervisor's.
	var info unix.Siginfo
	for unix.Waitid(unix.P_PID, s.pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == syscall.EINTR {
	}
	s.sweep()
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(s.pid, &ws, 0, nil)
}

// sweep kills every process below the supervisor other than the test
// leader (left unreaped) until none is left, and returns those that were
// still alive when found: the processes the test left behind, except, when
// volley killed the test, the members of its own group, which died with
// it. A
// process killed here hands its children to the supervisor, so each round
// finds the next generation.
func (s *supervisor) sweep() []string {
	seen := map[int]bool{}
	var leaked []string
	for {
		kids := s.kids()
		for _, k := range kids {
			if !seen[k] {
				seen[k] = true
				if pg, err := syscall.Getpgid(k); err == nil && (!s.killed || pg != s.pid) && !isZombie(k) {
					leaked = append(leaked, strconv.Itoa(k)+" "+Cmdline(k))
				}
			}
		}
		s.group(syscall.SIGKILL)
		if len(kids) == 0 {
			return leaked
		}
		for _, k := range kids {
			if pg, err := syscall.Getpgid(k); err == nil && pg == k {
				_ = syscall.Kill(-k, syscall.SIGKILL)
			}
			_ = syscall.Kill(k, syscall.SIGKILL)
		}
		if s.reapAdopted() == 0 {
			// SIGKILL is delivered but not yet acted on; the next
			// SIGCHLD comes within moments.
			time.Sleep(time.Millisecond)
		}
	}
}

// kids lists the supervisor's children other than the test leader.
func (s *supervisor) kids() []int {
	var out []int
	for _, k := range Children() {
		if k != s.pid {
			out = append(out, k)
		}
	}
	return out
}

// reapAdopted reaps every child other than the test that has exited and
// returns how many.
func (s *supervisor) reapAdopted() int {
	n := 0
	for _, k := range s.kids() {
		var ws syscall.WaitStatus
		if p, _ := syscall.Wait4(k, &ws, syscall.WNOHANG, nil); p == k {
			n++
		}
	}
	return n
}

// keepBacktrace drops gdb's chatter (symbol loading) and keeps the threads.
func keepBacktrace(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "#") || strings.HasPrefix(l, "Thread ") || strings.HasPrefix(l, "[Current thread") {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return s
	}
	return strings.Join(keep, "\n") + "\n"
}

func clipTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// groupTree lists the processes of process group pgid: "pid ppid cmdline".
func groupTree(pgid int) string {
	var b strings.Builder
	for _, m := range groupMembers(pgid) {
		fmt.Fprintf(&b, "  pid %d ppid %d state %s: %s\n", m.pid, m.ppid, m.state, Cmdline(m.pid))
	}
	return b.String()
}

// selfPeak is this process's peak resident set size (VmHWM), in bytes.
func selfPeak() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte("VmHWM:"))
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+len("VmHWM:"):]))
	if len(f) == 0 {
		return 0
	}
	kb, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0
	}
	return kb << 10
}
