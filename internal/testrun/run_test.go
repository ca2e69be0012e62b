package testrun

import (
	"testing"
	"time"

	"github.com/volley-test/volley/internal/plan"
	"github.com/volley-test/volley/internal/protocol"
)

func TestHarnessTimeouts(t *testing.T) {
	suites := func() []*protocol.Suite {
		return []*protocol.Suite{
			{Name: "go", Protocol: "gotest"},
			{Name: "tml", Protocol: "tml"},
			{Name: "own", Protocol: "exec", Timeout: 4 * time.Second},
		}
	}

	// Without a run timeout, every suite gets its harness's default, and
	// the slow warning comes at the earliest default (half a short limit).
	c := Config{Timeout: 20 * time.Second}
	ss := suites()
	harnessTimeouts(&c, ss)
	if ss[0].Timeout != protocol.TimeoutGo || ss[1].Timeout != protocol.TimeoutTML || ss[2].Timeout != 4*time.Second {
		t.Errorf("timeouts %s %s %s, want the harnesses' defaults and the suite's own", ss[0].Timeout, ss[1].Timeout, ss[2].Timeout)
	}
	if c.SlowTimeout != 2*time.Second {
		t.Errorf("slow timeout %s, want 2s (half the shortest limit)", c.SlowTimeout)
	}

	// A run timeout overrides the defaults; an asked-for slow timeout stays.
	c = Config{Timeout: 30 * time.Second, TimeoutSet: true, SlowTimeout: 7 * time.Second, SlowSet: true}
	ss = suites()
	harnessTimeouts(&c, ss)
	if ss[0].Timeout != 0 || ss[1].Timeout != 0 {
		t.Errorf("timeouts %s %s, want none of their own (the run's applies)", ss[0].Timeout, ss[1].Timeout)
	}
	if c.SlowTimeout != 7*time.Second {
		t.Errorf("slow timeout %s, want the 7s asked for", c.SlowTimeout)
	}
}

func TestMemoryBudget(t *testing.T) {
	if got := memoryBudget(0); got != 0 {
		t.Errorf("memoryBudget(0) = %d, want 0 (no budget)", got)
	}
	if got := memoryBudget(8 << 30); got != 8<<30 {
		t.Errorf("memoryBudget(8G) = %d, want 8G", got)
	}
	if got, want := memoryBudget(-1), availableMemory()/2; got != want {
		t.Errorf("default memoryBudget = %d, want half the available memory, %d", got, want)
	}
}

func TestParseOrder(t *testing.T) {
	for _, tc := range []struct {
		in    string
		order plan.Order
		seed  int64
		bad   bool
	}{
		{in: "smart", order: plan.OrderSmart},
		{in: "name", order: plan.OrderName},
		{in: "random:42", order: plan.OrderRandom, seed: 42},
		{in: "name:3", bad: true},
		{in: "random:x", bad: true},
		{in: "fast", bad: true},
	} {
		order, seed, err := ParseOrder(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseOrder(%q) = %s, %d; want an error", tc.in, order, seed)
			}
			continue
		}
		if err != nil || order != tc.order || seed != tc.seed {
			t.Errorf("ParseOrder(%q) = %s, %d, %v; want %s, %d", tc.in, order, seed, err, tc.order, tc.seed)
		}
	}
	if order, _, err := ParseOrder("random"); err != nil || order != plan.OrderRandom {
		t.Errorf("ParseOrder(random) = %s, %v", order, err)
	}
}
