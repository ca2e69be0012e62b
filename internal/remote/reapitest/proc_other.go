//go:build !unix

package reapitest

import (
	"os"
	"os/exec"
	"time"
)

func ownGroup(c *exec.Cmd) {}

type ended struct {
	code         int
	signal       string
	user, system time.Duration
	maxRSS       int64
}

func endOf(ps *os.ProcessState) ended { return ended{code: ps.ExitCode()} }

func textBusy(err error) bool { return false }

func signalNumber(string) int { return 0 }
