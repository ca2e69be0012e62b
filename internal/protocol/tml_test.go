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
		// A prefix on the line (a test printed without a newline) is tolerated.
		{line: "partial outputTML_RESULT:7:PASS:0", want: TMLResult{7, event.Pass, 0}, ok: true},
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
			if strings.Contains(string(line), TMLResultPrefix) {
				t.Fatalf("line contains %s but was not recognised", TMLResultPrefix)
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
		if !strings.Contains(string(line), TMLResultPrefix) {
			t.Fatalf("accepted a line without %s", TMLResultPrefix)
		}
		// Whatever the session does with it must not panic.
		s := &tmlSession{suite: &Suite{Name: "s"}, index: -1, last: -1}
		s.Line(line)
		_ = s.Running()
		_ = s.Warnings()
	})
}

func tmlTestSuite() *Suite { return &Suite{Name: "suite", Path: "/bin/suite", Protocol: "tml"} }

// tmlRunAllSession returns the --run-all session of a fresh suite, fed lines.
func tmlRunAllSession(t *testing.T, lines ...string) (*Suite, Session) {
	t.Helper()
	s := tmlTestSuite()
	us := TML{}.Units(s)
	if len(us) != 1 || len(us[0].Args) != 1 || us[0].Args[0] != TMLRunAll {
		t.Fatalf("Units = %+v, want one --run-all unit", us)
	}
	for _, l := range lines {
		us[0].Session.Line([]byte(l))
	}
	return s, us[0].Session
}

func checkTMLFollowUp(t *testing.T, follow []*Unit, wantIndex int) {
	t.Helper()
	if wantIndex < 0 {
		if len(follow) != 0 {
			t.Errorf("follow-up %v, want none", unitLabels(follow))
		}
		return
	}
	if len(follow) != 1 {
		t.Fatalf("follow-up %v, want --test-index=%d", unitLabels(follow), wantIndex)
	}
	u := follow[0]
	want := TMLIndexFlag + tmlItoa(wantIndex)
	if len(u.Args) != 1 || u.Args[0] != want || !u.FollowUp {
		t.Errorf("follow-up args %v FollowUp=%v, want [%s] true", u.Args, u.FollowUp, want)
	}
	if len(u.Tests) != 1 || u.Tests[0] != tmlItoa(wantIndex) {
		t.Errorf("follow-up tests %v, want [%d]", u.Tests, wantIndex)
	}
}

func unitLabels(us []*Unit) []string {
	var l []string
	for _, u := range us {
		l = append(l, u.Label)
	}
	return l
}

func tmlItoa(i int) string { return strconv.Itoa(i) }

func TestTMLLineOutcomes(t *testing.T) {
	_, s := tmlRunAllSession(t)
	if got := s.Running(); got != "0" {
		t.Errorf("Running before any result = %q, want 0", got)
	}
	outs := s.Line([]byte("TML_RESULT:0:PASS:0"))
	if len(outs) != 1 || outs[0].Test != "0" || outs[0].Status != event.Pass {
		t.Fatalf("outcomes %+v", outs)
	}
	if got := s.Running(); got != "1" {
		t.Errorf("Running = %q, want 1", got)
	}
	outs = s.Line([]byte("TML_RESULT:1:FAIL:1"))
	if len(outs) != 1 || outs[0].Status != event.Fail || !strings.Contains(outs[0].Reason, "FAIL") {
		t.Fatalf("outcomes %+v", outs)
	}
	if outs := s.Line([]byte("TML_RESULT:1:PASS:0")); len(outs) != 0 {
		t.Errorf("a second result for test 1 was taken: %+v", outs)
	}
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0], "twice") {
		t.Errorf("warnings %q, want one about test 1 reported twice", w)
	}
	if outs := s.Line([]byte("TML_RESULT:2:MAYBE:0")); len(outs) != 0 {
		t.Errorf("a malformed line gave outcomes %+v", outs)
	}
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0], "malformed") {
		t.Errorf("warnings %q, want one malformed", w)
	}
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("Warnings did not forget: %q", w)
	}
	if outs := s.Line([]byte("just output")); outs != nil {
		t.Errorf("plain output gave outcomes %+v", outs)
	}
}

func TestTMLExitRunAll(t *testing.T) {
	errStart := errors.New("cannot run /bin/suite: no such file")
	tests := []struct {
		name       string
		lines      []string
		exit       Exit
		want       []Outcome // Reason checked by substring
		follow     int       // --test-index of the follow-up; -1 none
		warnHas    string
		reasonHave []string
	}{
		{name: "start error", exit: Exit{Code: -1, Err: errStart},
			want: []Outcome{{Status: event.Error, ExitCode: -1}}, follow: -1, reasonHave: []string{"no such file"}},
		{name: "exit 98", exit: Exit{Code: 98},
			want: []Outcome{{Status: event.Error, ExitCode: 98}}, follow: -1, reasonHave: []string{"98", "--protocol exec"}},
		{name: "exit 99", exit: Exit{Code: 99},
			want: []Outcome{{Status: event.Error, ExitCode: 99}}, follow: -1, reasonHave: []string{"99", "protocol error"}},
		{name: "all passed", lines: []string{"TML_RESULT:0:PASS:0", "TML_RESULT:1:PASS:0"}, exit: Exit{Code: 0}, follow: -1},
		{name: "some failed", lines: []string{"TML_RESULT:0:FAIL:1"}, exit: Exit{Code: 1}, follow: -1},
		{name: "exit 0 after FAIL", lines: []string{"TML_RESULT:0:FAIL:1"}, exit: Exit{Code: 0}, follow: -1, warnHas: "exited 0 although"},
		{name: "exit 1 without FAIL", lines: []string{"TML_RESULT:0:PASS:0"}, exit: Exit{Code: 1},
			want: []Outcome{{Status: event.Fail, ExitCode: 1}}, follow: -1, reasonHave: []string{"every reported test passed", "1 reported"}},
		{name: "crash first", exit: Exit{Code: -1, Signal: "SIGSEGV"},
			want: []Outcome{{Test: "0", Status: event.Crash, ExitCode: -1}}, follow: 1, reasonHave: []string{"SIGSEGV"}},
		{name: "crash mid", lines: []string{"TML_RESULT:0:PASS:0", "TML_RESULT:1:PASS:0"}, exit: Exit{Code: -1, Signal: "SIGABRT"},
			want: []Outcome{{Test: "2", Status: event.Crash, ExitCode: -1}}, follow: 3, reasonHave: []string{"SIGABRT", "last reported: test 1"}},
		{name: "timeout", lines: []string{"TML_RESULT:0:PASS:0"}, exit: Exit{Code: -1, Signal: "SIGTERM", TimedOut: true, Timeout: time.Second},
			want: []Outcome{{Test: "1", Status: event.Timeout, ExitCode: -1}}, follow: 2, reasonHave: []string{"timed out after 1s"}},
		{name: "timeout exiting 0", exit: Exit{Code: 0, TimedOut: true, Timeout: time.Second},
			want: []Outcome{{Test: "0", Status: event.Timeout}}, follow: 1},
		{name: "timeout exiting 98", exit: Exit{Code: 98, TimedOut: true, Timeout: time.Second},
			want: []Outcome{{Test: "0", Status: event.Timeout, ExitCode: 98}}, follow: 1},
		{name: "odd exit code", lines: []string{"TML_RESULT:0:PASS:0"}, exit: Exit{Code: 3},
			want: []Outcome{{Test: "1", Status: event.Crash, ExitCode: 3}}, follow: 2, reasonHave: []string{"exited with code 3"}},
		{name: "out of order results", lines: []string{"TML_RESULT:2:PASS:0", "TML_RESULT:0:PASS:0"}, exit: Exit{Code: -1, Signal: "SIGKILL"},
			want: []Outcome{{Test: "3", Status: event.Crash, ExitCode: -1}}, follow: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s := tmlRunAllSession(t, tt.lines...)
			s.Warnings()
			outs, follow := s.Exit(tt.exit)
			checkTMLOutcomes(t, outs, tt.want, tt.reasonHave)
			checkTMLFollowUp(t, follow, tt.follow)
			w := strings.Join(s.Warnings(), "\n")
			if tt.warnHas != "" && !strings.Contains(w, tt.warnHas) {
				t.Errorf("warnings %q, want one containing %q", w, tt.warnHas)
			}
			if tt.warnHas == "" && w != "" {
				t.Errorf("unexpected warnings %q", w)
			}
		})
	}
}

func checkTMLOutcomes(t *testing.T, got, want []Outcome, reasonHave []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("outcomes %+v, want %d", got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Test != w.Test || g.Status != w.Status || g.ExitCode != w.ExitCode {
			t.Errorf("outcome %d = {Test:%q Status:%v ExitCode:%d}, want {Test:%q Status:%v ExitCode:%d}",
				i, g.Test, g.Status, g.ExitCode, w.Test, w.Status, w.ExitCode)
		}
		for _, r := range reasonHave {
			if !strings.Contains(g.Reason, r) {
				t.Errorf("outcome %d reason %q lacks %q", i, g.Reason, r)
			}
		}
	}
}

func TestTMLExitIndex(t *testing.T) {
	errStart := errors.New("cannot run: permission denied")
	tests := []struct {
		name       string
		lines      []string
		exit       Exit
		want       []Outcome
		follow     int
		warnHas    string
		reasonHave []string
	}{
		{name: "reported pass", lines: []string{"TML_RESULT:4:PASS:0"}, exit: Exit{Code: 0}, follow: 5},
		{name: "reported fail", lines: []string{"TML_RESULT:4:FAIL:1"}, exit: Exit{Code: 1}, follow: 5},
		{name: "reported then crashed", lines: []string{"TML_RESULT:4:PASS:0"}, exit: Exit{Code: -1, Signal: "SIGSEGV"},
			follow: 5, warnHas: "reported its result, then the process ended: killed by SIGSEGV"},
		{name: "reported then timed out", lines: []string{"TML_RESULT:4:PASS:0"}, exit: Exit{Code: -1, TimedOut: true, Timeout: time.Second},
			follow: 5, warnHas: "timed out"},
		{name: "reported then exit 3", lines: []string{"TML_RESULT:4:PASS:0"}, exit: Exit{Code: 3}, follow: 5, warnHas: "exit code 3"},
		{name: "result for another index", lines: []string{"TML_RESULT:5:PASS:0"}, exit: Exit{Code: 0},
			want: []Outcome{{Test: "4", Status: event.Pass}}, follow: 5, warnHas: "asked for test 4, got a result for test 5"},
		{name: "start error", exit: Exit{Code: -1, Err: errStart},
			want: []Outcome{{Status: event.Error, ExitCode: -1}}, follow: -1, reasonHave: []string{"permission denied"}},
		{name: "timeout", exit: Exit{Code: -1, Signal: "SIGKILL", TimedOut: true, Timeout: 2 * time.Second},
			want: []Outcome{{Test: "4", Status: event.Timeout, ExitCode: -1}}, follow: 5, reasonHave: []string{"timed out after 2s"}},
		{name: "crash", exit: Exit{Code: -1, Signal: "SIGSEGV"},
			want: []Outcome{{Test: "4", Status: event.Crash, ExitCode: -1}}, follow: 5, reasonHave: []string{"SIGSEGV"}},
		{name: "past the end", exit: Exit{Code: 99}, follow: -1},
		{name: "no argument", exit: Exit{Code: 98},
			want: []Outcome{{Status: event.Error, ExitCode: 98}}, follow: -1, reasonHave: []string{"--test-index=4", "does not understand"}},
		{name: "exit 0 unreported", exit: Exit{Code: 0}, want: []Outcome{{Test: "4", Status: event.Pass}}, follow: 5},
		{name: "exit 1 unreported", exit: Exit{Code: 1}, want: []Outcome{{Test: "4", Status: event.Fail, ExitCode: 1}}, follow: 5},
		{name: "exit 77", exit: Exit{Code: 77}, want: []Outcome{{Test: "4", Status: event.Skip, ExitCode: 77}}, follow: 5},
		{name: "exit 3", exit: Exit{Code: 3}, want: []Outcome{{Test: "4", Status: event.Crash, ExitCode: 3}}, follow: 5,
			reasonHave: []string{"exited with code 3 without reporting"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := TMLIndexUnit(tmlTestSuite(), 4)
			if u.Args[0] != "--test-index=4" || u.Label != "suite --test-index=4" || !u.FollowUp {
				t.Fatalf("TMLIndexUnit = %+v", u)
			}
			if got := u.Session.Running(); got != "4" {
				t.Errorf("Running = %q, want 4", got)
			}
			for _, l := range tt.lines {
				u.Session.Line([]byte(l))
			}
			outs, follow := u.Session.Exit(tt.exit)
			checkTMLOutcomes(t, outs, tt.want, tt.reasonHave)
			checkTMLFollowUp(t, follow, tt.follow)
			w := strings.Join(u.Session.Warnings(), "\n")
			if tt.warnHas != "" && !strings.Contains(w, tt.warnHas) {
				t.Errorf("warnings %q, want one containing %q", w, tt.warnHas)
			}
			if tt.warnHas == "" && w != "" {
				t.Errorf("unexpected warnings %q", w)
			}
		})
	}
}

// A suite that dies the same way whatever index it is given (a crash in a
// static initializer, a program that is not a tml suite at all) never
// answers 99. The chain of --test-index follow-ups must still end.
func TestTMLFollowUpChainTerminates(t *testing.T) {
	for _, x := range []Exit{
		{Code: 3},
		{Code: -1, Signal: "SIGSEGV"},
		{Code: -1, Signal: "SIGKILL", TimedOut: true, Timeout: time.Second},
	} {
		_, s := tmlRunAllSession(t)
		outs, follow := s.Exit(x)
		n := len(outs)
		for steps := 0; len(follow) > 0; steps++ {
			if steps > 1000 {
				t.Errorf("exit %+v: still following up after %d --test-index runs (%d outcomes so far): "+
					"a suite that never answers 99 makes volley run forever", x, steps, n)
				break
			}
			u := follow[0]
			outs, follow = u.Session.Exit(x)
			n += len(outs)
		}
	}
}

// A --run-all that exits 0 without a single TML_RESULT line (an exec
// program run as tml, or a suite whose output is lost) must not vanish from
// the run: it should at least be reported, or warned about.
func TestTMLRunAllExitZeroWithoutResults(t *testing.T) {
	_, s := tmlRunAllSession(t, "hello from a program that is not a tml suite")
	outs, follow := s.Exit(Exit{Code: 0})
	w := s.Warnings()
	if len(outs) == 0 && len(w) == 0 {
		t.Errorf("--run-all exited 0 with no TML_RESULT line: no outcome, no warning, follow-up %v; "+
			"the suite disappears from the run (`0 passed, 0 failed` and exit 0)", unitLabels(follow))
	}
}

func TestTMLRunningInIndexMode(t *testing.T) {
	u := TMLIndexUnit(tmlTestSuite(), 2)
	u.Session.Line([]byte("TML_RESULT:2:PASS:0"))
	if got := u.Session.Running(); got != "" {
		t.Errorf("Running after the result = %q, want \"\"", got)
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
