package proc

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/testenv"
)

// testCookie is unique to this test process and test.
func testCookie(t *testing.T) string {
	return fmt.Sprintf("proctest-%d-%d-%s", os.Getpid(), time.Now().UnixNano(), t.Name())
}

// startMarked starts `sleep 60` with CookieVar=value in its environment.
func startMarked(t *testing.T, value string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.Env = append(os.Environ(), CookieVar+"="+value)
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// The environment is readable once exec has set it up.
	testenv.WaitFor(t, 5*time.Second, fmt.Sprintf("process %d to show %s=%s", cmd.Process.Pid, CookieVar, value),
		func() bool { return HasCookie(cmd.Process.Pid, value) })
	return cmd
}

func TestHasCookie(t *testing.T) {
	c := testCookie(t)
	exact := startMarked(t, c)
	child := startMarked(t, c+".7")
	other := startMarked(t, c+"7")     // a different run whose cookie merely starts the same
	sibling := startMarked(t, c+"x.1") // likewise
	tests := []struct {
		pid    int
		cookie string
		want   bool
	}{
		{exact.Process.Pid, c, true},
		{child.Process.Pid, c, true},
		{child.Process.Pid, c + ".7", true},
		{child.Process.Pid, c + ".8", false},
		{exact.Process.Pid, c + ".7", false},
		{other.Process.Pid, c, false},
		{sibling.Process.Pid, c, false},
		{os.Getpid(), c, false},
		{1 << 30, c, false}, // no such process
	}
	for _, tt := range tests {
		if got := HasCookie(tt.pid, tt.cookie); got != tt.want {
			t.Errorf("HasCookie(%d, %q) = %v, want %v", tt.pid, tt.cookie, got, tt.want)
		}
	}
}

// Sweep kills every process carrying the cookie and reports each once.
// A process is still visible for a moment after SIGKILL, so a later round
// of the sweep may see it again; it must not be reported twice (volley
// prints `killed leftover process N` per entry). The race is narrow, so
// the test tries several times.
func TestSweep(t *testing.T) {
	for attempt := range 8 {
		c := fmt.Sprintf("%s-%d", testCookie(t), attempt)
		var marked []*exec.Cmd
		var want []int
		for i := range 16 {
			cmd := startMarked(t, fmt.Sprintf("%s.%d", c, i))
			marked = append(marked, cmd)
			want = append(want, cmd.Process.Pid)
		}
		spared := startMarked(t, c+"-other")
		killed := Sweep(c)
		slices.Sort(killed)
		slices.Sort(want)
		if !slices.Equal(killed, want) {
			t.Fatalf("attempt %d: Sweep killed %v, want %v (each once)", attempt, killed, want)
		}
		for _, cmd := range marked {
			err := cmd.Wait()
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if err == nil || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Errorf("process %d: %v, want killed by SIGKILL", cmd.Process.Pid, err)
			}
		}
		if err := spared.Process.Signal(syscall.Signal(0)); err != nil {
			t.Errorf("Sweep killed a process of another run: %v", err)
		}
		if again := Sweep(c); len(again) != 0 {
			t.Errorf("second Sweep killed %v, want nothing", again)
		}
	}
}

func TestSweepSparesSelf(t *testing.T) {
	c := testCookie(t)
	t.Setenv(CookieVar, c) // does not change /proc/self/environ, but Sweep must skip itself anyway
	if got := Sweep(c); len(got) != 0 {
		t.Errorf("Sweep(%q) = %v with nothing marked", c, got)
	}
}

// TestKillGroup: the shell and both its children die. The children hold
// the shell's stdout, so Wait, which reads it to EOF, returns only when
// all three are gone.
func TestKillGroup(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60 & echo ready; wait")
	ready := &lineWriter{line: "ready\n", seen: make(chan struct{})}
	cmd.Stdout = ready
	if err := Start(cmd); err != nil {
		t.Skipf("cannot start sh: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- Wait(cmd) }()
	select {
	case <-ready.seen: // both children forked, in the shell's group
	case <-time.After(testenv.Scale(10 * time.Second)):
		KillGroup(cmd.Process.Pid, syscall.SIGKILL)
		t.Fatal("the shell never said it was ready")
	}
	KillGroup(cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(testenv.Scale(5 * time.Second)):
		t.Fatal("the group survived KillGroup")
	}
	KillGroup(cmd.Process.Pid, syscall.SIGKILL) // gone: no panic, no error
	KillGroup(0, syscall.SIGKILL)               // never signals our own group
}

func TestSignalName(t *testing.T) {
	for sig, want := range map[syscall.Signal]string{
		syscall.SIGSEGV: "SIGSEGV", syscall.SIGKILL: "SIGKILL", syscall.SIGABRT: "SIGABRT", syscall.SIGTERM: "SIGTERM",
	} {
		if got := SignalName(sig); got != want {
			t.Errorf("SignalName(%d) = %q, want %q", sig, got, want)
		}
	}
	if got := SignalName(syscall.Signal(200)); got == "" {
		t.Errorf("SignalName(200) is empty")
	}
}

func TestCmdline(t *testing.T) {
	c := testCookie(t)
	cmd := startMarked(t, c)
	if got := Cmdline(cmd.Process.Pid); got != "sleep 60" {
		t.Errorf("Cmdline = %q, want %q", got, "sleep 60")
	}
	if got := Cmdline(1 << 30); got != "" {
		t.Errorf("Cmdline(no such pid) = %q", got)
	}
}

// lineWriter closes seen once the output has had line.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	line string
	seen chan struct{}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(string(w.buf), w.line)
	w.buf = append(w.buf, p...)
	if !had && strings.Contains(string(w.buf), w.line) {
		close(w.seen)
	}
	return len(p), nil
}
