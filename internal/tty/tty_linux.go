package tty

import (
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Size is the number of columns and rows of the terminal w, 0s when w is
// not one.
func Size(w io.Writer) (width, height int) {
	if f, ok := w.(*os.File); ok {
		if wd, ht, err := term.GetSize(int(f.Fd())); err == nil {
			return wd, ht
		}
	}
	return 0, 0
}

// Foreground reports whether the calling process's group is the terminal
// f's foreground process group: only then may it change the terminal's
// settings or read from it without being stopped (SIGTTOU, SIGTTIN).
func Foreground(f *os.File) bool {
	pg, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil && pg == syscall.Getpgrp()
}

// Keys reads single key presses from a terminal: canonical mode and echo
// off, output processing untouched (so a live view still draws). Create it
// with WatchKeys.
type Keys struct {
	f   *os.File
	key func(byte)

	mu      sync.Mutex
	saved   *unix.Termios // the settings found; nil when none were changed
	reading bool
}

// WatchKeys calls key for every key pressed on f while volley is in the
// terminal's foreground. It returns nil when f is not a terminal. In the
// background (`volley test ... &`) it changes nothing and reads nothing
// until Resume finds volley in the foreground.
func WatchKeys(f *os.File, key func(byte)) *Keys {
	if !IsTerminal(f) {
		return nil
	}
	k := &Keys{f: f, key: key}
	k.Resume()
	return k
}

// Pause puts the terminal back as it was found (before volley stops on
// Ctrl-Z, and when the run ends).
func (k *Keys) Pause() {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.saved != nil {
		_ = unix.IoctlSetTermios(int(k.f.Fd()), unix.TCSETS, k.saved)
		k.saved = nil
	}
}

// Resume enters key mode again if volley is in the foreground (after fg).
func (k *Keys) Resume() {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	fd := int(k.f.Fd())
	if k.saved != nil || !Foreground(k.f) {
		return
	}
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return
	}
	raw := *old
	raw.Lflag &^= unix.ICANON | unix.ECHO
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return
	}
	k.saved = old
	if !k.reading {
		k.reading = true
		go k.read()
	}
}

// Close is Pause; the reader ends with the process.
func (k *Keys) Close() { k.Pause() }

func (k *Keys) read() {
	buf := make([]byte, 1)
	for {
		n, err := k.f.Read(buf)
		if err != nil {
			k.mu.Lock()
			k.reading = false
			k.mu.Unlock()
			return
		}
		if n == 1 {
			k.key(buf[0])
		}
	}
}

// StopSelf stops volley as the terminal's Ctrl-Z would have (SIGSTOP: a
// Go program that has caught SIGTSTP cannot take its default action again)
// and returns once it is continued. It does nothing, and returns false,
// when no job-control shell could continue it: volley's parent must be in
// its session but not its process group (else the group is orphaned, and
// the kernel itself discards a terminal stop).
func StopSelf() bool {
	parent := syscall.Getppid()
	pg, err := syscall.Getpgid(parent)
	if err != nil || pg == syscall.Getpgrp() {
		return false
	}
	psid, err1 := unix.Getsid(parent)
	sid, err2 := unix.Getsid(0)
	if err1 != nil || err2 != nil || psid != sid {
		return false
	}
	// The stop takes effect asynchronously: wait for the SIGCONT that ends
	// it, so nothing after this runs before volley was really stopped.
	cont := make(chan os.Signal, 1)
	signal.Notify(cont, syscall.SIGCONT)
	defer signal.Stop(cont)
	if syscall.Kill(syscall.Getpid(), syscall.SIGSTOP) != nil {
		return false
	}
	<-cont
	return true
}
