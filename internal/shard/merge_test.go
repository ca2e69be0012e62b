package shard

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/report"
)

// TestJUnitFromLog: results written by the NDJSON reporter read back as
// the same results, reruns included, and the JUnit built from them keeps
// the flaky and rerun structure.
func TestJUnitFromLog(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	rs := []*event.Result{
		{Suite: "alpha", Test: "a/b", Status: event.Fail, Reason: "boom", Output: []byte("line 1\nline 2\n"),
			Start: t0, Duration: 1500 * time.Millisecond, ExitCode: 1, Proc: 1, Attempt: 1, Retrying: true, CPU: time.Second},
		{Suite: "beta", Status: event.Crash, Signal: "SIGSEGV", ExitCode: -1, Output: []byte("partial"), Truncated: 10,
			Start: t0, Duration: time.Second, Proc: 2, Attempt: 1, MaxRSS: 4 << 20},
		{Suite: "alpha", Test: "a/b", Status: event.Pass, Output: []byte("ok\n"), Start: t0.Add(2 * time.Second),
			Duration: time.Second, Proc: 3, Attempt: 2, Flaky: true},
		{Suite: "gamma", Test: "3", Status: event.Pass, Cached: true, Attempt: 1},
		{Suite: "gamma", Test: "4", Status: event.Skip, Reason: "needs network", Start: t0, Proc: 4, Attempt: 1},
	}
	var buf, want bytes.Buffer
	j, ju := report.NewJSON(&buf), report.NewJUnit(&want)
	var stats event.Stats
	for _, r := range rs {
		stats.Count(r)
		e := &event.Event{Kind: event.TestEnd, Time: r.Start.Add(r.Duration), Suite: r.Suite, Test: r.Test, Result: r, Stats: stats}
		j.Event(e)
		ju.Event(e)
	}
	end := &event.Event{Kind: event.RunEnd, Time: t0.Add(5 * time.Second), Stats: stats}
	j.Event(end)
	ju.Event(end)
	j.Close()
	ju.Close()

	log, err := report.ReadLog(&buf, "events.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Results) != len(rs) {
		t.Fatalf("read %d results, want %d", len(log.Results), len(rs))
	}
	for i, got := range log.Results {
		w := *rs[i]
		if w.Output != nil && !bytes.HasSuffix(w.Output, []byte("\n")) {
			w.Output = append(w.Output, '\n') // the log ends every line
		}
		if w.Start.IsZero() {
			w.Start = got.Start // the log gives it the event's time
		}
		if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", w) {
			t.Errorf("result %d:\n got %+v\nwant %+v", i, *got, w)
		}
	}
	var junit bytes.Buffer
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := writeJUnit(path, log.Results, stats); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	junit.Write(b)
	for _, s := range []string{"<flakyFailure", `<testcase classname="alpha" name="a/b"`, "<error", "<skipped"} {
		if !strings.Contains(junit.String(), s) || !strings.Contains(want.String(), s) {
			t.Errorf("%q missing from the rebuilt JUnit:\n%s", s, junit.String())
		}
	}
}

// TestCombinePresets: results decided without running (proc 0) appear in
// every shard's log and count once; a test some shard ran wins over a
// cached copy.
func TestCombinePresets(t *testing.T) {
	cached := func(suite string) *event.Result {
		return &event.Result{Suite: suite, Status: event.Pass, Cached: true, Attempt: 1}
	}
	ran := func(suite string) *event.Result {
		return &event.Result{Suite: suite, Status: event.Fail, Proc: 1, Attempt: 1}
	}
	s1 := &shard{dir: "s1", plan: Plan{Planned: []string{"a", "b"}}, log: &report.Log{Results: []*event.Result{cached("c"), ran("a")}}}
	s2 := &shard{dir: "s2", plan: Plan{Planned: []string{"a", "b"}}, log: &report.Log{Results: []*event.Result{cached("c"), cached("a"), ran("b")}}}
	rs, problems := combine([]*shard{s1, s2})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, fmt.Sprintf("%s/%d", r.ID(), r.Proc))
	}
	if got := strings.Join(ids, " "); got != "c/0 a/1 b/1" {
		t.Errorf("combined %s, want c/0 a/1 b/1", got)
	}
}

// TestMergeCoverage: the shards' raw TML coverage is merged under new
// process ids, so files of the same id in two shards are both kept.
func TestMergeCoverage(t *testing.T) {
	dir := t.TempDir()
	var shards []*shard
	for i, names := range []string{"lexer::scan\nparser::parse\n", "parser::parse\ncodegen::emit\n"} {
		d := filepath.Join(dir, fmt.Sprint("s", i))
		raw := filepath.Join(d, "coverage", "raw", "tml")
		if err := os.MkdirAll(raw, 0o755); err != nil {
			t.Fatal(err)
		}
		// Both shards' first process is process 1.
		if err := os.WriteFile(filepath.Join(raw, "suite_test-1.txt"), []byte(names), 0o644); err != nil {
			t.Fatal(err)
		}
		r := &event.Result{Suite: "suite_test", Test: "0", Status: event.Pass, Proc: 1, Attempt: 1}
		shards = append(shards, &shard{dir: d, log: &report.Log{Results: []*event.Result{r}}})
	}
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	picked := []*event.Result{shards[0].log.Results[0], shards[1].log.Results[0]}
	if err := mergeCoverage(out, shards, picked, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "3 functions covered") {
		t.Errorf("summary:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "coverage", "covered_functions.txt"))
	if err != nil || strings.Count(string(b), "::") != 3 {
		t.Errorf("covered_functions.txt: %v\n%s", err, b)
	}
	// No coverage in any shard: nothing written, nothing said.
	stdout.Reset()
	if err := mergeCoverage(filepath.Join(dir, "none"), []*shard{{dir: dir, log: &report.Log{}}}, nil, &stdout, &stderr); err != nil || stdout.Len() > 0 {
		t.Errorf("without coverage: %v, %q", err, stdout.String())
	}
}
