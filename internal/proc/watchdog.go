package proc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// WatchdogArg is the hidden first argument that makes the volley executable
// act as the watchdog of another volley process.
const WatchdogArg = "__watchdog"

// Watchdog is a helper process that outlives volley for one purpose: when
// volley ends for any reason, including SIGKILL, it kills every process that
// carries the run's cookie. It learns of volley's end from the EOF on its
// standard input, which only volley holds open.
//
// When volley's standard input is a terminal, the watchdog also holds the
// terminal and the settings volley found it in, and puts them back if they
// were left changed (volley killed while its live view had echo off).
// Start it before volley changes the terminal.
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
	var hello string
	if t, err := unix.IoctlGetTermios(int(os.Stdin.Fd()), unix.TCGETS); err == nil {
		var b bytes.Buffer
		if binary.Write(&b, binary.LittleEndian, t) == nil {
			cmd.ExtraFiles = []*os.File{os.Stdin}
			hello = ttyLine + hex.EncodeToString(b.Bytes())
		}
	}
	// Its own process group, so a terminal's Ctrl-C does not kill it before
	// it has swept; no parent-death signal, so it outlives volley.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = startLocked(cmd)
	r.Close()
	if err == nil {
		_, err = fmt.Fprintln(w, hello)
	}
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

// ttyLine starts the watchdog's first input line when it holds the
// terminal (fd 3): the settings volley found, hex of their binary form.
const ttyLine = "tty "

// WatchdogMain is the watchdog process: it blocks until its standard input
// closes, then puts the terminal back if volley left it changed, and kills
// everything carrying cookie.
func WatchdogMain(cookie string) int {
	runtime.GOMAXPROCS(1) // it only waits
	in := bufio.NewReader(os.Stdin)
	first, _ := in.ReadString('\n')
	_, _ = io.Copy(io.Discard, in)
	if h, ok := strings.CutPrefix(strings.TrimSpace(first), ttyLine); ok {
		restoreTerminal(os.NewFile(3, "tty"), h)
	}
	Sweep(cookie)
	return 0
}

// restoreTerminal sets the terminal f to the settings hex-encoded in h when
// they differ from its current ones. The watchdog is in a process group of
// its own, in the background: SIGTTOU is ignored so the change is allowed.
func restoreTerminal(f *os.File, h string) {
	if f == nil {
		return
	}
	defer f.Close()
	b, err := hex.DecodeString(h)
	if err != nil {
		return
	}
	var want unix.Termios
	if binary.Read(bytes.NewReader(b), binary.LittleEndian, &want) != nil {
		return
	}
	cur, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil || *cur == want {
		return
	}
	signal.Ignore(syscall.SIGTTOU)
	_ = unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, &want)
}
