package proc

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// gdbTarget picks the process of group pgid to take a backtrace of: the
// deepest descendant that is not a shell (a test run through sh or a
// wrapper script hangs in what the script started), else pgid itself.
func gdbTarget(pgid int) int {
	parent := map[int]int{}
	comm := map[int]string{}
	for _, m := range groupMembers(pgid) {
		parent[m.pid], comm[m.pid] = m.ppid, Cmdline(m.pid)
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

// member is one process of a process group, as /proc/PID/stat has it.
type member struct {
	pid, ppid int
	state     string
}

// groupMembers lists the processes of group pgid.
func groupMembers(pgid int) []member {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []member
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
		ppid, _ := strconv.Atoi(f[1])
		out = append(out, member{pid: pid, ppid: ppid, state: f[0]})
	}
	return out
}
