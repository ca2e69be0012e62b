package runner_test

// The dispatcher's scheduling, against the fake executor (fake_test.go):
// what starts when, retries, verdicts, stopping, interrupts and suspension.
// The real-process counterparts are in misbehave_test.go.

import (
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/protocol"
	"github.com/volley-test/volley/internal/runner"
)

// startAll reports every process of ps started.
func (h *sched) startAll(ps []*fakeProc) {
	h.t.Helper()
	for _, fp := range ps {
		h.start(fp)
	}
}

// expect checks which suites run now, in the order they started.
func (h *sched) expect(ps []*fakeProc, want string) {
	h.t.Helper()
	if got := names(ps); got != want {
		h.t.Fatalf("running %s, want %s", got, want)
	}
}

func TestScheduleJobs(t *testing.T) {
	h := newSched(t, runner.Options{Jobs: 2}, nil, units([]string{"a", "b", "c", "d", "e"}, nil)...)
	ps := h.settle()
	h.expect(ps, "[a b]")
	h.startAll(ps)
	h.pass(ps[1])
	ps = h.settle()
	h.expect(ps, "[a c]")
	h.start(ps[1])
	h.pass(ps[0])
	h.pass(ps[1])
	ps = h.settle()
	h.expect(ps, "[d e]")
	h.startAll(ps)
	h.pass(ps[0])
	h.pass(ps[1])
	st := h.wait()
	if st.Passed != 5 || st.Done != 5 || st.SuitesDone != 5 {
		t.Errorf("%d passed, %d done, %d suites done; want 5 of each", st.Passed, st.Done, st.SuitesDone)
	}
	// The slots are reused: -j2 numbers them 0 and 1.
	for _, r := range h.results() {
		if r.Slot > 1 {
			t.Errorf("%s ran in slot %d with -j2", r.Suite, r.Slot)
		}
	}
}

func TestScheduleGroups(t *testing.T) {
	us := units([]string{"db1", "db2", "cache1", "cache2", "cache3", "free", "db3"}, func(s *protocol.Suite) {
		s.Group = strings.TrimRight(s.Name, "0123456789")
	})
	h := newSched(t, runner.Options{Jobs: 4, Groups: map[string]int{"db": 1, "cache": 2}}, nil, us...)
	// db2 waits for db1, and holds back no one queued after it.
	ps := h.settle()
	h.expect(ps, "[db1 cache1 cache2 free]")
	h.startAll(ps)
	h.pass(ps[3]) // free: a slot, but neither group has room
	h.expect(h.settle(), "[db1 cache1 cache2]")
	h.pass(ps[1]) // cache1
	ps = h.settle()
	h.expect(ps, "[db1 cache2 cache3]")
	h.pass(ps[0]) // db1
	ps = h.settle()
	h.expect(ps, "[cache2 cache3 db2]")
	h.pass(ps[2])
	ps = h.settle()
	h.expect(ps, "[cache2 cache3 db3]")
	for _, fp := range ps {
		h.pass(fp)
	}
	if st := h.wait(); st.Passed != 7 {
		t.Errorf("%d passed, want 7", st.Passed)
	}
}

func TestScheduleThreads(t *testing.T) {
	threads := map[string]int{"wide1": 2, "wide2": 2, "wide3": 2, "huge": 99}
	us := units([]string{"wide1", "wide2", "narrow", "wide3", "huge", "last"}, func(s *protocol.Suite) {
		s.Threads = threads[s.Name]
	})
	h := newSched(t, runner.Options{Jobs: 4}, nil, us...)
	ps := h.settle()
	h.expect(ps, "[wide1 wide2]") // 4 slots
	h.pass(ps[0])
	// wide3 would make 5: the one-thread units behind it go first.
	ps = h.settle()
	h.expect(ps, "[wide2 narrow last]")
	h.pass(ps[0])
	ps = h.settle()
	h.expect(ps, "[narrow last wide3]")
	for _, fp := range ps {
		h.pass(fp)
	}
	// More threads than -j: clamped to all of them, so it runs alone.
	ps = h.settle()
	h.expect(ps, "[huge]")
	h.pass(ps[0])
	if st := h.wait(); st.Passed != 6 {
		t.Errorf("%d passed, want 6", st.Passed)
	}
}

func TestScheduleMemoryBudget(t *testing.T) {
	rss := map[string]int64{"mem1": 200, "mem2": 200, "giant": 900, "small": 10, "mem3": 200}
	o := runner.Options{Jobs: 4, MemoryBudget: 300, ExpectedRSS: func(u *protocol.Unit) int64 { return rss[u.Suite.Name] }}
	h := newSched(t, o, nil, units([]string{"mem1", "mem2", "giant", "small", "mem3"}, nil)...)
	ps := h.settle()
	h.expect(ps, "[mem1 small]") // 210 of 300
	h.pass(ps[0])
	ps = h.settle()
	h.expect(ps, "[small mem2]")
	h.pass(ps[0])
	h.expect(h.settle(), "[mem2]") // giant and mem3 would exceed the budget
	h.pass(ps[1])
	// Over the whole budget: it runs when nothing else does, alone.
	ps = h.settle()
	h.expect(ps, "[giant]")
	h.pass(ps[0])
	ps = h.settle()
	h.expect(ps, "[mem3]")
	h.pass(ps[0])
	if st := h.wait(); st.Passed != 5 {
		t.Errorf("%d passed, want 5", st.Passed)
	}
}

func TestScheduleRetriesFlaky(t *testing.T) {
	for _, flakyFail := range []bool{false, true} {
		t.Run(map[bool]string{false: "flaky-pass", true: "flaky-fail"}[flakyFail], func(t *testing.T) {
			o := runner.Options{Jobs: 2, Retries: 2, RetryBackoff: time.Nanosecond, FlakyFail: flakyFail}
			h := newSched(t, o, nil, units([]string{"flaky", "broken"}, nil)...)
			ps := h.settle()
			h.expect(ps, "[flaky broken]")
			h.startAll(ps)
			h.fail(ps[0])
			h.fail(ps[1])
			// Each runs again after its backoff; flaky then passes.
			again := map[string]*fakeProc{}
			for range 2 {
				fp := h.next()
				again[fp.name()] = fp
			}
			h.start(again["flaky"])
			h.pass(again["flaky"])
			h.start(again["broken"])
			h.fail(again["broken"])
			last := h.next() // the second retry, the last attempt
			if last.name() != "broken" {
				t.Fatalf("%s ran a third time", last.name())
			}
			h.start(last)
			h.fail(last)
			st := h.wait()

			var got []string
			for _, r := range h.results() {
				got = append(got, r.Suite+":"+r.Status.String()+":"+map[bool]string{true: "retrying", false: "final"}[r.Retrying])
			}
			want := "flaky:FAIL:retrying broken:FAIL:retrying flaky:PASS:final broken:FAIL:retrying broken:FAIL:final"
			if flakyFail {
				want = strings.Replace(want, "flaky:PASS:final", "flaky:FAIL:final", 1)
			}
			if strings.Join(got, " ") != want {
				t.Errorf("results\n got %s\nwant %s", strings.Join(got, " "), want)
			}
			var flaky *event.Result
			for _, r := range h.results() {
				if r.Suite == "flaky" && !r.Retrying {
					flaky = r
				}
				if r.Suite == "broken" && !r.Retrying && r.Attempt != 3 {
					t.Errorf("broken's final result is attempt %d, want 3", r.Attempt)
				}
			}
			if !flaky.Flaky || flaky.Attempt != 2 {
				t.Errorf("flaky: Flaky=%v attempt %d, want a flaky second attempt", flaky.Flaky, flaky.Attempt)
			}
			if flakyFail && !strings.Contains(flaky.Reason, "flaky: passed on attempt 2") {
				t.Errorf("flaky's reason under FlakyFail: %q", flaky.Reason)
			}
			wantFailed, wantPassed := 1, 1
			if flakyFail {
				wantFailed, wantPassed = 2, 0
			}
			if st.Failed != wantFailed || st.Passed != wantPassed || st.Done != 2 {
				t.Errorf("%d passed, %d failed, %d done; want %d, %d, 2", st.Passed, st.Failed, st.Done, wantPassed, wantFailed)
			}
		})
	}
}

// A one-test process's result is held until its exit; a leak found at the
// exit fails it under LeakFail, whether the result came before the exit
// or with it.
func TestScheduleLeakFail(t *testing.T) {
	for _, tc := range []struct {
		name     string
		leakFail bool
		held     bool // the result came before the exit
		want     event.Status
		verdict  string
	}{
		{"held-warn", false, true, event.Pass, "; killed them"},
		{"held-fail", true, true, event.Fail, "the test fails (leak = \"fail\")"},
		{"at-exit-fail", true, false, event.Fail, "the test fails (leak = \"fail\")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &protocol.Suite{Name: "s", Path: "/fake/s", Protocol: "gotest"}
			u := &protocol.Unit{Suite: s, Label: "s TestX", Tests: []string{"TestX"}}
			h := newSched(t, runner.Options{Jobs: 1, LeakFail: tc.leakFail}, nil, u)
			fp := h.settle()[0]
			h.start(fp)
			pass := []protocol.Outcome{{Test: "TestX", Status: event.Pass}}
			ex := runner.Exited{Leaked: []string{"4242 sleep 60"}, CPU: time.Second, MaxRSS: 7 << 20}
			if tc.held {
				fp.report(&runner.Reported{Outcomes: pass})
			} else {
				ex.Outcomes = pass
			}
			h.exit(fp, ex)
			st := h.wait()
			rs := h.results()
			if len(rs) != 1 {
				t.Fatalf("%d results, want 1", len(rs))
			}
			r := rs[0]
			if r.Status != tc.want {
				t.Errorf("%s (%s), want %s", r.Status, r.Reason, tc.want)
			}
			if tc.want == event.Fail && !strings.HasPrefix(r.Reason, "LEAK:") {
				t.Errorf("reason %q, want the leak", r.Reason)
			}
			if len(r.Leaked) != 1 || r.CPU != time.Second || r.MaxRSS != 7<<20 {
				t.Errorf("result leaked %q, CPU %s, MaxRSS %d: want the exit's", r.Leaked, r.CPU, r.MaxRSS)
			}
			warns := strings.Join(h.messages(event.Warn), "\n")
			if !strings.Contains(warns, "LEAK s TestX: left 1 process(es) running after it exited: 4242 sleep 60") ||
				!strings.Contains(warns, tc.verdict) {
				t.Errorf("warnings %q", warns)
			}
			if st.Leaks != 1 {
				t.Errorf("%d leaks counted, want 1", st.Leaks)
			}
		})
	}
}

func TestScheduleMaxFail(t *testing.T) {
	h := newSched(t, runner.Options{Jobs: 2, MaxFail: 2}, nil, units([]string{"a", "b", "c", "d", "e"}, nil)...)
	ps := h.settle()
	h.startAll(ps)
	h.fail(ps[0])
	ps = h.settle()
	h.expect(ps, "[b c]")
	h.start(ps[1])
	h.fail(ps[0])
	// The second failure stops launching; what runs still counts.
	h.expect(h.settle(), "[c]")
	h.pass(ps[1])
	st := h.wait()
	if st.Failed != 2 || st.Passed != 1 || st.NotRun != 2 || st.Interrupted {
		t.Errorf("%d failed, %d passed, %d not run, interrupted %v; want 2, 1, 2, false", st.Failed, st.Passed, st.NotRun, st.Interrupted)
	}
}

func TestScheduleInterrupt(t *testing.T) {
	h := newSched(t, runner.Options{Jobs: 2}, nil, units([]string{"a", "b", "c", "d"}, nil)...)
	ps := h.settle()
	h.startAll(ps)
	h.interrupt <- syscall.SIGINT
	// The first interrupt terminates the running tests and cancels the
	// executors' context (remote actions in flight).
	for _, fp := range ps {
		if q := h.request(fp); q != "term" {
			t.Errorf("%s got %q, want term", fp.name(), q)
		}
		select {
		case <-fp.ctx.Done():
		case <-time.After(patience):
			t.Errorf("%s: the context is not cancelled", fp.name())
		}
	}
	// The second kills them at once.
	h.interrupt <- syscall.SIGINT
	for _, fp := range ps {
		if q := h.request(fp); q != "kill" {
			t.Errorf("%s got %q, want kill", fp.name(), q)
		}
	}
	killed := runner.Exited{
		Reported: runner.Reported{Outcomes: []protocol.Outcome{{Status: event.Crash, ExitCode: -1, Reason: "killed by SIGKILL"}}},
		Exit:     protocol.Exit{Code: -1, Signal: "SIGKILL"},
	}
	for _, fp := range ps {
		h.exit(fp, killed)
	}
	st := h.wait()
	if !st.Interrupted || st.NotRun != 4 || st.Done != 0 || st.Failed != 0 {
		t.Errorf("interrupted %v, %d not run, %d done, %d failed; want true, 4, 0, 0", st.Interrupted, st.NotRun, st.Done, st.Failed)
	}
	warns := strings.Join(h.messages(event.Warn), "\n")
	if !strings.Contains(warns, "interrupted: stopping running tests") || !strings.Contains(warns, "interrupted again: killing") {
		t.Errorf("warnings %q", warns)
	}
}

// An executor's fatal error (a remote service that stays down) stops the
// run: what its process did not run, and what is queued, is not run, and
// the run says why.
func TestScheduleFatal(t *testing.T) {
	h := newSched(t, runner.Options{Jobs: 2}, nil, units([]string{"a", "b", "c"}, nil)...)
	ps := h.settle()
	h.startAll(ps)
	outage := errors.New("remote grpc://x: service unusable for 5m0s, gave up")
	h.exit(ps[0], runner.Exited{
		Reported: runner.Reported{Outcomes: []protocol.Outcome{{Status: event.Error, ExitCode: -1, Reason: "remote execution of a"}}},
		Exit:     protocol.Exit{Code: -1, Err: outage},
		Fatal:    outage,
	})
	h.expect(h.settle(), "[b]")
	h.pass(ps[1])
	st := h.wait()
	if st.Passed != 1 || st.Failed != 0 || st.NotRun != 2 {
		t.Errorf("%d passed, %d failed, %d not run; want 1, 0, 2", st.Passed, st.Failed, st.NotRun)
	}
	if !errors.Is(h.d.Fatal(), outage) {
		t.Errorf("Fatal() = %v, want the outage", h.d.Fatal())
	}
	if warns := strings.Join(h.messages(event.Warn), "\n"); !strings.Contains(warns, "stopping the run: "+outage.Error()) {
		t.Errorf("warnings %q", warns)
	}
}

// clock is a dispatcher's clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Ctrl-Z: the running tests are stopped before volley stops, continued
// after, and the hour spent stopped counts toward no deadline or duration.
func TestScheduleSuspend(t *testing.T) {
	c := &clock{t: time.Now()}
	var h *sched
	var a *fakeProc
	stopped := false
	stop := func() {
		// Already passed on, not on its way: a request still in a channel
		// when volley stops reaches the test only after fg.
		select {
		case q := <-a.reqs:
			if q != "stop" {
				t.Errorf("before volley stops, the test got %q, want stop", q)
			}
		default:
			t.Error("volley stops before its test was told to stop")
		}
		stopped = true
		c.add(time.Hour)
	}
	o := runner.Options{Jobs: 1, Timeout: 30 * time.Minute, Stop: stop, Tick: time.Millisecond}
	us := units([]string{"a", "b"}, nil)
	for _, u := range us {
		u.Est = 5 * time.Minute
	}
	h = newSched(t, o, c.now, us...)
	a = h.settle()[0]
	h.start(a)
	c.add(time.Minute)
	mark := h.mark()
	h.suspend <- syscall.SIGTSTP
	h.waitEvent(mark, "continue message", func(e *event.Event) bool {
		return e.Kind == event.Info && strings.HasPrefix(e.Message, "continued after 1h0m0s stopped")
	})
	if !stopped {
		t.Fatal("Stop was not called")
	}
	if q := h.request(a); q != "cont" {
		t.Errorf("after volley continues, the test got %q, want cont", q)
	}
	c.add(time.Minute)
	h.expect(h.settle(), "[a]")
	// Its expected end moved too: 3 of its 5 minutes left, then b's 5.
	h.waitEvent(h.mark(), "a tick with 8m left", func(e *event.Event) bool {
		return e.Kind == event.Tick && e.Stats.Left == 8*time.Minute
	})
	h.pass(a)
	b := h.settle()[0]
	h.start(b)
	h.pass(b)
	h.wait()
	select {
	case q := <-a.reqs:
		t.Errorf("a got %q after it continued: its deadline did not move", q)
	default:
	}
	r := h.results()[0]
	if r.Status != event.Pass || r.Duration != 2*time.Minute {
		t.Errorf("a: %s in %s, want PASS in 2m0s (the hour stopped not counted)", r.Status, r.Duration)
	}
	infos := strings.Join(h.messages(event.Info), "\n")
	if !strings.Contains(infos, "suspended: 1 running tests stopped") {
		t.Errorf("no suspend message: %q", infos)
	}
}

func TestScheduleTimeLeft(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	est := map[string]time.Duration{"a": 10 * time.Second, "b": 4 * time.Second, "c": 4 * time.Second}
	us := timedUnits([]string{"a", "b", "c", "d"}, est, nil) // d: never run before, guessed as the mean, 6s
	h := newSched(t, runner.Options{Jobs: 2, Tick: time.Millisecond}, c.now, us...)
	left := func(want time.Duration) {
		t.Helper()
		h.waitEvent(h.mark(), "a tick with "+want.String()+" left", func(e *event.Event) bool {
			return e.Kind == event.Tick && e.Stats.Left == want
		})
	}
	ps := h.settle()
	h.expect(ps, "[a b]")
	h.startAll(ps)
	left(12 * time.Second) // (10 + 4 + 4 + 6) / 2 slots
	c.add(6 * time.Second)
	left(7 * time.Second) // a 4 + b 0 (overdue) + c 4 + d 6 over 2 slots
	h.pass(ps[1])
	ps2 := h.settle()
	h.expect(ps2, "[a c]")
	h.start(ps2[1])
	c.add(2 * time.Second)
	left(6 * time.Second) // (a 2 + c 2 + d 6) / 2 = 5, but d alone takes 6
	h.pass(ps2[0])
	h.pass(ps2[1])
	ps3 := h.settle()
	h.expect(ps3, "[d]")
	h.start(ps3[0])
	c.add(12 * time.Second)
	left(0) // d overran its guess: nothing left that history knows of
	h.pass(ps3[0])
	h.wait()

	// Without history there is no estimate.
	h = newSched(t, runner.Options{Jobs: 2, Tick: time.Millisecond}, nil, units([]string{"x", "y"}, nil)...)
	ps = h.settle()
	h.startAll(ps)
	e := h.waitEvent(h.mark(), "a tick", func(e *event.Event) bool { return e.Kind == event.Tick })
	if e.Stats.Left != 0 {
		t.Errorf("time left %v with no history, want 0 (unknown)", e.Stats.Left)
	}
	h.pass(ps[0])
	h.pass(ps[1])
	h.wait()
}

func TestScheduleReservesSlotsForAWideUnit(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	est := map[string]time.Duration{"a": 3 * time.Second, "wide": 5 * time.Second, "long": 10 * time.Second, "short": time.Second}
	us := timedUnits([]string{"a", "wide", "long", "short"}, est, nil)
	us[1].Threads = 2 // wide: a batch of parallel Go tests
	h := newSched(t, runner.Options{Jobs: 2}, c.now, us...)
	// wide needs both slots, which a frees at 3s. long would hold one
	// until 10s, so it waits; short is done by 1s and goes first.
	ps := h.settle()
	h.expect(ps, "[a short]")
	h.startAll(ps)
	c.add(time.Second)
	h.pass(ps[1])
	h.expect(h.settle(), "[a]") // a slot idles rather than delay wide
	c.add(2 * time.Second)
	h.pass(ps[0])
	ps = h.settle()
	h.expect(ps, "[wide]")
	h.start(ps[0])
	c.add(5 * time.Second)
	h.pass(ps[0])
	ps = h.settle()
	h.expect(ps, "[long]")
	h.pass(ps[0])
	if st := h.wait(); st.Passed != 4 {
		t.Errorf("%d passed, want 4", st.Passed)
	}
}

func TestScheduleWideUnitDoesNotWaitLongerThanItRuns(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	est := map[string]time.Duration{"long": 10 * time.Second, "wide": time.Second, "short": 2 * time.Second}
	us := timedUnits([]string{"long", "wide", "short"}, est, nil)
	us[1].Threads = 2 // wide: a batch of parallel Go tests
	h := newSched(t, runner.Options{Jobs: 2, Tick: time.Millisecond}, c.now, us...)
	// Both slots free only when long ends, 10s away; wide runs for 1s, so
	// it starts at once in the free slot rather than wait.
	ps := h.settle()
	h.expect(ps, "[long wide]")
	h.startAll(ps)
	// It holds the one slot it got: nothing else starts beside it.
	left := h.waitEvent(h.mark(), "a tick", func(e *event.Event) bool { return e.Kind == event.Tick })
	if left.Stats.Left != 10*time.Second {
		t.Errorf("time left %v, want 10s (long's)", left.Stats.Left)
	}
	c.add(time.Second)
	h.pass(ps[1])
	ps2 := h.settle()
	h.expect(ps2, "[long short]")
	h.pass(ps2[1])
	h.pass(ps[0])
	if st := h.wait(); st.Passed != 3 {
		t.Errorf("%d passed, want 3", st.Passed)
	}
}

// A suite's own threads are waited for, however long: it asked for them.
func TestScheduleSuiteThreadsAreWaitedFor(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	est := map[string]time.Duration{"long": 10 * time.Second, "wide": time.Second, "short": 2 * time.Second}
	us := timedUnits([]string{"long", "wide", "short"}, est, func(s *protocol.Suite) {
		if s.Name == "wide" {
			s.Threads = 2
		}
	})
	h := newSched(t, runner.Options{Jobs: 2}, c.now, us...)
	ps := h.settle()
	h.expect(ps, "[long short]") // short is done before long frees wide's slots
	h.startAll(ps)
	h.pass(ps[1])
	h.expect(h.settle(), "[long]")
	h.pass(ps[0])
	ps = h.settle()
	h.expect(ps, "[wide]")
	h.pass(ps[0])
	if st := h.wait(); st.Passed != 3 {
		t.Errorf("%d passed, want 3", st.Passed)
	}
}

// A retry waiting out its backoff is work still to do.
func TestScheduleTimeLeftCountsRetries(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	us := units([]string{"a"}, nil)
	us[0].Est = 4 * time.Second
	o := runner.Options{Jobs: 1, Retries: 1, RetryBackoff: 3 * time.Second, Tick: time.Millisecond}
	h := newSched(t, o, c.now, us...)
	ps := h.settle()
	h.start(ps[0])
	h.fail(ps[0])
	h.waitEvent(h.mark(), "a tick with 7s left (3s of backoff, then 4s)", func(e *event.Event) bool {
		return e.Kind == event.Tick && e.Stats.Left == 7*time.Second
	})
	c.add(3 * time.Second)
	again := h.next()
	h.start(again)
	h.pass(again)
	h.wait()
}

// timedUnits are units (see units) with expected times from est.
func timedUnits(names []string, est map[string]time.Duration, set func(*protocol.Suite)) []*protocol.Unit {
	us := units(names, set)
	for _, u := range us {
		u.Est = est[u.Suite.Name]
	}
	return us
}
