package plan

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/protocol"
)

type fakeEst map[string]time.Duration

func (f fakeEst) Test(s, t string) (time.Duration, bool) { d, ok := f[s+"::"+t]; return d, ok }
func (f fakeEst) Suite(s string) (time.Duration, bool)   { d, ok := f[s]; return d, ok }
func (f fakeEst) Failed(s, t string) bool                { return f["failed:"+s] > 0 }
func (f fakeEst) Parallel(s, t string) event.Parallel    { return event.Parallel(f["parallel:"+s+"::"+t]) }

func suites(n int) []*protocol.Suite {
	var ss []*protocol.Suite
	for i := 0; i < n; i++ {
		ss = append(ss, &protocol.Suite{Name: fmt.Sprintf("s%03d", i), Path: "/nonexistent", Protocol: "exec"})
	}
	return ss
}

func TestPartitionUnionIsThePlan(t *testing.T) {
	ss := suites(50)
	est := fakeEst{}
	for i, s := range ss {
		est[s.Name] = time.Duration(i*i+1) * time.Millisecond
	}
	full, err := Make(context.Background(), ss, Options{Est: est})
	if err != nil {
		t.Fatal(err)
	}
	for _, strategy := range []string{"hash", "slice", "time"} {
		for _, n := range []int{1, 2, 3, 7} {
			seen := map[string]int{}
			for k := 1; k <= n; k++ {
				p := &Partition{Strategy: strategy, K: k, N: n}
				pl, err := Make(context.Background(), ss, Options{Est: est, Partition: p})
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range pl.Units {
					seen[u.Suite.Name]++
				}
			}
			if len(seen) != len(full.Units) {
				t.Errorf("%s/%d: shards cover %d suites, plan has %d", strategy, n, len(seen), len(full.Units))
			}
			for name, c := range seen {
				if c != 1 {
					t.Errorf("%s/%d: %s in %d shards", strategy, n, name, c)
				}
			}
		}
	}
}

func TestTimePartitionBalances(t *testing.T) {
	ss := suites(40)
	est := fakeEst{}
	for i, s := range ss {
		est[s.Name] = time.Duration(10+i%7*13) * time.Millisecond
	}
	var loads []time.Duration
	for k := 1; k <= 4; k++ {
		pl, err := Make(context.Background(), ss, Options{Est: est, Partition: &Partition{Strategy: "time", K: k, N: 4}})
		if err != nil {
			t.Fatal(err)
		}
		var sum time.Duration
		for _, u := range pl.Units {
			sum += est[u.Suite.Name]
		}
		loads = append(loads, sum)
	}
	sort.Slice(loads, func(i, j int) bool { return loads[i] < loads[j] })
	if spread := float64(loads[3]-loads[0]) / float64(loads[3]); spread > 0.1 {
		t.Errorf("time shards unbalanced: %v", loads)
	}
}

func TestHashPartitionIgnoresFilters(t *testing.T) {
	ss := suites(30)
	all, _ := Make(context.Background(), ss, Options{Partition: &Partition{Strategy: "hash", K: 2, N: 3}})
	f, _ := NewFilter("s00", nil)
	some, _ := Make(context.Background(), ss, Options{Filter: f, Partition: &Partition{Strategy: "hash", K: 2, N: 3}})
	in := map[string]bool{}
	for _, u := range all.Units {
		in[u.Suite.Name] = true
	}
	for _, u := range some.Units {
		if !in[u.Suite.Name] {
			t.Errorf("%s moved shard under a filter", u.Suite.Name)
		}
	}
}

func TestParsePartition(t *testing.T) {
	for _, bad := range []string{"hash", "hash:0/2", "hash:3/2", "mod:1/2", "time:a/b"} {
		if _, err := ParsePartition(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	p, err := ParsePartition("time:2/7")
	if err != nil || p.K != 2 || p.N != 7 || p.Strategy != "time" {
		t.Fatalf("got %+v, %v", p, err)
	}
}

func TestBatchesKeepOverheadSmall(t *testing.T) {
	var tests []string
	for i := 0; i < 100; i++ {
		tests = append(tests, fmt.Sprint(i))
	}
	est := func(string) time.Duration { return time.Millisecond }
	bs := Batches(tests, est, BatchOptions{Startup: 2 * time.Millisecond, Overhead: 0.05})
	// 2ms start-up at 5% wants 40ms batches: 40 tests each.
	if len(bs) != 3 || len(bs[0]) != 40 {
		t.Errorf("got %d batches, first %d", len(bs), len(bs[0]))
	}
	// Enough units to keep 8 slots busy thrice: batches of ~4.
	bs = Batches(tests, est, BatchOptions{Startup: 2 * time.Millisecond, MinUnits: 24, Total: 100 * time.Millisecond})
	if len(bs) < 24 {
		t.Errorf("want at least 24 units, got %d", len(bs))
	}
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	if n != 100 {
		t.Errorf("batches hold %d tests, want 100", n)
	}
}

func TestSmartOrderFailedThenLongest(t *testing.T) {
	ss := suites(4)
	est := fakeEst{"s000": 1 * time.Second, "s001": 5 * time.Second, "s002": 3 * time.Second, "failed:s003": 1}
	pl, err := Make(context.Background(), ss, Options{Est: est})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range pl.Units {
		got = append(got, u.Suite.Name)
	}
	want := []string{"s003", "s001", "s002", "s000"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestFilterSelectsTMLIndices(t *testing.T) {
	ss := []*protocol.Suite{{Name: "lexer_test", Protocol: "tml"}, {Name: "parser_test", Protocol: "tml"}}
	f, _ := NewFilter(`^lexer_test::3$`, nil)
	pl, err := Make(context.Background(), ss, Options{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Units) != 1 || pl.Units[0].Suite.Name != "lexer_test" || pl.Keep == nil {
		t.Fatalf("units %v keep %v", len(pl.Units), pl.Keep != nil)
	}
	if pl.Keep("lexer_test", "2") || !pl.Keep("lexer_test", "3") {
		t.Error("keep selects the wrong tests")
	}
}

// A first run knows no durations: the units with the most tests go first
// (a long test hides more likely among many), in plan order among equals,
// and a unit without a list keeps its place; once anything is known,
// unknown units take the median of the known.
func TestSmartOrderWithoutHistoryByTestCount(t *testing.T) {
	ss := suites(4)
	unit := func(s *protocol.Suite, n int) *protocol.Unit {
		u := &protocol.Unit{Suite: s}
		for i := range n {
			u.Tests = append(u.Tests, fmt.Sprintf("T%d", i))
		}
		return u
	}
	names := func(us []*protocol.Unit) string {
		var got []string
		for _, u := range us {
			got = append(got, u.Suite.Name)
		}
		return fmt.Sprint(got)
	}
	us := []*protocol.Unit{unit(ss[0], 30), unit(ss[1], 160), unit(ss[2], 75), unit(ss[3], 75)}
	Sort(us, fakeEst{}, OrderSmart, 0)
	if got, want := names(us), "[s001 s002 s003 s000]"; got != want {
		t.Errorf("first run: order %s, want %s", got, want)
	}
	// A unit that lists no tests (a whole suite) keeps its place; the
	// listed ones are ordered in the places they held.
	whole := &protocol.Unit{Suite: ss[3]}
	us = []*protocol.Unit{unit(ss[0], 30), whole, unit(ss[1], 160), unit(ss[2], 75)}
	Sort(us, fakeEst{}, OrderSmart, 0)
	if got, want := names(us), "[s001 s003 s002 s000]"; got != want {
		t.Errorf("first run with a whole suite: order %s, want %s", got, want)
	}
	// s000's one known test makes it known: 6 s beats every guess.
	us = []*protocol.Unit{unit(ss[0], 30), unit(ss[1], 160), unit(ss[2], 75), unit(ss[3], 75)}
	Sort(us, fakeEst{"s000::T0": 6 * time.Second}, OrderSmart, 0)
	if got := names(us); got[:6] != "[s000 " {
		t.Errorf("with history: order %s, want s000 first", got)
	}
}

func TestUnitsCarryTheirExpectedTime(t *testing.T) {
	ss := suites(3)
	est := fakeEst{"s000": 3 * time.Second, "s002": 50 * time.Millisecond} // s001: never run
	pl, err := Make(context.Background(), ss, Options{Est: est})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Duration{}
	for _, u := range pl.Units {
		got[u.Suite.Name] = u.Est
	}
	want := map[string]time.Duration{"s000": 3 * time.Second, "s001": 0, "s002": 50 * time.Millisecond}
	for name, d := range want {
		if got[name] != d {
			t.Errorf("%s: expected time %v, want %v (0: unknown)", name, got[name], d)
		}
	}
}

// Go tests that called t.Parallel run in batches of their own, each
// holding the slots it may use: as many as its tests (at most -j), or -j
// when a test's subtests are parallel; never a batch too small to fill
// its slots, and never when the tests run remotely.
func TestParallelGoTestsBatched(t *testing.T) {
	s := &protocol.Suite{Name: "p", Path: "/x/p.test", Protocol: "gotest"}
	est := fakeEst{"p::S1": 2 * time.Second, "p::S2": 2 * time.Second, "p::E": time.Second, "parallel:p::E": int64ToDur(event.ParallelSubtests)}
	run := []string{"S1", "S2"}
	for i := 1; i <= 8; i++ {
		n := fmt.Sprintf("P%d", i)
		run = append(run, n)
		est["p::"+n] = 2 * time.Second
		est["parallel:p::"+n] = int64ToDur(event.ParallelSelf)
	}
	run = append(run, "E")
	l := &listing{suite: s, lister: protocol.GoTest{}, startup: 10 * time.Millisecond, run: run}
	units := func(o Options) map[string]string {
		got := map[string]string{}
		for _, u := range l.units(o, 40*time.Second, 1) {
			par := ""
			for _, a := range u.Args {
				if strings.HasPrefix(a, "-test.parallel=") {
					par = a
				}
			}
			got[strings.Join(u.Tests, ",")] = fmt.Sprintf("threads %d %s", u.Threads, par)
		}
		return got
	}
	got := units(Options{Est: est, Jobs: 4})
	want := map[string]string{
		"S1": "threads 0 ", "S2": "threads 0 ",
		"P1,P2,P3,P4": "threads 4 -test.parallel=4", "P5,P6,P7,P8": "threads 4 -test.parallel=4",
		"E": "threads 4 -test.parallel=4",
	}
	if !maps.Equal(got, want) {
		t.Errorf("units:\n got %v\nwant %v", got, want)
	}
	for batch, how := range units(Options{Est: est, Jobs: 4, Remote: true}) {
		if how != "threads 0 " {
			t.Errorf("remote: %s holds %s, want one slot", batch, how)
		}
	}
	// A suite that sets -test.parallel itself is left as it is.
	s.Args = []string{"-test.parallel=1"}
	for batch, how := range units(Options{Est: est, Jobs: 4}) {
		if how != "threads 0 " {
			t.Errorf("with the suite's own -test.parallel: %s holds %s", batch, how)
		}
	}
}

func int64ToDur(p event.Parallel) time.Duration { return time.Duration(p) }
