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
	master, slave := openPty(t)
	cmd := exec.Command(vbin, args...)
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

// state is the state letter of pid ('T' stopped, 'S' sleeping), 0 if gone.
func state(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
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
