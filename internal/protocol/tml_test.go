package protocol

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
)

func TestParseTMLResult(t *testing.T) {
	tests := []struct {
		line   string
		want   TMLResult
		ok     bool
		errHas string
	}{
		{line: "TML_RESULT:0:PASS:0", want: TMLResult{0, event.Pass, 0}, ok: true},
		{line: "TML_RESULT:12:FAIL:1", want: TMLResult{12, event.Fail, 1}, ok: true},
		{line: "TML_RESULT:3:SKIP:77", want: TMLResult{3, event.Skip, 77}, ok: true},
		{line: "TML_RESULT:4:FAIL:-6", want: TMLResult{4, event.Fail, -6}, ok: true},
		{line: "TML_RESULT:5:PASS:0\r", want: TMLResult{5, event.Pass, 0}, ok: true},
		{line: "TML_RESULT:5:PASS:0  \t", want: TMLResult{5, event.Pass, 0}, ok: true},
		// Only at the start of a line: output before it makes it output.
		{line: "partial outputTML_RESULT:7:PASS:0", ok: false},
		{line: " TML_RESULT:7:PASS:0", ok: false},
		{line: "", ok: false},
		{line: "running test 3", ok: false},
		{line: "TML_RESULT", ok: false},
		{line: "tml_result:1:PASS:0", ok: false},
		{line: "TML_RESULT:", ok: true, errHas: "malformed"},
		{line: "TML_RESULT:1:PASS", ok: true, errHas: "malformed"},
		{line: "TML_RESULT:1:PASS:0:extra", ok: true, errHas: "malformed"},
		{line: "TML_RESULT:x:PASS:0", ok: true, errHas: "bad index"},
		{line: "TML_RESULT:-1:PASS:0", ok: true, errHas: "bad index"},
		{line: "TML_RESULT: 1:PASS:0", ok: true, errHas: "bad index"},
		{line: "TML_RESULT:1:pass:0", ok: true, errHas: "status"},
		{line: "TML_RESULT:1:OK:0", ok: true, errHas: "status"},
		{line: "TML_RESULT:1:PASS:zero", ok: true, errHas: "bad exit code"},
		{line: "TML_RESULT:1:PASS:", ok: true, errHas: "bad exit code"},
		{line: "TML_RESULT:99999999999999999999999:PASS:0", ok: true, errHas: "bad index"},
	}
	for _, tt := range tests {
		got, ok, err := ParseTMLResult([]byte(tt.line))
		if ok != tt.ok {
			t.Errorf("ParseTMLResult(%q): ok = %v, want %v", tt.line, ok, tt.ok)
			continue
		}
		if tt.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("ParseTMLResult(%q): err = %v, want one containing %q", tt.line, err, tt.errHas)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTMLResult(%q): unexpected error %v", tt.line, err)
			continue
		}
		if ok && got != tt.want {
			t.Errorf("ParseTMLResult(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestParseTMLResultClipsLongLines(t *testing.T) {
	line := "TML_RESULT:1:" + strings.Repeat("X", 10000) + ":0"
	_, ok, err := ParseTMLResult([]byte(line))
	if !ok || err == nil {
		t.Fatalf("ok=%v err=%v, want a malformed-line error", ok, err)
	}
	if len(err.Error()) > 400 {
		t.Errorf("error message is %d bytes; the line should be clipped", len(err.Error()))
	}
}

func FuzzParseTMLResult(f *testing.F) {
	for _, s := range []string{
		"TML_RESULT:0:PASS:0", "TML_RESULT:12:FAIL:1", "TML_RESULT:3:SKIP:77",
		"TML_RESULT:1:PASS", "TML_RESULT:x:PASS:0", "junk TML_RESULT:2:FAIL:-1\r",
		"running test 4", "", "TML_RESULT:::", "TML_RESULT:1:PASS:0:0", "\xff\xfeTML_RESULT:1:PASS:0",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, ok, err := ParseTMLResult(line)
		if !ok {
			if err != nil {
				t.Fatalf("not a result line, yet an error: %v", err)
			}
			if strings.HasPrefix(string(line), TMLResultPrefix) {
				t.Fatalf("line starts with %s but was not recognised", TMLResultPrefix)
			}
			return
		}
		if err != nil {
			if len(err.Error()) > 1000 { // 120 bytes clipped, each quoted as up to \xNN
				t.Fatalf("unbounded error message (%d bytes)", len(err.Error()))
			}
			return
		}
		if r.Index < 0 {
			t.Fatalf("negative index %d accepted", r.Index)
		}
		switch r.Status {
		case event.Pass, event.Fail, event.Skip:
		default:
			t.Fatalf("status %v accepted", r.Status)
		}
		if !strings.HasPrefix(string(line), TMLResultPrefix) {
			t.Fatalf("accepted a line that does not start with %s", TMLResultPrefix)
		}
		// Whatever the session does with it must not panic.
		for _, u := range (TML{}).Units(&Suite{Name: "s"}) {
			u.Session.Line(line)
			_ = u.Session.Running()
			_ = u.Session.Warnings()
			u.Session.Exit(Exit{Code: 1})
		}
	})
}

func tmlTestSuite() *Suite { return &Suite{Name: "suite", Path: "/bin/suite", Protocol: "tml"} }

// tmlRun feeds a --run-all session of s the lines and ends it with x.
func tmlRun(t *testing.T, s *Suite, x Exit, lines ...string) ([]Outcome, []*Unit, []string) {
	t.Helper()
	us := TML{}.Units(s)
	if len(us) != 1 || len(us[0].Args) != 1 || us[0].Args[0] != TMLRunAll {
		t.Fatalf("Units = %+v, want one --run-all unit", us)
	}
	var outs []Outcome
	for _, l := range lines {
		outs = append(outs, us[0].Session.Line([]byte(l))...)
	}
	more, follow := us[0].Session.Exit(x)
	return append(outs, more...), follow, us[0].Session.Warnings()
}

// followArgs describes follow-up units: "3" runs index 3 alone, "3?" is a
// probe (its verdict starts more).
func followArgs(us []*Unit) string {
	var f []string
	for _, u := range us {
		ts := u.Session.(*tmlSession)
		a := strconv.Itoa(ts.index)
		if ts.probe {
			a += "?"
		}
		if ts.tail {
			a += "+"
		}
		if u.Args[0] != TMLIndexFlag+strconv.Itoa(ts.index) || len(u.Tests) != 1 {
			a += "(bad unit " + u.Label + ")"
		}
		f = append(f, a)
	}
	return strings.Join(f, " ")
}

func outcomeStr(os []Outcome) string {
	var f []string
	for _, o := range os {
		f = append(f, o.Test+"="+o.Status.String())
	}
	return strings.Join(f, " ")
}

func TestTMLRunAllFailureModel(t *testing.T) {
	pass := func(i int) string { return "TML_RESULT:" + strconv.Itoa(i) + ":PASS:0" }
	tests := []struct {
		name    string
		known   int
		lines   []string
		exit    Exit
		want    string // outcomes
		follow  string
		reason  string // substring of the last outcome's reason
		warnHas string
	}{
		{name: "all pass", lines: []string{pass(0), pass(1)}, exit: Exit{Code: 0}, want: "0=PASS 1=PASS"},
		// The common case: file 0 fails, exit 1, no line at all.
		{name: "first fails", exit: Exit{Code: 1}, want: "0=FAIL", follow: "1?", reason: "exited 1"},
		{name: "first fails, count known", known: 3, exit: Exit{Code: 1}, want: "0=FAIL", follow: "1 2+"},
		{name: "middle fails", lines: []string{pass(0), pass(1)}, exit: Exit{Code: 1}, want: "0=PASS 1=PASS 2=FAIL", follow: "3?"},
		{name: "crash", lines: []string{pass(0)}, exit: Exit{Code: -1, Signal: "SIGSEGV"}, want: "0=PASS 1=CRASH", follow: "2?", reason: "SIGSEGV"},
		{name: "hang", exit: Exit{Code: -1, Signal: "SIGKILL", TimedOut: true, Timeout: time.Second}, want: "0=TIMEOUT", follow: "1?", reason: "timed out after 1s"},
		{name: "exit(3) from a test", lines: []string{pass(0)}, exit: Exit{Code: 3}, want: "0=PASS 1=FAIL", follow: "2?", reason: "exited with code 3"},
		// A user main returned 2: its line says FAIL, the suite goes on and
		// exits 1 at its end, or a later file exited 1: only running the next
		// index alone tells.
		{name: "returned FAIL then exit 1", lines: []string{pass(0), "TML_RESULT:1:FAIL:2"}, exit: Exit{Code: 1}, want: "0=PASS 1=FAIL", follow: "2?"},
		{name: "returned FAIL, count known, finished", known: 2, lines: []string{pass(0), "TML_RESULT:1:FAIL:2"}, exit: Exit{Code: 1},
			want: "0=PASS 1=FAIL", follow: "2?"},
		{name: "returned FAIL, count known, then a fail", known: 4, lines: []string{"TML_RESULT:0:FAIL:2"}, exit: Exit{Code: 1},
			want: "0=FAIL 1=FAIL", follow: "2 3+"},
		{name: "exit 1 with every line PASS, count known", known: 1, lines: []string{pass(0)}, exit: Exit{Code: 1},
			want: "0=PASS", follow: "1?", warnHas: "all 1 tests reported PASS"},
		{name: "exit 0 short of the known count", known: 3, lines: []string{pass(0)}, exit: Exit{Code: 0},
			want: "0=PASS", follow: "1 2+", warnHas: "holds 3 tests"},
		{name: "exit 0 after FAIL", lines: []string{"TML_RESULT:0:FAIL:1"}, exit: Exit{Code: 0}, want: "0=FAIL", warnHas: "exited 0 although"},
		{name: "no line, exit 0", exit: Exit{Code: 0}, want: "=ERROR", reason: "is it a tml suite?"},
		{name: "exit 98", exit: Exit{Code: 98}, want: "=ERROR", reason: "does not speak the tml protocol"},
		{name: "exit 99", exit: Exit{Code: 99}, want: "=ERROR", reason: "protocol error"},
		{name: "start error", exit: Exit{Code: -1, Err: errors.New("cannot run /bin/suite: no such file")}, want: "=ERROR", reason: "no such file"},
		// Result lines only count at the start of a line.
		{name: "glued line", lines: []string{pass(0), "no newlineTML_RESULT:1:PASS:0"}, exit: Exit{Code: 0},
			want: "0=PASS", follow: "1?", warnHas: "same line"},
		{name: "a gap", lines: []string{pass(0), pass(2)}, exit: Exit{Code: 0}, want: "0=PASS 2=PASS", follow: "1"},
		{name: "index the suite cannot hold", known: 2, lines: []string{pass(0), pass(7)}, exit: Exit{Code: 1},
			want: "0=PASS 1=FAIL", follow: "2?", warnHas: "cannot hold"},
		{name: "wild index, count unknown", lines: []string{pass(0), "TML_RESULT:999999:PASS:0"}, exit: Exit{Code: 0},
			want: "0=PASS", warnHas: "cannot hold"},
		{name: "duplicate", lines: []string{pass(0), pass(0)}, exit: Exit{Code: 0}, want: "0=PASS", warnHas: "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tmlTestSuite()
			s.KnownCount = tt.known
			outs, follow, warns := tmlRun(t, s, tt.exit, tt.lines...)
			if got := outcomeStr(outs); got != tt.want {
				t.Errorf("outcomes %q, want %q (%+v)", got, tt.want, outs)
			}
			if got := followArgs(follow); got != tt.follow {
				t.Errorf("follow-ups %q, want %q", got, tt.follow)
			}
			if tt.reason != "" && (len(outs) == 0 || !strings.Contains(outs[len(outs)-1].Reason, tt.reason)) {
				t.Errorf("reason of %+v lacks %q", outs, tt.reason)
			}
			w := strings.Join(warns, "\n")
			if tt.warnHas != "" && !strings.Contains(w, tt.warnHas) || tt.warnHas == "" && w != "" {
				t.Errorf("warnings %q, want %q", w, tt.warnHas)
			}
		})
	}
}

func TestTMLIndexVerdicts(t *testing.T) {
	tests := []struct {
		exit   Exit
		lines  []string
		want   string
		reason string
	}{
		{exit: Exit{Code: 0}, want: "4=PASS"},
		{exit: Exit{Code: 1}, want: "4=FAIL", reason: "exited 1"},
		{exit: Exit{Code: 77}, want: "4=FAIL", reason: "exited with code 77"}, // no SKIP in tml
		{exit: Exit{Code: 3}, want: "4=FAIL", reason: "exited with code 3"},
		{exit: Exit{Code: -1, Signal: "SIGABRT"}, want: "4=CRASH", reason: "SIGABRT"},
		{exit: Exit{Code: -1, TimedOut: true, Timeout: time.Second}, want: "4=TIMEOUT"},
		{exit: Exit{Code: 98}, want: "4=ERROR", reason: "does not understand --test-index"},
		{exit: Exit{Code: 99}, want: ""},
		// A producer that prints its line under --test-index too.
		{exit: Exit{Code: 0}, lines: []string{"TML_RESULT:4:PASS:0"}, want: "4=PASS"},
	}
	for _, tt := range tests {
		u := TMLIndexUnit(tmlTestSuite(), 4)
		if u.Args[0] != "--test-index=4" || u.Label != "suite --test-index=4" || u.Session.Running() != "4" {
			t.Fatalf("TMLIndexUnit = %+v", u)
		}
		var outs []Outcome
		for _, l := range tt.lines {
			outs = append(outs, u.Session.Line([]byte(l))...)
		}
		more, follow := u.Session.Exit(tt.exit)
		outs = append(outs, more...)
		if got := outcomeStr(outs); got != tt.want {
			t.Errorf("exit %+v: outcomes %q, want %q", tt.exit, got, tt.want)
		}
		if tt.reason != "" && (len(outs) == 0 || !strings.Contains(outs[0].Reason, tt.reason)) {
			t.Errorf("exit %+v: reason %+v lacks %q", tt.exit, outs, tt.reason)
		}
		if len(follow) != 0 {
			t.Errorf("exit %+v: a lone index started %q", tt.exit, followArgs(follow))
		}
	}
}

// simulate runs a suite of n tests (verdict(i) for each) through the
// session machinery the way the dispatcher would, up to slots processes at
// once, and returns each index's verdict, the processes started, and the
// most in flight.
func simulate(t *testing.T, s *Suite, n int, runAll Exit, lines []string, verdict func(i int) Exit) (map[string]string, int, int) {
	t.Helper()
	got := map[string]string{}
	outs, queue, _ := tmlRun(t, s, runAll, lines...)
	procs, peak := 1, 0
	record := func(os []Outcome) {
		for _, o := range os {
			if _, dup := got[o.Test]; dup {
				t.Errorf("test %s reported twice", o.Test)
			}
			got[o.Test] = o.Status.String()
		}
	}
	record(outs)
	for len(queue) > 0 {
		if procs > 10*n+100 {
			t.Fatalf("still running after %d processes", procs)
		}
		peak = max(peak, len(queue))
		u := queue[0]
		queue = queue[1:]
		procs++
		i := u.Session.(*tmlSession).index
		x := Exit{Code: 99}
		if i < n {
			x = verdict(i)
		}
		more, follow := u.Session.Exit(x)
		record(more)
		queue = append(queue, follow...)
	}
	return got, procs, peak
}

func TestTMLProbesWidenAndStopAtTheEnd(t *testing.T) {
	// 48 files, file 1 crashes under --run-all; count unknown.
	n := 48
	got, procs, peak := simulate(t, tmlTestSuite(), n, Exit{Code: -1, Signal: "SIGSEGV"}, []string{"TML_RESULT:0:PASS:0"},
		func(i int) Exit { return Exit{Code: 0} })
	if len(got) != n {
		t.Errorf("%d verdicts, want %d: %v", len(got), n, got)
	}
	if got["1"] != "CRASH" || got["47"] != "PASS" {
		t.Errorf("verdicts %v", got)
	}
	if peak < tmlWindow/2 {
		t.Errorf("at most %d probes queued at once: the rest of the suite does not run in parallel", peak)
	}
	if waste := procs - n; waste > tmlWindow+1 {
		t.Errorf("%d processes for %d tests: %d past the end", procs, n, waste)
	}
	// Known count: everything at once, one probe past it.
	s := tmlTestSuite()
	s.TestNames = make([]string, n)
	for i := range s.TestNames {
		s.TestNames[i] = "lib/t/f" + strconv.Itoa(i) + ".test.tml"
	}
	got, procs, _ = simulate(t, s, n, Exit{Code: 1}, nil, func(i int) Exit { return Exit{Code: i % 2} })
	if len(got) != n || got["lib/t/f0.test.tml"] != "FAIL" || got["lib/t/f2.test.tml"] != "PASS" || got["lib/t/f3.test.tml"] != "FAIL" {
		t.Errorf("verdicts by name %v", got)
	}
	if procs != n+1 {
		t.Errorf("%d processes for %d known tests, want %d", procs, n, n+1)
	}
}

// A program that fails whatever index it is given never answers 99: the
// probing must still end, with a warning.
func TestTMLProbingEnds(t *testing.T) {
	for _, x := range []Exit{{Code: 1}, {Code: 3}, {Code: -1, Signal: "SIGSEGV"}, {Code: -1, TimedOut: true, Timeout: time.Second}} {
		got, procs, _ := simulate(t, tmlTestSuite(), 1<<30, x, nil, func(int) Exit { return x })
		if procs > 4*tmlMaxFailRun+tmlWindow {
			t.Errorf("exit %+v: %d processes (%d verdicts) before giving up", x, procs, len(got))
		}
	}
}

func TestTMLNamesAndIndices(t *testing.T) {
	s := tmlTestSuite()
	s.TestNames = []string{"lib/a.test.tml", "lib/b.test.tml"}
	if i, ok := TMLTestIndex(s, "lib/b.test.tml"); !ok || i != 1 {
		t.Errorf("TMLTestIndex(b) = %d %v", i, ok)
	}
	if i, ok := TMLTestIndex(s, "5"); !ok || i != 5 {
		t.Errorf("TMLTestIndex(5) = %d %v", i, ok)
	}
	if _, ok := TMLTestIndex(s, "x"); ok {
		t.Error("TMLTestIndex(x) found an index")
	}
	u := RetryUnit(s, "lib/b.test.tml")
	if u == nil || u.Args[0] != "--test-index=1" || u.Tests[0] != "lib/b.test.tml" {
		t.Fatalf("RetryUnit = %+v", u)
	}
	if _, follow := u.Session.Exit(Exit{Code: 0}); len(follow) != 0 {
		t.Errorf("a retry started more: %s", followArgs(follow))
	}
	us := TML{}.Units(s)
	if strings.Join(us[0].Tests, ",") != "lib/a.test.tml,lib/b.test.tml" {
		t.Errorf("run-all unit tests %q", us[0].Tests)
	}
	s.SplitTML = true
	if got := followArgs(TML{}.Units(s)); got != "0 1+" {
		t.Errorf("split suite units %q, want one per index", got)
	}
}

func TestTMLExplain(t *testing.T) {
	tests := []struct{ out, want string }{
		{"some output\n12:01:02.345 FATAL [runtime] assertion failed at lib/x.test.tml:7: expected 3\n", "assertion failed at lib/x.test.tml:7: expected 3"},
		{"12:01:02.345 FATAL [runtime] panic: boom\n12:01:02.346 ERROR [runtime] Backtrace:\n  #0 f\n", "panic: boom"},
		{"test did not panic as expected\n", "test did not panic as expected"},
		{"just noise\nmore noise\n", ""},
	}
	for _, tt := range tests {
		if got := (TML{}).Explain([]byte(tt.out)); got != tt.want {
			t.Errorf("Explain(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
}

func TestTMLRegistered(t *testing.T) {
	for _, name := range []string{"tml", "exec"} {
		p, err := Lookup(name)
		if err != nil || p.Name() != name {
			t.Errorf("Lookup(%q) = %v, %v", name, p, err)
		}
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "known:") {
		t.Errorf("Lookup(nope) error = %v, want one listing the known protocols", err)
	}
}
