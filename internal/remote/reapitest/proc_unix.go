//go:build unix

package reapitest

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// ownGroup puts the action in its own process group and kills the whole
// group when its context ends.
func ownGroup(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
}

// exitCode is the exit status, or 128+N for a process killed by signal N,
// as Linux workers report it.
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func textBusy(err error) bool { return errors.Is(err, syscall.ETXTBSY) }
