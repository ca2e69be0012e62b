package runner_test

// Misbehaving tests at the dispatcher: retries and flaky verdicts,
// quarantine, hang diagnosis (Go and native), concurrency groups, thread
// weights, the memory budget, slow warnings and inspection. The suites are
// fixtures played by this very test binary (see init); the CLI-level
// counterparts, leak detection included, are in internal/cli/fault_test.go;
// the same scheduling, step by step and without processes, is in
// schedule_test.go.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/fixture"
	"github.com/volley-test/volley/internal/protocol"
	"github.com/volley-test/volley/internal/runner"
	"github.com/volley-test/volley/internal/testenv"
)

// init makes this test binary a fixture when it is started as one (a suite
// symlink with a sidecar spec, or a fixture's grandchild). It is an init,
// not a TestMain, so that the package keeps room for one.
func init() {
	if fixture.Active() {
		os.Exit(fixture.Main(os.Args))
	}
	// Under -race every fixture process would sleep 1s at exit.
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
}

// mbSuite writes a fixture suite into dir and describes it (exec protocol
// unless the spec says tml).
func mbSuite(t *testing.T, dir, name, spec string) *protocol.Suite {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spec = strings.ReplaceAll(spec, ";", "\n") + "\n"
	path, err := fixture.WriteSuite(dir, name, exe, spec)
	if err != nil {
		t.Fatal(err)
	}
	p := "exec"
	if strings.Contains(spec, "protocol tml") {
		p = "tml"
	}
	return &protocol.Suite{Name: name, Path: path, Protocol: p}
}

// mbRun is a finished run: its statistics and every event.
type mbRun struct {
	stats  event.Stats
	events []*event.Event
}

// mbDispatch runs the suites with o and returns what happened; a run that
// has not ended after limit fails the test.
func mbDispatch(t *testing.T, o runner.Options, limit time.Duration, suites ...*protocol.Suite) *mbRun {
	t.Helper()
	return mbDispatchWatch(t, o, limit, nil, suites...)
}

// results are the TestEnd results of id (suite or suite::test), in order.
func (r *mbRun) results(id string) []*event.Result {
	var out []*event.Result
	for _, e := range r.events {
		if e.Kind == event.TestEnd && e.Result.ID() == id {
			out = append(out, e.Result)
		}
	}
	return out
}

// final is the last result of id; it fails the test when there is none.
func (r *mbRun) final(t *testing.T, id string) *event.Result {
	t.Helper()
	rs := r.results(id)
	if len(rs) == 0 {
		t.Fatalf("no result for %s", id)
	}
	return rs[len(rs)-1]
}

// messages are the messages of the events of kind k.
func (r *mbRun) messages(k event.Kind) []string {
	var out []string
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e.Message)
		}
	}
	return out
}

// procs are the ended processes of the suites whose name has prefix.
func (r *mbRun) procs(prefix string) []*event.Proc {
	var out []*event.Proc
	for _, e := range r.events {
		if e.Kind == event.ProcEnd && strings.HasPrefix(e.Proc.Suite, prefix) {
			out = append(out, e.Proc)
		}
	}
	return out
}

// concurrency is the largest number of the processes alive at one instant,
// weighted (threads); End and Start at the same instant do not overlap.
func concurrency(ps []*event.Proc, weight func(*event.Proc) int) int {
	type edge struct {
		at time.Time
		d  int
	}
	var es []edge
	for _, p := range ps {
		w := weight(p)
		es = append(es, edge{p.Start, w}, edge{p.End, -w})
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].at.Equal(es[j].at) {
			return es[i].d < es[j].d
		}
		return es[i].at.Before(es[j].at)
	})
	n, best := 0, 0
	for _, e := range es {
		n += e.d
		best = max(best, n)
	}
	return best
}

func one(*event.Proc) int { return 1 }

func spans(ps []*event.Proc) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, " %s[%s-%s]", p.Suite, p.Start.Format("05.000"), p.End.Format("05.000"))
	}
	return b.String()
}

func TestMisbehaveRetryFlaky(t *testing.T) {
	for _, tc := range []struct {
		name         string
		spec         string
		retries      int // the run's
		suiteRetries int
		flakyFail    bool
		maxFail      int
		id           string
		attempts     int
		status       event.Status
		flaky        bool
	}{
		{name: "flaky-passes", spec: "test flaky=1", retries: 2, id: "t", attempts: 2, status: event.Pass, flaky: true},
		{name: "flaky-result-fail", spec: "test flaky=1", retries: 2, flakyFail: true, id: "t", attempts: 2, status: event.Fail, flaky: true},
		{name: "suite-retries", spec: "test flaky=2", suiteRetries: 2, id: "t", attempts: 3, status: event.Pass, flaky: true},
		{name: "suite-no-retries", spec: "test flaky=1", retries: 2, suiteRetries: -1, id: "t", attempts: 1, status: event.Fail},
		{name: "gives-up", spec: "test fail", retries: 2, id: "t", attempts: 3, status: event.Fail},
		{name: "max-fail-ignores-retried-attempts", spec: "test flaky=1", retries: 1, maxFail: 1, id: "t", attempts: 2, status: event.Pass, flaky: true},
		{name: "tml-test-by-index", spec: "protocol tml; test pass; test flaky=1; test pass", retries: 1, id: "t::1", attempts: 2, status: event.Pass, flaky: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := mbSuite(t, dir, "t", tc.spec)
			s.Retries = tc.suiteRetries
			ok := mbSuite(t, dir, "ok", "test pass sleep=100ms")
			r := mbDispatch(t, runner.Options{Jobs: 2, Retries: tc.retries, RetryBackoff: 10 * time.Millisecond,
				FlakyFail: tc.flakyFail, MaxFail: tc.maxFail}, 30*time.Second, s, ok)
			rs := r.results(tc.id)
			if len(rs) != tc.attempts {
				t.Fatalf("%d attempts of %s, want %d", len(rs), tc.id, tc.attempts)
			}
			for i, res := range rs {
				if res.Attempt != i+1 {
					t.Errorf("attempt %d numbered %d", i+1, res.Attempt)
				}
				if last := i == len(rs)-1; res.Retrying == last {
					t.Errorf("attempt %d: Retrying = %v", i+1, res.Retrying)
				}
			}
			f := rs[len(rs)-1]
			if f.Status != tc.status || f.Flaky != tc.flaky {
				t.Errorf("final: %s flaky=%v (%s), want %s flaky=%v", f.Status, f.Flaky, f.Reason, tc.status, tc.flaky)
			}
			wantFailed := 0
			if tc.status.Failed() {
				wantFailed = 1
			}
			if r.stats.Failed != wantFailed || r.stats.NotRun != 0 {
				t.Errorf("stats: failed %d, not run %d; want %d, 0", r.stats.Failed, r.stats.NotRun, wantFailed)
			}
			if tc.flaky && !tc.flakyFail && r.stats.Flaky != 1 {
				t.Errorf("stats.Flaky = %d, want 1", r.stats.Flaky)
			}
			if tc.id == "t::1" {
				for _, id := range []string{"t::0", "t::2"} {
					if rs := r.results(id); len(rs) != 1 || rs[0].Status != event.Pass {
						t.Errorf("%s: %d results, want one PASS", id, len(rs))
					}
				}
			}
			if got := r.final(t, "ok"); got.Status != event.Pass {
				t.Errorf("ok: %s", got.Status)
			}
		})
	}
}

func TestMisbehaveQuarantine(t *testing.T) {
	dir := t.TempDir()
	bad := mbSuite(t, dir, "bad", "test fail say=nope")
	crashy := mbSuite(t, dir, "crashy", "test crash=SIGSEGV")
	okFail := mbSuite(t, dir, "honest", "test fail")
	ok := mbSuite(t, dir, "ok", "test pass")
	q := func(suite, test string) bool { return suite == "bad" || suite == "crashy" }
	r := mbDispatch(t, runner.Options{Jobs: 4, Quarantined: q, Retries: 1, RetryBackoff: time.Millisecond}, 30*time.Second, bad, crashy, okFail, ok)
	for _, id := range []string{"bad", "crashy"} {
		rs := r.results(id)
		if len(rs) != 2 {
			t.Errorf("%s: %d attempts, want 2 (a quarantined test is still retried)", id, len(rs))
		}
		if f := r.final(t, id); !f.Quarantined || !f.Status.Failed() {
			t.Errorf("%s: %s quarantined=%v, want a quarantined failure", id, f.Status, f.Quarantined)
		}
	}
	if f := r.final(t, "honest"); f.Quarantined {
		t.Errorf("honest is not in quarantine but was reported quarantined")
	}
	if r.stats.Quarantined != 2 || r.stats.Failed != 1 || r.stats.Passed != 1 {
		t.Errorf("stats: quarantined %d failed %d passed %d; want 2 1 1", r.stats.Quarantined, r.stats.Failed, r.stats.Passed)
	}
}

// TestMisbehaveHangGo: a hung Go binary (the fixture is this Go test
// binary) gets SIGQUIT and its goroutine dump ends its output.
func TestMisbehaveHangGo(t *testing.T) {
	dir := t.TempDir()
	hang := mbSuite(t, dir, "hang", "test say=before hang")
	ok := mbSuite(t, dir, "ok", "test pass")
	ok.Timeout = time.Minute // only the hang is to time out, however slow the machine
	r := mbDispatch(t, runner.Options{Jobs: 2, Timeout: 3 * time.Second, Grace: 2 * time.Second}, 90*time.Second, hang, ok)
	res := r.final(t, "hang")
	if res.Status != event.Timeout {
		t.Fatalf("hang: %s (%s), want TIMEOUT", res.Status, res.Reason)
	}
	if !strings.Contains(res.Diagnostics, "SIGQUIT") || !strings.Contains(res.Diagnostics, "process tree") {
		t.Errorf("Diagnostics does not tell of the process tree and SIGQUIT:\n%s", res.Diagnostics)
	}
	out := string(res.Output)
	if !strings.Contains(out, "before") || !strings.Contains(out, "goroutine 1 ") || !strings.Contains(out, "fixture.hang(") {
		t.Errorf("output lacks the test's own output or the goroutine dump (goroutine 1, fixture.hang):\n%s", out)
	}
	if res.Signal == "" && res.ExitCode != 2 {
		t.Logf("hung Go binary ended with exit %d signal %q", res.ExitCode, res.Signal)
	}
	if r.final(t, "ok").Status != event.Pass {
		t.Errorf("ok did not pass")
	}
}

// TestMisbehaveHangNative: a hung native program gets a gdb backtrace in
// its Diagnostics, when gdb is installed and may attach.
func TestMisbehaveHangNative(t *testing.T) {
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Skip("SKIP: gdb is not installed (apt-get install -y gdb): no native backtrace to check")
	}
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("SKIP: no gcc to build the hanging C program")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "hang.c")
	prog := `#include <stdio.h>
#include <unistd.h>

static void wait_forever(void) {
	for (;;)
		pause();
}

int main(void) {
	puts("native test started");
	fflush(stdout);
	wait_forever();
	return 0;
}
`
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "native_hang")
	if out, err := exec.Command(cc, "-g", "-O0", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	s := &protocol.Suite{Name: "native_hang", Path: bin, Protocol: "exec"}
	ok := mbSuite(t, dir, "ok", "test pass")
	ok.Timeout = time.Minute
	r := mbDispatch(t, runner.Options{Jobs: 2, Timeout: 3 * time.Second, Grace: time.Second}, 90*time.Second, s, ok)
	res := r.final(t, "native_hang")
	if res.Status != event.Timeout {
		t.Fatalf("native_hang: %s (%s), want TIMEOUT", res.Status, res.Reason)
	}
	d := res.Diagnostics
	if strings.Contains(d, "#0") && strings.Contains(d, "wait_forever") && strings.Contains(d, "main") {
		t.Logf("Diagnostics:\n%s", d)
		if !strings.Contains(string(res.Output), "native test started") {
			t.Errorf("the test's own output was lost: %q", res.Output)
		}
		return
	}
	if why := gdbCannotAttach(gdb); why != "" {
		t.Skipf("SKIP: gdb is installed but cannot attach here (%s); Diagnostics:\n%s", why, d)
	}
	t.Errorf("Diagnostics has no gdb backtrace through wait_forever and main:\n%s", d)
}

// gdbCannotAttach says why gdb cannot attach to a process here, or "".
func gdbCannotAttach(gdb string) string {
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		return err.Error()
	}
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, gdb, "-batch", "-nx", "-p", strconv.Itoa(sleeper.Process.Pid), "-ex", "bt").CombinedOutput()
	if bytes.Contains(out, []byte("#0")) {
		return ""
	}
	return strings.TrimSpace(string(lastLine(out)))
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func TestMisbehaveGroupLimit(t *testing.T) {
	dir := t.TempDir()
	var suites []*protocol.Suite
	for i := 1; i <= 2; i++ {
		s := mbSuite(t, dir, fmt.Sprintf("db%d", i), "test sleep=200ms")
		s.Group = "db"
		suites = append(suites, s)
	}
	for i := 1; i <= 2; i++ {
		s := mbSuite(t, dir, fmt.Sprintf("cache%d", i), "test sleep=200ms")
		s.Group = "cache"
		suites = append(suites, s)
	}
	suites = append(suites, mbSuite(t, dir, "free", "test pass"))
	r := mbDispatch(t, runner.Options{Jobs: 4, Groups: map[string]int{"db": 1, "cache": 2}}, 30*time.Second, suites...)
	if r.stats.Passed != 5 {
		t.Fatalf("%d passed, want 5", r.stats.Passed)
	}
	db := r.procs("db")
	if n := concurrency(db, one); n != 1 {
		t.Errorf("%d db processes at once, max = 1:%s", n, spans(db))
	}
	cache := r.procs("cache")
	if n := concurrency(cache, one); n != 2 {
		t.Errorf("%d cache processes at once, want 2 (max = 2, -j4):%s", n, spans(cache))
	}
	// The waiting db units do not hold back the suites queued after them.
	free := r.procs("free")[0]
	if free.Start.After(db[0].End) {
		t.Errorf("free started after the first db process ended: the group blocked the queue")
	}
}

func TestMisbehaveThreads(t *testing.T) {
	dir := t.TempDir()
	var suites []*protocol.Suite
	threads := map[string]int{}
	for i := 1; i <= 2; i++ {
		s := mbSuite(t, dir, fmt.Sprintf("wide%d", i), "test sleep=200ms")
		s.Threads = 2
		suites = append(suites, s)
		threads[s.Name] = 2
	}
	for i := 1; i <= 2; i++ {
		s := mbSuite(t, dir, fmt.Sprintf("narrow%d", i), "test sleep=200ms")
		suites = append(suites, s)
	}
	huge := mbSuite(t, dir, "huge", "test sleep=100ms")
	huge.Threads = 99 // more than -j: clamped, runs alone
	suites = append(suites, huge)
	r := mbDispatch(t, runner.Options{Jobs: 4}, 30*time.Second, suites...)
	if r.stats.Passed != 5 {
		t.Fatalf("%d passed, want 5", r.stats.Passed)
	}
	all := r.procs("")
	weight := func(p *event.Proc) int {
		if p.Suite == "huge" {
			return 4
		}
		return max(threads[p.Suite], 1)
	}
	if n := concurrency(all, weight); n > 4 {
		t.Errorf("%d slots in use at once, -j4:%s", n, spans(all))
	}
	if n := concurrency(r.procs("wide"), one); n != 2 {
		t.Errorf("%d threads=2 processes at once with -j4, want 2", n)
	}
}

func TestMisbehaveMemoryBudget(t *testing.T) {
	dir := t.TempDir()
	var suites []*protocol.Suite
	for i := 1; i <= 2; i++ {
		suites = append(suites, mbSuite(t, dir, fmt.Sprintf("mem%d", i), "test sleep=200ms"))
	}
	suites = append(suites, mbSuite(t, dir, "giant", "test pass"), mbSuite(t, dir, "small", "test sleep=200ms"))
	rss := map[string]int64{"giant": 900 << 20, "small": 10 << 20}
	expected := func(u *protocol.Unit) int64 {
		if strings.HasPrefix(u.Suite.Name, "mem") {
			return 200 << 20
		}
		return rss[u.Suite.Name]
	}
	r := mbDispatch(t, runner.Options{Jobs: 4, MemoryBudget: 300 << 20, ExpectedRSS: expected}, 30*time.Second, suites...)
	if r.stats.Passed != 4 {
		t.Fatalf("%d passed, want 4 (a unit over the whole budget still runs, alone)", r.stats.Passed)
	}
	mem := r.procs("mem")
	if n := concurrency(mem, one); n != 1 {
		t.Errorf("%d 200M units at once under a 300M budget:%s", n, spans(mem))
	}
	all := r.procs("")
	weight := func(p *event.Proc) int {
		if strings.HasPrefix(p.Suite, "mem") {
			return 200
		}
		return int(rss[p.Suite] >> 20)
	}
	for _, p := range all {
		if p.Suite != "giant" {
			continue
		}
		for _, o := range all {
			if o != p && o.Start.Before(p.End) && p.Start.Before(o.End) {
				t.Errorf("giant (900M, over the 300M budget) ran beside %s", o.Suite)
			}
		}
	}
	var notGiant []*event.Proc
	for _, p := range all {
		if p.Suite != "giant" {
			notGiant = append(notGiant, p)
		}
	}
	if n := concurrency(notGiant, weight); n > 300 {
		t.Errorf("%dM expected at once, budget 300M:%s", n, spans(notGiant))
	}
}

// mbDispatchWatch runs the suites' units with o, failing the test after
// limit; watch, when set, sees every event as it is emitted (on the
// dispatcher's goroutine).
func mbDispatchWatch(t *testing.T, o runner.Options, limit time.Duration, watch func(*event.Event), suites ...*protocol.Suite) *mbRun {
	t.Helper()
	var units []*protocol.Unit
	for _, s := range suites {
		p, err := protocol.Lookup(s.Protocol)
		if err != nil {
			t.Fatal(err)
		}
		units = append(units, p.Units(s)...)
	}
	if o.TempDir == "" {
		o.TempDir = t.TempDir()
	}
	r := &mbRun{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.stats = runner.New(units, o, func(e *event.Event) {
			r.events = append(r.events, e)
			if watch != nil {
				watch(e)
			}
		}).Run(t.Context())
	}()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("the run has not ended after %s", limit)
	}
	return r
}

// A slow test is warned about, again each period, and a warning is not a
// failure. The run is stopped by an interrupt once two warnings came, so
// nothing here depends on how fast the machine is.
func TestMisbehaveSlow(t *testing.T) {
	dir := t.TempDir()
	slow := mbSuite(t, dir, "slow", "protocol tml; test pass; test sleep=60s; test pass")
	fast := mbSuite(t, dir, "fast", "test pass")
	intr := make(chan os.Signal, 1)
	n := 0
	watch := func(e *event.Event) {
		if e.Kind == event.Warn && strings.HasPrefix(e.Message, "SLOW slow::1: running for") {
			if n++; n == 2 {
				intr <- syscall.SIGINT
			}
		}
	}
	r := mbDispatchWatch(t, runner.Options{Jobs: 2, SlowAfter: 200 * time.Millisecond, Interrupt: intr}, 60*time.Second, watch, slow, fast)
	if n < 2 {
		t.Fatalf("%d SLOW warnings for slow::1, want 2", n)
	}
	for _, m := range r.messages(event.Warn) {
		if strings.HasPrefix(m, "SLOW ") && !strings.HasPrefix(m, "SLOW slow") && !strings.HasPrefix(m, "SLOW fast") {
			t.Errorf("warning %q names no test of the run", m)
		}
	}
	if r.final(t, "slow::0").Status != event.Pass || r.stats.Failed != 0 {
		t.Errorf("slow::0 %v, %d failed: a slow warning is not a failure", r.final(t, "slow::0").Status, r.stats.Failed)
	}
}

// Inspection lists the running test with its pid and its output so far. It
// is asked for at each SLOW warning until the test's first line is in its
// output, then the run is interrupted: no fixed delays.
func TestMisbehaveInspect(t *testing.T) {
	dir := t.TempDir()
	s := mbSuite(t, dir, "sleepy", "test say=working%20on%20it sleep=60s")
	inspect := make(chan os.Signal, 1)
	intr := make(chan os.Signal, 1)
	watch := func(e *event.Event) {
		switch {
		case e.Kind == event.Warn && strings.HasPrefix(e.Message, "SLOW "):
			select {
			case inspect <- syscall.SIGUSR1:
			default:
			}
		case e.Kind == event.Info && strings.Contains(e.Message, "| working on it"):
			select {
			case intr <- syscall.SIGINT:
			default:
			}
		}
	}
	r := mbDispatchWatch(t, runner.Options{Jobs: 1, Inspect: inspect, Interrupt: intr, SlowAfter: 100 * time.Millisecond}, 60*time.Second, watch, s)
	infos := r.messages(event.Info)
	if len(infos) == 0 {
		t.Fatal("no Info events")
	}
	last := infos[len(infos)-1]
	for _, want := range []string{"1 running", "sleepy  pid ", "| working on it"} {
		if !strings.Contains(last, want) {
			t.Errorf("inspection lacks %q:\n%s", want, last)
		}
	}
}

// TestMisbehaveMaxRSSIsTheTests: the peak RSS recorded for a test (shown
// in reports, and the history the memory budget admits tests by) is the
// test's own, not volley's. A process started by os/exec shares volley's
// memory until it execs, and the kernel carries that memory's high-water
// mark into the child's rusage, so ru_maxrss alone over-reports every
// small test as at least volley's size. (Unknown, 0, is acceptable.)
func TestMisbehaveMaxRSSIsTheTests(t *testing.T) {
	tr, err := exec.LookPath("true")
	if err != nil {
		t.Skip("SKIP: no true(1)")
	}
	// Make this process (the "volley" here) big: 96 MiB touched.
	ballast := make([]byte, 96<<20)
	for i := range ballast {
		if i%4096 == 0 {
			ballast[i] = 1
		}
	}
	s := &protocol.Suite{Name: "true", Path: tr, Protocol: "exec"}
	r := mbDispatch(t, runner.Options{Jobs: 1}, 30*time.Second, s)
	runtime.KeepAlive(ballast)
	res := r.final(t, "true")
	if res.Status != event.Pass {
		t.Fatalf("true: %s", res.Status)
	}
	if res.MaxRSS >= 32<<20 {
		t.Errorf("true(1) is reported with a peak RSS of %d MiB, the size of the process that started it "+
			"(want its own few MiB): the memory budget would expect every test to be as big as volley", res.MaxRSS>>20)
	}
}

// Ctrl-Z: the running test is stopped with volley, and continued with it;
// the time spent stopped, longer than the timeout, counts toward neither
// its timeout nor its duration.
func TestMisbehaveSuspend(t *testing.T) {
	dir := t.TempDir()
	timeout := testenv.Scale(500 * time.Millisecond)
	s := mbSuite(t, dir, "s", "test say=started sleep=100ms pass")
	suspend := make(chan os.Signal, 1)
	var pid int
	var stoppedSeen bool
	watch := func(e *event.Event) {
		if e.Kind == event.ProcStart && e.Proc.Suite == "s" {
			pid = e.Proc.PID
			suspend <- syscall.SIGTSTP
		}
	}
	stop := func() {
		testenv.WaitFor(t, timeout, "the test to be stopped", func() bool { return testenv.ProcState(pid) == 'T' })
		stoppedSeen = true
		// Stay stopped past the test's deadline: time passing is what is
		// tested here.
		time.Sleep(timeout + timeout/2)
		if st := testenv.ProcState(pid); st != 'T' {
			t.Errorf("the test is in state %q while volley is stopped, want T", st)
		}
	}
	r := mbDispatchWatch(t, runner.Options{Jobs: 1, Timeout: timeout, Suspend: suspend, Stop: stop}, 4*timeout+testenv.Scale(30*time.Second), watch, s)
	if !stoppedSeen {
		t.Fatal("Stop was not called")
	}
	res := r.final(t, "s")
	if res.Status != event.Pass {
		t.Fatalf("after a stop longer than its timeout the test is %s (%s), want PASS", res.Status, res.Reason)
	}
	if res.Duration >= timeout {
		t.Errorf("duration %s counts the time stopped (timeout %s)", res.Duration, timeout)
	}
	msgs := strings.Join(r.messages(event.Info), "\n")
	if !strings.Contains(msgs, "suspended: 1 running tests stopped") || !strings.Contains(msgs, "continued after") {
		t.Errorf("no suspend/continue messages: %q", msgs)
	}
}
