package cli_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/volley-test/volley/internal/testenv"
)

// openPty opens a pseudo-terminal pair: the master (what a terminal
// emulator holds) and the slave (the terminal a program runs in).
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open the pty slave: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// ttyRun is volley running in a terminal of its own, as a session leader
// whose process group is the terminal's foreground group (as a shell puts a
// foreground job). Everything volley draws is kept in out.
type ttyRun struct {
	cmd    *exec.Cmd
	master *os.File
	slave  *os.File
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan struct{}
}

func startInTerminal(t *testing.T, dir, mark string, args ...string) *ttyRun {
	t.Helper()
	vbin, _ := faultBins(t)
	return startCmdInTerminal(t, dir, mark, vbin, args...)
}

// startCmdInTerminal is startInTerminal for any command.
func startCmdInTerminal(t *testing.T, dir, mark, path string, args ...string) *ttyRun {
	t.Helper()
	master, slave := openPty(t)
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), faultMarkVar+"="+mark, "NO_COLOR=1", "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start volley in a terminal: %v", err)
	}
	r := &ttyRun{cmd: cmd, master: master, slave: slave, done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			r.mu.Lock()
			r.out.Write(buf[:n])
			r.mu.Unlock()
			if err != nil {
				close(r.done)
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		for _, l := range faultLeftovers(mark) {
			t.Errorf("left running: %s", l)
		}
	})
	return r
}

// waitOutput waits until the terminal has shown text: what the shell
// wrote before it exited may still be on its way from the pty.
func (r *ttyRun) waitOutput(t *testing.T, text string) {
	t.Helper()
	testenv.WaitFor(t, testenv.Scale(20*time.Second), fmt.Sprintf("the terminal to show %q", text), func() bool {
		return strings.Contains(r.output(), text)
	})
}

func (r *ttyRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// echo reports whether the terminal echoes input.
func (r *ttyRun) echo(t *testing.T) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(r.slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatalf("read the terminal's settings: %v", err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// ttyFixture writes a test that writes its pid to FILE.pid, then sleeps
// for d, and a volley.toml naming it with the given per-test timeout.
func ttyFixture(t *testing.T, sleep, timeout string) (dir, pidFile string) {
	d := newFaultDir(t)
	pidFile = d.path("t.pid")
	d.file("t", fmt.Sprintf("#!/bin/sh\necho $$ > %s.tmp && mv %s.tmp %s\nsleep %s\n", pidFile, pidFile, pidFile, sleep), 0o755)
	d.suite("t", "exec", "t")
	d.raw(fmt.Sprintf("timeout = %q\n", timeout))
	d.writeConfig()
	return d.dir, pidFile
}

func readPid(t *testing.T, file string) int {
	t.Helper()
	var pid int
	testenv.WaitFor(t, testenv.Scale(20*time.Second), "the test to start", func() bool {
		b, err := os.ReadFile(file)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

// In a terminal, the live view turns echo off to read keys; when volley is
// killed with SIGKILL, its watchdog turns echo back on.
func TestTerminalRestoredAfterSIGKILL(t *testing.T) {
	dir, pidFile := ttyFixture(t, "60", "120s")
	mark := fmt.Sprintf("tty-kill-%d", time.Now().UnixNano())
	r := startInTerminal(t, dir, mark, "test", "--no-cache", "--state-dir", filepath.Join(dir, "state"))
	if !r.echo(t) {
		t.Fatal("the new terminal does not echo")
	}
	readPid(t, pidFile)
	testenv.WaitFor(t, testenv.Scale(20*time.Second), "volley's live view to turn echo off", func() bool { return !r.echo(t) })
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = r.cmd.Wait()
	testenv.WaitFor(t, testenv.Scale(20*time.Second), "the terminal to echo again after volley was killed", func() bool { return r.echo(t) })
}

// ppid is the parent of pid, 0 if unknown.
func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// Ctrl-Z in a job-control shell stops volley and the test it runs, with
// echo back on; fg continues both, and the time stopped, longer than the
// test's timeout, does not time it out.
func TestTerminalCtrlZ(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash: the job-control shell of this test")
	}
	vbin, _ := faultBins(t)
	dir, pidFile := ttyFixture(t, "1", "4s")
	mark := fmt.Sprintf("tty-tstp-%d", time.Now().UnixNano())
	// A shell with job control runs volley as a foreground job in a
	// process group of its own, as at an interactive prompt; when the job
	// stops it waits for a line, then runs fg.
	script := `set -m; "$@"; echo "[volley stopped: $?]"; read line; fg %1 >/dev/null; echo "[exit $?]"`
	r := startCmdInTerminal(t, dir, mark, bash, "-c", script, "bash", vbin, "test", "--no-cache", "--state-dir", filepath.Join(dir, "state"))
	pid := readPid(t, pidFile)
	vpid := ppid(ppid(pid)) // the test's supervisor's parent
	if vpid <= 1 {
		t.Fatalf("cannot find volley above the test %d", pid)
	}
	testenv.WaitFor(t, testenv.Scale(20*time.Second), "volley's live view to turn echo off", func() bool { return !r.echo(t) })
	if _, err := r.master.Write([]byte{0x1a}); err != nil { // ^Z
		t.Fatal(err)
	}
	testenv.WaitFor(t, testenv.Scale(20*time.Second), "volley to stop", func() bool { return testenv.ProcState(vpid) == 'T' })
	testenv.WaitFor(t, testenv.Scale(20*time.Second), "the test to stop", func() bool { return testenv.ProcState(pid) == 'T' })
	testenv.WaitFor(t, testenv.Scale(20*time.Second), "the shell to see the job stopped", func() bool {
		return strings.Contains(r.output(), "[volley stopped: ")
	})
	if !r.echo(t) {
		t.Error("the terminal does not echo while volley is stopped")
	}
	// Stopped for longer than the timeout: time passing is what is tested.
	time.Sleep(5 * time.Second)
	if st := testenv.ProcState(pid); st != 'T' {
		t.Errorf("the test runs on while volley is stopped (state %q)", st)
	}
	if _, err := r.master.Write([]byte("\n")); err != nil { // fg
		t.Fatal(err)
	}
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("the shell: %v\n%s", err, r.output())
	}
	r.waitOutput(t, "[exit ")
	out := r.output()
	if !strings.Contains(out, "volley: 1 passed, 0 failed") || !strings.Contains(out, "[exit 0]") {
		t.Errorf("want the test to pass after fg and volley to exit 0:\n%s", out)
	}
	if !r.echo(t) {
		t.Error("the terminal does not echo after the run")
	}
}

// `volley test ... &` at a job-control shell's prompt runs to the end in
// the background: it leaves the terminal's settings alone (changing them
// from the background would stop it with SIGTTOU) and reads no keys.
func TestTerminalBackground(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash: the job-control shell of this test")
	}
	vbin, _ := faultBins(t)
	dir, pidFile := ttyFixture(t, "0.2", "60s")
	mark := fmt.Sprintf("tty-bg-%d", time.Now().UnixNano())
	script := `set -m; "$@" & wait $!; echo "[exit $?]"`
	r := startCmdInTerminal(t, dir, mark, bash, "-c", script, "bash", vbin, "test", "--no-cache", "--state-dir", filepath.Join(dir, "state"))
	readPid(t, pidFile)
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the shell: %v\n%s", err, r.output())
		}
	case <-time.After(testenv.Scale(30 * time.Second)):
		t.Fatalf("volley in the background did not finish (stopped by the terminal?):\n%s", r.output())
	}
	r.waitOutput(t, "[exit ")
	if out := r.output(); !strings.Contains(out, "volley: 1 passed, 0 failed") || !strings.Contains(out, "[exit 0]") {
		t.Errorf("want the run to pass in the background:\n%s", out)
	}
	if !r.echo(t) {
		t.Error("the terminal does not echo after a background run")
	}
}
