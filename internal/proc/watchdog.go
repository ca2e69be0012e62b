package proc

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// WatchdogArg is the hidden first argument that makes the volley executable
// act as the watchdog of another volley process.
const WatchdogArg = "__watchdog"

// Watchdog is a helper process that outlives volley for one purpose: when
// volley ends for any reason, including SIGKILL, it kills every process that
// carries the run's cookie. It learns of volley's end from the EOF on its
// standard input, which only volley holds open.
type Watchdog struct {
	cmd *exec.Cmd
	w   *os.File
}

// StartWatchdog starts the watchdog for the run marked by cookie.
func StartWatchdog(cookie string) (*Watchdog, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start watchdog: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start watchdog: %w", err)
	}
	cmd := exec.Command(exe, WatchdogArg, cookie)
	cmd.Stdin = r
	cmd.Stderr = os.Stderr
	// Its own process group, so a terminal's Ctrl-C does not kill it before
	// it has swept; no parent-death signal, so it outlives volley.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = startLocked(cmd)
	r.Close()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("start watchdog: %w", err)
	}
	return &Watchdog{cmd: cmd, w: w}, nil
}

// Stop tells the watchdog to sweep now and waits until it has.
func (d *Watchdog) Stop() {
	if d == nil {
		return
	}
	d.w.Close()
	_ = Wait(d.cmd)
}

// WatchdogMain is the watchdog process: it blocks until its standard input
// closes, then kills everything carrying cookie.
func WatchdogMain(cookie string) int {
	_, _ = io.Copy(io.Discard, os.Stdin)
	Sweep(cookie)
	return 0
}
