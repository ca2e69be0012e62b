package runner

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/volley-test/volley/internal/proc"
)

// diagnosis is what was collected from a hung process before it was killed.
type diagnosis struct {
	text     string
	quitSent bool // a Go binary got SIGQUIT and is dumping its goroutines
}

// gdbTimeout bounds a stack dump by gdb.
const gdbTimeout = 15 * time.Second

// diagnose collects what a person needs to understand a hang: the process
// tree of the test's group and a stack dump — SIGQUIT for a Go binary (the
// runtime prints every goroutine and exits), `gdb -batch` for anything
// else when gdb is installed.
func diagnose(pid int, exe string) diagnosis {
	var b strings.Builder
	if tree := groupTree(pid); tree != "" {
		b.WriteString("process tree at timeout:\n")
		b.WriteString(tree)
	}
	if _, err := buildinfo.ReadFile(exe); err == nil {
		_ = syscall.Kill(pid, syscall.SIGQUIT)
		b.WriteString("sent SIGQUIT to the Go binary: its goroutine dump is at the end of the output\n")
		return diagnosis{text: b.String(), quitSent: true}
	}
	if gdb, err := exec.LookPath("gdb"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), gdbTimeout)
		defer cancel()
		target := gdbTarget(pid)
		cmd := exec.CommandContext(ctx, gdb, "-batch", "-nx", "-p", strconv.Itoa(target), "-ex", "thread apply all bt")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := proc.Start(cmd); err == nil {
			_ = proc.Wait(cmd)
			fmt.Fprintf(&b, "gdb backtrace at timeout of pid %d (%s):\n", target, proc.Cmdline(target))
			b.WriteString(clipTail(keepBacktrace(out.String()), 32<<10))
		}
	}
	return diagnosis{text: b.String()}
}

// keepBacktrace drops gdb's chatter (symbol loading) and keeps the threads.
func keepBacktrace(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "#") || strings.HasPrefix(l, "Thread ") || strings.HasPrefix(l, "[Current thread") {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return s
	}
	return strings.Join(keep, "\n") + "\n"
}

func clipTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// gdbTarget picks the process of group pgid to take a backtrace of: the
// deepest descendant that is not a shell (a test run through sh or a
// wrapper script hangs in what the script started), else pgid itself.
func gdbTarget(pgid int) int {
	parent := map[int]int{}
	comm := map[int]string{}
	for _, m := range groupMembers(pgid) {
		parent[m[0]], comm[m[0]] = m[1], proc.Cmdline(m[0])
	}
	depth := func(pid int) int {
		d := 0
		for pid != pgid && d < 64 {
			p, ok := parent[pid]
			if !ok {
				return -1 // not below the leader
			}
			pid, d = p, d+1
		}
		return d
	}
	best, bestDepth := pgid, -1
	for pid := range parent {
		name := comm[pid]
		if f := strings.Fields(name); len(f) > 0 {
			name = f[0]
		}
		switch base := name[strings.LastIndexByte(name, '/')+1:]; base {
		case "sh", "bash", "dash", "zsh", "ksh", "busybox", "gdb", "":
			continue
		}
		if d := depth(pid); d > bestDepth || d == bestDepth && pid < best {
			best, bestDepth = pid, d
		}
	}
	return best
}

// groupMembers lists the processes of group pgid as {pid, ppid}.
func groupMembers(pgid int) [][2]int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out [][2]int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		out = append(out, [2]int{pid, ppid})
	}
	return out
}

// groupTree lists the processes of process group pgid: "pid ppid cmdline".
func groupTree(pgid int) string {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the ")" that closes the command name: state ppid pgrp ...
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		fmt.Fprintf(&b, "  pid %d ppid %s state %s: %s\n", pid, f[1], f[0], proc.Cmdline(pid))
	}
	return b.String()
}
