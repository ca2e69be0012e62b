package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// Log is an event log (NewJSON's output) read back by ReadLog.
type Log struct {
	// Results are the tests' results in log order, earlier attempts of a
	// rerun test included (marked Retrying), each with the output lines
	// between its run and outcome lines, less the lines the log adds.
	Results []*event.Result
	// PIDs maps a result's Proc to the operating system's process id.
	PIDs  map[int]int
	Start time.Time // the earliest Time of a line
	End   time.Time // the latest
	// Run is the summary of the log's last line; nil when the log has no
	// end (the run was killed, or the log is cut short).
	Run *LogRun
}

// LogRun is the run's summary, from the log's last line.
type LogRun struct {
	Passed, Failed, Skipped, Cached, NotRun int
	Wall, CPU                               time.Duration
	Interrupted                             bool
}

// ReadLog reads an event log. name is used in error messages (the file's
// path). A line that is not an event of the log, or a test's outcome line
// without volley's result, is an error naming the line.
func ReadLog(r io.Reader, name string) (*Log, error) {
	br := bufio.NewReader(r)
	type open struct {
		start time.Time
		out   []string
	}
	running := map[[2]string]*open{}
	log := &Log{PIDs: map[int]int{}}
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var l jsonEvent
			if jerr := json.Unmarshal(line, &l); jerr != nil {
				return nil, fmt.Errorf("%s:%d: not an event log line: %v", name, n, jerr)
			}
			if !l.Time.IsZero() {
				if log.Start.IsZero() || l.Time.Before(log.Start) {
					log.Start = l.Time
				}
				if l.Time.After(log.End) {
					log.End = l.Time
				}
			}
			key := [2]string{l.Package, l.Test}
			switch {
			case l.Test != "" && l.Action == "run":
				running[key] = &open{start: l.Time}
			case l.Test != "" && l.Action == "output":
				if o := running[key]; o != nil {
					o.out = append(o.out, l.Output)
				}
			case l.Test != "" && (l.Action == "pass" || l.Action == "fail" || l.Action == "skip"):
				var v jsonResult
				if err := json.Unmarshal(l.Volley, &v); err != nil || v.Status == "" {
					return nil, fmt.Errorf("%s:%d: a test's %s line without volley's result", name, n, l.Action)
				}
				o := running[key]
				delete(running, key)
				if o == nil {
					o = &open{start: l.Time}
				}
				if v.PID != 0 {
					log.PIDs[v.Proc] = v.PID
				}
				log.Results = append(log.Results, resultOf(l, v, o.start, o.out))
			case l.Test == "" && l.Package == "" && l.Action == "output" && len(l.Volley) > 0:
				var v jsonRun
				if json.Unmarshal(l.Volley, &v) == nil && v.Run != nil {
					s := v.Run
					log.Run = &LogRun{
						Passed: s.Passed, Failed: s.Failed, Skipped: s.Skipped, Cached: s.Cached, NotRun: s.NotRun,
						Wall: time.Duration(s.WallMs) * time.Millisecond, CPU: time.Duration(s.CPUMs) * time.Millisecond,
						Interrupted: s.Interrupted,
					}
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
	}
	return log, nil
}

// resultOf rebuilds a result from its outcome line and the output lines
// before it, less the lines result() adds: "=== RUN", the dropped-bytes
// note, the reason and "--- STATUS".
func resultOf(l jsonEvent, v jsonResult, start time.Time, out []string) *event.Result {
	st, _ := event.ParseStatus(v.Status)
	r := &event.Result{
		Suite: l.Package, Test: v.Test, Status: st, Reason: v.Reason, Start: start,
		ExitCode: v.ExitCode, Signal: v.Signal, Proc: v.Proc, Slot: v.Slot, Attempt: max(v.Attempt, 1),
		CPU: time.Duration(v.CPUMs) * time.Millisecond, MaxRSS: v.RSSKB << 10, Cached: v.Cached,
		Truncated: v.Truncated, Retrying: v.Retrying, Flaky: v.Flaky, Quarantined: v.Quarantined,
		Leaked: v.Leaked, Diagnostics: v.Diagnostics,
	}
	if l.Elapsed != nil {
		r.Duration = time.Duration(*l.Elapsed * float64(time.Second))
	}
	if len(out) > 0 && strings.HasPrefix(out[0], "=== RUN") {
		out = out[1:]
	}
	if n := len(out); n > 0 && strings.HasPrefix(out[n-1], "--- ") {
		out = out[:n-1]
	}
	if len(out) > 0 && r.Truncated > 0 && strings.HasPrefix(out[0], "[volley: ") {
		out = out[1:]
	}
	if n := len(out); n > 0 && st != event.Pass && reason(r) != "" && out[n-1] == "    "+v.Status+": "+reason(r)+"\n" {
		out = out[:n-1]
	}
	if len(out) > 0 {
		r.Output = []byte(strings.Join(out, ""))
	}
	return r
}
