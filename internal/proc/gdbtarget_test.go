package proc

import (
	"bufio"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestGDBTargetSkipsShells: a test run through a shell hangs in what the
// shell started; that process gets the backtrace.
func TestGDBTargetSkipsShells(t *testing.T) {
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("perl not installed")
	}
	// perl says its pid once it runs (after its exec), under two shells.
	cmd := exec.Command("/bin/sh", "-c", `sh -c 'perl -e "$CODE" & wait' & wait`)
	cmd.Env = append(cmd.Environ(), `CODE=$| = 1; print "$$\n"; sleep 300`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	sleep, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	if got := gdbTarget(cmd.Process.Pid); got != sleep {
		t.Errorf("gdbTarget = %d; want %d, perl under two shells", got, sleep)
	}
}
