package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// jsonLog is the NDJSON event log reporter: a line per happening, in the
// shape of `go test -json` (test2json), written as events arrive. The schema
// is documented in docs/events.md.
type jsonLog struct {
	w       io.Writer
	buf     bytes.Buffer // the lines of one event, written at once
	enc     []byte       // scratch for one line's encoding
	flushed time.Time    // when buf was last written
	err     error        // the first write error; nothing is written after it
	pkgs    map[string]*jsonPkg
	order   []string    // packages in the order they started
	pids    map[int]int // Proc.ID -> PID
	done    int         // Stats.SuitesDone as of the previous event
	last    time.Time   // the time of the latest event
	ended   bool        // RunEnd was seen
}

// jsonPkg is the state of one suite (a "package" to Go tooling).
type jsonPkg struct {
	start   time.Time
	running int             // processes started and not yet ended
	ended   bool            // its pass/fail line was written
	failing map[string]bool // by test id: whether its latest attempt failed
	nfail   int             // tests whose latest attempt failed
	tests   int
	cached  int
	passed  int
	skipped int
	procs   int
	cpu     time.Duration
	rss     int64
}

// NewJSON returns a reporter that writes the run to w as it happens, one
// JSON object a line, in the format of `go test -json` so that Go tooling
// (gotestsum, tparse, go-junit-report) reads it; volley's own fields are
// under the key "Volley". Lines are written in batches (see jsonFlushAge),
// each with one Write followed by Flush when w has one. Close does not
// close w.
func NewJSON(w io.Writer) Reporter {
	return &jsonLog{w: w, pkgs: map[string]*jsonPkg{}, pids: map[int]int{}}
}

// The types below are the event log's schema (docs/events.md); the writer
// (NewJSON) and the reader (ReadLog) share them.

// jsonEvent is one line: test2json's fields, then volley's. Volley holds
// one of jsonResult, jsonSuite, jsonWarning or jsonRun, encoded.
type jsonEvent struct {
	Time    time.Time `json:",omitzero"`
	Action  string
	Package string          `json:",omitempty"`
	Test    string          `json:",omitempty"`
	Elapsed *float64        `json:",omitempty"`
	Output  string          `json:",omitempty"`
	Volley  json.RawMessage `json:",omitempty"`
}

// volley encodes the "Volley" object of a line.
func volley(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen: every field is a plain value
		panic(fmt.Sprintf("report: marshal %+v: %v", v, err))
	}
	return b
}

// jsonResult is the "Volley" object of a test's pass, fail or skip line.
type jsonResult struct {
	Test        string   `json:"test,omitempty"` // volley's test name; absent when the suite is the test
	Attempt     int      `json:"attempt"`
	Status      string   `json:"status"`
	Reason      string   `json:"reason,omitempty"`
	ExitCode    int      `json:"exit_code"`
	Signal      string   `json:"signal,omitempty"`
	CPUMs       int64    `json:"cpu_ms"`
	RSSKB       int64    `json:"rss_kb"`
	Slot        int      `json:"slot"`
	Proc        int      `json:"proc"`
	PID         int      `json:"pid,omitempty"`
	Cached      bool     `json:"cached"`
	Truncated   int64    `json:"output_dropped,omitempty"`
	Retrying    bool     `json:"retrying,omitempty"`
	Flaky       bool     `json:"flaky,omitempty"`
	Quarantined bool     `json:"quarantined,omitempty"`
	Leaked      []string `json:"leaked,omitempty"`
	Diagnostics string   `json:"diagnostics,omitempty"`
}

// jsonSuite is the "Volley" object of a package's pass or fail line.
type jsonSuite struct {
	Tests   int   `json:"tests"`
	Passed  int   `json:"passed"`
	Failed  int   `json:"failed"`
	Skipped int   `json:"skipped"`
	Cached  int   `json:"cached"`
	Procs   int   `json:"procs"`
	CPUMs   int64 `json:"cpu_ms"`
	RSSKB   int64 `json:"rss_kb"`
}

// jsonWarning is the "Volley" object of a warning's output line.
type jsonWarning struct {
	Warning string `json:"warning"`
}

// jsonRun is the "Volley" object of the last line.
type jsonRun struct {
	Run *jsonRunStats `json:"run,omitempty"`
}

type jsonRunStats struct {
	Passed      int   `json:"passed"`
	Failed      int   `json:"failed"`
	Skipped     int   `json:"skipped"`
	Cached      int   `json:"cached"`
	NotRun      int   `json:"not_run"`
	WallMs      int64 `json:"wall_ms"`
	CPUMs       int64 `json:"cpu_ms"`
	Interrupted bool  `json:"interrupted"`
}

func (j *jsonLog) Event(e *event.Event) {
	if j.ended {
		return
	}
	if e.Suite != "" && e.Kind != event.RunEnd {
		j.startPkg(e.Suite, e)
	}
	switch e.Kind {
	case event.ProcStart:
		if p := e.Proc; p != nil {
			j.pids[p.ID] = p.PID
			pkg := j.pkgs[e.Suite]
			pkg.running++
			pkg.procs++
		}
	case event.TestEnd:
		if r := e.Result; r != nil {
			j.result(e, r)
		}
	case event.ProcEnd:
		if p := e.Proc; p != nil {
			pkg := j.pkgs[e.Suite]
			pkg.running--
			pkg.cpu += p.CPU
			pkg.rss = max(pkg.rss, p.MaxRSS)
			// The dispatcher counts a suite done on the ProcEnd of its last
			// process, follow-ups and reruns included.
			if pkg.running <= 0 && e.Stats.SuitesDone > j.done {
				j.endPkg(e.Suite, e.Time)
			}
		}
	case event.Warn:
		j.line(jsonEvent{Time: e.Time, Action: "output", Package: e.Suite,
			Output: "volley: warning: " + e.Message + "\n", Volley: volley(jsonWarning{e.Message})})
	case event.RunEnd:
		j.endAll(e.Time)
		s := e.Stats
		j.line(jsonEvent{Time: e.Time, Action: "output", Output: s.Summary() + "\n", Volley: volley(jsonRun{&jsonRunStats{
			Passed: s.Passed, Failed: s.Failed, Skipped: s.Skipped, Cached: s.Cached, NotRun: s.NotRun,
			WallMs: s.Wall.Milliseconds(), CPUMs: s.CPU.Milliseconds(), Interrupted: s.Interrupted,
		}})})
		j.ended = true
	}
	j.done, j.last = e.Stats.SuitesDone, e.Time
	switch {
	case j.buf.Len() >= jsonFlushSize, e.Time.Sub(j.flushed) >= jsonFlushAge:
	case e.Kind == event.TestEnd, e.Kind == event.TestStart, e.Kind == event.ProcStart, e.Kind == event.ProcEnd:
		return // a test's lines wait for more, briefly
	}
	j.flush()
	j.flushed = e.Time
}

// A test's lines are written with the next event's at most jsonFlushAge
// later, or once jsonFlushSize bytes wait (a write per test was a fifth of
// volley's CPU on suites of many short tests); every other event, and the
// dispatcher's ticks (at most a second apart), write what waits.
const (
	jsonFlushSize = 64 << 10
	jsonFlushAge  = 100 * time.Millisecond
)

// startPkg writes a suite's start line the first time the suite is seen.
func (j *jsonLog) startPkg(suite string, e *event.Event) {
	if j.pkgs[suite] != nil {
		return
	}
	at := e.Time
	if e.Proc != nil && !e.Proc.Start.IsZero() {
		at = e.Proc.Start
	}
	j.pkgs[suite] = &jsonPkg{start: at, failing: map[string]bool{}}
	j.order = append(j.order, suite)
	j.line(jsonEvent{Time: at, Action: "start", Package: suite})
}

// result writes a test's lines: run, its output, its end.
func (j *jsonLog) result(e *event.Event, r *event.Result) {
	pkg := j.pkgs[r.Suite]
	if pkg == nil { // a result for another suite than the event's
		j.startPkg(r.Suite, e)
		pkg = j.pkgs[r.Suite]
	}
	name := jsonTestName(r)
	action := "pass"
	switch {
	case r.Status == event.Skip:
		action = "skip"
		pkg.skipped++
	case failed(r):
		action = "fail"
	default:
		pkg.passed++
	}
	if !r.Retrying {
		// Attempts that will be retried are in the log, not in the counts.
		pkg.tests++
	} else if action == "pass" {
		pkg.passed--
	} else if action == "skip" {
		pkg.skipped--
	}
	if r.Cached {
		pkg.cached++
	}
	id := r.ID()
	// A quarantined failure does not fail its suite, as it does not fail the run.
	counts := failed(r) && !r.Quarantined
	if was := pkg.failing[id]; was != counts {
		pkg.failing[id] = counts
		if counts {
			pkg.nfail++
		} else {
			pkg.nfail--
		}
	}

	start := r.Start
	if start.IsZero() {
		start = e.Time
	}
	out := func(s string) {
		j.line(jsonEvent{Time: e.Time, Action: "output", Package: r.Suite, Test: name, Output: s})
	}
	j.line(jsonEvent{Time: start, Action: "run", Package: r.Suite, Test: name})
	out("=== RUN   " + name + "\n")
	if r.Truncated > 0 {
		out(droppedNote(r.Truncated) + "\n")
	}
	for rest := string(testOutput(r)); rest != ""; {
		line, after, found := strings.Cut(rest, "\n")
		if !found {
			line, after = rest, ""
		}
		out(line + "\n")
		rest = after
	}
	if why := reason(r); why != "" && r.Status != event.Pass {
		out("    " + r.Status.String() + ": " + why + "\n")
	}
	out(fmt.Sprintf("--- %s: %s (%.2fs)\n", strings.ToUpper(action), name, r.Duration.Seconds()))

	v := jsonResult{
		Attempt: r.Attempt, Status: r.Status.String(), Reason: r.Reason, ExitCode: r.ExitCode,
		Signal: r.Signal, CPUMs: r.CPU.Milliseconds(), RSSKB: r.MaxRSS >> 10, Slot: r.Slot, Proc: r.Proc,
		PID: j.pids[r.Proc], Cached: r.Cached, Truncated: r.Truncated, Test: r.Test,
		Retrying: r.Retrying, Flaky: r.Flaky, Quarantined: r.Quarantined, Leaked: r.Leaked,
		Diagnostics: r.Diagnostics,
	}
	j.line(jsonEvent{Time: e.Time, Action: action, Package: r.Suite, Test: name,
		Elapsed: secs(r.Duration), Volley: appendResult(nil, &v)})
}

// jsonTestName is the Test of a result's lines: the suite's name when the
// suite is the test, and "/" (which Go tooling reads as a subtest) replaced
// by "∕" (U+2215), which looks the same.
func jsonTestName(r *event.Result) string {
	name := r.Test
	if name == "" {
		name = r.Suite
	}
	return strings.ReplaceAll(name, "/", "\u2215")
}

// endPkg writes a suite's last lines: go test's "ok" or "FAIL" line, then
// the package's pass or fail.
func (j *jsonLog) endPkg(suite string, at time.Time) {
	pkg := j.pkgs[suite]
	if pkg == nil || pkg.ended {
		return
	}
	pkg.ended = true
	elapsed := at.Sub(pkg.start)
	action, word, took := "pass", "ok  ", fmt.Sprintf("%.3fs", elapsed.Seconds())
	if pkg.nfail > 0 {
		action, word = "fail", "FAIL"
	}
	if pkg.procs == 0 && pkg.tests > 0 && pkg.cached == pkg.tests {
		took = "(cached)"
	}
	j.line(jsonEvent{Time: at, Action: "output", Package: suite, Output: word + "\t" + suite + "\t" + took + "\n"})
	j.line(jsonEvent{Time: at, Action: action, Package: suite, Elapsed: secs(elapsed), Volley: volley(jsonSuite{
		Tests: pkg.tests, Passed: pkg.passed, Failed: pkg.tests - pkg.passed - pkg.skipped, Skipped: pkg.skipped,
		Cached: pkg.cached, Procs: pkg.procs, CPUMs: pkg.cpu.Milliseconds(), RSSKB: pkg.rss >> 10,
	})})
}

// endAll ends every suite still open, in the order they started.
func (j *jsonLog) endAll(at time.Time) {
	for _, suite := range j.order {
		j.endPkg(suite, at)
	}
}

// secs is a duration in seconds, to the millisecond, as test2json's Elapsed.
func secs(d time.Duration) *float64 {
	s := math.Round(max(d, 0).Seconds()*1000) / 1000
	return &s
}

// line appends one JSON line to the event's buffer.
func (j *jsonLog) line(ev jsonEvent) {
	j.enc = append(appendEvent(j.enc[:0], &ev), '\n')
	j.buf.Write(j.enc)
}

// flush writes the event's lines and flushes w when it buffers.
func (j *jsonLog) flush() {
	if j.buf.Len() == 0 {
		return
	}
	if j.err == nil {
		_, j.err = j.w.Write(j.buf.Bytes())
	}
	if f, ok := j.w.(interface{ Flush() error }); ok && j.err == nil {
		j.err = f.Flush()
	}
	j.buf.Reset()
}

func (j *jsonLog) Close() error {
	if !j.ended {
		// No RunEnd (the run was cut short): end what is open.
		j.endAll(j.last)
		j.ended = true
		j.flush()
	}
	if j.err != nil {
		return fmt.Errorf("json report: %w", j.err)
	}
	return nil
}
