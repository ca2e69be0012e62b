package cli_test

// Supervision faults through the real binary: output left in a pipe after
// its process exited, argument lists past the kernel's limits, processes
// that escape their test, signals to volley. Each asserts that no result is
// lost and that no process of the run survives it (/proc).

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// faultTMLSpec is a tml fixture spec of n passing tests whose first test
// first enlarges its stdout pipe to pipe bytes ("" = leave it).
func faultTMLSpec(n int, pipe string) string {
	var b strings.Builder
	b.WriteString("protocol tml\n")
	for i := range n {
		if i == 0 && pipe != "" {
			b.WriteString("test pipe=" + pipe + " pass\n")
			continue
		}
		b.WriteString("test pass\n")
	}
	return b.String()
}

// faultCount asserts that every one of n tests of suite passed once.
func faultCount(t *testing.T, r *faultRun, suite string, n int) {
	t.Helper()
	lost, dup := 0, 0
	for i := range n {
		rs := r.results[fmt.Sprintf("%s::%d", suite, i)]
		switch {
		case len(rs) == 0 || rs[len(rs)-1].status != "PASS":
			lost++
		case len(rs) > 1:
			dup++
		}
	}
	if lost > 0 || dup > 0 {
		t.Errorf("%s: %s: %d of %d results lost or not PASS, %d reported twice\n%s", r.describe(), suite, lost, n, dup, clipText(r.out, 1500))
	}
	if len(r.left) > 0 {
		t.Errorf("%s: processes left: %v", r.describe(), r.left)
	}
}

// A suite that enlarges its stdout pipe to 1 MiB writes 60,000 results
// (1.4 MB of result lines, more than the pipe holds) and exits at once:
// most of them are still in the pipe when it has exited, and every one is
// read and reported. bench/faults.sh runs the 2 x 100,000 version on a
// loaded machine.
func TestFaultDrainFullPipe(t *testing.T) {
	t.Parallel()
	d := newFaultDir(t)
	d.plainFixtures()
	n := 60_000
	d.fixture("big", faultTMLSpec(n, "1M"))
	r := faultVolley(t, d.dir, 300*time.Second, "test", "--no-cache", "--state-dir", d.state,
		"--protocol", "tml", "--timeout", "200s", "./big")
	if r.code != 0 {
		t.Errorf("%s: want 0\n%s", r.describe(), clipText(r.out, 1500))
	}
	faultCount(t, r, "big", n)
	if !strings.Contains(r.out, fmt.Sprintf("volley: %d passed, 0 failed", n)) {
		t.Errorf("summary does not count %d passed:\n%s", n, clipText(r.out, 800))
	}
}

// fakeGTestLong is a GoogleTest-shaped binary: it lists the tests in
// gtest.list beside it and passes every test its --gtest_filter names.
const fakeGTestLong = `#!/bin/sh
dir=$(dirname "$0")
f=
for a in "$@"; do
	case $a in
	--gtest_list_tests) cat "$dir/gtest.list"; exit 0 ;;
	--gtest_filter=*) f=${a#--gtest_filter=} ;;
	esac
done
IFS=:
n=0
for t in $f; do
	printf '[ RUN      ] %s\n[       OK ] %s (0 ms)\n' "$t" "$t"
	n=$((n+1))
done
printf '[==========] %d tests from 1 test suite ran. (0 ms total)\n[  PASSED  ] %d tests.\n' $n $n
`

// 6,000 GoogleTest tests with long names (560 KB of --gtest_filter, over
// four times the kernel's limit on one argument; 20,000 under
// bench/faults.sh): the first run (one batch asked
// for) and the second (batches sized from the history the first wrote)
// both keep every --gtest_filter within the kernel's 128 KiB limit on one
// argument, so no test is an ERROR "argument list too long".
func TestFaultArgumentLimits(t *testing.T) {
	t.Parallel()
	d := newFaultDir(t)
	n := 6_000
	if os.Getenv(faultBinVar) != "" {
		n = 20_000
	}
	var list strings.Builder
	var ids []string
	for s := range n / 100 {
		fmt.Fprintf(&list, "AVeryLongTestSuiteNameForArgumentLimits_%03d.\n", s)
		for c := range 100 {
			fmt.Fprintf(&list, "  AndAnEvenLongerTestCaseNameThatGoesOnAndOn_%05d\n", s*100+c)
			ids = append(ids, fmt.Sprintf("big::AVeryLongTestSuiteNameForArgumentLimits_%03d.AndAnEvenLongerTestCaseNameThatGoesOnAndOn_%05d", s, s*100+c))
		}
	}
	d.file("gtest.list", list.String(), 0o644)
	d.file("big", fakeGTestLong, 0o755)
	for _, granularity := range []string{"suite", "auto"} {
		d.config.Reset()
		d.raw(fmt.Sprintf("[[suite]]\nname = \"big\"\nprotocol = \"gtest\"\npaths = [\"big\"]\ngranularity = %q\n", granularity))
		d.writeConfig()
		r := faultVolley(t, d.dir, 240*time.Second, "test", "--no-cache", "--state-dir", d.state, "--timeout", "120s")
		if r.code != 0 {
			t.Errorf("granularity %s: %s: want 0\n%s", granularity, r.describe(), clipText(r.out, 1500))
		}
		lost := 0
		for _, id := range ids {
			if res := r.final(id); res == nil || res.status != "PASS" {
				if lost == 0 && res != nil {
					t.Errorf("granularity %s: %s is %s: %s", granularity, id, res.status, res.reason)
				}
				lost++
			}
		}
		if lost > 0 {
			t.Errorf("granularity %s: %d of %d tests not PASS", granularity, lost, n)
		}
		if len(r.left) > 0 {
			t.Errorf("processes left: %v", r.left)
		}
	}
}

// escapeHang starts a daemon that drops its environment (volley's cookie
// with it) and its session, writes its pid, and hangs.
const escapeHang = `#!/bin/sh
setsid env -i /bin/sleep 600 </dev/null >/dev/null 2>&1 &
echo $! > "$(dirname "$0")/escape.pid.tmp"
mv "$(dirname "$0")/escape.pid.tmp" "$(dirname "$0")/escape.pid"
exec /bin/sleep 600
`

// A daemon that cleared its environment and left its session is blamed on
// the test that started it and on no other: with --leak fail, that test
// fails and every test beside it passes.
func TestFaultLeakAttribution(t *testing.T) {
	d := newFaultDir(t)
	args := faultOK(d, 6)
	d.file("escape", escapeScript, 0o755)
	r := faultVolley(t, d.dir, 60*time.Second, append([]string{"test", "--no-cache", "--state-dir", d.state,
		"--protocol", "exec", "--leak", "fail", "-j4"}, append(args, "./escape")...)...)
	for i := 1; i <= 6; i++ {
		r.want(t, fmt.Sprintf("ok%d", i), "PASS")
	}
	if res := r.want(t, "escape", "FAIL"); !strings.Contains(res.reason, "LEAK") {
		t.Errorf("escape's reason does not say LEAK: %q", res.reason)
	}
	if !faultHasWarning(r, "LEAK escape", "sleep 600") {
		t.Errorf("no LEAK warning naming escape's daemon: %q", r.warnings)
	}
	if r.code != 1 {
		t.Errorf("%s: want 1", r.describe())
	}
	if pid := faultPidFile(t, d, "escape.pid"); pid > 0 && pidAlive(pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the daemon %d survived volley", pid)
	}
	if len(r.left) > 0 {
		t.Errorf("processes left: %v", r.left)
	}
}

// faultPidFile reads a pid a script wrote, or 0.
func faultPidFile(t *testing.T, d *faultDir, name string) int {
	t.Helper()
	b, err := os.ReadFile(d.path(name))
	if err != nil {
		t.Errorf("the script wrote no %s: %v", name, err)
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// volley killed by SIGKILL leaves nothing behind: each test's supervisor
// sees its control pipe close and kills the test's whole subtree, the
// daemon that dropped its environment and session included.
func TestFaultGuardianAfterSIGKILL(t *testing.T) {
	d := newFaultDir(t)
	d.file("escape", escapeHang, 0o755)
	d.fixture("hang", "test hang")
	vbin, _ := faultBins(t)
	cmd := exec.Command(vbin, "test", "--no-cache", "--state-dir", d.state, "--protocol", "exec", "--timeout", "300s", "./escape", "./hang")
	cmd.Dir = d.dir
	mark := fmt.Sprintf("guardian-%d", time.Now().UnixNano())
	cmd.Env = append(os.Environ(), faultMarkVar+"="+mark)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the daemon's pid (an event: the file appears).
	var pid int
	deadline := time.Now().Add(30 * time.Second)
	for pid == 0 {
		if b, err := os.ReadFile(d.path("escape.pid")); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the escape script never wrote its daemon's pid")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	deadline = time.Now().Add(10 * time.Second)
	for pidAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if pidAlive(pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the environment-clearing daemon %d survived kill -9 of volley", pid)
	}
	if left := faultLeftovers(mark); len(left) > 0 {
		t.Errorf("processes of the run outlived kill -9 of volley: %v", left)
	}
}

// SIGHUP and SIGQUIT stop a run like Ctrl-C: a partial summary, a complete
// event log, nothing left, and 128+N (SIGQUIT is not the usage error 2).
func TestFaultSignals(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGHUP, 129}, {syscall.SIGQUIT, 131}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			d := newFaultDir(t)
			d.fixture("first", "test pass")
			d.fixture("hang", "test hang")
			vbin, _ := faultBins(t)
			logPath := d.path("events.json")
			cmd := exec.Command(vbin, "test", "--no-cache", "-j1", "--state-dir", d.state, "--protocol", "exec",
				"--timeout", "300s", "--grace", "200ms", "--json", logPath, "./first", "./hang")
			cmd.Dir = d.dir
			mark := fmt.Sprintf("signals-%d", time.Now().UnixNano())
			cmd.Env = append(os.Environ(), faultMarkVar+"="+mark, "NO_COLOR=1")
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The hanging test is running once a process runs ./hang.
			deadline := time.Now().Add(30 * time.Second)
			for !faultRunning(mark, "hang") {
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatal("the hanging test never started")
				}
				time.Sleep(20 * time.Millisecond)
			}
			_ = cmd.Process.Signal(tc.sig)
			_ = cmd.Wait()
			if got := cmd.ProcessState.ExitCode(); got != tc.code {
				t.Errorf("volley exited %d after %v, want %d\n%s", got, tc.sig, tc.code, out.String())
			}
			if !strings.Contains(out.String(), "volley: 1 passed, 0 failed, 0 skipped") {
				t.Errorf("no partial summary:\n%s", out.String())
			}
			r := &faultRun{results: map[string][]*faultResult{}}
			b, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			r.log = string(b)
			r.parse(t)
			r.want(t, "first", "PASS")
			if !strings.HasSuffix(r.log, "\n") {
				t.Errorf("the event log ends mid-line")
			}
			if left := faultLeftovers(mark); len(left) > 0 {
				t.Errorf("processes left: %v", left)
			}
		})
	}
}

// faultRunning reports whether a live process marked with mark has a
// program (argv[0]) ending in name.
func faultRunning(mark, name string) bool {
	for _, pid := range faultMarked([]byte(faultMarkVar + "=" + mark)) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		arg0, _, _ := strings.Cut(string(b), "\x00")
		if strings.HasSuffix(arg0, "/"+name) {
			return true
		}
	}
	return false
}
