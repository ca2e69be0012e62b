package cache

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
)

var (
	keyA = Key{Sum: "a", Parts: map[string]string{partExe: "1", partArgs: "x"}}
	keyB = Key{Sum: "b", Parts: map[string]string{partExe: "2", partArgs: "x"}}
)

func res(test string, st event.Status, d time.Duration) *event.Result {
	return &event.Result{Suite: "s", Test: test, Status: st, Duration: d, CPU: d / 2, MaxRSS: 1 << 20, Attempt: 1, Proc: 3}
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, warn, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if warn != nil {
		t.Fatalf("warnings: %q", warn)
	}
	return s
}

func save(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
}

func TestLookupHit(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.Record("s", keyA, []*event.Result{res("t1", event.Pass, time.Second), res("t2", event.Skip, 0)})
	save(t, s)

	s = open(t, dir)
	e, hit := s.Lookup("s", keyA)
	if !hit {
		t.Fatalf("no hit; why: %q", s.WhyMiss("s", keyA))
	}
	if why := s.WhyMiss("s", keyA); why != nil {
		t.Errorf("WhyMiss on a hit = %q", why)
	}
	want := []*event.Result{
		{Suite: "s", Test: "t1", Status: event.Pass, Duration: time.Second, CPU: time.Second / 2, MaxRSS: 1 << 20, Attempt: 1, Cached: true},
		{Suite: "s", Test: "t2", Status: event.Skip, MaxRSS: 1 << 20, Attempt: 1, Cached: true},
	}
	if got := e.Results(); !reflect.DeepEqual(got, want) {
		t.Errorf("Results:\n got %+v\nwant %+v", got[0], want[0])
	}
	if _, hit := s.Lookup("s", keyB); hit {
		t.Error("hit under another key")
	}
	if got, want := s.WhyMiss("s", keyB), []string{"executable content changed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("WhyMiss = %q, want %q", got, want)
	}
	if got, want := s.WhyMiss("other", keyA), []string{"no previous run recorded"}; !reflect.DeepEqual(got, want) {
		t.Errorf("WhyMiss = %q, want %q", got, want)
	}
}

func TestFailingNeverHit(t *testing.T) {
	for _, st := range []event.Status{event.Fail, event.Crash, event.Timeout, event.Error, 0} {
		t.Run(st.String(), func(t *testing.T) {
			s := open(t, t.TempDir())
			s.Record("s", keyA, []*event.Result{res("ok", event.Pass, 1), res("bad", st, 1)})
			e, hit := s.Lookup("s", keyA)
			if hit {
				t.Fatal("a suite with a failing test is a hit")
			}
			if _, ok := e.Result("bad"); ok {
				t.Error("the failing test is served from the cache")
			}
			if r, ok := e.Result("ok"); !ok || !r.Cached || r.Status != event.Pass {
				t.Errorf("the passing test of a listable suite is not served: %+v", r)
			}
			for _, r := range e.Results() {
				if r.Test == "bad" {
					t.Error("Results serves the failing test")
				}
			}
			if why := s.WhyMiss("s", keyA); len(why) != 1 || !strings.Contains(why[0], "s::bad was") {
				t.Errorf("WhyMiss = %q", why)
			}
		})
	}
}

// A test that passed only on retry is not cached; it is flaky.
func TestRetryNotCached(t *testing.T) {
	s := open(t, t.TempDir())
	retry := res("t", event.Pass, 1)
	retry.Attempt = 2
	s.Record("s", keyA, []*event.Result{res("t", event.Fail, 1), retry})
	if _, hit := s.Lookup("s", keyA); hit {
		t.Error("passed on retry: hit")
	}
	s.Record("s", keyA, []*event.Result{res("t", event.Pass, 1)})
	if _, hit := s.Lookup("s", keyA); !hit {
		t.Error("passed on the next run: no hit")
	}
}

// Under one key a listable suite accumulates its passed tests across runs;
// a new key starts afresh.
func TestRecordMerge(t *testing.T) {
	s := open(t, t.TempDir())
	s.Record("s", keyA, []*event.Result{res("t1", event.Pass, 1), res("t2", event.Fail, 1)})
	// Next run: t1 served from the cache, t2 rerun and fixed.
	e, _ := s.Lookup("s", keyA)
	cached, _ := e.Result("t1")
	s.Record("s", keyA, []*event.Result{cached, res("t2", event.Pass, 1)})
	e, hit := s.Lookup("s", keyA)
	if !hit || len(e.Tests) != 2 {
		t.Fatalf("hit=%v tests=%+v", hit, e.Tests)
	}
	if h, _ := s.Test("s", "t1"); h.Runs != 1 {
		t.Errorf("a cached result counted as a run: %d", h.Runs)
	}
	s.Record("s", keyB, []*event.Result{res("t1", event.Pass, 1)})
	if e, _ := s.Lookup("s", keyB); len(e.Tests) != 1 {
		t.Errorf("new key kept old tests: %+v", e.Tests)
	}
	if e, _ := s.Lookup("s", keyA); e != nil {
		t.Error("old key still served")
	}
}

func TestRecordHistory(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.Record("s", keyA, []*event.Result{res("t", event.Pass, 10*time.Second), res("u", event.Fail, time.Second)})
	save(t, s)
	big := res("t", event.Pass, 20*time.Second)
	big.MaxRSS = 5 << 20
	s.Record("s", keyA, []*event.Result{big, res("u", event.Fail, time.Second)})
	save(t, s)
	s.Record("s", keyA, []*event.Result{res("t", event.Fail, 10*time.Second), res("u", event.Pass, time.Second)})
	s.Record("s", keyA, []*event.Result{res("t", event.Pass, 10*time.Second)})
	save(t, s)

	s = open(t, dir)
	h, ok := s.Test("s", "t")
	if !ok {
		t.Fatal("no history")
	}
	// 10 -> 0.3*20+0.7*10 = 13 -> 0.3*10+0.7*13 = 12.1 -> 11.47
	if want := 11470 * time.Millisecond; h.Duration != want {
		t.Errorf("Duration = %v, want %v", h.Duration, want)
	}
	if h.CPU != h.Duration/2 {
		t.Errorf("CPU = %v, want %v", h.CPU, h.Duration/2)
	}
	if h.Runs != 4 || h.Recent != "PPFP" || h.LastStatus != "PASS" || h.PassStreak != 1 || h.FailStreak != 0 {
		t.Errorf("history = %+v", h)
	}
	if h.MaxRSS != 5<<20 {
		t.Errorf("MaxRSS = %d", h.MaxRSS)
	}
	if h.Suite != "s" || h.Test != "t" || h.LastSeen != 3 {
		t.Errorf("identity/seen = %q %q %d", h.Suite, h.Test, h.LastSeen)
	}
	if !h.Flaky() {
		t.Error("PPFP not flaky")
	}
	if u, _ := s.Test("s", "u"); u.Flaky() || u.Recent != "FFP" {
		t.Errorf("FFP (fixed) flaky=%v recent=%q", u.Flaky(), u.Recent)
	}
	if d, ok := s.SuiteDuration("s"); !ok || d != 11470*time.Millisecond+time.Second {
		t.Errorf("SuiteDuration = %v %v", d, ok)
	}
	if _, ok := s.SuiteDuration("none"); ok {
		t.Error("SuiteDuration of an unknown suite")
	}
	s.Record("z", keyA, []*event.Result{res("", event.Crash, 1)})
	if got, want := s.Failed(), []TestID{{"z", ""}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Failed = %v, want %v", got, want)
	}
	st := s.Stats()
	if st.Runs != 3 || st.Suites != 2 || st.Tests != 3 || st.Failing != 1 || st.Cached != 2 || st.Bytes == 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestCorruptFile(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.Record("s", keyA, []*event.Result{res("t", event.Pass, 1)})
	save(t, s)
	path := filepath.Join(dir, fileName)
	data, _ := os.ReadFile(path)

	for name, content := range map[string]string{
		"truncated":       string(data[:len(data)/2]),
		"empty":           "",
		"garbage":         "\x00\x01not json",
		"unknown version": `{"version": 99, "suites": {}}`,
		"wrong shape":     `{"version": 1, "suites": []}`,
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			s, warn, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(warn) != 1 || !strings.Contains(warn[0], path) || !strings.HasSuffix(warn[0], "; starting a new one") {
				t.Fatalf("warnings = %q", warn)
			}
			if _, hit := s.Lookup("s", keyA); hit {
				t.Error("hit from a corrupt file")
			}
			s.Record("s2", keyA, []*event.Result{res("t", event.Pass, 1)})
			save(t, s)
			s = open(t, dir) // rebuilt: no warning now
			if _, hit := s.Lookup("s2", keyA); !hit {
				t.Error("rebuilt file lost the new record")
			}
		})
	}
	if _, warn, _ := Open(dir); len(warn) != 0 {
		t.Errorf("warnings after rebuild: %q", warn)
	}
}

func TestOpenMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".volley")
	s := open(t, dir)
	if _, hit := s.Lookup("s", keyA); hit {
		t.Error("hit in an empty store")
	}
	save(t, s) // nothing to save: nothing written
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Save with nothing recorded created %s", dir)
	}
	s.Record("s", keyA, []*event.Result{res("t", event.Pass, 1)})
	save(t, s)
	if _, hit := open(t, dir).Lookup("s", keyA); !hit {
		t.Error("record not saved")
	}
}

func TestFileFormat(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.Record("s", keyA, []*event.Result{res("t", event.Pass, 1)})
	save(t, s)
	data, err := os.ReadFile(filepath.Join(dir, fileName))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Version int             `json:"version"`
		Run     int64           `json:"run"`
		Suites  json.RawMessage `json:"suites"`
	}
	if err := json.Unmarshal(data, &f); err != nil || f.Version != version || f.Run != 1 {
		t.Errorf("file = %+v, %v", f, err)
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, tmpGlob)); len(tmps) != 0 {
		t.Errorf("temp files left: %v", tmps)
	}
}

// Two stores opened at once: the second Save keeps the first one's records.
func TestSaveMerges(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir)
	a.Record("a", keyA, []*event.Result{res("t", event.Pass, time.Second)})
	b.Record("b", keyB, []*event.Result{res("t", event.Pass, time.Second)})
	b.Record("a", keyA, []*event.Result{res("t", event.Pass, 3*time.Second)})
	save(t, a)
	save(t, b)
	s := open(t, dir)
	for _, suite := range []string{"a", "b"} {
		if _, ok := s.Test(suite, "t"); !ok {
			t.Errorf("suite %s lost", suite)
		}
	}
	// b's record of a is replayed onto a's, not onto what b saw at Open.
	if h, _ := s.Test("a", "t"); h.Runs != 2 || h.Duration != 1600*time.Millisecond {
		t.Errorf("a::t = %+v", h)
	}
	if s.Stats().Runs != 2 {
		t.Errorf("runs = %d", s.Stats().Runs)
	}
	// What b sees after its Save is the merged file.
	if _, ok := b.Test("a", "t"); !ok {
		t.Error("b does not see a's record after Save")
	}
}

func TestPruneKeepRuns(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.KeepRuns = 3
	s.Record("old", keyA, []*event.Result{res("t", event.Pass, 1)})
	save(t, s)
	s.Record("cached", keyA, []*event.Result{res("t", event.Pass, 1)})
	save(t, s)
	for i := 0; i < 3; i++ {
		s.Record("new", keyA, []*event.Result{res("t", event.Pass, 1)})
		// Served from the cache every time: still seen, not pruned.
		e, _ := s.Lookup("cached", keyA)
		s.Record("cached", keyA, e.Results())
		save(t, s)
	}
	s = open(t, dir)
	if _, ok := s.Test("old", "t"); ok {
		t.Error("test unseen for 4 runs kept")
	}
	if _, hit := s.Lookup("old", keyA); hit {
		t.Error("entry unseen for 4 runs kept")
	}
	if _, hit := s.Lookup("cached", keyA); !hit {
		t.Error("test served from the cache pruned")
	}
	if _, ok := s.Test("new", "t"); !ok {
		t.Error("recent test pruned")
	}
}

func TestPruneMaxTests(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.MaxTests = 5
	for _, suite := range []string{"a", "b", "c"} {
		s.Record(suite, keyA, []*event.Result{res("1", event.Pass, 1), res("2", event.Pass, 1), res("3", event.Pass, 1)})
		save(t, s)
	}
	s = open(t, dir)
	if n := s.Stats().Tests; n != 5 {
		t.Errorf("%d tests kept, want 5", n)
	}
	// a's three tests and b::1 are the least recently seen.
	if e, _ := s.Lookup("a", keyA); e != nil {
		t.Errorf("entry a kept without history: %+v", e)
	}
	if _, ok := s.Test("c", "1"); !ok {
		t.Error("newest test dropped")
	}
	if e, _ := s.Lookup("b", keyA); e == nil || len(e.Tests) != 2 || e.Tests[0].Test != "2" {
		t.Errorf("entry b = %+v", e)
	}
}

func TestClean(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	s.Record("s", keyA, []*event.Result{res("t", event.Pass, 1)})
	save(t, s)
	if err := Clean(dir); err != nil {
		t.Fatal(err)
	}
	if st := open(t, dir).Stats(); st.Tests != 0 || st.Bytes != 0 {
		t.Errorf("after Clean: %+v", st)
	}
	// A store opened before the clean does not resurrect what was cleaned.
	s.Record("s2", keyA, []*event.Result{res("t", event.Pass, 1)})
	save(t, s)
	if st := open(t, dir).Stats(); st.Tests != 1 {
		t.Errorf("after Clean and Save: %+v", st)
	}
	if err := Clean(filepath.Join(dir, "nope")); err != nil {
		t.Errorf("Clean of a missing dir: %v", err)
	}
}
