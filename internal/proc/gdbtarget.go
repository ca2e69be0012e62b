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
		parent[m[0]], comm[m[0]] = m[1], Cmdline(m[0])
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
