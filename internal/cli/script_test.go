package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"

	"github.com/volley-test/volley/internal/cli"
	"github.com/volley-test/volley/internal/fixture"
	"github.com/volley-test/volley/internal/proc"
	"github.com/volley-test/volley/internal/remote/reapitest"
)

// exitFileVar names the file the scripted volley writes its exit code to,
// so that scripts can assert the exact code (testscript only tells success
// from failure).
const exitFileVar = "VOLLEY_SCRIPT_EXIT_FILE"

// TestMain makes the test binary play every role the volley executable
// plays: a fixture suite (the suites the scripts write are symlinks to this
// binary), and, through testscript, the `volley` command itself, watchdog
// included.
func TestMain(m *testing.M) {
	if fixture.Active() {
		os.Exit(fixture.Main(os.Args))
	}
	if os.Getenv(reapitest.EnvServe) != "" {
		reapitest.Main()
	}
	// Under -race every process sleeps 1s at exit unless told not to, and
	// every process the tests start is this race-built binary.
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	testscript.Main(m, map[string]func(){"volley": volleyMain})
}

// volleyMain is cmd/volley's main, plus the exit-code file.
func volleyMain() {
	if len(os.Args) == 3 && os.Args[1] == proc.WatchdogArg {
		os.Exit(proc.WatchdogMain(os.Args[2]))
	}
	if fixture.Active() {
		os.Exit(fixture.Main(os.Args))
	}
	code := cli.Main(os.Args[1:])
	if f := os.Getenv(exitFileVar); f != "" {
		_ = os.WriteFile(f, []byte(strconv.Itoa(code)+"\n"), 0o644)
	}
	os.Exit(code)
}

func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv(exitFileVar, filepath.Join(env.WorkDir, ".volley-exit"))
			return nil // testscript passes GORACE (set in TestMain) on
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"fixture":     cmdFixture,
			"exitcode":    cmdExitCode,
			"noprocs":     cmdNoProcs,
			"waitprocs":   cmdWaitProcs,
			"stdoutmax":   cmdStdoutMax,
			"sigvolley":   cmdSigVolley,
			"sleepfor":    cmdSleep,
			"countlines":  cmdCountLines,
			"reapiserver": cmdREAPIServer,
		},
	})
}

// fixture [DIR/]NAME SPEC... writes a fixture suite: NAME, a symlink to this
// test binary, with the spec (the remaining words, ';' separates lines)
// beside it.
func cmdFixture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: fixture [DIR/]NAME SPEC...")
	}
	exe, err := os.Executable()
	ts.Check(err)
	path := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(filepath.Dir(path), 0o755))
	spec := strings.ReplaceAll(strings.Join(args[1:], " "), ";", "\n") + "\n"
	_, err = fixture.WriteSuite(filepath.Dir(path), filepath.Base(path), exe, spec)
	ts.Check(err)
}

// exitcode N asserts the exit code of the last volley run, then forgets it.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: exitcode N")
	}
	f := ts.Getenv(exitFileVar)
	b, err := os.ReadFile(f)
	if err != nil {
		ts.Fatalf("no volley exit code recorded (did volley run, or was it killed?): %v", err)
	}
	_ = os.Remove(f)
	if got := strings.TrimSpace(string(b)); got != args[0] {
		ts.Fatalf("volley exited %s, want %s", got, args[0])
	}
}

// runProcs lists the live processes of this script's volley runs: those
// whose environment carries the run cookie and this script's $WORK (other
// scripts, and other volley runs on the machine, are not ours).
func runProcs(ts *testscript.TestScript) map[int]string {
	work := []byte("WORK=" + ts.Getenv("WORK"))
	cookie := []byte(proc.CookieVar + "=")
	out := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || len(env) == 0 {
			continue
		}
		mine, marked := false, false
		for _, kv := range bytes.Split(env, []byte{0}) {
			mine = mine || bytes.Equal(kv, work)
			marked = marked || bytes.HasPrefix(kv, cookie)
		}
		if !mine || !marked || zombie(pid) {
			continue
		}
		out[pid] = proc.Cmdline(pid)
	}
	return out
}

// zombie reports whether pid has exited and waits to be reaped.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

// noprocs asserts that, within 3s, no process of this script's volley runs
// is left. Leftovers are listed and killed.
func cmdNoProcs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: noprocs")
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		left := runProcs(ts)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for pid, cmd := range left {
				fmt.Fprintf(&b, "\n  pid %d: %s", pid, cmd)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			ts.Fatalf("%d processes of the run outlived it:%s", len(left), b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitprocs N [SIG] waits (up to 10s) until at least N processes of this
// script's volley runs are alive; with SIG, until N of them ignore SIG
// (a fixture past its ignore-term action).
func cmdWaitProcs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitprocs N [SIG]")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	var sig syscall.Signal
	if len(args) == 2 {
		if sig = unix.SignalNum("SIG" + strings.TrimPrefix(args[1], "SIG")); sig == 0 {
			ts.Fatalf("unknown signal %q", args[1])
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := runProcs(ts)
		if sig != 0 {
			for pid := range got {
				if !ignores(pid, sig) {
					delete(got, pid)
				}
			}
		}
		if len(got) >= n {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waited 10s for %d processes of the run, saw %d: %v", n, len(got), got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ignores reports whether process pid ignores sig (/proc/PID/status SigIgn).
func ignores(pid int, sig syscall.Signal) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<(uint(sig)-1)) != 0
		}
	}
	return false
}

// stdoutmax N asserts that the last command's stdout is at most N bytes.
func cmdStdoutMax(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: stdoutmax BYTES")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	if got := len(ts.ReadFile("stdout")); got > n {
		ts.Fatalf("stdout is %d bytes, want at most %d", got, n)
	}
}

// countlines stdout|stderr TEXT N asserts that exactly N lines of the last
// command's output contain TEXT.
func cmdCountLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: countlines stdout|stderr TEXT N")
	}
	want, err := strconv.Atoi(args[2])
	ts.Check(err)
	got := 0
	for _, l := range strings.Split(ts.ReadFile(args[0]), "\n") {
		if strings.Contains(l, args[1]) {
			got++
		}
	}
	if got != want {
		ts.Fatalf("%s has %d lines containing %q, want %d", args[0], got, args[1], want)
	}
}

// sigvolley SIG signals every background volley of the script (by pid, as
// `kill` does, but with any signal: TERM, QUIT, ...).
func cmdSigVolley(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sigvolley TERM|INT|KILL|...")
	}
	sig := unix.SignalNum("SIG" + strings.TrimPrefix(args[0], "SIG"))
	if sig == 0 {
		ts.Fatalf("unknown signal %q", args[0])
	}
	cmds := ts.BackgroundCmds()
	if len(cmds) == 0 {
		ts.Fatalf("no background command to signal")
	}
	for _, c := range cmds {
		ts.Check(c.Process.Signal(sig))
	}
}

// sleepfor DUR sleeps.
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleepfor DUR")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// reapiserver [OPTIONS-JSON] starts the in-repo Remote Execution API test
// server in a process of its own, on loopback, for the rest of the script
// and sets $REAPI_URL. OPTIONS-JSON is a reapitest.Options, e.g.
// {"NoWorkers":3}.
func cmdREAPIServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: reapiserver [OPTIONS-JSON]")
	}
	var opts reapitest.Options
	if len(args) == 1 {
		ts.Check(json.Unmarshal([]byte(args[0]), &opts))
	}
	exe, err := os.Executable()
	ts.Check(err)
	p, err := reapitest.Spawn(context.Background(), exe, opts)
	if err != nil {
		ts.Fatalf("start the test server: %v", err)
	}
	ts.Defer(func() { p.Stop() })
	ts.Setenv("REAPI_URL", p.URL)
}
