//go:build unix

package reapitest

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ownGroup puts the action in its own process group and kills the whole
// group when its context ends.
func ownGroup(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
}

// ended is how an action's process ended, as a worker measures it.
type ended struct {
	code         int    // exit status; -1 when a signal ended it
	signal       string // without "SIG": "SEGV"
	user, system time.Duration
	maxRSS       int64 // bytes
}

func endOf(ps *os.ProcessState) ended {
	e := ended{code: ps.ExitCode()}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.code = -1
		e.signal = strings.TrimPrefix(unix.SignalName(ws.Signal()), "SIG")
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		e.user = time.Duration(ru.Utime.Nano())
		e.system = time.Duration(ru.Stime.Nano())
		e.maxRSS = int64(ru.Maxrss) * 1024 // kibibytes on Linux
	}
	return e
}

func textBusy(err error) bool { return errors.Is(err, syscall.ETXTBSY) }

// signalNumber is the number of the signal named without "SIG".
func signalNumber(name string) int { return int(unix.SignalNum("SIG" + name)) }
