package report

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// replay feeds events to a terminal reporter whose clock is the time of the
// event being handled, and returns what it wrote.
func replay(t *testing.T, events []*event.Event, o TermOptions) string {
	t.Helper()
	var buf bytes.Buffer
	var now time.Time
	o.Now = func() time.Time { return now }
	r := NewTerminal(&buf, o)
	for _, e := range events {
		now = e.Time
		r.Event(e)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.String()
}

func TestTerminalGolden(t *testing.T) {
	tests := []struct {
		name   string
		events []*event.Event
		o      TermOptions
	}{
		{"plain", mixedRun(), TermOptions{}},
		{"verbose", mixedRun(), TermOptions{Verbose: 1, Slowest: 3}},
		{"vv", mixedRun(), TermOptions{Verbose: 2}},
		{"color", mixedRun(), TermOptions{Verbose: 1, Color: true}},
		{"live", mixedRun(), TermOptions{Live: true, Color: true, Width: 60}},
		{"live-crowd", crowdRun(), TermOptions{Live: true, Width: 40}},
		{"live-short", crowdRun(), TermOptions{Live: true, Width: 40, Height: 8}},
		{"plain-crowd", crowdRun(), TermOptions{Verbose: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := replay(t, tt.events, tt.o)
			path := filepath.Join("testdata", tt.name+".golden")
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
		})
	}
}

// TestPlainNoEscape checks that off a terminal, without colors, not one
// escape byte is written: CI logs stay readable.
func TestPlainNoEscape(t *testing.T) {
	for v := 0; v <= 2; v++ {
		for _, events := range [][]*event.Event{mixedRun(), crowdRun()} {
			if out := replay(t, events, TermOptions{Verbose: v, Slowest: 5}); strings.ContainsRune(out, '\x1b') {
				t.Errorf("verbose %d: plain output contains ESC:\n%q", v, out)
			}
		}
	}
}

// TestSummaryLast checks the output contract: the summary line alone on its
// line, the timing on the next and last, with no live area left behind.
func TestSummaryLast(t *testing.T) {
	for _, o := range []TermOptions{{}, {Live: true, Color: true}, {Verbose: 2, Slowest: 2}} {
		out := replay(t, mixedRun(), o)
		i := strings.LastIndex(out, "\x1b[J")
		ls := strings.Split(strings.TrimSuffix(out[i+1:], "\n"), "\n")
		n := len(ls)
		if ls[n-2] != "volley: 4 passed, 3 failed, 1 skipped" ||
			ls[n-1] != "wall 1.6s, cpu 2.0s (1.2 cores), 4 slots 41% busy, 1 not run, 1 cached" {
			t.Errorf("%+v: last lines %q", o, ls[max(0, n-3):])
		}
		if strings.ContainsRune(out[i+1:], '\x1b') && !o.Color {
			t.Errorf("%+v: escape codes after the live area was erased", o)
		}
	}
}

// TestLiveThrottle checks that state changes redraw at most every 100ms,
// while ticks and printed lines always redraw.
func TestLiveThrottle(t *testing.T) {
	var buf bytes.Buffer
	now := t0
	r := NewTerminal(&buf, TermOptions{Live: true, Now: func() time.Time { return now }})
	st := event.Stats{Start: t0, Suites: 1}
	send := func(ms int, e *event.Event) int {
		now = t0.Add(time.Duration(ms) * time.Millisecond)
		e.Time, e.Stats = now, st
		buf.Reset()
		r.Event(e)
		return strings.Count(buf.String(), "\x1b[J")
	}
	p := &event.Proc{ID: 1, Suite: "s", Start: t0}
	steps := []struct {
		ms   int
		e    *event.Event
		want int
	}{
		{0, &event.Event{Kind: event.RunStart}, 1},
		{10, &event.Event{Kind: event.ProcStart, Proc: p}, 0},
		{20, &event.Event{Kind: event.TestStart, Suite: "s", Test: "a"}, 0},
		{30, &event.Event{Kind: event.Tick}, 1},
		{140, &event.Event{Kind: event.TestStart, Suite: "s", Test: "b"}, 1},
		{150, &event.Event{Kind: event.Warn, Message: "m"}, 2},
		{160, &event.Event{Kind: event.ProcEnd, Proc: p}, 0},
	}
	for _, s := range steps {
		if got := send(s.ms, s.e); got != s.want {
			t.Errorf("%v at %dms: %d redraws, want %d", s.e.Kind, s.ms, got, s.want)
		}
	}
	buf.Reset()
	if err := r.Close(); err != nil || buf.String() != "\x1b[3A\r\x1b[J" {
		t.Errorf("Close() = %v, wrote %q; want the live area erased", err, buf.String())
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("disk full")
}

func TestWriteError(t *testing.T) {
	w := &failWriter{}
	r := NewTerminal(w, TermOptions{Verbose: 1})
	for _, e := range mixedRun() {
		r.Event(e)
	}
	if err := r.Close(); err == nil || err.Error() != "disk full" {
		t.Errorf("Close() = %v, want disk full", err)
	}
	if w.n != 1 {
		t.Errorf("%d writes, want 1: nothing after the first error", w.n)
	}
}

// In a terminal shorter than the running list, the live area never takes
// more lines than the terminal has (less the cursor's), so it never
// scrolls stale frames into the scrollback; a resize is followed.
func TestLiveAreaFitsTheTerminal(t *testing.T) {
	moves := regexp.MustCompile(`\x1b\[(\d+)A`)
	tallest := func(out string) int {
		most := 0
		for _, m := range moves.FindAllStringSubmatch(out, -1) {
			n, _ := strconv.Atoi(m[1])
			most = max(most, n)
		}
		return most
	}
	for _, h := range []int{2, 3, 6, 12} {
		out := replay(t, crowdRun(), TermOptions{Live: true, Width: 40, Height: h})
		if got := tallest(out); got > h-1 || got == 0 {
			t.Errorf("height %d: a frame of %d lines, want 1 to %d", h, got, h-1)
		}
		if h >= 6 && !strings.Contains(out, "more") {
			t.Errorf("height %d: the running tests that do not fit are not counted:\n%s", h, out)
		}
	}
	// A terminal resized from 30 rows to 5 while tests run.
	rows := 30
	size := func() (int, int) { return 40, rows }
	var buf bytes.Buffer
	events := crowdRun()
	var now time.Time
	r := NewTerminal(&buf, TermOptions{Live: true, Size: size, Now: func() time.Time { return now }})
	for i, e := range events {
		if i == len(events)/2 {
			rows = 5
			buf.Reset()
		}
		now = e.Time
		r.Event(e)
	}
	r.Close()
	// The frames drawn after the next periodic redraw fit the new height:
	// the last one, erased at the end, is at most 4 lines.
	frames := moves.FindAllStringSubmatch(buf.String(), -1)
	if len(frames) == 0 {
		t.Fatal("nothing drawn after the resize")
	}
	if n, _ := strconv.Atoi(frames[len(frames)-1][1]); n > 4 {
		t.Errorf("after a resize to 5 rows, the last frame has %d lines", n)
	}
}
