package proc

import (
	"syscall"
)

// MaxArgStrlen is the kernel's limit on one argument or environment string,
// its terminating NUL included (MAX_ARG_STRLEN, 32 pages). A longer one
// makes execve fail with E2BIG whatever the total.
const MaxArgStrlen = 32 * 4096

// minArgMax is the least room execve gives the arguments and environment
// (ARG_MAX); stackArgCap the most (a quarter of the kernel's 8 MiB stack
// limit, times three).
const (
	minArgMax   = 128 << 10
	stackArgCap = 6 << 20
)

// ArgMax is the room execve gives the argument and environment strings
// together, their NULs and the pointer arrays included: a quarter of the
// stack size limit, at least 128 KiB and at most 6 MiB (fs/exec.c).
func ArgMax() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_STACK, &rl); err != nil {
		return minArgMax
	}
	lim := uint64(stackArgCap)
	if q := rl.Cur / 4; rl.Cur != ^uint64(0) && q < lim {
		lim = q
	}
	return int(max(lim, minArgMax))
}

// ExecSize is what argv and env cost against ArgMax.
func ExecSize(argv, env []string) int {
	n := 8 * (len(argv) + len(env) + 2)
	for _, s := range argv {
		n += len(s) + 1
	}
	for _, s := range env {
		n += len(s) + 1
	}
	return n
}

// LongestArg is the length, NUL included, of the longest string of argv.
func LongestArg(argv []string) int {
	m := 0
	for _, s := range argv {
		m = max(m, len(s)+1)
	}
	return m
}
