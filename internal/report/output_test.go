package report

import (
	"strings"
	"time"

	"testing"

	"github.com/volley-test/volley/internal/event"
)

func TestTestOutputReadsGoFraming(t *testing.T) {
	const seg = "\x16=== RUN   TestA\n" +
		"    a_test.go:3: setting up\n" +
		"\x16=== NAME  TestC\n" +
		"    c_test.go:9: parallel chatter\n" +
		"\x16=== NAME  TestA\n" +
		"    a_test.go:5: got 1, want 2\n" +
		"\x16    --- FAIL: TestA/sub (0.00s)\n" +
		"\x16--- FAIL: TestA (0.00s)\n" +
		"\x16=== CONT  TestB\n"
	for _, c := range []struct {
		name string
		r    event.Result
		want string
	}{
		{"failed test: its own lines only", event.Result{Test: "TestA", Status: event.Fail, Output: []byte(seg)},
			"    a_test.go:3: setting up\n    a_test.go:5: got 1, want 2\n--- FAIL: TestA/sub (0.00s)\n--- FAIL: TestA (0.00s)\n"},
		{"crash: every line, framing dropped", event.Result{Test: "TestA", Status: event.Crash, Output: []byte(seg + "panic: boom\n")},
			"    a_test.go:3: setting up\n    c_test.go:9: parallel chatter\n    a_test.go:5: got 1, want 2\n--- FAIL: TestA/sub (0.00s)\n--- FAIL: TestA (0.00s)\npanic: boom\n"},
		{"example: got/want after its FAIL line", event.Result{Test: "ExampleX", Status: event.Fail,
			Output: []byte("\x16=== RUN   ExampleX\n\x16--- FAIL: ExampleX (0.00s)\ngot:\nfive\nwant:\n4\n\x16=== RUN   ExampleY\n")},
			"--- FAIL: ExampleX (0.00s)\ngot:\nfive\nwant:\n4\n"},
		{"unframed output unchanged", event.Result{Test: "t", Status: event.Fail, Output: []byte("=== RUN x\nplain\n")},
			"=== RUN x\nplain\n"},
	} {
		if got := string(testOutput(&c.r)); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

func TestSummaryQuarantinedApart(t *testing.T) {
	t0 := time.Unix(1000, 0)
	res := func(test string, st event.Status, q bool) *event.Event {
		r := &event.Result{Suite: "s", Test: test, Status: st, Quarantined: q, Attempt: 1, Start: t0}
		return &event.Event{Kind: event.TestEnd, Time: t0, Suite: "s", Test: test, Result: r}
	}
	out := replay(t, []*event.Event{
		{Kind: event.RunStart, Time: t0},
		res("bad", event.Fail, false),
		res("known", event.Fail, true),
		{Kind: event.RunEnd, Time: t0},
	}, TermOptions{})
	fails := out[strings.Index(out, "Failures:"):]
	q := strings.Index(fails, "Quarantined (failed, not failing the run):")
	if q < 0 || !strings.Contains(fails[:q], "s::bad") || strings.Contains(fails[:q], "s::known") || !strings.Contains(fails[q:], "s::known") {
		t.Errorf("summary lists the quarantined failure under Failures:\n%s", out)
	}
}

func TestEndProbeAndSmallRSS(t *testing.T) {
	probe := &event.Proc{ExitCode: 99, Args: []string{"suite", "--test-index=4"}}
	if !endProbe(probe) {
		t.Error("exit 99 on --test-index: not an end probe")
	}
	h := &htmlReport{counts: map[int]*procResults{}}
	probe.End = time.Unix(1, 0)
	if got := h.procStatus(probe); got != event.Pass {
		t.Errorf("end probe drawn as %s", got)
	}
	if endProbe(&event.Proc{ExitCode: 99, Args: []string{"suite", "--run-all"}}) {
		t.Error("exit 99 on --run-all taken for an end probe")
	}
	if rss(0) == "0B" || rss(2<<20) != "2.0MiB" {
		t.Errorf("rss(0) = %q, rss(2MiB) = %q", rss(0), rss(2<<20))
	}
}

func TestGoDumpHungGoroutineInView(t *testing.T) {
	dump := "SIGQUIT: quit\nPC=0x4 m=0 sigcode=0\n\n" +
		"goroutine 0 gp=0x1 m=0 mp=0x2 [idle]:\nruntime.futex(0x1)\n\t/go/src/runtime/sys.s:557 +0x21\n\n" +
		"goroutine 1 [chan receive]:\ntesting.(*T).Run(0xc)\n\t/go/src/testing/testing.go:1750 +0x3ab\nmain.main()\n\t_testmain.go:45 +0x9b\n\n" +
		"goroutine 7 [sleep]:\ntime.Sleep(0x1)\n\t/go/src/runtime/time.go:300 +0x10\nexample.com/p.TestHangs(0xc)\n\t/src/p/p_test.go:12 +0x1d\n\n" +
		"rax    0x0\nrbx    0x1\n"
	r := &event.Result{Test: "TestHangs", Status: event.Timeout, Output: []byte(dump)}
	got := string(testOutput(r))
	last := strings.LastIndex(got, "\ngoroutine ")
	if last < 0 || !strings.HasPrefix(got[last+1:], "goroutine 7 [sleep]:") {
		t.Errorf("the hung test's goroutine is not last, where the kept tail shows it:\n%s", got)
	}
	if !strings.HasPrefix(got, "SIGQUIT: quit\n") || len(got) < len(dump) || !strings.Contains(got, "rbx    0x1") {
		t.Errorf("dump lost lines:\n%s", got)
	}
	if r.Status = event.Fail; string(testOutput(r)) != dump {
		t.Error("a plain failure's output was reordered")
	}
}

func TestPlainStatusLineWhileQuiet(t *testing.T) {
	t0 := time.Unix(1000, 0)
	st := event.Stats{Start: t0, Expected: 10, Done: 3, Passed: 2, Failed: 1, Running: 2}
	tick := func(s int) *event.Event {
		return &event.Event{Kind: event.Tick, Time: t0.Add(time.Duration(s) * time.Second), Stats: st}
	}
	out := replay(t, []*event.Event{
		{Kind: event.RunStart, Time: t0, Stats: st}, tick(10), tick(31), tick(40), tick(62),
	}, TermOptions{})
	want := "volley: [======>             ] 3/10 tests: 2 passed, 1 failed, 0 skipped; 2 running  31.0s\n" +
		"volley: [======>             ] 3/10 tests: 2 passed, 1 failed, 0 skipped; 2 running  62.0s\n"
	if !strings.HasPrefix(out, want) {
		t.Errorf("plain run status lines:\n%s\nwant them to start with\n%s", out, want)
	}
}

func TestProgressLine(t *testing.T) {
	t0 := time.Unix(1000, 0)
	now := t0.Add(41200 * time.Millisecond)
	st := event.Stats{Start: t0, Expected: 40, Done: 10, Passed: 8, Failed: 1, Skipped: 1, Running: 2}
	for _, c := range []struct {
		name  string
		mod   func(*event.Stats)
		width int
		want  string
	}{
		{"bar", nil, 0, "[=====>              ] 10/40 tests: 8 passed, 1 failed, 1 skipped; 2 running  41.2s"},
		{"time left from history", func(s *event.Stats) { s.Left = 12300 * time.Millisecond }, 0,
			"[=====>              ] 10/40 tests: 8 passed, 1 failed, 1 skipped; 2 running  41.2s, ~13s left"},
		{"minutes left", func(s *event.Stats) { s.Left = 130 * time.Second }, 0,
			"[=====>              ] 10/40 tests: 8 passed, 1 failed, 1 skipped; 2 running  41.2s, ~2m10s left"},
		{"nothing running: no estimate", func(s *event.Stats) { s.Left, s.Running = time.Second, 0 }, 0,
			"[=====>              ] 10/40 tests: 8 passed, 1 failed, 1 skipped; 0 running  41.2s"},
		{"all done", func(s *event.Stats) { s.Done, s.Passed = 40, 38 }, 0,
			"[====================] 40/40 tests: 38 passed, 1 failed, 1 skipped; 2 running  41.2s"},
		{"narrow: no bar", nil, 80, "10/40 tests: 8 passed, 1 failed, 1 skipped; 2 running  41.2s"},
		{"tests unknown: suites", func(s *event.Stats) { s.Expected, s.Suites, s.SuitesDone = 0, 5, 2 }, 0,
			"[========>           ] 2/5 suites, 10 tests: 8 passed, 1 failed, 1 skipped; 2 running  41.2s"},
	} {
		s := st
		if c.mod != nil {
			c.mod(&s)
		}
		if got := progressLine(s, now, c.width); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}
