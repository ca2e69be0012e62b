package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// nasty is output no text format can take as is: invalid UTF-8, NUL and
// other control characters, ANSI colors, markup and CDATA/script endings.
const nasty = "start \x1b[31mred\x1b[0m\x00nul\x01\x07bell\x7f\r\n" +
	"bad utf8: \xff\xfe \xc3 end\n" +
	"markup: <b>&amp;</b> ]]> </system-out> </script><script>alert(1)</script>\n" +
	"U+FFFE: \xef\xbf\xbe, percent %0A, comma, colon: and\rCR\n" +
	"Segmentation fault (core dumped)"

// procEndMore ends a process that is not its suite's last: unlike
// stream.procEnd, the suite is not counted done (the dispatcher counts a
// suite done when its last process, follow-ups included, ends).
func procEndMore(s *stream, id, exit int, signal string, timedOut bool) {
	s.procEnd(id, exit, signal, timedOut)
	s.st.SuitesDone--
	s.events[len(s.events)-1].Stats.SuitesDone--
}

// flakyRun is a run with reruns: gamma::1 fails both attempts, gamma::2
// times out and then passes; a crash with nasty output, a cached result
// early, a suite with a path for a name and a test name with a slash, and
// warnings with and without a suite.
func flakyRun() []*event.Event {
	s := newStream(4, 9)
	s.at(10).procStart(1, "alpha", "alpha --run-all", "--run-all")
	s.at(12).procStart(2, "beta", "beta")
	s.at(14).procStart(3, "gamma", "gamma --run-all", "--run-all")
	s.at(15).testStart("alpha", "1")
	s.at(16).testStart("beta", "")
	s.at(17).testStart("gamma", "1")
	s.at(20).testEnd(0, event.Result{Suite: "gamma", Test: "3", Status: event.Pass, Cached: true})
	s.at(220).testEnd(1, event.Result{Suite: "alpha", Test: "1", Status: event.Pass, Output: []byte("\x1b[32mok\x1b[0m\n")})
	s.at(221).testStart("alpha", "2")
	s.at(300).testEnd(3, event.Result{Suite: "gamma", Test: "1", Status: event.Fail, ExitCode: 1, Slot: 2,
		Reason: "test reported FAIL (exit code 1)", Output: append(lines(5), "assertion failed: want 3, got 4\n"...)})
	s.at(301).testStart("gamma", "2")
	s.at(310).warn("no cache directory; results will not be cached")
	s.at(350).testEnd(1, event.Result{Suite: "alpha", Test: "2", Status: event.Skip, Reason: "needs network"})
	s.at(351).testStart("alpha", "3")
	s.at(450).testEnd(2, event.Result{Suite: "beta", Status: event.Crash, ExitCode: -1, Signal: "SIGSEGV", Slot: 1,
		Reason: "killed by SIGSEGV", Output: []byte(nasty), CPU: 330 * time.Millisecond, MaxRSS: 6 << 20})
	s.at(451).procEnd(2, -1, "SIGSEGV", false)
	s.at(700).testEnd(1, event.Result{Suite: "alpha", Test: "3", Status: event.Pass})
	s.at(701).procEnd(1, 0, "", false)
	s.at(702).procStart(5, "delta/sub", "delta/sub")
	s.at(703).testStart("delta/sub", "case/0")
	s.at(900).testEnd(5, event.Result{Suite: "delta/sub", Test: "case/0", Status: event.Pass})
	s.at(901).procEnd(5, 0, "", false)
	s.at(1301).testEnd(3, event.Result{Suite: "gamma", Test: "2", Status: event.Timeout, ExitCode: -1, Slot: 2,
		Signal: "SIGKILL", Reason: "timed out after 1s", Output: []byte("waiting for lock\n")})
	s.emit(&event.Event{Kind: event.Warn, Suite: "gamma", Message: "gamma --run-all left process 4242 (sleep 60) running after it exited; killed it"})
	procEndMore(s.at(1310), 3, -1, "SIGKILL", true)
	s.at(1320).procStart(4, "gamma", "gamma --test-index=1 --test-index=2", "--test-index=1", "--test-index=2")
	s.at(1321).testStart("gamma", "1")
	s.at(1400).testEnd(4, event.Result{Suite: "gamma", Test: "1", Status: event.Fail, ExitCode: 1, Attempt: 2, Slot: 3,
		Reason: "test reported FAIL (exit code 1)", Output: []byte("assertion failed: want 3, got 5\n")})
	s.at(1401).testStart("gamma", "2")
	s.at(1500).testEnd(4, event.Result{Suite: "gamma", Test: "2", Status: event.Pass, Attempt: 2, Slot: 3})
	s.at(1501).procEnd(4, 1, "", false)
	return s.at(1600).end(0, false)
}

// streams are the recorded runs every file format is golden-tested on.
var streams = []struct {
	name   string
	events func() []*event.Event
}{
	{"mixed", mixedRun},
	{"flaky", flakyRun},
}

// feed replays events into r, closes it and returns what it wrote.
func feed(t *testing.T, r Reporter, buf *bytes.Buffer, events []*event.Event) string {
	t.Helper()
	for _, e := range events {
		r.Event(e)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.String()
}

// checkGolden compares got with testdata/name.golden, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\n%s", path, got)
	}
}

func junitOf(t *testing.T, events []*event.Event) string {
	var buf bytes.Buffer
	return feed(t, NewJUnit(&buf), &buf, events)
}

func TestJUnitGolden(t *testing.T) {
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) { checkGolden(t, "junit-"+s.name, junitOf(t, s.events())) })
	}
}

// parsed JUnit, as a consumer reads it.
type (
	xCounts struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Skipped  int `xml:"skipped,attr"`
	}
	xSuites struct {
		xCounts
		Suites []xSuite `xml:"testsuite"`
	}
	xSuite struct {
		xCounts
		Name  string  `xml:"name,attr"`
		Cases []xCase `xml:"testcase"`
	}
	xCase struct {
		Classname string     `xml:"classname,attr"`
		Name      string     `xml:"name,attr"`
		Failure   *xProblem  `xml:"failure"`
		Error     *xProblem  `xml:"error"`
		Skipped   *xProblem  `xml:"skipped"`
		Reruns    []xProblem `xml:",any"`
		SystemOut string     `xml:"system-out"`
	}
	xProblem struct {
		XMLName   xml.Name
		Message   string `xml:"message,attr"`
		Type      string `xml:"type,attr"`
		Body      string `xml:",chardata"`
		SystemOut string `xml:"system-out"`
	}
)

// parseJUnit checks doc is well-formed XML a strict decoder accepts, and
// decodes it.
func parseJUnit(t *testing.T, doc string) xSuites {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
	}
	var x xSuites
	if err := xml.Unmarshal([]byte(doc), &x); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return x
}

// TestJUnitParsesBack checks that every result of a run is in the document:
// as a testcase, or as a flaky or rerun child of one, and that the counts
// add up.
func TestJUnitParsesBack(t *testing.T) {
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) {
			events := s.events()
			x := parseJUnit(t, junitOf(t, events))
			cases := map[string]xCase{}
			var tests, failures, errors, skipped int
			for _, su := range x.Suites {
				if len(su.Cases) != su.Tests {
					t.Errorf("suite %s: tests=%d but %d testcases", su.Name, su.Tests, len(su.Cases))
				}
				for _, c := range su.Cases {
					cases[c.Classname+"\x00"+c.Name] = c
					switch {
					case c.Failure != nil:
						failures++
					case c.Error != nil:
						errors++
					case c.Skipped != nil:
						skipped++
					}
				}
				tests += su.Tests
			}
			if x.Tests != tests || x.Failures != failures || x.Errors != errors || x.Skipped != skipped {
				t.Errorf("totals %d/%d/%d/%d, counted %d/%d/%d/%d", x.Tests, x.Failures, x.Errors, x.Skipped,
					tests, failures, errors, skipped)
			}
			seen := map[string]int{} // attempts per case
			for _, e := range events {
				r := e.Result
				if e.Kind != event.TestEnd {
					continue
				}
				name := r.Test
				if name == "" {
					name = r.Suite
				}
				key := r.Suite + "\x00" + name
				c, ok := cases[key]
				if !ok {
					t.Errorf("result %s missing from the document", r.ID())
					continue
				}
				seen[key]++
				switch {
				case r.Status == event.Skip && c.Skipped == nil,
					r.Status == event.Fail && c.Failure == nil && !hasRerun(c, "flakyFailure", r),
					failed(r) && r.Status != event.Fail && c.Error == nil && !hasRerun(c, "flakyError", r):
					t.Errorf("result %s (%s, attempt %d) not reported: %+v", r.ID(), r.Status, r.Attempt, c)
				}
			}
			for key, n := range seen {
				if c := cases[key]; 1+len(c.Reruns) != n {
					t.Errorf("%q: %d attempts, testcase has %d rerun/flaky children", key, n, len(c.Reruns))
				}
			}
		})
	}
}

func hasRerun(c xCase, kind string, r *event.Result) bool {
	for _, x := range c.Reruns {
		if x.XMLName.Local == kind && x.Type == r.Status.String() {
			return true
		}
	}
	return false
}

func TestJUnitFlaky(t *testing.T) {
	x := parseJUnit(t, junitOf(t, flakyRun()))
	byName := map[string]xCase{}
	for _, s := range x.Suites {
		for _, c := range s.Cases {
			byName[c.Classname+"::"+c.Name] = c
		}
	}
	// Failed every attempt: the first failure, then a rerunFailure.
	c := byName["gamma::1"]
	if c.Failure == nil || !strings.Contains(c.Failure.Body, "got 4") ||
		len(c.Reruns) != 1 || c.Reruns[0].XMLName.Local != "rerunFailure" || !strings.Contains(c.Reruns[0].SystemOut, "got 5") {
		t.Errorf("gamma::1 = %+v, want <failure> (got 4) and <rerunFailure> (got 5)", c)
	}
	// Timed out, then passed: a pass with a flakyError.
	c = byName["gamma::2"]
	if c.Failure != nil || c.Error != nil || len(c.Reruns) != 1 || c.Reruns[0].XMLName.Local != "flakyError" ||
		c.Reruns[0].Type != "TIMEOUT" {
		t.Errorf("gamma::2 = %+v, want a pass with one <flakyError type=TIMEOUT>", c)
	}
}

func TestJUnitNastyOutput(t *testing.T) {
	doc := junitOf(t, flakyRun())
	x := parseJUnit(t, doc)
	var out string
	for _, s := range x.Suites {
		for _, c := range s.Cases {
			if c.Name == "beta" {
				out = c.SystemOut
			}
		}
	}
	for _, want := range []string{"start red␀nul␁␇bell␡\n", "bad utf8: \uFFFD\uFFFD \uFFFD end", "</script><script>", "U+FFFE: \uFFFD,", "and\nCR"} {
		if !strings.Contains(out, want) {
			t.Errorf("system-out of beta lacks %q:\n%q", want, out)
		}
	}
	if strings.ContainsAny(out, "\x00\x01\x1b") {
		t.Errorf("system-out keeps control characters: %q", out)
	}
}

func TestJUnitBoundsOutput(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n"), 2000) // 128000 bytes
	s := newStream(1, 1)
	s.at(1).procStart(1, "big", "big")
	s.at(2).testStart("big", "")
	s.at(900).testEnd(1, event.Result{Suite: "big", Status: event.Fail, Output: big, Truncated: 1000})
	s.at(901).procEnd(1, 1, "", false)
	x := parseJUnit(t, junitOf(t, s.end(0, false)))
	c := x.Suites[0].Cases[0]
	if n := len(c.SystemOut); n > maxFileOutput+100 || n < maxFileOutput {
		t.Errorf("system-out is %d bytes, want about %d", n, maxFileOutput)
	}
	dropped := 1000 + len(big) - maxFileOutput // lines are 64 bytes: the cut is at a line's start
	if want := fmt.Sprintf("[volley: %d earlier bytes of output not shown]\n0123", dropped); !strings.HasPrefix(c.SystemOut, want) {
		t.Errorf("system-out starts %q, want %q", c.SystemOut[:80], want)
	}
	if len(c.Failure.Body) > 40*64 {
		t.Errorf("failure body is %d bytes, want the last 40 lines", len(c.Failure.Body))
	}
}

func TestJUnitEmptyRun(t *testing.T) {
	x := parseJUnit(t, junitOf(t, newStream(0, 0).end(0, false)))
	if x.Tests != 0 || len(x.Suites) != 0 {
		t.Errorf("empty run: %+v", x)
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain\ttext\n", "plain\ttext\n"},
		{"crlf\r\nlf\n", "crlf\nlf\n"},
		{"10%\r20%\r\n", "10%\n20%\n"},
		{"\x1b[1;31mbold red\x1b[0m", "bold red"},
		{"\x1b]0;title\x07after", "after"},
		{"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"},
		{"esc at end \x1b", "esc at end "},
		{"\x00\x1f\x7f", "␀␟␡"},
		{"\xff\xc3(", "\uFFFD\uFFFD("},
		{"ok ü 日本", "ok ü 日本"},
	}
	for _, tt := range tests {
		if got := cleanText([]byte(tt.in)); got != tt.want {
			t.Errorf("cleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLastLines(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\nc", 5, "a\nb\nc"},
		{"\nb", 1, "b"},
		{"a\nb", 0, ""},
		{"", 3, ""},
	}
	for _, tt := range tests {
		if got := lastLines(tt.in, tt.n); got != tt.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
