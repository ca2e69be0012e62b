package proc

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
// as its first argument. It runs tests one at a time: for each, it is the
// parent and the child subreaper of the test process, so every descendant
// of that test, whatever it does to its environment, session or command
// line, is either below the test or adopted by the supervisor: what is left
// when the test exits belongs to that test and to no other, and is killed
// before the supervisor reports the end and takes the next test. It is also
// the guardian: when volley goes away (its control pipe reaches EOF, even
// after SIGKILL) it kills the whole subtree and exits, idle or not.
//
// Its command line is just: exe superviseArg; its environment volley's,
// without the run's cookie (so a search for the test's processes by cookie
// does not find it). Descriptors: 0 and 1 /dev/null, 2 volley's standard
// error (for the supervisor's own crash only), 3 the control pipe (per
// test, a JSON line with what to start, then requests from volley, "seq
// word" a line), 4 the report pipe (JSON lines to volley, each with the
// test's seq: its pid or why it did not start, diagnostics, then its exit,
// last), 5 a socket that brings, before each start line, the test's stdout
// and stderr (SCM_RIGHTS). The supervisor closes its copies of those as
// soon as the test has started, so volley's EOF on them means the test and
// all it left are done.
const superviseArg = "__volley_supervise"

func init() {
	// Before any other package of the program is initialised: the
	// supervisor needs none of them. Locking the main goroutine to the
	// main thread makes the test's parent-death signal fire only when the
	// supervisor itself is gone, not when some thread of it exits.
	if len(os.Args) > 1 && os.Args[1] == superviseArg {
		// One processor: the supervisor waits on one test at a time, and
		// a second would only add thread wakeups to each of its steps.
		runtime.GOMAXPROCS(1)
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
	Seq   uint64      `json:"seq"`
	Fatal bool        `json:"fatal,omitempty"` // the supervisor is exiting: Err says why
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
	rep *json.Encoder
	fds int // the socket the tests' stdout and stderr come over
	// The current test: its seq, process (pid 0: none), executable.
	seq  uint64
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
	Seq  uint64   `json:"seq"`
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
	// The fds socket stays a bare descriptor: an *os.File dropped would
	// close it when collected.
	_, fdsErr := unix.FcntlInt(5, unix.F_GETFD, 0)
	if ctl == nil || repf == nil || fdsErr != nil || len(args) != 0 {
		fmt.Fprintln(os.Stderr, "volley: the supervisor is started by volley only")
		return 2
	}
	syscall.CloseOnExec(3)
	syscall.CloseOnExec(4)
	syscall.CloseOnExec(5)
	s := &supervisor{rep: json.NewEncoder(repf), fds: 5}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		s.send(report{Fatal: true, Err: "supervisor: cannot become a child subreaper: " + err.Error()})
		return 1
	}
	// Caught, not ignored: an ignored signal would stay ignored in the test.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT,
		syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGPIPE)
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)

	reqs := make(chan string)
	go func() {
		sc := bufio.NewScanner(ctl)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			reqs <- sc.Text()
		}
		close(reqs)
	}()
	for {
		// Idle: nothing runs below the supervisor.
		var line string
		select {
		case q, ok := <-reqs:
			if !ok {
				return 0 // volley is gone
			}
			line = q
		case <-chld:
			s.reapAdopted()
			continue
		case <-sigs:
			return 0
		}
		if !strings.HasPrefix(line, "{") {
			continue // a request for a test that has ended
		}
		if !s.start(line) {
			return 1
		}
		if s.pid == 0 {
			continue // it did not start, and was reported
		}
		exited := make(chan struct{})
		go func(pid int) {
			// Wait without reaping: the test's pid, and so its process
			// group id, stays taken until its group is dealt with.
			var info unix.Siginfo
			for unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == syscall.EINTR {
			}
			close(exited)
		}(s.pid)
	busy:
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
				break busy
			}
		}
	}
}

// start starts the test described by the start line, with the stdout and
// stderr that came with it over the fds socket, and reports its pid or why
// it did not start. It returns false when the supervisor cannot go on (it
// has reported why).
func (s *supervisor) start(line string) bool {
	var sp startSpec
	if err := json.Unmarshal([]byte(line), &sp); err != nil || len(sp.Argv) == 0 {
		s.send(report{Seq: sp.Seq, Fatal: true, Err: fmt.Sprintf("supervisor: bad start request (%v)", err)})
		return false
	}
	stdout, stderr, err := recvFiles(s.fds)
	if err != nil {
		s.send(report{Seq: sp.Seq, Fatal: true, Err: "supervisor: no stdout and stderr for the test: " + err.Error()})
		return false
	}
	s.seq, s.test, s.pid, s.exe, s.noStack, s.killed = sp.Seq, nil, 0, sp.Path, sp.NoStack, false
	cmd := &exec.Cmd{Path: sp.Path, Args: sp.Argv, Dir: sp.Dir, Env: sp.Env,
		Stdin: os.Stdin, Stdout: stdout, Stderr: stderr,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}}
	err = cmd.Start()
	// The test's stdio now belongs to it alone: volley's EOF on the pipes
	// comes when the last process holding them is gone.
	stdout.Close()
	stderr.Close()
	if err != nil {
		r := report{Seq: s.seq, Err: err.Error()}
		var en syscall.Errno
		if errors.As(err, &en) {
			r.Errno = int(en)
		}
		s.send(r)
		return true
	}
	s.test, s.pid = cmd.Process, cmd.Process.Pid
	s.send(report{Seq: s.seq, Pid: s.pid})
	return true
}

// recvFiles receives the two descriptors of the next message of socket fd.
func recvFiles(fd int) (stdout, stderr *os.File, err error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(2*4))
	var n, oobn, flags int
	for {
		n, oobn, flags, _, err = unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, nil, err
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if f, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, f...)
			}
		}
	}
	if n == 0 || len(fds) != 2 || flags&unix.MSG_CTRUNC != 0 {
		for _, f := range fds {
			syscall.Close(f)
		}
		if n == 0 {
			return nil, nil, io.EOF
		}
		return nil, nil, fmt.Errorf("%d descriptors, want 2", len(fds))
	}
	// Blocking, as a test expects its stdout to be: volley's ends come
	// from os.Pipe, which makes them non-blocking.
	_ = unix.SetNonblock(fds[0], false)
	_ = unix.SetNonblock(fds[1], false)
	return os.NewFile(uintptr(fds[0]), "stdout"), os.NewFile(uintptr(fds[1]), "stderr"), nil
}

func (s *supervisor) send(r report) { _ = s.rep.Encode(r) }

// group signals the test's process group. Safe: the test is not reaped
// before its group is dealt with, so the id cannot be another group's.
func (s *supervisor) group(sig syscall.Signal) { _ = syscall.Kill(-s.pid, sig) }

// request carries out "seq word" when seq is the current test's.
func (s *supervisor) request(line string) {
	n, q, _ := strings.Cut(line, " ")
	if seq, err := strconv.ParseUint(n, 10, 64); err != nil || seq != s.seq {
		return // for a test that has ended
	}
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
		s.send(report{Seq: s.seq, Diag: &d})
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
	_ = s.test.Release() // reaped: its pidfd goes
	x := &ExitReport{Status: ws, CPU: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), Leaked: leaked}
	// The test was started by vfork: it shared the supervisor's memory
	// until exec, and the kernel carries that high-water mark into its
	// ru_maxrss. No more than the supervisor's own peak says nothing.
	if m := ru.Maxrss * 1024; m > selfPeak() {
		x.MaxRSS = m
	}
	s.send(report{Seq: s.seq, Exit: x})
	s.test, s.pid = nil, 0
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
	_ = s.test.Release()
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
