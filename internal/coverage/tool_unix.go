//go:build unix

package coverage

import (
	"os/exec"
	"syscall"
)

// killGroup makes cmd run in its own process group, killed as a whole
// when its context ends, so a tool's children cannot outlive a timeout.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
