//go:build !unix

package reapitest

import (
	"os"
	"os/exec"
)

func ownGroup(c *exec.Cmd) {}

func exitCode(ps *os.ProcessState) int { return ps.ExitCode() }

func textBusy(err error) bool { return false }
