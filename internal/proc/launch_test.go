package proc

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/testenv"
)

// launch starts argv under a supervisor, with its stdout on a pipe whose
// read end is returned.
func launch(t *testing.T, argv ...string) (*Child, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c, err := Launch(Spec{Path: argv[0], Args: argv, Env: os.Environ(), Stdout: w, Stderr: w, NoStack: true})
	w.Close()
	if err != nil {
		t.Fatalf("Launch %v: %v", argv, err)
	}
	return c, r
}

// end waits for c's exit report.
func end(t *testing.T, c *Child) *ExitReport {
	t.Helper()
	for {
		ev, err := c.Next()
		if err != nil {
			t.Fatalf("process %d: %v", c.Pid(), err)
		}
		if ev.Exit != nil {
			return ev.Exit
		}
	}
}

// onlyIdle leaves no idle supervisor from an earlier test, and closes the
// test's own at its end.
func onlyIdle(t *testing.T) {
	CloseIdle()
	t.Cleanup(CloseIdle)
}

// A supervisor serves a second test after the first left a process behind:
// the leftover is killed and named in the first test's report only.
func TestSupervisorReusedAfterLeak(t *testing.T) {
	onlyIdle(t)
	a, out := launch(t, "sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!")
	first := a.sup
	b, _ := io.ReadAll(out) // EOF: the leftover does not hold the pipe
	leftover, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("the test printed %q", b)
	}
	x := end(t, a)
	// (Its command line may still be the shell's, if it had not yet
	// executed sleep.)
	if len(x.Leaked) != 1 || !strings.HasPrefix(x.Leaked[0], strconv.Itoa(leftover)+" ") {
		t.Errorf("first test: Leaked = %q, want the sleep %d", x.Leaked, leftover)
	}
	if err := syscall.Kill(leftover, 0); err == nil {
		t.Errorf("the leftover %d is alive after the report", leftover)
	}
	c, _ := launch(t, "sh", "-c", "exit 3")
	if c.sup != first {
		t.Fatalf("the second test got a new supervisor, not the idle one")
	}
	x = end(t, c)
	if len(x.Leaked) != 0 || x.Status.ExitStatus() != 3 {
		t.Errorf("second test: status %v, Leaked %q; want exit 3, nothing leaked", x.Status, x.Leaked)
	}
}

// A request for a test that has ended reaches neither the idle supervisor
// nor the next test it runs; the next test's own requests work.
func TestRequestForEndedTest(t *testing.T) {
	onlyIdle(t)
	a, _ := launch(t, "true")
	end(t, a)
	a.Request(ReqKill) // after the end: nothing is sent
	sup := a.sup
	// A request already on its way when the test ended, while idle.
	fmt.Fprintf(sup.ctl, "%d %s\n", a.seq, ReqKill)
	b, _ := launch(t, "sh", "-c", "sleep 0.3; exit 7")
	if b.sup != sup {
		t.Fatal("the second test got a new supervisor")
	}
	// And while the next one runs.
	fmt.Fprintf(sup.ctl, "%d %s\n", a.seq, ReqTerm)
	fmt.Fprintf(sup.ctl, "%d %s\n", a.seq, ReqKill)
	a.Request(ReqKill)
	if x := end(t, b); !x.Status.Exited() || x.Status.ExitStatus() != 7 {
		t.Errorf("second test: status %v, want exit 7 (not killed by the first test's requests)", x.Status)
	}
	c, _ := launch(t, "sleep", "60")
	c.Request(ReqTerm)
	if x := end(t, c); !x.Status.Signaled() || x.Status.Signal() != syscall.SIGTERM {
		t.Errorf("third test: status %v, want SIGTERM", x.Status)
	}
}

// The supervisor keeps no copy of a test's stdout or stderr: not while the
// test runs, not after.
func TestSupervisorHoldsNoTestPipe(t *testing.T) {
	onlyIdle(t)
	c, out := launch(t, "sh", "-c", "echo hi; exec sleep 60")
	var st syscall.Stat_t
	if err := syscall.Fstat(int(out.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	pipe := fmt.Sprintf("pipe:[%d]", st.Ino)
	holds := func() bool {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", c.sup.cmd.Process.Pid))
		for _, e := range fds {
			if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", c.sup.cmd.Process.Pid, e.Name())); l == pipe {
				return true
			}
		}
		return false
	}
	hi := make([]byte, 3)
	if _, err := io.ReadFull(out, hi); err != nil || string(hi) != "hi\n" {
		t.Fatalf("output %q (%v)", hi, err)
	}
	if holds() {
		t.Errorf("the supervisor holds the running test's stdout (%s)", pipe)
	}
	c.Request(ReqKill)
	end(t, c)
	if rest, err := io.ReadAll(out); err != nil || len(rest) != 0 { // EOF with the supervisor idle and alive
		t.Errorf("after the end: %q, %v; want EOF", rest, err)
	}
	if holds() {
		t.Errorf("the idle supervisor holds the ended test's stdout (%s)", pipe)
	}
}

// A process that cannot start leaves its supervisor usable; a supervisor
// that died while idle is replaced; CloseIdle ends the idle ones.
func TestSupervisorStartErrorAndIdleDeath(t *testing.T) {
	onlyIdle(t)
	_, err := Launch(Spec{Path: "/nonexistent/volley-test", Args: []string{"/nonexistent/volley-test"}})
	if !os.IsNotExist(err) {
		t.Fatalf("Launch of a missing file: %v, want not exist", err)
	}
	a, _ := launch(t, "true")
	end(t, a)
	if err := a.sup.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "the idle supervisor to die", func() bool { return isZombie(a.sup.cmd.Process.Pid) })
	b, _ := launch(t, "sh", "-c", "exit 4")
	if b.sup == a.sup {
		t.Fatal("a dead supervisor was reused")
	}
	if x := end(t, b); x.Status.ExitStatus() != 4 {
		t.Errorf("status %v, want exit 4", x.Status)
	}
	CloseIdle()
	if b.sup.cmd.ProcessState == nil {
		t.Errorf("CloseIdle left the idle supervisor running")
	}
}

// A test's stdout is blocking, as it would be under a shell: a test that
// writes more than the pipe holds waits for volley to read.
func TestTestStdoutBlocks(t *testing.T) {
	onlyIdle(t)
	c, out := launch(t, "head", "-c", "300000", "/dev/zero")
	time.Sleep(testenv.Scale(200 * time.Millisecond)) // the pipe fills
	b, _ := io.ReadAll(out)
	if x := end(t, c); len(b) != 300000 || x.Status.ExitStatus() != 0 {
		t.Errorf("read %d bytes, status %v; want 300000, exit 0", len(b), x.Status)
	}
}

// A supervisor holds as many pipes, sockets and process descriptors after
// ten more tests as before: none is kept per test. (The Go runtime opens
// files of its own now and then; those are not counted.)
func TestSupervisorKeepsNoDescriptors(t *testing.T) {
	onlyIdle(t)
	count := func(c *Child) int {
		dir := fmt.Sprintf("/proc/%d/fd", c.sup.cmd.Process.Pid)
		fds, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range fds {
			l, _ := os.Readlink(dir + "/" + e.Name())
			if strings.HasPrefix(l, "pipe:") || strings.HasPrefix(l, "socket:") || l == "anon_inode:[pidfd]" {
				n++
			}
		}
		return n
	}
	c, _ := launch(t, "true")
	end(t, c)
	before := count(c)
	for range 10 {
		c, _ = launch(t, "sh", "-c", "sleep 60 & exit 1")
		end(t, c)
	}
	if after := count(c); after != before {
		t.Errorf("the supervisor had %d pipes, sockets and pidfds open, %d after ten tests", before, after)
	}
}
