package report

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// junitFailureLines is how many lines of output a <failure> body repeats
// from <system-out>, for the tools that show only the failure.
const junitFailureLines = 40

// junit is the JUnit XML reporter: it remembers the run and writes the whole
// document at Close.
type junit struct {
	w      io.Writer
	h      history
	suites map[string]*suiteSpan
	stats  event.Stats
	closed bool
}

// suiteSpan is when a suite's processes ran.
type suiteSpan struct {
	start, end time.Time
}

func (s *suiteSpan) cover(from, to time.Time) {
	if !from.IsZero() && (s.start.IsZero() || from.Before(s.start)) {
		s.start = from
	}
	if to.After(s.end) {
		s.end = to
	}
}

// NewJUnit returns a reporter that writes the run to w as one JUnit XML
// document (surefire flavor) when it is closed: a <testsuite> per suite, a
// <testcase> per test, flaky reruns as <flakyFailure>/<flakyError> and
// failing reruns as <rerunFailure>/<rerunError> children. Close does not
// close w.
func NewJUnit(w io.Writer) Reporter {
	return &junit{w: w, suites: map[string]*suiteSpan{}}
}

func (j *junit) Event(e *event.Event) {
	j.stats = e.Stats
	switch e.Kind {
	case event.ProcStart, event.ProcEnd:
		if p := e.Proc; p != nil {
			j.span(p.Suite).cover(p.Start, p.End)
		}
	case event.TestEnd:
		if r := e.Result; r != nil {
			j.h.add(r)
			j.span(r.Suite).cover(r.Start, r.Start.Add(r.Duration))
		}
	}
}

func (j *junit) span(suite string) *suiteSpan {
	s := j.suites[suite]
	if s == nil {
		s = &suiteSpan{}
		j.suites[suite] = s
	}
	return s
}

func (j *junit) Close() error {
	if j.closed {
		return nil
	}
	j.closed = true
	bw := bufio.NewWriter(j.w)
	bw.WriteString(xml.Header)
	enc := xml.NewEncoder(bw)
	enc.Indent("", "  ")
	if err := enc.Encode(j.document()); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	bw.WriteByte('\n')
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	return nil
}

// document builds the XML tree of the run.
func (j *junit) document() *junitSuites {
	bySuite := map[string]*junitSuite{}
	for _, t := range j.h.tests {
		r := t.last()
		s := bySuite[r.Suite]
		if s == nil {
			s = &junitSuite{Name: r.Suite}
			bySuite[r.Suite] = s
		}
		c := junitTestCase(t)
		s.Tests++
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
	}
	doc := &junitSuites{Name: "volley", Time: junitSecs(j.stats.Wall)}
	if !j.stats.Start.IsZero() {
		doc.Timestamp = junitTime(j.stats.Start)
	}
	names := make([]string, 0, len(bySuite))
	for name := range bySuite {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := bySuite[name]
		if sp := j.suites[name]; sp != nil && !sp.start.IsZero() {
			s.Time = junitSecs(sp.end.Sub(sp.start))
			s.Timestamp = junitTime(sp.start)
		} else {
			s.Time = junitSecs(0)
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, *s)
	}
	return doc
}

// junitTestCase renders one test: its outcome is its last attempt's, unless
// every attempt failed, in which case the first failure is the <failure> or
// <error> and the later ones are reruns (as surefire reports them).
func junitTestCase(t *record) junitCase {
	last := t.last()
	c := junitCase{Classname: last.Suite, Name: last.Test, Time: junitSecs(last.Duration)}
	if c.Name == "" {
		c.Name = last.Suite
	}
	head, others := last, t.attempts[:len(t.attempts)-1]
	if t.failed() {
		head, others = t.first(), t.attempts[1:]
	}
	switch {
	case head.Status == event.Skip:
		c.Skipped = &junitSkipped{Message: reason(head.Result)}
	case head.Status == event.Fail:
		c.Failure = junitProblemOf(head)
	case failed(head.Result):
		c.Error = junitProblemOf(head)
	}
	c.SystemOut = junitOut(head.out)
	for _, a := range others {
		if !failed(a.Result) {
			continue // a pass before a failure: nothing surefire can say
		}
		p := junitRerunOf(a)
		switch {
		case t.failed() && a.Status == event.Fail:
			c.RerunFailures = append(c.RerunFailures, p)
		case t.failed():
			c.RerunErrors = append(c.RerunErrors, p)
		case a.Status == event.Fail:
			c.FlakyFailures = append(c.FlakyFailures, p)
		default:
			c.FlakyErrors = append(c.FlakyErrors, p)
		}
	}
	return c
}

// junitMessage is the one-line message of a failing attempt.
func junitMessage(a attempt) string {
	m := reason(a.Result)
	if m == "" {
		m = a.Status.String()
	}
	if a.Attempt > 1 {
		m += fmt.Sprintf(" (attempt %d)", a.Attempt)
	}
	return m
}

func junitProblemOf(a attempt) *junitProblem {
	return &junitProblem{Message: junitMessage(a), Type: a.Status.String(), Body: lastLines(a.out, junitFailureLines)}
}

func junitRerunOf(a attempt) junitRerun {
	return junitRerun{Message: junitMessage(a), Type: a.Status.String(),
		StackTrace: junitOut(lastLines(a.out, junitFailureLines)), SystemOut: junitOut(a.out)}
}

// junitOut is an element of text, or none when s is empty. Text goes in a
// CDATA section, readable in the raw file (encoding/xml splits any "]]>");
// cleanText has replaced the characters XML cannot hold at all.
func junitOut(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{Text: s}
}

// junitSecs formats a duration as JUnit's seconds: "1.234".
func junitSecs(d time.Duration) string { return fmt.Sprintf("%.3f", max(d, 0).Seconds()) }

// junitTime formats a timestamp the way the JUnit schema wants it: ISO 8601
// without a zone. It is UTC.
func junitTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// The document's XML shape.
type (
	junitSuites struct {
		XMLName   xml.Name     `xml:"testsuites"`
		Name      string       `xml:"name,attr"`
		Tests     int          `xml:"tests,attr"`
		Failures  int          `xml:"failures,attr"`
		Errors    int          `xml:"errors,attr"`
		Skipped   int          `xml:"skipped,attr"`
		Time      string       `xml:"time,attr"`
		Timestamp string       `xml:"timestamp,attr,omitempty"`
		Suites    []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name      string      `xml:"name,attr"`
		Tests     int         `xml:"tests,attr"`
		Failures  int         `xml:"failures,attr"`
		Errors    int         `xml:"errors,attr"`
		Skipped   int         `xml:"skipped,attr"`
		Time      string      `xml:"time,attr"`
		Timestamp string      `xml:"timestamp,attr,omitempty"`
		Cases     []junitCase `xml:"testcase"`
	}
	junitCase struct {
		Classname     string        `xml:"classname,attr"`
		Name          string        `xml:"name,attr"`
		Time          string        `xml:"time,attr"`
		Skipped       *junitSkipped `xml:"skipped"`
		Failure       *junitProblem `xml:"failure"`
		Error         *junitProblem `xml:"error"`
		FlakyFailures []junitRerun  `xml:"flakyFailure"`
		FlakyErrors   []junitRerun  `xml:"flakyError"`
		RerunFailures []junitRerun  `xml:"rerunFailure"`
		RerunErrors   []junitRerun  `xml:"rerunError"`
		SystemOut     *junitText    `xml:"system-out"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr,omitempty"`
	}
	junitProblem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Body    string `xml:",cdata"`
	}
	junitRerun struct {
		Message    string     `xml:"message,attr"`
		Type       string     `xml:"type,attr"`
		StackTrace *junitText `xml:"stackTrace"`
		SystemOut  *junitText `xml:"system-out"`
	}
	junitText struct {
		Text string `xml:",cdata"`
	}
)
