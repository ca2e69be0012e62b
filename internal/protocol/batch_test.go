package protocol

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/proc"
)

func TestDied(t *testing.T) {
	s := &Suite{Name: "s", Path: "/s"}
	next := func(tests []string) *Unit { return &Unit{Suite: s, Tests: tests} }
	segv := Exit{Code: -1, Signal: "SIGSEGV"}
	for _, tc := range []struct {
		name      string
		tests     []string // the unit's; nil for a whole-suite run
		reported  []string
		started   bool
		culprits  []string
		x         Exit
		want      []string // "STATUS test" of the outcomes
		follow    []string
		reasonHas string
	}{
		{name: "culprit, rest follows", tests: []string{"a", "b", "c"}, reported: []string{"a"}, culprits: []string{"b"}, x: segv,
			want: []string{"CRASH b"}, follow: []string{"c"}, reasonHas: "SIGSEGV"},
		{name: "no culprit: the next test is blamed", tests: []string{"a", "b", "c"}, reported: []string{"a"}, x: Exit{Code: 3},
			want: []string{"CRASH b"}, follow: []string{"c"}, reasonHas: "exit code 3"},
		{name: "timeout of parallel tests", tests: []string{"a", "b", "c", "d"}, started: true, culprits: []string{"a", "c"},
			x: Exit{Code: -1, TimedOut: true, Timeout: time.Second}, want: []string{"TIMEOUT a", "TIMEOUT c"}, follow: []string{"b", "d"},
			reasonHas: "2 tests ran in parallel"},
		{name: "never started: all share", tests: []string{"a", "b"}, x: segv,
			want: []string{"CRASH a", "CRASH b"}, reasonHas: "before it started any test"},
		{name: "start error", tests: []string{"a", "b"}, x: Exit{Code: -1, Err: errors.New("no such file")},
			want: []string{"ERROR a", "ERROR b"}, reasonHas: "no such file"},
		{name: "all reported, then died", tests: []string{"a"}, reported: []string{"a"}, x: segv,
			want: []string{"CRASH "}, reasonHas: "after all its tests reported"},
		{name: "whole run, culprit known", started: true, culprits: []string{"x"}, x: segv, want: []string{"CRASH x"}},
		{name: "whole run, culprit unknown", started: true, x: segv, want: []string{"CRASH "}, reasonHas: "between tests"},
		{name: "whole run, start error", x: Exit{Code: -1, Err: errors.New("boom")}, want: []string{"ERROR "}},
		{name: "culprit already reported", tests: []string{"a", "b"}, reported: []string{"a"}, culprits: []string{"a"}, x: Exit{Code: 2},
			follow: []string{"b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker(tc.tests)
			tr.started = tc.started
			for _, r := range tc.reported {
				tr.report(r)
			}
			outs, follow := died(tc.x, "", tc.culprits, &tr, next)
			var got []string
			for _, o := range outs {
				got = append(got, o.Status.String()+" "+o.Test)
				if !strings.Contains(o.Reason, tc.reasonHas) {
					t.Errorf("%s: reason %q lacks %q", o.Test, o.Reason, tc.reasonHas)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("outcomes %q, want %q", got, tc.want)
			}
			switch {
			case tc.follow == nil && len(follow) > 0:
				t.Errorf("follow-up %q, want none", follow[0].Tests)
			case tc.follow != nil && (len(follow) != 1 || !reflect.DeepEqual(follow[0].Tests, tc.follow)):
				t.Errorf("follow-ups %v, want one running %q", follow, tc.follow)
			}
		})
	}
}

func TestNotRun(t *testing.T) {
	tr := newTracker([]string{"a", "b", "c"})
	tr.report("b")
	outs := notRun(&tr, "s", Exit{})
	if len(outs) != 2 || outs[0].Test != "a" || outs[1].Test != "c" || outs[0].Status != event.Error {
		t.Errorf("notRun = %+v", outs)
	}
	if len(tr.unreported()) != 0 {
		t.Errorf("still unreported: %q", tr.unreported())
	}
}

func TestBatchLabel(t *testing.T) {
	s := &Suite{Name: "s"}
	for _, tc := range []struct {
		tests []string
		want  string
	}{
		{nil, "s"}, {[]string{"a"}, "s a"}, {[]string{"a", "b", "c"}, "s a (+2 more)"},
	} {
		if got := batchLabel(s, tc.tests); got != tc.want {
			t.Errorf("batchLabel(%q) = %q, want %q", tc.tests, got, tc.want)
		}
	}
}

func TestNotes(t *testing.T) {
	var n notes
	if n.last() != "" {
		t.Fatal("empty notes have a last line")
	}
	for i := 0; i < 20; i++ {
		n.add(strings.Repeat("x", i*30))
	}
	n.add("   ")
	if len(n.lines) != maxNotes || !strings.HasSuffix(n.last(), "...") || len(n.last()) != maxNoteLine+3 {
		t.Errorf("notes kept %d lines, last %d bytes", len(n.lines), len(n.last()))
	}
}

// Fit keeps every batch within the kernel's argument limits, for each
// harness that batches, and keeps every test once, in order.
func TestFitArgumentLimits(t *testing.T) {
	names := make([]string, 20000)
	for i := range names {
		names[i] = fmt.Sprintf("AVeryLongTestSuiteName_%03d.AndAnEvenLongerTestCaseNameThatGoesOn_%05d", i%100, i)
	}
	for _, l := range []Lister{GTest{}, GoTest{}, LibTest{}} {
		s := &Suite{Name: "s", Path: "/bin/true"}
		us := Fit(l, s, names)
		if _, many := l.(LibTest); len(us) < 2 && !many {
			// (libtest names are separate arguments: 1.4 MB of them fit
			// the usual 2 MiB ARG_MAX.)
			t.Errorf("%T: %d unit for %d long names", l, len(us), len(names))
		}
		var got []string
		for _, u := range us {
			argv := u.Argv()
			if n := proc.LongestArg(argv); n > proc.MaxArgStrlen {
				t.Errorf("%T: an argument of %d bytes (limit %d)", l, n, proc.MaxArgStrlen)
			}
			if n := proc.ExecSize(argv, os.Environ()); n > proc.ArgMax() {
				t.Errorf("%T: command line of %d bytes (ARG_MAX %d)", l, n, proc.ArgMax())
			}
			got = append(got, u.Tests...)
		}
		if !slices.Equal(got, names) {
			t.Errorf("%T: the batches do not hold every test once in order (%d of %d)", l, len(got), len(names))
		}
	}
	// Small batches are left whole.
	if us := Fit(GTest{}, &Suite{Name: "s", Path: "/bin/true"}, names[:10]); len(us) != 1 {
		t.Errorf("10 tests cut into %d units", len(us))
	}
}

func TestWithEnv(t *testing.T) {
	base := []string{"A=1", proc.CookieVar + "=outer", "B=2"}
	got := withEnv(base, []string{proc.CookieVar + "=run.list"})
	want := []string{"A=1", "B=2", proc.CookieVar + "=run.list"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("withEnv = %q, want %q", got, want)
	}
	if got := withEnv(base, nil); !reflect.DeepEqual(got, base) {
		t.Errorf("withEnv without env = %q, want %q", got, base)
	}
}
