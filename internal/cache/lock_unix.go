//go:build unix

package cache

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// LockPatience is how long lock waits for another process to release the
// state directory's lock before giving up with an error naming it.
var LockPatience = 60 * time.Second

// lockNotice receives the one line lock prints when it has to wait.
var lockNotice = func(msg string) { fmt.Fprintln(os.Stderr, "volley: "+msg) }

// lock takes an exclusive flock on path, creating it, and returns the
// function that releases it. The lock file is never removed: a process
// waiting on an unlinked lock file would not exclude one that created a
// new one. A lock held by
// another process is waited for, with a message, for at most LockPatience.
// The holder writes its pid into the file, so the message can name it.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	deadline := time.Now().Add(LockPatience)
	told := false
	pause := 10 * time.Millisecond
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil || !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			break
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: still held after %s by %s; if no other volley is running, remove the file", path, LockPatience, holder(path))
		}
		if !told {
			told = true
			lockNotice(fmt.Sprintf("waiting for %s, held by %s (at most %s) ...", path, holder(path), LockPatience))
		}
		time.Sleep(pause)
		pause = min(2*pause, 200*time.Millisecond)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

// holder names the process that wrote its pid into the lock file.
func holder(path string) string {
	b, err := ReadBounded(path, 32)
	if err != nil {
		return "another process"
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return "another process"
	}
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if len(cmd) == 0 {
		return fmt.Sprintf("process %d", pid)
	}
	name := strings.SplitN(string(cmd), "\x00", 2)[0]
	return fmt.Sprintf("process %d (%s)", pid, name)
}
