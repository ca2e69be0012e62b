package cache

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// copyState copies dir/history.json to a new temp dir: a shard starting from
// the restored history.
func copyState(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	data, err := os.ReadFile(filepath.Join(dir, fileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, fileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func recordRun(t *testing.T, dir, suite string, key Key, rs ...*event.Result) {
	t.Helper()
	s := open(t, dir)
	for _, r := range rs {
		r.Suite = suite
	}
	s.Record(suite, key, rs)
	save(t, s)
}

// TestMergeShards: two shards run on top of one base history; the merge
// keeps both shards' suites and tests, counts runs once, and lines up the
// run counters so nothing either shard saw is pruned early.
func TestMergeShards(t *testing.T) {
	base := t.TempDir()
	for range 3 {
		recordRun(t, base, "common", keyA, res("c", event.Pass, time.Second))
	}
	shard1, shard2 := copyState(t, base), copyState(t, base)
	recordRun(t, shard1, "alpha", keyA, res("a1", event.Pass, time.Second), res("a2", event.Fail, 2*time.Second))
	clockMoves() // shard 2 records later
	recordRun(t, shard2, "beta", keyB, res("b1", event.Pass, 3*time.Second))
	recordRun(t, shard2, "common", keyA, res("c", event.Fail, 5*time.Second))

	out := filepath.Join(t.TempDir(), "merged")
	if err := Merge(out, shard1, filepath.Join(shard2, fileName)); err != nil {
		t.Fatal(err)
	}
	s := open(t, out)
	if got := s.Stats().Runs; got != 5 { // base 3, shard 2 ran twice
		t.Errorf("runs = %d, want 5", got)
	}
	for _, id := range []TestID{{"alpha", "a1"}, {"alpha", "a2"}, {"beta", "b1"}, {"common", "c"}} {
		if _, ok := s.Test(id.Suite, id.Test); !ok {
			t.Errorf("%v lost", id)
		}
	}
	if _, hit := s.Lookup("alpha", keyA); hit {
		t.Errorf("alpha: hit, but a2 failed")
	}
	if _, hit := s.Lookup("beta", keyB); !hit {
		t.Errorf("beta: no hit")
	}
	c, _ := s.Test("common", "c")
	if c.Runs != 4 || c.LastStatus != "FAIL" || c.Recent != "PPPF" {
		t.Errorf("common::c = %+v, want shard 2's newer record (4 runs, FAIL, PPPF)", c)
	}
	if got := s.Failed(); len(got) != 2 {
		t.Errorf("failed = %v, want alpha::a2 and common::c", got)
	}

	// Every test is as fresh as in its own shard: KeepRuns-1 more runs of
	// something else do not prune alpha (shard 1's latest run).
	s.KeepRuns = 2
	s.Record("other", keyB, []*event.Result{res("o", event.Pass, 0)})
	save(t, s)
	s = open(t, out)
	if _, ok := s.Test("alpha", "a1"); !ok {
		t.Errorf("alpha::a1 pruned one run after the merge with KeepRuns 2")
	}

	// Merging the result into itself, or again, changes nothing.
	before, _ := os.ReadFile(filepath.Join(out, fileName))
	if err := Merge(out, out); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(out, fileName))
	if string(before) != string(after) {
		t.Errorf("self-merge changed the file:\n%s\n%s", before, after)
	}
}

// TestMergeSameKeyUnitesTests: shards of one listable suite (same key)
// each ran some of its tests; the merged entry has them all.
func TestMergeSameKeyUnitesTests(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	recordRun(t, d1, "s", keyA, res("t1", event.Pass, time.Second))
	clockMoves()
	recordRun(t, d2, "s", keyA, res("t2", event.Pass, time.Second), res("t1", event.Fail, time.Second))
	out := t.TempDir()
	if err := Merge(out, d1, d2); err != nil {
		t.Fatal(err)
	}
	s := open(t, out)
	e, hit := s.Lookup("s", keyA)
	if e == nil || len(e.Tests) != 2 || hit {
		t.Fatalf("entry %+v hit=%v, want t1 (failed, the newer) and t2, no hit", e, hit)
	}
	// A changed key: the newer entry replaces the older.
	d3 := t.TempDir()
	clockMoves()
	recordRun(t, d3, "s", keyB, res("t3", event.Pass, time.Second))
	if err := Merge(out, d3); err != nil {
		t.Fatal(err)
	}
	s = open(t, out)
	if e, hit := s.Lookup("s", keyB); !hit || len(e.Tests) != 1 {
		t.Errorf("after a key change: entry %+v hit=%v, want only t3", e, hit)
	}
}

func TestMergeErrors(t *testing.T) {
	out := t.TempDir()
	if err := Merge(out, filepath.Join(out, "nope.json")); err == nil {
		t.Error("merging a missing file: no error")
	}
	bad := filepath.Join(t.TempDir(), "h.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	if err := Merge(out, bad); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("merging a corrupt file: %v", err)
	}
	// A corrupt destination is rebuilt.
	os.WriteFile(filepath.Join(out, fileName), []byte("garbage"), 0o644)
	src := t.TempDir()
	recordRun(t, src, "s", keyA, res("t", event.Pass, 0))
	if err := Merge(out, src); err != nil {
		t.Fatal(err)
	}
	if _, ok := open(t, out).Test("s", "t"); !ok {
		t.Error("not merged into the rebuilt destination")
	}
}

func TestExport(t *testing.T) {
	dir := t.TempDir()
	if err := Export(dir, filepath.Join(dir, "x.json")); err == nil {
		t.Error("exporting no history: no error")
	}
	recordRun(t, dir, "s", keyA, res("t", event.Pass, 0))
	file := filepath.Join(t.TempDir(), "sub", "h.json")
	if err := Export(dir, file); err != nil {
		t.Fatal(err)
	}
	into := t.TempDir()
	if err := Merge(into, file); err != nil {
		t.Fatal(err)
	}
	if _, ok := open(t, into).Test("s", "t"); !ok {
		t.Error("export then import lost s::t")
	}
}

// clockMoves returns once the wall clock is past the moment it was
// called: what is recorded next is recorded later than what came before.
func clockMoves() {
	t0 := time.Now().Round(0) // the wall clock, not the monotonic one
	for !time.Now().Round(0).After(t0) {
		runtime.Gosched()
	}
}
