package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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
// each event's lines are written and flushed when it is handled.
func TestJSONStreams(t *testing.T) {
	var w flushCounter
	r := NewJSON(&w)
	events := flakyRun()
	for _, e := range events {
		before := w.Len()
		r.Event(e)
		if e.Kind == event.TestEnd && w.Len() == before {
			t.Fatalf("nothing written for %s %s", e.Kind, e.Result.ID())
		}
		if e.Kind == event.TestEnd && !strings.Contains(w.String()[before:], `"Test":"`+jsonTestName(e.Result)+`"`) {
			t.Fatalf("the lines of %s were not written at once:\n%s", e.Result.ID(), w.String()[before:])
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
