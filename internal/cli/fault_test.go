package cli_test

// The fault suite: volley, run as a real process, against tests that
// misbehave in every way the fixture (and a few shell scripts) can: hangs,
// crashes, grandchildren, floods of output, garbage protocol output, files
// that cannot run, a corrupt history, an unwritable report. For each it
// checks the three promises of the README: the run ends, every other result
// is kept, nothing is left running.
//
// bench/faults.sh runs TestFaultSuite against a freshly built (non-race)
// volley and prints the table it writes: see faultTableVar and faultBinVar.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/fixture"
	"github.com/volley-test/volley/internal/testenv"
)

const (
	// faultMarkVar marks the environment of one volley run of these tests,
	// inherited by everything it starts (listing processes included), so
	// that leftovers are found by scanning /proc.
	faultMarkVar = "VOLLEY_FAULT_MARK"
	// faultBinVar names a volley executable to use as both volley and the
	// fixture, instead of this test binary (bench/faults.sh).
	faultBinVar = "VOLLEY_FAULT_BIN"
	// faultTableVar names a file TestFaultSuite appends its table rows to.
	faultTableVar = "VOLLEY_FAULT_TABLE"
)

// faultGoEnv keeps Go fixture builds independent of the caller's settings.
var faultGoEnv = []string{"GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local"}

// faultBins returns the volley executable to run and the executable fixture
// suites link to.
func faultBins(t *testing.T) (volley, exe string) {
	t.Helper()
	if b := os.Getenv(faultBinVar); b != "" {
		abs, err := filepath.Abs(b)
		if err != nil {
			t.Fatal(err)
		}
		return abs, abs
	}
	v, err := exec.LookPath("volley")
	if err != nil {
		t.Fatalf("no volley in PATH (testscript.Main puts it there): %v", err)
	}
	exe, err = os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return v, exe
}

// faultDir is a scenario's directory: fixture suites, scripts, and a
// volley.toml assembled from suite blocks.
type faultDir struct {
	t      *testing.T
	dir    string
	exe    string
	state  string
	config strings.Builder
}

func newFaultDir(t *testing.T) *faultDir {
	t.Helper()
	_, exe := faultBins(t)
	dir := t.TempDir()
	return &faultDir{t: t, dir: dir, exe: exe, state: filepath.Join(dir, "state")}
}

func (d *faultDir) path(name string) string { return filepath.Join(d.dir, name) }

// plainFixtures makes the fixtures written from now on the fixture alone,
// built without -race (see fixtureExe): for suites that print a lot, where
// the race-instrumented test binary would spend the time producing it.
func (d *faultDir) plainFixtures() {
	if os.Getenv(faultBinVar) != "" {
		return // already a plain build
	}
	d.exe = testenv.PlainFixture(d.t, "../fixture/testdata/fixturemain")
}

// fixture writes a fixture suite; ';' separates spec lines.
func (d *faultDir) fixture(name, spec string) {
	d.t.Helper()
	if _, err := fixture.WriteSuite(d.dir, name, d.exe, strings.ReplaceAll(spec, ";", "\n")+"\n"); err != nil {
		d.t.Fatal(err)
	}
}

// file writes a plain file.
func (d *faultDir) file(name, body string, mode os.FileMode) {
	d.t.Helper()
	p := d.path(name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		d.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask
		d.t.Fatal(err)
	}
}

// suite adds a [[suite]] block to volley.toml.
func (d *faultDir) suite(name, protocol string, paths ...string) {
	fmt.Fprintf(&d.config, "[[suite]]\nname = %q\nprotocol = %q\npaths = [%s]\n", name, protocol, quoteAll(paths))
}

// raw adds text to volley.toml.
func (d *faultDir) raw(text string) { d.config.WriteString(text + "\n") }

func (d *faultDir) writeConfig() {
	d.t.Helper()
	if d.config.Len() > 0 {
		d.file("volley.toml", d.config.String(), 0o644)
	}
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// faultRun is what one volley run did, read from its exit, its output and
// its event log (--json).
type faultRun struct {
	args     []string
	code     int // exit code; -1 when killed by a signal
	out      string
	wall     time.Duration
	ended    bool  // exited on its own within the limit
	maxRSS   int64 // peak RSS of volley (bytes), sampled
	log      string
	results  map[string][]*faultResult // by id (suite or suite::test), attempts in order
	order    []string
	warnings []string
	left     []string // "pid cmdline" of the run's processes alive after it
}

// faultResult is one test-end line of the event log.
type faultResult struct {
	id, suite, test string
	status, reason  string
	signal          string
	attempt, pid    int
	dropped         int64
	start, end      time.Time
	output          string
}

// faultEvent is the part of an event-log line the tests read.
type faultEvent struct {
	Time    time.Time
	Action  string
	Package string
	Test    string
	Output  string
	Volley  struct {
		Test    *string `json:"test"`
		Attempt int     `json:"attempt"`
		Status  string  `json:"status"`
		Reason  string  `json:"reason"`
		Signal  string  `json:"signal"`
		PID     int     `json:"pid"`
		Dropped int64   `json:"output_dropped"`
		Warning string  `json:"warning"`
	}
}

// faultVolley runs `volley ARGS --json LOG` in dir, stopping it (SIGTERM,
// then SIGKILL 5s later) if it has not ended within limit.
func faultVolley(t *testing.T, dir string, limit time.Duration, args ...string) *faultRun {
	t.Helper()
	vbin, _ := faultBins(t)
	logDir, err := os.MkdirTemp(filepath.Dir(dir), "log")
	if err != nil {
		logDir = t.TempDir()
	}
	logPath := filepath.Join(logDir, "events.json")
	args = append(append([]string(nil), args...), "--json", logPath)
	mark := fmt.Sprintf("%s-%d", regexp.MustCompile(`\W+`).ReplaceAllString(t.Name(), "_"), time.Now().UnixNano())

	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, vbin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), faultMarkVar+"="+mark, "NO_COLOR=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("volley %s: %v", strings.Join(args, " "), err)
	}
	hwm := make(chan int64)
	go func() { hwm <- peakRSS(ctx, cmd.Process.Pid) }()
	err = cmd.Wait()
	cancel()
	r := &faultRun{args: args, wall: time.Since(start), ended: !errors.Is(ctx.Err(), context.DeadlineExceeded), results: map[string][]*faultResult{}}
	r.maxRSS = <-hwm
	r.out = out.String()
	if st := cmd.ProcessState; st != nil {
		r.code = st.ExitCode()
	} else {
		t.Fatalf("volley %s: %v", strings.Join(args, " "), err)
	}
	r.left = faultLeftovers(mark)
	if b, err := os.ReadFile(logPath); err == nil {
		r.log = string(b)
		r.parse(t)
	}
	return r
}

// peakRSS samples the peak resident set (VmHWM) of process pid every 20ms
// until ctx is done or the process is gone, and returns the last value
// read. (The rusage of the process would not do: it charges the child with
// the RSS of this test process, whose memory the child shares until exec.)
func peakRSS(ctx context.Context, pid int) int64 {
	var peak int64
	status := fmt.Sprintf("/proc/%d/status", pid)
	for {
		b, err := os.ReadFile(status)
		if err != nil {
			return peak
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64); err == nil {
					peak = max(peak, kb<<10)
				}
			}
		}
		select {
		case <-ctx.Done():
			return peak
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// parse reads the event log.
func (r *faultRun) parse(t *testing.T) {
	t.Helper()
	open := map[string]*faultResult{}
	for i, line := range strings.Split(strings.TrimRight(r.log, "\n"), "\n") {
		if line == "" {
			continue
		}
		var e faultEvent
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Errorf("event log line %d is not JSON (%v): %.200q", i+1, err, line)
			continue
		}
		key := e.Package + "\x00" + e.Test
		switch e.Action {
		case "run":
			open[key] = &faultResult{start: e.Time}
		case "output":
			if e.Volley.Warning != "" {
				r.warnings = append(r.warnings, e.Volley.Warning)
			} else if res := open[key]; res != nil && e.Test != "" {
				res.output += e.Output
			}
		case "pass", "fail", "skip":
			if e.Test == "" || e.Volley.Status == "" {
				continue // a suite's own line
			}
			res := open[key]
			delete(open, key)
			if res == nil {
				res = &faultResult{start: e.Time}
			}
			v := e.Volley
			res.suite, res.status, res.reason, res.signal = e.Package, v.Status, v.Reason, v.Signal
			res.attempt, res.pid, res.dropped, res.end = v.Attempt, v.PID, v.Dropped, e.Time
			res.id = e.Package
			if v.Test != nil {
				res.test = *v.Test
				res.id = e.Package + "::" + *v.Test
			}
			if r.results[res.id] == nil {
				r.order = append(r.order, res.id)
			}
			r.results[res.id] = append(r.results[res.id], res)
		}
	}
}

// final is the last attempt of test id, or nil.
func (r *faultRun) final(id string) *faultResult {
	rs := r.results[id]
	if len(rs) == 0 {
		return nil
	}
	return rs[len(rs)-1]
}

// want asserts the final status of id and returns its result.
func (r *faultRun) want(t *testing.T, id, status string) *faultResult {
	t.Helper()
	res := r.final(id)
	switch {
	case res == nil:
		t.Errorf("no result for %s in the event log; results: %v\noutput:\n%s", id, r.order, clipText(r.out, 3000))
		return &faultResult{}
	case res.status != status:
		t.Errorf("%s is %s (%s), want %s", id, res.status, res.reason, status)
	}
	return res
}

// describe is a one-line account of the run for failure messages.
func (r *faultRun) describe() string {
	return fmt.Sprintf("volley %s: exit %d after %s", strings.Join(r.args, " "), r.code, r.wall.Round(time.Millisecond))
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "[...]\n" + s[len(s)-n:]
}

// faultLeftovers waits up to 3s for the processes marked with mark to end,
// then kills and describes those still alive.
func faultLeftovers(mark string) []string {
	want := []byte(faultMarkVar + "=" + mark)
	deadline := time.Now().Add(3 * time.Second)
	for {
		pids := faultMarked(want)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var out []string
			for _, pid := range pids {
				cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				out = append(out, fmt.Sprintf("%d %s", pid, strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))))
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			sort.Strings(out)
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// faultMarked lists the live (not zombie) processes whose environment holds
// kv exactly.
func faultMarked(kv []byte) []int {
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || zombie(pid) {
			continue
		}
		for _, x := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(x, kv) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// pidAlive reports whether pid is a live process (not a zombie).
func pidAlive(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil && !zombie(pid)
}

// ---------------------------------------------------------------------------
// The fault suite.

// faultKept are the passing results every scenario runs beside its fault.
var faultKept = []string{"ok1", "ok2", "ok3", "oktml::0", "oktml::1", "oktml::2"}

// faultScenario is one misbehaviour beside the passing suites.
type faultScenario struct {
	name string
	// setup writes the misbehaving suites (and their volley.toml blocks)
	// and returns extra volley arguments.
	setup func(d *faultDir) []string
	limit time.Duration // default 20s
	code  int           // expected exit code; -1: 0 or 1
	usage bool          // a usage error is expected: nothing runs
	// retries: the scenario retries, so a test may be reported twice.
	retries bool
	// check makes the scenario's own assertions and returns the fault's
	// outcome in a few words, for the table.
	check func(t *testing.T, d *faultDir, r *faultRun) string
}

// faultArgs are the volley arguments of every scenario run.
func faultArgs(d *faultDir) []string {
	return []string{"test", "--no-cache", "-v", "--state-dir", d.state, "-j4", "--timeout", "10s"}
}

// faultStatuses lists the final statuses of the results not in faultKept.
func faultStatuses(r *faultRun) string {
	kept := map[string]bool{}
	for _, id := range faultKept {
		kept[id] = true
	}
	var parts []string
	for _, id := range r.order {
		if !kept[id] {
			res := r.final(id)
			parts = append(parts, fmt.Sprintf("%s=%s", id, res.status))
		}
	}
	if len(parts) > 4 {
		parts = append(parts[:4], fmt.Sprintf("+%d more", len(parts)-4))
	}
	return strings.Join(parts, " ")
}

const (
	// A Go test binary's -test.v=test2json output gone wrong.
	fakeGoTest = `#!/bin/sh
case "$*" in
*-test.list*) printf 'TestA\nTestB\n\001\377garbage\nTestC\n' ;;
*) printf '{"Action":"run","Test":"TestA"\n=== RUN   TestA\n--- PASS: TestB (bogus)\n{"Action":"pass","Test":"TestZ"}\n\377\376garbage\n--- FAIL: TestA (0.00s)\n' ;;
esac
`
	// GoogleTest output gone wrong.
	fakeGTest = `#!/bin/sh
case "$*" in
*gtest_list_tests*) printf 'Running main() from x\nSuite.\n  A\n  B\n garbage\n\377\n' ;;
*) printf '[==========] Running 2 tests\n[ RUN      ] Suite.A\n[       OK ] Suite.B (0 ms)\n[  FAILED  ] \377\ngarbage\n[ RUN      ] Suite.A\n' ;;
esac
`
	// Rust libtest output gone wrong.
	fakeLibtest = `#!/bin/sh
case "$*" in
*--ignored*) ;;
*--list*) printf 'a: test\nb: test\ngarbage line\n: test\n\377: bench\n' ;;
*) printf '\nrunning 2 tests\ntest a ... \377\ntest b ... bogus\ntest zzz ... ok\ngarbage\ntest result: ok. 9 passed; 0 failed\n' ;;
esac
`
	// A TAP stream gone wrong.
	fakeTAP = `#!/bin/sh
printf '1..3\nok 1 - a\ngarbage\nnot ok banana\nok 7 - out of range\n\377\376\nBail out\n1..2\n'
`
	// A daemon that also drops its environment, and with it volley's cookie.
	escapeScript = `#!/bin/sh
setsid env -i /bin/sleep 600 </dev/null >/dev/null 2>&1 &
echo $! > "$(dirname "$0")/escape.pid"
sleep 0.3 # let env exec sleep: the cookie is gone when the test exits
`
	// A Go test binary whose listing leaves a process behind.
	listLeakScript = `#!/bin/sh
case "$*" in
*-test.list*) /bin/sleep 600 </dev/null >/dev/null 2>&1 & printf 'TestA\n' ;;
*) printf '=== RUN   TestA\n--- PASS: TestA (0.00s)\nPASS\n' ;;
esac
`
	// tml result lines gone wrong (the marker comment makes it look tml).
	fakeTML = `#!/bin/sh
# TML_RESULT:
printf 'TML_RESULT:0:PASS:0\nTML_RESULT:abc:PASS:0\nTML_RESULT:1:MAYBE:7\nTML_RESULT:-5:FAIL:1\nTML_RESULT:99999999999999999999999:PASS:0\nTML_RESULT:2\nTML_RESULT:\377:\377\nTML_RESULT:0:FAIL:1\n'
`
)

// faultScenarios are the scenarios of TestFaultSuite.
func faultScenarios() []faultScenario {
	exec1 := func(spec string, args ...string) func(d *faultDir) []string {
		return func(d *faultDir) []string {
			d.fixture("bad", spec)
			d.suite("bad", "exec", "bad")
			return args
		}
	}
	script := func(name, protocol, body string) func(d *faultDir) []string {
		return func(d *faultDir) []string {
			d.file(name, body, 0o755)
			d.suite("bad", protocol, name)
			return nil
		}
	}
	// garbage checks a malformed-harness run: it ended (the suite's own
	// checks), and no test was reported twice (no retries were asked for).
	garbage := func(t *testing.T, d *faultDir, r *faultRun) string { return faultStatuses(r) }
	return []faultScenario{
		{name: "hang", code: 1, setup: exec1("test say=about%20to%20hang hang", "--timeout", "1s", "--grace", "500ms"),
			check: func(t *testing.T, d *faultDir, r *faultRun) string {
				res := r.want(t, "bad", "TIMEOUT")
				// The fixture is a Go binary: SIGQUIT made it dump its goroutines.
				if !strings.Contains(res.output, "goroutine ") || !strings.Contains(res.output, "fixture.hang") {
					t.Errorf("the hung Go fixture's output has no goroutine dump naming fixture.hang:\n%s", clipText(res.output, 2000))
				}
				return "TIMEOUT, goroutine dump"
			}},
		{name: "hang-ignoring-SIGTERM", code: 1, setup: exec1("test ignore-term hang", "--timeout", "1s", "--grace", "300ms", "--no-diagnose"),
			check: func(t *testing.T, d *faultDir, r *faultRun) string {
				r.want(t, "bad", "TIMEOUT")
				return "TIMEOUT (SIGKILL after grace)"
			}},
		{name: "crash", code: 1, setup: func(d *faultDir) []string {
			d.fixture("bad", "test crash=SIGSEGV")
			d.suite("bad", "exec", "bad")
			d.fixture("badtml", "protocol tml; test pass; test crash=SIGABRT; test pass")
			d.suite("badtml", "tml", "badtml")
			return nil
		}, check: func(t *testing.T, d *faultDir, r *faultRun) string {
			if res := r.want(t, "bad", "CRASH"); res.signal != "SIGSEGV" {
				t.Errorf("bad crashed with signal %q, want SIGSEGV", res.signal)
			}
			r.want(t, "badtml::0", "PASS")
			r.want(t, "badtml::1", "CRASH")
			r.want(t, "badtml::2", "PASS")
			return "CRASH (SIGSEGV; tml: the test after the crash still ran)"
		}},
		{name: "grandchild-holding-stdio", code: 0, setup: exec1("test grandchild=60s pass"),
			check: func(t *testing.T, d *faultDir, r *faultRun) string {
				r.want(t, "bad", "PASS")
				if r.wall > 15*time.Second {
					t.Errorf("the run took %s: the grandchild holding stdout stalled it", r.wall)
				}
				return "PASS, no stall"
			}},
		{name: "daemonized-grandchild", code: 0, setup: exec1("test daemon=60s pass"),
			check: func(t *testing.T, d *faultDir, r *faultRun) string {
				r.want(t, "bad", "PASS")
				if !faultHasWarning(r, "LEAK bad", "fixture-daemon") {
					t.Errorf("no LEAK warning naming the daemon; warnings: %q", r.warnings)
				}
				return "PASS + LEAK warning, daemon killed"
			}},
		{name: "output-flood", code: 0, limit: 300 * time.Second, setup: func(d *faultDir) []string {
			d.plainFixtures()
			return exec1(fmt.Sprintf("test print=%d pass", floodSize()), "--timeout", "280s")(d)
		},
			check: func(t *testing.T, d *faultDir, r *faultRun) string {
				res := r.want(t, "bad", "PASS")
				n := floodSize()
				if res.dropped <= 0 || res.dropped > n {
					t.Errorf("output_dropped = %d, want the %d MiB minus what was kept", res.dropped, n>>20)
				}
				t.Logf("%d MiB of output: volley took %s, peak RSS %d MiB", n>>20, r.wall, r.maxRSS>>20)
				return fmt.Sprintf("PASS, %d MiB printed, last %d KiB kept, volley peak RSS %d MiB", n>>20, (n-res.dropped)>>10, r.maxRSS>>20)
			}},
		{name: "invalid-utf8", code: 1, setup: exec1("test invalid-utf8 say=after fail"),
			check: func(t *testing.T, d *faultDir, r *faultRun) string {
				res := r.want(t, "bad", "FAIL")
				if !strings.Contains(res.output, "invalid utf-8:") || !strings.Contains(res.output, "after") {
					t.Errorf("the output around the invalid UTF-8 was lost: %q", res.output)
				}
				return "FAIL, output kept, log valid JSON"
			}},
		{name: "flaky", code: 0, retries: true, setup: exec1("test flaky=1", "--retries", "1"),
			check: func(t *testing.T, d *faultDir, r *faultRun) string {
				if res := r.want(t, "bad", "PASS"); res.attempt != 2 {
					t.Errorf("flaky test passed on attempt %d, want 2", res.attempt)
				}
				return "FLAKY (pass on attempt 2)"
			}},
		{name: "tml-garbage", code: -1, setup: script("bad", "tml", fakeTML),
			check: func(t *testing.T, d *faultDir, r *faultRun) string {
				if !faultHasWarning(r, "malformed result line") {
					t.Errorf("no warning about the malformed result lines; warnings: %q", r.warnings)
				}
				return faultStatuses(r) + ", warnings"
			}},
		{name: "tap-garbage", code: 1, setup: script("bad.t", "tap", fakeTAP), check: garbage},
		{name: "gotest-garbage", code: -1, limit: 10 * time.Second, setup: script("bad", "gotest", fakeGoTest), check: garbage},
		{name: "gtest-garbage", code: -1, limit: 10 * time.Second, setup: script("bad", "gtest", fakeGTest), check: garbage},
		{name: "libtest-garbage", code: -1, limit: 10 * time.Second, setup: script("bad", "libtest", fakeLibtest), check: garbage},
		{name: "daemon-clearing-its-environment", code: 0, setup: script("escape", "exec", escapeScript),
			check: func(t *testing.T, d *faultDir, r *faultRun) string {
				r.want(t, "escape", "PASS")
				b, err := os.ReadFile(d.path("escape.pid"))
				pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				if err != nil || pid <= 0 {
					t.Fatalf("the script wrote no pid: %v", err)
				}
				if pidAlive(pid) {
					cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
					r.left = append(r.left, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(bytes.TrimRight(cmd, "\x00"), []byte{0}, []byte{' '})))
					_ = syscall.Kill(pid, syscall.SIGKILL)
					return "PASS, daemon survived volley (no LEAK warning)"
				}
				return "PASS, daemon killed"
			}},
		{name: "listing-leaves-a-process", code: 0, setup: script("listleak", "gotest", listLeakScript),
			check: func(t *testing.T, d *faultDir, r *faultRun) string {
				r.want(t, "listleak::TestA", "PASS")
				if len(r.left) > 0 {
					return "PASS, the listing's child survived volley"
				}
				return "PASS"
			}},
		{name: "missing-file-in-volley.toml", code: -1, setup: func(d *faultDir) []string {
			d.fixture("extra", "test pass")
			d.suite("more", "exec", "extra", "not_built_test")
			return nil
		}, check: func(t *testing.T, d *faultDir, r *faultRun) string {
			r.want(t, "extra", "PASS")
			if !strings.Contains(r.out, "not_built_test") {
				t.Errorf("volley.toml names not_built_test, which does not exist, and volley says nothing about it: "+
					"a test that was not built silently does not run\n%s", clipText(r.out, 1500))
				return "missing test silently ignored"
			}
			return "missing test reported"
		}},
		{name: "missing-file-on-command-line", code: 2, usage: true, setup: func(d *faultDir) []string {
			return []string{"./ok1", "./ok2", "./ok3", "./oktml", "./not_built_test"}
		}, check: func(t *testing.T, d *faultDir, r *faultRun) string {
			if !strings.Contains(r.out, "not_built_test: no such file") {
				t.Errorf("the usage error does not name the missing file:\n%s", r.out)
			}
			return "usage error naming the file (nothing runs, by design)"
		}},
		{name: "not-executable", code: 1, setup: func(d *faultDir) []string {
			d.file("noexec", "#!/bin/sh\nexit 0\n", 0o644)
			return []string{"./ok1", "./ok2", "./ok3", "./oktml", "./noexec"}
		}, check: func(t *testing.T, d *faultDir, r *faultRun) string {
			if res := r.want(t, "noexec", "ERROR"); !strings.Contains(res.reason, "permission denied") {
				t.Errorf("reason %q does not say permission denied", res.reason)
			}
			return "ERROR: permission denied"
		}},
		{name: "not-a-binary", code: 1, setup: func(d *faultDir) []string {
			d.file("textfile", "this is not a program\n", 0o755)
			return []string{"./ok1", "./ok2", "./ok3", "./oktml", "./textfile"}
		}, check: func(t *testing.T, d *faultDir, r *faultRun) string {
			if res := r.want(t, "textfile", "ERROR"); !strings.Contains(res.reason, "exec format error") {
				t.Errorf("reason %q does not say exec format error", res.reason)
			}
			return "ERROR: exec format error"
		}},
		{name: "missing-#!-interpreter", code: 1, setup: func(d *faultDir) []string {
			d.file("badbang", "#!/nonexistent/interpreter\nexit 0\n", 0o755)
			return []string{"./ok1", "./ok2", "./ok3", "./oktml", "./badbang"}
		}, check: func(t *testing.T, d *faultDir, r *faultRun) string {
			res := r.want(t, "badbang", "ERROR")
			if !strings.Contains(res.reason, "/nonexistent/interpreter") {
				t.Errorf("badbang exists but its #! interpreter does not; the reason should name the interpreter, got %q", res.reason)
				return "ERROR, misleading reason"
			}
			return "ERROR naming the interpreter"
		}},
		{name: "corrupt-history", code: 0, setup: func(d *faultDir) []string {
			if err := os.MkdirAll(d.state, 0o755); err != nil {
				d.t.Fatal(err)
			}
			d.file("state/history.json", "{\"version\":1,\"suites\":\x00\xff garbage", 0o644)
			return nil
		}, check: func(t *testing.T, d *faultDir, r *faultRun) string {
			if !strings.Contains(r.out, "corrupt") {
				t.Errorf("no warning about the corrupt history:\n%s", r.out)
			}
			b, err := os.ReadFile(filepath.Join(d.state, "history.json"))
			if err != nil || !json.Valid(b) {
				t.Errorf("history.json was not rebuilt: %v, %.100q", err, b)
			}
			return "warning, history rebuilt"
		}},
		{name: "report-not-writable", code: 3, setup: func(d *faultDir) []string {
			return []string{"--junit", "/proc/nope/x.xml"}
		}, check: func(t *testing.T, d *faultDir, r *faultRun) string {
			if !strings.Contains(r.out, "cannot write the JUnit report") {
				t.Errorf("no warning about the JUnit report:\n%s", r.out)
			}
			return "warning, tests run, exit 3"
		}},
	}
}

func faultHasWarning(r *faultRun, parts ...string) bool {
	for _, w := range r.warnings {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(w, p)
		}
		if all {
			return true
		}
	}
	return false
}

// TestFaultSuite runs every scenario beside passing suites and checks that
// the run ends, that the passing results are all in the event log, and that
// no process of the run survives it.
// floodSize is what the output-flood scenario prints: 1 GiB through a
// plain volley (bench/faults.sh), 256 MiB through this race-instrumented
// test binary, where reading it costs four times as long.
func floodSize() int64 {
	if os.Getenv(faultBinVar) != "" {
		return 1 << 30
	}
	return 256 << 20
}

func TestFaultSuite(t *testing.T) {
	var table *os.File
	if p := os.Getenv(faultTableVar); p != "" {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() }) // after the parallel subtests
		table = f
	}
	var mu sync.Mutex
	for _, sc := range faultScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			if sc.name == "output-flood" && testing.Short() {
				t.Skip("prints 256 MiB through volley; not in -short")
			}
			d := newFaultDir(t)
			d.fixture("ok1", "test pass")
			d.fixture("ok2", "test pass sleep=50ms")
			d.fixture("ok3", "test pass say=fine")
			d.fixture("oktml", "protocol tml; test pass; test pass; test pass")
			// Only the misbehaving suite is to time out, however busy the
			// machine: the kept suites get a timeout of their own.
			d.suite("ok", "exec", "ok?")
			d.raw("timeout = \"300s\"\n")
			d.suite("oktml", "tml", "oktml")
			d.raw("timeout = \"300s\"\n")
			extra := sc.setup(d)
			d.writeConfig()
			limit := sc.limit
			if limit == 0 {
				limit = 20 * time.Second
			}
			r := faultVolley(t, d.dir, limit, append(faultArgs(d), extra...)...)

			var lost []string
			if !sc.usage {
				for _, id := range faultKept {
					if res := r.final(id); res == nil || res.status != "PASS" {
						lost = append(lost, id)
					}
				}
			}
			outcome := sc.check(t, d, r)
			if !r.ended {
				var most string
				n := 0
				for id, rs := range r.results {
					if len(rs) > n {
						most, n = id, len(rs)
					}
				}
				outcome = fmt.Sprintf("DID NOT END: stopped after %s (%s reported %d times)", limit, most, n)
				t.Errorf("%s\nthe run did not end within %s; %s was reported %d times (attempt %d); output tail:\n%s",
					r.describe(), limit, most, n, r.final(most).attempt, clipText(r.out, 600))
			}
			if len(lost) > 0 {
				t.Errorf("%s\nresults of the passing suites lost: %v\n%s", r.describe(), lost, clipText(r.out, 2000))
			}
			if len(r.left) > 0 {
				t.Errorf("%s\n%d processes of the run outlived it (killed now):\n  %s", r.describe(), len(r.left), strings.Join(r.left, "\n  "))
			}
			switch {
			case !r.ended: // said above
			case sc.code >= 0 && r.code != sc.code:
				t.Errorf("%s: want exit code %d\n%s", r.describe(), sc.code, clipText(r.out, 2000))
			case sc.code < 0 && r.code != 0 && r.code != 1:
				t.Errorf("%s: want exit code 0 or 1\n%s", r.describe(), clipText(r.out, 2000))
			}
			if !sc.retries {
				for _, id := range r.order {
					if rs := r.results[id]; len(rs) > 1 && r.ended {
						t.Errorf("%s was reported %d times without --retries", id, len(rs))
					}
				}
			}
			if table != nil {
				mu.Lock()
				fmt.Fprintf(table, "%s\t%s\t%d\t%d\n", sc.name, fmt.Sprintf("exit %d, %.1fs: %s", r.code, r.wall.Seconds(), outcome), len(r.left), len(lost))
				mu.Unlock()
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Misbehaving tests: retries, quarantine, leaks, hangs, groups, threads,
// the memory budget and slow warnings, through the CLI.

// faultOK writes n passing exec fixtures named ok1..okN and returns their
// paths as arguments.
func faultOK(d *faultDir, n int) []string {
	var args []string
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("ok%d", i)
		d.fixture(name, "test pass")
		args = append(args, "./"+name)
	}
	return args
}

func TestFaultRetryFlaky(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		status   string
		wantText string
	}{
		{"flaky-passes", nil, 0, "PASS", "1 flaky"},
		{"flaky-result-fail", []string{"--flaky-result", "fail"}, 1, "FAIL", "--flaky-result fail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFaultDir(t)
			args := append(faultOK(d, 2), "./flaky")
			d.fixture("flaky", "test flaky=1 say=wobble")
			run := append([]string{"test", "--no-cache", "--state-dir", d.state, "--protocol", "exec", "--retries", "2"}, tc.args...)
			r := faultVolley(t, d.dir, 20*time.Second, append(run, args...)...)
			if r.code != tc.code {
				t.Errorf("%s: want exit %d\n%s", r.describe(), tc.code, r.out)
			}
			rs := r.results["flaky"]
			if len(rs) != 2 || rs[0].status != "FAIL" || rs[1].attempt != 2 {
				t.Fatalf("flaky attempts: want FAIL then attempt 2, got %d results\n%s", len(rs), r.out)
			}
			r.want(t, "flaky", tc.status)
			r.want(t, "ok1", "PASS")
			if !strings.Contains(r.out, tc.wantText) || !strings.Contains(r.out, "flaky") {
				t.Errorf("output does not report the test as flaky (%q):\n%s", tc.wantText, r.out)
			}
		})
	}
}

func TestFaultQuarantine(t *testing.T) {
	vbin, _ := faultBins(t)
	d := newFaultDir(t)
	args := append(faultOK(d, 2), "./broken", "./crashy")
	d.fixture("broken", "test fail say=still%20broken")
	d.fixture("crashy", "test crash=SIGABRT")
	// One from the CLI's list, one from volley.toml.
	add := exec.Command(vbin, "quarantine", "add", "--state-dir", d.state, "broken")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("volley quarantine add: %v\n%s", err, out)
	}
	d.raw(`quarantine = ["crashy"]`)
	d.writeConfig()
	r := faultVolley(t, d.dir, 20*time.Second, append([]string{"test", "--no-cache", "--state-dir", d.state, "--protocol", "exec"}, args...)...)
	if r.code != 0 {
		t.Errorf("%s: want 0, quarantined failures do not fail the run\n%s", r.describe(), r.out)
	}
	r.want(t, "broken", "FAIL")
	r.want(t, "crashy", "CRASH")
	r.want(t, "ok1", "PASS")
	r.want(t, "ok2", "PASS")
	if n := strings.Count(r.out, "(quarantined: does not fail the run)"); n != 2 {
		t.Errorf("%d results reported as quarantined, want 2:\n%s", n, r.out)
	}
	if !strings.Contains(r.out, "2 quarantined failures") || !strings.Contains(r.out, "still broken") {
		t.Errorf("summary or output of the quarantined test missing:\n%s", r.out)
	}
}

// leakRE matches the LEAK warning's process: "PID CMDLINE".
var leakRE = regexp.MustCompile(`LEAK daemon: left 1 process\(es\) running after it exited: (\d+) (\S+ fixture-daemon)`)

func TestFaultLeak(t *testing.T) {
	for _, tc := range []struct {
		name   string
		leak   string
		code   int
		status string
	}{
		{"warn", "warn", 0, "PASS"},
		{"fail", "fail", 1, "FAIL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFaultDir(t)
			args := append(faultOK(d, 2), "./daemon")
			d.fixture("daemon", "test daemon=60s pass")
			r := faultVolley(t, d.dir, 20*time.Second, append([]string{"test", "--no-cache", "--state-dir", d.state,
				"--protocol", "exec", "--leak", tc.leak}, args...)...)
			if r.code != tc.code {
				t.Errorf("%s: want %d\n%s", r.describe(), tc.code, r.out)
			}
			res := r.want(t, "daemon", tc.status)
			if tc.leak == "fail" && !strings.Contains(res.reason, "LEAK") {
				t.Errorf("the failing test's reason does not say LEAK: %q", res.reason)
			}
			m := leakRE.FindStringSubmatch(r.out)
			if m == nil {
				t.Fatalf("no LEAK line with the daemon's pid and command line:\n%s", r.out)
			}
			pid, _ := strconv.Atoi(m[1])
			// The fixture printed the pid it started; it must be the one named.
			if !strings.Contains(res.output, "started daemon pid="+m[1]) {
				t.Errorf("LEAK names pid %d, but the test started: %q", pid, res.output)
			}
			if pidAlive(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("leaked daemon %d still alive after the run", pid)
			}
			if len(r.left) > 0 {
				t.Errorf("processes left: %v", r.left)
			}
		})
	}
}

// TestFaultGoTestHang builds a Go test binary whose test blocks forever
// and checks that the report of its timeout carries the goroutine dump.
func TestFaultGoTestHang(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("SKIP: no go command to build the hanging test binary: %v", err)
	}
	src := t.TempDir()
	files := map[string]string{
		"go.mod": "module hangdemo\n\ngo 1.21\n",
		"hang_test.go": `package hangdemo

import (
	"testing"
	"time"
)

func TestQuick(t *testing.T) {}

func TestBlocksForever(t *testing.T) {
	ch := make(chan int)
	go func() { time.Sleep(24 * time.Hour); ch <- 1 }()
	<-ch
}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := newFaultDir(t)
	bin := d.path("hangdemo.test")
	build := exec.Command(goBin, "test", "-c", "-o", bin, ".")
	build.Dir = src
	build.Env = append(os.Environ(), faultGoEnv...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	junit := d.path("report.xml")
	r := faultVolley(t, d.dir, 30*time.Second, "test", "--no-cache", "--state-dir", d.state, "--timeout", "1s",
		"--junit", junit, "./hangdemo.test")
	if r.code != 1 {
		t.Errorf("%s: want 1\n%s", r.describe(), r.out)
	}
	r.want(t, "hangdemo.test::TestQuick", "PASS")
	res := r.want(t, "hangdemo.test::TestBlocksForever", "TIMEOUT")
	x, _ := os.ReadFile(junit)
	for what, text := range map[string]string{"event log output": res.output, "JUnit report": string(x)} {
		if !strings.Contains(text, "goroutine ") || !strings.Contains(text, "hangdemo.TestBlocksForever") {
			t.Errorf("the %s has no goroutine dump naming hangdemo.TestBlocksForever:\n%s", what, clipText(text, 3000))
		}
	}
	if len(r.left) > 0 {
		t.Errorf("processes left: %v", r.left)
	}
}

// faultSpan is when one test's process ran, as the event log tells: from its
// run line to its result line.
type faultSpan struct {
	id         string
	start, end time.Time
}

func (s faultSpan) String() string {
	return fmt.Sprintf("%s %s-%s", s.id, s.start.Format("05.000"), s.end.Format("05.000"))
}

// spans returns the spans of the final results whose id has prefix.
func (r *faultRun) spans(prefix string) []faultSpan {
	var out []faultSpan
	for _, id := range r.order {
		if strings.HasPrefix(id, prefix) {
			for _, res := range r.results[id] {
				out = append(out, faultSpan{id, res.start, res.end})
			}
		}
	}
	return out
}

// maxOverlap is the largest number of spans running at one instant.
func maxOverlap(spans []faultSpan) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var es []edge
	for _, s := range spans {
		es = append(es, edge{s.start, 1}, edge{s.end, -1})
	}
	// Ends before starts at the same instant: touching is not overlapping.
	sort.Slice(es, func(i, j int) bool {
		if es[i].at.Equal(es[j].at) {
			return es[i].delta < es[j].delta
		}
		return es[i].at.Before(es[j].at)
	})
	n, best := 0, 0
	for _, e := range es {
		n += e.delta
		best = max(best, n)
	}
	return best
}

func TestFaultGroupLimit(t *testing.T) {
	t.Parallel()
	d := newFaultDir(t)
	for i := 1; i <= 4; i++ {
		d.fixture(fmt.Sprintf("db%d", i), "test sleep=300ms pass")
	}
	faultOK(d, 2)
	d.raw("[groups.db]\nmax = 1\n")
	fmt.Fprintf(&d.config, "[[suite]]\nname = \"db\"\nprotocol = \"exec\"\ngroup = \"db\"\npaths = [\"db?\"]\n\n")
	d.suite("ok", "exec", "ok?")
	d.writeConfig()
	r := faultVolley(t, d.dir, 30*time.Second, "test", "--no-cache", "--state-dir", d.state, "-j4")
	if r.code != 0 {
		t.Fatalf("%s\n%s", r.describe(), r.out)
	}
	db := r.spans("db")
	if len(db) != 4 {
		t.Fatalf("%d db results in the event log, want 4", len(db))
	}
	if n := maxOverlap(db); n != 1 {
		t.Errorf("%d processes of group db (max = 1) ran at once: %v", n, db)
	}
	// The group does not hold back the others.
	first := db[0].end
	for _, s := range db {
		if s.end.Before(first) {
			first = s.end
		}
	}
	for _, s := range r.spans("ok") {
		if s.start.After(first) {
			t.Errorf("%s started at %s, after the first db test ended (%s): the group blocked other suites",
				s.id, s.start.Format("15:04:05.000"), first.Format("15:04:05.000"))
		}
	}
}

func TestFaultThreads(t *testing.T) {
	d := newFaultDir(t)
	for i := 1; i <= 4; i++ {
		d.fixture(fmt.Sprintf("wide%d", i), "test sleep=300ms pass")
	}
	d.fixture("huge", "test pass")
	fmt.Fprintf(&d.config, "[[suite]]\nname = \"wide\"\nprotocol = \"exec\"\nthreads = 2\npaths = [\"wide?\"]\n\n")
	// More threads than -j: runs alone instead of never.
	fmt.Fprintf(&d.config, "[[suite]]\nname = \"huge\"\nprotocol = \"exec\"\nthreads = 64\npaths = [\"huge\"]\n\n")
	d.writeConfig()
	r := faultVolley(t, d.dir, 30*time.Second, "test", "--no-cache", "--state-dir", d.state, "-j4")
	if r.code != 0 {
		t.Fatalf("%s\n%s", r.describe(), r.out)
	}
	r.want(t, "huge", "PASS")
	wide := r.spans("wide")
	if len(wide) != 4 {
		t.Fatalf("%d wide results, want 4", len(wide))
	}
	if n := maxOverlap(wide); n != 2 {
		t.Errorf("%d threads=2 processes ran at once with -j4, want exactly 2: %v", n, wide)
	}
	all := r.spans("")
	for _, s := range all {
		if s.id == "huge" {
			if n := maxOverlap(append(faultOverlapping(all, s), s)); n > 1 {
				t.Errorf("huge (threads = 64 > -j4) ran beside %d others, want alone", n-1)
			}
		}
	}
}

// faultOverlapping returns the spans other than s that overlap it.
func faultOverlapping(spans []faultSpan, s faultSpan) []faultSpan {
	var out []faultSpan
	for _, o := range spans {
		if o.id != s.id && o.start.Before(s.end) && s.start.Before(o.end) {
			out = append(out, o)
		}
	}
	return out
}

func TestFaultMemoryBudget(t *testing.T) {
	t.Parallel()
	d := newFaultDir(t)
	var args []string
	for i := 1; i <= 4; i++ {
		name := fmt.Sprintf("mem%d", i)
		d.fixture(name, "test alloc=200M sleep=300ms pass")
		args = append(args, "./"+name)
	}
	base := []string{"test", "--no-cache", "--state-dir", d.state, "--protocol", "exec"}
	// First run: one at a time, to record each suite's peak RSS.
	first := faultVolley(t, d.dir, 60*time.Second, append(append(base, "-j1", "--memory-budget", "0"), args...)...)
	if first.code != 0 {
		t.Fatalf("%s\n%s", first.describe(), first.out)
	}
	for _, a := range args {
		if res := first.final(a[2:]); res == nil {
			t.Fatalf("no result for %s in the first run", a[2:])
		}
	}
	r := faultVolley(t, d.dir, 60*time.Second, append(append(base, "-j4", "--memory-budget", "300M"), args...)...)
	if r.code != 0 {
		t.Fatalf("%s\n%s", r.describe(), r.out)
	}
	mem := r.spans("mem")
	if len(mem) != 4 {
		t.Fatalf("%d mem results, want 4", len(mem))
	}
	if n := maxOverlap(mem); n != 1 {
		t.Errorf("%d alloc=200M suites ran at once under --memory-budget 300M: %v", n, mem)
	}
}

func TestFaultSlowWarning(t *testing.T) {
	d := newFaultDir(t)
	args := append(faultOK(d, 1), "./slowpoke")
	d.fixture("slowpoke", "test sleep=2500ms pass")
	r := faultVolley(t, d.dir, 20*time.Second, append([]string{"test", "--no-cache", "--state-dir", d.state,
		"--protocol", "exec", "--slow-timeout", "500ms"}, args...)...)
	if r.code != 0 {
		t.Errorf("%s\n%s", r.describe(), r.out)
	}
	r.want(t, "slowpoke", "PASS")
	if n := strings.Count(r.out, "SLOW slowpoke: running for"); n < 2 {
		t.Errorf("%d SLOW warnings for slowpoke (2.5s, --slow-timeout 500ms), want at least 2:\n%s", n, r.out)
	}
	r.want(t, "ok1", "PASS") // a warning is not a failure
}
