package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/volley-test/volley/internal/event"
)

func jsonOf(t *testing.T, events []*event.Event) string {
	var buf bytes.Buffer
	return feed(t, NewJSON(&buf), &buf, events)
}

func TestJSONGolden(t *testing.T) {
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) { checkGolden(t, "json-"+s.name, jsonOf(t, s.events())) })
	}
}

// testEvent is a line as Go tooling reads it (cmd/test2json's TestEvent).
type testEvent struct {
	Time    string
	Action  string
	Package string
	Test    string
	Elapsed *float64
	Output  *string
	Volley  map[string]any
}

func decodeLines(t *testing.T, log string) []testEvent {
	t.Helper()
	var evs []testEvent
	for i, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		var ev testEvent
		d := json.NewDecoder(strings.NewReader(line))
		d.DisallowUnknownFields()
		if err := d.Decode(&ev); err != nil {
			t.Fatalf("line %d is not a valid event: %v\n%s", i+1, err, line)
		}
		evs = append(evs, ev)
	}
	return evs
}

// TestJSONLines checks every line is one valid JSON object with the fields
// test2json consumers rely on, and the ordering docs/events.md promises.
func TestJSONLines(t *testing.T) {
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) {
			events := s.events()
			evs := decodeLines(t, jsonOf(t, events))
			const (
				none = iota
				started
				inTest
				ended
			)
			state := map[string]int{} // by package
			tests := 0
			for i, ev := range evs {
				if ev.Time == "" {
					t.Errorf("line %d has no Time", i+1)
				}
				pkg := ev.Package
				switch {
				case ev.Action == "start":
					if state[pkg] != none {
						t.Errorf("line %d: second start of %q", i+1, pkg)
					}
					state[pkg] = started
				case pkg == "" && ev.Action == "output":
					// a run-level warning or the summary
				case state[pkg] == none:
					t.Errorf("line %d: %s before the start of %q", i+1, ev.Action, pkg)
				case ev.Test == "" && (ev.Action == "pass" || ev.Action == "fail"):
					if ev.Elapsed == nil {
						t.Errorf("line %d: package %s without Elapsed", i+1, ev.Action)
					}
					state[pkg] = ended
				case ev.Action == "run":
					tests++
					if ev.Test == "" || strings.Contains(ev.Test, "/") {
						t.Errorf("line %d: run of Test %q", i+1, ev.Test)
					}
				case ev.Action == "output":
					if ev.Output == nil || !strings.HasSuffix(*ev.Output, "\n") {
						t.Errorf("line %d: output %v does not end a line", i+1, ev.Output)
					}
				case ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip":
					if ev.Elapsed == nil || ev.Volley["status"] == nil || ev.Volley["attempt"] == nil {
						t.Errorf("line %d: test end without Elapsed or Volley status: %+v", i+1, ev)
					}
				default:
					t.Errorf("line %d: unexpected action %q", i+1, ev.Action)
				}
			}
			results := 0
			for _, e := range events {
				if e.Kind == event.TestEnd {
					results++
				}
			}
			if tests != results {
				t.Errorf("%d tests run, want one per result: %d", tests, results)
			}
			for pkg, st := range state {
				if pkg != "" && st != ended {
					t.Errorf("package %q never ended", pkg)
				}
			}
		})
	}
}

// flushCounter is an io.Writer with a Flush, like a bufio.Writer.
type flushCounter struct {
	bytes.Buffer
	flushes int
}

func (f *flushCounter) Flush() error { f.flushes++; return nil }

// TestJSONStreams checks the log is written as the run goes, not at Close:
// a test's lines are written whole by the next tick (the dispatcher's are
// at most a second apart) or by the first event jsonFlushAge after the
// previous write, and the lines of tests ending close together go out in
// one write.
func TestJSONStreams(t *testing.T) {
	var w flushCounter
	r := NewJSON(&w)
	for _, e := range flakyRun() {
		before := w.Len()
		r.Event(e)
		if e.Kind != event.TestEnd {
			continue
		}
		r.Event(&event.Event{Kind: event.Tick, Time: e.Time, Stats: e.Stats})
		if !strings.Contains(w.String()[before:], `"Test":"`+jsonTestName(e.Result)+`"`) {
			t.Fatalf("the lines of %s were not written by the next tick:\n%s", e.Result.ID(), w.String()[before:])
		}
	}
	n := w.flushes
	if n == 0 {
		t.Fatal("never flushed")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if w.flushes != n {
		t.Errorf("Close flushed again after RunEnd")
	}

	var b flushCounter
	r = NewJSON(&b)
	at := time.Date(2026, 12, 3, 11, 0, 0, 0, time.UTC)
	first := 0
	for i := range 50 {
		res := &event.Result{Suite: "t/many.t", Test: fmt.Sprintf("case %d", i), Status: event.Pass, Start: at}
		r.Event(&event.Event{Kind: event.TestEnd, Time: at.Add(time.Duration(i) * time.Millisecond), Suite: res.Suite, Result: res})
		if i == 0 {
			first = b.Len() // the first event is written at once
		}
	}
	if b.Len() != first || b.flushes != 1 {
		t.Fatalf("49 more tests within 50ms: %d bytes in %d writes after the first, want them batched", b.Len()-first, b.flushes-1)
	}
	res := &event.Result{Suite: "t/many.t", Test: "late", Status: event.Pass, Start: at}
	r.Event(&event.Event{Kind: event.TestEnd, Time: at.Add(jsonFlushAge + time.Millisecond), Suite: res.Suite, Result: res})
	if b.flushes != 2 || strings.Count(b.String(), `"Action":"pass"`) != 51 {
		t.Fatalf("an event %s after the last write: %d writes, %d passes written; want 2 writes of 51",
			jsonFlushAge, b.flushes, strings.Count(b.String(), `"Action":"pass"`))
	}
}

// TestJSONInterrupted checks that without RunEnd, Close still ends every
// package, so a consumer sees complete packages.
func TestJSONInterrupted(t *testing.T) {
	events := flakyRun()
	events = events[:len(events)/2]
	evs := decodeLines(t, jsonOf(t, events))
	ended := map[string]bool{}
	for _, ev := range evs {
		if ev.Action == "start" {
			ended[ev.Package] = false
		}
		if ev.Test == "" && (ev.Action == "pass" || ev.Action == "fail") {
			ended[ev.Package] = true
		}
	}
	for pkg, ok := range ended {
		if !ok {
			t.Errorf("package %q not ended at Close", pkg)
		}
	}
}

type jsonBrokenWriter struct{ n int }

func (f *jsonBrokenWriter) Write([]byte) (int, error) { f.n++; return 0, errors.New("disk full") }

func TestJSONWriteError(t *testing.T) {
	var w jsonBrokenWriter
	r := NewJSON(&w)
	for _, e := range mixedRun() {
		r.Event(e)
	}
	if err := r.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close() = %v, want the write error", err)
	}
	if w.n != 1 {
		t.Errorf("%d writes after the first failed, want none", w.n-1)
	}
}

// findGotestsum looks for gotestsum on PATH, in $GOBIN and in $HOME/go/bin.
func findGotestsum() string {
	if p, err := exec.LookPath("gotestsum"); err == nil {
		return p
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		f := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(f) == 2 {
			dirs = append(dirs, strings.TrimSpace(f[0]), filepath.Join(strings.TrimSpace(f[1]), "bin"))
		}
	}
	if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "gotestsum")
		if st, err := os.Stat(p); d != "" && err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// TestGotestsumReadsEventLog feeds the log to the real consumer: gotestsum
// must count every result, and write its own JUnit and JSON files from it.
func TestGotestsumReadsEventLog(t *testing.T) {
	bin := findGotestsum()
	if bin == "" {
		t.Skip("gotestsum not on PATH, in $GOBIN or in $HOME/go/bin; install it with: go install gotest.tools/gotestsum@v1.13.0")
	}
	tests := []struct {
		name   string
		events []*event.Event
		done   string
		junit  string
	}{
		{"mixed", mixedRun(), "DONE 8 tests, 1 skipped, 3 failures", `tests="8" failures="3"`},
		{"flaky", flakyRun(), "DONE 10 tests, 1 skipped, 4 failures", `tests="10" failures="4"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "events.json")
			if err := os.WriteFile(log, []byte(jsonOf(t, tt.events)), 0o644); err != nil {
				t.Fatal(err)
			}
			junitFile, jsonFile := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "copy.json")
			cmd := exec.Command(bin, "--format", "standard-quiet", "--no-color",
				"--junitfile", junitFile, "--jsonfile", jsonFile, "--raw-command", "--", "cat", log)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "NO_COLOR=1")
			out, err := cmd.CombinedOutput()
			t.Logf("gotestsum:\n%s", out)
			// With --raw-command gotestsum exits as the command did: 0 (cat).
			if err != nil {
				t.Fatalf("run gotestsum: %v", err)
			}
			done := regexp.MustCompile(`(?m)^DONE .* in [0-9.]+s$`).FindString(string(out))
			if !strings.HasPrefix(done, tt.done+" in ") {
				t.Errorf("gotestsum says %q, want %q", done, tt.done)
			}
			for _, want := range []string{"ok  \talpha\t", "FAIL\tgamma\t", "=== RUN   1\n", "volley: warning: "} {
				if !strings.Contains(string(out), want) {
					t.Errorf("gotestsum output lacks %q", want)
				}
			}
			j, err := os.ReadFile(junitFile)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(j), tt.junit) {
				t.Errorf("gotestsum's JUnit lacks %s:\n%s", tt.junit, j)
			}
			if copied, err := os.ReadFile(jsonFile); err != nil || len(copied) == 0 {
				t.Errorf("gotestsum's --jsonfile: %v, %d bytes", err, len(copied))
			}
		})
	}
}

// TestReadLogRoundTrip: ReadLog gives back every result the writer was fed,
// field for field (times to the millisecond the log keeps), with the
// output lines the log adds taken off again, and the run's summary.
func TestReadLogRoundTrip(t *testing.T) {
	retried := func() []*event.Event {
		s := newStream(1, 1)
		s.at(10).procStart(1, "alpha", "alpha")
		s.at(11).testStart("alpha", "")
		s.at(20).testEnd(1, event.Result{Suite: "alpha", Status: event.Fail, ExitCode: 1, Retrying: true,
			Output: []byte("first try\n"), Leaked: []string{"77 sleep 9"}})
		s.at(21).procEnd(1, 1, "", false)
		s.at(22).procStart(2, "alpha", "alpha")
		s.at(23).testStart("alpha", "")
		s.at(40).testEnd(2, event.Result{Suite: "alpha", Status: event.Pass, Attempt: 2, Flaky: true, Quarantined: true})
		s.at(41).procEnd(2, 0, "", false)
		return s.at(50).end(0, false)
	}
	for _, s := range append(streams, struct {
		name   string
		events func() []*event.Event
	}{"retried", retried}) {
		t.Run(s.name, func(t *testing.T) {
			events := s.events()
			var want []*event.Result
			at := map[*event.Result]time.Time{}
			pids := map[int]int{}
			var final event.Stats
			for _, e := range events {
				switch {
				case e.Kind == event.TestEnd && e.Result != nil:
					want = append(want, e.Result)
					at[e.Result] = e.Time
				case e.Kind == event.ProcStart && e.Proc != nil:
					pids[e.Proc.ID] = e.Proc.PID
				case e.Kind == event.RunEnd:
					final = e.Stats
				}
			}
			log, err := ReadLog(strings.NewReader(jsonOf(t, events)), s.name)
			if err != nil {
				t.Fatal(err)
			}
			if len(log.Results) != len(want) {
				t.Fatalf("%d results read back, want %d", len(log.Results), len(want))
			}
			retrying := 0
			for i, got := range log.Results {
				w := *want[i]
				if w.Attempt == 0 {
					w.Attempt = 1
				}
				if w.Start.IsZero() { // the log gives the time of the event
					w.Start = at[want[i]]
				}
				w.Output = validUTF8(w.Output)
				w.Start = w.Start.Truncate(time.Millisecond)
				w.Duration = w.Duration.Round(time.Millisecond)
				w.CPU = w.CPU.Truncate(time.Millisecond)
				w.MaxRSS = w.MaxRSS >> 10 << 10
				if len(w.Output) > 0 && !bytes.HasSuffix(w.Output, []byte("\n")) {
					w.Output = append(append([]byte(nil), w.Output...), '\n')
				}
				g := *got
				g.Start = g.Start.Truncate(time.Millisecond)
				if !reflect.DeepEqual(g, w) {
					t.Errorf("result %d:\n got %+v\nwant %+v", i, g, w)
				}
				if got.Retrying {
					retrying++
				}
				if pid, ok := pids[got.Proc]; ok && log.PIDs[got.Proc] != pid {
					t.Errorf("result %d: proc %d has pid %d, want %d", i, got.Proc, log.PIDs[got.Proc], pid)
				}
			}
			if s.name == "retried" && retrying != 1 {
				t.Errorf("%d attempts read back as retrying, want 1", retrying)
			}
			if log.Run == nil || log.Run.Passed != final.Passed || log.Run.Failed != final.Failed ||
				log.Run.Skipped != final.Skipped || log.Run.Interrupted != final.Interrupted {
				t.Errorf("run summary %+v, want the totals of %+v", log.Run, final)
			}
		})
	}
}

// TestReadLogCutShort: a log without its last line reads as a run with no
// end; a line that is not an event is an error naming the line.
func TestReadLogCutShort(t *testing.T) {
	events := flakyRun()
	log, err := ReadLog(strings.NewReader(jsonOf(t, events[:len(events)/2])), "half")
	if err != nil || log.Run != nil || len(log.Results) == 0 {
		t.Errorf("a log cut short: %v, run %+v, %d results", err, log, len(log.Results))
	}
	_, err = ReadLog(strings.NewReader("{\"Action\":\"start\"}\nnot json\n"), "bad.json")
	if err == nil || !strings.Contains(err.Error(), "bad.json:2") {
		t.Errorf("a bad line: %v, want an error naming bad.json:2", err)
	}
	_, err = ReadLog(strings.NewReader(`{"Action":"pass","Package":"p","Test":"t"}`+"\n"), "x.json")
	if err == nil || !strings.Contains(err.Error(), "without volley's result") {
		t.Errorf("an outcome without volley's result: %v", err)
	}
}

// validUTF8 is b as the log keeps it: each byte of invalid UTF-8 becomes
// U+FFFD, as encoding/json writes it.
func validUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	var out []byte
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}
