package proc

import (
	"bytes"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// CookieVar is the environment variable that marks every process of a
// volley run, inherited by all descendants that keep their environment.
const CookieVar = "VOLLEY_RUN"

var (
	mu       sync.Mutex       // held while starting a process and while reaping orphans
	started  = map[int]bool{} // pids started through Start and not yet waited for
	reaperOn bool
)

// Start starts cmd in its own process group, killed if volley dies. It must
// be used for every process volley starts (see the package doc).
func Start(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return startLocked(cmd)
}

// starts carries start requests to the one goroutine that forks, locked to
// an OS thread that lives as long as volley: a parent-death signal fires
// when the thread that forked the child exits, not when the process does,
// and the Go runtime may end any other thread.
var (
	starts    = make(chan func())
	startOnce sync.Once
)

// startLocked starts cmd from the forking thread and records it, so the
// orphan reaper leaves its exit status to its own Wait.
func startLocked(cmd *exec.Cmd) error {
	startOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread stays
			for f := range starts {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	starts <- func() {
		mu.Lock()
		defer mu.Unlock()
		err := cmd.Start()
		if err == nil {
			started[cmd.Process.Pid] = true
		}
		errc <- err
	}
	return <-errc
}

// Wait waits for a process started with Start.
func Wait(cmd *exec.Cmd) error {
	err := cmd.Wait()
	mu.Lock()
	delete(started, cmd.Process.Pid)
	mu.Unlock()
	return err
}

// KillGroup sends sig to the process group led by pid. Errors (the group is
// already gone) are ignored.
func KillGroup(pid int, sig syscall.Signal) {
	if pid > 0 {
		_ = syscall.Kill(-pid, sig)
	}
}

// EnableSubreaper makes volley the reaper of its orphaned descendants, so a
// grandchild that daemonizes is re-parented to volley rather than to init,
// and starts reaping such orphans as they exit. Call it once, from main.
func EnableSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return err
	}
	mu.Lock()
	reaperOn = true
	mu.Unlock()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGCHLD)
	go func() {
		// Signals coalesce: one pass reaps every orphan that has exited by
		// then, however many SIGCHLDs announced them.
		for range ch {
			reapOrphans()
		}
	}()
	return nil
}

// reapOrphans reaps every adopted child that has exited. Children started
// through Start are left to their own Wait.
func reapOrphans() {
	pids := adopted()
	mu.Lock()
	defer mu.Unlock()
	for _, pid := range pids {
		if started[pid] {
			continue
		}
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	}
}

// adopted lists the children of volley's main thread. Orphans re-parented
// to a subreaper go to its first live thread, the main one, so this one
// small read finds them all, where Children reads a file per thread.
func adopted() []int {
	b := readSmall("/proc/self/task/"+strconv.Itoa(os.Getpid())+"/children", make([]byte, 512))
	if b == nil {
		return Children()
	}
	return appendPids(nil, b)
}

// Children lists volley's own child processes, including adopted orphans:
// the children files of each of its threads (a child belongs to the thread
// that forked it; an orphan is adopted by the main thread). A supervisor
// asks after every test, so this uses plain system calls (about four per
// thread), not os.File's poller registration and directory globbing (over
// a hundred).
func Children() []int {
	var pids []int
	buf := make([]byte, 4096)
	for _, tid := range threads(buf) {
		pids = appendPids(pids, readSmall("/proc/self/task/"+tid+"/children", buf))
	}
	return pids
}

// threads lists the ids of volley's threads (/proc/self/task).
func threads(buf []byte) []string {
	fd, err := unix.Open("/proc/self/task", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return []string{strconv.Itoa(os.Getpid())}
	}
	defer unix.Close(fd)
	var names []string
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return names
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// readSmall returns the content of a small /proc file (nil on error),
// read into buf (grown when full).
func readSmall(path string, buf []byte) []byte {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	n := 0
	for {
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf))...)
		}
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || m <= 0 {
			return buf[:n]
		}
		n += m
	}
}

// appendPids appends the pids in a space-separated list.
func appendPids(pids []int, b []byte) []int {
	for _, f := range bytes.Fields(b) {
		if pid, err := strconv.Atoi(string(f)); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// HasCookie reports whether process pid has CookieVar=cookie, or a value
// that starts with cookie followed by '.', in its environment.
func HasCookie(pid int, cookie string) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	want := []byte(CookieVar + "=" + cookie)
	for _, kv := range bytes.Split(env, []byte{0}) {
		if bytes.Equal(kv, want) || (bytes.HasPrefix(kv, want) && len(kv) > len(want) && kv[len(want)] == '.') {
			return true
		}
	}
	return false
}

// Sweep kills every process on the machine that carries the cookie, except
// volley itself, and returns their pids. It is the last line of defence:
// run at the end of a run, and by the watchdog when volley was killed.
func Sweep(cookie string) []int {
	self := os.Getpid()
	var killed []int
	seen := map[int]bool{}
	for round := 0; round < 5; round++ {
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return killed
		}
		found := 0
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self {
				continue
			}
			if HasCookie(pid, cookie) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				if !seen[pid] {
					// A new one: it may have forked while we looked, so look again.
					seen[pid] = true
					killed = append(killed, pid)
					found++
				}
			}
		}
		if found == 0 {
			break
		}
	}
	return killed
}

// Cmdline returns a process's command line for messages, or "".
func Cmdline(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// KillAdopted kills every adopted orphan still alive — descendants of tests
// that escaped the cookie (a daemon that cleared its environment) — and
// their process groups, and describes them ("pid cmdline"). Only a
// subreaper has adopted orphans; volley's own children are left alone.
func KillAdopted() []string {
	mu.Lock()
	on := reaperOn
	mu.Unlock()
	if !on {
		return nil
	}
	var out []string
	for _, pid := range adopted() {
		mu.Lock()
		mine := started[pid]
		mu.Unlock()
		if mine || isZombie(pid) {
			continue
		}
		out = append(out, strconv.Itoa(pid)+" "+Cmdline(pid))
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return out
}

// isZombie reports whether pid has exited and waits to be reaped.
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}
